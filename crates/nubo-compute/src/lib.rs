//! Nubo's compute drivers: how an instance becomes (and stops being) a set of
//! processes on this host.
//!
//! The host agent codes against the [`Hypervisor`] trait only. Two
//! implementations live here: [`ContainerDriver`], the Linux system-container
//! driver (namespaces + overlay rootfs + cgroups, a real init as PID 1), and
//! [`fake::RecordingHypervisor`], an in-memory stand-in that records calls for
//! the agent's unit tests. A VM driver can join later behind the same trait.
//!
//! The container driver keeps no state in memory: every fact about an
//! instance lives in `state_dir/<id>/` and in the kernel (cgroups, processes),
//! so a new driver after a server restart re-adopts running instances, and
//! [`Hypervisor::list`] finds every trace for orphan removal.
//!
//! This crate depends on nothing else of Nubo: it is the OS layer.

pub mod container;
pub mod fake;
mod hypervisor;

pub use container::{launcher_main, ContainerConfig, ContainerDriver};
pub use hypervisor::{ExitKind, HostError, Hypervisor, InstanceSpec, ResourceLimits, Runtime};

/// The first argument that selects the launcher in whichever binary hosts it
/// (`nubo container-launch …` or `nubo-container-launch container-launch …`).
pub const LAUNCHER_SUBCOMMAND: &str = "container-launch";
