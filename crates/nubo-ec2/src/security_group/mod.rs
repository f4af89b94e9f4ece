//! Security groups (model and control plane; nothing filters packets yet):
//! the group as stored — one generation-guarded row per group, child of its
//! VPC, with its ingress and egress rules and all tags inside the body — the
//! filters `DescribeSecurityGroups` and `DescribeSecurityGroupRules`
//! understand, and the operations in [`ops`] (groups, the default group of
//! each VPC) and [`rule_ops`] (rules). Pure rule logic is in [`rule`].
//!
//! Invariant: a rule that references a group references one in the same VPC
//! and account, and a group stays until no other group references it.

pub mod ops;
pub mod rule;
pub mod rule_ops;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;
pub use rule::{Protocol, Rule, RuleSpec, Target};

/// The name of every VPC's default group, reserved for it.
pub const DEFAULT_GROUP_NAME: &str = "default";

/// A security group as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: ResourceId,
    pub owner_id: AccountId,
    pub vpc_id: ResourceId,
    pub name: String,
    pub description: String,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    #[serde(default)]
    pub tags: TagSet,
}

impl SecurityGroup {
    /// The VPC's default group, which only `DeleteVpc` removes.
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_GROUP_NAME
    }

    /// The rules of one direction.
    pub fn rules(&self, egress: bool) -> &[Rule] {
        if egress {
            &self.egress
        } else {
            &self.ingress
        }
    }

    pub fn rules_mut(&mut self, egress: bool) -> &mut Vec<Rule> {
        if egress {
            &mut self.egress
        } else {
            &mut self.ingress
        }
    }

    /// Whether any rule of this group references `other` (itself excluded).
    pub fn references(&self, other: &ResourceId) -> bool {
        &self.id != other
            && self
                .ingress
                .iter()
                .chain(&self.egress)
                .any(|r| r.referenced_group() == Some(other))
    }
}

impl Resource for SecurityGroup {
    const KIND: ResourceKind = ResourceKind::SecurityGroup;

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

/// The values of the `ip-permission.*` filters over one direction's rules.
fn permission_values(rules: &[Rule], field: &str) -> Vec<String> {
    rules
        .iter()
        .filter_map(|r| match field {
            "cidr" => match &r.target {
                Target::Cidr(c) => Some(c.to_string()),
                Target::Group { .. } => None,
            },
            "from-port" => Some(r.from_port.unwrap_or(-1).to_string()),
            "to-port" => Some(r.to_port.unwrap_or(-1).to_string()),
            "protocol" => Some(r.protocol.to_string()),
            "group-id" => r.referenced_group().map(|g| g.to_string()),
            "user-id" => match &r.target {
                Target::Group { user_id, .. } => Some(user_id.to_string()),
                Target::Cidr(_) => None,
            },
            // No IPv6 ranges or prefix lists are offered yet.
            _ => None,
        })
        .collect()
}

impl Filterable for SecurityGroup {
    const FILTERS: &'static [&'static str] = &[
        "description",
        "egress.ip-permission.cidr",
        "egress.ip-permission.from-port",
        "egress.ip-permission.group-id",
        "egress.ip-permission.ipv6-cidr",
        "egress.ip-permission.prefix-list-id",
        "egress.ip-permission.protocol",
        "egress.ip-permission.to-port",
        "egress.ip-permission.user-id",
        "group-id",
        "group-name",
        "ip-permission.cidr",
        "ip-permission.from-port",
        "ip-permission.group-id",
        "ip-permission.ipv6-cidr",
        "ip-permission.prefix-list-id",
        "ip-permission.protocol",
        "ip-permission.to-port",
        "ip-permission.user-id",
        "owner-id",
        "vpc-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        if let Some(field) = name.strip_prefix("egress.ip-permission.") {
            return permission_values(&self.egress, field);
        }
        if let Some(field) = name.strip_prefix("ip-permission.") {
            return permission_values(&self.ingress, field);
        }
        match name {
            "description" => vec![self.description.clone()],
            "group-id" => vec![self.id.to_string()],
            "group-name" => vec![self.name.clone()],
            "owner-id" => vec![self.owner_id.to_string()],
            "vpc-id" => vec![self.vpc_id.to_string()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// One rule as `DescribeSecurityGroupRules` reports it: with its group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRule {
    pub group_id: ResourceId,
    pub owner_id: AccountId,
    pub is_egress: bool,
    pub rule: Rule,
}

impl GroupRule {
    /// Every rule of `group`, ingress first.
    pub fn all_of(group: &SecurityGroup) -> impl Iterator<Item = GroupRule> + '_ {
        let of = move |egress: bool| {
            group.rules(egress).iter().map(move |r| GroupRule {
                group_id: group.id.clone(),
                owner_id: group.owner_id.clone(),
                is_egress: egress,
                rule: r.clone(),
            })
        };
        of(false).chain(of(true))
    }
}

impl Filterable for GroupRule {
    const FILTERS: &'static [&'static str] = &["group-id", "security-group-rule-id"];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "group-id" => vec![self.group_id.to_string()],
            "security-group-rule-id" => vec![self.rule.id.to_string()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.rule.tags
    }
}
