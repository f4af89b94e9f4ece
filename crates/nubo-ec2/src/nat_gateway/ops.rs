//! `CreateNatGateway`, `DescribeNatGateways`, `DeleteNatGateway`, and the
//! check a route to a NAT gateway must pass. Each is one transaction: the
//! gateway's row, its interface (through the same code path as
//! `CreateNetworkInterface`), its subnet's allocations and its Elastic IP's
//! association commit or roll back together.

use std::net::Ipv4Addr;

use chrono::Utc;
use nubo_core::filter::{self, Filter, Page};
use nubo_core::{Error, ResourceId, ResourceKind, Tag};
use nubo_store::Tx;

use super::{ConnectivityType, Failure, NatGateway, NatGatewayAddress, NatGatewayState};
use crate::elastic_ip::association::link;
use crate::elastic_ip::Address;
use crate::internet_gateway::attached_to_in_tx;
use crate::network_interface::lifecycle::NewInterface;
use crate::network_interface::ops::AddressPlan;
use crate::network_interface::{InterfaceStatus, NetworkInterface};
use crate::resource::{
    self, decode, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;
use crate::route_table::routes::set_target_routes_in_tx;
use crate::route_table::{RouteState, RouteTable};
use crate::subnet::Subnet;
use crate::vpc::Vpc;

/// Validated input of `CreateNatGateway`.
#[derive(Debug, Clone)]
pub struct CreateNatGateway {
    pub subnet_id: ResourceId,
    pub allocation_id: Option<ResourceId>,
    pub connectivity_type: ConnectivityType,
    pub private_ip: Option<Ipv4Addr>,
    pub client_token: Option<String>,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// AWS's rules for the parameters of a create (pure): a public gateway
/// needs an Elastic IP, a private one must not have one; a client token is
/// at most 64 ASCII characters.
pub fn check_create(input: &CreateNatGateway) -> Result<(), Error> {
    match (input.connectivity_type, &input.allocation_id) {
        (ConnectivityType::Public, None) => {
            return Err(Error::MissingParameter("AllocationId".into()))
        }
        (ConnectivityType::Private, Some(_)) => {
            return Err(Error::InvalidParameterCombination(
                "AllocationId cannot be given for a NAT gateway with ConnectivityType private."
                    .into(),
            ))
        }
        _ => {}
    }
    if let Some(token) = &input.client_token {
        if token.len() > 64 || !token.is_ascii() {
            return Err(Error::invalid(
                "Value for parameter ClientToken is invalid: at most 64 ASCII characters are allowed.",
            ));
        }
    }
    Ok(())
}

/// Whether a replayed create (same client token) asked for the same gateway.
fn same_request(nat: &NatGateway, input: &CreateNatGateway) -> bool {
    let allocation = nat.addresses.first().and_then(|a| a.allocation_id.as_ref());
    nat.subnet_id == input.subnet_id
        && nat.connectivity_type == input.connectivity_type
        && (nat.state == NatGatewayState::Failed || allocation == input.allocation_id.as_ref())
}

fn failure(code: &str, message: String) -> Failure {
    Failure {
        code: code.into(),
        message,
    }
}

/// The error a route to a missing, failed or deleted NAT gateway gets.
fn route_target_not_found(id: &ResourceId) -> Error {
    Error::not_found(
        "InvalidNatGatewayID.NotFound",
        format!("The natGateway ID '{id}' does not exist"),
    )
}

/// For `CreateRoute`/`ReplaceRoute`: NAT gateway `id` must be live and in
/// the table's VPC. Writes the gateway back, so a racing delete conflicts.
pub(crate) async fn check_route_target_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    table: &RouteTable,
    id: &ResourceId,
) -> Result<(), Error> {
    let nat: Versioned<NatGateway> = match get_in_tx(tx, scope, id).await {
        Ok(nat) => nat,
        Err(Error::NotFound { .. }) => return Err(route_target_not_found(id)),
        Err(e) => return Err(e),
    };
    if !nat.value.state.is_live() {
        return Err(route_target_not_found(id));
    }
    if nat.value.vpc_id != table.vpc_id {
        return Err(Error::invalid(format!(
            "route table {} and network gateway {id} belong to different networks",
            table.id
        )));
    }
    update_in_tx(tx, scope, &nat).await.map(drop)
}

async fn gateways_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
) -> Result<Vec<Versioned<NatGateway>>, Error> {
    let rows = tx
        .list_resources(
            scope.account.as_str(),
            &scope.region,
            ResourceKind::NatGateway.prefix(),
        )
        .await
        .map_err(store_err)?;
    rows.iter().map(decode).collect()
}

impl Ec2Service {
    pub async fn create_nat_gateway(
        &self,
        scope: &RequestScope,
        input: &CreateNatGateway,
    ) -> Result<NatGateway, Error> {
        with_retry(|| self.create_nat_gateway_once(scope, input)).await
    }

