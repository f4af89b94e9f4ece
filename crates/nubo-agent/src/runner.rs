//! The agent's loop: read what this host must run, decide each instance's
//! step, execute the steps (a few at a time, each instance at most once at
//! a time), report, and periodically sweep the network and the hypervisor
//! for orphans.
//!
//! The network pass: every pass reads the whole network
//! ([`Ec2Service::network_view`]), translates it ([`network_model`]) and,
//! when the model differs from the one last applied, converges the kernel to
//! it ([`DataPlane::apply_network`]). Applies are serialized and each reads
//! the store after the previous one finished, so the last model applied is
//! never older than one applied before it. A launch applies the model that
//! includes its instance after plugging it and before starting it, so an
//! instance never runs unfiltered. A failed apply is logged and retried by
//! the next pass; it does not stop instance convergence.

use std::collections::{BTreeSet, HashSet};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nubo_compute::{Hypervisor, InstanceSpec, ResourceLimits, Runtime};
use nubo_core::Error;
use nubo_ec2::instance::host::{AgentLink, HostInstance, HostRecord, Observation};
use nubo_ec2::instance::image::ImageJob;
use nubo_ec2::Ec2Service;
use nubo_net::imds::Imds;
use nubo_net::model::ExternalNet;
use nubo_net::{DataPlane, EniPlug, NetworkModel};
use tokio::sync::{Notify, Semaphore};

use crate::decide::{decide, Step};
use crate::metadata::MetadataTable;
use crate::network::network_model;

/// A step that takes longer than this is logged (a hung kernel call or a
/// guest that ignores its shutdown signal shows up here).
const SLOW_STEP: Duration = Duration::from_secs(15);

/// How the agent runs on this host.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The host's stable name.
    pub host_id: String,
    /// The zones it serves (the all-in-one host: every zone).
    pub zones: Vec<String>,
    pub vcpus: u32,
    pub memory_mib: u64,
    /// Graceful shutdown time before a stop kills.
    pub stop_grace: Duration,
    /// Convergence passes happen at least this often.
    pub tick: Duration,
    /// Instances worked on at once.
    pub parallel: usize,
    /// How often the network and the hypervisor are swept for orphans.
    pub sweep_every: Duration,
    /// Whether to serve instance metadata in the VPC routers (off only in
    /// tests whose data plane is a fake, with no namespace to listen in).
    pub serve_metadata: bool,
    /// The host's external network (the bridge public addresses live on).
    pub external: ExternalNet,
}

/// The host agent (see the crate docs).
pub struct Agent {
    ec2: Ec2Service,
    hv: Arc<dyn Hypervisor>,
    net: Arc<DataPlane>,
    imds: Imds,
    table: MetadataTable,
    wake: Arc<Notify>,
    cfg: AgentConfig,
    busy: Mutex<HashSet<String>>,
    /// When each instance's last step ended: a pass whose read is older
    /// must not act on it again (it read the state before the step's report).
    finished: Mutex<std::collections::HashMap<String, Instant>>,
    permits: Arc<Semaphore>,
    last_sweep: Mutex<Option<Instant>>,
    /// Held while a network model is read and applied (one at a time).
    network_turn: tokio::sync::Mutex<()>,
    /// The model last applied successfully and when that apply began
    /// (`None`: apply at the next pass).
    network_applied: Mutex<Option<(NetworkModel, Instant)>>,
}

/// The EC2 service's handle on the agent.
struct Link {
    wake: Arc<Notify>,
    hv: Arc<dyn Hypervisor>,
}

impl AgentLink for Link {
    fn wake(&self) {
        self.wake.notify_one();
    }

    fn console_output(&self, instance_id: &str) -> Result<Vec<u8>, Error> {
        self.hv
            .console_output(instance_id)
            .map_err(|e| Error::internal(format!("console of {instance_id}: {e}")))
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("{what}: {e}"))
}

/// The whole story of an error, for logs and state reasons (an internal
/// error's `Display` is deliberately vague for API clients).
fn detail(e: &Error) -> String {
    match e {
        Error::Internal(d) => d.clone(),
        other => other.to_string(),
    }
}

/// Runs blocking host work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal("host task", e))?
}

