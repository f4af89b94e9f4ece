//! Elastic IP addresses (model only; nothing routes them yet):
//! `AllocateAddress`, `DescribeAddresses`, `ReleaseAddress`, and in
//! [`association`] `AssociateAddress` and `DisassociateAddress`.
//!
//! Addresses come from the installation's public pool, which every account
//! shares, so an address must never be handed out twice across tenants. Each
//! allocation writes two rows in one transaction: the tenant's `eipalloc-`
//! row (described, tagged, counted against the quota) and a *claim* row whose
//! ID is derived from the address itself (`public-ip-<8 hex>`). Resource IDs
//! are the store's global primary key, so a second allocator of the same
//! address finds the claim taken (`AlreadyExists`) and tries the next address;
//! releasing deletes both rows together. Claim IDs name no resource kind, so
//! `DescribeTags` and `CreateTags` never see them.
//!
//! An associated address records its association (the network interface and
//! private address it maps to); the interface records the same association
//! from its side, and both rows are always written in one transaction. An
//! associated address cannot be released.

pub mod association;

use std::net::Ipv4Addr;

use nubo_core::filter::{self, Filter, Filterable, Page};
use nubo_core::{AccountId, Error, Ipv4Cidr, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::{StoreError, Tx};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::resource::bookkeeping_row;
use crate::resource::{
    self, get_in_tx, new_row, store_err, tags_for, Ec2Service, RequestScope, Resource, Versioned,
};
use crate::retry::with_retry;

/// The installation's default public pool: TEST-NET-2 (RFC 5737), a
/// documentation range that is never routed on the Internet.
pub const DEFAULT_PUBLIC_POOL: &str = "198.51.100.0/24";

/// The `publicIpv4Pool` AWS reports for addresses from its own pool.
pub const AMAZON_POOL: &str = "amazon";

/// An Elastic IP address as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// The allocation ID (`eipalloc-…`).
    pub id: ResourceId,
    pub owner_id: AccountId,
    pub public_ip: Ipv4Addr,
    /// The region the address belongs to (AWS's `networkBorderGroup`).
    pub network_border_group: String,
    /// Where the address is mapped, if it is associated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association: Option<AddressAssociation>,
    #[serde(default)]
    pub tags: TagSet,
}

/// The mapping of an Elastic IP to one private address of a network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressAssociation {
    /// `eipassoc-…`.
    pub id: ResourceId,
    pub network_interface_id: ResourceId,
    pub network_interface_owner_id: AccountId,
    pub private_ip: Ipv4Addr,
    /// The interface's VPC, so `DetachInternetGateway` can tell which
    /// addresses depend on the VPC's gateway without reading every interface.
    pub vpc_id: ResourceId,
    /// The instance the interface is attached to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<ResourceId>,
}

impl Address {
    /// AWS's `domain`: only VPC addresses exist today.
    pub const DOMAIN: &'static str = "vpc";

    /// One value of the association, for the association filters.
    fn mapped(&self, f: fn(&AddressAssociation) -> String) -> Vec<String> {
        self.association.iter().map(f).collect()
    }
}

impl Resource for Address {
    const KIND: ResourceKind = ResourceKind::ElasticIp;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for Address {
    const FILTERS: &'static [&'static str] = &[
        "allocation-id",
        "association-id",
        "domain",
        "instance-id",
        "network-border-group",
        "network-interface-id",
        "network-interface-owner-id",
        "private-ip-address",
        "public-ip",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "allocation-id" => vec![self.id.to_string()],
            "domain" => vec![Self::DOMAIN.to_string()],
            "network-border-group" => vec![self.network_border_group.clone()],
            "public-ip" => vec![self.public_ip.to_string()],
            "association-id" => self.mapped(|a| a.id.to_string()),
            "instance-id" => self
                .association
                .iter()
                .filter_map(|a| a.instance_id.as_ref().map(|i| i.to_string()))
                .collect(),
            "network-interface-id" => self.mapped(|a| a.network_interface_id.to_string()),
            "network-interface-owner-id" => {
                self.mapped(|a| a.network_interface_owner_id.to_string())
            }
            "private-ip-address" => self.mapped(|a| a.private_ip.to_string()),
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// The claim row that reserves `ip` installation-wide.
#[derive(Debug, Serialize, Deserialize)]
struct Claim {
    public_ip: Ipv4Addr,
    allocation_id: ResourceId,
}

/// The store ID of the claim on `ip`: unique per address, and of no resource kind.
pub(crate) fn claim_id(ip: Ipv4Addr) -> String {
    format!("public-ip-{:08x}", u32::from(ip))
}

/// The store kind of claim rows.
const CLAIM_KIND: &str = "public-ip";

/// Parses and validates an allocation ID parameter.
pub fn parse_allocation_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::ElasticIp,
        "InvalidAllocationID.Malformed",
    )
}

