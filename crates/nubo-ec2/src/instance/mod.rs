//! EC2 instances: the instance as stored, its lifecycle ([`state`]), and the
//! operations — `RunInstances` ([`run`]), the state-changing calls
//! ([`actions`]), the Describes ([`describe`]), attributes and metadata
//! options ([`attributes`]), and what the host agent reads and reports
//! ([`host`]).
//!
//! An instance row (child of its subnet) holds the *desired* state the API
//! asked for and the *observed* state the agent reported, in one field:
//! API calls move it into `pending`/`stopping`/`shutting-down`, the agent
//! moves it on to `running`/`stopped`/`terminated` once the host has done
//! the work. Its primary network interface is an ordinary ENI row attached
//! at device index 0 (`deleteOnTermination` true), so every ENI rule —
//! addresses from the subnet's one allocator, groups of the VPC, Elastic
//! IP associations — holds for instances too.

pub mod actions;
pub mod attributes;
pub mod describe;
pub mod host;
pub mod image;
pub mod run;
pub mod state;

use std::net::Ipv4Addr;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, Error, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::network_interface::{GroupIdentifier, NetworkInterface};
use crate::resource::Resource;
pub use state::{InstanceState, StateReason};

/// How long a terminated instance stays visible (AWS: about an hour).
pub const TERMINATED_VISIBLE_FOR: chrono::Duration = chrono::Duration::hours(1);

/// Largest `UserData` AWS accepts, before base64 (16 KiB).
pub const MAX_USER_DATA: usize = 16 * 1024;

/// `InstanceInitiatedShutdownBehavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ShutdownBehavior {
    #[default]
    Stop,
    Terminate,
}

impl ShutdownBehavior {
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "stop" => Ok(ShutdownBehavior::Stop),
            "terminate" => Ok(ShutdownBehavior::Terminate),
            other => Err(Error::invalid(format!(
                "Value ({other}) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values: stop, terminate"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ShutdownBehavior::Stop => "stop",
            ShutdownBehavior::Terminate => "terminate",
        }
    }
}

/// `HttpTokens` of the instance metadata options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HttpTokens {
    #[default]
    Optional,
    Required,
}

impl HttpTokens {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpTokens::Optional => "optional",
            HttpTokens::Required => "required",
        }
    }
}

/// The instance metadata service options (`MetadataOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataOptions {
    pub http_tokens: HttpTokens,
    /// 1–64; the IP TTL of the token response.
    pub http_put_response_hop_limit: i64,
    pub http_endpoint_enabled: bool,
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

/// An instance as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub id: ResourceId,
    pub owner_id: AccountId,
    /// `r-…`, shared by the instances of one `RunInstances` call.
    pub reservation_id: String,
    pub image_id: ResourceId,
    /// Where the image's root filesystem lives on the host, fixed at launch
    /// (an instance keeps running if its image is deregistered, as on AWS).
    #[serde(default)]
    pub image_rootfs: String,
    /// The image library key of that filesystem, when the library holds it
    /// (its content is removed only once no image and no live instance uses it).
    #[serde(default)]
    pub image_content_key: Option<String>,
    pub instance_type: String,
    pub key_name: Option<String>,
    /// The key pair's OpenSSH public key, copied at launch (the metadata
    /// service serves it even if the pair is deleted later, as AWS does).
    pub public_key: Option<String>,
    pub subnet_id: ResourceId,
    pub vpc_id: ResourceId,
    pub availability_zone: String,
    pub primary_interface_id: ResourceId,
    pub private_ip: Ipv4Addr,
    pub private_dns_name: String,
    pub mac_address: String,
    /// The public IPv4 address assigned at launch/start (not an Elastic IP):
    /// released at stop and at termination.
    pub public_ip: Option<Ipv4Addr>,
    /// Whether a public address is assigned at each start.
    pub assign_public_ip: bool,
    pub state: InstanceState,
    pub state_reason: Option<StateReason>,
    pub state_transition_reason: String,
    /// RFC 3339 (milliseconds): the last launch or start.
    pub launch_time: String,
    pub ami_launch_index: u32,
    pub client_token: Option<String>,
    /// `UserData` as given (base64).
    pub user_data: Option<String>,
    pub disable_api_termination: bool,
    pub disable_api_stop: bool,
    pub shutdown_behavior: ShutdownBehavior,
    pub metadata_options: MetadataOptions,
    /// The host that runs the instance.
    pub host_id: String,
    /// Incremented by every `RebootInstances`; the agent reboots while the
    /// instance's `reboots_done` is behind.
    pub reboots_requested: u64,
    pub reboots_done: u64,
    /// When the instance reached `terminated` (for its disappearance).
    pub terminated_at: Option<String>,
    /// Force flag of the last StopInstances: no graceful shutdown.
    #[serde(default)]
    pub force_stop: bool,
    #[serde(default)]
    pub tags: TagSet,
}

