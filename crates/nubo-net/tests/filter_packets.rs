//! Privileged suite: the nftables renderer ([`nubo_net::filter`]) on real
//! packets. Needs root, iproute2, nft and ping; otherwise each test prints why
//! it is skipped and passes.
//!
//! Each test builds its own small VPC by hand with the real data plane
//! (`DataPlane::plug`: a router namespace, three instance namespaces in two
//! subnets, veths with proxy ARP and /32 routes), turns the router's
//! reverse-path filter off (so that anti-spoofing is the firewall's doing, as
//! in the issue-5 router), loads `router_ruleset` with `nft -f` and sends
//! real TCP connections and pings between the instances. Every kernel object
//! carries a test-unique prefix (a letter per test + 3 hex digits of the
//! process ID) and a Drop guard deletes every namespace with that prefix even
//! when an assertion fails. Traffic stays inside the namespaces created here.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;
use common::Guard;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nubo_net::filter::{router_bootstrap, router_ruleset};
use nubo_net::linux::LinuxNetOps;
use nubo_net::model::{
    AclEntryNet, AclNet, EniNet, ExternalNet, Ipv4Cidr, Match, NetworkModel, RouteTableNet,
    SecurityGroupNet, SgPeer, SgRuleNet, SubnetNet, VpcNet, L4,
};
use nubo_net::netns::run_in_netns;
use nubo_net::{DataPlane, EniPlug, NetConfig, NetError};

const VPC: &str = "vpc-0f";
const SUBNET_A: &str = "subnet-0a";
const SUBNET_B: &str = "subnet-0b";
/// Ports every instance listens on (an echo server each).
const PORTS: [u16; 4] = [22, 23, 7000, 8080];

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

fn all() -> Match {
    Match {
        protocol: None,
        l4: L4::Any,
    }
}

fn tcp(lo: u16, hi: u16) -> Match {
    Match {
        protocol: Some(6),
        l4: L4::Ports(lo, hi),
    }
}

fn icmp_echo() -> Match {
    Match {
        protocol: Some(1),
        l4: L4::Icmp {
            icmp_type: Some(8),
            code: None,
        },
    }
}

fn allow(peer: &str, m: Match) -> SgRuleNet {
    let peer = if peer.starts_with("sg-") {
        SgPeer::Group(peer.into())
    } else {
        SgPeer::Cidr(cidr(peer))
    };
    SgRuleNet { peer, matches: m }
}

fn group(id: &str, ingress: Vec<SgRuleNet>, egress: Vec<SgRuleNet>) -> SecurityGroupNet {
    SecurityGroupNet {
        id: id.into(),
        ingress,
        egress,
    }
}

fn entry(n: i32, allow: bool, c: &str, m: Match) -> AclEntryNet {
    AclEntryNet {
        rule_number: n,
        allow,
        cidr: cidr(c),
        matches: m,
    }
}

fn acl(id: &str, ingress: Vec<AclEntryNet>, egress: Vec<AclEntryNet>) -> AclNet {
    AclNet {
        id: id.into(),
        ingress,
        egress,
    }
}

fn allow_all_acl(id: &str) -> AclNet {
    acl(
        id,
        vec![entry(100, true, "0.0.0.0/0", all())],
        vec![entry(100, true, "0.0.0.0/0", all())],
    )
}

/// One instance of the lab: i1 and i2 in subnet A, i3 in subnet B.
struct Inst {
    plug: EniPlug,
    subnet: &'static str,
}

/// Three instances in a hand-built VPC router, echo servers on [`PORTS`].
struct Lab {
    cfg: NetConfig,
    router: String,
    inst: Vec<Inst>,
    _guard: Guard,
}

impl Lab {
    fn new(letter: char) -> Lab {
        let guard = Guard::new(letter);
        let cfg = NetConfig {
            prefix: guard.prefix.clone(),
        };
        let dp = DataPlane::new(cfg.clone(), Arc::new(LinuxNetOps::new()));
        let router = cfg.router_netns(VPC);
        let mut inst = Vec::new();
        for (n, subnet, addr) in [
            (1u8, SUBNET_A, [10, 0, 1, 10]),
            (2, SUBNET_A, [10, 0, 1, 11]),
            (3, SUBNET_B, [10, 0, 2, 10]),
        ] {
            let plug = EniPlug {
                eni_id: format!("eni-00000000000000{n:03}"),
                vpc_id: VPC.into(),
                instance_id: format!("i-0f{n}"),
                mac: format!("02:00:00:00:0f:{n:02x}"),
                address: Ipv4Addr::from(addr),
                prefix_len: 24,
                gateway: Ipv4Addr::new(addr[0], addr[1], addr[2], 1),
                device_index: 0,
            };
            dp.ensure_instance_netns(&plug.instance_id).unwrap();
            if n == 1 {
                // The router exists from the first plug on; nothing is
                // forwarded before the model's ruleset is loaded.
                dp.plug(&plug).unwrap();
                nft(&router, &router_bootstrap());
            } else {
                dp.plug(&plug).unwrap();
            }
            let ns = cfg.instance_netns(&plug.instance_id);
            for port in PORTS {
                echo_server(&ns, port);
            }
            inst.push(Inst { plug, subnet });
        }
        kernel_checks_off(&router);
        // Metadata: a listener on 169.254.169.254:80 in the router itself.
        echo_server_on(&router, Ipv4Addr::new(169, 254, 169, 254), 80);
        Lab {
            cfg,
            router,
            inst,
            _guard: guard,
        }
    }

    fn ns(&self, i: usize) -> String {
        self.cfg.instance_netns(&self.inst[i].plug.instance_id)
    }

    fn addr(&self, i: usize) -> Ipv4Addr {
        self.inst[i].plug.address
    }

    fn link(&self, i: usize) -> String {
        self.cfg.eni_link(&self.inst[i].plug.eni_id)
    }

