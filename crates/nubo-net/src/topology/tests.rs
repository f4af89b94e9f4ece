//! The planner and the diff on the filter's fixture (two VPCs, a peering, a
//! transit gateway, an internet gateway with public addresses, a NAT
//! gateway), plus every route target.

use super::*;
use crate::filter::fixture::{cidr, model};
use crate::model::{
    kernel_table, RouteNet, RouteTargetNet, TgwRouteNet, TgwRouteTableNet, TransitGatewayNet,
};
use crate::ops::{NextHop, RuleAction, RuleSelector, HOST_NETNS, MAIN_TABLE};

fn cfg() -> NetConfig {
    NetConfig {
        prefix: "tq".into(),
    }
}

fn route(table: u32, dst: &str, next: NextHop) -> KernelRoute {
    KernelRoute {
        table,
        dst: cidr(dst),
        next,
    }
}

fn via(gw: &str, dev: &str) -> NextHop {
    NextHop::Via {
        gateway: gw.parse().unwrap(),
        dev: dev.into(),
    }
}

/// The fixture with a route of every target type in `rtb-0a2`.
fn every_target() -> crate::NetworkModel {
    let mut m = model();
    let rtb = &mut m.vpcs[0].route_tables[1];
    let r = |d: &str, target| RouteNet {
        destination: cidr(d),
        target,
    };
    rtb.routes.extend([
        r("10.0.0.0/16", RouteTargetNet::Local),
        r("10.1.0.0/16", RouteTargetNet::Peering("pcx-0ab".into())),
        r("10.1.5.0/24", RouteTargetNet::Eni("eni-0003".into())),
        r(
            "172.16.0.0/12",
            RouteTargetNet::TransitGateway("tgw-01".into()),
        ),
        r("10.99.0.0/16", RouteTargetNet::Blackhole),
        r("10.98.0.0/16", RouteTargetNet::Peering("pcx-gone".into())),
        r("10.97.0.0/16", RouteTargetNet::Eni("eni-gone".into())),
        r(
            "10.96.0.0/16",
            RouteTargetNet::TransitGateway("tgw-gone".into()),
        ),
        r(
            "10.95.0.0/16",
            RouteTargetNet::NatGateway("nat-gone".into()),
        ),
    ]);
    m.transit_gateways[0].route_tables.push(TgwRouteTableNet {
        id: "tgw-rtb-01".into(),
        routes: vec![
            TgwRouteNet {
                destination: cidr("10.0.0.0/16"),
                attachment: Some("tgw-attach-0t".into()),
            },
            TgwRouteNet {
                destination: cidr("10.50.0.0/16"),
                attachment: None,
            },
        ],
    });
    m
}

#[test]
fn every_route_target_becomes_a_kernel_route_or_a_blackhole() {
    let p = plan(&cfg(), &every_target()).unwrap();
    let r = &p.routers[0];
    assert_eq!(r.netns, "tq-vpc-0a");
    let t1 = kernel_table("rtb-0a1");
    let t2 = kernel_table("rtb-0a2");
    let want = [
        route(t1, "0.0.0.0/0", NextHop::Dev("tqu0a".into())),
        route(t2, "0.0.0.0/0", via("10.0.1.50", "tqe00n1")),
        route(t2, "10.1.0.0/16", via("169.254.0.2", "tqp0ab")),
        // More specific than the peering route: the kernel's longest prefix
        // match picks it, as AWS does.
        route(t2, "10.1.5.0/24", via("10.0.2.10", "tqe0003")),
        route(t2, "172.16.0.0/12", via("169.254.0.2", "tqt0t")),
        route(t2, "10.99.0.0/16", NextHop::Blackhole),
        route(t2, "10.98.0.0/16", NextHop::Blackhole),
        route(t2, "10.97.0.0/16", NextHop::Blackhole),
        route(t2, "10.96.0.0/16", NextHop::Blackhole),
        route(t2, "10.95.0.0/16", NextHop::Blackhole),
    ];
    for w in &want {
        assert!(r.routes.contains(w), "missing {w:?} in {:#?}", r.routes);
    }
    // `local` is not a table route: VPC blocks go to main first.
    assert!(!r
        .routes
        .iter()
        .any(|x| x.table == t2 && x.dst == cidr("10.0.0.0/16")));
    let tables: Vec<u32> = r
        .routes
        .iter()
        .map(|x| x.table)
        .filter(|t| *t != MAIN_TABLE)
        .collect();
    assert_eq!(tables.len(), want.len());
}

