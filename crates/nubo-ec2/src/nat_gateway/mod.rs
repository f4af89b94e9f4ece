//! NAT gateways (model and control plane; nothing translates packets yet):
//! the gateway as stored — one top-level generation-guarded row per gateway,
//! with its subnet, VPC, addresses, lifecycle and tags in the body — its
//! lifecycle, the filters `DescribeNatGateways` understands, and the
//! operations in [`ops`].
//!
//! A live gateway (pending or available) owns a requester-managed network
//! interface in its subnet (type `nat_gateway`), whose private address comes
//! from the subnet's one allocator, and a public gateway's Elastic IP is
//! associated with that interface. The interface is a child of the subnet,
//! so `DeleteSubnet` and `DeleteVpc` are refused while the gateway lives.
//! `DeleteNatGateway` releases the interface, its address and the Elastic
//! IP association in one transaction and leaves the gateway `deleted`,
//! still described for an hour as on AWS. A create that fails the way AWS
//! fails asynchronously (no internet gateway, Elastic IP already in use, no
//! free address) leaves a `failed` gateway holding nothing.

pub mod ops;

use std::net::Ipv4Addr;

use chrono::{DateTime, Duration, Utc};
use nubo_core::filter::Filterable;
use nubo_core::{AccountId, Error, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;

/// A timestamp as stored and rendered (`2026-01-02T03:04:05.678Z`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// How long a deleted gateway stays visible to `DescribeNatGateways`.
pub const DELETED_VISIBLE_FOR: Duration = Duration::hours(1);

/// A NAT gateway's lifecycle (`state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NatGatewayState {
    Pending,
    Failed,
    Available,
    Deleting,
    Deleted,
}

impl NatGatewayState {
    pub const ALL: [NatGatewayState; 5] = [
        NatGatewayState::Pending,
        NatGatewayState::Failed,
        NatGatewayState::Available,
        NatGatewayState::Deleting,
        NatGatewayState::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NatGatewayState::Pending => "pending",
            NatGatewayState::Failed => "failed",
            NatGatewayState::Available => "available",
            NatGatewayState::Deleting => "deleting",
            NatGatewayState::Deleted => "deleted",
        }
    }

    /// Whether a gateway may move from `self` to `next`: provisioning
    /// succeeds or fails, any gateway that is not already going away may be
    /// deleted, and deletion completes.
    pub fn can_become(self, next: NatGatewayState) -> bool {
        use NatGatewayState::*;
        match (self, next) {
            (Pending, Available) | (Pending, Failed) | (Pending, Deleting) => true,
            (Available, Deleting) | (Failed, Deleting) => true,
            (Deleting, Deleted) => true,
            (Pending, Pending) | (Pending, Deleted) => false,
            (Available, Pending) | (Available, Failed) | (Available, Available) => false,
            (Available, Deleted) => false,
            (Failed, Pending) | (Failed, Failed) | (Failed, Available) | (Failed, Deleted) => false,
            (Deleting, Pending) | (Deleting, Failed) | (Deleting, Available) => false,
            (Deleting, Deleting) => false,
            (Deleted, Pending) | (Deleted, Failed) | (Deleted, Available) => false,
            (Deleted, Deleting) | (Deleted, Deleted) => false,
        }
    }

    /// Whether a gateway in this state can carry routes (and holds its
    /// interface and addresses).
    pub fn is_live(self) -> bool {
        match self {
            NatGatewayState::Pending | NatGatewayState::Available => true,
            NatGatewayState::Failed | NatGatewayState::Deleting | NatGatewayState::Deleted => false,
        }
    }
}

/// `ConnectivityType`: a public gateway translates to its Elastic IP, a
/// private one only to its private address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectivityType {
    Public,
    Private,
}

impl ConnectivityType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectivityType::Public => "public",
            ConnectivityType::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "public" => Ok(ConnectivityType::Public),
            "private" => Ok(ConnectivityType::Private),
            other => Err(Error::invalid(format!(
                "Value ({other}) for parameter ConnectivityType is invalid. Valid values: public, private."
            ))),
        }
    }
}

/// One address of a gateway (`NatGatewayAddress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatGatewayAddress {
    pub network_interface_id: ResourceId,
    pub private_ip: Ipv4Addr,
    /// The Elastic IP of a public gateway.
    pub allocation_id: Option<ResourceId>,
    pub public_ip: Option<Ipv4Addr>,
    pub association_id: Option<ResourceId>,
    pub is_primary: bool,
}