    /// The model of the lab's VPC: instance `i` is in `groups[i]`; subnet A
    /// has ACL `acls.0`, subnet B `acls.1`.
    fn model(
        &self,
        groups: [&[&str]; 3],
        sgs: Vec<SecurityGroupNet>,
        acls: (AclNet, AclNet),
    ) -> NetworkModel {
        let enis: Vec<EniNet> = self
            .inst
            .iter()
            .zip(groups)
            .map(|(x, g)| EniNet {
                id: x.plug.eni_id.clone(),
                instance_id: x.plug.instance_id.clone(),
                device_index: 0,
                subnet_id: x.subnet.into(),
                mac: x.plug.mac.clone(),
                addresses: vec![x.plug.address],
                security_groups: g.iter().map(|s| s.to_string()).collect(),
                source_dest_check: true,
                public: Vec::new(),
            })
            .collect();
        let mut group_members: BTreeMap<String, Vec<Ipv4Addr>> = BTreeMap::new();
        for e in &enis {
            for g in &e.security_groups {
                group_members
                    .entry(g.clone())
                    .or_default()
                    .extend(&e.addresses);
            }
        }
        let subnet = |id: &str, c: &str, acl: &str| SubnetNet {
            id: id.into(),
            cidr: cidr(c),
            route_table: "rtb-0f".into(),
            network_acl: acl.into(),
        };
        let vpc = VpcNet {
            id: VPC.into(),
            cidrs: vec![cidr("10.0.0.0/16")],
            subnets: vec![
                subnet(SUBNET_A, "10.0.1.0/24", &acls.0.id),
                subnet(SUBNET_B, "10.0.2.0/24", &acls.1.id),
            ],
            route_tables: vec![RouteTableNet {
                id: "rtb-0f".into(),
                routes: Vec::new(),
            }],
            network_acls: vec![acls.0, acls.1],
            security_groups: sgs,
            enis,
            internet_gateway: None,
            nat_gateways: Vec::new(),
        };
        let mut m = NetworkModel::empty(ExternalNet {
            cidr: cidr("203.0.113.0/24"),
            host_address: Ipv4Addr::new(203, 0, 113, 1),
            public_pools: vec![cidr("198.51.100.0/24")],
            forward_to_uplink: false,
        });
        m.vpcs.push(vpc);
        m.group_members = group_members;
        m
    }

    fn apply(&self, model: &NetworkModel) {
        nft(
            &self.router,
            &router_ruleset(&self.cfg, model, VPC).unwrap(),
        );
    }

    /// Whether a TCP connection from instance `from` to instance `to`'s
    /// `port` completes and echoes.
    fn tcp(&self, from: usize, to: usize, port: u16) -> bool {
        connect(&self.ns(from), self.addr(to), port).is_some()
    }

    /// Like [`Lab::tcp`], to any address.
    fn tcp_to(&self, from: usize, to: Ipv4Addr, port: u16) -> bool {
        connect(&self.ns(from), to, port).is_some()
    }

    fn ping(&self, from: usize, to: usize) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(from), "ping", "-c1", "-W1", "-q"])
            .arg(self.addr(to).to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }
}

/// Anti-spoofing must be the firewall's work, not the kernel's (reverse-path
/// filter off); and instances must get ARP answers for their gateway (on
/// the router's loopback) whatever the data plane of the day sets on a
/// plug: `arp_ignore` 0 (the uplink sets its own to 1).
fn kernel_checks_off(router: &str) {
    sh(
        router,
        "for f in /proc/sys/net/ipv4/conf/*/rp_filter /proc/sys/net/ipv4/conf/*/arp_ignore; \
         do echo 0 > $f; done",
    );
}

/// Runs an `nft -f -` script in a namespace; panics with nft's message.
fn nft(netns: &str, script: &str) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nft -f in {netns}: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sh(netns: &str, script: &str) {
    let st = Command::new("ip")
        .args(["netns", "exec", netns, "sh", "-c", script])
        .status()
        .unwrap();
    assert!(st.success(), "{script}");
}

fn ip(netns: &str, args: &[&str]) {
    let out = Command::new("ip")
        .args(["-n", netns])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn echo_server(netns: &str, port: u16) {
    echo_server_on(netns, Ipv4Addr::UNSPECIFIED, port);
}

/// A TCP echo server (line by line) in `netns`, for the life of the process.
fn echo_server_on(netns: &str, addr: Ipv4Addr, port: u16) {
    let listener = run_in_netns(netns, move || {
        TcpListener::bind((addr, port)).map_err(|e| NetError::Invalid(e.to_string()))
    })
    .unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = match s.try_clone() {
                    Ok(w) => w,
                    Err(_) => return,
                };
                for line in BufReader::new(s).lines() {
                    let Ok(line) = line else { return };
                    if writeln!(w, "{line}").is_err() {
                        return;
                    }
                }
            });
        }
    });
}

