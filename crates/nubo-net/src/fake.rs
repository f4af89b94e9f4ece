//! A recording fake of the kernel for [`NetOps`]: it keeps namespaces, links
//! (veth peers across namespaces), addresses, routes and sysctls in memory,
//! enforces the preconditions the kernel enforces (the namespace and link must
//! exist, names are unique per namespace and at most 15 characters, deleting a
//! veth end or its namespace removes the peer, a route through a deleted
//! link goes with it, an identical rule cannot be added twice) and records
//! every call. The host's own namespace is [`HOST_NETNS`]: it always exists
//! and is never listed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use crate::naming::IFNAME_MAX;
use crate::ops::{
    IpCmd, KernelRoute, KernelRule, LinkInfo, NetOps, NextHop, RouteInfo, Sysctl, VethSpec,
    HOST_NETNS, MAIN_TABLE,
};
use crate::NetError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLink {
    pub mac: String,
    pub up: bool,
    /// The veth peer (netns, name); `None` for lo and bridges.
    pub peer: Option<(String, String)>,
    /// The bridge it is enslaved to.
    pub master: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeNetns {
    pub links: BTreeMap<String, FakeLink>,
    /// Lines like `10.0.1.5/24 dev eth0`.
    pub addrs: BTreeSet<String>,
    /// Lines like `10.0.1.5/32 dev nbe1` or `default via 10.0.1.1 dev eth0`.
    pub routes: BTreeSet<String>,
    pub sysctls: BTreeMap<String, String>,
    /// Policy rules (`ip rule`).
    pub rules: BTreeSet<KernelRule>,
    /// Routes of numbered tables, and main-table routes that are not a plain
    /// `dev` route (those are lines in `routes`).
    pub table_routes: BTreeSet<KernelRoute>,
    /// The last nftables script applied.
    pub nft: Option<String>,
}

fn via_dev(next: &NextHop) -> Option<&str> {
    match next {
        NextHop::Blackhole => None,
        NextHop::Dev(dev) | NextHop::Via { dev, .. } => Some(dev),
    }
}

#[derive(Debug, Default)]
pub struct FakeNetOps {
    state: Mutex<BTreeMap<String, FakeNetns>>,
    calls: Mutex<Vec<String>>,
}

fn pre(msg: impl Into<String>) -> NetError {
    NetError::Precondition(msg.into())
}

impl FakeNetOps {
    /// A kernel with only the host namespace (which has only `lo`).
    pub fn new() -> Self {
        let fake = Self::default();
        fake.state()
            .insert(HOST_NETNS.to_string(), FakeNetns::default());
        fake
    }

    fn state(&self) -> MutexGuard<'_, BTreeMap<String, FakeNetns>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, call: String) {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(call);
    }

    /// Every call so far, e.g. `netns_add tq-vpc-01`.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn clear_calls(&self) {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// A snapshot of one namespace.
    pub fn netns(&self, name: &str) -> Option<FakeNetns> {
        self.state().get(name).cloned()
    }

    /// Names of all named namespaces (not the host's).
    pub fn netns_names(&self) -> Vec<String> {
        self.state()
            .keys()
            .filter(|n| n.as_str() != HOST_NETNS)
            .cloned()
            .collect()
    }

    fn remove_link(state: &mut BTreeMap<String, FakeNetns>, netns: &str, name: &str) {
        let Some(link) = state.get_mut(netns).and_then(|ns| ns.links.remove(name)) else {
            return;
        };
        if let Some(ns) = state.get_mut(netns) {
            ns.addrs.retain(|a| !a.ends_with(&format!(" dev {name}")));
            ns.routes.retain(|r| !r.ends_with(&format!(" dev {name}")));
            ns.sysctls.retain(|k, _| !k.contains(&format!("/{name}/")));
            ns.table_routes.retain(|r| via_dev(&r.next) != Some(name));
            for l in ns.links.values_mut() {
                if l.master.as_deref() == Some(name) {
                    l.master = None;
                }
            }
        }
        if let Some((pns, pname)) = link.peer {
            Self::remove_link(state, &pns, &pname);
        }
    }
}

impl NetOps for FakeNetOps {
    fn netns_list(&self) -> Result<Vec<String>, NetError> {
        Ok(self.netns_names())
    }

