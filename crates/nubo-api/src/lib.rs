//! The HTTP edge of Nubo: one listener for every AWS service, routed by the
//! SigV4 credential scope. Each request is authenticated, decoded into the
//! service's action enum, authorized (with `DryRun` handled once, for every
//! EC2 action), executed by the application service and rendered in the
//! service's exact XML shape. Errors are mapped to AWS codes in [`error`]
//! only. Every call is counted in [`metrics`] and, when it mutates, audited.

pub mod call;
pub mod ec2;
pub mod error;
pub mod iam;
pub mod metrics;
pub mod server;
pub mod sts;

pub use server::{serve, Api};
