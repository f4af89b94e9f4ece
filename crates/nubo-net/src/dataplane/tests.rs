//! Reconciler tests of plug, unplug and reconcile against the recording fake.

use super::*;
use crate::fake::FakeNetOps;
use std::net::Ipv4Addr;

fn eni(id: &str, vpc: &str, inst: &str, addr: [u8; 4], mac_last: u8) -> EniPlug {
    EniPlug {
        eni_id: id.into(),
        vpc_id: vpc.into(),
        instance_id: inst.into(),
        mac: format!("02:00:00:00:00:{mac_last:02x}"),
        address: Ipv4Addr::from(addr),
        prefix_len: 24,
        gateway: Ipv4Addr::new(addr[0], addr[1], addr[2], 1),
        device_index: 0,
    }
}

fn empty() -> crate::NetworkModel {
    crate::NetworkModel::empty(Default::default())
}

fn dp() -> (Arc<FakeNetOps>, DataPlane) {
    let fake = Arc::new(FakeNetOps::new());
    let dp = DataPlane::new(
        NetConfig {
            prefix: "tq".into(),
        },
        fake.clone(),
    );
    (fake, dp)
}

#[test]
fn plug_builds_router_veth_and_instance_side() {
    let (fake, dp) = dp();
    dp.plug(&eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5], 1))
        .unwrap();
    let router = fake.netns("tq-vpc-01").unwrap();
    assert_eq!(router.sysctls.get("net/ipv4/ip_forward").unwrap(), "1");
    assert_eq!(
        router
            .sysctls
            .get("net/ipv4/conf/tqe0a1/proxy_arp")
            .unwrap(),
        "1"
    );
    assert!(router.addrs.contains("169.254.169.254/32 dev lo"));
    assert!(router.addrs.contains("10.0.1.1/32 dev lo"));
    assert!(router.routes.contains("10.0.1.5/32 dev tqe0a1"));
    assert!(router.links["tqe0a1"].up);
    let inst = fake.netns("tq-i-01").unwrap();
    assert_eq!(inst.links["eth0"].mac, "02:00:00:00:00:01");
    assert!(inst.links["eth0"].up && inst.links["lo"].up);
    assert!(inst.addrs.contains("10.0.1.5/24 dev eth0"));
    assert!(inst.routes.contains("default via 10.0.1.1 dev eth0"));
}

#[test]
fn plug_twice_changes_nothing_and_creates_nothing_again() {
    let (fake, dp) = dp();
    let e = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5], 1);
    dp.plug(&e).unwrap();
    let before = (fake.netns("tq-vpc-01"), fake.netns("tq-i-01"));
    fake.clear_calls();
    dp.plug(&e).unwrap();
    assert_eq!(before, (fake.netns("tq-vpc-01"), fake.netns("tq-i-01")));
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.starts_with("netns_add") || c.starts_with("veth_add")),
        "{:?}",
        fake.calls()
    );
}

#[test]
fn plug_repairs_a_half_made_veth() {
    let (fake, dp) = dp();
    let e = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5], 1);
    dp.plug(&e).unwrap();
    // The instance namespace was recreated (e.g. after a crash): the
    // router end's peer is gone with it, then a foreign eth0 appears.
    fake.netns_del("tq-i-01").unwrap();
    fake.netns_add("tq-i-01").unwrap();
    fake.netns_add("tq-other").unwrap();
    fake.veth_add(&crate::ops::VethSpec {
        netns: "tq-other".into(),
        name: "x".into(),
        peer_netns: "tq-i-01".into(),
        peer_name: "eth0".into(),
        peer_mac: "02:99:99:99:99:99".into(),
    })
    .unwrap();
    dp.plug(&e).unwrap();
    let inst = fake.netns("tq-i-01").unwrap();
    assert_eq!(inst.links["eth0"].mac, "02:00:00:00:00:01");
    assert!(fake
        .netns("tq-vpc-01")
        .unwrap()
        .links
        .contains_key("tqe0a1"));
}