    pub async fn delete_nat_gateway(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<NatGateway, Error> {
        with_retry(|| self.delete_nat_gateway_once(scope, id)).await
    }

    pub(crate) async fn create_nat_gateway_once(
        &self,
        scope: &RequestScope,
        input: &CreateNatGateway,
    ) -> Result<NatGateway, Error> {
        check_create(input)?;
        let tags = tags_for(ResourceKind::NatGateway, &input.tag_specifications)?;
        let mac_address = self.unused_mac().await?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let now = Utc::now();
        for nat in gateways_in_tx(&mut tx, scope).await? {
            if input.client_token.is_some() && nat.value.client_token == input.client_token {
                if !same_request(&nat.value, input) {
                    return Err(Error::client(
                        "IdempotentParameterMismatch",
                        "The client token was already used for a different NAT gateway request.",
                    ));
                }
                resource::commit(tx, scope, &[nat.value.id.as_str()]).await?;
                return Ok(nat.value);
            }
            // Deleted gateways past their hour of visibility go for good.
            if !nat.value.is_visible(now) {
                tx.delete_resource(
                    scope.account.as_str(),
                    nat.value.id.as_str(),
                    nat.generation,
                )
                .await
                .map_err(store_err)?;
            }
        }
        let subnet: Versioned<Subnet> = get_in_tx(&mut tx, scope, &input.subnet_id).await?;
        let vpc_id = subnet.value.vpc_id.clone();
        let mut address: Option<Versioned<Address>> = match &input.allocation_id {
            Some(id) => Some(get_in_tx(&mut tx, scope, id).await?),
            None => None,
        };
        let id = ResourceId::generate(ResourceKind::NatGateway);
        // What AWS reports asynchronously as a `failed` gateway is decided
        // here, before anything is allocated.
        let mut failed = match &address {
            Some(a) if a.value.association.is_some() => Some(failure(
                "Resource.AlreadyAssociated",
                format!("Elastic IP address {} is already associated", a.value.id),
            )),
            Some(_) if attached_to_in_tx(&mut tx, scope, &vpc_id).await?.is_none() => {
                Some(failure(
                    "Gateway.NotAttached",
                    format!("Network {vpc_id} has no Internet gateway attached"),
                ))
            }
            _ => None,
        };
        let mut addresses = Vec::new();
        if failed.is_none() {
            let spec = NewInterface {
                id: ResourceId::generate(ResourceKind::NetworkInterface),
                description: format!("Interface for NAT Gateway {id}"),
                plan: AddressPlan {
                    primary: input.private_ip,
                    secondaries: vec![],
                    automatic: 0,
                },
                groups: vec![],
                interface_type: "nat_gateway",
                requester_managed: true,
                status: InterfaceStatus::InUse,
                source_dest_check: false,
                mac_address,
                tags: Default::default(),
            };
            match self
                .insert_interface_in_tx(&mut tx, scope, &subnet.value, spec)
                .await
            {
                Err(Error::Client {
                    code: "InsufficientFreeAddressesInSubnet",
                    ..
                }) => {
                    failed = Some(failure(
                        "InsufficientFreeAddressesInSubnet",
                        "Subnet has insufficient free addresses to create this NAT gateway".into(),
                    ))
                }
                Err(e) => return Err(e),
                Ok(mut eni) => {
                    let private_ip = eni
                        .value
                        .primary_ip()
                        .ok_or_else(|| Error::internal("new interface without an address"))?;
                    let mut entry = NatGatewayAddress {
                        network_interface_id: eni.value.id.clone(),
                        private_ip,
                        allocation_id: None,
                        public_ip: None,
                        association_id: None,
                        is_primary: true,
                    };
                    if let Some(address) = address.as_mut() {
                        let association = link(&mut address.value, &mut eni.value, private_ip);
                        update_in_tx(&mut tx, scope, address).await?;
                        update_in_tx(&mut tx, scope, &eni).await?;
                        entry.allocation_id = Some(address.value.id.clone());
                        entry.public_ip = Some(address.value.public_ip);
                        entry.association_id = Some(association);
                        // A racing DetachInternetGateway (which writes the
                        // VPC too) conflicts instead of missing this mapping.
                        let vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, &vpc_id).await?;
                        update_in_tx(&mut tx, scope, &vpc).await?;
                    }
                    addresses.push(entry);
                }
            }
        }
        // Nothing provisions asynchronously yet, so a gateway that did not
        // fail is available at once (the create still answers `pending`).
        let state = match failed {
            Some(_) => NatGatewayState::Failed,
            None => NatGatewayState::Available,
        };
        let nat = NatGateway {
            id,
            owner_id: scope.account.clone(),
            subnet_id: input.subnet_id.clone(),
            vpc_id,
            connectivity_type: input.connectivity_type,
            state,
            addresses,
            failure: failed,
            create_time: super::timestamp(now),
            delete_time: None,
            client_token: input.client_token.clone(),
            tags,
        };
        tx.insert_resource(&new_row(scope, &nat)?)
            .await
            .map_err(store_err)?;
        let mut touched = vec![nat.id.as_str()];
        touched.extend(
            nat.addresses
                .iter()
                .map(|a| a.network_interface_id.as_str()),
        );
        touched.extend(input.allocation_id.iter().map(|a| a.as_str()));
        resource::commit(tx, scope, &touched).await?;
        Ok(nat)
    }