/// Why a create failed, as AWS reports it (`failureCode`, `failureMessage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// A NAT gateway as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatGateway {
    pub id: ResourceId,
    pub owner_id: AccountId,
    pub subnet_id: ResourceId,
    pub vpc_id: ResourceId,
    pub connectivity_type: ConnectivityType,
    pub state: NatGatewayState,
    /// The gateway's interface and addresses; kept, for the record, after
    /// deletion (when the interface itself is gone).
    pub addresses: Vec<NatGatewayAddress>,
    pub failure: Option<Failure>,
    /// RFC 3339, as rendered.
    pub create_time: String,
    /// RFC 3339, as rendered; set once the gateway is deleted.
    pub delete_time: Option<String>,
    /// The `ClientToken` of the create, so a retried call returns this gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    #[serde(default)]
    pub tags: TagSet,
}

impl NatGateway {
    /// The gateway's interface while it holds one.
    pub fn interface(&self) -> Option<&ResourceId> {
        if !self.state.is_live() {
            return None;
        }
        self.addresses.first().map(|a| &a.network_interface_id)
    }

    /// Whether `DescribeNatGateways` still shows the gateway at `now`.
    pub fn is_visible(&self, now: DateTime<Utc>) -> bool {
        let deleted_at = match (self.state, &self.delete_time) {
            (NatGatewayState::Deleted, Some(at)) => DateTime::parse_from_rfc3339(at).ok(),
            _ => None,
        };
        deleted_at.is_none_or(|at| now - at.with_timezone(&Utc) < DELETED_VISIBLE_FOR)
    }
}

impl Resource for NatGateway {
    const KIND: ResourceKind = ResourceKind::NatGateway;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for NatGateway {
    const FILTERS: &'static [&'static str] = &["nat-gateway-id", "state", "subnet-id", "vpc-id"];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "nat-gateway-id" => vec![self.id.to_string()],
            "state" => vec![self.state.as_str().to_string()],
            "subnet-id" => vec![self.subnet_id.to_string()],
            "vpc-id" => vec![self.vpc_id.to_string()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// Parses a NAT gateway ID parameter of `DescribeNatGateways`/`DeleteNatGateway`.
pub fn parse_nat_gateway_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(text, ResourceKind::NatGateway, "NatGatewayMalformed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_pair_has_a_decided_transition() {
        use NatGatewayState::*;
        let allowed = [
            (Pending, Available),
            (Pending, Failed),
            (Pending, Deleting),
            (Available, Deleting),
            (Failed, Deleting),
            (Deleting, Deleted),
        ];
        for a in NatGatewayState::ALL {
            for b in NatGatewayState::ALL {
                assert_eq!(a.can_become(b), allowed.contains(&(a, b)), "{a:?} -> {b:?}");
            }
        }
        let live: Vec<_> = NatGatewayState::ALL
            .into_iter()
            .filter(|s| s.is_live())
            .collect();
        assert_eq!(live, vec![Pending, Available]);
    }

    #[test]
    fn deleted_gateways_stay_visible_for_an_hour() {
        let now = Utc::now();
        let mut nat = NatGateway {
            id: ResourceId::generate(ResourceKind::NatGateway),
            owner_id: AccountId::parse("123456789012").unwrap(),
            subnet_id: ResourceId::generate(ResourceKind::Subnet),
            vpc_id: ResourceId::generate(ResourceKind::Vpc),
            connectivity_type: ConnectivityType::Private,
            state: NatGatewayState::Available,
            addresses: vec![NatGatewayAddress {
                network_interface_id: ResourceId::generate(ResourceKind::NetworkInterface),
                private_ip: "10.0.1.4".parse().unwrap(),
                allocation_id: None,
                public_ip: None,
                association_id: None,
                is_primary: true,
            }],
            failure: None,
            create_time: timestamp(now),
            delete_time: None,
            client_token: None,
            tags: TagSet::new(),
        };
        assert!(nat.interface().is_some());
        nat.state = NatGatewayState::Deleted;
        nat.delete_time = Some(timestamp(now - Duration::minutes(59)));
        assert!(nat.is_visible(now));
        assert!(
            nat.interface().is_none(),
            "a deleted gateway holds no interface"
        );
        nat.delete_time = Some(timestamp(now - Duration::minutes(61)));
        assert!(!nat.is_visible(now));
        assert_eq!(
            ConnectivityType::parse("private"),
            Ok(ConnectivityType::Private)
        );
        assert!(ConnectivityType::parse("Public").is_err());
        assert!(parse_nat_gateway_id("nat-0123456789abcdef0").is_ok());
        assert!(matches!(
            parse_nat_gateway_id("igw-0123"),
            Err(Error::Client {
                code: "NatGatewayMalformed",
                ..
            })
        ));
    }
}