/// The data plane's view of an instance's primary interface.
fn eni_plug(hi: &HostInstance) -> Option<EniPlug> {
    let eni = hi.interfaces.first()?;
    let address = eni.primary_ip()?;
    let (net, prefix_len) = hi.subnet_cidr.split_once('/')?;
    let net: Ipv4Addr = net.parse().ok()?;
    Some(EniPlug {
        eni_id: eni.id.to_string(),
        vpc_id: hi.instance.vpc_id.to_string(),
        instance_id: hi.instance.id.to_string(),
        mac: eni.mac_address.clone(),
        address,
        prefix_len: prefix_len.parse().ok()?,
        gateway: Ipv4Addr::from(u32::from(net) + 1),
        device_index: 0,
    })
}

impl Agent {
    pub fn new(
        ec2: Ec2Service,
        hv: Arc<dyn Hypervisor>,
        net: Arc<DataPlane>,
        cfg: AgentConfig,
    ) -> Arc<Agent> {
        let table = MetadataTable::default();
        let imds = Imds::new(Arc::new(table.clone()));
        Arc::new(Agent {
            ec2,
            hv,
            net,
            imds,
            table,
            wake: Arc::new(Notify::new()),
            permits: Arc::new(Semaphore::new(cfg.parallel.max(1))),
            cfg,
            busy: Mutex::new(HashSet::new()),
            finished: Mutex::new(Default::default()),
            last_sweep: Mutex::new(None),
            network_turn: tokio::sync::Mutex::new(()),
            network_applied: Mutex::new(None),
        })
    }

    /// Registers the host, connects to the EC2 service and starts the loop.
    pub async fn start(self: &Arc<Self>) -> Result<(), Error> {
        self.ec2
            .register_host(&HostRecord {
                id: self.cfg.host_id.clone(),
                zones: self.cfg.zones.clone(),
                vcpus: self.cfg.vcpus,
                memory_mib: self.cfg.memory_mib,
                schedulable: true,
                hypervisor: self.hv.kind().to_string(),
                registered_at: chrono::Utc::now().to_rfc3339(),
            })
            .await?;
        self.ec2.attach_agent(Arc::new(Link {
            wake: self.wake.clone(),
            hv: self.hv.clone(),
        }));
        let agent = self.clone();
        tokio::spawn(async move { agent.run().await });
        Ok(())
    }

