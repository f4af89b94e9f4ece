//! Privileged suite: `DataPlane::apply_network` with the real kernel, checked
//! with real packets. Three VPCs on one host — A peered with B, A and C
//! attached to one transit gateway, A with an internet gateway (a public IP
//! on one instance) and a public NAT gateway for its private subnet — and a
//! test "internet" host on the external bridge. Security groups and ACLs are
//! permissive: this suite is about links and routing; the filter suite tests
//! policy. Needs root, iproute2, nftables and ping; otherwise each test says
//! why it is skipped and passes.
//!
//! Every kernel object carries a test-unique prefix, and a Drop guard deletes
//! the prefix's namespaces and host links even when an assertion fails.
//! Traffic stays inside namespaces created here and the test bridge; the
//! external network is a private 198.18.0.0/15 block, never forwarded.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;
use common::Guard;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nubo_net::linux::LinuxNetOps;
use nubo_net::model::*;
use nubo_net::netns::run_in_netns;
use nubo_net::ops::NetOps;
use nubo_net::topology::{self, instance_plugs, open_model};
use nubo_net::{DataPlane, EniPlug, NetConfig, NetError};

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ping(from: &str, to: Ipv4Addr) -> bool {
    Command::new("ip")
        .args(["netns", "exec", from, "ping", "-c1", "-W1", &to.to_string()])
        .output()
        .unwrap()
        .status
        .success()
}

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn route(dst: &str, target: RouteTargetNet) -> RouteNet {
    RouteNet {
        destination: cidr(dst),
        target,
    }
}

/// A (10.0/16: public subnet .1 with IGW, private subnet .2 behind the NAT
/// gateway), B (10.1/16, peered with A), C (10.2/16, TGW with A).
fn lab(n: u8) -> NetworkModel {
    let plugs = [
        plug("eni-0a1", "vpc-0a", "i-0a1", "10.0.1.10", 1),
        plug("eni-0a2", "vpc-0a", "i-0a2", "10.0.2.10", 2),
        plug("eni-0b1", "vpc-0b", "i-0b1", "10.1.1.10", 3),
        plug("eni-0c1", "vpc-0c", "i-0c1", "10.2.1.10", 4),
    ];
    let external = ExternalNet {
        cidr: cidr(&format!("198.18.{n}.0/24")),
        host_address: ip(&format!("198.18.{n}.1")),
        public_pools: vec![cidr(&format!("198.19.{n}.0/24"))],
        forward_to_uplink: false,
    };
    let mut m = open_model(external, &plugs);
    let a = m.vpcs.iter_mut().find(|v| v.id == "vpc-0a").unwrap();
    a.cidrs = vec![cidr("10.0.0.0/16")];
    a.internet_gateway = Some("igw-0a".into());
    a.enis[0].public = vec![(ip("10.0.1.10"), ip(&format!("198.19.{n}.10")))];
    a.nat_gateways.push(NatGatewayNet {
        id: "nat-0n".into(),
        subnet_id: a.enis[0].subnet_id.clone(),
        eni_id: "eni-0n1".into(),
        mac: "02:00:00:00:0e:01".into(),
        private_address: ip("10.0.1.50"),
        public_address: Some(ip(&format!("198.19.{n}.50"))),
    });
    let peer_and_tgw = [
        route("10.1.0.0/16", RouteTargetNet::Peering("pcx-0ab".into())),
        route(
            "10.2.0.0/16",
            RouteTargetNet::TransitGateway("tgw-01".into()),
        ),
    ];
    let mut public = peer_and_tgw.to_vec();
    public.push(route(
        "0.0.0.0/0",
        RouteTargetNet::InternetGateway("igw-0a".into()),
    ));
    let mut private = peer_and_tgw.to_vec();
    private.push(route(
        "0.0.0.0/0",
        RouteTargetNet::NatGateway("nat-0n".into()),
    ));
    a.route_tables = vec![
        RouteTableNet {
            id: "rtb-0pub".into(),
            routes: public,
        },
        RouteTableNet {
            id: "rtb-0priv".into(),
            routes: private,
        },
    ];
    a.subnets[0].route_table = "rtb-0pub".into();
    a.subnets[1].route_table = "rtb-0priv".into();
    let (pub_subnet, b_subnet, c_subnet) = (
        a.subnets[0].id.clone(),
        m.vpcs[1].subnets[0].id.clone(),
        m.vpcs[2].subnets[0].id.clone(),
    );
    for (vpc, dst, target) in [
        (
            1,
            "10.0.0.0/16",
            RouteTargetNet::Peering("pcx-0ab".to_string()),
        ),
        (
            2,
            "10.0.0.0/16",
            RouteTargetNet::TransitGateway("tgw-01".to_string()),
        ),
    ] {
        let v = &mut m.vpcs[vpc];
        v.cidrs = vec![v.subnets[0].cidr];
        v.cidrs = vec![Ipv4Cidr::new(v.subnets[0].cidr.network(), 16).unwrap()];
        v.route_tables[0].routes.push(route(dst, target));
    }
    m.peerings.push(PeeringNet {
        id: "pcx-0ab".into(),
        requester: PeerSide {
            vpc_id: "vpc-0a".into(),
            cidrs: vec![cidr("10.0.0.0/16")],
        },
        accepter: PeerSide {
            vpc_id: "vpc-0b".into(),
            cidrs: vec![cidr("10.1.0.0/16")],
        },
    });
    let attach = |id: &str, vpc: &str, subnet: &str| TgwAttachmentNet {
        id: id.into(),
        vpc_id: vpc.into(),
        subnet_id: subnet.into(),
        route_table: Some("tgw-rtb-01".into()),
    };
    m.transit_gateways.push(TransitGatewayNet {
        id: "tgw-01".into(),
        attachments: vec![
            attach("tgw-attach-0a", "vpc-0a", &pub_subnet),
            attach("tgw-attach-0c", "vpc-0c", &c_subnet),
        ],
        route_tables: vec![TgwRouteTableNet {
            id: "tgw-rtb-01".into(),
            routes: vec![
                TgwRouteNet {
                    destination: cidr("10.0.0.0/16"),
                    attachment: Some("tgw-attach-0a".into()),
                },
                TgwRouteNet {
                    destination: cidr("10.2.0.0/16"),
                    attachment: Some("tgw-attach-0c".into()),
                },
            ],
        }],
    });
    let _ = b_subnet;
    m
}