/// An echo session: a line sent comes back.
struct Session {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Session {
    fn echo(&mut self, line: &str) -> bool {
        if writeln!(self.w, "{line}").is_err() {
            return false;
        }
        let mut got = String::new();
        matches!(self.r.read_line(&mut got), Ok(n) if n > 0) && got.trim_end() == line
    }
}

/// Connects from `netns` and checks one echo; `None` when it does not work.
fn connect(netns: &str, to: Ipv4Addr, port: u16) -> Option<Session> {
    let s = run_in_netns(netns, move || {
        let addr = SocketAddr::V4(SocketAddrV4::new(to, port));
        TcpStream::connect_timeout(&addr, Duration::from_millis(1000))
            .map_err(|e| NetError::Invalid(e.to_string()))
    })
    .ok()?;
    s.set_read_timeout(Some(Duration::from_millis(1500))).ok()?;
    let mut session = Session {
        w: s.try_clone().ok()?,
        r: BufReader::new(s),
    };
    session.echo("hello").then_some(session)
}

#[test]
fn security_groups_are_stateful_at_both_ends() {
    require_root!("filter", &["ip", "nft", "ping"]);
    let lab = Lab::new('k');
    let (i1, i2, i3) = (0, 1, 2);
    // Before the model's ruleset: the bootstrap table forwards nothing.
    assert!(!lab.tcp(i1, i2, 22), "bootstrap must drop forwarding");

    // cli (i1): may open SSH and 8080 anywhere, and ping; accepts nothing.
    // srv (i2): accepts SSH from i1 only and pings from the VPC; may only
    //   open 8080.
    // app (i3): accepts 8080 from members of cli (a group reference); may
    //   open anything. i3 is also in srv: its groups are a union.
    let sgs = |srv_ssh: bool| {
        let mut srv_in = vec![allow("10.0.0.0/16", icmp_echo())];
        if srv_ssh {
            srv_in.push(allow("10.0.1.10/32", tcp(22, 22)));
        }
        vec![
            group(
                "sg-0c11",
                vec![],
                vec![
                    allow("0.0.0.0/0", tcp(22, 22)),
                    allow("0.0.0.0/0", tcp(8080, 8080)),
                    allow("0.0.0.0/0", icmp_echo()),
                ],
            ),
            group("sg-05e7", srv_in, vec![allow("0.0.0.0/0", tcp(8080, 8080))]),
            group(
                "sg-0a99",
                vec![allow("sg-0c11", tcp(8080, 8080))],
                vec![allow("0.0.0.0/0", all())],
            ),
        ]
    };
    let groups: [&[&str]; 3] = [&["sg-0c11"], &["sg-05e7"], &["sg-0a99", "sg-05e7"]];
    let acls = || (allow_all_acl("acl-0a"), allow_all_acl("acl-0b"));
    lab.apply(&lab.model(groups, sgs(true), acls()));

    // Allowed by i1's egress and i2's ingress; the reply passes although
    // neither side allows it explicitly (stateful).
    assert!(lab.tcp(i1, i2, 22));
    // i2's ingress: SSH only from i1's address; 23 from nobody.
    assert!(!lab.tcp(i3, i2, 22));
    assert!(!lab.tcp(i3, i2, 23));
    // i2's egress allows only 8080: it cannot open SSH back to i1.
    assert!(!lab.tcp(i2, i1, 22));
    // A group reference: i1 is in cli, i2 is not.
    assert!(lab.tcp(i1, i3, 8080));
    assert!(!lab.tcp(i2, i3, 8080));
    // Union: i3 also accepts what srv allows (pings from the VPC).
    assert!(lab.ping(i1, i3));
    assert!(lab.ping(i1, i2));
    assert!(!lab.ping(i2, i1), "i2 has no ICMP egress");

    // Revoking i2's SSH rule: new connections fail at once; an established
    // connection continues (tracked, as on AWS).
    let mut open = connect(&lab.ns(i1), lab.addr(i2), 22).unwrap();
    lab.apply(&lab.model(groups, sgs(false), acls()));
    assert!(!lab.tcp(i1, i2, 22), "revoked: new connections are cut");
    assert!(open.echo("still here"), "established connection continues");
    lab.apply(&lab.model(groups, sgs(true), acls()));
    assert!(lab.tcp(i1, i2, 22));
}

#[test]
fn network_acls_are_stateless_and_skip_the_subnet() {
    require_root!("filter", &["ip", "nft", "ping"]);
    let lab = Lab::new('l');
    let (i1, i2, i3) = (0, 1, 2);
    let open = vec![group(
        "sg-0open",
        vec![allow("0.0.0.0/0", all())],
        vec![allow("0.0.0.0/0", all())],
    )];
    let groups: [&[&str]; 3] = [&["sg-0open"]; 3];
    // Subnet A denies inbound SSH, then allows everything. (Entries 90-110
    // and B's 100-103 are runs the renderer compiles into set lookups.)
    let acl_a = acl(
        "acl-0a",
        vec![
            entry(200, true, "0.0.0.0/0", all()),
            entry(100, false, "0.0.0.0/0", tcp(22, 22)),
            entry(90, false, "10.0.7.0/24", tcp(7000, 7001)),
            entry(110, false, "10.0.8.0/24", all()),
            entry(111, false, "10.0.9.0/24", all()),
        ],
        vec![entry(100, true, "0.0.0.0/0", all())],
    );
    // Subnet B accepts 8080 from subnet A and sends SSH anywhere; replies to
    // subnet A need the ephemeral-port entry.
    let acl_b = |ephemeral: bool| {
        let mut egress = vec![entry(100, true, "0.0.0.0/0", tcp(22, 22))];
        if ephemeral {
            egress.push(entry(110, true, "10.0.1.0/24", tcp(1024, 65535)));
        }
        acl(
            "acl-0b",
            vec![
                entry(100, true, "10.0.1.0/24", tcp(8080, 8080)),
                entry(101, true, "10.0.9.0/24", tcp(8080, 8090)),
                entry(102, true, "10.0.1.0/24", tcp(23, 23)),
                // Overlaps 100 and 101: a lookup of its own.
                entry(103, true, "10.0.0.0/8", tcp(8085, 8086)),
            ],
            egress,
        )
    };
    lab.apply(&lab.model(groups, open.clone(), (acl_a.clone(), acl_b(true))));

    // Within subnet A its ACL does not apply: SSH works.
    assert!(lab.tcp(i2, i1, 22));
    // Across subnets, A's ingress denies SSH (rule 100 before rule 200).
    assert!(!lab.tcp(i3, i1, 22));
    // 7000 from i3 fails too, statelessly: the SYN leaves B (7000 is in
    // its ephemeral-port entry) and enters A (rule 200), but i1's reply is
    // dropped entering B, whose ingress accepts only 8080.
    assert!(!lab.tcp(i3, i1, 7000));
    // A → B on 8080: B's ingress allows it, the reply leaves B by the
    // ephemeral-port entry and enters A by rule 200.
    assert!(lab.tcp(i1, i3, 8080));
    // Not 7000: B's ingress has no entry for it (final deny).
    assert!(!lab.tcp(i1, i3, 7000));
    // 23 from A: the second element of B's compiled lookup.
    assert!(lab.tcp(i1, i3, 23));
    // Pings across: B denies ICMP both ways; within A they pass.
    assert!(!lab.ping(i1, i3));
    assert!(lab.ping(i1, i2));

    // Stateless: without the ephemeral entry the SYN reaches i3 but its
    // reply is dropped leaving B.
    lab.apply(&lab.model(groups, open, (acl_a, acl_b(false))));
    assert!(!lab.tcp(i1, i3, 8080));
}

#[test]
fn spoofed_sources_go_nowhere_and_metadata_is_always_reachable() {
    require_root!("filter", &["ip", "nft", "ping"]);
    let lab = Lab::new('m');
    let (i1, i2, i3) = (0, 1, 2);
    let sgs = vec![group(
        "sg-0open",
        vec![allow("0.0.0.0/0", all())],
        vec![allow("0.0.0.0/0", all())],
    )];
    // i3: no security group at all (nothing in or out) in a subnet whose ACL
    // denies everything (no entries: only the final `*` deny).
    let groups: [&[&str]; 3] = [&["sg-0open"], &["sg-0open"], &[]];
    let model = |check: bool| {
        let mut m = lab.model(
            groups,
            sgs.clone(),
            (allow_all_acl("acl-0a"), acl("acl-0b", vec![], vec![])),
        );
        m.vpcs[0].enis[i2].source_dest_check = check;
        m
    };
    lab.apply(&model(true));

    // Metadata from every instance, i3 included, whatever its SG and ACL say.
    for i in [i1, i2, i3] {
        assert!(
            connect(&lab.ns(i), Ipv4Addr::new(169, 254, 169, 254), 80).is_some(),
            "metadata from i{}",
            i + 1
        );
    }
    assert!(!lab.tcp(i3, i1, 7000), "i3 is cut off otherwise");
    assert!(!lab.tcp(i1, i3, 7000));

    // i2 forges a source address that is not its own: 10.0.1.99 (the router
    // even has a route back to it through i2, as for a NAT instance).
    assert!(lab.tcp(i2, i1, 7000));
    let spoof = "10.0.1.99";
    ip(
        &lab.ns(i2),
        &["addr", "add", &format!("{spoof}/32"), "dev", "eth0"],
    );
    ip(
        &lab.ns(i2),
        &[
            "route",
            "replace",
            "10.0.1.10/32",
            "via",
            "10.0.1.1",
            "dev",
            "eth0",
            "src",
            spoof,
        ],
    );
    ip(
        &lab.ns(i2),
        &[
            "route",
            "replace",
            "169.254.169.254/32",
            "via",
            "10.0.1.1",
            "dev",
            "eth0",
            "src",
            spoof,
        ],
    );
    ip(
        &lab.router,
        &[
            "route",
            "replace",
            &format!("{spoof}/32"),
            "dev",
            &lab.link(i2),
        ],
    );
    assert!(
        !lab.tcp(i2, i1, 7000),
        "source/dest check drops the forgery"
    );
    assert!(
        connect(&lab.ns(i2), Ipv4Addr::new(169, 254, 169, 254), 80).is_none(),
        "metadata never answers a forged source"
    );
    // With the check off, i2 may send from any address (it may forward).
    lab.apply(&model(false));
    assert!(lab.tcp(i2, i1, 7000), "check off: forwarded traffic passes");
    assert!(
        connect(&lab.ns(i2), Ipv4Addr::new(169, 254, 169, 254), 80).is_none(),
        "metadata still only from the ENI's own addresses"
    );
}

/// A model with every kind of router link and rule the renderer knows: an
/// internet gateway with public mappings, a public NAT gateway, a peering
/// (this VPC as accepter), a transit-gateway attachment, an ENI with two
/// addresses and source/dest check off, a group reference with no members,
/// UDP ports, ICMP type and code, a raw protocol number.
fn rich_model() -> NetworkModel {
    use nubo_net::model::{
        NatGatewayNet, PeerSide, PeeringNet, TgwAttachmentNet, TransitGatewayNet,
    };
    let m = |protocol, l4| Match { protocol, l4 };
    let icmp = |t, c| {
        m(
            Some(1),
            L4::Icmp {
                icmp_type: t,
                code: c,
            },
        )
    };
    let eni = |n: u8, subnet: &str, addrs: &[Ipv4Addr], groups: &[&str]| EniNet {
        id: format!("eni-0000000000000{n:04}"),
        instance_id: format!("i-0{n}"),
        device_index: 0,
        subnet_id: subnet.into(),
        mac: format!("02:00:00:00:00:{n:02x}"),
        addresses: addrs.to_vec(),
        security_groups: groups.iter().map(|g| g.to_string()).collect(),
        source_dest_check: true,
        public: Vec::new(),
    };
    let mut web = eni(
        1,
        SUBNET_A,
        &[Ipv4Addr::new(10, 0, 1, 10)],
        &["sg-0a", "sg-0b"],
    );
    web.public = vec![(Ipv4Addr::new(10, 0, 1, 10), Ipv4Addr::new(198, 51, 100, 10))];
    let mut fwd = eni(
        2,
        SUBNET_B,
        &[Ipv4Addr::new(10, 0, 2, 10), Ipv4Addr::new(10, 0, 2, 11)],
        &["sg-0a"],
    );
    fwd.source_dest_check = false;
    let subnet = |id: &str, c: &str, rtb: &str, acl: &str| SubnetNet {
        id: id.into(),
        cidr: cidr(c),
        route_table: rtb.into(),
        network_acl: acl.into(),
    };
    let vpc = VpcNet {
        id: VPC.into(),
        cidrs: vec![cidr("10.0.0.0/16"), cidr("10.9.0.0/16")],
        subnets: vec![
            subnet(SUBNET_A, "10.0.1.0/24", "rtb-0a", "acl-0a"),
            subnet(SUBNET_B, "10.0.2.0/24", "rtb-0b", "acl-0b"),
        ],
        route_tables: Vec::new(),
        network_acls: vec![
            acl(
                "acl-0a",
                vec![
                    entry(100, false, "10.0.2.0/24", tcp(22, 22)),
                    entry(110, true, "0.0.0.0/0", icmp(Some(3), Some(4))),
                    entry(120, true, "10.0.0.0/8", m(Some(17), L4::Ports(53, 53))),
                    entry(130, true, "192.0.2.7/32", m(Some(47), L4::Any)),
                ],
                vec![entry(100, true, "0.0.0.0/0", all())],
            ),
            acl("acl-0b", vec![], vec![]),
        ],
        security_groups: vec![
            group(
                "sg-0a",
                vec![
                    allow("sg-0a", all()),
                    allow("sg-0e", tcp(443, 443)),
                    allow("0.0.0.0/0", icmp(None, None)),
                ],
                vec![allow("0.0.0.0/0", all())],
            ),
            group(
                "sg-0b",
                vec![
                    allow("10.1.0.0/16", tcp(1000, 2000)),
                    allow("203.0.113.9/32", icmp(Some(8), Some(0))),
                ],
                vec![],
            ),
        ],
        enis: vec![web, fwd],
        internet_gateway: Some("igw-0a".into()),
        nat_gateways: vec![NatGatewayNet {
            id: "nat-0a".into(),
            subnet_id: SUBNET_A.into(),
            eni_id: "eni-00000000000000fa".into(),
            mac: "02:00:00:00:00:fa".into(),
            private_address: Ipv4Addr::new(10, 0, 1, 50),
            public_address: Some(Ipv4Addr::new(198, 51, 100, 50)),
        }],
    };
    let mut model = NetworkModel::empty(ExternalNet {
        cidr: cidr("203.0.113.0/24"),
        host_address: Ipv4Addr::new(203, 0, 113, 1),
        public_pools: vec![cidr("198.51.100.0/24")],
        forward_to_uplink: false,
    });
    model.vpcs.push(vpc);
    model.peerings.push(PeeringNet {
        id: "pcx-0p".into(),
        requester: PeerSide {
            vpc_id: "vpc-0other".into(),
            cidrs: vec![cidr("10.1.0.0/16")],
        },
        accepter: PeerSide {
            vpc_id: VPC.into(),
            cidrs: vec![cidr("10.0.0.0/16"), cidr("10.9.0.0/16")],
        },
    });
    model.transit_gateways.push(TransitGatewayNet {
        id: "tgw-0t".into(),
        attachments: vec![TgwAttachmentNet {
            id: "tgw-attach-0t".into(),
            vpc_id: VPC.into(),
            subnet_id: SUBNET_B.into(),
            route_table: None,
        }],
        route_tables: Vec::new(),
    });
    model.group_members.insert(
        "sg-0a".into(),
        vec![
            Ipv4Addr::new(10, 0, 2, 11),
            Ipv4Addr::new(10, 0, 1, 10),
            Ipv4Addr::new(10, 0, 2, 10),
            Ipv4Addr::new(10, 0, 1, 10),
        ],
    );
    model
}

#[test]
fn rendered_scripts_load_and_replace_atomically() {
    require_root!("filter", &["ip", "nft", "ping"]);
    let guard = Guard::new('n');
    let cfg = NetConfig {
        prefix: guard.prefix.clone(),
    };
    let ns = format!("{}-nft", guard.prefix);
    let st = Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap();
    assert!(st.success());
    let model = rich_model();
    let script = router_ruleset(&cfg, &model, VPC).unwrap();
    // Loads over nothing, over the bootstrap, and over itself.
    nft(&ns, &script);
    nft(&ns, &router_bootstrap());
    nft(&ns, &script);
    nft(&ns, &script);
    // What the kernel holds: the group set deduplicated, the empty one
    // declared, every base chain and the ones links jump to.
    let out = Command::new("ip")
        .args(["netns", "exec", &ns, "nft", "list", "table", "inet", "nubo"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("set g_0e {"), "{listed}");
    for chain in [
        "prerouting",
        "public_in",
        "public_out",
        "guard",
        "acl",
        "sg",
        "sg_in",
        "input",
        "from_uplink",
        "acl_in_0a",
    ] {
        assert!(
            listed.contains(&format!("chain {chain} {{")),
            "{chain}\n{listed}"
        );
    }
    // The bootstrap's chain is gone: the script replaced the whole table.
    assert!(!listed.contains("chain forward {"), "{listed}");
    let set = listed.split("set g_0a {").nth(1).unwrap();
    let set = &set[..set.find('}').unwrap()];
    for a in ["10.0.1.10", "10.0.2.10", "10.0.2.11"] {
        assert_eq!(set.matches(a).count(), 1, "{a} in {set}");
    }
    // The NAT gateway's table loads too.
    let nat = &model.vpcs[0].nat_gateways[0];
    nft(&ns, &nubo_net::filter::nat_gateway_ruleset(nat));
}

/// An incremental transaction leaves in the kernel exactly what replacing
/// the whole table leaves: a revoked rule, a member gone from a group, an
/// ENI unplugged (its chains deleted), a group no longer referenced (its set
/// deleted), and back to the start.
#[test]
fn incremental_updates_leave_what_a_whole_replace_leaves() {
    require_root!("filter", &["ip", "nft"]);
    let guard = Guard::new('d');
    let cfg = NetConfig {
        prefix: guard.prefix.clone(),
    };
    let (inc, whole) = (
        format!("{}-inc", guard.prefix),
        format!("{}-whole", guard.prefix),
    );
    for ns in [&inc, &whole] {
        assert!(Command::new("ip")
            .args(["netns", "add", ns])
            .status()
            .unwrap()
            .success());
    }
    let list = |ns: &str| {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "list", "table", "inet", "nubo"])
            .output()
            .unwrap();
        assert!(out.status.success());
        // Sets and chains in name order (nft lists them in creation order).
        let text = String::from_utf8(out.stdout).unwrap();
        let mut blocks: Vec<Vec<String>> = Vec::new();
        for line in text
            .lines()
            .filter(|l| l.starts_with('\t') && !l.trim().is_empty())
        {
            if line.starts_with("\tset ") || line.starts_with("\tchain ") || blocks.is_empty() {
                blocks.push(Vec::new());
            }
            blocks.last_mut().unwrap().push(line.to_string());
        }
        blocks.sort();
        blocks
    };
    let start = rich_model();
    let mut revoked = start.clone();
    revoked.vpcs[0].security_groups[0].ingress.remove(1);
    let mut fewer = revoked.clone();
    fewer.group_members.get_mut("sg-0a").unwrap().remove(0);
    let mut unplugged = fewer.clone();
    unplugged.vpcs[0].enis.remove(1);
    let mut unreferenced = unplugged.clone();
    unreferenced.vpcs[0].security_groups[0].ingress.remove(0);
    let steps = [
        start.clone(),
        revoked,
        fewer,
        unplugged,
        unreferenced,
        start,
    ];
    let mut last = router_ruleset(&cfg, &steps[0], VPC).unwrap();
    nft(&inc, &last);
    for (n, model) in steps.iter().enumerate().skip(1) {
        let next = router_ruleset(&cfg, model, VPC).unwrap();
        let delta = nubo_net::filter::delta(&last, &next).unwrap();
        assert!(
            !delta.is_empty() && !delta.contains("table inet nubo {"),
            "step {n}"
        );
        nft(&inc, &delta);
        nft(&whole, &next);
        assert_eq!(list(&inc), list(&whole), "step {n}, by:\n{delta}");
        last = next;
    }
}

