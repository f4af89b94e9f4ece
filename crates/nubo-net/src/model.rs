//! The desired network of this host, as plain data: what the host agent reads
//! from the store (VPCs, subnets, route tables, network ACLs, security groups,
//! ENIs, gateways, peerings, transit gateways) translated into the few facts
//! the kernel needs. No IO, no store types: the planners ([`crate::topology`],
//! [`crate::filter`]) turn a [`NetworkModel`] into kernel objects, and
//! [`crate::DataPlane::apply_network`] converges the kernel to them.
//!
//! IDs are the AWS IDs as strings (`vpc-…`, `eni-…`). Only what runs on this
//! host is in the model: the ENIs of running instances, available NAT
//! gateways, and the peerings and transit-gateway attachments between VPCs
//! that have a router here. Security-group *membership*
//! ([`NetworkModel::group_members`]) is global, because a rule that references
//! a group matches every member's private address, wherever it runs.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

pub use nubo_core::cidr::Ipv4Cidr;

/// Everything the data plane of this host must carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkModel {
    pub external: ExternalNet,
    /// VPCs with at least one ENI (instance or NAT gateway) on this host.
    pub vpcs: Vec<VpcNet>,
    /// Active peering connections whose two VPCs both have a router here.
    pub peerings: Vec<PeeringNet>,
    /// Transit gateways with at least one attachment to a VPC in `vpcs`.
    pub transit_gateways: Vec<TransitGatewayNet>,
    /// Security group ID → the private IPv4 addresses of every ENI in that
    /// group (any VPC, any host, any state that holds addresses), for the
    /// groups some rule in `vpcs` references.
    pub group_members: BTreeMap<String, Vec<Ipv4Addr>>,
}

/// The host's external ("internet") network: a bridge in the host namespace
/// that carries the public address pools. Isolated unless
/// `forward_to_uplink`: nothing is forwarded to the host's real uplink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalNet {
    /// The bridge's own network; the host has `host_address` in it, and
    /// test hosts or operators attach other machines of it.
    pub cidr: Ipv4Cidr,
    pub host_address: Ipv4Addr,
    /// Public IPs and Elastic IPs come from these; the host routes them onto
    /// the bridge, where each VPC router answers for its own.
    pub public_pools: Vec<Ipv4Cidr>,
    /// Operator opt-in: the host forwards and masquerades traffic from public
    /// addresses to its other interfaces (off by default, and in tests).
    pub forward_to_uplink: bool,
}

impl Default for ExternalNet {
    /// The server's defaults: `203.0.113.0/24` (TEST-NET-3, the host is
    /// `.1`) and the pool `198.51.100.0/24`, not forwarded.
    fn default() -> Self {
        let net = |a, b, c| Ipv4Cidr::new(Ipv4Addr::new(a, b, c, 0), 24);
        ExternalNet {
            cidr: net(203, 0, 113).unwrap_or_else(|| unreachable!()),
            host_address: Ipv4Addr::new(203, 0, 113, 1),
            public_pools: net(198, 51, 100).into_iter().collect(),
            forward_to_uplink: false,
        }
    }
}

/// One VPC with something on this host: its router's whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcNet {
    pub id: String,
    /// Associated IPv4 blocks (primary first): the `local` route.
    pub cidrs: Vec<Ipv4Cidr>,
    pub subnets: Vec<SubnetNet>,
    pub route_tables: Vec<RouteTableNet>,
    pub network_acls: Vec<AclNet>,
    /// The groups of this VPC's ENIs in `enis`.
    pub security_groups: Vec<SecurityGroupNet>,
    /// Instance ENIs plugged on this host (running instances).
    pub enis: Vec<EniNet>,
    /// The internet gateway attached to the VPC, if any.
    pub internet_gateway: Option<String>,
    /// Available NAT gateways of the VPC.
    pub nat_gateways: Vec<NatGatewayNet>,
}

/// A subnet: which route table and which network ACL govern traffic that
/// leaves (route table, ACL egress) or enters (ACL ingress) it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetNet {
    pub id: String,
    pub cidr: Ipv4Cidr,
    /// Its explicitly associated table, else the VPC's main table.
    pub route_table: String,
    pub network_acl: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTableNet {
    pub id: String,
    /// Every route including `local` ones; longest prefix wins.
    pub routes: Vec<RouteNet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteNet {
    pub destination: Ipv4Cidr,
    pub target: RouteTargetNet,
}

/// Where a route sends traffic. Routes whose target is gone (`blackhole`
/// state) and routes to a target that cannot carry traffic here (a detached
/// gateway, a stopped instance) are [`RouteTargetNet::Blackhole`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTargetNet {
    /// The VPC's own blocks: delivered to the ENI that has the address.
    Local,
    /// The VPC's attached internet gateway (`igw-…`).
    InternetGateway(String),
    /// A NAT gateway of this VPC (`nat-…`), by its ID in `nat_gateways`.
    NatGateway(String),
    /// An active peering connection (`pcx-…`) in `NetworkModel::peerings`.
    Peering(String),
    /// A transit gateway (`tgw-…`) this VPC is attached to.
    TransitGateway(String),
    /// An ENI of this VPC (a route to an instance targets its primary ENI).
    Eni(String),
    Blackhole,
}

/// Which packets a rule or ACL entry matches beyond addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// IP protocol number; `None` for all protocols (then `l4` is `Any`).
    pub protocol: Option<u8>,
    pub l4: L4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    /// No port or type restriction.
    Any,
    /// TCP/UDP destination ports, inclusive.
    Ports(u16, u16),
    /// ICMP type and code; `None` is "any".
    Icmp {
        icmp_type: Option<u8>,
        code: Option<u8>,
    },
}

