//! Handing out and taking back a subnet's private IPv4 addresses, inside the
//! caller's transaction: ENIs, NAT gateways and instances call these as one
//! step of their own operation, so the address and the resource holding it
//! commit (or roll back) together. The pick itself is [`crate::ipam`]'s.

use std::net::Ipv4Addr;

use nubo_core::{Error, ResourceId};
use nubo_store::Tx;

use super::Subnet;
use crate::ipam;
use crate::resource::{get_in_tx, update_in_tx, Ec2Service, RequestScope, Versioned};

impl Ec2Service {
    /// Allocates `explicit`, or else the lowest free address, of subnet
    /// `subnet_id` to `owner`. One generation-guarded update of the subnet's
    /// row: a concurrent allocation makes one of the two transactions
    /// conflict (and re-run from a fresh read under `with_retry`), so no
    /// address is ever handed out twice.
    pub async fn allocate_address(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
        subnet_id: &ResourceId,
        explicit: Option<Ipv4Addr>,
        owner: &str,
    ) -> Result<Ipv4Addr, Error> {
        let mut subnet: Versioned<Subnet> = get_in_tx(tx, scope, subnet_id).await?;
        let addr = ipam::pick(
            &subnet.value.cidr_block,
            &subnet.value.allocations,
            explicit,
        )
        .map_err(|e| e.into_error(subnet_id.as_str()))?;
        ipam::insert(&mut subnet.value.allocations, addr, owner);
        update_in_tx(tx, scope, &subnet).await?;
        Ok(addr)
    }

    /// Releases `addr` of subnet `subnet_id` if `owner` holds it; true when it
    /// did. Releasing an address not (or no longer) held is not an error, so
    /// an unwinding step can be repeated.
    pub async fn release_address(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
        subnet_id: &ResourceId,
        addr: Ipv4Addr,
        owner: &str,
    ) -> Result<bool, Error> {
        let mut subnet: Versioned<Subnet> = get_in_tx(tx, scope, subnet_id).await?;
        if !ipam::remove(&mut subnet.value.allocations, addr, owner) {
            return Ok(false);
        }
        update_in_tx(tx, scope, &subnet).await?;
        Ok(true)
    }
}
