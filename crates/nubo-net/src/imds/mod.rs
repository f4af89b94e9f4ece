//! The instance metadata service (IMDS), as EC2 serves it at
//! `http://169.254.169.254/`: the `meta-data` tree, `user-data`, the instance
//! identity document, and IMDSv2 sessions (PUT `/latest/api/token`, tokens
//! bound to the instance that asked, response hop limit).
//!
//! - [`handler`] is a pure function from a request, the caller's metadata and
//!   the clock to a response; every rule lives there and is unit-tested.
//! - [`token`] issues and checks session tokens (HMAC over instance and expiry,
//!   with a per-process key: tokens do not survive an agent restart, as the
//!   client library simply asks for a new one on 401).
//! - [`server`] runs one HTTP/1.1 listener on 169.254.169.254:80 inside each
//!   VPC router namespace and asks the [`MetadataSource`] (the host agent,
//!   reading the store) who the caller is: an instance reads only its own
//!   metadata, identified by (VPC router it came in through, source address).
//!   The router's strict reverse-path filter makes the source address
//!   trustworthy.

pub mod document;
pub mod handler;
pub mod server;
pub mod token;

use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;

pub use server::Imds;

/// `HttpTokens`: whether IMDSv1 (no token) requests are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpTokens {
    Optional,
    Required,
}

/// The instance's `MetadataOptions` (ModifyInstanceMetadataOptions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataOptions {
    pub http_tokens: HttpTokens,
    /// IP TTL of the token PUT's response: 1 means a container behind the
    /// instance (one more hop) cannot get a token.
    pub http_put_response_hop_limit: u8,
    /// When false the service answers nothing but 404 to that instance (the
    /// listener is shared by the VPC, so the connection itself is accepted).
    pub http_endpoint_enabled: bool,
    /// Whether `meta-data/tags/instance` is served.
    pub instance_metadata_tags: bool,
}

impl Default for MetadataOptions {
    fn default() -> Self {
        MetadataOptions {
            http_tokens: HttpTokens::Optional,
            http_put_response_hop_limit: 1,
            http_endpoint_enabled: true,
            instance_metadata_tags: false,
        }
    }
}

/// One ENI as `meta-data/network/interfaces/macs/<mac>/` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfaceMetadata {
    pub mac: String,
    pub device_number: u32,
    pub interface_id: String,
    pub local_hostname: String,
    pub local_ipv4s: Vec<Ipv4Addr>,
    pub subnet_id: String,
    pub subnet_ipv4_cidr_block: String,
    pub vpc_id: String,
    pub vpc_ipv4_cidr_blocks: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// Security group names.
    pub security_groups: Vec<String>,
    pub public_ipv4s: Vec<Ipv4Addr>,
    pub owner_id: String,
}

/// Everything the service can tell one instance about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceMetadata {
    pub ami_id: String,
    pub ami_launch_index: u32,
    pub instance_id: String,
    pub instance_type: String,
    pub local_ipv4: Ipv4Addr,
    /// `ip-10-0-1-5.ec2.internal`
    pub local_hostname: String,
    pub public_ipv4: Option<Ipv4Addr>,
    pub public_hostname: Option<String>,
    /// The primary ENI's MAC.
    pub mac: String,
    pub interfaces: Vec<InterfaceMetadata>,
    pub availability_zone: String,
    pub region: String,
    pub account_id: String,
    /// Security group names.
    pub security_groups: Vec<String>,
    /// (key name, OpenSSH public key)
    pub public_keys: Vec<(String, String)>,
    /// (name, device), e.g. ("ami", "/dev/xvda"), ("root", "/dev/xvda")
    pub block_device_mapping: Vec<(String, String)>,
    pub user_data: Option<Vec<u8>>,
    pub reservation_id: String,
    /// RFC 3339 UTC, e.g. `2026-11-23T18:00:00Z` (the document's `pendingTime`).
    pub launch_time_iso: String,
    /// `x86_64` or `arm64`
    pub architecture: String,
    /// The identity document's `imageId` (normally equal to `ami_id`).
    pub image_id: String,
    pub options: MetadataOptions,
    pub tags: Vec<(String, String)>,
}

/// A boxed future, so [`MetadataSource`] stays object-safe without async-trait.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who is calling: the host agent implements this from the store. `None` means
/// no instance of that VPC on this host has that address.
pub trait MetadataSource: Send + Sync + 'static {
    fn lookup(&self, vpc_id: &str, source: Ipv4Addr) -> BoxFuture<'_, Option<InstanceMetadata>>;
}