/// A TCP server in `netns` that answers each connection with the caller's
/// address (what the far end sees as the source).
fn whoami_server(netns: &str, port: u16) {
    let listener = run_in_netns(netns, move || {
        TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
            .map_err(|e| NetError::Invalid(e.to_string()))
    })
    .unwrap();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            if let Ok(peer) = s.peer_addr() {
                let _ = writeln!(s, "{}", peer.ip());
            }
        }
    });
}

/// The source address `to:port`'s whoami server saw for a connection from
/// `netns`, or `None` when the connection does not work.
fn seen_as(netns: &str, to: Ipv4Addr, port: u16) -> Option<String> {
    let s = run_in_netns(netns, move || {
        let addr = SocketAddr::V4(SocketAddrV4::new(to, port));
        TcpStream::connect_timeout(&addr, Duration::from_millis(1000))
            .map_err(|e| NetError::Invalid(e.to_string()))
    })
    .ok()?;
    s.set_read_timeout(Some(Duration::from_millis(1500))).ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    Some(line.trim().to_string()).filter(|l| !l.is_empty())
}

/// The internet host's address.
const INTERNET: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 200);

/// An "internet host" namespace on the router's uplink (a veth pair stands
/// in for the external bridge): 203.0.113.200 with routes to the public pool
/// and, to try reaching private addresses directly, to the VPC's private
/// block through the router. The router's uplink holds `publics` and is its
/// main table's default route. Echo on 7000, whoami on 7001.
fn attach_internet(lab: &Lab, publics: &[&str]) -> String {
    let inet = format!("{}-inet", lab.cfg.prefix);
    assert!(Command::new("ip")
        .args(["netns", "add", &inet])
        .status()
        .unwrap()
        .success());
    let (up, host) = (lab.cfg.uplink_router(VPC), lab.cfg.uplink_host(VPC));
    ip(
        &lab.router,
        &[
            "link", "add", &up, "type", "veth", "peer", "name", &host, "netns", &inet,
        ],
    );
    for public in publics {
        ip(
            &lab.router,
            &["addr", "add", &format!("{public}/32"), "dev", &up],
        );
    }
    // The uplink answers ARP only for its own (public) addresses.
    sh(
        &lab.router,
        &format!("echo 1 > /proc/sys/net/ipv4/conf/{up}/arp_ignore"),
    );
    ip(&lab.router, &["link", "set", &up, "up"]);
    ip(
        &lab.router,
        &["route", "add", "default", "dev", &up, "scope", "link"],
    );
    ip(&inet, &["link", "set", "lo", "up"]);
    ip(
        &inet,
        &["addr", "add", &format!("{INTERNET}/24"), "dev", &host],
    );
    ip(&inet, &["link", "set", &host, "up"]);
    ip(&inet, &["route", "add", "198.51.100.0/24", "dev", &host]);
    ip(
        &inet,
        &[
            "route",
            "add",
            "10.0.0.0/16",
            "via",
            publics[0],
            "dev",
            &host,
            "onlink",
        ],
    );
    echo_server(&inet, 7000);
    whoami_server(&inet, 7001);
    inet
}