    fn netns_add(&self, name: &str) -> Result<(), NetError> {
        self.record(format!("netns_add {name}"));
        let mut state = self.state();
        if state.contains_key(name) {
            return Err(pre(format!("netns {name} exists")));
        }
        let mut ns = FakeNetns::default();
        ns.links.insert(
            "lo".into(),
            FakeLink {
                mac: "00:00:00:00:00:00".into(),
                up: false,
                peer: None,
                master: None,
            },
        );
        state.insert(name.to_string(), ns);
        Ok(())
    }

    fn netns_del(&self, name: &str) -> Result<(), NetError> {
        self.record(format!("netns_del {name}"));
        if name == HOST_NETNS {
            return Err(pre("the host namespace cannot be deleted"));
        }
        let mut state = self.state();
        let links: Vec<String> = state
            .get(name)
            .ok_or_else(|| pre(format!("no netns {name}")))?
            .links
            .keys()
            .cloned()
            .collect();
        for link in links {
            Self::remove_link(&mut state, name, &link);
        }
        state.remove(name);
        Ok(())
    }

    fn links(&self, netns: &str) -> Result<Vec<LinkInfo>, NetError> {
        let state = self.state();
        let ns = state
            .get(netns)
            .ok_or_else(|| pre(format!("no netns {netns}")))?;
        Ok(ns
            .links
            .iter()
            .map(|(name, l)| {
                let peer_up = match &l.peer {
                    None => true,
                    Some((pns, pname)) => state
                        .get(pns)
                        .and_then(|n| n.links.get(pname))
                        .is_some_and(|p| p.up),
                };
                LinkInfo {
                    name: name.clone(),
                    mac: l.mac.clone(),
                    up: l.up,
                    lower_up: l.up && peer_up,
                }
            })
            .collect())
    }

    fn routes(&self, netns: &str) -> Result<Vec<RouteInfo>, NetError> {
        let state = self.state();
        let ns = state
            .get(netns)
            .ok_or_else(|| pre(format!("no netns {netns}")))?;
        Ok(ns
            .routes
            .iter()
            .filter_map(|line| {
                let dst = line.split(' ').next()?.to_string();
                let dev = line.rsplit(' ').next()?.to_string();
                Some(RouteInfo { dst, dev })
            })
            .collect())
    }

    fn veth_add(&self, s: &VethSpec) -> Result<(), NetError> {
        self.record(format!(
            "veth_add {}/{} {}/{}",
            s.netns, s.name, s.peer_netns, s.peer_name
        ));
        let mut state = self.state();
        for (ns, name) in [(&s.netns, &s.name), (&s.peer_netns, &s.peer_name)] {
            if name.len() > IFNAME_MAX {
                return Err(pre(format!("link name {name} longer than {IFNAME_MAX}")));
            }
            let n = state.get(ns).ok_or_else(|| pre(format!("no netns {ns}")))?;
            if n.links.contains_key(name) {
                return Err(pre(format!("link {name} exists in {ns}")));
            }
        }
        if let Some(ns) = state.get_mut(&s.netns) {
            ns.links.insert(
                s.name.clone(),
                FakeLink {
                    mac: "fe:00:00:00:00:01".into(),
                    up: false,
                    peer: Some((s.peer_netns.clone(), s.peer_name.clone())),
                    master: None,
                },
            );
        }
        if let Some(ns) = state.get_mut(&s.peer_netns) {
            ns.links.insert(
                s.peer_name.clone(),
                FakeLink {
                    mac: s.peer_mac.clone(),
                    up: false,
                    peer: Some((s.netns.clone(), s.name.clone())),
                    master: None,
                },
            );
        }
        Ok(())
    }

    fn link_del(&self, netns: &str, name: &str) -> Result<(), NetError> {
        self.record(format!("link_del {netns}/{name}"));
        let mut state = self.state();
        let exists = state
            .get(netns)
            .ok_or_else(|| pre(format!("no netns {netns}")))?
            .links
            .contains_key(name);
        if !exists {
            return Err(pre(format!("no link {name} in {netns}")));
        }
        Self::remove_link(&mut state, netns, name);
        Ok(())
    }