    /// `DescribeNatGateways`: explicit IDs must all exist (deleted gateways
    /// count for an hour); filters and pagination apply to the rest.
    pub async fn describe_nat_gateways(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<NatGateway>, Option<String>), Error> {
        filter::validate::<NatGateway>(filters)?;
        let now = Utc::now();
        let mut gateways: Vec<NatGateway> = resource::list_or_get(&self.store, scope, ids).await?;
        if let Some(gone) = gateways
            .iter()
            .find(|g| !g.is_visible(now) && !ids.is_empty())
        {
            return Err(resource::not_found(
                ResourceKind::NatGateway,
                gone.id.as_str(),
            ));
        }
        gateways.retain(|g| g.is_visible(now) && filter::matches(g, filters));
        Ok(page.apply(gateways, |g| g.id.as_str()))
    }

    /// Deletes a gateway: its interface, private address and Elastic IP
    /// association go in this transaction, routes to it turn `blackhole`,
    /// and it stays described as `deleted`. Deleting a deleted gateway
    /// changes nothing.
    pub(crate) async fn delete_nat_gateway_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<NatGateway, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut nat: Versioned<NatGateway> = get_in_tx(&mut tx, scope, id).await?;
        if !nat.value.is_visible(Utc::now()) {
            return Err(resource::not_found(ResourceKind::NatGateway, id.as_str()));
        }
        if nat.value.state == NatGatewayState::Deleted {
            resource::commit(tx, scope, &[id.as_str()]).await?;
            return Ok(nat.value);
        }
        let mut touched = vec![id.to_string()];
        if let Some(eni_id) = nat.value.interface().cloned() {
            let eni: Versioned<NetworkInterface> = get_in_tx(&mut tx, scope, &eni_id).await?;
            touched.extend(
                eni.value
                    .public_ips
                    .iter()
                    .map(|a| a.allocation_id.to_string()),
            );
            self.remove_interface_in_tx(&mut tx, scope, &eni).await?;
            touched.push(eni_id.to_string());
        }
        set_target_routes_in_tx(&mut tx, scope, &nat.value.vpc_id, id, RouteState::Blackhole)
            .await?;
        // Deleting, then deleted: with nothing to tear down asynchronously
        // yet, both steps happen in this transaction.
        for next in [NatGatewayState::Deleting, NatGatewayState::Deleted] {
            if !nat.value.state.can_become(next) {
                return Err(Error::internal(format!(
                    "NAT gateway {id} cannot go from {} to {}",
                    nat.value.state.as_str(),
                    next.as_str()
                )));
            }
            nat.value.state = next;
        }
        nat.value.delete_time = Some(super::timestamp(Utc::now()));
        update_in_tx(&mut tx, scope, &nat).await?;
        let touched: Vec<&str> = touched.iter().map(String::as_str).collect();
        resource::commit(tx, scope, &touched).await?;
        Ok(nat.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: ConnectivityType, allocation: bool) -> CreateNatGateway {
        CreateNatGateway {
            subnet_id: ResourceId::generate(ResourceKind::Subnet),
            allocation_id: allocation.then(|| ResourceId::generate(ResourceKind::ElasticIp)),
            connectivity_type: kind,
            private_ip: None,
            client_token: None,
            tag_specifications: vec![],
        }
    }

    #[test]
    fn public_gateways_need_an_elastic_ip_and_private_ones_refuse_it() {
        assert!(check_create(&input(ConnectivityType::Public, true)).is_ok());
        assert!(check_create(&input(ConnectivityType::Private, false)).is_ok());
        assert!(matches!(
            check_create(&input(ConnectivityType::Public, false)),
            Err(Error::MissingParameter(p)) if p == "AllocationId"
        ));
        assert!(matches!(
            check_create(&input(ConnectivityType::Private, true)),
            Err(Error::InvalidParameterCombination(_))
        ));
        let mut long = input(ConnectivityType::Private, false);
        long.client_token = Some("t".repeat(65));
        assert!(matches!(
            check_create(&long),
            Err(Error::InvalidParameterValue(_))
        ));
        long.client_token = Some("t".repeat(64));
        assert!(check_create(&long).is_ok());
    }
}
