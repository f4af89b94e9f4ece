//! The EC2 application service: regions and zones, VPCs, and tags on every
//! taggable resource. Handlers in `nubo-api` decode requests, authorize them
//! and call in here; this crate validates against AWS's rules, writes desired
//! state to the store in one transaction per call, and returns domain values
//! that the API edge renders. It never sees HTTP or XML.

pub mod default_vpc;
pub mod elastic_ip;
pub mod flow_log;
pub mod idempotency;
pub mod image;
pub mod instance;
pub mod instance_type;
pub mod internet_gateway;
pub mod ipam;
pub mod key_pair;
pub mod nat_gateway;
pub mod network_acl;
pub mod network_interface;
pub mod network_view;
pub mod placement;
pub mod region;
pub mod resource;
pub mod retry;
pub mod route_table;
pub mod security_group;
pub mod subnet;
pub mod tags;
pub mod transit_gateway;
pub mod vpc;
pub mod vpc_peering;

pub use region::{AvailabilityZone, Region, RegionConfig};
pub use resource::{Ec2Service, Limits, RequestScope};
