//! What a route may point at: [`check_target_in_tx`] validates a
//! `CreateRoute`/`ReplaceRoute` target against AWS's rules for its kind (it
//! exists in the caller's account, belongs to the table's VPC or is attached
//! to it) and writes the target's row back in the same transaction, so a
//! racing detach or delete of the target conflicts and re-runs.

use nubo_core::{Error, ResourceId};
use nubo_store::Tx;

use super::{RouteTable, RouteTarget};
use crate::internet_gateway::InternetGateway;
use crate::resource::{get_in_tx, update_in_tx, RequestScope, Versioned};

/// Checks `target` may carry a route of `table`, in the caller's transaction.
pub(crate) async fn check_target_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    table: &RouteTable,
    target: &RouteTarget,
) -> Result<(), Error> {
    match target {
        RouteTarget::Local => Err(Error::invalid(
            "The target local is reserved for the VPC's own CIDR blocks; it cannot be given to a route.",
        )),
        RouteTarget::Gateway(id) => internet_gateway(tx, scope, table, id).await,
        RouteTarget::TransitGateway(id) => transit_gateway(tx, scope, table, id).await,
        RouteTarget::VpcPeeringConnection(id) => {
            crate::vpc_peering::ops::check_route_target_in_tx(tx, scope, table, id).await
        }
        RouteTarget::NatGateway(id) => {
            crate::nat_gateway::ops::check_route_target_in_tx(tx, scope, table, id).await
        }
        RouteTarget::NetworkInterface(id) => network_interface(tx, scope, table, id).await,
        RouteTarget::Instance(id) => instance(tx, scope, table, id).await,
    }
}

/// An internet gateway must be attached to the table's VPC.
async fn internet_gateway(
    tx: &mut Tx,
    scope: &RequestScope,
    table: &RouteTable,
    id: &ResourceId,
) -> Result<(), Error> {
    // AWS names a route's missing gateway by the parameter, not the kind.
    let gateway: Versioned<InternetGateway> = match get_in_tx(tx, scope, id).await {
        Err(Error::NotFound { .. }) => {
            return Err(Error::not_found(
                "InvalidGatewayID.NotFound",
                format!("The gateway ID '{id}' does not exist"),
            ))
        }
        found => found?,
    };
    if gateway.value.vpc_id.as_ref() != Some(&table.vpc_id) {
        return Err(Error::invalid(format!(
            "route table {} and network gateway {id} belong to different networks",
            table.id
        )));
    }
    update_in_tx(tx, scope, &gateway).await.map(drop)
}

/// A network interface must be in the table's VPC. Writes it back, so a
/// racing `DeleteNetworkInterface` (which turns the route `blackhole`)
/// conflicts instead of leaving an `active` route to nothing.
async fn network_interface(
    tx: &mut Tx,
    scope: &RequestScope,
    table: &RouteTable,
    id: &ResourceId,
) -> Result<(), Error> {
    let eni: Versioned<crate::network_interface::NetworkInterface> =
        get_in_tx(tx, scope, id).await?;
    if eni.value.vpc_id != table.vpc_id {
        return Err(Error::invalid(format!(
            "route table {} and network interface {id} belong to different networks",
            table.id
        )));
    }
    update_in_tx(tx, scope, &eni).await.map(drop)
}

/// An instance must exist in the caller's account and its primary interface
/// must be in the table's VPC; the route follows that interface, which is
/// written back so a racing detach or termination conflicts. Instances do
/// not exist yet, so this answers `InvalidInstanceID.NotFound` from a real
/// lookup of instance rows.
async fn instance(
    tx: &mut Tx,
    scope: &RequestScope,
    table: &RouteTable,
    id: &ResourceId,
) -> Result<(), Error> {
    let eni = crate::network_interface::addresses::primary_of_instance_in_tx(tx, scope, id).await?;
    if eni.value.vpc_id != table.vpc_id {
        return Err(Error::invalid(format!(
            "route table {} and instance {id} belong to different networks",
            table.id
        )));
    }
    update_in_tx(tx, scope, &eni).await.map(drop)
}

/// A transit gateway must exist in the caller's account and have an
/// attachment to the table's VPC; AWS answers a gateway the VPC is not (yet)
/// attached to as it answers an unknown one. The attachment is written back,
/// so a racing `DeleteTransitGatewayVpcAttachment` conflicts and the route
/// cannot stay `active` after it.
async fn transit_gateway(
    tx: &mut Tx,
    scope: &RequestScope,
    table: &RouteTable,
    id: &ResourceId,
) -> Result<(), Error> {
    let _gateway: Versioned<crate::transit_gateway::gateway::TransitGateway> =
        get_in_tx(tx, scope, id).await?;
    match crate::transit_gateway::attachment::attachment_of_vpc_in_tx(tx, scope, &table.vpc_id, id)
        .await?
    {
        Some(attachment) => update_in_tx(tx, scope, &attachment).await.map(drop),
        None => Err(crate::resource::not_found(
            nubo_core::ResourceKind::TransitGateway,
            id.as_str(),
        )),
    }
}
