//! Network interfaces (ENIs; model and control plane, nothing plugs them into
//! a guest yet): the interface as stored — one generation-guarded row per
//! interface, child of its subnet, with its private addresses, security
//! groups, attachment and tags in the body — its lifecycle, the filters
//! `DescribeNetworkInterfaces` understands, and the operations in [`ops`]
//! (create, describe, delete, attributes) and [`addresses`] (secondary
//! addresses, attachments).
//!
//! Invariants: every address of an interface is allocated to it in its
//! subnet's row (so the subnet cannot be deleted under it); every group of an
//! interface is a group of the interface's VPC, and a group stays until no
//! interface uses it; an attached interface cannot be deleted.

pub mod addresses;
pub mod lifecycle;
pub mod ops;

use std::net::Ipv4Addr;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;

/// Most private IPv4 addresses one interface may hold (AWS's largest
/// instance types allow 50 per interface).
pub const MAX_ADDRESSES_PER_INTERFACE: usize = 50;

/// Most security groups per interface (AWS's default quota).
pub const MAX_GROUPS_PER_INTERFACE: usize = 5;

/// An interface's lifecycle as AWS reports it in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterfaceStatus {
    Available,
    Attaching,
    InUse,
    Detaching,
}

impl InterfaceStatus {
    pub const ALL: [InterfaceStatus; 4] = [
        InterfaceStatus::Available,
        InterfaceStatus::Attaching,
        InterfaceStatus::InUse,
        InterfaceStatus::Detaching,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InterfaceStatus::Available => "available",
            InterfaceStatus::Attaching => "attaching",
            InterfaceStatus::InUse => "in-use",
            InterfaceStatus::Detaching => "detaching",
        }
    }

    /// Whether an interface may move from `self` to `next`: attach, then
    /// detach; a failed attach falls back to available.
    pub fn can_become(self, next: InterfaceStatus) -> bool {
        use InterfaceStatus::*;
        match (self, next) {
            (Available, Attaching) => true,
            (Attaching, InUse) | (Attaching, Available) => true,
            (InUse, Detaching) => true,
            (Detaching, Available) => true,
            (Available, Available) | (Available, InUse) | (Available, Detaching) => false,
            (Attaching, Attaching) | (Attaching, Detaching) => false,
            (InUse, Available) | (InUse, Attaching) | (InUse, InUse) => false,
            (Detaching, Attaching) | (Detaching, InUse) | (Detaching, Detaching) => false,
        }
    }
}

/// One private IPv4 address of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateIp {
    pub address: Ipv4Addr,
    pub primary: bool,
}

/// A security group of an interface, with its name as `groupSet` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupIdentifier {
    pub id: ResourceId,
    pub name: String,
}

/// An interface's attachment to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// `eni-attach-…`.
    pub id: String,
    pub instance_id: ResourceId,
    pub instance_owner_id: AccountId,
    pub device_index: i64,
    pub status: String,
    pub delete_on_termination: bool,
    /// RFC 3339, as rendered.
    pub attach_time: String,
}

/// An Elastic IP associated with one private address of an interface: the
/// interface's side of the association the address row also records (both
/// rows are written in one transaction, see `crate::elastic_ip::association`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAssociation {
    pub private_ip: Ipv4Addr,
    pub public_ip: Ipv4Addr,
    /// `eipalloc-…`.
    pub allocation_id: ResourceId,
    /// `eipassoc-…`.
    pub association_id: ResourceId,
    /// The account that owns the Elastic IP.
    pub ip_owner_id: AccountId,
}

/// A network interface as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub id: ResourceId,
    pub owner_id: AccountId,
    pub subnet_id: ResourceId,
    pub vpc_id: ResourceId,
    pub availability_zone: String,
    pub availability_zone_id: String,
    pub description: String,
    pub mac_address: String,
    /// The primary address first, then the secondaries in assignment order.
    pub private_ips: Vec<PrivateIp>,
    pub groups: Vec<GroupIdentifier>,
    pub source_dest_check: bool,
    pub status: InterfaceStatus,
    pub interface_type: String,
    pub requester_managed: bool,
    pub attachment: Option<Attachment>,
    /// The DNS name of the primary address (`ip-10-0-1-4.ec2.internal`).
    pub private_dns_name: String,
    /// The Elastic IPs associated with its private addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_ips: Vec<IpAssociation>,
    #[serde(default)]
    pub tags: TagSet,
}

impl NetworkInterface {
    /// The primary private address.
    pub fn primary_ip(&self) -> Option<Ipv4Addr> {
        self.private_ips
            .iter()
            .find(|p| p.primary)
            .map(|p| p.address)
    }

    /// The Elastic IP associated with private address `addr`, if any.
    pub fn association_of(&self, addr: Ipv4Addr) -> Option<&IpAssociation> {
        self.public_ips.iter().find(|a| a.private_ip == addr)
    }

    /// The Elastic IP of the primary address (the interface's `association`).
    pub fn association(&self) -> Option<&IpAssociation> {
        self.primary_ip().and_then(|a| self.association_of(a))
    }

    /// Whether security group `id` is one of this interface's groups.
    pub fn uses_group(&self, id: &ResourceId) -> bool {
        self.groups.iter().any(|g| &g.id == id)
    }
}

