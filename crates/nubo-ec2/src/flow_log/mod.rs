//! VPC flow log definitions (control plane; no records are captured or
//! delivered yet): the model, the filters `DescribeFlowLogs` understands, the
//! validation of a definition in [`definition`] and the operations in
//! [`ops`].
//!
//! A flow log is a child row of the VPC, subnet or network interface it
//! watches (`parent_id`), so it is found, and deleted, with its resource:
//! deleting a VPC, subnet or interface deletes its flow logs in the same
//! transaction, as AWS does, and `CreateFlowLogs` writes the resource's row
//! back so a racing delete of it conflicts instead of leaving an orphan.

pub mod definition;
pub mod ops;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;

/// What a flow log watches (`ResourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowLogResourceType {
    Vpc,
    Subnet,
    NetworkInterface,
}

impl FlowLogResourceType {
    pub fn parse(text: &str) -> Result<Self, nubo_core::Error> {
        match text {
            "VPC" => Ok(Self::Vpc),
            "Subnet" => Ok(Self::Subnet),
            "NetworkInterface" => Ok(Self::NetworkInterface),
            "TransitGateway" | "TransitGatewayAttachment" | "RegionalNatGateway" => {
                Err(nubo_core::Error::invalid(format!(
                    "Flow logs for resource type {text} are not supported by this Nubo installation."
                )))
            }
            other => Err(nubo_core::Error::invalid(format!(
                "Value ({other}) for parameter ResourceType is invalid. Valid values: VPC, Subnet, NetworkInterface."
            ))),
        }
    }

    /// The resource kind of the IDs it takes.
    pub fn kind(self) -> ResourceKind {
        match self {
            Self::Vpc => ResourceKind::Vpc,
            Self::Subnet => ResourceKind::Subnet,
            Self::NetworkInterface => ResourceKind::NetworkInterface,
        }
    }

    /// The `…ID.Malformed` code for a bad ID of this type.
    pub fn malformed_code(self) -> &'static str {
        match self {
            Self::Vpc => "InvalidVpcID.Malformed",
            Self::Subnet => "InvalidSubnetID.Malformed",
            Self::NetworkInterface => "InvalidNetworkInterfaceID.Malformed",
        }
    }
}

/// Which traffic is logged (`TrafficType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrafficType {
    Accept,
    Reject,
    All,
}

impl TrafficType {
    pub fn parse(text: &str) -> Result<Self, nubo_core::Error> {
        match text {
            "ACCEPT" => Ok(Self::Accept),
            "REJECT" => Ok(Self::Reject),
            "ALL" => Ok(Self::All),
            other => Err(nubo_core::Error::invalid(format!(
                "Value ({other}) for parameter TrafficType is invalid. Valid values: ACCEPT, REJECT, ALL."
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "ACCEPT",
            Self::Reject => "REJECT",
            Self::All => "ALL",
        }
    }
}

/// Where records go (`LogDestinationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogDestinationType {
    CloudWatchLogs,
    S3,
    KinesisDataFirehose,
}

impl LogDestinationType {
    pub fn parse(text: &str) -> Result<Self, nubo_core::Error> {
        match text {
            "cloud-watch-logs" => Ok(Self::CloudWatchLogs),
            "s3" => Ok(Self::S3),
            "kinesis-data-firehose" => Ok(Self::KinesisDataFirehose),
            other => Err(nubo_core::Error::invalid(format!(
                "Value ({other}) for parameter LogDestinationType is invalid. Valid values: cloud-watch-logs, s3, kinesis-data-firehose."
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CloudWatchLogs => "cloud-watch-logs",
            Self::S3 => "s3",
            Self::KinesisDataFirehose => "kinesis-data-firehose",
        }
    }
}

/// S3 delivery options (`DestinationOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationOptions {
    /// `plain-text` or `parquet`.
    pub file_format: String,
    pub hive_compatible_partitions: bool,
    pub per_hour_partition: bool,
}

/// A flow log definition as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLog {
    pub id: ResourceId,
    pub owner_id: AccountId,
    pub resource_id: ResourceId,
    pub resource_type: FlowLogResourceType,
    pub traffic_type: TrafficType,
    pub log_destination_type: LogDestinationType,
    /// The destination's ARN (log group, bucket and folder, or stream).
    pub log_destination: String,
    /// CloudWatch Logs only: the log group's name.
    pub log_group_name: Option<String>,
    pub deliver_logs_permission_arn: Option<String>,
    pub deliver_cross_account_role: Option<String>,
    pub log_format: String,
    pub max_aggregation_interval: u32,
    pub destination_options: Option<DestinationOptions>,
    /// RFC 3339 with milliseconds, as the wire shows it.
    pub creation_time: String,
    /// The `ClientToken` of the call that made it, for idempotent retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    #[serde(default)]
    pub tags: TagSet,
}

impl FlowLog {
    /// `flowLogStatus`: a definition is active from its creation.
    pub const STATUS: &'static str = "ACTIVE";
    /// `deliverLogsStatus`: nothing has failed to deliver (no records are
    /// captured yet, see the module documentation).
    pub const DELIVER_LOGS_STATUS: &'static str = "SUCCESS";

    /// Whether `self` and `other` log the same traffic of the same resource
    /// to the same place (AWS refuses the second with `FlowLogAlreadyExists`).
    pub fn same_configuration(&self, other: &FlowLog) -> bool {
        self.resource_id == other.resource_id
            && self.traffic_type == other.traffic_type
            && self.log_destination_type == other.log_destination_type
            && self.log_destination == other.log_destination
    }
}

impl Resource for FlowLog {
    const KIND: ResourceKind = ResourceKind::FlowLog;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn parent(&self) -> Option<&ResourceId> {
        Some(&self.resource_id)
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for FlowLog {
    const FILTERS: &'static [&'static str] = &[
        "deliver-log-status",
        "log-destination-type",
        "flow-log-id",
        "log-group-name",
        "resource-id",
        "traffic-type",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "deliver-log-status" => vec![Self::DELIVER_LOGS_STATUS.into()],
            "log-destination-type" => vec![self.log_destination_type.as_str().into()],
            "flow-log-id" => vec![self.id.to_string()],
            "log-group-name" => self.log_group_name.iter().cloned().collect(),
            "resource-id" => vec![self.resource_id.to_string()],
            "traffic-type" => vec![self.traffic_type.as_str().into()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerations_parse_aws_spellings_only() {
        assert_eq!(TrafficType::parse("ALL").unwrap().as_str(), "ALL");
        assert!(TrafficType::parse("all").is_err());
        assert_eq!(
            LogDestinationType::parse("kinesis-data-firehose").unwrap(),
            LogDestinationType::KinesisDataFirehose
        );
        assert!(LogDestinationType::parse("cloudwatch").is_err());
        assert_eq!(
            FlowLogResourceType::parse("NetworkInterface")
                .unwrap()
                .kind(),
            ResourceKind::NetworkInterface
        );
        assert!(FlowLogResourceType::parse("TransitGateway").is_err());
        assert!(FlowLogResourceType::parse("vpc").is_err());
    }
}