/// A network ACL: entries in rule-number order, first match wins, and
/// whatever matches none is denied (the `*` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclNet {
    pub id: String,
    /// Sorted by `rule_number`.
    pub ingress: Vec<AclEntryNet>,
    pub egress: Vec<AclEntryNet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntryNet {
    pub rule_number: i32,
    pub allow: bool,
    /// Source CIDR (ingress) or destination CIDR (egress).
    pub cidr: Ipv4Cidr,
    pub matches: Match,
}

/// A security group: allow rules only; an ENI's groups are a union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupNet {
    pub id: String,
    pub ingress: Vec<SgRuleNet>,
    pub egress: Vec<SgRuleNet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgRuleNet {
    /// Source (ingress) or destination (egress).
    pub peer: SgPeer,
    pub matches: Match,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SgPeer {
    Cidr(Ipv4Cidr),
    /// The private addresses of the group's members
    /// (`NetworkModel::group_members`).
    Group(String),
}

/// An instance ENI plugged on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EniNet {
    pub id: String,
    pub instance_id: String,
    pub device_index: u32,
    pub subnet_id: String,
    /// `02:…` as stored.
    pub mac: String,
    /// Private IPv4 addresses, primary first.
    pub addresses: Vec<Ipv4Addr>,
    pub security_groups: Vec<String>,
    /// On (AWS's default): the ENI may only send from its own addresses and
    /// receive for them. Off: it may forward (a NAT instance, a router).
    pub source_dest_check: bool,
    /// 1:1 NAT at the internet gateway: (private, public) for each private
    /// address with a public IP or an Elastic IP.
    pub public: Vec<(Ipv4Addr, Ipv4Addr)>,
}

/// A NAT gateway: its own namespace with one ENI in `subnet_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatGatewayNet {
    pub id: String,
    pub subnet_id: String,
    pub eni_id: String,
    pub mac: String,
    pub private_address: Ipv4Addr,
    /// The Elastic IP of a public NAT gateway (1:1 NAT at the internet
    /// gateway); `None` for a private one.
    pub public_address: Option<Ipv4Addr>,
}

/// An active peering connection between two VPCs with routers here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeeringNet {
    pub id: String,
    pub requester: PeerSide,
    pub accepter: PeerSide,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSide {
    pub vpc_id: String,
    pub cidrs: Vec<Ipv4Cidr>,
}

/// A transit gateway: its own router namespace, one link per VPC attachment,
/// and route tables selected by the attachment a packet comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitGatewayNet {
    pub id: String,
    /// Available VPC attachments whose VPC is in `NetworkModel::vpcs`.
    pub attachments: Vec<TgwAttachmentNet>,
    pub route_tables: Vec<TgwRouteTableNet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgwAttachmentNet {
    pub id: String,
    pub vpc_id: String,
    /// The attachment's subnet in the VPC (the first one): traffic entering
    /// the VPC from the transit gateway follows this subnet's route table
    /// and crosses its network ACL.
    pub subnet_id: String,
    /// The associated transit-gateway route table, if any (without one,
    /// traffic from this attachment is dropped).
    pub route_table: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgwRouteTableNet {
    pub id: String,
    pub routes: Vec<TgwRouteNet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgwRouteNet {
    pub destination: Ipv4Cidr,
    /// The attachment to send to; `None` for a blackhole route.
    pub attachment: Option<String>,
}

impl NetworkModel {
    /// A model with nothing on the host but the external network.
    pub fn empty(external: ExternalNet) -> Self {
        NetworkModel {
            external,
            vpcs: Vec::new(),
            peerings: Vec::new(),
            transit_gateways: Vec::new(),
            group_members: BTreeMap::new(),
        }
    }

    pub fn vpc(&self, id: &str) -> Option<&VpcNet> {
        self.vpcs.iter().find(|v| v.id == id)
    }
}

impl VpcNet {
    pub fn subnet(&self, id: &str) -> Option<&SubnetNet> {
        self.subnets.iter().find(|s| s.id == id)
    }

    pub fn route_table(&self, id: &str) -> Option<&RouteTableNet> {
        self.route_tables.iter().find(|t| t.id == id)
    }

    pub fn network_acl(&self, id: &str) -> Option<&AclNet> {
        self.network_acls.iter().find(|a| a.id == id)
    }

    pub fn security_group(&self, id: &str) -> Option<&SecurityGroupNet> {
        self.security_groups.iter().find(|g| g.id == id)
    }
}

/// The kernel routing table (and firewall mark) of a route table: a stable
/// number derived from its ID (FNV-1a), in 1000..2^31 so it never meets the
/// kernel's reserved tables (0, 253–255) or small numbers an operator uses.
/// Two tables of one router colliding needs 31 bits of luck; the planner
/// reports a collision as an error rather than merging them.
pub fn kernel_table(id: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    1000 + h % (0x8000_0000 - 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_tables_are_stable_and_out_of_reserved_ranges() {
        let a = kernel_table("rtb-0123456789abcdef0");
        assert_eq!(a, kernel_table("rtb-0123456789abcdef0"));
        assert_ne!(a, kernel_table("rtb-0123456789abcdef1"));
        for id in ["", "rtb-1", "tgw-rtb-0aa", "x"] {
            let t = kernel_table(id);
            assert!((1000..0x8000_0000).contains(&t), "{id}: {t}");
        }
    }
}