/// The DNS name AWS gives a private address in `region`.
pub fn private_dns_name(region: &str, addr: Ipv4Addr) -> String {
    let dashed = addr.to_string().replace('.', "-");
    if region == "us-east-1" {
        format!("ip-{dashed}.ec2.internal")
    } else {
        format!("ip-{dashed}.{region}.compute.internal")
    }
}

impl Resource for NetworkInterface {
    const KIND: ResourceKind = ResourceKind::NetworkInterface;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn parent(&self) -> Option<&ResourceId> {
        Some(&self.subnet_id)
    }

    const PARENT_FILTER: Option<&'static str> = Some("subnet-id");

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for NetworkInterface {
    const FILTERS: &'static [&'static str] = &[
        "addresses.association.owner-id",
        "addresses.association.public-ip",
        "addresses.primary",
        "addresses.private-ip-address",
        "association.allocation-id",
        "association.association-id",
        "association.ip-owner-id",
        "association.public-dns-name",
        "association.public-ip",
        "attachment.attach-time",
        "attachment.attachment-id",
        "attachment.delete-on-termination",
        "attachment.device-index",
        "attachment.instance-id",
        "attachment.instance-owner-id",
        "attachment.status",
        "availability-zone",
        "description",
        "group-id",
        "group-name",
        "interface-type",
        "ipv6-addresses.ipv6-address",
        "mac-address",
        "network-interface-id",
        "owner-id",
        "private-dns-name",
        "private-ip-address",
        "requester-id",
        "requester-managed",
        "source-dest-check",
        "status",
        "subnet-id",
        "vpc-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        let attachment = |f: fn(&Attachment) -> String| self.attachment.iter().map(f).collect();
        let primary =
            |f: fn(&IpAssociation) -> String| self.association().map(f).into_iter().collect();
        let any = |f: fn(&IpAssociation) -> String| self.public_ips.iter().map(f).collect();
        match name {
            "addresses.association.owner-id" => any(|a| a.ip_owner_id.to_string()),
            "addresses.association.public-ip" => any(|a| a.public_ip.to_string()),
            "association.allocation-id" => primary(|a| a.allocation_id.to_string()),
            "association.association-id" => primary(|a| a.association_id.to_string()),
            "association.ip-owner-id" => primary(|a| a.ip_owner_id.to_string()),
            "association.public-ip" => primary(|a| a.public_ip.to_string()),
            "addresses.primary" => self
                .private_ips
                .iter()
                .map(|p| p.primary.to_string())
                .collect(),
            "addresses.private-ip-address" => self
                .private_ips
                .iter()
                .map(|p| p.address.to_string())
                .collect(),
            "attachment.attach-time" => attachment(|a| a.attach_time.clone()),
            "attachment.attachment-id" => attachment(|a| a.id.clone()),
            "attachment.delete-on-termination" => {
                attachment(|a| a.delete_on_termination.to_string())
            }
            "attachment.device-index" => attachment(|a| a.device_index.to_string()),
            "attachment.instance-id" => attachment(|a| a.instance_id.to_string()),
            "attachment.instance-owner-id" => attachment(|a| a.instance_owner_id.to_string()),
            "attachment.status" => attachment(|a| a.status.clone()),
            "availability-zone" => vec![self.availability_zone.clone()],
            "description" => vec![self.description.clone()],
            "group-id" => self.groups.iter().map(|g| g.id.to_string()).collect(),
            "group-name" => self.groups.iter().map(|g| g.name.clone()).collect(),
            "interface-type" => vec![self.interface_type.clone()],
            "mac-address" => vec![self.mac_address.clone()],
            "network-interface-id" => vec![self.id.to_string()],
            "owner-id" => vec![self.owner_id.to_string()],
            "private-dns-name" => vec![self.private_dns_name.clone()],
            "private-ip-address" => self.primary_ip().iter().map(|a| a.to_string()).collect(),
            "requester-managed" => vec![self.requester_managed.to_string()],
            "source-dest-check" => vec![self.source_dest_check.to_string()],
            "status" => vec![self.status.as_str().to_string()],
            "subnet-id" => vec![self.subnet_id.to_string()],
            "vpc-id" => vec![self.vpc_id.to_string()],
            // No public DNS names, IPv6 or requester IDs yet.
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
    fn every_status_pair_has_a_decided_transition() {
        use InterfaceStatus::*;
        let allowed = [
            (Available, Attaching),
            (Attaching, InUse),
            (Attaching, Available),
            (InUse, Detaching),
            (Detaching, Available),
        ];
        for a in InterfaceStatus::ALL {
            for b in InterfaceStatus::ALL {
                assert_eq!(a.can_become(b), allowed.contains(&(a, b)), "{a:?} -> {b:?}");
            }
        }
    }

    #[test]
    fn dns_names_follow_the_region() {
        let a: Ipv4Addr = "10.0.1.4".parse().unwrap();
        assert_eq!(private_dns_name("us-east-1", a), "ip-10-0-1-4.ec2.internal");
        assert_eq!(
            private_dns_name("eu-west-1", a),
            "ip-10-0-1-4.eu-west-1.compute.internal"
        );
    }
}
