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

use std::collections::BTreeMap;

use super::{cidr_match, id_tail, match_expr, quoted, vmap_rule, Router, Table};
use crate::model::AclEntryNet;

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
/// again costs nothing and keeps the rule if a caller did not), then deny.
fn entries(entries: &[AclEntryNet], field: &str) -> Vec<String> {
    let mut sorted: Vec<&AclEntryNet> = entries.iter().collect();
    sorted.sort_by_key(|e| e.rule_number);
    let mut rules: Vec<String> = sorted
        .into_iter()
        .map(|e| {
            let verdict = if e.allow { "return" } else { "drop" };
            let m = match_expr(&e.matches);
            format!("{}{}{verdict}", cidr_match(field, &e.cidr), trim_lead(&m))
                .trim()
                .to_string()
        })
        .collect();
    rules.push("drop".into());
    rules
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