/// Parses a public IPv4 address parameter (`PublicIp`, `Address`).
pub fn parse_public_ip(text: &str) -> Result<Ipv4Addr, Error> {
    text.parse().map_err(|_| {
        Error::invalid(format!(
            "Value ({text}) for parameter PublicIp is invalid. Not a valid IPv4 address."
        ))
    })
}

/// The usable addresses of `pool`, in order: a block of four or more loses
/// its network and broadcast addresses, as any routed range would.
pub fn pool_addresses(pool: &[Ipv4Cidr]) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    for cidr in pool {
        let first = u32::from(cidr.network());
        let last = u32::from(cidr.broadcast());
        let (lo, hi) = if cidr.prefix() <= 30 {
            (first + 1, last - 1)
        } else {
            (first, last)
        };
        out.extend((lo..=hi).map(Ipv4Addr::from));
    }
    out.sort();
    out.dedup();
    out
}

/// The order in which an allocation tries the pool: every address once,
/// starting at a random one, so concurrent allocators rarely collide.
fn probe_order(addresses: &[Ipv4Addr], start: usize) -> impl Iterator<Item = Ipv4Addr> + '_ {
    let n = addresses.len();
    (0..n).map(move |i| addresses[(start + i) % n])
}

/// Validated input of `AllocateAddress`.
#[derive(Debug, Clone, Default)]
pub struct AllocateAddress {
    /// A specific address of the pool, if the caller asked for one.
    pub address: Option<Ipv4Addr>,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

impl Ec2Service {
    pub async fn allocate_public_address(
        &self,
        scope: &RequestScope,
        input: &AllocateAddress,
    ) -> Result<Address, Error> {
        with_retry(|| self.allocate_address_once(scope, input)).await
    }

    pub async fn release_public_address(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.release_address_once(scope, id)).await
    }

    /// Inserts the claim on `ip` for `allocation`; false if another allocation holds it.
    async fn claim(
        tx: &mut Tx,
        scope: &RequestScope,
        ip: Ipv4Addr,
        allocation: &ResourceId,
    ) -> Result<bool, Error> {
        let claim = Claim {
            public_ip: ip,
            allocation_id: allocation.clone(),
        };
        let row = bookkeeping_row(
            scope.account.as_str(),
            &scope.region,
            CLAIM_KIND,
            claim_id(ip),
            Some(allocation.to_string()),
            &claim,
        )?;
        match tx.insert_resource(&row).await {
            Ok(()) => Ok(true),
            Err(StoreError::AlreadyExists) => Ok(false),
            Err(e) => Err(store_err(e)),
        }
    }

    /// Claims a free address of the pool for `owner` (an Elastic IP's
    /// allocation, or an instance for its launch-time public address).
    pub(crate) async fn claim_any_public_ip(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
        owner: &ResourceId,
    ) -> Result<Ipv4Addr, Error> {
        let pool = pool_addresses(&self.limits.public_pool);
        let start = if pool.is_empty() {
            0
        } else {
            rand::thread_rng().gen_range(0..pool.len())
        };
        for ip in probe_order(&pool, start) {
            if Self::claim(tx, scope, ip, owner).await? {
                return Ok(ip);
            }
        }
        Err(Error::LimitExceeded {
            code: "AddressLimitExceeded",
            message: "The public address pool of this installation is exhausted.".into(),
        })
    }

    /// Gives `ip` back to the pool (its claim row, in the caller's account).
    pub(crate) async fn release_public_ip_claim(
        tx: &mut Tx,
        scope: &RequestScope,
        ip: Ipv4Addr,
    ) -> Result<(), Error> {
        let claim = claim_id(ip);
        let row = tx
            .get_resource(scope.account.as_str(), &claim)
            .await
            .map_err(store_err)?;
        match row {
            Some(row) => tx
                .delete_resource(scope.account.as_str(), &claim, row.generation)
                .await
                .map_err(store_err),
            None => Ok(()),
        }
    }

