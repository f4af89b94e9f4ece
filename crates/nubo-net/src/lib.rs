//! Nubo's network data plane on one host, and the instance metadata service.
//!
//! The host agent feeds this crate plain data (which ENIs of which VPC are on
//! this host, which instances run) and it converges the kernel to it, following
//! `shared/ARCHITECTURE.md` §3:
//!
//! - one **router namespace per VPC** (`<prefix>-vpc-…`), the VPC's VRF: IPv4
//!   forwarding on, `169.254.169.254/32` and every subnet gateway address on its
//!   loopback, anti-spoofing in its nftables table (an ENI cannot use another's
//!   address, which is what lets metadata trust the source address);
//! - one **veth pair per ENI**: `eth<N>` in the instance's namespace
//!   (`<prefix>-i-…`) with the ENI's MAC, address and a default route via the
//!   subnet gateway, the other end (`<prefix>e<eni tail>`) in the router with
//!   proxy ARP and a `/32` route, so all traffic, even within a subnet, crosses
//!   the router;
//! - the **metadata service** ([`imds`]) listening on 169.254.169.254:80 inside
//!   each router namespace, identifying the caller by (VPC, source address).
//!
//! - the rest of the VPC model (issue 5), from a [`NetworkModel`] the agent
//!   builds each pass: route tables as policy routing ([`topology`]), security
//!   groups, network ACLs, source/dest checks and the internet gateway's 1:1
//!   NAT as one atomic nftables table per router ([`filter`]), NAT-gateway and
//!   transit-gateway namespaces, peering links, and the host's external bridge
//!   carrying the public pools ([`DataPlane::apply_network`]).
//!
//! Layout: [`plan`] and [`topology`] are pure (desired model + observed kernel
//! → kernel objects and commands), [`filter`] renders nftables text,
//! [`ops::NetOps`] is the narrow kernel trait with the real
//! [`linux::LinuxNetOps`] and the recording [`fake::FakeNetOps`], and
//! [`DataPlane`] executes (plug, unplug, apply_network, reconcile). Every
//! kernel object carries the configured name prefix ([`naming`]), so the
//! reconciler removes prefixed orphans and tests can prove nothing leaked.
//!
//! This crate does not depend on the store or the EC2 service: it is a leaf that
//! only the host agent uses.

pub mod dataplane;
pub mod error;
pub mod fake;
pub mod filter;
pub mod imds;
pub mod linux;
pub mod model;
pub mod naming;
pub mod netns;
pub mod ops;
pub mod plan;
pub mod topology;

pub use dataplane::{DataPlane, NetworkReport, ReconcileReport};
pub use error::NetError;
pub use model::NetworkModel;
pub use naming::NetConfig;
pub use plan::EniPlug;
