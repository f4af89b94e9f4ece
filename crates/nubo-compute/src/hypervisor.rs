//! The driver interface the host agent uses: start/stop/observe instances.
//!
//! All calls are blocking and idempotent; the agent runs them on
//! `spawn_blocking` threads and re-issues them after a crash.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// cgroup limits derived from the instance type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceLimits {
    /// CPU quota in whole vCPUs (0 = unlimited).
    pub vcpus: u32,
    /// Memory limit in MiB (0 = unlimited).
    pub memory_mib: u64,
    /// Maximum number of tasks (0 = unlimited).
    pub pids: u64,
}

/// Everything the driver needs to start an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// `i-0123456789abcdef0`.
    pub instance_id: String,
    /// UTS hostname, e.g. `ip-10-0-1-5`.
    pub hostname: String,
    /// Read-only lower layer (an unpacked rootfs), shared, never written.
    pub image_rootfs: PathBuf,
    /// A named netns under `/run/netns` (created by the data plane) that the
    /// instance joins; `None` = a fresh empty network namespace.
    pub netns: Option<String>,
    pub limits: ResourceLimits,
}

/// How an instance's init ended by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// `poweroff`/`halt` inside the instance.
    PowerOff,
    /// `reboot` inside the instance.
    Reboot,
    /// init died or exited for any other reason.
    Crashed,
}

impl ExitKind {
    /// The word stored in `state_dir/<id>/exit`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExitKind::PowerOff => "poweroff",
            ExitKind::Reboot => "reboot",
            ExitKind::Crashed => "crashed",
        }
    }

    /// Inverse of [`ExitKind::as_str`].
    pub fn parse(word: &str) -> Option<ExitKind> {
        match word.trim() {
            "poweroff" => Some(ExitKind::PowerOff),
            "reboot" => Some(ExitKind::Reboot),
            "crashed" => Some(ExitKind::Crashed),
            _ => None,
        }
    }
}

/// What the host sees of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// init runs; `pid` is its host pid.
    Running { pid: u32 },
    /// No process (never started, stopped, or exit acknowledged).
    Stopped,
    /// init ended by itself since the last start; not yet acknowledged.
    Exited(ExitKind),
}

/// A driver failure, with the instance, path or command it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub String);

impl HostError {
    /// An error about an OS call on a path.
    pub fn io(what: &str, path: &Path, err: impl std::fmt::Display) -> HostError {
        HostError(format!("{what} {}: {err}", path.display()))
    }
}

/// A way to run instances on this host (system containers today, VMs later).
pub trait Hypervisor: Send + Sync {
    /// `"container"`, `"vm"`, …
    fn kind(&self) -> &'static str;
    /// Create (or reuse, after stop) the instance's disk and cgroups and
    /// launch its init; returns init's host pid. Already running → its pid.
    fn start(&self, spec: &InstanceSpec) -> Result<u32, HostError>;
    /// Ask init to shut down, wait `grace`, then kill everything; remove the
    /// cgroups, keep the disk. Zero grace = kill at once. Idempotent.
    fn stop(&self, id: &str, grace: Duration) -> Result<(), HostError>;
    /// Observe the instance.
    fn status(&self, id: &str) -> Result<Runtime, HostError>;
    /// Turn `Exited` into `Stopped` (and clean the cgroups).
    fn acknowledge_exit(&self, id: &str) -> Result<(), HostError>;
    /// Stop (force) and remove every trace: disk, files, cgroups. Absent = Ok.
    fn destroy(&self, id: &str) -> Result<(), HostError>;
    /// Ids of every instance with any trace on this host.
    fn list(&self) -> Result<Vec<String>, HostError>;
    /// The last 64 KiB written to the console (kept across stop/start).
    fn console_output(&self, id: &str) -> Result<Vec<u8>, HostError>;
    /// A command that runs `argv` inside the running instance.
    fn exec(&self, id: &str, argv: &[String]) -> Result<Command, HostError>;
    /// Copy the instance's merged filesystem into the empty directory `dest`.
    fn snapshot_rootfs(&self, id: &str, dest: &Path) -> Result<(), HostError>;
}