    fn apply(&self, netns: &str, cmds: &[IpCmd]) -> Result<(), NetError> {
        self.record(format!("apply {netns} ({} cmds)", cmds.len()));
        let mut state = self.state();
        let ns = state
            .get_mut(netns)
            .ok_or_else(|| pre(format!("no netns {netns}")))?;
        for cmd in cmds {
            let dev = match cmd {
                IpCmd::LinkUp { dev } | IpCmd::AddrReplace { dev, .. } => Some(dev.as_str()),
                IpCmd::RouteReplace { dev, .. } | IpCmd::LinkMaster { dev, .. } => {
                    Some(dev.as_str())
                }
                IpCmd::Route(r) => via_dev(&r.next),
                IpCmd::BridgeAdd { .. }
                | IpCmd::RouteDel(_)
                | IpCmd::RuleAdd(_)
                | IpCmd::RuleDel(_) => None,
            };
            if let Some(dev) = dev {
                if !ns.links.contains_key(dev) {
                    return Err(pre(format!("no link {dev} in {netns}")));
                }
            }
            match cmd {
                IpCmd::LinkUp { dev } => {
                    if let Some(l) = ns.links.get_mut(dev) {
                        l.up = true;
                    }
                }
                IpCmd::AddrReplace {
                    dev,
                    addr,
                    prefix_len,
                } => {
                    ns.addrs.insert(format!("{addr}/{prefix_len} dev {dev}"));
                }
                IpCmd::RouteReplace {
                    dst,
                    prefix_len,
                    dev,
                    via,
                } => {
                    if !ns.links.get(dev).is_some_and(|l| l.up) {
                        return Err(pre(format!("route via {dev}, which is down")));
                    }
                    if let Some(gw) = via {
                        // the gateway must be on a connected subnet of dev
                        let on_link = ns.addrs.iter().any(|a| {
                            a.ends_with(&format!(" dev {dev}"))
                                && connected(a, *gw).unwrap_or(false)
                        });
                        if !on_link {
                            return Err(pre(format!("gateway {gw} not on link {dev}")));
                        }
                    }
                    let line = match (prefix_len, via) {
                        (0, Some(gw)) => format!("default via {gw} dev {dev}"),
                        (_, Some(gw)) => format!("{dst}/{prefix_len} via {gw} dev {dev}"),
                        (_, None) => format!("{dst}/{prefix_len} dev {dev}"),
                    };
                    let key = line.split(' ').next().unwrap_or_default().to_string();
                    ns.routes.retain(|r| !r.starts_with(&format!("{key} ")));
                    ns.routes.insert(line);
                }
                IpCmd::BridgeAdd { name } => {
                    if name.len() > IFNAME_MAX || ns.links.contains_key(name) {
                        return Err(pre(format!("cannot create bridge {name} in {netns}")));
                    }
                    ns.links.insert(
                        name.clone(),
                        FakeLink {
                            mac: "fe:00:00:00:00:02".into(),
                            up: false,
                            peer: None,
                            master: None,
                        },
                    );
                }
                IpCmd::LinkMaster { dev, master } => {
                    if !ns.links.contains_key(master) {
                        return Err(pre(format!("no bridge {master} in {netns}")));
                    }
                    if let Some(l) = ns.links.get_mut(dev) {
                        l.master = Some(master.clone());
                    }
                }
                IpCmd::Route(r) => {
                    if let Some(dev) = via_dev(&r.next) {
                        if !ns.links.get(dev).is_some_and(|l| l.up) {
                            return Err(pre(format!("route via {dev}, which is down")));
                        }
                    }
                    remove_route(ns, r);
                    match (&r.next, r.table) {
                        (NextHop::Dev(dev), MAIN_TABLE) => {
                            ns.routes.insert(format!("{} dev {dev}", r.dst));
                        }
                        _ => {
                            ns.table_routes.insert(r.clone());
                        }
                    }
                }
                IpCmd::RouteDel(r) => {
                    if !remove_route(ns, r) {
                        return Err(pre(format!("no route {} in table {}", r.dst, r.table)));
                    }
                }
                IpCmd::RuleAdd(r) => {
                    if !ns.rules.insert(r.clone()) {
                        return Err(pre(format!("rule {r:?} exists in {netns}")));
                    }
                }
                IpCmd::RuleDel(r) => {
                    if !ns.rules.remove(r) {
                        return Err(pre(format!("no rule {r:?} in {netns}")));
                    }
                }
            }
        }
        Ok(())
    }

