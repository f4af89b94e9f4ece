//! `AssociateAddress` and `DisassociateAddress`: mapping an Elastic IP to one
//! private address of a network interface (nothing translates packets yet).
//!
//! An association is recorded twice, on the address row and on the
//! interface row, and both are written in one transaction, so the two sides
//! always agree. Associating also writes the interface's VPC back, and
//! `DetachInternetGateway` (which writes the VPC too) refuses while any
//! address of the VPC is mapped, so a racing detach and associate conflict
//! instead of leaving a public address behind a VPC without a gateway.
//! Interfaces that go away (deleted, or a NAT gateway's) release their
//! associations through [`release_in_tx`]; the address stays allocated.

use std::net::Ipv4Addr;

use nubo_core::{Error, ResourceId, ResourceKind};
use nubo_store::Tx;

use super::{Address, AddressAssociation};
use crate::internet_gateway::attached_to_in_tx;
use crate::network_interface::addresses::primary_of_instance_in_tx;
use crate::network_interface::{IpAssociation, NetworkInterface};
use crate::resource::{
    self, decode, get_in_tx, not_found, store_err, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;
use crate::vpc::Vpc;

/// What `AssociateAddress` maps the address to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssociationTarget {
    NetworkInterface(ResourceId),
    /// An instance: its primary network interface (device index 0).
    Instance(ResourceId),
}

/// Validated input of `AssociateAddress`.
#[derive(Debug, Clone)]
pub struct AssociateAddress {
    pub allocation_id: ResourceId,
    pub target: AssociationTarget,
    /// One of the interface's private addresses; default: its primary.
    pub private_ip: Option<Ipv4Addr>,
    pub allow_reassociation: bool,
}

/// Parses an `eipassoc-` association ID parameter.
pub fn parse_association_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::ElasticIpAssociation,
        "InvalidAssociationID.Malformed",
    )
}

/// Maps `address` to `private_ip` of `eni` on both sides (pure); returns the
/// new association's ID. The caller has checked that neither side is mapped.
pub fn link(address: &mut Address, eni: &mut NetworkInterface, private_ip: Ipv4Addr) -> ResourceId {
    let id = ResourceId::generate(ResourceKind::ElasticIpAssociation);
    address.association = Some(AddressAssociation {
        id: id.clone(),
        network_interface_id: eni.id.clone(),
        network_interface_owner_id: eni.owner_id.clone(),
        private_ip,
        vpc_id: eni.vpc_id.clone(),
        instance_id: eni.attachment.as_ref().map(|a| a.instance_id.clone()),
    });
    eni.public_ips.push(IpAssociation {
        private_ip,
        public_ip: address.public_ip,
        allocation_id: address.id.clone(),
        association_id: id.clone(),
        ip_owner_id: address.owner_id.clone(),
    });
    id
}

/// Removes the association of `address` from both sides (pure).
pub fn unlink(address: &mut Address, eni: &mut NetworkInterface) {
    eni.public_ips.retain(|a| a.allocation_id != address.id);
    address.association = None;
}

/// Clears the association of address `allocation_id` on the address's side
/// only, in the caller's transaction: for an interface that is going away
/// (or dropping the private address) and updates its own row itself.
pub(crate) async fn release_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    allocation_id: &ResourceId,
) -> Result<(), Error> {
    let mut address: Versioned<Address> = get_in_tx(tx, scope, allocation_id).await?;
    if address.value.association.take().is_some() {
        update_in_tx(tx, scope, &address).await?;
    }
    Ok(())
}

/// For `DetachInternetGateway`: refuses while any Elastic IP is mapped to an
/// interface of VPC `vpc_id` (a public NAT gateway's included).
pub(crate) async fn check_vpc_unmapped(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
) -> Result<(), Error> {
    for address in addresses_in_tx(tx, scope).await? {
        if address.value.association.as_ref().map(|a| &a.vpc_id) == Some(vpc_id) {
            return Err(Error::DependencyViolation(format!(
                "Network {vpc_id} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway."
            )));
        }
    }
    Ok(())
}

async fn addresses_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
) -> Result<Vec<Versioned<Address>>, Error> {
    let rows = tx
        .list_resources(
            scope.account.as_str(),
            &scope.region,
            ResourceKind::ElasticIp.prefix(),
        )
        .await
        .map_err(store_err)?;
    rows.iter().map(decode).collect()
}

