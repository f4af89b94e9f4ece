#![allow(clippy::unwrap_used)]

use super::fixture::model;
use super::*;
use crate::model::kernel_table;

fn cfg() -> NetConfig {
    NetConfig {
        prefix: "nb".into(),
    }
}

fn render() -> String {
    router_ruleset(&cfg(), &model(), "vpc-0a").unwrap()
}

/// The body of one chain of a rendered script.
fn chain<'a>(s: &'a str, name: &str) -> &'a str {
    let start = s
        .find(&format!("\tchain {name} {{\n"))
        .unwrap_or_else(|| panic!("no chain {name} in\n{s}"));
    let body = &s[start..];
    &body[..body.find("\n\t}").unwrap()]
}

#[test]
fn prints_fixture_for_review() {
    println!("{}", render());
}

#[test]
fn equal_models_render_equal_text() {
    assert_eq!(render(), render());
    // Reordering the model's lists does not change the text.
    let mut m = model();
    m.vpcs[0].enis.reverse();
    m.vpcs[0].security_groups.reverse();
    m.vpcs[0].security_groups[0].ingress.reverse();
    m.vpcs[0].network_acls[1].ingress.reverse();
    assert_eq!(router_ruleset(&cfg(), &m, "vpc-0a").unwrap(), render());
}

#[test]
fn the_script_replaces_the_table_atomically() {
    let s = render();
    assert!(s.starts_with("table inet nubo {}\ndelete table inet nubo\ntable inet nubo {\n"));
    assert!(s.ends_with("}\n"));
}

#[test]
fn an_unknown_vpc_is_an_error() {
    assert!(router_ruleset(&cfg(), &model(), "vpc-0zz").is_err());
}

#[test]
fn links_are_marked_with_their_subnet_route_table() {
    let s = render();
    let pre = chain(&s, "prerouting");
    let (t1, t2) = (kernel_table("rtb-0a1"), kernel_table("rtb-0a2"));
    let c = cfg();
    for (link, table) in [
        (c.eni_link("eni-0001"), t1),
        (c.eni_link("eni-0002"), t1),
        (c.eni_link("eni-0003"), t2),
        (c.eni_link("eni-00n1"), t1),
        (c.tgw_vpc_link("tgw-attach-0t"), t2),
    ] {
        assert!(
            pre.contains(&format!("\"{link}\" : {table}")),
            "{link}\n{pre}"
        );
    }
    assert!(!pre.contains(&c.uplink_router("vpc-0a")));
    assert!(!pre.contains(&c.peering_link("pcx-0ab")));
}

#[test]
fn the_internet_gateway_maps_public_addresses_both_ways() {
    let s = render();
    let up = cfg().uplink_router("vpc-0a");
    assert!(chain(&s, "public_in").contains(&format!(
        "iifname \"{up}\" dnat ip to ip daddr map {{ 198.51.100.10 : 10.0.1.10, 198.51.100.50 : 10.0.1.50 }}"
    )));
    assert!(chain(&s, "public_out").contains(&format!(
        "oifname \"{up}\" snat ip to ip saddr map {{ 10.0.1.10 : 198.51.100.10, 10.0.1.50 : 198.51.100.50 }}"
    )));
    // In: only DNATed or replies; out: only mapped sources.
    let from = chain(&s, "from_uplink");
    assert!(from.contains("ct status dnat return") && from.ends_with("drop"));
    assert!(chain(&s, "to_uplink").contains("ip saddr { 10.0.1.10, 10.0.1.50 } return"));
}

#[test]
fn one_public_address_on_two_enis_still_renders_one_dnat_entry() {
    let mut m = model();
    m.vpcs[0].enis[1].public = vec![(
        "10.0.1.11".parse().unwrap(),
        "198.51.100.10".parse().unwrap(),
    )];
    let s = router_ruleset(&cfg(), &m, "vpc-0a").unwrap();
    assert_eq!(chain(&s, "public_in").matches("198.51.100.10 :").count(), 1);
}

#[test]
fn without_an_internet_gateway_there_is_no_nat_and_no_uplink() {
    let mut m = model();
    m.vpcs[0].internet_gateway = None;
    let s = router_ruleset(&cfg(), &m, "vpc-0a").unwrap();
    assert!(!s.contains("chain public_in") && !s.contains("chain public_out"));
    assert!(!s.contains(&cfg().uplink_router("vpc-0a")));
}