#[test]
fn the_internet_gateway_carries_only_public_addresses() {
    require_root!("filter", &["ip", "nft", "ping"]);
    let lab = Lab::new('o');
    let (i1, i2) = (0, 1);
    let inet = attach_internet(&lab, &["198.51.100.10"]);
    let internet = INTERNET;

    let open = vec![group(
        "sg-0open",
        vec![allow("0.0.0.0/0", all())],
        vec![allow("0.0.0.0/0", all())],
    )];
    let mut model = lab.model(
        [&["sg-0open"]; 3],
        open,
        (allow_all_acl("acl-0a"), allow_all_acl("acl-0b")),
    );
    model.vpcs[0].internet_gateway = Some("igw-0f".into());
    model.vpcs[0].enis[i1].public = vec![(lab.addr(i1), Ipv4Addr::new(198, 51, 100, 10))];
    lab.apply(&model);

    // i1 reaches the internet host, seen with its public address.
    assert_eq!(
        seen_as(&lab.ns(i1), internet, 7001).as_deref(),
        Some("198.51.100.10")
    );
    // The internet host reaches i1 at its public address (1:1 DNAT).
    assert!(connect(&inet, Ipv4Addr::new(198, 51, 100, 10), 7000).is_some());
    // i2 has no public address: no internet (its private source would get
    // an answer through the route above, were it let out).
    assert!(connect(&lab.ns(i2), internet, 7000).is_none());
    // The internet gateway never routes to a private address.
    assert!(connect(&inet, lab.addr(i2), 7000).is_none());
    assert!(connect(&inet, lab.addr(i1), 7000).is_none());
}