impl Instance {
    /// The hostname inside the instance: AWS's `ip-10-0-1-5`.
    pub fn hostname(&self) -> String {
        format!("ip-{}", self.private_ip.to_string().replace('.', "-"))
    }

    /// Whether a terminated instance has been visible long enough.
    pub fn expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.terminated_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| now - t.with_timezone(&chrono::Utc) > TERMINATED_VISIBLE_FOR)
    }
}

impl Resource for Instance {
    const KIND: ResourceKind = ResourceKind::Instance;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn parent(&self) -> Option<&ResourceId> {
        Some(&self.subnet_id)
    }

    const PARENT_FILTER: Option<&'static str> = Some("subnet-id");

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

/// An instance with its network interfaces (primary first): what the
/// Describes render and filter.
#[derive(Debug, Clone)]
pub struct InstanceView {
    pub instance: Instance,
    pub interfaces: Vec<NetworkInterface>,
}

impl InstanceView {
    /// The security groups of the primary interface.
    pub fn groups(&self) -> &[GroupIdentifier] {
        self.interfaces
            .first()
            .map(|i| i.groups.as_slice())
            .unwrap_or(&[])
    }

    /// The public address shown for the instance: the primary interface's
    /// Elastic IP, else its launch-time public address.
    pub fn public_ip(&self) -> Option<Ipv4Addr> {
        self.interfaces
            .first()
            .and_then(|i| i.association())
            .map(|a| a.public_ip)
            .or(self.instance.public_ip)
    }

    pub fn source_dest_check(&self) -> bool {
        self.interfaces.first().is_none_or(|i| i.source_dest_check)
    }