#[test]
fn source_dest_check_guards_only_enis_that_have_it() {
    let s = render();
    let c = cfg();
    let e1 = c.eni_link("eni-0001");
    assert!(chain(&s, &format!("from_{e1}")).contains("ip saddr != 10.0.1.10 drop"));
    assert!(chain(&s, &format!("to_{e1}")).contains("ip daddr != 10.0.1.10 drop"));
    let e3 = c.eni_link("eni-0003");
    assert!(
        !s.contains(&format!("chain from_{e3}")),
        "check off: may forward"
    );
    // Unknown links and IPv6 never forward.
    let guard = chain(&s, "guard");
    assert!(guard.contains("meta nfproto != ipv4 drop"));
    assert!(guard.contains("iifname != {"));
}

#[test]
fn a_peering_link_carries_only_own_and_peer_cidrs() {
    let s = render();
    let p = cfg().peering_link("pcx-0ab");
    let from = chain(&s, &format!("from_{p}"));
    assert!(from.contains("ip saddr != { 10.1.0.0/16, 10.2.0.0/16 } drop"));
    assert!(from.contains("ip daddr != 10.0.0.0/16 drop"));
    let to = chain(&s, &format!("to_{p}"));
    assert!(to.contains("ip saddr != 10.0.0.0/16 drop"));
    assert!(to.contains("ip daddr != { 10.1.0.0/16, 10.2.0.0/16 } drop"));
    // The accepter side sees the mirror image.
    let b = router_ruleset(&cfg(), &model(), "vpc-0b").unwrap();
    assert!(chain(&b, &format!("from_{p}")).contains("ip saddr != 10.0.0.0/16 drop"));
}

#[test]
fn acl_entries_go_in_rule_number_order_then_deny() {
    let s = render();
    let acl = chain(&s, "acl_in_0a2");
    let rules: Vec<&str> = acl.lines().skip(1).map(str::trim).collect();
    assert_eq!(
        rules,
        [
            "ip saddr 10.0.1.0/24 tcp dport 22 drop",
            "ip saddr 10.0.0.0/16 tcp dport 22 return",
            "ip protocol icmp return",
            "drop",
        ]
    );
    assert_eq!(
        chain(&s, "acl_out_0a2")
            .lines()
            .skip(1)
            .map(str::trim)
            .collect::<Vec<_>>(),
        ["tcp dport 1024-65535 return", "drop"]
    );
}

#[test]
fn acls_are_skipped_within_a_subnet() {
    let s = render();
    let c = cfg();
    let from = chain(&s, "subnet_from_0a1");
    let same = format!(
        "oifname {{ \"{}\", \"{}\", \"{}\" }} return",
        c.eni_link("eni-0001"),
        c.eni_link("eni-0002"),
        c.eni_link("eni-00n1")
    );
    assert!(from.contains(&same), "{from}");
    assert!(from.ends_with("jump acl_out_0a1"));
    // The attachment is in subnet-0a2 with eni-0003.
    let to2 = chain(&s, "subnet_to_0a2");
    assert!(to2.contains(&c.tgw_vpc_link("tgw-attach-0t")));
    assert!(to2.contains(&c.eni_link("eni-0003")));
    // Uplink and peering links are in no subnet: never dispatched to ACLs.
    let acl = chain(&s, "acl");
    assert!(!acl.contains(&c.uplink_router("vpc-0a")));
    assert!(!acl.contains(&c.peering_link("pcx-0ab")));
}

#[test]
fn security_groups_are_a_union_of_shared_chains_on_both_ends() {
    let s = render();
    let e1 = cfg().eni_link("eni-0001");
    let out = chain(&s, &format!("eni_out_{e1}"));
    assert!(
        out.contains("jump sgo_0def\n\t\tjump sgo_0web\n\t\tdrop"),
        "{out}"
    );
    let inn = chain(&s, &format!("eni_in_{e1}"));
    assert!(
        inn.contains("jump sgi_0def\n\t\tjump sgi_0web\n\t\tdrop"),
        "{inn}"
    );
    // Each group's chain is rendered once, however many ENIs use it.
    assert_eq!(s.matches("chain sgi_0def {").count(), 1);
    let sg = chain(&s, "sg");
    assert!(sg.contains("ct state established,related accept"));
    assert!(sg.contains(&format!("iifname vmap {{ \"{e1}\" : jump eni_out_{e1}")));
    let sg_in = chain(&s, "sg_in");
    assert!(sg_in.contains("priority 10;"));
    assert!(sg_in.contains(&format!("oifname vmap {{ \"{e1}\" : jump eni_in_{e1}")));
    // NAT gateway and attachment links have no security group.
    assert!(!sg.contains(&cfg().eni_link("eni-00n1")));
    assert!(!sg_in.contains(&cfg().tgw_vpc_link("tgw-attach-0t")));
}