#[test]
fn unplug_removes_both_ends_even_after_restart() {
    let (fake, dp) = dp();
    let e = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5], 1);
    dp.plug(&e).unwrap();
    // A new DataPlane (agent restarted) finds the ENI by scanning routers.
    let dp2 = DataPlane::new(dp.config().clone(), fake.clone());
    dp2.unplug("eni-0a1").unwrap();
    assert!(!fake
        .netns("tq-vpc-01")
        .unwrap()
        .links
        .contains_key("tqe0a1"));
    assert!(!fake.netns("tq-i-01").unwrap().links.contains_key("eth0"));
    assert!(!fake
        .netns("tq-vpc-01")
        .unwrap()
        .routes
        .iter()
        .any(|r| r.contains("10.0.1.5")));
    dp2.unplug("eni-0a1").unwrap(); // again: nothing to do
}

#[test]
fn reconcile_converges_and_removes_orphans() {
    let (fake, dp) = dp();
    let a = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5], 1);
    let b = eni("eni-0b2", "vpc-01", "i-02", [10, 0, 2, 5], 2);
    let c = eni("eni-0c3", "vpc-02", "i-03", [10, 0, 1, 5], 3);
    dp.plug(&a).unwrap();
    dp.plug(&b).unwrap();
    dp.plug(&c).unwrap();
    fake.netns_add("nb-vpc-01").unwrap(); // another prefix: never touched
                                          // Only `a` is still desired; i-02 is not running, vpc-02 has no ENI.
    let report = dp
        .reconcile(std::slice::from_ref(&a), &["i-01".to_string()], &empty())
        .unwrap();
    assert_eq!(report.removed_routers, vec!["tq-vpc-02".to_string()]);
    assert_eq!(report.removed_vpcs, vec!["vpc-02".to_string()]);
    assert_eq!(
        report.removed_instances,
        vec!["tq-i-02".to_string(), "tq-i-03".to_string()]
    );
    assert_eq!(
        report.removed_links,
        vec![("tq-vpc-01".to_string(), "tqe0b2".to_string())]
    );
    assert_eq!(
        fake.netns_names(),
        vec!["nb-vpc-01", "tq-i-01", "tq-vpc-01"]
    );
    // Desired again from nothing: reconcile rebuilds it.
    let report = dp
        .reconcile(&[a.clone(), b.clone()], &[], &empty())
        .unwrap();
    assert_eq!((report.plugged, report.in_place), (1, 1));
    fake.clear_calls();
    let report = dp.reconcile(&[a, b], &[], &empty()).unwrap();
    assert_eq!((report.plugged, report.in_place), (0, 2));
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    assert!(fake.netns("tq-i-02").unwrap().links.contains_key("eth0"));
    // Nothing desired: everything of ours goes.
    dp.reconcile(&[], &[], &empty()).unwrap();
    assert_eq!(fake.netns_names(), vec!["nb-vpc-01"]);
}

/// The fake, failing its `n`-th mutating call (a crash at that step).
struct FailAt {
    inner: Arc<FakeNetOps>,
    left: std::sync::atomic::AtomicUsize,
}

impl FailAt {
    fn step(&self) -> Result<(), NetError> {
        use std::sync::atomic::Ordering;
        match self.left.fetch_sub(1, Ordering::SeqCst) {
            1 => Err(NetError::Precondition("injected crash".into())),
            _ => Ok(()),
        }
    }
}

impl NetOps for FailAt {
    fn netns_list(&self) -> Result<Vec<String>, NetError> {
        self.inner.netns_list()
    }
    fn netns_add(&self, name: &str) -> Result<(), NetError> {
        self.step()?;
        self.inner.netns_add(name)
    }
    fn netns_del(&self, name: &str) -> Result<(), NetError> {
        self.step()?;
        self.inner.netns_del(name)
    }
    fn links(&self, netns: &str) -> Result<Vec<LinkInfo>, NetError> {
        self.inner.links(netns)
    }
    fn routes(&self, netns: &str) -> Result<Vec<crate::ops::RouteInfo>, NetError> {
        self.inner.routes(netns)
    }
    fn veth_add(&self, spec: &crate::ops::VethSpec) -> Result<(), NetError> {
        self.step()?;
        self.inner.veth_add(spec)
    }
    fn link_del(&self, netns: &str, name: &str) -> Result<(), NetError> {
        self.step()?;
        self.inner.link_del(netns, name)
    }
    fn apply(&self, netns: &str, cmds: &[crate::ops::IpCmd]) -> Result<(), NetError> {
        self.step()?;
        self.inner.apply(netns, cmds)
    }
    fn sysctl(&self, netns: &str, settings: &[crate::ops::Sysctl]) -> Result<(), NetError> {
        self.step()?;
        self.inner.sysctl(netns, settings)
    }
    fn rules(&self, netns: &str) -> Result<Vec<crate::ops::KernelRule>, NetError> {
        self.inner.rules(netns)
    }
    fn table_routes(&self, netns: &str) -> Result<Vec<crate::ops::KernelRoute>, NetError> {
        self.inner.table_routes(netns)
    }
    fn nft_apply(&self, netns: &str, script: &str) -> Result<(), NetError> {
        self.step()?;
        self.inner.nft_apply(netns, script)
    }
    fn nft_has_table(&self, netns: &str) -> Result<bool, NetError> {
        self.inner.nft_has_table(netns)
    }
}

