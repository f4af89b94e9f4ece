//! The edges of a VPC router: which route table a packet follows (a firewall
//! mark from its ingress link), the internet gateway's 1:1 NAT, and the
//! stateless `guard` chain that every forwarded packet passes first:
//!
//! - only links of the model forward, and only IPv4 (VPCs are IPv4 here);
//! - an ENI with source/dest check on sends only from its own addresses and
//!   receives only for them (with it off, it may forward: a NAT instance);
//! - the uplink brings in only DNATed traffic (to a public mapping) and
//!   replies, never a packet to a private address, and takes out only traffic
//!   from addresses with a public mapping: no public IP, no internet;
//! - a peering link carries only own CIDRs ↔ peer CIDRs, so a VPC never uses
//!   its peer's gateways (no transitive routing).
//!
//! The guard only drops or returns: an `accept` would end the base chain
//! before the egress side is checked.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::{anon_set, cidr_set, quoted, vmap_rule, LinkKind, Router, Table};
use crate::model::kernel_table;

pub(crate) fn render(r: &Router<'_>, t: &mut Table) {
    t.base(
        "prerouting",
        "type filter hook prerouting priority mangle; policy accept;",
        mark_rules(r),
    );
    let uplink = r.cfg.uplink_router(&r.vpc.id);
    let public = public_mappings(r);
    if r.vpc.internet_gateway.is_some() && !public.is_empty() {
        // Keyed by public address: a model caught mid-reassociation (one
        // Elastic IP on two ENIs) must not make the map's keys collide,
        // which would fail the whole router's update.
        let inbound: BTreeMap<Ipv4Addr, Ipv4Addr> = public
            .iter()
            .map(|(private, public)| (*public, *private))
            .collect();
        let dnat: Vec<String> = inbound
            .iter()
            .map(|(public, private)| format!("{public} : {private}"))
            .collect();
        let snat: Vec<String> = public
            .iter()
            .map(|(private, public)| format!("{private} : {public}"))
            .collect();
        t.base(
            "public_in",
            "type nat hook prerouting priority dstnat; policy accept;",
            vec![format!(
                "iifname {} dnat ip to ip daddr map {{ {} }}",
                quoted(&uplink),
                dnat.join(", ")
            )],
        );
        t.base(
            "public_out",
            "type nat hook postrouting priority srcnat; policy accept;",
            vec![format!(
                "oifname {} snat ip to ip saddr map {{ {} }}",
                quoted(&uplink),
                snat.join(", ")
            )],
        );
    }
    let guard = guard_rules(r, t, &public);
    t.base(
        "guard",
        "type filter hook forward priority -20; policy accept;",
        guard,
    );
}

/// Every (private, public) pair of this VPC's ENIs and NAT gateways, sorted by
/// private address.
fn public_mappings(r: &Router<'_>) -> BTreeMap<Ipv4Addr, Ipv4Addr> {
    let mut map = BTreeMap::new();
    for eni in &r.vpc.enis {
        map.extend(eni.public.iter().copied());
    }
    for nat in &r.vpc.nat_gateways {
        if let Some(public) = nat.public_address {
            map.insert(nat.private_address, public);
        }
    }
    map
}

/// `meta mark set iifname map { link : table }`: ENI, NAT gateway and
/// attachment links follow their subnet's route table; the uplink and
/// peering links get no mark (main: only VPC addresses route there).
fn mark_rules(r: &Router<'_>) -> Vec<String> {
    let marks: Vec<String> = r
        .links
        .iter()
        .filter_map(|(name, link)| {
            let subnet = r.vpc.subnet(link.subnet?)?;
            Some(format!(
                "{} : {}",
                quoted(name),
                kernel_table(&subnet.route_table)
            ))
        })
        .collect();
    if marks.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "meta mark set iifname map {{ {} }}",
        marks.join(", ")
    )]
}

fn guard_rules(
    r: &Router<'_>,
    t: &mut Table,
    public: &BTreeMap<Ipv4Addr, Ipv4Addr>,
) -> Vec<String> {
    let mut rules = vec!["meta nfproto != ipv4 drop".to_string()];
    if r.links.is_empty() {
        rules.push("drop".into());
        return rules;
    }
    let known = anon_set(r.links.keys().map(|k| quoted(k)));
    rules.push(format!("iifname != {known} drop"));
    rules.push(format!("oifname != {known} drop"));
    let mut from = BTreeMap::new();
    let mut to = BTreeMap::new();
    for (name, link) in &r.links {
        match &link.kind {
            LinkKind::Eni(eni) if eni.source_dest_check => {
                let (f, o) = (format!("from_{name}"), format!("to_{name}"));
                t.chain(&f, only(&eni.addresses, "saddr"));
                t.chain(&o, only(&eni.addresses, "daddr"));
                from.insert(name.clone(), f);
                to.insert(name.clone(), o);
            }
            LinkKind::Eni(_) | LinkKind::NatGateway | LinkKind::TransitGateway => {}
            LinkKind::Uplink => {
                t.chain(
                    "from_uplink",
                    vec![
                        "ct status dnat return".into(),
                        "ct direction reply return".into(),
                        "ct state related return".into(),
                        "drop".into(),
                    ],
                );
                let mut out = Vec::new();
                if !public.is_empty() {
                    out.push(format!("ip saddr {} return", anon_set(public.keys())));
                }
                out.push("drop".into());
                t.chain("to_uplink", out);
                from.insert(name.clone(), "from_uplink".to_string());
                to.insert(name.clone(), "to_uplink".to_string());
            }
            LinkKind::Peering { own: mine, peer } => {
                let (mine, peer) = (cidr_set(&mine.cidrs), cidr_set(&peer.cidrs));
                let (f, o) = (format!("from_{name}"), format!("to_{name}"));
                t.chain(
                    &f,
                    vec![
                        format!("ip saddr != {peer} drop"),
                        format!("ip daddr != {mine} drop"),
                    ],
                );
                t.chain(
                    &o,
                    vec![
                        format!("ip saddr != {mine} drop"),
                        format!("ip daddr != {peer} drop"),
                    ],
                );
                from.insert(name.clone(), f);
                to.insert(name.clone(), o);
            }
        }
    }
    rules.extend(vmap_rule("iifname", &from));
    rules.extend(vmap_rule("oifname", &to));
    rules
}

/// Drops packets whose `field` (saddr or daddr) is not one of `addrs`.
fn only(addrs: &[Ipv4Addr], field: &str) -> Vec<String> {
    let rule = match addrs {
        [] => "drop".to_string(),
        [one] => format!("ip {field} != {one} drop"),
        many => format!("ip {field} != {} drop", anon_set(many.iter())),
    };
    vec![rule]
}
