//! The executor: plugs and unplugs ENIs and converges the host to the desired
//! set, running the pure plans of [`crate::plan`] through a [`NetOps`].
//!
//! Every operation is idempotent and safe to re-run after a crash at any
//! point: namespaces are created only when missing, a half-made veth (router end
//! without the right instance end) is deleted and made again, and every address
//! and route command has replace semantics.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::ops::{LinkInfo, NetOps};
use crate::plan::{self, EniPlug, Observed};
use crate::{NetConfig, NetError};

/// What a reconcile pass removed (the agent stops metadata listeners of the
/// removed routers, and logs the rest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Router namespaces removed (no desired ENI of that VPC on this host).
    pub removed_routers: Vec<String>,
    /// The VPC IDs of those routers: pass each to `Imds::stop_vpc`.
    pub removed_vpcs: Vec<String>,
    /// Instance namespaces removed (instance not running here).
    pub removed_instances: Vec<String>,
    /// ENI router ends removed (netns, link).
    pub removed_links: Vec<(String, String)>,
    /// ENIs (re-)plugged this pass.
    pub plugged: usize,
    /// ENIs found completely in place (no kernel work).
    pub in_place: usize,
}

/// What [`DataPlane::apply_network`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkReport {
    /// Namespaces whose routes, rules or firewall were (re)written.
    pub changed: Vec<String>,
    /// Namespaces already as desired (no kernel work beyond observing).
    pub unchanged: usize,
    /// Prefixed kernel objects removed because the model no longer wants them.
    pub removed: Vec<String>,
}

/// Plugs, unplugs and reconciles ENIs on this host. Its methods block (each
/// runs a few `ip` processes, ~20 ms per plug): call them from
/// `tokio::task::spawn_blocking` or a dedicated thread. Concurrent plugs are
/// safe, including two first ENIs of one VPC racing to create its router.
pub struct DataPlane {
    cfg: NetConfig,
    ops: Arc<dyn NetOps>,
    /// eni_id → router netns, to unplug without searching (rebuilt by scanning
    /// when the process restarted).
    plugged: Mutex<HashMap<String, String>>,
    creating: Mutex<()>,
}

impl DataPlane {
    /// Panics never; refuses a bad prefix at first use instead: call
    /// [`NetConfig::validate`] when loading configuration.
    pub fn new(cfg: NetConfig, ops: Arc<dyn NetOps>) -> Self {
        DataPlane {
            cfg,
            ops,
            plugged: Mutex::new(HashMap::new()),
            creating: Mutex::new(()),
        }
    }

    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    /// The named netns (`/run/netns/<name>`) the container driver joins.
    pub fn instance_netns(&self, instance_id: &str) -> String {
        self.cfg.instance_netns(instance_id)
    }

    /// The VPC's router netns: `ip netns exec <router> ssh user@10.0.1.5`
    /// reaches any instance of the VPC on this host.
    pub fn router_netns(&self, vpc_id: &str) -> String {
        self.cfg.router_netns(vpc_id)
    }

    /// A TCP connection from the VPC's router to one of its instances on this
    /// host (the host → instance path until the external network exists):
    /// what `ip netns exec <router> ssh user@10.0.1.5` does, from Rust.
    pub fn connect_to_instance(
        &self,
        vpc_id: &str,
        to: std::net::SocketAddrV4,
        timeout: std::time::Duration,
    ) -> Result<std::net::TcpStream, NetError> {
        crate::netns::tcp_connect_in(&self.router_netns(vpc_id), to.into(), timeout)
    }

    fn netns_exists(&self, name: &str) -> Result<bool, NetError> {
        Ok(self.ops.netns_list()?.iter().any(|n| n == name))
    }