    fn sysctl(&self, netns: &str, settings: &[Sysctl]) -> Result<(), NetError> {
        self.record(format!("sysctl {netns} ({} keys)", settings.len()));
        let mut state = self.state();
        let ns = state
            .get_mut(netns)
            .ok_or_else(|| pre(format!("no netns {netns}")))?;
        for s in settings {
            // per-device keys need the device: net/ipv4/conf/<dev>/…
            let parts: Vec<&str> = s.key.split('/').collect();
            if parts.len() == 5 && matches!(parts[2], "conf" | "neigh") {
                let dev = parts[3];
                if dev != "all" && dev != "default" && !ns.links.contains_key(dev) {
                    return Err(pre(format!("no /proc/sys/{} in {netns}", s.key)));
                }
            }
            ns.sysctls.insert(s.key.clone(), s.value.clone());
        }
        Ok(())
    }

    fn rules(&self, netns: &str) -> Result<Vec<KernelRule>, NetError> {
        let state = self.state();
        let ns = state
            .get(netns)
            .ok_or_else(|| pre(format!("no netns {netns}")))?;
        Ok(ns.rules.iter().cloned().collect())
    }

    fn table_routes(&self, netns: &str) -> Result<Vec<KernelRoute>, NetError> {
        let state = self.state();
        let ns = state
            .get(netns)
            .ok_or_else(|| pre(format!("no netns {netns}")))?;
        let mut routes: Vec<KernelRoute> = ns.table_routes.iter().cloned().collect();
        routes.extend(ns.routes.iter().filter_map(|line| main_route(line)));
        Ok(routes)
    }

    fn nft_apply(&self, netns: &str, script: &str) -> Result<(), NetError> {
        let how = if script.starts_with("table ") {
            "whole"
        } else {
            "delta"
        };
        self.record(format!("nft_apply {netns} ({how})"));
        let mut state = self.state();
        let ns = state
            .get_mut(netns)
            .ok_or_else(|| pre(format!("no netns {netns}")))?;
        // A full replace starts with `table`; anything else is an
        // incremental transaction, carried out on what the table holds.
        let next = if script.starts_with("table ") {
            Some(script.to_string())
        } else {
            ns.nft
                .as_deref()
                .and_then(|old| crate::filter::apply_delta(old, script))
        };
        ns.nft = Some(next.ok_or_else(|| pre(format!("nft refused in {netns}:\n{script}")))?);
        Ok(())
    }

    fn nft_has_table(&self, netns: &str) -> Result<bool, NetError> {
        let state = self.state();
        let ns = state
            .get(netns)
            .ok_or_else(|| pre(format!("no netns {netns}")))?;
        Ok(ns.nft.is_some())
    }
}

/// Removes the route of `r`'s table and destination; whether there was one.
fn remove_route(ns: &mut FakeNetns, r: &KernelRoute) -> bool {
    let before = ns.table_routes.len() + ns.routes.len();
    ns.table_routes
        .retain(|x| !(x.table == r.table && x.dst == r.dst));
    if r.table == MAIN_TABLE {
        let key = if r.dst.prefix() == 0 {
            "default ".to_string()
        } else {
            format!("{} ", r.dst)
        };
        ns.routes.retain(|x| !x.starts_with(&key));
    }
    before != ns.table_routes.len() + ns.routes.len()
}

/// A main-table line of `routes` as a [`KernelRoute`].
fn main_route(line: &str) -> Option<KernelRoute> {
    let words: Vec<&str> = line.split(' ').collect();
    let dst = match words.first()? {
        &"default" => crate::model::Ipv4Cidr::new(std::net::Ipv4Addr::UNSPECIFIED, 0)?,
        d => d.parse().ok()?,
    };
    let next = match words.as_slice() {
        [_, "dev", dev] => NextHop::Dev((*dev).to_string()),
        [_, "via", gw, "dev", dev] => NextHop::Via {
            gateway: gw.parse().ok()?,
            dev: (*dev).to_string(),
        },
        _ => return None,
    };
    Some(KernelRoute {
        table: MAIN_TABLE,
        dst,
        next,
    })
}

/// Whether `addr_line` (`a.b.c.d/len dev x`) has `ip` in its subnet.
fn connected(addr_line: &str, ip: std::net::Ipv4Addr) -> Option<bool> {
    let cidr = addr_line.split(' ').next()?;
    let (a, len) = cidr.split_once('/')?;
    let a: std::net::Ipv4Addr = a.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some(u32::from(a) & mask == u32::from(ip) & mask)
}