fn plug(eni: &str, vpc: &str, inst: &str, addr: &str, n: u8) -> EniPlug {
    let a = ip(addr);
    let o = a.octets();
    EniPlug {
        eni_id: eni.into(),
        vpc_id: vpc.into(),
        instance_id: inst.into(),
        mac: format!("02:00:00:00:{n:02x}:01"),
        address: a,
        prefix_len: 24,
        gateway: Ipv4Addr::new(o[0], o[1], o[2], 1),
        device_index: 0,
    }
}

#[test]
fn peering_transit_gateway_internet_and_nat_carry_real_packets() {
    require_root!("topology", &["ip", "nft", "ping"]);
    let guard = Guard::new('g');
    let p = guard.prefix.clone();
    let n = 150 + (std::process::id() % 100) as u8;
    let dp = DataPlane::new(
        NetConfig { prefix: p.clone() },
        Arc::new(LinuxNetOps::new()),
    );
    let model = lab(n);
    for e in instance_plugs(&model) {
        dp.plug(&e).unwrap();
    }
    let t = Instant::now();
    let report = dp.apply_network(&model).unwrap();
    eprintln!("first apply: {:?} {report:?}", t.elapsed());
    let t = Instant::now();
    let again = dp.apply_network(&model).unwrap();
    eprintln!("unchanged apply: {:?}", t.elapsed());
    assert!(again.changed.is_empty(), "{again:?}");

    // The test's internet host on the external bridge.
    let inet = format!("{p}-inet");
    let (outer, inner) = (format!("{p}i0"), format!("{p}i1"));
    let inet_addr = ip(&format!("198.18.{n}.200"));
    sh(&["ip", "netns", "add", &inet]);
    sh(&[
        "ip", "link", "add", &outer, "type", "veth", "peer", "name", &inner, "netns", &inet,
    ]);
    sh(&[
        "ip",
        "link",
        "set",
        &outer,
        "master",
        &format!("{p}-ext"),
        "up",
    ]);
    sh(&[
        "ip",
        "-n",
        &inet,
        "addr",
        "add",
        &format!("{inet_addr}/24"),
        "dev",
        &inner,
    ]);
    sh(&["ip", "-n", &inet, "link", "set", &inner, "up"]);
    sh(&["ip", "-n", &inet, "link", "set", "lo", "up"]);
    sh(&[
        "ip", "-n", &inet, "route", "add", "default", "dev", &inner, "scope", "link",
    ]);

    let ns = |i: &str| dp.instance_netns(i);
    // Peering, both ways.
    assert!(
        ping(&ns("i-0a1"), ip("10.1.1.10")),
        "A → B over the peering"
    );
    assert!(
        ping(&ns("i-0b1"), ip("10.0.2.10")),
        "B → A over the peering"
    );
    // Transit gateway, both ways.
    assert!(ping(&ns("i-0a2"), ip("10.2.1.10")), "A → C over the TGW");
    assert!(ping(&ns("i-0c1"), ip("10.0.1.10")), "C → A over the TGW");
    // No transitive routing: B cannot reach C through A.
    assert!(!ping(&ns("i-0b1"), ip("10.2.1.10")), "B → C must not pass");
    // The internet reaches the public IP; the instance reaches the internet.
    assert!(
        ping(&inet, ip(&format!("198.19.{n}.10"))),
        "internet → public IP"
    );
    assert!(ping(&ns("i-0a1"), inet_addr), "public instance → internet");
    // The private subnet reaches the internet through the NAT gateway...
    assert!(
        ping(&ns("i-0a2"), inet_addr),
        "private instance → NAT → internet"
    );
    // ...but nothing reaches it from there: no public IP of its own, and the
    // NAT gateway's public address accepts no new flows.
    assert!(
        !ping(&inet, ip(&format!("198.19.{n}.50"))),
        "internet → NAT"
    );
    // B has no internet gateway.
    assert!(!ping(&ns("i-0b1"), inet_addr), "B has no internet");

    // An established connection across the peering survives a restarted
    // agent's full resync (routes by diff, nftables replaced atomically).
    let listener = run_in_netns(&ns("i-0b1"), || {
        TcpListener::bind("10.1.1.10:7100").map_err(|e| NetError::Invalid(e.to_string()))
    })
    .unwrap();
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        for _ in 0..2 {
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        }
    });
    let mut client = run_in_netns(&ns("i-0a1"), || {
        TcpStream::connect_timeout(&"10.1.1.10:7100".parse().unwrap(), Duration::from_secs(2))
            .map_err(|e| NetError::Invalid(e.to_string()))
    })
    .unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut roundtrip = |msg: &[u8; 5]| {
        client.write_all(msg).unwrap();
        let mut back = [0u8; 5];
        client.read_exact(&mut back).unwrap();
        assert_eq!(&back, msg);
    };
    roundtrip(b"hello");
    let restarted = DataPlane::new(
        NetConfig { prefix: p.clone() },
        Arc::new(LinuxNetOps::new()),
    );
    let t = Instant::now();
    let report = restarted.apply_network(&model).unwrap();
    eprintln!("full resync after a restart: {:?} {report:?}", t.elapsed());
    assert!(report.removed.is_empty(), "{report:?}");
    roundtrip(b"again");
    echo.join().unwrap();
    // What the kernel reports reads back as exactly the plan: a further
    // apply has no route or rule to change anywhere.
    let ops = LinuxNetOps::new();
    let plan = topology::plan(restarted.config(), &model).unwrap();
    for ns in plan
        .routers
        .iter()
        .chain(plan.transit_gateways.iter())
        .chain(plan.host.iter())
    {
        let routes = ops.table_routes(&ns.netns).unwrap();
        assert_eq!(topology::diff_routes(ns, &routes), vec![], "{}", ns.netns);
        let rules = ops.rules(&ns.netns).unwrap();
        assert_eq!(topology::diff_rules(ns, &rules), vec![], "{}", ns.netns);
    }

    // Nothing wanted: nothing of ours remains but the test's own internet host.
    sh(&["ip", "netns", "delete", &inet]);
    let empty = NetworkModel::empty(model.external.clone());
    dp.apply_network(&empty).unwrap();
    dp.reconcile(&[], &[], &empty).unwrap();
    assert_eq!(guard.netns(), Vec::<String>::new());
    assert_eq!(guard.host_links(), Vec::<String>::new());
}