#[test]
fn a_plug_interrupted_at_any_step_converges_on_the_next_pass() {
    let a = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5], 1);
    let b = eni("eni-0b2", "vpc-01", "i-02", [10, 0, 2, 5], 2);
    // The state a clean run reaches.
    let (clean, dp) = dp();
    dp.plug(&a).unwrap();
    dp.plug(&b).unwrap();
    let want: Vec<_> = clean
        .netns_names()
        .iter()
        .map(|n| (n.clone(), clean.netns(n)))
        .collect();
    let mutating_steps = clean
        .calls()
        .iter()
        .filter(|c| !c.starts_with("links"))
        .count();
    assert!(mutating_steps >= 8, "{:?}", clean.calls());
    for crash_at in 1..=mutating_steps {
        let fake = Arc::new(FakeNetOps::new());
        let failing = Arc::new(FailAt {
            inner: fake.clone(),
            left: std::sync::atomic::AtomicUsize::new(crash_at),
        });
        let dp = DataPlane::new(dp.config().clone(), failing);
        let first = dp.plug(&a).and_then(|()| dp.plug(&b));
        assert!(first.is_err(), "step {crash_at} did not fail");
        // The agent restarts and reconciles.
        let dp = DataPlane::new(dp.config().clone(), fake.clone());
        dp.reconcile(&[a.clone(), b.clone()], &[], &empty())
            .unwrap();
        let got: Vec<_> = fake
            .netns_names()
            .iter()
            .map(|n| (n.clone(), fake.netns(n)))
            .collect();
        assert_eq!(got, want, "after a crash at step {crash_at}");
    }
}

