//! `apply_network`: converges the host to a [`NetworkModel`] by executing the
//! [`crate::topology`] plan — the bridge, routers (created with their
//! bootstrap firewall first), NAT gateways (plugged like ENIs), transit
//! gateways, the gateway veths, then per namespace one `ip -batch` (links,
//! addresses, and the route and rule diff against what one `ip -j` per kind
//! observed) and one atomic `nft -f`. A namespace whose plan equals the one
//! this process last applied there is not touched at all; after a restart
//! (empty memory) everything is observed and re-applied by difference, so
//! established flows never see a gap.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{DataPlane, NetworkReport};
use crate::filter;
use crate::ops::{IpCmd, LinkInfo, NextHop, VethSpec, HOST_NETNS};
use crate::topology::{self, NsPlan, TopologyPlan};
use crate::{NetError, NetworkModel};

/// What `apply_network` last applied, per namespace.
#[derive(Debug, Default)]
pub(super) struct Applied {
    pub(super) by_netns: BTreeMap<String, NsPlan>,
    /// A pass completed since the process started (or since the last
    /// reconcile): until then nothing is assumed about the kernel.
    pub(super) synced: bool,
    /// The nftables script last applied per namespace, the base of the next
    /// incremental update. Unlike `by_netns` it survives a reconcile (only
    /// Nubo writes its tables, so a sweep has nothing to re-observe there,
    /// and a change right after a sweep stays a small delta); a namespace
    /// created anew, a failed nft apply or a failed pass forgets it.
    pub(super) nft: BTreeMap<String, String>,
}

/// Links observed per namespace during one pass (observed once, dropped when
/// the pass changes them).
struct LinkCache<'a> {
    dp: &'a DataPlane,
    links: HashMap<String, Vec<LinkInfo>>,
}

impl LinkCache<'_> {
    fn get(&mut self, netns: &str) -> Result<&[LinkInfo], NetError> {
        if !self.links.contains_key(netns) {
            let links = self.dp.ops.links(netns)?;
            self.links.insert(netns.to_string(), links);
        }
        Ok(self.links.get(netns).map(Vec::as_slice).unwrap_or_default())
    }

    fn has(&mut self, netns: &str, link: &str) -> Result<bool, NetError> {
        Ok(self.get(netns)?.iter().any(|l| l.name == link))
    }

    fn forget(&mut self, netns: &str) {
        self.links.remove(netns);
    }
}

