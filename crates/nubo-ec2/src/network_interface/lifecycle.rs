//! Making and removing an interface inside the caller's transaction. The
//! one path every interface takes: `CreateNetworkInterface` and
//! `DeleteNetworkInterface` for users' interfaces, NAT gateways (and
//! instances, later) for the requester-managed interfaces they own. Every
//! address comes from [`Ec2Service::allocate_address`] (the subnet's one
//! allocator) and goes back through [`Ec2Service::release_address`], so an
//! interface and its subnet's allocations always agree.

use nubo_core::{Error, ResourceId, TagSet};
use nubo_store::Tx;

use super::ops::AddressPlan;
use super::{private_dns_name, GroupIdentifier, InterfaceStatus, NetworkInterface, PrivateIp};
use crate::resource::{new_row, store_err, Ec2Service, RequestScope, Versioned};
use crate::route_table::routes::set_target_routes_in_tx;
use crate::route_table::RouteState;
use crate::subnet::Subnet;

/// Everything a new interface is made of once its input is validated.
#[derive(Debug, Clone)]
pub(crate) struct NewInterface {
    pub id: ResourceId,
    pub description: String,
    pub plan: AddressPlan,
    pub groups: Vec<GroupIdentifier>,
    /// `interface` for users' interfaces, `nat_gateway` for a NAT gateway's.
    pub interface_type: &'static str,
    /// True for an interface a service (a NAT gateway) owns on the user's behalf.
    pub requester_managed: bool,
    pub status: InterfaceStatus,
    pub source_dest_check: bool,
    pub mac_address: String,
    pub tags: TagSet,
}

impl Ec2Service {
    /// Allocates the addresses of `spec` in `subnet` (each allocation writes
    /// the subnet's row back, so a racing `DeleteSubnet` or allocation
    /// conflicts and re-runs) and inserts the interface's row. Returns the
    /// interface as inserted (generation 1).
    pub(crate) async fn insert_interface_in_tx(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
        subnet: &Subnet,
        spec: NewInterface,
    ) -> Result<Versioned<NetworkInterface>, Error> {
        let owner = spec.id.as_str();
        let primary = self
            .allocate_address(tx, scope, &subnet.id, spec.plan.primary, owner)
            .await?;
        let mut private_ips = vec![PrivateIp {
            address: primary,
            primary: true,
        }];
        let wanted = spec
            .plan
            .secondaries
            .iter()
            .map(|a| Some(*a))
            .chain(std::iter::repeat_n(None, spec.plan.automatic));
        for explicit in wanted {
            let address = self
                .allocate_address(tx, scope, &subnet.id, explicit, owner)
                .await?;
            private_ips.push(PrivateIp {
                address,
                primary: false,
            });
        }
        let eni = NetworkInterface {
            id: spec.id,
            owner_id: scope.account.clone(),
            subnet_id: subnet.id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            availability_zone: subnet.availability_zone.clone(),
            availability_zone_id: subnet.availability_zone_id.clone(),
            description: spec.description,
            mac_address: spec.mac_address,
            private_ips,
            groups: spec.groups,
            source_dest_check: spec.source_dest_check,
            status: spec.status,
            interface_type: spec.interface_type.into(),
            requester_managed: spec.requester_managed,
            attachment: None,
            private_dns_name: private_dns_name(&scope.region, primary),
            public_ips: Vec::new(),
            tags: spec.tags,
        };
        tx.insert_resource(&new_row(scope, &eni)?)
            .await
            .map_err(store_err)?;
        Ok(Versioned {
            value: eni,
            generation: 1,
        })
    }

    /// Removes interface `eni` in the caller's transaction: its Elastic IPs
    /// are disassociated (they stay allocated, as on AWS), its addresses go
    /// back to the subnet, routes to it turn `blackhole`, and its row is
    /// deleted.
    pub(crate) async fn remove_interface_in_tx(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
        eni: &Versioned<NetworkInterface>,
    ) -> Result<(), Error> {
        let id = &eni.value.id;
        for association in &eni.value.public_ips {
            crate::elastic_ip::association::release_in_tx(tx, scope, &association.allocation_id)
                .await?;
        }
        for ip in &eni.value.private_ips {
            self.release_address(tx, scope, &eni.value.subnet_id, ip.address, id.as_str())
                .await?;
        }
        set_target_routes_in_tx(tx, scope, &eni.value.vpc_id, id, RouteState::Blackhole).await?;
        // Its flow logs go with it, as on AWS.
        crate::flow_log::ops::delete_of_in_tx(tx, scope, id).await?;
        tx.delete_resource(scope.account.as_str(), id.as_str(), eni.generation)
            .await
            .map_err(store_err)
    }
}
