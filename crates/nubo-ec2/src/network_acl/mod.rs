//! Network ACLs (model and control plane; nothing filters packets yet): the
//! ACL as stored — one generation-guarded row per ACL, child of its VPC, with
//! its entries, its subnet associations and its tags inside the body — the
//! filters `DescribeNetworkAcls` understands, and the operations in [`ops`].
//! Pure entry logic is in [`entry`].
//!
//! Invariant: every subnet is associated with exactly one ACL of its VPC
//! (the VPC's default ACL unless moved by `ReplaceNetworkAclAssociation`),
//! and the association lives in that ACL's row, so a subnet's ACL is found
//! by reading its VPC's ACLs and an association moves in one transaction.

pub mod entry;
pub mod ops;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;
pub use entry::{Entry, EntryInput, RuleAction};

/// The prefix of network ACL association IDs (`aclassoc-…`).
pub const ASSOCIATION_PREFIX: &str = "aclassoc";

/// A subnet's association with the ACL whose row holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Association {
    pub association_id: String,
    pub subnet_id: ResourceId,
}

/// A network ACL as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAcl {
    pub id: ResourceId,
    pub owner_id: AccountId,
    pub vpc_id: ResourceId,
    /// The VPC's default ACL, which only `DeleteVpc` removes.
    pub is_default: bool,
    /// The client's entries in evaluation order; the `*` entries are implied.
    pub entries: Vec<Entry>,
    #[serde(default)]
    pub associations: Vec<Association>,
    #[serde(default)]
    pub tags: TagSet,
}

impl NetworkAcl {
    /// Every entry as described: the stored ones and both `*` deny entries.
    pub fn described_entries(&self) -> Vec<Entry> {
        entry::with_catch_all(&self.entries)
    }
}

impl Resource for NetworkAcl {
    const KIND: ResourceKind = ResourceKind::NetworkAcl;

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

impl Filterable for NetworkAcl {
    const FILTERS: &'static [&'static str] = &[
        "association.association-id",
        "association.network-acl-id",
        "association.subnet-id",
        "default",
        "entry.cidr",
        "entry.egress",
        "entry.icmp.code",
        "entry.icmp.type",
        "entry.ipv6-cidr",
        "entry.port-range.from",
        "entry.port-range.to",
        "entry.protocol",
        "entry.rule-action",
        "entry.rule-number",
        "network-acl-id",
        "owner-id",
        "vpc-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        let entries = |f: fn(&Entry) -> Option<String>| {
            self.described_entries().iter().filter_map(f).collect()
        };
        match name {
            "association.association-id" => self
                .associations
                .iter()
                .map(|a| a.association_id.clone())
                .collect(),
            "association.network-acl-id" if !self.associations.is_empty() => {
                vec![self.id.to_string()]
            }
            "association.subnet-id" => self
                .associations
                .iter()
                .map(|a| a.subnet_id.to_string())
                .collect(),
            "default" => vec![self.is_default.to_string()],
            "entry.cidr" => entries(|e| Some(e.cidr_block.to_string())),
            "entry.egress" => entries(|e| Some(e.egress.to_string())),
            "entry.icmp.code" => entries(|e| e.icmp_type_code.map(|(_, c)| c.to_string())),
            "entry.icmp.type" => entries(|e| e.icmp_type_code.map(|(t, _)| t.to_string())),
            "entry.port-range.from" => entries(|e| e.port_range.map(|(f, _)| f.to_string())),
            "entry.port-range.to" => entries(|e| e.port_range.map(|(_, t)| t.to_string())),
            "entry.protocol" => entries(|e| Some(e.protocol.to_string())),
            "entry.rule-action" => entries(|e| Some(e.rule_action.as_str().to_string())),
            "entry.rule-number" => entries(|e| Some(e.rule_number.to_string())),
            "network-acl-id" => vec![self.id.to_string()],
            "owner-id" => vec![self.owner_id.to_string()],
            "vpc-id" => vec![self.vpc_id.to_string()],
            // No IPv6 entries are offered yet; an ACL without associations
            // matches no association.network-acl-id.
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}