impl DataPlane {
    /// Converges everything beyond the instance ENI veths to `model`: the
    /// external bridge, internet-gateway uplinks, NAT-gateway and
    /// transit-gateway namespaces, peering and attachment links, policy
    /// routing for route tables, and each router's nftables (security
    /// groups, network ACLs, source/destination checks, 1:1 NAT). Idempotent;
    /// only namespaces whose plan differs from what this process last applied
    /// are observed and rewritten. Routers of VPCs that left the model are
    /// removed by [`DataPlane::reconcile`], not here (a concurrent plug of a
    /// VPC's first ENI must not lose its new router to an older model).
    pub fn apply_network(&self, model: &NetworkModel) -> Result<NetworkReport, NetError> {
        self.cfg.validate()?;
        let plan = topology::plan(&self.cfg, model)?;
        let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        for ns in self
            .created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            applied.by_netns.remove(&ns);
            applied.nft.remove(&ns);
        }
        let result = self.apply_plan(&plan, &mut applied);
        if let Ok(report) = &result {
            // Namespaces this pass made and converged are not stale.
            let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
            created.retain(|ns| !report.changed.contains(ns));
        }
        if result.is_err() {
            // Half-applied: observe everything again next time.
            applied.synced = false;
            applied.by_netns.clear();
            applied.nft.clear();
        }
        result
    }

    fn apply_plan(
        &self,
        plan: &TopologyPlan,
        applied: &mut Applied,
    ) -> Result<NetworkReport, NetError> {
        let mut report = NetworkReport::default();
        let mut links = LinkCache {
            dp: self,
            links: HashMap::new(),
        };
        let existing: BTreeSet<String> = self.ops.netns_list()?.into_iter().collect();
        let dirty = |ns: &NsPlan, applied: &Applied| {
            !applied.synced
                || applied.by_netns.get(&ns.netns) != Some(ns)
                || (ns.netns != HOST_NETNS && !existing.contains(&ns.netns))
        };

        // Namespaces first, each router with its bootstrap firewall.
        if let Some(host) = &plan.host {
            if dirty(host, applied) && !links.has(HOST_NETNS, &self.cfg.external_bridge())? {
                self.ops.apply(
                    HOST_NETNS,
                    &[IpCmd::BridgeAdd {
                        name: self.cfg.external_bridge(),
                    }],
                )?;
                links.forget(HOST_NETNS);
            }
        }
        for router in plan.routers.iter().filter(|r| dirty(r, applied)) {
            self.ensure_router(&router.netns)?;
        }
        for nat in plan.nat_gateways.iter().filter(|n| dirty(&n.ns, applied)) {
            self.plug(&nat.plug)?;
        }
        for tgw in plan.transit_gateways.iter().filter(|t| dirty(t, applied)) {
            self.ensure_netns(&tgw.netns)?;
        }

        // Gateway veths whose either end is in a namespace to converge.
        let all: Vec<&NsPlan> = plan
            .host
            .iter()
            .chain(plan.routers.iter())
            .chain(plan.nat_gateways.iter().map(|n| &n.ns))
            .chain(plan.transit_gateways.iter())
            .collect();
        let dirty_names: BTreeSet<&str> = all
            .iter()
            .filter(|ns| dirty(ns, applied))
            .map(|ns| ns.netns.as_str())
            .collect();
        for veth in plan.veths.iter().filter(|v| {
            dirty_names.contains(v.netns.as_str()) || dirty_names.contains(v.peer_netns.as_str())
        }) {
            self.ensure_veth(veth, &mut links)?;
        }

        // Each namespace: links, addresses, routes, rules, firewall.
        for ns in all {
            if !dirty_names.contains(ns.netns.as_str()) {
                report.unchanged += 1;
                continue;
            }
            // What this process last applied there, when it still holds.
            let there = ns.netns == HOST_NETNS || existing.contains(&ns.netns);
            let previous = applied
                .by_netns
                .get(&ns.netns)
                .filter(|_| applied.synced && there)
                .cloned();
            let old_nft = applied.nft.remove(&ns.netns).filter(|_| there);
            let complete = self.converge_netns(
                ns,
                previous.as_ref(),
                old_nft.as_deref(),
                &mut links,
                &mut report,
            )?;
            if let Some(script) = &ns.nft {
                applied.nft.insert(ns.netns.clone(), script.clone());
            }
            report.changed.push(ns.netns.clone());
            if complete {
                applied.by_netns.insert(ns.netns.clone(), ns.clone());
            } else {
                // Retried on the next pass, when the ENI is plugged.
                report.waiting.push(ns.netns.clone());
                applied.by_netns.remove(&ns.netns);
            }
        }

        // What the model no longer wants.
        let keep = plan.gateway_netns();
        for ns in existing
            .iter()
            .filter(|n| self.cfg.is_nat_netns(n) || self.cfg.is_tgw_netns(n))
            .filter(|n| !keep.contains(*n))
        {
            self.ops.netns_del(ns)?;
            applied.by_netns.remove(ns);
            applied.nft.remove(ns);
            report.removed.push(ns.clone());
        }
        let had_host = applied.by_netns.contains_key(HOST_NETNS) || !applied.synced;
        if plan.host.is_none() && had_host {
            let bridge = self.cfg.external_bridge();
            if links.has(HOST_NETNS, &bridge)? {
                self.ops.link_del(HOST_NETNS, &bridge)?;
                report.removed.push(bridge);
            }
            applied.by_netns.remove(HOST_NETNS);
        }
        applied.synced = true;
        Ok(report)
    }

    /// Makes a gateway veth pair whole: both ends there, or (re)created after
    /// removing a lone end.
    fn ensure_veth(&self, veth: &VethSpec, links: &mut LinkCache<'_>) -> Result<(), NetError> {
        let near = links.has(&veth.netns, &veth.name)?;
        let far = links.has(&veth.peer_netns, &veth.peer_name)?;
        if near && far {
            return Ok(());
        }
        if near {
            self.ops.link_del(&veth.netns, &veth.name)?;
        }
        // A lone far end (its peer was elsewhere), unless it went with the
        // near end just deleted.
        if far
            && (!near
                || self
                    .ops
                    .links(&veth.peer_netns)?
                    .iter()
                    .any(|l| l.name == veth.peer_name))
        {
            self.ops.link_del(&veth.peer_netns, &veth.peer_name)?;
        }
        self.ops.veth_add(veth)?;
        links.links.clear();
        Ok(())
    }

    /// One namespace: sysctls, one `ip -batch` (links up, bridge ports,
    /// addresses, the route and rule differences), stale gateway links
    /// removed, then the nftables table ([`Self::converge_nft`]). Whatever
    /// goes through an ENI link that is not plugged yet (an instance whose
    /// launch is under way) waits for a later pass instead of failing the
    /// whole namespace: false then. When only the firewall differs from
    /// `previous` (what this process last applied there, complete), the
    /// links, routes and rules are left alone: a security-group change costs
    /// one small nft transaction.
    fn converge_netns(
        &self,
        ns: &NsPlan,
        previous: Option<&NsPlan>,
        old_nft: Option<&str>,
        links: &mut LinkCache<'_>,
        report: &mut NetworkReport,
    ) -> Result<bool, NetError> {
        let same_but_nft = previous.is_some_and(|p| {
            NsPlan {
                nft: None,
                ..p.clone()
            } == NsPlan {
                nft: None,
                ..ns.clone()
            }
        });
        if same_but_nft {
            self.converge_nft(&ns.netns, old_nft, ns.nft.as_deref())?;
            return Ok(true);
        }
        if !ns.sysctls.is_empty() {
            self.ops.sysctl(&ns.netns, &ns.sysctls)?;
        }
        let stale: Vec<String> = links
            .get(&ns.netns)?
            .iter()
            .filter(|l| self.is_gateway_link(&l.name) && !ns.gateway_links.contains(&l.name))
            .map(|l| l.name.clone())
            .collect();
        for link in stale {
            // The peer end of a veth goes with it, in whatever namespace:
            // what was observed anywhere may be stale now.
            if links.has(&ns.netns, &link)? {
                self.ops.link_del(&ns.netns, &link)?;
                report.removed.push(format!("{}/{link}", ns.netns));
            }
            links.links.clear();
        }
        // A route needs its link up (the kernel refuses a next hop on a
        // link that is down): up already, or brought up by this batch. An
        // ENI link a concurrent plug has made but not yet brought up waits.
        let observed = links.get(&ns.netns)?;
        let present: BTreeSet<&str> = observed.iter().map(|l| l.name.as_str()).collect();
        let mut usable: BTreeSet<&str> = observed
            .iter()
            .filter(|l| l.up)
            .map(|l| l.name.as_str())
            .collect();
        usable.extend(ns.cmds.iter().filter_map(|c| match c {
            IpCmd::LinkUp { dev } if present.contains(dev.as_str()) => Some(dev.as_str()),
            _ => None,
        }));
        let mut plan = ns.clone();
        let before = plan.cmds.len() + plan.routes.len();
        plan.cmds
            .retain(|c| cmd_dev(c).is_none_or(|d| present.contains(d)));
        plan.routes.retain(|r| match &r.next {
            NextHop::Blackhole => true,
            NextHop::Dev(d) | NextHop::Via { dev: d, .. } => usable.contains(d.as_str()),
        });
        let complete = before == plan.cmds.len() + plan.routes.len();
        let mut cmds = plan.cmds.clone();
        cmds.extend(topology::diff_rules(&plan, &self.ops.rules(&ns.netns)?));
        cmds.extend(topology::diff_routes(
            &plan,
            &self.ops.table_routes(&ns.netns)?,
        ));
        self.ops.apply(&ns.netns, &cmds)?;
        self.converge_nft(&ns.netns, old_nft, ns.nft.as_deref())?;
        Ok(complete)
    }

    /// The namespace's table from `old` (what this process applied there
    /// last, if it knows) to `new`: by [`filter::delta`] when it can, else
    /// (no `old`, a change the delta cannot make, or a delta the kernel
    /// refused) by the whole atomic replace.
    fn converge_nft(
        &self,
        netns: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Result<(), NetError> {
        let Some(new) = new else {
            return Ok(());
        };
        match old.and_then(|old| filter::delta(old, new)) {
            Some(delta) if delta.is_empty() => Ok(()),
            Some(delta) => match self.ops.nft_apply(netns, &delta) {
                Ok(()) => Ok(()),
                Err(e) => {
                    tracing::warn!(netns, error = %e, "incremental nft update refused; replacing the table");
                    self.ops.nft_apply(netns, new)
                }
            },
            None => self.ops.nft_apply(netns, new),
        }
    }

    /// Uplink, peering and attachment links (either end), which the model
    /// alone decides; ENI links belong to plug and reconcile.
    fn is_gateway_link(&self, name: &str) -> bool {
        self.cfg.is_our_link(name)
            && name
                .strip_prefix(&self.cfg.prefix)
                .is_some_and(|rest| rest.starts_with(['u', 'x', 'p', 't', 'a']))
    }
}

/// The link a command needs, if any.
fn cmd_dev(cmd: &IpCmd) -> Option<&str> {
    match cmd {
        IpCmd::LinkUp { dev }
        | IpCmd::AddrReplace { dev, .. }
        | IpCmd::RouteReplace { dev, .. }
        | IpCmd::LinkMaster { dev, .. } => Some(dev),
        IpCmd::BridgeAdd { .. }
        | IpCmd::Route(_)
        | IpCmd::RouteDel(_)
        | IpCmd::RuleAdd(_)
        | IpCmd::RuleDel(_) => None,
    }
}
