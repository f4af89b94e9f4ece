//! VPCs: the model (with its lifecycle and CIDR associations), the filters
//! `DescribeVpcs` understands, and the operations in [`ops`] and [`cidr`].

pub mod cidr;
pub mod ops;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, Ipv4Cidr, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;

/// A VPC's lifecycle. A VPC is a model object until the data plane builds its
/// router; `Pending` is kept for that later step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VpcState {
    Pending,
    Available,
}

impl VpcState {
    pub fn as_str(self) -> &'static str {
        match self {
            VpcState::Pending => "pending",
            VpcState::Available => "available",
        }
    }

    /// Whether a VPC may move from `self` to `next`.
    pub fn can_become(self, next: VpcState) -> bool {
        match (self, next) {
            (VpcState::Pending, VpcState::Available) => true,
            (VpcState::Pending, VpcState::Pending) => false,
            (VpcState::Available, VpcState::Pending) => false,
            (VpcState::Available, VpcState::Available) => false,
        }
    }
}

/// The state of one IPv4 CIDR association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CidrState {
    Associating,
    Associated,
    Disassociating,
    Disassociated,
}

impl CidrState {
    pub fn as_str(self) -> &'static str {
        match self {
            CidrState::Associating => "associating",
            CidrState::Associated => "associated",
            CidrState::Disassociating => "disassociating",
            CidrState::Disassociated => "disassociated",
        }
    }
}

/// One IPv4 CIDR block of a VPC (the primary one included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CidrAssociation {
    pub association_id: String,
    pub cidr_block: Ipv4Cidr,
    pub state: CidrState,
}

/// A VPC as stored and as described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: ResourceId,
    pub owner_id: AccountId,
    /// The primary IPv4 CIDR block.
    pub cidr_block: Ipv4Cidr,
    pub cidr_associations: Vec<CidrAssociation>,
    pub state: VpcState,
    pub dhcp_options_id: String,
    pub instance_tenancy: String,
    pub is_default: bool,
    pub enable_dns_support: bool,
    pub enable_dns_hostnames: bool,
    pub enable_network_address_usage_metrics: bool,
    #[serde(default)]
    pub tags: TagSet,
}

impl Resource for Vpc {
    const KIND: ResourceKind = ResourceKind::Vpc;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for Vpc {
    const FILTERS: &'static [&'static str] = &[
        "cidr",
        "cidr-block-association.cidr-block",
        "cidr-block-association.association-id",
        "cidr-block-association.state",
        "dhcp-options-id",
        "ipv6-cidr-block-association.ipv6-cidr-block",
        "ipv6-cidr-block-association.ipv6-pool",
        "ipv6-cidr-block-association.association-id",
        "ipv6-cidr-block-association.state",
        "is-default",
        "owner-id",
        "state",
        "vpc-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        let assoc =
            |f: fn(&CidrAssociation) -> String| self.cidr_associations.iter().map(f).collect();
        match name {
            "cidr" => vec![self.cidr_block.to_string()],
            "cidr-block-association.cidr-block" => assoc(|a| a.cidr_block.to_string()),
            "cidr-block-association.association-id" => assoc(|a| a.association_id.clone()),
            "cidr-block-association.state" => assoc(|a| a.state.as_str().to_string()),
            "dhcp-options-id" => vec![self.dhcp_options_id.clone()],
            "is-default" => vec![self.is_default.to_string()],
            "owner-id" => vec![self.owner_id.to_string()],
            "state" => vec![self.state.as_str().to_string()],
            "vpc-id" => vec![self.id.to_string()],
            // IPv6 is not offered yet, so no VPC has IPv6 associations.
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
        let all = [VpcState::Pending, VpcState::Available];
        for a in all {
            for b in all {
                let expected = a == VpcState::Pending && b == VpcState::Available;
                assert_eq!(a.can_become(b), expected, "{a:?} -> {b:?}");
            }
        }
    }
}