/// The full-resync time of a host with 200 ENIs and 2,000 security-group
/// rules: a restarted agent's first `apply_network` (observe and diff every
/// namespace, rewrite every table). Printed for the lead's record; run with
/// `cargo nextest run -p nubo-net --run-ignored only full_resync`.
#[test]
#[ignore = "a measurement (≈10 s of plugging), not a check"]
fn full_resync_of_200_enis_and_2000_rules() {
    require_root!("topology", &["ip", "nft", "ping"]);
    let guard = Guard::new('h');
    let cfg = NetConfig {
        prefix: guard.prefix.clone(),
    };
    let n = 150 + (std::process::id() % 100) as u8;
    let plugs: Vec<EniPlug> = (0..200u32)
        .map(|i| {
            let subnet = (i / 50) as u8 + 1;
            let host = (i % 50) as u8 + 10;
            plug(
                &format!("eni-0{i:04x}"),
                "vpc-0a",
                &format!("i-0{i:04x}"),
                &format!("10.0.{subnet}.{host}"),
                (i % 250) as u8,
            )
        })
        .map(|mut e| {
            e.mac = format!(
                "02:00:00:01:{:02x}:{:02x}",
                e.address.octets()[2],
                e.address.octets()[3]
            );
            e
        })
        .collect();
    let external = ExternalNet {
        cidr: cidr(&format!("198.18.{n}.0/24")),
        host_address: ip(&format!("198.18.{n}.1")),
        public_pools: vec![cidr(&format!("198.19.{n}.0/24"))],
        forward_to_uplink: false,
    };
    let mut model = open_model(external, &plugs);
    let vpc = &mut model.vpcs[0];
    let tcp = |port: u16| Match {
        protocol: Some(6),
        l4: L4::Ports(port, port),
    };
    let mut members: BTreeMap<String, Vec<Ipv4Addr>> = BTreeMap::new();
    vpc.security_groups = (0..20u16)
        .map(|g| SecurityGroupNet {
            id: format!("sg-0{g:03}"),
            ingress: (0..90u16)
                .map(|r| SgRuleNet {
                    peer: if r % 10 == 0 {
                        SgPeer::Group(format!("sg-0{:03}", (g + 1) % 20))
                    } else {
                        SgPeer::Cidr(
                            Ipv4Cidr::new(Ipv4Addr::new(10, (r % 200) as u8, 0, 0), 16).unwrap(),
                        )
                    },
                    matches: tcp(1000 + r),
                })
                .collect(),
            egress: (0..10u16)
                .map(|r| SgRuleNet {
                    peer: SgPeer::Cidr(cidr("0.0.0.0/0")),
                    matches: tcp(2000 + r),
                })
                .collect(),
        })
        .collect();
    for (i, eni) in vpc.enis.iter_mut().enumerate() {
        let groups = [
            format!("sg-0{:03}", i % 20),
            format!("sg-0{:03}", (i + 7) % 20),
        ];
        for g in &groups {
            members.entry(g.clone()).or_default().push(eni.addresses[0]);
        }
        eni.security_groups = groups.to_vec();
    }
    model.group_members = members;
    let rules: usize = model.vpcs[0]
        .security_groups
        .iter()
        .map(|g| g.ingress.len() + g.egress.len())
        .sum();
    let dp = DataPlane::new(cfg.clone(), Arc::new(LinuxNetOps::new()));
    let t = Instant::now();
    for e in &plugs {
        dp.plug(e).unwrap();
    }
    eprintln!("plugged {} ENIs in {:?}", plugs.len(), t.elapsed());
    let t = Instant::now();
    dp.apply_network(&model).unwrap();
    eprintln!("first apply: {:?}", t.elapsed());
    // The agent restarts: a new DataPlane knows nothing and resyncs.
    let dp = DataPlane::new(cfg, Arc::new(LinuxNetOps::new()));
    let t = Instant::now();
    let report = dp.apply_network(&model).unwrap();
    let resync = t.elapsed();
    println!(
        "full resync of {} ENIs / {rules} SG rules: {resync:?} ({} namespaces)",
        plugs.len(),
        report.changed.len()
    );
    eprintln!(
        "full resync of {} ENIs / {rules} SG rules: {resync:?}",
        plugs.len()
    );
    let t = Instant::now();
    dp.apply_network(&model).unwrap();
    eprintln!("unchanged apply: {:?}", t.elapsed());
    let empty = NetworkModel::empty(model.external.clone());
    dp.apply_network(&empty).unwrap();
    dp.reconcile(&[], &[], &empty).unwrap();
    assert_eq!(guard.netns(), Vec::<String>::new());
}