#[test]
fn a_nat_gateway_takes_private_subnets_out_and_nothing_in() {
    require_root!("filter", &["ip", "nft", "ping"]);
    let lab = Lab::new('q');
    let i3 = 2;
    // The NAT gateway: its own namespace, its ENI plugged like an
    // instance's, in subnet A (whose traffic uses the main table: out by
    // the uplink).
    let cfg = lab.cfg.clone();
    let dp = DataPlane::new(cfg.clone(), Arc::new(LinuxNetOps::new()));
    let nat = nubo_net::model::NatGatewayNet {
        id: "nat-0f".into(),
        subnet_id: SUBNET_A.into(),
        eni_id: "eni-00000000000000fa".into(),
        mac: "02:00:00:00:0f:fa".into(),
        private_address: Ipv4Addr::new(10, 0, 1, 50),
        public_address: Some(Ipv4Addr::new(198, 51, 100, 50)),
    };
    dp.ensure_instance_netns(&nat.id).unwrap();
    dp.plug(&EniPlug {
        eni_id: nat.eni_id.clone(),
        vpc_id: VPC.into(),
        instance_id: nat.id.clone(),
        mac: nat.mac.clone(),
        address: nat.private_address,
        prefix_len: 24,
        gateway: Ipv4Addr::new(10, 0, 1, 1),
        device_index: 0,
    })
    .unwrap();
    kernel_checks_off(&lab.router);
    let inet = attach_internet(&lab, &["198.51.100.50"]);
    let nat_ns = cfg.nat_netns(&nat.id);
    sh(
        &nat_ns,
        "echo 1 > /proc/sys/net/ipv4/ip_forward; \
         echo 0 > /proc/sys/net/ipv4/conf/all/send_redirects; \
         echo 0 > /proc/sys/net/ipv4/conf/eth0/send_redirects",
    );
    nft(&nat_ns, &nubo_net::filter::nat_gateway_ruleset(&nat));
    echo_server(&nat_ns, 7000);
    // Subnet B's route table sends 0.0.0.0/0 to the NAT gateway (policy
    // routing by the firewall mark, as the data plane does it).
    let table = nubo_net::model::kernel_table("rtb-0b").to_string();
    ip(
        &lab.router,
        &[
            "rule",
            "add",
            "prio",
            "1000",
            "to",
            "10.0.0.0/16",
            "lookup",
            "main",
        ],
    );
    ip(
        &lab.router,
        &[
            "rule", "add", "prio", "2000", "fwmark", &table, "lookup", &table,
        ],
    );
    ip(
        &lab.router,
        &[
            "route",
            "add",
            "default",
            "via",
            "10.0.1.50",
            "dev",
            &cfg.eni_link(&nat.eni_id),
            "onlink",
            "table",
            &table,
        ],
    );

    let open = vec![group(
        "sg-0open",
        vec![allow("0.0.0.0/0", all())],
        vec![allow("0.0.0.0/0", all())],
    )];
    let mut model = lab.model(
        [&["sg-0open"]; 3],
        open,
        (allow_all_acl("acl-0a"), allow_all_acl("acl-0b")),
    );
    let vpc = &mut model.vpcs[0];
    vpc.internet_gateway = Some("igw-0f".into());
    vpc.subnets[1].route_table = "rtb-0b".into();
    vpc.route_tables.push(RouteTableNet {
        id: "rtb-0b".into(),
        routes: Vec::new(),
    });
    vpc.nat_gateways.push(nat.clone());
    lab.apply(&model);

    // i3 (subnet B, no public address) reaches the internet host, seen as
    // the NAT gateway's Elastic IP.
    assert_eq!(
        seen_as(&lab.ns(i3), INTERNET, 7001).as_deref(),
        Some("198.51.100.50")
    );
    assert!(connect(&lab.ns(i3), INTERNET, 7000).is_some());
    // Nothing connects inward: not to the Elastic IP (the gateway itself
    // listens on 7000), not to its private address.
    assert!(connect(&inet, Ipv4Addr::new(198, 51, 100, 50), 7000).is_none());
    assert!(connect(&inet, nat.private_address, 7000).is_none());
    // Nor through it from inside the VPC to the gateway itself.
    assert!(connect(&lab.ns(i3), nat.private_address, 7000).is_none());
}

