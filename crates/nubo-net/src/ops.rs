//! The narrow kernel interface of the data plane. [`crate::linux::LinuxNetOps`]
//! drives the real kernel; [`crate::fake::FakeNetOps`] records calls and models
//! the kernel's state and preconditions so planners and the reconciler are
//! tested without root.
//!
//! Operations are coarse on purpose (a batch of address/route/link commands per
//! namespace is one call), because each call to the real kernel costs a process
//! spawn and plugging an ENI is on the instance launch path.

use std::net::Ipv4Addr;

use crate::model::Ipv4Cidr;
use crate::NetError;

/// The namespace name that stands for the host's own network namespace (where
/// the external bridge lives) in every [`NetOps`] call.
pub const HOST_NETNS: &str = "";

/// The kernel's main routing table.
pub const MAIN_TABLE: u32 = 254;

/// Where a route sends packets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NextHop {
    /// Dropped silently (`blackhole`).
    Blackhole,
    /// Directly out of a link (`dev <dev> scope link`): ARP for the destination.
    Dev(String),
    /// Through a gateway on a link, whatever the link's addresses
    /// (`via <gateway> dev <dev> onlink`).
    Via { gateway: Ipv4Addr, dev: String },
}

/// A route in one routing table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelRoute {
    pub table: u32,
    pub dst: Ipv4Cidr,
    pub next: NextHop,
}

/// What selects packets for a policy-routing rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleSelector {
    To(Ipv4Cidr),
    Fwmark(u32),
    Iif(String),
}

/// What a policy-routing rule does with the packets it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleAction {
    Lookup(u32),
    Blackhole,
}

/// A policy-routing rule (`ip rule`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelRule {
    pub priority: u32,
    pub selector: RuleSelector,
    pub action: RuleAction,
}

/// A link as observed in a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub name: String,
    /// Lowercase `aa:bb:…` MAC address.
    pub mac: String,
    pub up: bool,
    /// Carrier: for a veth, both ends are up.
    pub lower_up: bool,
}

/// A route as observed in a namespace's main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// `a.b.c.d/len`, or `default`.
    pub dst: String,
    pub dev: String,
}

/// A veth pair to create: `name` in `netns`, `peer_name` (with `peer_mac`) in
/// `peer_netns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethSpec {
    pub netns: String,
    pub name: String,
    pub peer_netns: String,
    pub peer_name: String,
    pub peer_mac: String,
}

/// One configuration command inside a namespace; every command has "replace"
/// semantics so applying a batch twice is harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpCmd {
    /// Set a link administratively up.
    LinkUp { dev: String },
    /// Ensure an address is on a link.
    AddrReplace {
        dev: String,
        addr: Ipv4Addr,
        prefix_len: u8,
    },
    /// Ensure a route (`dst/prefix_len` out of `dev`, through `via` if set).
    RouteReplace {
        dst: Ipv4Addr,
        prefix_len: u8,
        dev: String,
        via: Option<Ipv4Addr>,
    },
    /// Create a bridge (an error if the name exists).
    BridgeAdd { name: String },
    /// Enslave a link to a bridge.
    LinkMaster { dev: String, master: String },
    /// Ensure a route in its table (replace semantics).
    Route(KernelRoute),
    /// Remove a route (its table and destination identify it).
    RouteDel(KernelRoute),
    /// Add a policy rule (an error if an identical one exists).
    RuleAdd(KernelRule),
    /// Remove a policy rule.
    RuleDel(KernelRule),
}

/// A sysctl under `/proc/sys/` (e.g. `net/ipv4/ip_forward`) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    pub key: String,
    pub value: String,
}

impl Sysctl {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Sysctl {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The kernel, as the data plane sees it. Namespaces are named (`/run/netns/<name>`).
pub trait NetOps: Send + Sync {
    /// Names of all named network namespaces.
    fn netns_list(&self) -> Result<Vec<String>, NetError>;
    /// Create a named namespace (its loopback is down, as the kernel makes it).
    /// Creating one that exists is an error.
    fn netns_add(&self, name: &str) -> Result<(), NetError>;
    /// Delete a named namespace; its veth ends (and so their peers) go with it
    /// once nothing else holds it.
    fn netns_del(&self, name: &str) -> Result<(), NetError>;
    /// The links of a namespace.
    fn links(&self, netns: &str) -> Result<Vec<LinkInfo>, NetError>;
    /// The IPv4 routes of a namespace's main table.
    fn routes(&self, netns: &str) -> Result<Vec<RouteInfo>, NetError>;
    /// Create a veth pair across two namespaces.
    fn veth_add(&self, spec: &VethSpec) -> Result<(), NetError>;
    /// Delete a link (a veth's peer goes with it).
    fn link_del(&self, netns: &str, name: &str) -> Result<(), NetError>;
    /// Apply a batch of commands in one namespace, in order.
    fn apply(&self, netns: &str, cmds: &[IpCmd]) -> Result<(), NetError>;
    /// Write sysctls as seen from inside a namespace (per-namespace `net/…` keys).
    fn sysctl(&self, netns: &str, settings: &[Sysctl]) -> Result<(), NetError>;
    /// The policy-routing rules of a namespace.
    fn rules(&self, netns: &str) -> Result<Vec<KernelRule>, NetError>;
    /// The IPv4 routes of every table of a namespace except the kernel's own
    /// (the `local` table and routes the kernel derives from addresses).
    fn table_routes(&self, netns: &str) -> Result<Vec<KernelRoute>, NetError>;
    /// Run an nftables script (`nft -f -`) inside a namespace, as one
    /// transaction.
    fn nft_apply(&self, netns: &str, script: &str) -> Result<(), NetError>;
    /// Whether a namespace has Nubo's nftables table (`inet nubo`).
    fn nft_has_table(&self, netns: &str) -> Result<bool, NetError>;
}
