//! The local host: the in-process agent of the all-in-one server (container
//! driver, data plane, metadata service) and `nubo exec`.
//!
//! Host settings come from the environment (and default sensibly):
//! `NUBO_HOST_PREFIX` (kernel-name prefix of every namespace, link and
//! cgroup, default `nubo`), `NUBO_HOST_VCPUS` / `NUBO_HOST_MEMORY_MIB`
//! (advertised capacity, default the machine's), `NUBO_CPU_OVERCOMMIT` /
//! `NUBO_MEMORY_OVERCOMMIT` (placement ratios, default 16 and 2: containers
//! reserve nothing, their limits are caps), `NUBO_STOP_GRACE_SECONDS`
//! (graceful shutdown before a stop kills, default 10). The external network
//! the data plane builds (bridge, public pools) comes from the configuration
//! (`NUBO_EXTERNAL_CIDR`, `NUBO_PUBLIC_POOL`, `NUBO_EXTERNAL_FORWARD`, see
//! [`crate::config`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use nubo_agent::{Agent, AgentConfig};
use nubo_compute::{ContainerConfig, ContainerDriver, Hypervisor};
use nubo_ec2::placement::Overcommit;
use nubo_ec2::Ec2Service;
use nubo_net::linux::LinuxNetOps;
use nubo_net::{DataPlane, NetConfig};

use crate::config::{Config, GlobalArgs};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The kernel-name prefix of this host's objects.
pub fn prefix() -> String {
    std::env::var("NUBO_HOST_PREFIX").unwrap_or_else(|_| "nubo".into())
}

/// Where instances' disks and runtime files live.
pub fn instances_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("instances")
}

/// The placement ratios from the environment.
pub fn overcommit() -> Overcommit {
    Overcommit {
        cpu: env_or("NUBO_CPU_OVERCOMMIT", 16.0),
        memory: env_or("NUBO_MEMORY_OVERCOMMIT", 2.0),
    }
}

fn machine_memory_mib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(1024, |kb| kb / 1024)
}

fn driver(data_dir: &Path) -> anyhow::Result<ContainerDriver> {
    ContainerDriver::new(ContainerConfig {
        state_dir: instances_dir(data_dir),
        cgroup_prefix: prefix(),
        nubo_exe: std::env::current_exe().context("locating the nubo binary")?,
    })
    .map_err(|e| anyhow::anyhow!("starting the container driver: {e}"))
}

/// Starts the local host's agent for `ec2`.
pub async fn start_agent(config: &Config, ec2: &Ec2Service) -> anyhow::Result<()> {
    let hv: Arc<dyn Hypervisor> = Arc::new(driver(&config.data_dir)?);
    let net_config = NetConfig { prefix: prefix() };
    net_config
        .validate()
        .map_err(|e| anyhow::anyhow!("NUBO_HOST_PREFIX: {e}"))?;
    let net = Arc::new(DataPlane::new(net_config, Arc::new(LinuxNetOps::new())));
    let zones = config
        .regions
        .iter()
        .flat_map(|r| r.zones.iter().cloned())
        .collect();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let agent = Agent::new(
        ec2.clone(),
        hv,
        net,
        AgentConfig {
            host_id: "local".into(),
            zones,
            vcpus: env_or("NUBO_HOST_VCPUS", cpus),
            memory_mib: env_or("NUBO_HOST_MEMORY_MIB", machine_memory_mib()),
            stop_grace: Duration::from_secs(env_or("NUBO_STOP_GRACE_SECONDS", 10)),
            tick: Duration::from_secs(2),
            parallel: 4,
            sweep_every: Duration::from_secs(30),
            serve_metadata: true,
            external: config.external.clone(),
        },
    );
    agent
        .start()
        .await
        .map_err(|e| anyhow::anyhow!("starting the host agent: {e}"))
}

#[derive(clap::Args, Debug)]
pub struct ExecArgs {
    /// The instance (`i-…`) to run the command in.
    pub instance_id: String,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// `nubo exec <instance> -- <command…>`: runs a command inside a running
/// instance of this host (all its namespaces and its root), with this
/// terminal's stdin/stdout/stderr; exits with the command's status.
pub fn exec(global: &GlobalArgs, args: ExecArgs) -> anyhow::Result<std::process::ExitCode> {
    let config = Config::load(global, None, None)?;
    let hv = driver(&config.data_dir)?;
    let mut command = hv
        .exec(&args.instance_id, &args.command)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.instance_id))?;
    let status = command
        .status()
        .with_context(|| format!("running {:?}", args.command))?;
    Ok(std::process::ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8,
    ))
}