#[test]
fn first_enis_of_a_vpc_plugged_concurrently_share_one_router() {
    let (fake, dp) = dp();
    let dp = Arc::new(dp);
    let threads: Vec<_> = (1..=8u8)
        .map(|n| {
            let dp = dp.clone();
            std::thread::spawn(move || {
                dp.plug(&eni(
                    &format!("eni-0{n:02}"),
                    "vpc-01",
                    &format!("i-0{n:02}"),
                    [10, 0, 1, 10 + n],
                    n,
                ))
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let router = fake.netns("tq-vpc-01").unwrap();
    assert_eq!(router.links.len(), 9); // lo + 8 ENI ends
    assert_eq!(router.routes.len(), 8);
}

#[test]
fn overlapping_vpcs_get_separate_routers() {
    let (fake, dp) = dp();
    dp.plug(&eni("eni-0a1", "vpc-01", "i-01", [172, 31, 0, 5], 1))
        .unwrap();
    dp.plug(&eni("eni-0b2", "vpc-02", "i-02", [172, 31, 0, 5], 2))
        .unwrap();
    for vpc in ["tq-vpc-01", "tq-vpc-02"] {
        let r = fake.netns(vpc).unwrap();
        assert_eq!(
            r.routes
                .iter()
                .filter(|x| x.starts_with("172.31.0.5/32"))
                .count(),
            1
        );
    }
}

#[test]
fn bad_prefix_is_refused_before_touching_the_kernel() {
    let fake = Arc::new(FakeNetOps::new());
    let dp = DataPlane::new(
        NetConfig {
            prefix: "BAD-".into(),
        },
        fake.clone(),
    );
    assert!(dp
        .plug(&eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5], 1))
        .is_err());
    assert!(fake.calls().is_empty());
}

mod network {
    //! `apply_network` against the fake: the whole topology of the filter's
    //! fixture, idempotence, restarts, crashes at every step, removal.

    use super::*;
    use crate::fake::FakeNetns;
    use crate::filter::fixture::model;
    use crate::model::kernel_table;
    use crate::ops::{NextHop, HOST_NETNS};
    use crate::topology::instance_plugs;
    use crate::NetworkModel;

    fn plug_all(dp: &DataPlane, m: &NetworkModel) -> Result<(), NetError> {
        for p in instance_plugs(m) {
            dp.plug(&p)?;
        }
        Ok(())
    }

    fn snapshot(fake: &FakeNetOps) -> Vec<(String, Option<FakeNetns>)> {
        let mut names = fake.netns_names();
        names.push(HOST_NETNS.to_string());
        names
            .into_iter()
            .map(|n| (n.clone(), fake.netns(&n)))
            .collect()
    }

    fn mutating(calls: &[String]) -> Vec<String> {
        calls
            .iter()
            .filter(|c| !c.starts_with("links"))
            .cloned()
            .collect()
    }

    #[test]
    fn the_fixture_topology_is_built() {
        let (fake, dp) = dp();
        let m = model();
        plug_all(&dp, &m).unwrap();
        let report = dp.apply_network(&m).unwrap();
        assert!(
            report.changed.contains(&"tq-vpc-0a".to_string()),
            "{report:?}"
        );
        let host = fake.netns(HOST_NETNS).unwrap();
        assert!(host.links["tq-ext"].up);
        assert_eq!(host.links["tqx0a"].master.as_deref(), Some("tq-ext"));
        assert!(host.addrs.contains("203.0.113.1/24 dev tq-ext"));
        assert!(host.routes.contains("198.51.100.0/24 dev tq-ext"));
        let a = fake.netns("tq-vpc-0a").unwrap();
        for l in ["tqu0a", "tqp0ab", "tqt0t", "tqe00n1", "tqe0001"] {
            assert!(a.links[l].up, "{l}");
        }
        assert!(a.addrs.contains("198.51.100.10/32 dev tqu0a"));
        assert!(a.addrs.contains("169.254.0.1/32 dev tqp0ab"));
        assert!(a.routes.contains("10.0.2.11/32 dev tqe0003"), "secondary");
        assert!(a
            .table_routes
            .iter()
            .any(|r| r.table == kernel_table("rtb-0a2")
                && r.next
                    == NextHop::Via {
                        gateway: "10.0.1.50".parse().unwrap(),
                        dev: "tqe00n1".into()
                    }));
        assert_eq!(a.rules.len(), 3);
        assert!(a.nft.as_deref().is_some_and(|t| t.contains("tqe0001")));
        assert_eq!(a.sysctls["net/ipv4/conf/all/rp_filter"], "0");
        let b = fake.netns("tq-vpc-0b").unwrap();
        assert!(b.addrs.contains("169.254.0.2/32 dev tqp0ab"));
        let nat = fake.netns("tq-nat-0n").unwrap();
        assert!(nat.links["eth0"].up);
        assert!(nat.nft.as_deref().is_some_and(|t| t.contains("masquerade")));
        assert_eq!(nat.sysctls["net/ipv4/ip_forward"], "1");
        let tgw = fake.netns("tq-tgw-01").unwrap();
        assert!(tgw.links["tqa0t"].up && tgw.links["lo"].up);
        assert_eq!(tgw.rules.len(), 1, "no table: only the blackhole rule");
    }

    #[test]
    fn an_unchanged_model_costs_nothing_and_a_restart_only_observes() {
        let (fake, dp) = dp();
        let m = model();
        plug_all(&dp, &m).unwrap();
        dp.apply_network(&m).unwrap();
        let before = snapshot(&fake);
        fake.clear_calls();
        let report = dp.apply_network(&m).unwrap();
        assert!(report.changed.is_empty(), "{report:?}");
        assert!(fake.calls().is_empty(), "{:?}", fake.calls());
        // The agent restarts: everything is observed and re-applied by
        // difference; the kernel ends up the same (routes and rules are not
        // re-added: the fake refuses a duplicate rule).
        let dp2 = DataPlane::new(dp.config().clone(), fake.clone());
        dp2.apply_network(&m).unwrap();
        assert_eq!(snapshot(&fake), before);
        assert!(!fake.calls().iter().any(|c| c.starts_with("veth_add")
            || c.starts_with("netns_add")
            || c.starts_with("link_del")));
    }

    #[test]
    fn a_firewall_change_is_one_small_nft_transaction() {
        let (fake, dp) = dp();
        let mut m = model();
        plug_all(&dp, &m).unwrap();
        let first = dp.apply_network(&m).unwrap();
        assert!(first.waiting.is_empty(), "{first:?}");
        let vpc = m.vpcs.iter_mut().find(|v| v.id == "vpc-0a").unwrap();
        vpc.security_groups[0].ingress.pop();
        fake.clear_calls();
        let report = dp.apply_network(&m).unwrap();
        assert_eq!(report.changed, vec!["tq-vpc-0a".to_string()]);
        // No link, route or rule work (the router's sysctls are re-asserted,
        // a few writes); the table is not replaced whole but changed in
        // place, to what a whole replace would hold.
        let calls = fake.calls();
        let work: Vec<String> = mutating(&calls)
            .into_iter()
            .filter(|c| !c.starts_with("sysctl"))
            .collect();
        assert_eq!(work, ["nft_apply tq-vpc-0a (delta)"], "{calls:?}");
        let held = fake.netns("tq-vpc-0a").unwrap().nft.unwrap();
        let whole = crate::filter::router_ruleset(dp.config(), &m, "vpc-0a").unwrap();
        assert_eq!(held, whole);

        // A sweep (reconcile) re-observes links, routes and rules, but the
        // firewall it knows: the next change is still a delta.
        dp.reconcile(&instance_plugs(&m), &[], &m).unwrap();
        dp.apply_network(&m).unwrap();
        let vpc = m.vpcs.iter_mut().find(|v| v.id == "vpc-0a").unwrap();
        vpc.security_groups[1].ingress.pop();
        fake.clear_calls();
        dp.apply_network(&m).unwrap();
        assert!(
            fake.calls()
                .contains(&"nft_apply tq-vpc-0a (delta)".to_string()),
            "{:?}",
            fake.calls()
        );
    }

    #[test]
    fn what_leaves_the_model_leaves_the_kernel() {
        let (fake, dp) = dp();
        let mut m = model();
        plug_all(&dp, &m).unwrap();
        dp.apply_network(&m).unwrap();
        m.peerings.clear();
        m.transit_gateways.clear();
        m.vpcs[0].nat_gateways.clear();
        for e in &mut m.vpcs[0].enis {
            e.public.clear();
        }
        let report = dp.apply_network(&m).unwrap();
        assert!(
            report.removed.contains(&"tq-tgw-01".to_string()),
            "{report:?}"
        );
        assert!(
            report.removed.contains(&"tq-nat-0n".to_string()),
            "{report:?}"
        );
        let a = fake.netns("tq-vpc-0a").unwrap();
        for l in ["tqu0a", "tqp0ab", "tqt0t", "tqe00n1"] {
            assert!(!a.links.contains_key(l), "{l}");
        }
        assert!(!fake
            .netns("tq-vpc-0b")
            .unwrap()
            .links
            .contains_key("tqp0ab"));
        assert!(!fake.netns(HOST_NETNS).unwrap().links.contains_key("tqx0a"));
        // The routes through them are blackholes now.
        let t2 = kernel_table("rtb-0a2");
        assert!(a
            .table_routes
            .iter()
            .any(|r| r.table == t2 && r.next == NextHop::Blackhole));
        // Nothing here any more: reconcile removes the routers, the bridge goes.
        let empty = NetworkModel::empty(m.external.clone());
        dp.reconcile(&[], &[], &empty).unwrap();
        dp.apply_network(&empty).unwrap();
        assert!(fake.netns_names().is_empty(), "{:?}", fake.netns_names());
        assert!(fake.netns(HOST_NETNS).unwrap().links.is_empty());
    }

    #[test]
    fn removing_a_peering_removes_both_ends_once() {
        let (fake, dp) = dp();
        let mut m = model();
        // vpc-0b on the transit gateway too, so its links are observed
        // before vpc-0a's converge deletes the shared peering veth.
        let mut att = m.transit_gateways[0].attachments[0].clone();
        att.id = "tgw-attach-0u".into();
        att.vpc_id = "vpc-0b".into();
        att.subnet_id = "subnet-0b1".into();
        m.transit_gateways[0].attachments.push(att);
        plug_all(&dp, &m).unwrap();
        dp.apply_network(&m).unwrap();
        m.peerings.clear();
        let report = dp.apply_network(&m).unwrap();
        assert_eq!(
            report.removed,
            vec!["tq-vpc-0a/tqp0ab".to_string()],
            "{report:?}"
        );
        assert!(!fake
            .netns("tq-vpc-0b")
            .unwrap()
            .links
            .contains_key("tqp0ab"));
    }

    #[test]
    fn reconcile_keeps_nat_gateways_and_their_routers() {
        let (fake, dp) = dp();
        let mut m = model();
        m.vpcs[0].enis.clear(); // only the NAT gateway of vpc-0a is here
        plug_all(&dp, &m).unwrap();
        dp.apply_network(&m).unwrap();
        fake.netns_add("tq-nat-0old").unwrap();
        let report = dp.reconcile(&instance_plugs(&m), &[], &m).unwrap();
        assert_eq!(report.removed_gateways, vec!["tq-nat-0old".to_string()]);
        assert!(report.removed_routers.is_empty(), "{report:?}");
        assert!(fake.netns("tq-nat-0n").unwrap().links.contains_key("eth0"));
        assert!(fake
            .netns("tq-vpc-0a")
            .unwrap()
            .links
            .contains_key("tqe00n1"));
    }

    #[test]
    fn an_apply_interrupted_at_any_step_converges_on_the_next_pass() {
        let m = model();
        let (clean, dp) = dp();
        plug_all(&dp, &m).unwrap();
        let plugged = mutating(&clean.calls()).len();
        dp.apply_network(&m).unwrap();
        let want = snapshot(&clean);
        let steps = mutating(&clean.calls()).len() - plugged;
        assert!(steps >= 15, "{:?}", clean.calls());
        for crash_at in 1..=steps {
            let fake = Arc::new(FakeNetOps::new());
            let failing = Arc::new(FailAt {
                inner: fake.clone(),
                left: std::sync::atomic::AtomicUsize::new(plugged + crash_at),
            });
            let dp = DataPlane::new(dp.config().clone(), failing);
            plug_all(&dp, &m).unwrap();
            assert!(
                dp.apply_network(&m).is_err(),
                "step {crash_at} did not fail"
            );
            // Retried by the same process, then after a restart.
            let dp = DataPlane::new(dp.config().clone(), fake.clone());
            dp.reconcile(&instance_plugs(&m), &[], &m).unwrap();
            dp.apply_network(&m).unwrap();
            assert_eq!(snapshot(&fake), want, "after a crash at step {crash_at}");
        }
    }
}

mod waiting {
    //! An ENI in the model but not plugged yet (its launch is under way).

    use super::*;
    use crate::filter::fixture::model;
    use crate::topology::instance_plugs;

    #[test]
    fn an_eni_not_plugged_yet_waits_without_failing_the_pass() {
        let (fake, dp) = dp();
        let m = model();
        let plugs = instance_plugs(&m);
        for p in plugs.iter().skip(1) {
            dp.plug(p).unwrap();
        }
        let report = dp.apply_network(&m).unwrap();
        assert_eq!(report.waiting, vec!["tq-vpc-0a".to_string()]);
        let a = fake.netns("tq-vpc-0a").unwrap();
        assert!(a.nft.is_some() && a.links.contains_key("tqu0a"));
        assert!(!a.routes.iter().any(|r| r.contains("tqe0001")));
        // Half plugged (the veth made, not yet up): still waiting, no error.
        let half = crate::plan::plug_plan(dp.config(), &plugs[0]).unwrap();
        dp.ensure_instance_netns(&plugs[0].instance_id).unwrap();
        fake.veth_add(&half.veth).unwrap();
        let report = dp.apply_network(&m).unwrap();
        assert_eq!(report.waiting, vec!["tq-vpc-0a".to_string()]);
        // Plugged: the next pass completes it (the router is not cached).
        dp.plug(&plugs[0]).unwrap();
        let report = dp.apply_network(&m).unwrap();
        assert!(report.waiting.is_empty(), "{report:?}");
        assert!(fake
            .netns("tq-vpc-0a")
            .unwrap()
            .routes
            .contains("10.0.1.10/32 dev tqe0001"));
    }
}
