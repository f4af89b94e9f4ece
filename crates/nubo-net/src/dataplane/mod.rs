//! The executor: plugs and unplugs ENIs and converges the host to the desired
//! set, running the pure plans of [`crate::plan`] through a [`NetOps`].
//!
//! Every operation is idempotent and safe to re-run after a crash at any
//! point: namespaces are created only when missing, a half-made veth (router end
//! without the right instance end) is deleted and made again, and every address
//! and route command has replace semantics. [`network`] converges the rest
//! of the topology (gateways, policy routing, nftables) to a
//! [`crate::NetworkModel`].

mod network;

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
    /// NAT-gateway and transit-gateway namespaces removed (not in the
    /// model), and the external bridge when the model has no VPC.
    pub removed_gateways: Vec<String>,
    /// ENIs (re-)plugged this pass (NAT-gateway ENIs included).
    pub plugged: usize,
    /// ENIs found completely in place (no kernel work).
    pub in_place: usize,
}

/// What [`DataPlane::apply_network`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkReport {
    /// Namespaces whose routes, rules or firewall were (re)written.
    pub changed: Vec<String>,
    /// Namespaces whose plan equals the last applied one (not touched).
    pub unchanged: usize,
    /// Prefixed kernel objects removed because the model no longer wants them.
    pub removed: Vec<String>,
    /// Namespaces applied without what goes through ENIs not plugged yet
    /// (retried on the next pass).
    pub waiting: Vec<String>,
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
    /// What `apply_network` last applied, per namespace (held for a whole
    /// apply, which serializes them).
    applied: Mutex<network::Applied>,
    /// Namespaces created since the last apply: whatever was cached for
    /// them is stale.
    created: Mutex<Vec<String>>,
    /// Routers known to carry Nubo's table (bootstrap or full).
    known_routers: Mutex<std::collections::BTreeSet<String>>,
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
            applied: Mutex::new(network::Applied::default()),
            created: Mutex::new(Vec::new()),
            known_routers: Mutex::new(std::collections::BTreeSet::new()),
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

    /// Creates a namespace unless it exists (true when this call made it);
    /// losing a creation race to a concurrent plug of the same VPC is success.
    fn ensure_netns(&self, name: &str) -> Result<bool, NetError> {
        // Serialized in this process, the existence check included: `ip netns
        // add` makes the file before it mounts the namespace on it, so a plug
        // that saw the file outside the lock could setns into the bare file
        // (EINVAL) while a concurrent plug of the same VPC is creating it.
        let _creating = self.creating.lock().unwrap_or_else(|e| e.into_inner());
        if self.netns_exists(name)? {
            return Ok(false);
        }
        match self.ops.netns_add(name) {
            Ok(()) => {
                self.created
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(name.to_string());
                Ok(true)
            }
            Err(_) if self.netns_exists(name)? => Ok(false),
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
    /// loopback commands ride in the ENI's router batch (one `ip` run). A
    /// router gets its bootstrap firewall (forwarding dropped) before anything
    /// is plugged into it, so it is never an open router: when this process
    /// made it, or when it first meets one without Nubo's table (a crash
    /// between creation and bootstrap); a table already there is never
    /// replaced here (that is `apply_network`'s).
    fn ensure_router(&self, name: &str) -> Result<(), NetError> {
        let created = self.ensure_netns(name)?;
        let known = self
            .known_routers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(name);
        if created || (!known && !self.ops.nft_has_table(name)?) {
            self.ops
                .nft_apply(name, &crate::filter::router_bootstrap())?;
        }
        self.known_routers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string());
        self.ops.sysctl(name, &crate::topology::router_sysctls())
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
    ///
    /// The network model keeps the routers of its VPCs (a VPC with only a NAT
    /// gateway here keeps its router), its NAT gateways' ENIs and namespaces
    /// (plugged here like instance ENIs) and its transit gateways; prefixed
    /// NAT and transit-gateway namespaces it does not want go. The next
    /// [`DataPlane::apply_network`] observes and re-applies everything.
    pub fn reconcile(
        &self,
        desired: &[EniPlug],
        running_instances: &[String],
        model: &crate::NetworkModel,
    ) -> Result<ReconcileReport, NetError> {
        self.cfg.validate()?;
        let topo = crate::topology::plan(&self.cfg, model)?;
        let mut desired = desired.to_vec();
        desired.extend(topo.nat_gateways.iter().map(|n| n.plug.clone()));
        let desired = &desired[..];
        {
            let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
            applied.by_netns.clear();
            applied.synced = false;
            self.known_routers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
        let keep_routers: Vec<String> = model.vpcs.iter().map(|v| v.id.clone()).collect();
        let observed = self.observe()?;
        let plan = plan::reconcile_plan(
            &self.cfg,
            desired,
            running_instances,
            &keep_routers,
            &observed,
        );
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
        let keep_gateways = topo.gateway_netns();
        let stale_gateways = observed.netns.iter().filter(|n| {
            (self.cfg.is_nat_netns(n) || self.cfg.is_tgw_netns(n)) && !keep_gateways.contains(*n)
        });
        for ns in stale_gateways {
            match self.ops.netns_del(ns) {
                Ok(()) => report.removed_gateways.push(ns.clone()),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if model.vpcs.is_empty() {
            // No router wanted here: the external bridge goes too.
            let bridge = self.cfg.external_bridge();
            let host = self.ops.links(crate::ops::HOST_NETNS)?;
            if host.iter().any(|l| l.name == bridge) {
                match self.ops.link_del(crate::ops::HOST_NETNS, &bridge) {
                    Ok(()) => report.removed_gateways.push(bridge),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
        }
        for ns in &plan.remove_netns {
            // A deleted namespace's links go when the kernel gets round to
            // it; the uplink's host end must be gone when we return.
            if let Some(vpc) = self.cfg.vpc_of_router(ns) {
                let uplink = self.cfg.uplink_router(vpc);
                let links = observed.router_links.get(ns);
                if links.is_some_and(|l| l.iter().any(|l| l.name == uplink)) {
                    if let Err(e) = self.ops.link_del(ns, &uplink) {
                        first_err.get_or_insert(e);
                    }
                }
            }
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
mod tests;