    fn each_interface(&self, f: impl Fn(&NetworkInterface) -> Vec<String>) -> Vec<String> {
        self.interfaces.iter().flat_map(f).collect()
    }
}

impl Filterable for InstanceView {
    const FILTERS: &'static [&'static str] = &[
        "affinity",
        "architecture",
        "availability-zone",
        "client-token",
        "dns-name",
        "hypervisor",
        "image-id",
        "instance-id",
        "instance-lifecycle",
        "instance-state-code",
        "instance-state-name",
        "instance-type",
        "instance.group-id",
        "instance.group-name",
        "ip-address",
        "key-name",
        "launch-index",
        "launch-time",
        "metadata-options.http-tokens",
        "metadata-options.http-put-response-hop-limit",
        "metadata-options.http-endpoint",
        "metadata-options.instance-metadata-tags",
        "monitoring-state",
        "network-interface.addresses.private-ip-address",
        "network-interface.addresses.primary",
        "network-interface.attachment.attachment-id",
        "network-interface.attachment.device-index",
        "network-interface.attachment.status",
        "network-interface.attachment.delete-on-termination",
        "network-interface.description",
        "network-interface.group-id",
        "network-interface.group-name",
        "network-interface.mac-address",
        "network-interface.network-interface-id",
        "network-interface.owner-id",
        "network-interface.private-dns-name",
        "network-interface.requester-managed",
        "network-interface.source-dest-check",
        "network-interface.status",
        "network-interface.subnet-id",
        "network-interface.vpc-id",
        "owner-id",
        "placement-group-name",
        "platform-details",
        "private-dns-name",
        "private-ip-address",
        "reason",
        "requester-id",
        "reservation-id",
        "root-device-name",
        "root-device-type",
        "source-dest-check",
        "state-reason-code",
        "state-reason-message",
        "subnet-id",
        "tenancy",
        "usage-operation",
        "virtualization-type",
        "vpc-id",
        "group-id",
        "group-name",
        "group.group-id",
        "group.group-name",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        let i = &self.instance;
        let one = |s: String| vec![s];
        match name {
            "architecture" => one("x86_64".into()),
            "availability-zone" => one(i.availability_zone.clone()),
            "client-token" => i.client_token.iter().cloned().collect(),
            "dns-name" => vec![],
            "hypervisor" => one("xen".into()),
            "image-id" => one(i.image_id.to_string()),
            "instance-id" => one(i.id.to_string()),
            "instance-state-code" => one(i.state.code().to_string()),
            "instance-state-name" => one(i.state.as_str().into()),
            "instance-type" => one(i.instance_type.clone()),
            "instance.group-id" | "group-id" | "group.group-id" | "network-interface.group-id" => {
                self.each_interface(|n| n.groups.iter().map(|g| g.id.to_string()).collect())
            }
            "instance.group-name"
            | "group-name"
            | "group.group-name"
            | "network-interface.group-name" => {
                self.each_interface(|n| n.groups.iter().map(|g| g.name.clone()).collect())
            }
            "ip-address" => self
                .public_ip()
                .map(|a| a.to_string())
                .into_iter()
                .collect(),
            "key-name" => i.key_name.iter().cloned().collect(),
            "launch-index" => one(i.ami_launch_index.to_string()),
            "launch-time" => one(i.launch_time.clone()),
            "metadata-options.http-tokens" => one(i.metadata_options.http_tokens.as_str().into()),
            "metadata-options.http-put-response-hop-limit" => {
                one(i.metadata_options.http_put_response_hop_limit.to_string())
            }
            "metadata-options.http-endpoint" => {
                one(enabled(i.metadata_options.http_endpoint_enabled))
            }
            "metadata-options.instance-metadata-tags" => {
                one(enabled(i.metadata_options.instance_metadata_tags))
            }
            "monitoring-state" => one("disabled".into()),
            "network-interface.addresses.private-ip-address" => self.each_interface(|n| {
                n.private_ips
                    .iter()
                    .map(|p| p.address.to_string())
                    .collect()
            }),
            "network-interface.addresses.primary" => self.each_interface(|n| {
                n.private_ips
                    .iter()
                    .map(|p| p.primary.to_string())
                    .collect()
            }),
            "network-interface.attachment.attachment-id" => {
                self.each_interface(|n| n.attachment.iter().map(|a| a.id.clone()).collect())
            }
            "network-interface.attachment.device-index" => self.each_interface(|n| {
                n.attachment
                    .iter()
                    .map(|a| a.device_index.to_string())
                    .collect()
            }),
            "network-interface.attachment.status" => {
                self.each_interface(|n| n.attachment.iter().map(|a| a.status.clone()).collect())
            }
            "network-interface.attachment.delete-on-termination" => self.each_interface(|n| {
                n.attachment
                    .iter()
                    .map(|a| a.delete_on_termination.to_string())
                    .collect()
            }),
            "network-interface.description" => self.each_interface(|n| vec![n.description.clone()]),
            "network-interface.mac-address" => self.each_interface(|n| vec![n.mac_address.clone()]),
            "network-interface.network-interface-id" => {
                self.each_interface(|n| vec![n.id.to_string()])
            }
            "network-interface.owner-id" => self.each_interface(|n| vec![n.owner_id.to_string()]),
            "network-interface.private-dns-name" => {
                self.each_interface(|n| vec![n.private_dns_name.clone()])
            }
            "network-interface.requester-managed" => {
                self.each_interface(|n| vec![n.requester_managed.to_string()])
            }
            "network-interface.source-dest-check" => {
                self.each_interface(|n| vec![n.source_dest_check.to_string()])
            }
            "network-interface.status" => {
                self.each_interface(|n| vec![n.status.as_str().to_string()])
            }
            "network-interface.subnet-id" => self.each_interface(|n| vec![n.subnet_id.to_string()]),
            "network-interface.vpc-id" => self.each_interface(|n| vec![n.vpc_id.to_string()]),
            "owner-id" => one(i.owner_id.to_string()),
            "platform-details" => one("Linux/UNIX".into()),
            "private-dns-name" => one(i.private_dns_name.clone()),
            "private-ip-address" => one(i.private_ip.to_string()),
            "reason" => one(i.state_transition_reason.clone()),
            "reservation-id" => one(i.reservation_id.clone()),
            "root-device-name" => one("/dev/xvda".into()),
            "root-device-type" => one("ebs".into()),
            "source-dest-check" => one(self.source_dest_check().to_string()),
            "state-reason-code" => i.state_reason.iter().map(|r| r.code.clone()).collect(),
            "state-reason-message" => i.state_reason.iter().map(|r| r.message.clone()).collect(),
            "subnet-id" => one(i.subnet_id.to_string()),
            "tenancy" => one("default".into()),
            "usage-operation" => one("RunInstances".into()),
            "virtualization-type" => one("hvm".into()),
            "vpc-id" => one(i.vpc_id.to_string()),
            // Known to AWS, never set here (no placement groups, spot,
            // dedicated hosts or requester-launched instances).
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.instance.tags
    }
}

fn enabled(on: bool) -> String {
    if on { "enabled" } else { "disabled" }.into()
}

/// Parses an instance ID parameter.
pub fn parse_instance_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(text, ResourceKind::Instance, "InvalidInstanceID.Malformed")
}

/// `IncorrectInstanceState` for an instance that cannot do `what` now.
pub fn incorrect_state(id: &ResourceId, state: InstanceState, what: &str) -> Error {
    Error::client(
        "IncorrectInstanceState",
        format!(
            "The instance '{id}' is not in a state from which it can be {what}. Its current state is '{}'.",
            state.as_str()
        ),
    )
}