#[test]
fn router_main_table_and_rules() {
    let p = plan(&cfg(), &model()).unwrap();
    let r = &p.routers[0];
    for (dst, dev) in [
        ("10.0.1.10/32", "tqe0001"),
        ("10.0.1.11/32", "tqe0002"),
        ("10.0.2.10/32", "tqe0003"),
        ("10.0.2.11/32", "tqe0003"), // a secondary address
        ("10.0.1.50/32", "tqe00n1"), // the NAT gateway's ENI
    ] {
        assert!(
            r.routes
                .contains(&route(MAIN_TABLE, dst, NextHop::Dev(dev.into()))),
            "{dst}"
        );
    }
    assert!(r
        .routes
        .contains(&route(MAIN_TABLE, "10.0.0.0/16", NextHop::Blackhole)));
    let rules: BTreeSet<_> = r.rules.iter().cloned().collect();
    let want: BTreeSet<_> = [
        KernelRule {
            priority: PRIO_LOCAL,
            selector: RuleSelector::To(cidr("10.0.0.0/16")),
            action: RuleAction::Lookup(MAIN_TABLE),
        },
        KernelRule {
            priority: PRIO_TABLE,
            selector: RuleSelector::Fwmark(kernel_table("rtb-0a1")),
            action: RuleAction::Lookup(kernel_table("rtb-0a1")),
        },
        KernelRule {
            priority: PRIO_TABLE,
            selector: RuleSelector::Fwmark(kernel_table("rtb-0a2")),
            action: RuleAction::Lookup(kernel_table("rtb-0a2")),
        },
    ]
    .into_iter()
    .collect();
    assert_eq!(rules, want);
    // Both blocks of vpc-0b go to main; its table has no routes.
    let b = &p.routers[1];
    assert_eq!(
        b.rules.iter().filter(|r| r.priority == PRIO_LOCAL).count(),
        2
    );
    assert!(r
        .nft
        .as_deref()
        .is_some_and(|t| t.contains("table inet nubo")));
    assert!(r
        .sysctls
        .contains(&Sysctl::new("net/ipv4/conf/all/rp_filter", "0")));
}

#[test]
fn uplink_peering_and_bridge() {
    let p = plan(&cfg(), &model()).unwrap();
    let a = &p.routers[0];
    let b = &p.routers[1];
    // vpc-0a: an IGW and public addresses → uplink answering for exactly them.
    assert!(a.gateway_links.contains("tqu0a"));
    assert!(a
        .sysctls
        .contains(&Sysctl::new("net/ipv4/conf/tqu0a/arp_ignore", "1")));
    assert!(!a.sysctls.iter().any(|s| s.key.contains("/all/arp_ignore")));
    for public in ["198.51.100.10", "198.51.100.50"] {
        assert!(a.cmds.contains(&addr("tqu0a", public.parse().unwrap(), 32)));
    }
    assert_eq!(
        a.cmds
            .iter()
            .filter(|c| matches!(c, IpCmd::AddrReplace { dev, .. } if dev == "tqu0a"))
            .count(),
        2
    );
    // vpc-0b: no internet gateway → no uplink.
    assert!(!b.gateway_links.iter().any(|l| l.starts_with("tqu")));
    // Peering: one veth, requester .1, accepter .2.
    let peering: Vec<_> = p.veths.iter().filter(|v| v.name == "tqp0ab").collect();
    assert_eq!(peering.len(), 1);
    assert_eq!(
        (peering[0].netns.as_str(), peering[0].peer_netns.as_str()),
        ("tq-vpc-0a", "tq-vpc-0b")
    );
    assert!(a.cmds.contains(&addr("tqp0ab", LINK_NEAR, 32)));
    assert!(b.cmds.contains(&addr("tqp0ab", LINK_FAR, 32)));
    // The host: bridge with its address, pool routes, the uplink's host end.
    let host = p.host.as_ref().unwrap();
    assert_eq!(host.netns, HOST_NETNS);
    assert!(host
        .cmds
        .contains(&addr("tq-ext", "203.0.113.1".parse().unwrap(), 24)));
    assert!(host.cmds.contains(&IpCmd::LinkMaster {
        dev: "tqx0a".into(),
        master: "tq-ext".into()
    }));
    assert_eq!(
        host.routes,
        vec![route(
            MAIN_TABLE,
            "198.51.100.0/24",
            NextHop::Dev("tq-ext".into())
        )]
    );
    assert!(host.rules.is_empty() && host.sysctls.is_empty());
    assert_eq!(
        host.nft.as_deref(),
        Some("table ip tq_ext {}\ndelete table ip tq_ext\n"),
        "forwarding off: only the removal of its table"
    );
    // No VPC here: no bridge.
    assert!(plan(&cfg(), &crate::NetworkModel::empty(model().external))
        .unwrap()
        .host
        .is_none());
}

