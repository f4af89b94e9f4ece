//! Privileged suite: the real data plane against the kernel. Needs root and
//! iproute2; otherwise each test prints why it is skipped and passes.
//!
//! Every kernel object carries a test-unique prefix (a letter per test + 3 hex
//! digits of the process ID) and a Drop guard deletes every namespace with that prefix even
//! when an assertion fails. Traffic stays inside the namespaces created here.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;
use common::Guard;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nubo_net::imds::{
    BoxFuture, HttpTokens, Imds, InstanceMetadata, InterfaceMetadata, MetadataOptions,
    MetadataSource,
};
use nubo_net::linux::LinuxNetOps;
use nubo_net::netns::run_in_netns;
use nubo_net::topology::open_model;
use nubo_net::{DataPlane, EniPlug, NetConfig, NetError};

/// Applies a model allowing everything between `plugs` (routers drop every
/// forwarded packet until a model is applied).
fn open(dp: &DataPlane, plugs: &[&EniPlug]) {
    let plugs: Vec<EniPlug> = plugs.iter().map(|p| (*p).clone()).collect();
    dp.apply_network(&open_model(Default::default(), &plugs))
        .unwrap();
}

fn eni(n: u8, vpc: &str, inst: &str, addr: [u8; 4]) -> EniPlug {
    EniPlug {
        eni_id: format!("eni-00000000000000{n:03}"),
        vpc_id: vpc.into(),
        instance_id: inst.into(),
        mac: format!("02:00:00:00:{n:02x}:01"),
        address: Ipv4Addr::from(addr),
        prefix_len: 24,
        gateway: Ipv4Addr::new(addr[0], addr[1], addr[2], 1),
        device_index: 0,
    }
}

/// A TCP server in `netns` on `addr:port` that answers each connection with `name`.
fn serve_name(netns: &str, addr: Ipv4Addr, port: u16, name: &'static str) {
    let listener = run_in_netns(netns, move || {
        TcpListener::bind((addr, port)).map_err(|e| NetError::Invalid(e.to_string()))
    })
    .unwrap();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let _ = s.write_all(name.as_bytes());
        }
    });
}

/// Connects from inside `netns` and reads what the server says (None: unreachable).
fn connect_from(netns: &str, to: Ipv4Addr, port: u16) -> Option<String> {
    run_in_netns(netns, move || {
        let addr = SocketAddr::V4(SocketAddrV4::new(to, port));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(1500))
            .map_err(|e| NetError::Invalid(e.to_string()))?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok();
        let mut out = String::new();
        s.read_to_string(&mut out)
            .map_err(|e| NetError::Invalid(e.to_string()))?;
        Ok(out)
    })
    .ok()
}

/// One HTTP/1.1 request to the metadata address from inside `netns`:
/// (status, headers lowercased, body).
fn http_from(
    netns: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, HashMap<String, String>, String) {
    http_try(netns, method, path, headers).unwrap()
}

/// Like `http_from`, but `Err` when no answer arrives.
fn http_try(
    netns: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, HashMap<String, String>, String), NetError> {
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "PUT" {
        req.push_str("Content-Length: 0\r\n");
    }
    req.push_str("\r\n");
    let raw = run_in_netns(netns, move || {
        let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(169, 254, 169, 254), 80));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .map_err(|e| NetError::Invalid(format!("connect to metadata: {e}")))?;
        s.set_read_timeout(Some(Duration::from_secs(3))).ok();
        s.write_all(req.as_bytes())
            .map_err(|e| NetError::Invalid(e.to_string()))?;
        let mut out = String::new();
        s.read_to_string(&mut out)
            .map_err(|e| NetError::Invalid(e.to_string()))?;
        Ok(out)
    })?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    Ok((status, headers, body.to_string()))
}

