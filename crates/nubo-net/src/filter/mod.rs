//! The nftables renderer: pure functions that turn a [`NetworkModel`] into
//! the `inet nubo` table of a VPC router or of a NAT gateway's namespace, as
//! one `nft -f` script. [`crate::DataPlane::apply_network`] runs each script
//! in its namespace; equal models render byte-equal text (everything is
//! emitted in sorted order), so the executor skips routers whose text did not
//! change.
//!
//! Each script replaces the table in one transaction (`table inet nubo {}`,
//! `delete table inet nubo`, `table inet nubo { … }`): the kernel swaps the
//! whole ruleset atomically, so a rule change never opens a gap, and
//! conntrack entries survive it.
//!
//! A router's table (see `/tmp/p5/design.md`, "Filtering in a VPC router"):
//!
//! - `prerouting` marks each packet with the kernel table of the route table
//!   its ingress link follows ([`crate::model::kernel_table`]); `dnat` maps
//!   public addresses arriving on the internet-gateway uplink to private ones,
//!   `snat` the reverse ([`guard`]);
//! - `guard` (forward, −20): unknown links and IPv6 are dropped; source/dest
//!   checks; the uplink carries only DNATed traffic and replies inward and only
//!   publicly mapped sources outward; a peering link only own ↔ peer CIDRs
//!   ([`guard`]);
//! - `acl` (forward, −10): stateless network ACLs on every packet that crosses
//!   a subnet boundary ([`acl`]);
//! - `sg` (forward, 0) and `sg_in` (forward, 10): stateful security groups,
//!   egress at the source ENI and ingress at the destination ENI ([`sg`]);
//! - `input`: only loopback, replies, and the metadata service from an ENI's
//!   own addresses ([`sg`]).
//!
//! Per-packet cost does not grow with the number of ENIs: dispatch is by
//! `iifname`/`oifname` verdict maps (hash lookups) to per-link or per-subnet
//! chains; security-group rules live in one chain per group shared by its
//! ENIs; group references are named sets of member addresses.
//!
//! **Established connections after a revoke.** Revoking a security-group
//! rule stops *new* connections at once (the next packet of a new flow meets
//! the new ruleset). A connection that was already established continues
//! until it ends or its conntrack entry times out, because the first rule of
//! `sg` and `sg_in` accepts tracked established traffic. This is AWS's
//! behaviour for *tracked* connections; AWS does not track flows allowed by
//! an all-traffic `0.0.0.0/0` rule in both directions and interrupts those at
//! once, but the kernel tracks every flow, so in Nubo every connection behaves
//! as tracked. Network ACLs are stateless and evaluated on every packet, so an
//! ACL change cuts established connections immediately, as on AWS.

mod acl;
mod delta;
mod guard;
mod nat_gateway;
mod sg;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::model::{EniNet, Ipv4Cidr, Match, NetworkModel, PeerSide, VpcNet, L4};
use crate::{NetConfig, NetError};

pub use delta::{apply as apply_delta, delta};
pub use nat_gateway::nat_gateway_ruleset;

/// The nftables table every Nubo namespace carries.
pub const TABLE: &str = "inet nubo";

/// The whole `inet nubo` table of a VPC's router, as one `nft -f` script that
/// replaces the table atomically (`table inet nubo {}` / `delete table inet
/// nubo` / `table inet nubo { ... }`).
pub fn router_ruleset(
    cfg: &NetConfig,
    model: &NetworkModel,
    vpc_id: &str,
) -> Result<String, NetError> {
    let router = Router::new(cfg, model, vpc_id)?;
    let mut table = Table::default();
    guard::render(&router, &mut table);
    acl::render(&router, &mut table);
    sg::render(&router, &mut table);
    Ok(table.script())
}

/// The table a router gets at creation, before anything is plugged: forward
/// policy drop, input drop except loopback.
pub fn router_bootstrap() -> String {
    let mut table = Table::default();
    table.base(
        "forward",
        "type filter hook forward priority filter; policy drop;",
        Vec::new(),
    );
    table.base(
        "input",
        "type filter hook input priority filter; policy drop;",
        vec!["iifname \"lo\" accept".into()],
    );
    table.script()
}

/// What a router link is, for filtering.
#[derive(Debug)]
pub(crate) enum LinkKind<'a> {
    Eni(&'a EniNet),
    NatGateway,
    Uplink,
    /// A peering link: this VPC's side and the other side.
    Peering {
        own: &'a PeerSide,
        peer: &'a PeerSide,
    },
    TransitGateway,
}