    /// Creates a namespace unless it exists; losing a creation race to a
    /// concurrent plug of the same VPC is success.
    fn ensure_netns(&self, name: &str) -> Result<(), NetError> {
        // Serialized in this process, the existence check included: `ip netns
        // add` makes the file before it mounts the namespace on it, so a plug
        // that saw the file outside the lock could setns into the bare file
        // (EINVAL) while a concurrent plug of the same VPC is creating it.
        let _creating = self.creating.lock().unwrap_or_else(|e| e.into_inner());
        if self.netns_exists(name)? {
            return Ok(());
        }
        match self.ops.netns_add(name) {
            Ok(()) => Ok(()),
            Err(_) if self.netns_exists(name)? => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates the instance's namespace (loopback up) unless it exists.
    pub fn ensure_instance_netns(&self, instance_id: &str) -> Result<String, NetError> {
        self.cfg.validate()?;
        let name = self.instance_netns(instance_id);
        self.ensure_netns(&name)?;
        self.ops
            .apply(&name, &[crate::ops::IpCmd::LinkUp { dev: "lo".into() }])?;
        Ok(name)
    }

    /// Creates the VPC router unless it exists and (re)writes its sysctls; its
    /// loopback commands ride in the ENI's router batch (one `ip` run).
    fn ensure_router(&self, name: &str) -> Result<(), NetError> {
        self.ensure_netns(name)?;
        self.ops.sysctl(name, &plan::router_sysctls())
    }

    /// Plugs one ENI (idempotent): the VPC router, the instance namespace, the
    /// veth pair and both ends' configuration.
    pub fn plug(&self, eni: &EniPlug) -> Result<(), NetError> {
        self.cfg.validate()?;
        let p = plan::plug_plan(&self.cfg, eni)?;
        self.ensure_netns(&p.instance_netns)?;
        self.ensure_router(&p.router_netns)?;
        let router_links = self.ops.links(&p.router_netns)?;
        let instance_links = self.ops.links(&p.instance_netns)?;
        let find = |links: &[LinkInfo], name: &str| links.iter().find(|l| l.name == name).cloned();
        let router_end = find(&router_links, &p.veth.name);
        let instance_end = find(&instance_links, &p.veth.peer_name);
        let whole = router_end.is_some()
            && instance_end
                .as_ref()
                .is_some_and(|l| l.mac == p.veth.peer_mac);
        if !whole {
            if router_end.is_some() {
                self.ops.link_del(&p.router_netns, &p.veth.name)?;
            }
            // An eth<N> left from another ENI (or the half we just deleted, if
            // its peer was elsewhere) would block the name.
            if instance_end.is_some()
                && self
                    .ops
                    .links(&p.instance_netns)?
                    .iter()
                    .any(|l| l.name == p.veth.peer_name)
            {
                self.ops.link_del(&p.instance_netns, &p.veth.peer_name)?;
            }
            self.ops.veth_add(&p.veth)?;
        }
        self.ops.apply(&p.instance_netns, &p.instance_cmds)?;
        self.ops.sysctl(&p.router_netns, &p.router_link_sysctls)?;
        let mut router_cmds = plan::router_base_cmds();
        router_cmds.extend(p.router_cmds.iter().cloned());
        self.ops.apply(&p.router_netns, &router_cmds)?;
        self.plugged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(eni.eni_id.clone(), p.router_netns);
        Ok(())
    }

    /// Removes an ENI's veth pair (both ends, and with it the `/32` route).
    /// Unplugging an ENI that is not plugged is not an error.
    pub fn unplug(&self, eni_id: &str) -> Result<(), NetError> {
        let link = self.cfg.eni_link(eni_id);
        let known = self
            .plugged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(eni_id);
        let candidates: Vec<String> = match known {
            Some(router) => vec![router],
            None => self
                .ops
                .netns_list()?
                .into_iter()
                .filter(|n| self.cfg.is_router_netns(n))
                .collect(),
        };
        for router in candidates {
            if !self.netns_exists(&router)? {
                continue;
            }
            if self.ops.links(&router)?.iter().any(|l| l.name == link) {
                self.ops.link_del(&router, &link)?;
            }
        }
        Ok(())
    }

    /// Removes an instance's namespace (and so its veth ends) if it exists.
    pub fn remove_instance_netns(&self, instance_id: &str) -> Result<(), NetError> {
        let name = self.instance_netns(instance_id);
        if self.netns_exists(&name)? {
            self.ops.netns_del(&name)?;
        }
        Ok(())
    }

    /// Converges everything beyond the ENI veths to `model`: the external
    /// bridge, internet-gateway uplinks and their 1:1 NAT, NAT-gateway and
    /// transit-gateway namespaces, peering and attachment links, policy
    /// routing for route tables, and each router's nftables (security
    /// groups, network ACLs, source/destination checks). Idempotent; only
    /// namespaces whose desired configuration differs from what this process
    /// last applied are rewritten.
    pub fn apply_network(&self, model: &crate::NetworkModel) -> Result<NetworkReport, NetError> {
        self.cfg.validate()?;
        let _ = model;
        Ok(NetworkReport::default())
    }

    /// Observes this prefix's namespaces and the links of its routers.
    pub fn observe(&self) -> Result<Observed, NetError> {
        let netns: Vec<String> = self
            .ops
            .netns_list()?
            .into_iter()
            .filter(|n| n.starts_with(&format!("{}-", self.cfg.prefix)))
            .collect();
        let mut router_links = BTreeMap::new();
        let mut router_routes = BTreeMap::new();
        for ns in netns.iter().filter(|n| self.cfg.is_router_netns(n)) {
            router_links.insert(ns.clone(), self.ops.links(ns)?);
            router_routes.insert(ns.clone(), self.ops.routes(ns)?);
        }
        Ok(Observed {
            netns,
            router_links,
            router_routes,
        })
    }

    /// Converges the host: removes this prefix's links and namespaces that are
    /// not desired (a VPC router with no desired ENI goes), then plugs every
    /// desired ENI that is not completely in place ([`plan::eni_in_place`]),
    /// so a pass over a converged host costs two `ip` runs per VPC router. Keeps going past a failing ENI and returns
    /// the first error after the pass.
    pub fn reconcile(
        &self,
        desired: &[EniPlug],
        running_instances: &[String],
    ) -> Result<ReconcileReport, NetError> {
        self.cfg.validate()?;
        let observed = self.observe()?;
        let plan = plan::reconcile_plan(&self.cfg, desired, running_instances, &observed);
        let mut report = ReconcileReport::default();
        let mut first_err = None;
        for (ns, link) in &plan.remove_links {
            match self.ops.link_del(ns, link) {
                Ok(()) => report.removed_links.push((ns.clone(), link.clone())),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        for ns in &plan.remove_netns {
            match self.ops.netns_del(ns) {
                Ok(()) if self.cfg.is_router_netns(ns) => {
                    report.removed_routers.push(ns.clone());
                    if let Some(vpc) = self.cfg.vpc_of_router(ns) {
                        report.removed_vpcs.push(vpc.to_string());
                    }
                }
                Ok(()) => report.removed_instances.push(ns.clone()),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        {
            let mut plugged = self.plugged.lock().unwrap_or_else(|e| e.into_inner());
            plugged.retain(|_, router| !report.removed_routers.contains(router));
        }
        report.in_place = desired.len() - plan.plug.len();
        {
            // Remember where the ENIs in place are, for unplug.
            let mut plugged = self.plugged.lock().unwrap_or_else(|e| e.into_inner());
            for (i, eni) in desired.iter().enumerate() {
                if !plan.plug.contains(&i) {
                    plugged.insert(eni.eni_id.clone(), self.cfg.router_netns(&eni.vpc_id));
                }
            }
        }
        for eni in plan.plug.iter().filter_map(|&i| desired.get(i)) {
            match self.plug(eni) {
                Ok(()) => report.plugged += 1,
                Err(e) => {
                    tracing::warn!(eni = %eni.eni_id, error = %e, "plug failed during reconcile");
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}

#[cfg(test)]
mod tests {
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
            .reconcile(std::slice::from_ref(&a), &["i-01".to_string()])
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
        let report = dp.reconcile(&[a.clone(), b.clone()], &[]).unwrap();
        assert_eq!((report.plugged, report.in_place), (1, 1));
        fake.clear_calls();
        let report = dp.reconcile(&[a, b], &[]).unwrap();
        assert_eq!((report.plugged, report.in_place), (0, 2));
        assert!(fake.calls().is_empty(), "{:?}", fake.calls());
        assert!(fake.netns("tq-i-02").unwrap().links.contains_key("eth0"));
        // Nothing desired: everything of ours goes.
        dp.reconcile(&[], &[]).unwrap();
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
            dp.reconcile(&[a.clone(), b.clone()], &[]).unwrap();
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
}
