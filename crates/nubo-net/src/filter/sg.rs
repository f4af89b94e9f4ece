//! Security groups (stateful) and what the router itself accepts.
//!
//! A new flow passes the egress rules of the source ENI in base chain `sg`
//! (forward, priority 0) and the ingress rules of the destination ENI in base
//! chain `sg_in` (priority 10): each ENI link jumps to its own chain, which
//! jumps to the shared chain of each of its groups (`sgo_<group>`,
//! `sgi_<group>`, holding `<match> accept` rules: an ENI's groups are a
//! union) and drops what none accepted. Replies and related packets (ICMP
//! errors) of a tracked flow pass both chains at their first rule. NAT
//! gateway, uplink, peering and transit-gateway links have no security group.
//!
//! A rule's peer is a CIDR or a group reference, a named set `@g_<group>` of
//! the members' private addresses; protocol −1 is all traffic, ports are
//! destination ports, ICMP type/code −1 any ([`super::match_expr`]).
//!
//! `input` accepts loopback, replies, and the metadata service
//! (169.254.169.254:80) from an ENI's own addresses on its own link,
//! whatever its groups and ACLs say, as on AWS: never from a spoofed
//! source. Nothing else reaches the router itself.

use std::collections::{BTreeMap, BTreeSet};

use super::{cidr_match, id_tail, match_expr, quoted, vmap_rule, LinkKind, Router, Table};
use crate::model::{SgPeer, SgRuleNet};

/// The metadata service's address and port.
const METADATA: &str = "ip daddr 169.254.169.254 tcp dport 80";

pub(crate) fn render(r: &Router<'_>, t: &mut Table) {
    let mut out = BTreeMap::new();
    let mut inn = BTreeMap::new();
    let mut referenced = BTreeSet::new();
    for (name, link) in &r.links {
        let LinkKind::Eni(eni) = link.kind else {
            continue;
        };
        let groups: BTreeSet<&str> = eni.security_groups.iter().map(String::as_str).collect();
        let mut jumps_out = Vec::new();
        let mut jumps_in = Vec::new();
        for group in groups.into_iter().filter_map(|g| r.vpc.security_group(g)) {
            let (o, i) = (
                format!("sgo_{}", id_tail(&group.id)),
                format!("sgi_{}", id_tail(&group.id)),
            );
            if !t.has_chain(&o) {
                t.chain(&o, rules(&group.egress, "daddr", &mut referenced));
                t.chain(&i, rules(&group.ingress, "saddr", &mut referenced));
            }
            jumps_out.push(format!("jump {o}"));
            jumps_in.push(format!("jump {i}"));
        }
        jumps_out.push("drop".into());
        jumps_in.push("drop".into());
        let (o, i) = (format!("eni_out_{name}"), format!("eni_in_{name}"));
        t.chain(&o, jumps_out);
        t.chain(&i, jumps_in);
        out.insert(name.clone(), o);
        inn.insert(name.clone(), i);
    }
    for group in referenced {
        let members = r
            .model
            .group_members
            .get(group)
            .map(Vec::as_slice)
            .unwrap_or_default();
        t.addr_set(&group_set(group), members);
    }
    let stateful = [
        "ct state established,related accept".to_string(),
        "ct state invalid drop".to_string(),
    ];
    let mut sg = stateful.to_vec();
    sg.extend(vmap_rule("iifname", &out));
    t.base(
        "sg",
        "type filter hook forward priority filter; policy accept;",
        sg,
    );
    let mut sg_in = stateful.to_vec();
    sg_in.extend(vmap_rule("oifname", &inn));
    t.base(
        "sg_in",
        "type filter hook forward priority 10; policy accept;",
        sg_in,
    );
    t.base(
        "input",
        "type filter hook input priority filter; policy drop;",
        input_rules(r),
    );
}

fn group_set(group_id: &str) -> String {
    format!("g_{}", id_tail(group_id))
}

/// A group's rules in one direction: `<peer> <match> accept`, sorted and
/// deduplicated (order does not matter, every rule only accepts; sorting
/// keeps the text equal however the store listed them).
fn rules<'a>(
    rules: &'a [SgRuleNet],
    field: &str,
    referenced: &mut BTreeSet<&'a str>,
) -> Vec<String> {
    rules
        .iter()
        .map(|rule| {
            let peer = match &rule.peer {
                SgPeer::Cidr(c) => cidr_match(field, c),
                SgPeer::Group(g) => {
                    referenced.insert(g.as_str());
                    format!("ip {field} @{} ", group_set(g))
                }
            };
            let m = match_expr(&rule.matches);
            format!("{peer}{} accept", m.trim_start())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn input_rules(r: &Router<'_>) -> Vec<String> {
    let mut rules = vec![
        "iifname \"lo\" accept".to_string(),
        "ct state established,related accept".to_string(),
    ];
    let pairs: BTreeSet<String> = r
        .links
        .iter()
        .filter_map(|(name, link)| match link.kind {
            LinkKind::Eni(eni) => Some((name, eni)),
            _ => None,
        })
        .flat_map(|(name, eni)| {
            eni.addresses
                .iter()
                .map(move |a| format!("{} . {a}", quoted(name)))
        })
        .collect();
    if !pairs.is_empty() {
        rules.push(format!(
            "{METADATA} iifname . ip saddr {{ {} }} accept",
            pairs.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    rules
}