#[derive(Debug)]
pub(crate) struct Link<'a> {
    pub kind: LinkKind<'a>,
    /// The subnet the link belongs to for ACLs and route tables: an ENI's or
    /// NAT gateway's subnet, a transit-gateway attachment's subnet; none for
    /// the uplink and peering links.
    pub subnet: Option<&'a str>,
}

/// One VPC router's links, keyed (and so sorted) by kernel name.
pub(crate) struct Router<'a> {
    pub cfg: &'a NetConfig,
    pub model: &'a NetworkModel,
    pub vpc: &'a VpcNet,
    pub links: BTreeMap<String, Link<'a>>,
}

impl<'a> Router<'a> {
    fn new(cfg: &'a NetConfig, model: &'a NetworkModel, vpc_id: &str) -> Result<Self, NetError> {
        let vpc = model
            .vpc(vpc_id)
            .ok_or_else(|| NetError::Invalid(format!("{vpc_id} is not in the network model")))?;
        let mut router = Router {
            cfg,
            model,
            vpc,
            links: BTreeMap::new(),
        };
        for eni in &vpc.enis {
            router.add(
                cfg.eni_link(&eni.id),
                LinkKind::Eni(eni),
                Some(&eni.subnet_id),
            )?;
        }
        for nat in &vpc.nat_gateways {
            router.add(
                cfg.eni_link(&nat.eni_id),
                LinkKind::NatGateway,
                Some(&nat.subnet_id),
            )?;
        }
        if vpc.internet_gateway.is_some() {
            router.add(cfg.uplink_router(&vpc.id), LinkKind::Uplink, None)?;
        }
        for pcx in &model.peerings {
            let (own, peer) = if pcx.requester.vpc_id == vpc.id {
                (&pcx.requester, &pcx.accepter)
            } else if pcx.accepter.vpc_id == vpc.id {
                (&pcx.accepter, &pcx.requester)
            } else {
                continue;
            };
            router.add(
                cfg.peering_link(&pcx.id),
                LinkKind::Peering { own, peer },
                None,
            )?;
        }
        for tgw in &model.transit_gateways {
            for att in tgw.attachments.iter().filter(|a| a.vpc_id == vpc.id) {
                router.add(
                    cfg.tgw_vpc_link(&att.id),
                    LinkKind::TransitGateway,
                    Some(&att.subnet_id),
                )?;
            }
        }
        Ok(router)
    }

    fn add(
        &mut self,
        name: String,
        kind: LinkKind<'a>,
        subnet: Option<&'a str>,
    ) -> Result<(), NetError> {
        if self.links.contains_key(&name) {
            return Err(NetError::Invalid(format!(
                "two links of {} are both named {name}",
                self.vpc.id
            )));
        }
        self.links.insert(name, Link { kind, subnet });
        Ok(())
    }

