//! The host agent: converges this host to the desired state in the store.
//!
//! The EC2 service writes desired state (an instance `pending`, `stopping`,
//! `shutting-down`, …); the agent reads every instance placed on its host
//! ([`nubo_ec2::Ec2Service::host_instances`]), decides per instance what the
//! host must do ([`decide`], a pure function of the stored state and the
//! observed runtime), does it through the [`nubo_compute::Hypervisor`] and
//! the [`nubo_net::DataPlane`], and reports back
//! ([`nubo_ec2::Ec2Service::report`]). Nothing is kept only in memory: after
//! a `kill -9` of the server the next pass re-adopts running instances
//! (the driver finds them from their state directory), finishes interrupted
//! transitions (each step is idempotent), and removes what nobody wants
//! (instances the store no longer has, prefixed network objects no ENI
//! explains).
//!
//! In the all-in-one server the agent runs in-process and registers its host
//! through the same call a remote agent will use.

mod decide;
mod metadata;
mod network;
mod runner;

pub use decide::{decide, Step};
pub use network::network_model;
pub use runner::{Agent, AgentConfig};
