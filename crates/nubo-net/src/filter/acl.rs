//! Network ACLs: stateless, on every forwarded packet (established ones
//! too), only where a packet crosses a subnet boundary.
//!
//! A packet from link I to link O is checked against the egress ACL of
//! I's subnet (on its destination), then the ingress ACL of O's subnet (on
//! its source); ENI and NAT-gateway links are in their subnet, a
//! transit-gateway attachment link in the attachment's subnet, the uplink and
//! peering links in none. When I and O are in the same subnet neither check
//! applies, as on AWS. Entries go in rule-number order, the first match
//! decides (`return` = allowed, go on; `drop` = denied), and the final `*`
//! entry denies. Port ranges match the destination port in both directions,
//! so return traffic needs its own (ephemeral-port) entry.
//!
//! **Compiled, not listed.** An ACL is evaluated on every packet, so its
//! entries are compiled: consecutive entries with the same verdict (whose
//! order among themselves cannot matter) become one set lookup per kind —
//! all-traffic entries one `ip daddr { … }`, TCP/UDP port entries one
//! `ip daddr . meta l4proto . th dport { cidr . proto . ports, … }`
//! (kernel interval sets) — while ICMP and other-protocol entries stay
//! rules of their own. Entries that overlap go to separate lookups (the
//! kernel refuses overlapping elements in one set), so twenty deny entries
//! before an allow cost one or two lookups instead of twenty rules.

use std::collections::BTreeMap;

use super::{
    anon_set, cidr_match, cidr_set, id_tail, match_expr, quoted, vmap_rule, Router, Table,
};
use crate::model::{AclEntryNet, Ipv4Cidr, L4};

pub(crate) fn render(r: &Router<'_>, t: &mut Table) {
    let mut from = BTreeMap::new();
    let mut to = BTreeMap::new();
    for (name, link) in &r.links {
        let Some(subnet) = link.subnet.and_then(|s| r.vpc.subnet(s)) else {
            continue;
        };
        let Some(acl) = r.vpc.network_acl(&subnet.network_acl) else {
            continue;
        };
        let same = super::anon_set(r.subnet_links(&subnet.id).into_iter().map(quoted));
        let (acl_out, acl_in) = (
            format!("acl_out_{}", id_tail(&acl.id)),
            format!("acl_in_{}", id_tail(&acl.id)),
        );
        let (sub_from, sub_to) = (
            format!("subnet_from_{}", id_tail(&subnet.id)),
            format!("subnet_to_{}", id_tail(&subnet.id)),
        );
        t.chain(
            &sub_from,
            vec![format!("oifname {same} return"), format!("jump {acl_out}")],
        );
        t.chain(
            &sub_to,
            vec![format!("iifname {same} return"), format!("jump {acl_in}")],
        );
        if !t.has_chain(&acl_out) {
            t.chain(&acl_out, entries(&acl.egress, "daddr"));
            t.chain(&acl_in, entries(&acl.ingress, "saddr"));
        }
        from.insert(name.clone(), sub_from);
        to.insert(name.clone(), sub_to);
    }
    let mut rules = Vec::new();
    rules.extend(vmap_rule("iifname", &from));
    rules.extend(vmap_rule("oifname", &to));
    t.base(
        "acl",
        "type filter hook forward priority -10; policy accept;",
        rules,
    );
}

/// The entries in rule-number order (the model keeps them sorted; sorting
/// again costs nothing and keeps the rule if a caller did not), compiled run
/// by run ([`compile_run`]), then deny.
fn entries(entries: &[AclEntryNet], field: &str) -> Vec<String> {
    let mut sorted: Vec<&AclEntryNet> = entries.iter().collect();
    sorted.sort_by_key(|e| e.rule_number);
    let mut rules = Vec::new();
    for run in sorted.chunk_by(|a, b| a.allow == b.allow) {
        rules.extend(compile_run(run, field));
    }
    rules.push("drop".into());
    rules
}

/// An entry's place in a compiled run.
enum Kind {
    /// All traffic: an `ip <field>` interval.
    All,
    /// TCP or UDP destination ports: an `ip <field> . meta l4proto . th dport` box.
    Ports(u8, u16, u16),
    /// ICMP or another protocol: a rule of its own.
    Own,
}

fn kind(e: &AclEntryNet) -> Kind {
    match (e.matches.protocol, e.matches.l4) {
        (None, _) => Kind::All,
        (Some(p @ (6 | 17)), L4::Ports(lo, hi)) => Kind::Ports(p, lo, hi),
        _ => Kind::Own,
    }
}

