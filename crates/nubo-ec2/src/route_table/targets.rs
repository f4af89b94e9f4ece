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
        RouteTarget::VpcPeeringConnection(id) => {
            crate::vpc_peering::ops::check_route_target_in_tx(tx, scope, table, id).await
        }
        RouteTarget::NatGateway(_)
        | RouteTarget::TransitGateway(_)
        | RouteTarget::NetworkInterface(_)
        | RouteTarget::Instance(_) => Err(Error::invalid(format!(
            "Routes to {} are not supported by this Nubo installation yet.",
            target.target_id().map(|id| id.as_str()).unwrap_or_default()
        ))),
    }
}

/// An internet gateway must be attached to the table's VPC.
async fn internet_gateway(
    tx: &mut Tx,
    scope: &RequestScope,
    table: &RouteTable,
    id: &ResourceId,
) -> Result<(), Error> {
    let gateway: Versioned<InternetGateway> = get_in_tx(tx, scope, id).await?;
    if gateway.value.vpc_id.as_ref() != Some(&table.vpc_id) {
        return Err(Error::invalid(format!(
            "route table {} and network gateway {id} belong to different networks",
            table.id
        )));
    }
    update_in_tx(tx, scope, &gateway).await.map(drop)
}