#[test]
fn security_group_rules_match_peer_protocol_ports_and_icmp() {
    let s = render();
    assert_eq!(
        chain(&s, "sgi_0web")
            .lines()
            .skip(1)
            .map(str::trim)
            .collect::<Vec<_>>(),
        [
            "ip saddr 203.0.113.0/24 icmp type 8 accept",
            "ip saddr @g_0peer tcp dport 80 accept",
            "tcp dport 22 accept",
        ]
    );
    assert_eq!(chain(&s, "sgo_0web").lines().count(), 1, "no egress rules");
    assert!(chain(&s, "sgo_0def").contains("\t\taccept"));
}

#[test]
fn group_references_are_named_sets_even_when_empty() {
    let s = render();
    let def = s.split("set g_0def {").nth(1).unwrap();
    let def = &def[..def.find("\t}").unwrap()];
    assert!(def.contains("elements = { 10.0.1.10, 10.0.1.11, 10.0.2.10, 10.0.2.11 }"));
    // sg-0peer has no member anywhere: declared without elements.
    let peer = s.split("set g_0peer {").nth(1).unwrap();
    let peer = &peer[..peer.find("\t}").unwrap()];
    assert!(!peer.contains("elements"));
    assert!(chain(&s, "sgi_0def").contains("ip saddr @g_0def accept"));
}

#[test]
fn metadata_is_accepted_only_from_each_enis_own_addresses() {
    let s = render();
    let input = chain(&s, "input");
    assert!(input.contains("policy drop;"));
    let c = cfg();
    let rule = input
        .lines()
        .find(|l| l.contains("169.254.169.254"))
        .unwrap();
    assert!(rule.contains("tcp dport 80 iifname . ip saddr {"));
    for (eni, addr) in [
        ("eni-0001", "10.0.1.10"),
        ("eni-0003", "10.0.2.10"),
        ("eni-0003", "10.0.2.11"),
    ] {
        assert!(
            rule.contains(&format!("\"{}\" . {addr}", c.eni_link(eni))),
            "{rule}"
        );
    }
    assert!(!rule.contains("10.0.1.50"), "not the NAT gateway");
}

#[test]
fn a_vpc_with_nothing_forwards_nothing() {
    let mut m = model();
    m.vpcs[1].enis.clear();
    m.peerings.clear();
    let s = router_ruleset(&cfg(), &m, "vpc-0b").unwrap();
    assert!(chain(&s, "guard").ends_with("drop"));
    assert!(!s.contains("vmap"));
    assert!(!s.contains("map {"));
}

#[test]
fn the_bootstrap_drops_everything_but_loopback() {
    let s = router_bootstrap();
    assert!(chain(&s, "forward").contains("policy drop;"));
    let input = chain(&s, "input");
    assert!(input.contains("policy drop;") && input.contains("iifname \"lo\" accept"));
}

#[test]
fn match_expressions() {
    use super::fixture::{all, icmp, tcp};
    assert_eq!(match_expr(&all()), "");
    assert_eq!(match_expr(&tcp(22, 22)), " tcp dport 22");
    assert_eq!(match_expr(&tcp(0, 65535)), " tcp dport 0-65535");
    let udp = Match {
        protocol: Some(17),
        l4: L4::Ports(53, 53),
    };
    assert_eq!(match_expr(&udp), " udp dport 53");
    assert_eq!(match_expr(&icmp(None, None)), " ip protocol icmp");
    assert_eq!(
        match_expr(&icmp(Some(3), Some(4))),
        " icmp type 3 icmp code 4"
    );
    let gre = Match {
        protocol: Some(47),
        l4: L4::Any,
    };
    assert_eq!(match_expr(&gre), " ip protocol 47");
    assert_eq!(id_tail("sg-0a1B"), "0a1B");
    assert_eq!(id_tail("tgw-attach-0ff"), "0ff");
}