    pub(crate) async fn allocate_address_once(
        &self,
        scope: &RequestScope,
        input: &AllocateAddress,
    ) -> Result<Address, Error> {
        let tags = tags_for(ResourceKind::ElasticIp, &input.tag_specifications)?;
        let pool = pool_addresses(&self.limits.public_pool);
        if let Some(ip) = input.address {
            if pool.binary_search(&ip).is_err() {
                return Err(Error::invalid(format!(
                    "Address {ip} is not in this installation's public address pool."
                )));
            }
        }
        let id = ResourceId::generate(ResourceKind::ElasticIp);
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let count = tx
            .count_resources(
                scope.account.as_str(),
                &scope.region,
                ResourceKind::ElasticIp.prefix(),
            )
            .await
            .map_err(store_err)?;
        if count as usize >= self.limits.elastic_ips_per_region {
            return Err(Error::LimitExceeded {
                code: "AddressLimitExceeded",
                message: "The maximum number of addresses has been reached.".into(),
            });
        }
        let public_ip = match input.address {
            Some(ip) => {
                if !Self::claim(&mut tx, scope, ip, &id).await? {
                    return Err(Error::client(
                        "InvalidAddress.InUse",
                        format!("Address {ip} is already allocated."),
                    ));
                }
                ip
            }
            None => self.claim_any_public_ip(&mut tx, scope, &id).await?,
        };
        let address = Address {
            id,
            owner_id: scope.account.clone(),
            public_ip,
            network_border_group: scope.region.clone(),
            association: None,
            tags,
        };
        tx.insert_resource(&new_row(scope, &address)?)
            .await
            .map_err(store_err)?;
        resource::commit(tx, scope, &[address.id.as_str()]).await?;
        Ok(address)
    }

    /// `DescribeAddresses`: named allocation IDs and public IPs must all be
    /// the caller's; filters and pagination apply to the rest.
    pub async fn describe_addresses(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        public_ips: &[Ipv4Addr],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<Address>, Option<String>), Error> {
        filter::validate::<Address>(filters)?;
        let mut addresses: Vec<Address> = resource::list_or_get(&self.store, scope, ids).await?;
        if !public_ips.is_empty() {
            let all: Vec<Address> = if ids.is_empty() {
                addresses.clone()
            } else {
                resource::list_or_get(&self.store, scope, &[]).await?
            };
            for ip in public_ips {
                if !all.iter().any(|a| a.public_ip == *ip) {
                    return Err(Error::not_found(
                        "InvalidAddress.NotFound",
                        format!("Address '{ip}' not found."),
                    ));
                }
            }
            addresses.retain(|a| public_ips.contains(&a.public_ip));
        }
        addresses.retain(|a| filter::matches(a, filters));
        Ok(page.apply(addresses, |a| a.id.as_str()))
    }

    pub(crate) async fn release_address_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let address: Versioned<Address> = get_in_tx(&mut tx, scope, id).await?;
        if let Some(association) = &address.value.association {
            return Err(Error::client(
                "InvalidIPAddress.InUse",
                format!(
                    "Address {} is in use: it is associated with {} ({}).",
                    address.value.public_ip, association.network_interface_id, association.id
                ),
            ));
        }
        Self::release_public_ip_claim(&mut tx, scope, address.value.public_ip).await?;
        tx.delete_resource(scope.account.as_str(), id.as_str(), address.generation)
            .await
            .map_err(store_err)?;
        resource::commit(tx, scope, &[id.as_str()]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn pools_lose_network_and_broadcast_addresses() {
        let a = pool_addresses(&[cidr("198.51.100.0/30")]);
        assert_eq!(
            a,
            ["198.51.100.1", "198.51.100.2"].map(|s| s.parse::<Ipv4Addr>().unwrap())
        );
        let b = pool_addresses(&[cidr("198.51.100.8/32"), cidr("198.51.100.0/24")]);
        assert_eq!(b.len(), 254);
        assert_eq!(pool_addresses(&[cidr("203.0.113.0/24")]).len(), 254);
    }

    #[test]
    fn probing_visits_every_address_once() {
        let pool = pool_addresses(&[cidr("198.51.100.0/29")]);
        let mut seen: Vec<_> = probe_order(&pool, 4).collect();
        assert_eq!(seen[0], pool[4]);
        seen.sort();
        assert_eq!(seen, pool);
    }

    #[test]
    fn claims_are_per_address_and_name_no_resource_kind() {
        let ip: Ipv4Addr = "198.51.100.7".parse().unwrap();
        assert_eq!(claim_id(ip), "public-ip-c6336407");
        assert_eq!(ResourceKind::of_id(&claim_id(ip)), None);
        assert!(parse_allocation_id("eipalloc-0123456789abcdef0").is_ok());
        assert!(matches!(
            parse_allocation_id("eip-12"),
            Err(Error::Client {
                code: "InvalidAllocationID.Malformed",
                ..
            })
        ));
        assert!(parse_public_ip("198.51.100.300").is_err());
    }
}