/// The interface an `AssociateAddress` target names: the interface itself,
/// or the primary interface of the instance.
async fn target_interface(
    tx: &mut Tx,
    scope: &RequestScope,
    target: &AssociationTarget,
) -> Result<Versioned<NetworkInterface>, Error> {
    match target {
        AssociationTarget::NetworkInterface(id) => get_in_tx(tx, scope, id).await,
        AssociationTarget::Instance(instance) => {
            primary_of_instance_in_tx(tx, scope, instance).await
        }
    }
}

impl Ec2Service {
    /// `AssociateAddress`; returns the association ID.
    pub async fn associate_address(
        &self,
        scope: &RequestScope,
        input: &AssociateAddress,
    ) -> Result<ResourceId, Error> {
        with_retry(|| self.associate_address_once(scope, input)).await
    }

    /// `DisassociateAddress`.
    pub async fn disassociate_address(
        &self,
        scope: &RequestScope,
        association_id: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.disassociate_address_once(scope, association_id)).await
    }

    pub(crate) async fn associate_address_once(
        &self,
        scope: &RequestScope,
        input: &AssociateAddress,
    ) -> Result<ResourceId, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut address: Versioned<Address> =
            get_in_tx(&mut tx, scope, &input.allocation_id).await?;
        let mut eni = target_interface(&mut tx, scope, &input.target).await?;
        let eni_id = eni.value.id.clone();
        if eni.value.requester_managed {
            return Err(Error::client(
                "InvalidNetworkInterfaceID.NotFound",
                format!("The networkInterface ID '{eni_id}' is managed by a service and cannot take an Elastic IP."),
            ));
        }
        let private_ip = match input.private_ip {
            Some(ip) if eni.value.private_ips.iter().any(|p| p.address == ip) => ip,
            Some(ip) => {
                return Err(Error::invalid(format!(
                    "The private IP address {ip} is not assigned to network interface {eni_id}."
                )))
            }
            None => eni
                .value
                .primary_ip()
                .ok_or_else(|| Error::internal(format!("{eni_id} has no primary address")))?,
        };
        let vpc_id = eni.value.vpc_id.clone();
        if attached_to_in_tx(&mut tx, scope, &vpc_id).await?.is_none() {
            return Err(Error::client(
                "Gateway.NotAttached",
                format!("Network {vpc_id} is not attached to any internet gateway"),
            ));
        }
        let holder = eni
            .value
            .association_of(private_ip)
            .map(|a| a.allocation_id.clone())
            .filter(|held| held != &address.value.id);
        if !input.allow_reassociation && (address.value.association.is_some() || holder.is_some()) {
            let what = match (&address.value.association, &holder) {
                (Some(a), _) => format!(
                    "resource {} is already associated with associate-id {}",
                    address.value.id, a.id
                ),
                (None, _) => format!(
                    "private address {private_ip} of {eni_id} already has an Elastic IP associated"
                ),
            };
            return Err(Error::client("Resource.AlreadyAssociated", what));
        }
        // With AllowReassociation the address leaves its current interface,
        // and the Elastic IP already on the target private address leaves it.
        if let Some(current) = address.value.association.clone() {
            if current.network_interface_id == eni_id {
                unlink(&mut address.value, &mut eni.value);
            } else {
                let mut previous: Versioned<NetworkInterface> =
                    get_in_tx(&mut tx, scope, &current.network_interface_id).await?;
                unlink(&mut address.value, &mut previous.value);
                update_in_tx(&mut tx, scope, &previous).await?;
                self.elastic_ip_changed_in_tx(&mut tx, scope, &previous.value)
                    .await?;
            }
        }
        if let Some(held) = holder {
            let mut other: Versioned<Address> = get_in_tx(&mut tx, scope, &held).await?;
            unlink(&mut other.value, &mut eni.value);
            update_in_tx(&mut tx, scope, &other).await?;
        }
        let association_id = link(&mut address.value, &mut eni.value, private_ip);
        update_in_tx(&mut tx, scope, &address).await?;
        update_in_tx(&mut tx, scope, &eni).await?;
        let instance = self
            .elastic_ip_changed_in_tx(&mut tx, scope, &eni.value)
            .await?;
        // Writing the VPC back makes a racing DetachInternetGateway conflict.
        let vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, &vpc_id).await?;
        update_in_tx(&mut tx, scope, &vpc).await?;
        let mut touched = vec![
            address.value.id.as_str(),
            eni_id.as_str(),
            association_id.as_str(),
        ];
        touched.extend(instance.as_ref().map(|i| i.as_str()));
        resource::commit(tx, scope, &touched).await?;
        Ok(association_id)
    }

    pub(crate) async fn disassociate_address_once(
        &self,
        scope: &RequestScope,
        association_id: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let found = addresses_in_tx(&mut tx, scope)
            .await?
            .into_iter()
            .find(|a| a.value.association.as_ref().map(|x| &x.id) == Some(association_id));
        let Some(mut address) = found else {
            return Err(not_found(
                ResourceKind::ElasticIpAssociation,
                association_id.as_str(),
            ));
        };
        let eni_id = address
            .value
            .association
            .as_ref()
            .map(|a| a.network_interface_id.clone())
            .ok_or_else(|| Error::internal("association vanished"))?;
        let mut eni: Versioned<NetworkInterface> = get_in_tx(&mut tx, scope, &eni_id).await?;
        if eni.value.requester_managed {
            return Err(Error::client(
                "OperationNotPermitted",
                format!(
                    "The Elastic IP address {} is used by the service that manages {eni_id} ({}); delete that resource to free it.",
                    address.value.public_ip, eni.value.description
                ),
            ));
        }
        unlink(&mut address.value, &mut eni.value);
        update_in_tx(&mut tx, scope, &address).await?;
        update_in_tx(&mut tx, scope, &eni).await?;
        let instance = self
            .elastic_ip_changed_in_tx(&mut tx, scope, &eni.value)
            .await?;
        let mut touched = vec![
            address.value.id.as_str(),
            eni_id.as_str(),
            association_id.as_str(),
        ];
        touched.extend(instance.as_ref().map(|i| i.as_str()));
        resource::commit(tx, scope, &touched).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network_interface::{InterfaceStatus, PrivateIp};
    use nubo_core::{AccountId, TagSet};

    fn account() -> AccountId {
        AccountId::parse("123456789012").unwrap()
    }

    fn address() -> Address {
        Address {
            id: ResourceId::generate(ResourceKind::ElasticIp),
            owner_id: account(),
            public_ip: "198.51.100.7".parse().unwrap(),
            network_border_group: "us-east-1".into(),
            association: None,
            tags: TagSet::new(),
        }
    }

    fn eni() -> NetworkInterface {
        NetworkInterface {
            id: ResourceId::generate(ResourceKind::NetworkInterface),
            owner_id: account(),
            subnet_id: ResourceId::generate(ResourceKind::Subnet),
            vpc_id: ResourceId::generate(ResourceKind::Vpc),
            availability_zone: "us-east-1a".into(),
            availability_zone_id: "use1-az1".into(),
            description: String::new(),
            mac_address: "02:00:00:00:00:01".into(),
            private_ips: vec![
                PrivateIp {
                    address: "10.0.1.4".parse().unwrap(),
                    primary: true,
                },
                PrivateIp {
                    address: "10.0.1.5".parse().unwrap(),
                    primary: false,
                },
            ],
            groups: vec![],
            source_dest_check: true,
            status: InterfaceStatus::Available,
            interface_type: "interface".into(),
            requester_managed: false,
            attachment: None,
            private_dns_name: "ip-10-0-1-4.ec2.internal".into(),
            public_ips: vec![],
            tags: TagSet::new(),
        }
    }

    #[test]
    fn link_and_unlink_keep_both_sides_in_step() {
        let (mut a, mut e) = (address(), eni());
        let secondary: Ipv4Addr = "10.0.1.5".parse().unwrap();
        let id = link(&mut a, &mut e, secondary);
        assert!(id.as_str().starts_with("eipassoc-"));
        let on_address = a.association.clone().unwrap();
        assert_eq!(
            (on_address.network_interface_id, on_address.private_ip),
            (e.id.clone(), secondary)
        );
        assert_eq!(on_address.vpc_id, e.vpc_id);
        assert_eq!(e.association(), None, "the primary has no Elastic IP");
        let on_eni = e.association_of(secondary).unwrap();
        assert_eq!(
            (&on_eni.association_id, on_eni.public_ip),
            (&id, a.public_ip)
        );
        assert!(nubo_core::filter::matches(
            &a,
            &[nubo_core::filter::Filter {
                name: "private-ip-address".into(),
                values: vec!["10.0.1.5".into()],
            }]
        ));
        unlink(&mut a, &mut e);
        assert_eq!(a.association, None);
        assert!(e.public_ips.is_empty());
        assert!(parse_association_id(id.as_str()).is_ok());
        assert!(parse_association_id("eipalloc-0123").is_err());
    }
}