/// Consecutive entries with one verdict, in any order: the all-traffic and
/// the port entries packed into as few sets as overlaps allow, the rest one
/// rule each.
fn compile_run(run: &[&AclEntryNet], field: &str) -> Vec<String> {
    let verdict = if run[0].allow { "return" } else { "drop" };
    let single = |e: &AclEntryNet| {
        let m = match_expr(&e.matches);
        format!("{}{}{verdict}", cidr_match(field, &e.cidr), trim_lead(&m))
            .trim()
            .to_string()
    };
    let mut all: Vec<Vec<&AclEntryNet>> = Vec::new();
    let mut ports: Vec<Vec<&AclEntryNet>> = Vec::new();
    let mut own = Vec::new();
    for &e in run {
        match kind(e) {
            Kind::All => pack(&mut all, e, |a, b| a.cidr.overlaps(&b.cidr)),
            Kind::Ports(..) => pack(&mut ports, e, |a, b| match (kind(a), kind(b)) {
                (Kind::Ports(p, lo, hi), Kind::Ports(q, lo2, hi2)) => {
                    p == q && a.cidr.overlaps(&b.cidr) && lo <= hi2 && lo2 <= hi
                }
                _ => true,
            }),
            Kind::Own => own.push(single(e)),
        }
    }
    let mut rules = Vec::new();
    for set in all {
        rules.push(match set.as_slice() {
            [one] => single(one),
            many => {
                let cidrs: Vec<Ipv4Cidr> = many.iter().map(|e| e.cidr).collect();
                format!("ip {field} {} {verdict}", cidr_set(&cidrs))
            }
        });
    }
    for set in ports {
        if let [one] = set.as_slice() {
            rules.push(single(one));
            continue;
        }
        let elements = set.iter().filter_map(|e| match kind(e) {
            Kind::Ports(p, lo, hi) => {
                let proto = if p == 6 { "tcp" } else { "udp" };
                let range = if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                };
                Some(format!("{} . {proto} . {range}", e.cidr))
            }
            _ => None,
        });
        rules.push(format!(
            "ip {field} . meta l4proto . th dport {} {verdict}",
            anon_set(elements)
        ));
    }
    rules.extend(own);
    rules
}

/// Adds `item` to the first group it overlaps nothing in, or a new group.
fn pack<T: Copy>(groups: &mut Vec<Vec<T>>, item: T, overlap: impl Fn(&T, &T) -> bool) {
    match groups
        .iter_mut()
        .find(|g| !g.iter().any(|other| overlap(other, &item)))
    {
        Some(group) => group.push(item),
        None => groups.push(vec![item]),
    }
}

/// `match_expr` leads with a space; here the address part ends with one.
fn trim_lead(m: &str) -> String {
    let m = m.trim_start();
    if m.is_empty() {
        String::new()
    } else {
        format!("{m} ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::fixture::{all, cidr, entry};
    use crate::model::Match;

    fn ports(p: u8, lo: u16, hi: u16) -> Match {
        Match {
            protocol: Some(p),
            l4: L4::Ports(lo, hi),
        }
    }

    #[test]
    fn a_run_of_denies_before_an_allow_is_one_lookup() {
        let mut acl: Vec<AclEntryNet> = (1..=19)
            .map(|i| {
                entry(
                    i,
                    false,
                    &format!("172.31.{i}.0/24"),
                    ports(6, 30000 + i as u16, 30000 + i as u16),
                )
            })
            .collect();
        acl.push(entry(100, true, "10.0.0.0/16", all()));
        let rules = entries(&acl, "saddr");
        assert_eq!(rules.len(), 3, "{rules:?}");
        assert!(rules[0]
            .starts_with("ip saddr . meta l4proto . th dport { 172.31.1.0/24 . tcp . 30001, "));
        assert!(rules[0].ends_with(" } drop") && rules[0].matches(" . tcp . ").count() == 19);
        assert_eq!(rules[1], "ip saddr 10.0.0.0/16 return");
        assert_eq!(rules[2], "drop");
    }

    #[test]
    fn order_between_verdicts_is_kept_and_overlaps_split_a_lookup() {
        let acl = vec![
            entry(10, true, "10.0.0.0/8", ports(6, 80, 90)),
            // Overlaps entry 10 (address and ports): a second lookup.
            entry(20, true, "10.1.0.0/16", ports(6, 85, 95)),
            // Same box, other protocol: no overlap.
            entry(30, true, "10.1.0.0/16", ports(17, 85, 95)),
            entry(40, true, "192.168.0.0/16", all()),
            entry(50, true, "192.168.1.0/24", all()),
            entry(60, false, "0.0.0.0/0", ports(6, 22, 22)),
            entry(70, true, "0.0.0.0/0", all()),
        ];
        assert_eq!(
            entries(&acl, "daddr"),
            [
                // Overlapping all-traffic entries: two rules.
                "ip daddr 192.168.0.0/16 return",
                "ip daddr 192.168.1.0/24 return",
                "ip daddr . meta l4proto . th dport { 10.0.0.0/8 . tcp . 80-90, 10.1.0.0/16 . udp . 85-95 } return",
                "ip daddr 10.1.0.0/16 tcp dport 85-95 return",
                "tcp dport 22 drop",
                "return",
                "drop",
            ]
        );
        assert!(cidr("10.1.0.0/16").overlaps(&cidr("10.0.0.0/8")));
    }
}