/// The eth0 of a namespace: (mac, ["addr/len", ...]).
fn eth0(netns: &str) -> (String, Vec<String>) {
    let out = Command::new("ip")
        .args(["-n", netns, "-j", "addr", "show", "dev", "eth0"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let link = &v[0];
    let addrs = link["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["family"] == "inet")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    (link["address"].as_str().unwrap().to_string(), addrs)
}

struct FakeSource(HashMap<(String, Ipv4Addr), InstanceMetadata>);

impl MetadataSource for FakeSource {
    fn lookup(&self, vpc_id: &str, source: Ipv4Addr) -> BoxFuture<'_, Option<InstanceMetadata>> {
        let found = self.0.get(&(vpc_id.to_string(), source)).cloned();
        Box::pin(async move { found })
    }
}

fn metadata(e: &EniPlug, tokens: HttpTokens) -> InstanceMetadata {
    InstanceMetadata {
        ami_id: "ami-00000000000000001".into(),
        ami_launch_index: 0,
        instance_id: e.instance_id.clone(),
        instance_type: "t3.micro".into(),
        local_ipv4: e.address,
        local_hostname: format!(
            "ip-{}.ec2.internal",
            e.address.to_string().replace('.', "-")
        ),
        public_ipv4: None,
        public_hostname: None,
        mac: e.mac.clone(),
        interfaces: vec![InterfaceMetadata {
            mac: e.mac.clone(),
            interface_id: e.eni_id.clone(),
            local_ipv4s: vec![e.address],
            vpc_id: e.vpc_id.clone(),
            ..Default::default()
        }],
        availability_zone: "us-east-1a".into(),
        region: "us-east-1".into(),
        account_id: "111122223333".into(),
        security_groups: vec!["default".into()],
        public_keys: vec![],
        block_device_mapping: vec![],
        user_data: None,
        reservation_id: "r-0001".into(),
        launch_time_iso: "2026-11-23T18:00:00Z".into(),
        architecture: "x86_64".into(),
        image_id: "ami-00000000000000001".into(),
        options: MetadataOptions {
            http_tokens: tokens,
            ..MetadataOptions::default()
        },
        tags: vec![],
    }
}

#[test]
fn vpc_routing_isolation_and_metadata() {
    require_root!("data-plane", &["ip"]);
    let guard = Guard::new('t');
    let cfg = NetConfig {
        prefix: guard.prefix.clone(),
    };
    let dp = DataPlane::new(cfg, Arc::new(LinuxNetOps::new()));
    // VPC 1: a and e in subnet 10.0.1.0/24, b in 10.0.2.0/24.
    // VPC 2 overlaps VPC 1: c has b's very address.
    let a = eni(1, "vpc-01", "i-0a", [10, 0, 1, 5]);
    let e = eni(2, "vpc-01", "i-0e", [10, 0, 1, 7]);
    let b = eni(3, "vpc-01", "i-0b", [10, 0, 2, 5]);
    let c = eni(4, "vpc-02", "i-0c", [10, 0, 2, 5]);
    let mut plug_times = Vec::new();
    for x in [&a, &e, &b, &c] {
        let ns = dp.ensure_instance_netns(&x.instance_id).unwrap();
        assert_eq!(ns, dp.instance_netns(&x.instance_id));
        let t = Instant::now();
        dp.plug(x).unwrap();
        plug_times.push(t.elapsed());
    }
    eprintln!("plug times: {plug_times:?}");
    // Plugging again is idempotent.
    let t = Instant::now();
    dp.plug(&a).unwrap();
    eprintln!("re-plug time: {:?}", t.elapsed());

    // eth0 has exactly the ENI's MAC and address.
    for x in [&a, &e, &b, &c] {
        let (mac, addrs) = eth0(&dp.instance_netns(&x.instance_id));
        assert_eq!(mac, x.mac);
        assert_eq!(addrs, vec![format!("{}/24", x.address)]);
    }

    open(&dp, &[&a, &e, &b, &c]);
    let ns = |x: &EniPlug| dp.instance_netns(&x.instance_id);
    serve_name(&ns(&b), b.address, 7000, "b");
    serve_name(&ns(&c), c.address, 7000, "c");
    serve_name(&ns(&e), e.address, 7000, "e");
    serve_name(&ns(&a), a.address, 7000, "a");
    // Across subnets of one VPC, through the router.
    assert_eq!(connect_from(&ns(&a), b.address, 7000).as_deref(), Some("b"));
    assert_eq!(connect_from(&ns(&b), a.address, 7000).as_deref(), Some("a"));
    // Within a subnet (proxy ARP on the router).
    assert_eq!(connect_from(&ns(&a), e.address, 7000).as_deref(), Some("e"));
    // The overlapping VPC is another world: c reaches nothing of VPC 1.
    assert_eq!(connect_from(&ns(&c), a.address, 7000), None);
    // ICMP too, where ping is installed: across subnets, to the gateway, and
    // not across VPCs.
    if Command::new("ping").arg("-V").output().is_ok() {
        let ping = |from: &str, to: Ipv4Addr| {
            Command::new("ip")
                .args(["netns", "exec", from, "ping", "-c1", "-W1", &to.to_string()])
                .output()
                .unwrap()
                .status
                .success()
        };
        assert!(ping(&ns(&a), b.address));
        assert!(ping(&ns(&a), e.address));
        // Whether the router answers a ping to the subnet gateway is the
        // filter's `input` chain's decision (today: it does not; reported
        // to the lead, AWS's VPC router does answer).
        let _ = ping(&ns(&a), a.gateway);
        assert!(!ping(&ns(&c), a.address));
    } else {
        eprintln!("ping not installed: ICMP checks skipped (TCP checks ran)");
    }
    // The host reaches instances through the VPC's router namespace.
    assert_eq!(
        connect_from(&dp.router_netns("vpc-01"), b.address, 7000).as_deref(),
        Some("b")
    );
    assert_eq!(
        connect_from(&dp.router_netns("vpc-02"), c.address, 7000).as_deref(),
        Some("c")
    );
    let mut s = dp
        .connect_to_instance(
            "vpc-01",
            SocketAddrV4::new(e.address, 7000),
            Duration::from_secs(2),
        )
        .unwrap();
    let mut said = String::new();
    s.read_to_string(&mut said).unwrap();
    assert_eq!(said, "e");

    // Metadata: each instance reads its own, identified by (VPC, source).
    let mut source = HashMap::new();
    for x in [&a, &e, &b] {
        source.insert(
            (x.vpc_id.clone(), x.address),
            metadata(x, HttpTokens::Optional),
        );
    }
    source.insert(
        (c.vpc_id.clone(), c.address),
        metadata(&c, HttpTokens::Required),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let imds = Imds::new(Arc::new(FakeSource(source)));
    {
        let _rt = rt.enter();
        imds.serve_vpc("vpc-01", &dp.router_netns("vpc-01"))
            .unwrap();
        imds.serve_vpc("vpc-01", &dp.router_netns("vpc-01"))
            .unwrap(); // idempotent
        imds.serve_vpc("vpc-02", &dp.router_netns("vpc-02"))
            .unwrap();
    }
    assert_eq!(imds.serving(), vec!["vpc-01", "vpc-02"]);
    let path = "/latest/meta-data/instance-id";
    for x in [&a, &e, &b] {
        let (status, _, body) = http_from(&ns(x), "GET", path, &[]);
        assert_eq!((status, body.as_str()), (200, x.instance_id.as_str()));
    }
    // c has b's address in another VPC, and tokens required.
    let (status, _, _) = http_from(&ns(&c), "GET", path, &[]);
    assert_eq!(status, 401);
    let (status, h, token) = http_from(
        &ns(&c),
        "PUT",
        "/latest/api/token",
        &[("X-aws-ec2-metadata-token-ttl-seconds", "60")],
    );
    assert_eq!(status, 200);
    assert_eq!(
        h.get("x-aws-ec2-metadata-token-ttl-seconds")
            .map(String::as_str),
        Some("60")
    );
    let (status, _, body) = http_from(
        &ns(&c),
        "GET",
        path,
        &[("X-aws-ec2-metadata-token", &token)],
    );
    assert_eq!((status, body.as_str()), (200, "i-0c"));
    // c's token is worthless to b.
    let (status, _, _) = http_from(
        &ns(&b),
        "GET",
        path,
        &[("X-aws-ec2-metadata-token", &token)],
    );
    assert_eq!(status, 401);
    imds.stop_vpc("vpc-02");
    assert_eq!(imds.serving(), vec!["vpc-01"]);

    // Unplug removes both ends.
    dp.unplug(&a.eni_id).unwrap();
    let out = Command::new("ip")
        .args(["-n", &ns(&a), "link", "show", "eth0"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "eth0 survived unplug");
    assert_eq!(connect_from(&ns(&b), a.address, 7000), None);
    dp.remove_instance_netns(&a.instance_id).unwrap();
    assert!(!guard.netns().contains(&ns(&a)));

    // Reconcile to "only b": vpc-02's router, c's and e's namespaces go.
    let report = dp
        .reconcile(
            std::slice::from_ref(&b),
            std::slice::from_ref(&b.instance_id),
            &nubo_net::NetworkModel::empty(Default::default()),
        )
        .unwrap();
    assert_eq!(report.removed_routers, vec![dp.router_netns("vpc-02")]);
    let mut left = guard.netns();
    left.sort();
    let mut want = vec![dp.router_netns("vpc-01"), ns(&b)];
    want.sort();
    assert_eq!(left, want);
    assert_eq!(
        connect_from(&dp.router_netns("vpc-01"), b.address, 7000).as_deref(),
        Some("b")
    );

    // Nothing desired: nothing of ours is left in the kernel.
    drop(imds);
    dp.reconcile(&[], &[], &nubo_net::NetworkModel::empty(Default::default()))
        .unwrap();
    assert_eq!(guard.netns(), Vec::<String>::new());
    assert_eq!(guard.host_links(), Vec::<String>::new());
}

#[test]
fn reconcile_rebuilds_from_nothing_and_repairs() {
    require_root!("data-plane", &["ip"]);
    let guard = Guard::new('u');
    let dp = DataPlane::new(
        NetConfig {
            prefix: guard.prefix.clone(),
        },
        Arc::new(LinuxNetOps::new()),
    );
    let a = eni(1, "vpc-01", "i-0a", [172, 31, 0, 10]);
    let b = eni(2, "vpc-01", "i-0b", [172, 31, 16, 10]);
    let running = vec![a.instance_id.clone(), b.instance_id.clone()];
    dp.reconcile(
        &[a.clone(), b.clone()],
        &running,
        &nubo_net::NetworkModel::empty(Default::default()),
    )
    .unwrap();
    open(&dp, &[&a, &b]);
    let ns = |x: &EniPlug| dp.instance_netns(&x.instance_id);
    serve_name(&ns(&b), b.address, 7001, "b");
    assert_eq!(connect_from(&ns(&a), b.address, 7001).as_deref(), Some("b"));
    // Someone deletes a's router end behind our back: the next pass repairs it.
    let link = dp.config().eni_link(&a.eni_id);
    let st = Command::new("ip")
        .args(["-n", &dp.router_netns("vpc-01"), "link", "del", &link])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(connect_from(&ns(&a), b.address, 7001), None);
    let report = dp
        .reconcile(
            &[a.clone(), b.clone()],
            &running,
            &nubo_net::NetworkModel::empty(Default::default()),
        )
        .unwrap();
    assert_eq!((report.plugged, report.in_place), (1, 1));
    assert_eq!(connect_from(&ns(&a), b.address, 7001).as_deref(), Some("b"));
    // A converged host: nothing to plug.
    let report = dp
        .reconcile(
            &[a.clone(), b.clone()],
            &running,
            &nubo_net::NetworkModel::empty(Default::default()),
        )
        .unwrap();
    assert_eq!((report.plugged, report.in_place), (0, 2));
    dp.reconcile(&[], &[], &nubo_net::NetworkModel::empty(Default::default()))
        .unwrap();
    assert_eq!(guard.netns(), Vec::<String>::new());
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn token_response_does_not_survive_one_more_hop() {
    require_root!("data-plane", &["ip"]);
    if Command::new("nft").arg("--version").output().is_err() {
        eprintln!("skipping hop-limit test: nft not found");
        return;
    }
    let guard = Guard::new('v');
    let p = guard.prefix.clone();
    let dp = DataPlane::new(
        NetConfig { prefix: p.clone() },
        Arc::new(LinuxNetOps::new()),
    );
    let a = eni(1, "vpc-01", "i-0a", [10, 0, 1, 5]);
    dp.plug(&a).unwrap();
    open(&dp, &[&a]);
    let inst = dp.instance_netns(&a.instance_id);
    // A container behind the instance: its own namespace, routed and
    // masqueraded by the instance (as Docker does), one hop further away.
    let behind = format!("{p}-i-behind");
    sh(&["ip", "netns", "add", &behind]);
    let (hv, hp) = (format!("{p}hv0"), format!("{p}hv1"));
    sh(&[
        "ip", "-n", &inst, "link", "add", &hv, "type", "veth", "peer", "name", &hp, "netns",
        &behind,
    ]);
    sh(&[
        "ip",
        "-n",
        &inst,
        "addr",
        "add",
        "192.168.77.1/24",
        "dev",
        &hv,
    ]);
    sh(&["ip", "-n", &inst, "link", "set", &hv, "up"]);
    sh(&[
        "ip",
        "-n",
        &behind,
        "addr",
        "add",
        "192.168.77.2/24",
        "dev",
        &hp,
    ]);
    sh(&["ip", "-n", &behind, "link", "set", &hp, "up"]);
    sh(&["ip", "-n", &behind, "link", "set", "lo", "up"]);
    sh(&[
        "ip",
        "-n",
        &behind,
        "route",
        "add",
        "default",
        "via",
        "192.168.77.1",
    ]);
    sh(&[
        "ip",
        "netns",
        "exec",
        &inst,
        "sysctl",
        "-qw",
        "net.ipv4.ip_forward=1",
    ]);
    sh(&[
        "ip",
        "netns",
        "exec",
        &inst,
        "nft",
        "add table ip nat; \
         add chain ip nat post { type nat hook postrouting priority 100; }; \
         add rule ip nat post oifname eth0 masquerade",
    ]);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let md = metadata(&a, HttpTokens::Optional); // hop limit 1, the default
    assert_eq!(md.options.http_put_response_hop_limit, 1);
    let source = HashMap::from([((a.vpc_id.clone(), a.address), md)]);
    let imds = Imds::new(Arc::new(FakeSource(source)));
    {
        let _rt = rt.enter();
        imds.serve_vpc(&a.vpc_id, &dp.router_netns(&a.vpc_id))
            .unwrap();
    }
    let ttl = [("X-aws-ec2-metadata-token-ttl-seconds", "60")];
    let path = "/latest/meta-data/instance-id";
    // The path from behind works (IMDSv1 answers with the normal TTL)…
    let (status, _, body) = http_from(&behind, "GET", path, &[]);
    assert_eq!((status, body.as_str()), (200, "i-0a"));
    // …but the token's response, sent with TTL 1, dies at the instance's forward.
    assert!(http_try(&behind, "PUT", "/latest/api/token", &ttl).is_err());
    // From the instance itself the token arrives, and later answers on the same
    // connection kind use the normal TTL again.
    let (status, _, token) = http_from(&inst, "PUT", "/latest/api/token", &ttl);
    assert_eq!(status, 200);
    let (status, _, body) = http_from(
        &behind,
        "GET",
        path,
        &[("X-aws-ec2-metadata-token", &token)],
    );
    assert_eq!((status, body.as_str()), (200, "i-0a"));
    drop(imds);
    // `<prefix>-i-behind` looks like one of ours, so it goes as an orphan too.
    dp.reconcile(&[], &[], &nubo_net::NetworkModel::empty(Default::default()))
        .unwrap();
    assert_eq!(guard.netns(), Vec::<String>::new());
    assert_eq!(guard.host_links(), Vec::<String>::new());
}