    async fn run(self: Arc<Self>) {
        loop {
            if let Err(e) = self.pass().await {
                tracing::warn!(error = %detail(&e), "agent pass failed");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.cfg.tick) => {}
            }
        }
    }

    /// The network model last applied to this host, if the last apply
    /// succeeded (for tests and diagnostics).
    pub fn last_network_model(&self) -> Option<NetworkModel> {
        self.network_applied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(model, _)| model.clone())
    }

    /// Reads the network from the store and applies it unless the same
    /// model was applied already — by an apply that began after
    /// `kernel_changed`, when given (a plug or a sweep changed the kernel
    /// under the last model). Concurrent launches thus share one apply.
    async fn converge_network(&self, kernel_changed: Option<Instant>) -> Result<(), Error> {
        let _turn = self.network_turn.lock().await;
        let read_began = Instant::now();
        let view = self.ec2.network_view(&self.cfg.host_id).await?;
        let model = network_model(&view, &self.cfg.external);
        let current = self
            .network_applied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|(last, at)| {
                *last == model && kernel_changed.is_none_or(|changed| *at > changed)
            });
        if current {
            return Ok(());
        }
        let net = self.net.clone();
        let desired = model.clone();
        let began = Instant::now();
        let applied = blocking(move || {
            net.apply_network(&desired)
                .map_err(|e| internal("applying the network", e))
        })
        .await;
        let mut last = self
            .network_applied
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match applied {
            Ok(report) => {
                // The bench reads `elapsed_ms` of the first apply after a
                // restart (the full resync).
                tracing::info!(
                    elapsed_ms = began.elapsed().as_secs_f64() * 1000.0,
                    read_ms = (began - read_began).as_secs_f64() * 1000.0,
                    changed = ?report.changed,
                    unchanged = report.unchanged,
                    removed = ?report.removed,
                    "network applied"
                );
                *last = Some((model, began));
                Ok(())
            }
            Err(e) => {
                *last = None;
                Err(e)
            }
        }
    }

    /// One convergence pass over every instance of this host.
    pub async fn pass(self: &Arc<Self>) -> Result<(), Error> {
        let began = Instant::now();
        if let Err(e) = self.converge_network(None).await {
            tracing::warn!(error = %detail(&e), "network pass failed");
        }
        let network = began.elapsed();
        let read_at = Instant::now();
        let instances = self.ec2.host_instances(&self.cfg.host_id).await?;
        self.table.refresh(&instances);
        let hv = self.hv.clone();
        let traces: BTreeSet<String> = blocking(move || {
            hv.list()
                .map(|l| l.into_iter().collect())
                .map_err(|e| internal("listing instances", e))
        })
        .await?;
        let known: HashSet<String> = instances
            .iter()
            .map(|h| h.instance.id.to_string())
            .collect();
        for orphan in traces.iter().filter(|t| !known.contains(*t)) {
            self.spawn_orphan_removal(orphan.clone());
        }
        for hi in instances {
            let id = hi.instance.id.to_string();
            let idle = matches!(
                hi.instance.state,
                nubo_ec2::instance::InstanceState::Terminated
                    | nubo_ec2::instance::InstanceState::Stopped
            );
            if idle && !traces.contains(&id) {
                continue;
            }
            if self.finished_after(&id, read_at) {
                // Its last step ended after this pass read it: the next pass
                // (which that step's wake-up triggers) sees the new state.
                continue;
            }
            self.spawn_converge(hi, traces.contains(&id));
        }
        let instances = began.elapsed();
        for job in self.ec2.image_jobs(&self.cfg.host_id).await? {
            self.spawn_image_job(job);
        }
        let images = began.elapsed();
        self.maybe_sweep().await;
        if began.elapsed() > SLOW_STEP {
            // Everything a pass starts waits for it: say where it went.
            tracing::warn!(
                network_s = network.as_secs_f64(),
                instances_s = (instances - network).as_secs_f64(),
                images_s = (images - instances).as_secs_f64(),
                sweep_s = (began.elapsed() - images).as_secs_f64(),
                "slow agent pass"
            );
        }
        Ok(())
    }

    /// `CreateImage`: copies the instance's filesystem into the library.
    fn spawn_image_job(self: &Arc<Self>, job: ImageJob) {
        let key = job.image_id.to_string();
        if !self.claim(&key) {
            return;
        }
        let agent = self.clone();
        tokio::spawn(async move {
            let _permit = agent.permits.clone().acquire_owned().await;
            let hv = agent.hv.clone();
            let dest = agent.ec2.image_library().rootfs_dir(job.image_id.as_str());
            let instance = job.instance_id.to_string();
            let outcome = blocking(move || {
                // A half copy of an interrupted job is redone from scratch.
                let _ = std::fs::remove_dir_all(&dest);
                std::fs::create_dir_all(&dest).map_err(|e| internal("image dir", e))?;
                hv.snapshot_rootfs(&instance, &dest)
                    .map_err(|e| internal("snapshot", e))
            })
            .await
            .map_err(|e| detail(&e));
            if let Err(e) = &outcome {
                tracing::warn!(image = %job.image_id, error = %e, "CreateImage failed");
            }
            if let Err(e) = agent.ec2.finish_image_job(&job, outcome).await {
                tracing::warn!(image = %job.image_id, error = %detail(&e), "reporting an image failed");
            }
            agent.release(&key);
        });
    }

    /// Marks `id` busy; false if it already is.
    fn claim(&self, id: &str) -> bool {
        self.busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string())
    }

    fn release(&self, id: &str) {
        {
            let mut finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
            finished.retain(|_, at| at.elapsed() < Duration::from_secs(60));
            finished.insert(id.to_string(), Instant::now());
        }
        self.busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Whether `id`'s last step ended after `read_at`.
    fn finished_after(&self, id: &str, read_at: Instant) -> bool {
        self.finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .is_some_and(|at| *at > read_at)
    }

    fn spawn_orphan_removal(self: &Arc<Self>, id: String) {
        if !self.claim(&id) {
            return;
        }
        let agent = self.clone();
        tokio::spawn(async move {
            let _permit = agent.permits.clone().acquire_owned().await;
            tracing::info!(instance = %id, "removing an instance the store does not have");
            let hv = agent.hv.clone();
            let net = agent.net.clone();
            let target = id.clone();
            let done = blocking(move || {
                hv.destroy(&target).map_err(|e| internal("destroy", e))?;
                net.remove_instance_netns(&target)
                    .map_err(|e| internal("netns", e))
            })
            .await;
            if let Err(e) = done {
                tracing::warn!(instance = %id, error = %detail(&e), "orphan removal failed");
            }
            agent.release(&id);
        });
    }

    fn spawn_converge(self: &Arc<Self>, hi: HostInstance, traced: bool) {
        let id = hi.instance.id.to_string();
        if !self.claim(&id) {
            return;
        }
        let agent = self.clone();
        tokio::spawn(async move {
            let _permit = agent.permits.clone().acquire_owned().await;
            let began = Instant::now();
            let outcome = agent.converge(&hi, traced).await;
            if began.elapsed() > SLOW_STEP {
                tracing::warn!(instance = %id, seconds = began.elapsed().as_secs_f64(), "slow convergence step");
            }
            let worked = match outcome {
                Ok(worked) => worked,
                Err(e) => {
                    tracing::warn!(instance = %id, error = %detail(&e), "converging failed");
                    if hi.instance.state == nubo_ec2::instance::InstanceState::Pending {
                        let failed = Observation::StartFailed(detail(&e));
                        let _ = agent
                            .ec2
                            .report(&hi.account, &hi.region, &hi.instance.id, &failed)
                            .await;
                    }
                    true
                }
            };
            agent.release(&id);
            if worked {
                // The next state (e.g. stopping after a guest poweroff) at once.
                agent.wake.notify_one();
            }
        });
    }

    fn spec(&self, hi: &HostInstance) -> Result<InstanceSpec, Error> {
        let t = nubo_ec2::instance_type::find(&hi.instance.instance_type).ok_or_else(|| {
            Error::internal(format!("unknown type {}", hi.instance.instance_type))
        })?;
        Ok(InstanceSpec {
            instance_id: hi.instance.id.to_string(),
            hostname: hi.instance.hostname(),
            image_rootfs: hi.image_rootfs.clone(),
            netns: Some(self.net.instance_netns(hi.instance.id.as_str())),
            limits: ResourceLimits {
                vcpus: t.vcpus,
                memory_mib: t.memory_mib,
                pids: 1024 * u64::from(t.vcpus.max(1)),
            },
        })
    }

    /// Does what `hi` needs; true if anything was done.
    async fn converge(self: &Arc<Self>, hi: &HostInstance, traced: bool) -> Result<bool, Error> {
        let id = hi.instance.id.to_string();
        let runtime: Option<Runtime> = if traced {
            let hv = self.hv.clone();
            let target = id.clone();
            Some(blocking(move || hv.status(&target).map_err(|e| internal("status", e))).await?)
        } else {
            None
        };
        let step = decide(&hi.instance, runtime.as_ref());
        if step == Step::Nothing {
            return Ok(false);
        }
        tracing::info!(instance = %id, state = hi.instance.state.as_str(), ?step, "converging");
        let report = |o: Observation| {
            let ec2 = self.ec2.clone();
            let (account, region, iid) = (
                hi.account.clone(),
                hi.region.clone(),
                hi.instance.id.clone(),
            );
            async move { ec2.report(&account, &region, &iid, &o).await.map(drop) }
        };
        match step {
            Step::Nothing => {}
            Step::Launch | Step::Relaunch { .. } => {
                let ack = matches!(step, Step::Relaunch { ack: true });
                self.launch(hi, ack).await?;
                if hi.instance.state == nubo_ec2::instance::InstanceState::Pending {
                    report(Observation::Started).await?;
                }
            }
            Step::Reboot(n) => {
                let hv = self.hv.clone();
                let (target, grace) = (id.clone(), self.cfg.stop_grace);
                blocking(move || hv.stop(&target, grace).map_err(|e| internal("stop", e))).await?;
                self.launch(hi, false).await?;
                report(Observation::Rebooted(n)).await?;
            }
            Step::GuestPowerOff => {
                let hv = self.hv.clone();
                let target = id.clone();
                blocking(move || hv.acknowledge_exit(&target).map_err(|e| internal("ack", e)))
                    .await?;
                report(Observation::GuestPoweredOff).await?;
            }
            Step::Stop { force } => {
                let grace = if force {
                    Duration::ZERO
                } else {
                    self.cfg.stop_grace
                };
                self.halt(hi, grace, false).await?;
                report(Observation::Stopped).await?;
            }
            Step::EnsureStopped => self.halt(hi, Duration::ZERO, false).await?,
            Step::Destroy { report: wanted } => {
                self.halt(hi, Duration::ZERO, true).await?;
                if wanted {
                    report(Observation::Destroyed).await?;
                }
            }
        }
        Ok(true)
    }

    /// Plugs the network, serves metadata in the VPC, starts the instance.
    async fn launch(&self, hi: &HostInstance, ack: bool) -> Result<(), Error> {
        let spec = self.spec(hi)?;
        let plug = eni_plug(hi).ok_or_else(|| {
            Error::internal(format!("{} has no primary interface", spec.instance_id))
        })?;
        let net = self.net.clone();
        let hv = self.hv.clone();
        let p = plug.clone();
        let target = spec.instance_id.clone();
        blocking(move || {
            if ack {
                hv.acknowledge_exit(&target)
                    .map_err(|e| internal("ack", e))?;
            }
            net.ensure_instance_netns(&target)
                .map_err(|e| internal("netns", e))?;
            net.plug(&p).map_err(|e| internal("plug", e))
        })
        .await?;
        let plugged = Instant::now();
        if self.cfg.serve_metadata {
            self.imds
                .serve_vpc(&plug.vpc_id, &self.net.router_netns(&plug.vpc_id))
                .map_err(|e| internal("metadata service", e))?;
        }
        // Its routes and filters before its first packet: the model read now
        // includes the instance (a pending instance is in it). A
        // failed apply does not fail the launch (it may come from another
        // VPC): the router's firewall exists from its creation and drops by
        // default, so the instance runs isolated until a pass succeeds.
        if let Err(e) = self.converge_network(Some(plugged)).await {
            tracing::warn!(instance = %spec.instance_id, error = %detail(&e), "network apply before start failed");
        }
        let hv = self.hv.clone();
        blocking(move || hv.start(&spec).map(drop).map_err(|e| internal("start", e))).await
    }

    /// Stops (or destroys) the instance and removes its network; the next
    /// idle pass sweeps, so a VPC router left without instances goes at once.
    async fn halt(&self, hi: &HostInstance, grace: Duration, destroy: bool) -> Result<(), Error> {
        *self.last_sweep.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let hv = self.hv.clone();
        let net = self.net.clone();
        let id = hi.instance.id.to_string();
        let eni = hi.interfaces.first().map(|e| e.id.to_string());
        blocking(move || {
            if destroy {
                hv.destroy(&id).map_err(|e| internal("destroy", e))?;
            } else {
                hv.stop(&id, grace).map_err(|e| internal("stop", e))?;
            }
            if let Some(eni) = eni {
                net.unplug(&eni).map_err(|e| internal("unplug", e))?;
            }
            net.remove_instance_netns(&id)
                .map_err(|e| internal("netns", e))
        })
        .await
    }

    /// Every `sweep_every`, when nothing else is in flight: converge the
    /// network to exactly the ENIs of instances that should run (removing
    /// prefixed orphans), stop metadata listeners of VPCs that have none,
    /// and let terminated instances disappear after their hour.
    async fn maybe_sweep(self: &Arc<Self>) {
        {
            let mut last = self.last_sweep.lock().unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|t| t.elapsed() >= self.cfg.sweep_every);
            let idle = self
                .busy
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty();
            if !due || !idle {
                return;
            }
            *last = Some(Instant::now());
        }
        if let Err(e) = self.sweep().await {
            tracing::warn!(error = %detail(&e), "sweep failed");
        }
    }

    async fn sweep(self: &Arc<Self>) -> Result<(), Error> {
        let instances = self.ec2.host_instances(&self.cfg.host_id).await?;
        let running: Vec<&HostInstance> = instances
            .iter()
            .filter(|h| h.instance.state.wants_processes())
            .collect();
        let desired: Vec<EniPlug> = running.iter().filter_map(|h| eni_plug(h)).collect();
        let keep: Vec<String> = running.iter().map(|h| h.instance.id.to_string()).collect();
        let vpcs: BTreeSet<String> = desired.iter().map(|e| e.vpc_id.clone()).collect();
        let view = self.ec2.network_view(&self.cfg.host_id).await?;
        let model = network_model(&view, &self.cfg.external);
        let net = self.net.clone();
        let plugs = desired.clone();
        blocking(move || {
            net.reconcile(&plugs, &keep, &model)
                .map(drop)
                .map_err(|e| internal("network reconcile", e))
        })
        .await?;
        // The reconcile may have removed what the last model put in place.
        if let Err(e) = self.converge_network(Some(Instant::now())).await {
            tracing::warn!(error = %detail(&e), "network pass after the sweep failed");
        }
        for vpc in vpcs.iter().filter(|_| self.cfg.serve_metadata) {
            self.imds
                .serve_vpc(vpc, &self.net.router_netns(vpc))
                .map_err(|e| internal("metadata service", e))?;
        }
        for vpc in self.imds.serving() {
            if !vpcs.contains(&vpc) {
                self.imds.stop_vpc(&vpc);
            }
        }
        self.ec2.purge_terminated().await?;
        Ok(())
    }
}
