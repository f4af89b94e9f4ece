//! The topology planner: pure functions from the desired [`NetworkModel`] to
//! the kernel objects of every namespace Nubo owns beyond the ENI veths that
//! [`crate::plan`] makes — the external bridge and its pool routes in the
//! host, each VPC router's internet-gateway uplink, peering and
//! transit-gateway links, its policy routing (one kernel table per route
//! table, selected by the firewall mark of the ingress link) and main-table
//! routes, NAT-gateway namespaces (plugged like instance ENIs) and
//! transit-gateway namespaces with their route tables — and the diff of those
//! routes and rules against what a namespace holds ([`diff`]).
//!
//! [`crate::DataPlane::apply_network`] executes the plan. Everything here is
//! deterministic: equal models give equal plans, so the executor skips a
//! namespace whose plan did not change since it last applied it.

pub mod diff;
mod gateways;
mod open;
mod router;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::model::{Ipv4Cidr, NetworkModel};
use crate::ops::{IpCmd, KernelRoute, KernelRule, Sysctl, VethSpec};
use crate::plan::EniPlug;
use crate::{NetConfig, NetError};

pub use diff::{diff_routes, diff_rules};
pub use gateways::host_forward_ruleset;
pub use open::{open_model, OPEN_GROUP};

/// The address of the requester side of every peering link and of the VPC
/// side of every transit-gateway attachment (per device, so reused).
pub const LINK_NEAR: Ipv4Addr = Ipv4Addr::new(169, 254, 0, 1);
/// The accepter side of a peering link, the transit-gateway side of an
/// attachment.
pub const LINK_FAR: Ipv4Addr = Ipv4Addr::new(169, 254, 0, 2);

/// Rule priorities: VPC blocks go to `main` first, then the route table of
/// the ingress link's mark (or a transit gateway's attachment), then the
/// transit gateway's catch-all blackhole.
pub const PRIO_LOCAL: u32 = 1000;
pub const PRIO_TABLE: u32 = 2000;
pub const PRIO_BLACKHOLE: u32 = 3000;

/// What one namespace must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsPlan {
    pub netns: String,
    /// Sysctls (forwarding, reverse-path filter; a gateway link's ARP, set
    /// once the gateway veths exist).
    pub sysctls: Vec<Sysctl>,
    /// Links up, bridge membership and addresses (replace semantics, after
    /// the gateway veths exist).
    pub cmds: Vec<IpCmd>,
    /// Every route Nubo wants in this namespace, any table.
    pub routes: Vec<KernelRoute>,
    pub rules: Vec<KernelRule>,
    /// Main-table routes out of these links are Nubo's (removed when not
    /// wanted); other main-table routes are left alone except blackholes.
    pub managed_devs: BTreeSet<String>,
    /// Whether blackholes in the main table are Nubo's (in a router: yes; in
    /// the host: no).
    pub main_blackholes: bool,
    /// Gateway links (uplink, peering, attachment ends) this namespace keeps;
    /// other links of those kinds are removed.
    pub gateway_links: BTreeSet<String>,
    /// The whole `inet nubo` table, when the namespace has one.
    pub nft: Option<String>,
}

/// A NAT gateway: its ENI (plugged like an instance's) and its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatPlan {
    pub plug: EniPlug,
    pub ns: NsPlan,
}

/// The whole host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopologyPlan {
    /// The host namespace ([`HOST_NETNS`]): the bridge, its pool routes and
    /// the host ends of uplinks. `None` when no VPC has a router here (the
    /// bridge goes).
    pub host: Option<NsPlan>,
    pub routers: Vec<NsPlan>,
    pub nat_gateways: Vec<NatPlan>,
    pub transit_gateways: Vec<NsPlan>,
    /// Gateway veth pairs (uplinks, peerings, attachments), created when an
    /// end is missing.
    pub veths: Vec<VethSpec>,
}

impl TopologyPlan {
    /// The names of the NAT-gateway and transit-gateway namespaces to keep.
    pub fn gateway_netns(&self) -> BTreeSet<String> {
        self.nat_gateways
            .iter()
            .map(|n| n.ns.netns.clone())
            .chain(self.transit_gateways.iter().map(|t| t.netns.clone()))
            .collect()
    }
}