#[test]
fn an_internet_gateway_without_public_addresses_is_a_blackhole() {
    let mut m = model();
    for e in &mut m.vpcs[0].enis {
        e.public.clear();
    }
    m.vpcs[0].nat_gateways[0].public_address = None;
    let p = plan(&cfg(), &m).unwrap();
    let a = &p.routers[0];
    assert!(a.gateway_links.iter().all(|l| !l.starts_with("tqu")));
    assert!(a.routes.contains(&route(
        kernel_table("rtb-0a1"),
        "0.0.0.0/0",
        NextHop::Blackhole
    )));
    assert!(!p.veths.iter().any(|v| v.name == "tqx0a"));
}

#[test]
fn nat_gateway_is_a_plug_into_its_own_namespace() {
    let p = plan(&cfg(), &model()).unwrap();
    let nat = &p.nat_gateways[0];
    assert_eq!(nat.ns.netns, "tq-nat-0n");
    assert_eq!(cfg().instance_netns(&nat.plug.instance_id), nat.ns.netns);
    assert_eq!(nat.plug.address, "10.0.1.50".parse::<Ipv4Addr>().unwrap());
    assert_eq!(nat.plug.gateway, "10.0.1.1".parse::<Ipv4Addr>().unwrap());
    assert_eq!(nat.plug.prefix_len, 24);
    assert!(nat
        .ns
        .nft
        .as_deref()
        .is_some_and(|t| t.contains("masquerade")));
    assert!(nat
        .ns
        .sysctls
        .contains(&Sysctl::new("net/ipv4/ip_forward", "1")));
}

#[test]
fn transit_gateway_tables_follow_the_ingress_attachment() {
    let p = plan(&cfg(), &every_target()).unwrap();
    let t = &p.transit_gateways[0];
    assert_eq!(t.netns, "tq-tgw-01");
    let table = kernel_table("tgw-rtb-01");
    assert!(t
        .routes
        .contains(&route(table, "10.0.0.0/16", via("169.254.0.1", "tqa0t"))));
    assert!(t
        .routes
        .contains(&route(table, "10.50.0.0/16", NextHop::Blackhole)));
    assert!(t.rules.contains(&KernelRule {
        priority: PRIO_TABLE,
        selector: RuleSelector::Iif("tqa0t".into()),
        action: RuleAction::Lookup(table),
    }));
    assert!(t.rules.contains(&KernelRule {
        priority: PRIO_BLACKHOLE,
        selector: RuleSelector::Iif("tqa0t".into()),
        action: RuleAction::Blackhole,
    }));
    let v = p.veths.iter().find(|v| v.name == "tqa0t").unwrap();
    assert_eq!(
        (
            v.netns.as_str(),
            v.peer_netns.as_str(),
            v.peer_name.as_str()
        ),
        ("tq-tgw-01", "tq-vpc-0a", "tqt0t")
    );
    // Without an associated table only the blackhole rule remains.
    let mut m = every_target();
    m.transit_gateways[0].attachments[0].route_table = None;
    let p = plan(&cfg(), &m).unwrap();
    assert_eq!(p.transit_gateways[0].rules.len(), 1);
    // An attachment whose VPC has no router here has no link.
    let mut m = every_target();
    m.transit_gateways = vec![TransitGatewayNet {
        id: "tgw-02".into(),
        attachments: vec![crate::model::TgwAttachmentNet {
            id: "tgw-attach-0x".into(),
            vpc_id: "vpc-elsewhere".into(),
            subnet_id: "subnet-x".into(),
            route_table: None,
        }],
        route_tables: Vec::new(),
    }];
    let p = plan(&cfg(), &m).unwrap();
    assert!(p.veths.iter().all(|v| v.name != "tqa0x"));
}

#[test]
fn applying_a_plan_to_its_own_result_changes_nothing() {
    let p = plan(&cfg(), &every_target()).unwrap();
    for ns in p
        .routers
        .iter()
        .chain(p.transit_gateways.iter())
        .chain(p.host.iter())
    {
        assert_eq!(diff_routes(ns, &ns.routes), vec![], "{}", ns.netns);
        assert_eq!(diff_rules(ns, &ns.rules), vec![], "{}", ns.netns);
    }
}

