//! Routes and rules by difference: what to add and what to remove so a
//! namespace holds exactly what the plan wants, never a flush-and-refill (a
//! flow whose route did not change never sees a gap). Additions come first:
//! a replaced route changes in place, a moved rule exists twice for an instant
//! rather than not at all.

use std::collections::BTreeSet;

use super::{NsPlan, PRIO_BLACKHOLE, PRIO_LOCAL};
use crate::ops::{IpCmd, KernelRoute, KernelRule, NextHop, HOST_NETNS, MAIN_TABLE};

/// Whether an observed route is Nubo's to remove in this namespace: every
/// route of a numbered table, and main-table routes out of Nubo's links (or
/// blackholes, in a router).
fn managed(ns: &NsPlan, r: &KernelRoute) -> bool {
    if r.table != MAIN_TABLE {
        // The host's numbered tables are not ours; a router's are all ours.
        return ns.netns != HOST_NETNS;
    }
    match &r.next {
        NextHop::Blackhole => ns.main_blackholes,
        NextHop::Dev(dev) | NextHop::Via { dev, .. } => ns.managed_devs.contains(dev),
    }
}

/// The commands that turn `observed` routes into the plan's.
pub fn diff_routes(ns: &NsPlan, observed: &[KernelRoute]) -> Vec<IpCmd> {
    let have: BTreeSet<&KernelRoute> = observed.iter().collect();
    let want: BTreeSet<(u32, _)> = ns.routes.iter().map(|r| (r.table, r.dst)).collect();
    let mut cmds: Vec<IpCmd> = ns
        .routes
        .iter()
        .filter(|r| !have.contains(r))
        .map(|r| IpCmd::Route(r.clone()))
        .collect();
    let mut gone = BTreeSet::new();
    for r in observed {
        if managed(ns, r) && !want.contains(&(r.table, r.dst)) && gone.insert((r.table, r.dst)) {
            cmds.push(IpCmd::RouteDel(r.clone()));
        }
    }
    cmds
}

/// The commands that turn `observed` rules into the plan's; only rules in
/// Nubo's priority range of Nubo's own namespaces are ever removed.
pub fn diff_rules(ns: &NsPlan, observed: &[KernelRule]) -> Vec<IpCmd> {
    let ours = |r: &KernelRule| {
        ns.netns != HOST_NETNS && (PRIO_LOCAL..=PRIO_BLACKHOLE).contains(&r.priority)
    };
    let have: BTreeSet<&KernelRule> = observed.iter().collect();
    let want: BTreeSet<&KernelRule> = ns.rules.iter().collect();
    let mut cmds: Vec<IpCmd> = want
        .iter()
        .filter(|r| !have.contains(*r))
        .map(|r| IpCmd::RuleAdd((*r).clone()))
        .collect();
    cmds.extend(
        have.iter()
            .filter(|r| ours(r) && !want.contains(*r))
            .map(|r| IpCmd::RuleDel((*r).clone())),
    );
    cmds
}