/// Plans the whole host for `model`.
pub fn plan(cfg: &NetConfig, model: &NetworkModel) -> Result<TopologyPlan, NetError> {
    let mut out = TopologyPlan::default();
    if !model.vpcs.is_empty() {
        out.host = Some(gateways::host_plan(cfg, model));
    }
    for vpc in &model.vpcs {
        let (ns, veths) = router::router_plan(cfg, model, vpc)?;
        out.routers.push(ns);
        out.veths.extend(veths);
        for nat in &vpc.nat_gateways {
            out.nat_gateways.push(gateways::nat_plan(cfg, vpc, nat)?);
        }
    }
    for tgw in &model.transit_gateways {
        let (ns, veths) = gateways::tgw_plan(cfg, model, tgw)?;
        out.transit_gateways.push(ns);
        out.veths.extend(veths);
    }
    Ok(out)
}

/// The plugs of the model's instance ENIs (what the agent plugs before it
/// starts an instance; tests and benchmarks use this to stand in for it).
/// ENIs without an address or whose subnet is missing are left out.
pub fn instance_plugs(model: &NetworkModel) -> Vec<EniPlug> {
    let mut out = Vec::new();
    for vpc in &model.vpcs {
        for eni in &vpc.enis {
            let (Some(subnet), Some(address)) = (vpc.subnet(&eni.subnet_id), eni.addresses.first())
            else {
                continue;
            };
            out.push(EniPlug {
                eni_id: eni.id.clone(),
                vpc_id: vpc.id.clone(),
                instance_id: eni.instance_id.clone(),
                mac: eni.mac.clone(),
                address: *address,
                prefix_len: subnet.cidr.prefix(),
                gateway: Ipv4Addr::from(u32::from(subnet.cidr.network()) + 1),
                device_index: eni.device_index,
            });
        }
    }
    out
}

/// Namespace-wide sysctls of a VPC router: it forwards; the reverse-path
/// filter is off because anti-spoofing is in nftables (an ENI with its
/// source/dest check off may forward), and no ICMP redirects (every packet
/// must cross the router). ARP is per link: see [`uplink_sysctls`].
pub fn router_sysctls() -> Vec<Sysctl> {
    forwarding_sysctls()
}

/// The uplink answers ARP only for the addresses on it (its public
/// addresses) and asks with one of them. Not namespace-wide: an ENI link must
/// answer for its subnet gateway, which lives on the router's loopback.
pub fn uplink_sysctls(link: &str) -> Vec<Sysctl> {
    vec![
        Sysctl::new(format!("net/ipv4/conf/{link}/arp_ignore"), "1"),
        Sysctl::new(format!("net/ipv4/conf/{link}/arp_announce"), "2"),
    ]
}

/// Forwarding on, reverse-path filter and redirects off (routers, NAT and
/// transit gateways).
pub fn forwarding_sysctls() -> Vec<Sysctl> {
    vec![
        Sysctl::new("net/ipv4/ip_forward", "1"),
        Sysctl::new("net/ipv4/conf/all/rp_filter", "0"),
        Sysctl::new("net/ipv4/conf/default/rp_filter", "0"),
        Sysctl::new("net/ipv4/conf/all/send_redirects", "0"),
        Sysctl::new("net/ipv4/conf/default/send_redirects", "0"),
    ]
}

/// A locally administered unicast MAC derived from an ID (a gateway link's
/// far end; stable, so a re-plan never sees a "different" link).
pub fn derived_mac(id: &str) -> String {
    let h = crate::model::kernel_table(id).to_be_bytes();
    let g = crate::model::kernel_table(&format!("{id}/mac")).to_be_bytes();
    format!(
        "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        h[0], h[1], h[2], h[3], g[3]
    )
}

fn addr(dev: &str, a: Ipv4Addr, prefix_len: u8) -> IpCmd {
    IpCmd::AddrReplace {
        dev: dev.to_string(),
        addr: a,
        prefix_len,
    }
}

fn up(dev: &str) -> IpCmd {
    IpCmd::LinkUp {
        dev: dev.to_string(),
    }
}

fn host32(a: Ipv4Addr) -> Ipv4Cidr {
    match Ipv4Cidr::new(a, 32) {
        Some(c) => c,
        None => unreachable!("Ipv4Cidr::new refuses only prefixes above 32"),
    }
}

/// Fails when two route tables of one namespace map to one kernel table.
fn check_tables<'a>(
    netns: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<BTreeMap<u32, &'a str>, NetError> {
    let mut seen = BTreeMap::new();
    for id in ids {
        let t = crate::model::kernel_table(id);
        if let Some(other) = seen.insert(t, id) {
            if other != id {
                return Err(NetError::Invalid(format!(
                    "route tables {other} and {id} share kernel table {t} in {netns}"
                )));
            }
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests;