#[test]
fn a_peering_carries_only_traffic_between_the_two_vpcs() {
    use nubo_net::model::{PeerSide, PeeringNet};
    require_root!("filter", &["ip", "nft", "ping"]);
    let lab = Lab::new('r');
    let (i1, i2) = (0, 1);
    // VPC 1 (the lab) has an internet gateway; i1 has a public address.
    kernel_checks_off(&lab.router);
    attach_internet(&lab, &["198.51.100.10"]);
    // VPC 2: 10.1.0.0/16, one instance, no gateway.
    let cfg = lab.cfg.clone();
    let dp = DataPlane::new(cfg.clone(), Arc::new(LinuxNetOps::new()));
    let vpc2 = "vpc-0g";
    let g1 = EniPlug {
        eni_id: "eni-00000000000000b1".into(),
        vpc_id: vpc2.into(),
        instance_id: "i-0g1".into(),
        mac: "02:00:00:00:0b:01".into(),
        address: Ipv4Addr::new(10, 1, 0, 10),
        prefix_len: 24,
        gateway: Ipv4Addr::new(10, 1, 0, 1),
        device_index: 0,
    };
    dp.ensure_instance_netns(&g1.instance_id).unwrap();
    dp.plug(&g1).unwrap();
    let router2 = cfg.router_netns(vpc2);
    nft(&router2, &router_bootstrap());
    kernel_checks_off(&router2);
    let g1_ns = cfg.instance_netns(&g1.instance_id);
    for port in PORTS {
        echo_server(&g1_ns, port);
    }
    // The peering link and routes on both sides, VPC 2 even routing
    // everything (the internet too) to its peer.
    let pcx = "pcx-0fb";
    let link = cfg.peering_link(pcx);
    ip(
        &lab.router,
        &[
            "link", "add", &link, "type", "veth", "peer", "name", &link, "netns", &router2,
        ],
    );
    ip(
        &lab.router,
        &["addr", "add", "169.254.0.1/32", "dev", &link],
    );
    ip(&router2, &["addr", "add", "169.254.0.2/32", "dev", &link]);
    ip(&lab.router, &["link", "set", &link, "up"]);
    ip(&router2, &["link", "set", &link, "up"]);
    ip(
        &lab.router,
        &[
            "route",
            "add",
            "10.1.0.0/16",
            "via",
            "169.254.0.2",
            "dev",
            &link,
            "onlink",
        ],
    );
    ip(
        &router2,
        &[
            "route",
            "add",
            "default",
            "via",
            "169.254.0.1",
            "dev",
            &link,
            "onlink",
        ],
    );
    kernel_checks_off(&router2);

    // i1 accepts 7000 from VPC 2's group (a cross-VPC reference); i2 is
    // open; g1 accepts anything from VPC 1.
    let sgs = vec![
        group(
            "sg-0web",
            vec![allow("sg-0b", tcp(7000, 7000))],
            vec![allow("0.0.0.0/0", all())],
        ),
        group(
            "sg-0open",
            vec![allow("0.0.0.0/0", all())],
            vec![allow("0.0.0.0/0", all())],
        ),
    ];
    let models = |peered: bool| {
        let mut m = lab.model(
            [&["sg-0web"], &["sg-0open"], &["sg-0open"]],
            sgs.clone(),
            (allow_all_acl("acl-0a"), allow_all_acl("acl-0b")),
        );
        m.vpcs[0].internet_gateway = Some("igw-0f".into());
        m.vpcs[0].enis[i1].public = vec![(lab.addr(i1), Ipv4Addr::new(198, 51, 100, 10))];
        m.vpcs.push(VpcNet {
            id: vpc2.into(),
            cidrs: vec![cidr("10.1.0.0/16")],
            subnets: vec![SubnetNet {
                id: "subnet-0b1".into(),
                cidr: cidr("10.1.0.0/24"),
                route_table: "rtb-0b".into(),
                network_acl: "acl-0b1".into(),
            }],
            route_tables: Vec::new(),
            network_acls: vec![allow_all_acl("acl-0b1")],
            security_groups: vec![group(
                "sg-0b",
                vec![allow("10.0.0.0/16", all())],
                vec![allow("0.0.0.0/0", all())],
            )],
            enis: vec![EniNet {
                id: g1.eni_id.clone(),
                instance_id: g1.instance_id.clone(),
                device_index: 0,
                subnet_id: "subnet-0b1".into(),
                mac: g1.mac.clone(),
                addresses: vec![g1.address],
                security_groups: vec!["sg-0b".into()],
                source_dest_check: true,
                public: Vec::new(),
            }],
            internet_gateway: None,
            nat_gateways: Vec::new(),
        });
        m.group_members.insert("sg-0b".into(), vec![g1.address]);
        if peered {
            m.peerings.push(PeeringNet {
                id: pcx.into(),
                requester: PeerSide {
                    vpc_id: VPC.into(),
                    cidrs: vec![cidr("10.0.0.0/16")],
                },
                accepter: PeerSide {
                    vpc_id: vpc2.into(),
                    cidrs: vec![cidr("10.1.0.0/16")],
                },
            });
        }
        m
    };
    let apply = |m: &NetworkModel| {
        nft(&lab.router, &router_ruleset(&cfg, m, VPC).unwrap());
        nft(&router2, &router_ruleset(&cfg, m, vpc2).unwrap());
    };
    let g1_to = |to: Ipv4Addr, port| connect(&g1_ns, to, port).is_some();

    // The link and routes exist, but no active peering in the model: the
    // routers forward nothing over the link.
    apply(&models(false));
    assert!(!g1_to(lab.addr(i2), 7000));
    assert!(!lab.tcp_to(i2, g1.address, 7000));

    apply(&models(true));
    // Both ways, subject to security groups, including a group of the peer.
    assert!(g1_to(lab.addr(i2), 7000));
    assert!(lab.tcp_to(i2, g1.address, 7000));
    assert!(g1_to(lab.addr(i1), 7000), "i1 accepts the peer's group");
    assert!(!g1_to(lab.addr(i1), 22), "but only on 7000");
    assert!(lab.tcp_to(i1, g1.address, 7000));
    // No transitive routing: VPC 2 cannot use VPC 1's internet gateway
    // (dropped entering VPC 1: not to its CIDRs), while VPC 1's public
    // instance can.
    assert!(connect(&lab.ns(i1), INTERNET, 7000).is_some());
    assert!(!g1_to(INTERNET, 7000));
}
