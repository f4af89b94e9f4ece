//! Subnets: the model (with its lifecycle and the addresses allocated in it),
//! the filters `DescribeSubnets` understands, and the operations in [`ops`]
//! and [`addresses`].
//!
//! A subnet is stored as a child of its VPC (`parent_id`), so a VPC with
//! subnets cannot be deleted. The addresses handed out in a subnet live in its
//! own row, sorted, so every allocation is one generation-guarded update.

pub mod addresses;
pub mod ops;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, Ipv4Cidr, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::ipam::{self, Allocation};
use crate::resource::Resource;

/// A subnet's lifecycle. Like a VPC, a subnet is a model object until the data
/// plane builds it; `Pending` is kept for that later step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubnetState {
    Pending,
    Available,
}

impl SubnetState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubnetState::Pending => "pending",
            SubnetState::Available => "available",
        }
    }

    /// Whether a subnet may move from `self` to `next`.
    pub fn can_become(self, next: SubnetState) -> bool {
        match (self, next) {
            (SubnetState::Pending, SubnetState::Available) => true,
            (SubnetState::Pending, SubnetState::Pending) => false,
            (SubnetState::Available, SubnetState::Pending) => false,
            (SubnetState::Available, SubnetState::Available) => false,
        }
    }
}

/// A subnet as stored and as described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: ResourceId,
    pub arn: String,
    pub vpc_id: ResourceId,
    pub owner_id: AccountId,
    pub cidr_block: Ipv4Cidr,
    pub availability_zone: String,
    pub availability_zone_id: String,
    pub state: SubnetState,
    pub default_for_az: bool,
    pub map_public_ip_on_launch: bool,
    /// The addresses handed out, sorted by address.
    #[serde(default)]
    pub allocations: Vec<Allocation>,
    #[serde(default)]
    pub tags: TagSet,
}

impl Subnet {
    /// `AvailableIpAddressCount`: the subnet's size less the five reserved
    /// addresses and those handed out.
    pub fn available_ip_address_count(&self) -> u64 {
        ipam::usable_count(&self.cidr_block).saturating_sub(self.allocations.len() as u64)
    }
}

impl Resource for Subnet {
    const KIND: ResourceKind = ResourceKind::Subnet;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn parent(&self) -> Option<&ResourceId> {
        Some(&self.vpc_id)
    }

    const PARENT_FILTER: Option<&'static str> = Some("vpc-id");

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for Subnet {
    const FILTERS: &'static [&'static str] = &[
        "availability-zone",
        "availability-zone-id",
        "available-ip-address-count",
        "cidr-block",
        "cidr",
        "cidrBlock",
        "default-for-az",
        "ipv6-cidr-block-association.ipv6-cidr-block",
        "ipv6-cidr-block-association.association-id",
        "ipv6-cidr-block-association.state",
        "ipv6-native",
        "map-public-ip-on-launch",
        "owner-id",
        "state",
        "subnet-arn",
        "subnet-id",
        "vpc-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "availability-zone" => vec![self.availability_zone.clone()],
            "availability-zone-id" => vec![self.availability_zone_id.clone()],
            "available-ip-address-count" => vec![self.available_ip_address_count().to_string()],
            "cidr-block" | "cidr" | "cidrBlock" => vec![self.cidr_block.to_string()],
            "default-for-az" => vec![self.default_for_az.to_string()],
            "ipv6-native" => vec!["false".into()],
            "map-public-ip-on-launch" => vec![self.map_public_ip_on_launch.to_string()],
            "owner-id" => vec![self.owner_id.to_string()],
            "state" => vec![self.state.as_str().to_string()],
            "subnet-arn" => vec![self.arn.clone()],
            "subnet-id" => vec![self.id.to_string()],
            "vpc-id" => vec![self.vpc_id.to_string()],
            // IPv6 is not offered yet, so no subnet has IPv6 associations.
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_pair_has_a_decided_transition() {
        let all = [SubnetState::Pending, SubnetState::Available];
        for a in all {
            for b in all {
                let expected = a == SubnetState::Pending && b == SubnetState::Available;
                assert_eq!(a.can_become(b), expected, "{a:?} -> {b:?}");
            }
        }
    }
}