#[test]
fn the_diff_removes_what_is_no_longer_wanted_and_nothing_else() {
    let p = plan(&cfg(), &every_target()).unwrap();
    let r = &p.routers[0];
    let t2 = kernel_table("rtb-0a2");
    let gone_table = kernel_table("rtb-gone");
    let mut observed = r.routes.clone();
    observed.retain(|x| x.dst != cidr("10.99.0.0/16")); // missing → added
    let changed = route(t2, "10.98.0.0/16", via("169.254.0.2", "tqp0ab"));
    observed.retain(|x| !(x.table == t2 && x.dst == changed.dst));
    observed.push(changed); // different next hop → replaced, not deleted
    let stale = [
        route(gone_table, "0.0.0.0/0", NextHop::Blackhole),
        route(t2, "10.77.0.0/16", NextHop::Blackhole),
        route(MAIN_TABLE, "10.0.1.99/32", NextHop::Dev("tqe0001".into())), // a removed secondary
        route(MAIN_TABLE, "10.7.0.0/16", NextHop::Blackhole),
    ];
    observed.extend(stale.iter().cloned());
    // Not ours to judge: a just-plugged ENI the model does not know yet.
    observed.push(route(
        MAIN_TABLE,
        "10.0.1.77/32",
        NextHop::Dev("tqe0777".into()),
    ));
    let cmds = diff_routes(r, &observed);
    let mut want = vec![
        IpCmd::Route(route(t2, "10.99.0.0/16", NextHop::Blackhole)),
        IpCmd::Route(route(t2, "10.98.0.0/16", NextHop::Blackhole)),
    ];
    want.extend(stale.iter().cloned().map(IpCmd::RouteDel));
    let sorted = |mut v: Vec<IpCmd>| {
        v.sort_by_key(|c| format!("{c:?}"));
        v
    };
    assert_eq!(sorted(cmds.clone()), sorted(want));
    // Additions before removals.
    let first_del = cmds
        .iter()
        .position(|c| matches!(c, IpCmd::RouteDel(_)))
        .unwrap();
    assert!(cmds[..first_del]
        .iter()
        .all(|c| matches!(c, IpCmd::Route(_))));

    let stale_rule = KernelRule {
        priority: PRIO_TABLE,
        selector: RuleSelector::Fwmark(gone_table),
        action: RuleAction::Lookup(gone_table),
    };
    let foreign = KernelRule {
        priority: 32766,
        selector: RuleSelector::Fwmark(1),
        action: RuleAction::Lookup(MAIN_TABLE),
    };
    let mut rules = r.rules[1..].to_vec();
    rules.push(stale_rule.clone());
    rules.push(foreign);
    assert_eq!(
        diff_rules(r, &rules),
        vec![
            IpCmd::RuleAdd(r.rules[0].clone()),
            IpCmd::RuleDel(stale_rule.clone())
        ]
    );
    // The host's rules and numbered tables are never Nubo's to remove.
    let host = p.host.as_ref().unwrap();
    assert_eq!(diff_rules(host, &[stale_rule]), vec![]);
    let mut host_routes = host.routes.clone();
    host_routes.push(route(gone_table, "0.0.0.0/0", NextHop::Blackhole));
    host_routes.push(route(MAIN_TABLE, "10.7.0.0/16", NextHop::Blackhole));
    host_routes.push(route(MAIN_TABLE, "0.0.0.0/0", via("192.0.2.1", "eth0")));
    assert_eq!(diff_routes(host, &host_routes), vec![]);
    // A pool that left the model goes.
    host_routes.push(route(
        MAIN_TABLE,
        "192.0.2.0/24",
        NextHop::Dev("tq-ext".into()),
    ));
    assert_eq!(
        diff_routes(host, &host_routes),
        vec![IpCmd::RouteDel(route(
            MAIN_TABLE,
            "192.0.2.0/24",
            NextHop::Dev("tq-ext".into())
        ))]
    );
}

#[test]
fn colliding_kernel_tables_are_refused() {
    assert!(check_tables("ns", ["rtb-a", "rtb-a"].into_iter()).is_ok());
    let m = check_tables("ns", ["rtb-a", "rtb-b"].into_iter()).unwrap();
    assert_eq!(m.len(), 2);
}

#[test]
fn derived_macs_are_stable_unicast_and_local() {
    let m = derived_mac("vpc-0a");
    assert_eq!(m, derived_mac("vpc-0a"));
    assert_ne!(m, derived_mac("vpc-0b"));
    assert!(crate::plan::normalize_mac(&m).is_ok());
    assert!(m.starts_with("02:"));
}

#[test]
fn forwarding_to_the_uplink_is_an_operator_opt_in() {
    let m = model();
    let host = plan(&cfg(), &m).unwrap().host.unwrap();
    assert!(
        host.nft
            .as_deref()
            .is_some_and(|s| s.ends_with("delete table ip tq_ext\n"))
            && host.sysctls.is_empty(),
        "off by default (its table removed)"
    );
    let mut m = model();
    m.external.forward_to_uplink = true;
    let host = plan(&cfg(), &m).unwrap().host.unwrap();
    assert_eq!(host.sysctls, vec![Sysctl::new("net/ipv4/ip_forward", "1")]);
    let script = host.nft.unwrap();
    assert!(script.starts_with("table ip tq_ext {}\ndelete table ip tq_ext\n"));
    assert!(script.contains("ip saddr { 198.51.100.0/24 } oifname != \"tq-ext\" masquerade"));
    assert!(!script.contains("inet nubo"), "never the routers' table");
}