    /// The links of one subnet (ENIs, NAT gateways, attachments).
    pub fn subnet_links(&self, subnet: &str) -> Vec<&str> {
        self.links
            .iter()
            .filter(|(_, l)| l.subnet == Some(subnet))
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// An nftables table under construction: named sets, then chains (base
/// chains first, in the order added, then regular chains in name order).
#[derive(Default)]
pub(crate) struct Table {
    /// name → (type, elements).
    sets: BTreeMap<String, (&'static str, Vec<String>)>,
    base: Vec<Chain>,
    regular: BTreeMap<String, Vec<String>>,
}

struct Chain {
    name: String,
    spec: String,
    rules: Vec<String>,
}

impl Table {
    /// A base chain (`spec` is its `type … hook … priority …; policy …;`).
    pub fn base(&mut self, name: &str, spec: &str, rules: Vec<String>) {
        self.base.push(Chain {
            name: name.into(),
            spec: spec.into(),
            rules,
        });
    }

    /// A regular chain (a jump target). Adding the same name twice keeps the
    /// first: shared chains (a group's rules) are rendered once.
    pub fn chain(&mut self, name: &str, rules: Vec<String>) {
        self.regular.entry(name.into()).or_insert(rules);
    }

    pub fn has_chain(&self, name: &str) -> bool {
        self.regular.contains_key(name)
    }

    /// A named set of IPv4 addresses (may be empty).
    pub fn addr_set(&mut self, name: &str, addrs: &[Ipv4Addr]) {
        let elems: BTreeSet<Ipv4Addr> = addrs.iter().copied().collect();
        self.sets.insert(
            name.into(),
            ("ipv4_addr", elems.iter().map(|a| a.to_string()).collect()),
        );
    }

    /// The `nft -f` script replacing `inet nubo` with this table.
    pub fn script(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "table {TABLE} {{}}");
        let _ = writeln!(s, "delete table {TABLE}");
        let _ = writeln!(s, "table {TABLE} {{");
        for (name, (ty, elems)) in &self.sets {
            let _ = writeln!(s, "\tset {name} {{");
            let _ = writeln!(s, "\t\ttype {ty}");
            if !elems.is_empty() {
                let _ = writeln!(s, "\t\telements = {{ {} }}", elems.join(", "));
            }
            let _ = writeln!(s, "\t}}");
        }
        for c in &self.base {
            let _ = writeln!(s, "\tchain {} {{", c.name);
            let _ = writeln!(s, "\t\t{}", c.spec);
            for r in &c.rules {
                let _ = writeln!(s, "\t\t{r}");
            }
            let _ = writeln!(s, "\t}}");
        }
        for (name, rules) in &self.regular {
            let _ = writeln!(s, "\tchain {name} {{");
            for r in rules {
                let _ = writeln!(s, "\t\t{r}");
            }
            let _ = writeln!(s, "\t}}");
        }
        let _ = writeln!(s, "}}");
        s
    }
}

/// The hex tail of an AWS ID as an nft identifier fragment
/// (`sg-0a1b` → `0a1b`); anything but ASCII alphanumerics becomes `_`.
pub(crate) fn id_tail(id: &str) -> String {
    let tail = id.rsplit('-').next().unwrap_or(id);
    tail.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `"link"` as an nft string literal (link names are prefix + hex).
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

/// `{ a, b }` for an anonymous set of any displayable, sorted and deduplicated.
pub(crate) fn anon_set<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    let items: BTreeSet<String> = items.into_iter().map(|i| i.to_string()).collect();
    format!("{{ {} }}", items.into_iter().collect::<Vec<_>>().join(", "))
}

/// A set of CIDRs for a rule: one CIDR as is, several as an anonymous set.
pub(crate) fn cidr_set(cidrs: &[Ipv4Cidr]) -> String {
    match cidrs {
        [one] => one.to_string(),
        many => anon_set(many.iter()),
    }
}

/// `ip saddr 10.0.0.0/16 ` (with a trailing space), or nothing for
/// `0.0.0.0/0` (the guard already dropped everything but IPv4).
pub(crate) fn cidr_match(field: &str, cidr: &Ipv4Cidr) -> String {
    if cidr.prefix() == 0 {
        String::new()
    } else if cidr.prefix() == 32 {
        format!("ip {field} {} ", cidr.network())
    } else {
        format!("ip {field} {cidr} ")
    }
}

/// A verdict-map dispatch rule (`iifname vmap { "a" : jump c, … }`), or
/// `None` when there is nothing to dispatch (nft refuses empty anonymous maps).
pub(crate) fn vmap_rule(key: &str, entries: &BTreeMap<String, String>) -> Option<String> {
    if entries.is_empty() {
        return None;
    }
    let body: Vec<String> = entries
        .iter()
        .map(|(k, chain)| format!("{} : jump {chain}", quoted(k)))
        .collect();
    Some(format!("{key} vmap {{ {} }}", body.join(", ")))
}

/// The protocol, port and ICMP part of a rule, with a leading space, or an
/// empty string for "all traffic". Ports are destination ports (AWS); ports on
/// a protocol other than TCP or UDP are ignored, as AWS ignores them.
pub(crate) fn match_expr(m: &Match) -> String {
    let Some(proto) = m.protocol else {
        return String::new();
    };
    match (proto, m.l4) {
        (6, L4::Ports(lo, hi)) => format!(" tcp dport {}", port_range(lo, hi)),
        (17, L4::Ports(lo, hi)) => format!(" udp dport {}", port_range(lo, hi)),
        (1, L4::Icmp { icmp_type, code }) => match (icmp_type, code) {
            (None, _) => " ip protocol icmp".into(),
            (Some(t), None) => format!(" icmp type {t}"),
            (Some(t), Some(c)) => format!(" icmp type {t} icmp code {c}"),
        },
        (p, _) => format!(" ip protocol {p}"),
    }
}

fn port_range(lo: u16, hi: u16) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests;
