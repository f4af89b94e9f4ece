//! The rules a flow log definition must meet before anything is written
//! (pure functions, unit-tested): the log format (`${field}` tokens from
//! AWS's documented field list, separated by single spaces), the destination
//! for each destination type (log group name or ARN, S3 bucket ARN, Firehose
//! stream ARN), the IAM role ARNs, and the aggregation interval.

use nubo_core::{Error, Tag};

use super::{DestinationOptions, LogDestinationType, TrafficType};

/// AWS's default format (version 2 fields).
pub const DEFAULT_LOG_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

/// Every field AWS documents for flow log records (versions 2 to 8).
pub const FIELDS: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
    "resource-id",
    "encryption-status",
];

/// The input of `CreateFlowLogs` as the API edge decodes it.
#[derive(Debug, Clone, Default)]
pub struct CreateFlowLogs {
    pub resource_ids: Vec<String>,
    pub resource_type: String,
    pub traffic_type: Option<String>,
    pub log_destination_type: Option<String>,
    pub log_group_name: Option<String>,
    pub log_destination: Option<String>,
    pub deliver_logs_permission_arn: Option<String>,
    pub deliver_cross_account_role: Option<String>,
    pub log_format: Option<String>,
    pub max_aggregation_interval: Option<i64>,
    /// `DestinationOptions.FileFormat`, `.HiveCompatiblePartitions`, `.PerHourPartition`.
    pub destination_options: Option<(Option<String>, Option<bool>, Option<bool>)>,
    pub client_token: Option<String>,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// A validated destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub kind: LogDestinationType,
    pub arn: String,
    pub log_group_name: Option<String>,
    pub options: Option<DestinationOptions>,
}

/// Checks a custom log format (pure).
pub fn parse_log_format(text: &str) -> Result<String, Error> {
    let bad = |why: &str| {
        Error::invalid(format!(
            "Value ({text}) for parameter LogFormat is invalid. {why}"
        ))
    };
    if text.is_empty() {
        return Err(bad("The format must name at least one field."));
    }
    let mut seen: Vec<&str> = Vec::new();
    for token in text.split(' ') {
        let field = token
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| {
                bad("Fields must be given as ${field-name}, separated by single spaces.")
            })?;
        if !FIELDS.contains(&field) {
            return Err(bad(&format!("Unknown field ${{{field}}}.")));
        }
        if seen.contains(&field) {
            return Err(bad(&format!("The field ${{{field}}} is repeated.")));
        }
        seen.push(field);
    }
    Ok(text.to_string())
}

/// Checks `MaxAggregationInterval` (60 or 600 seconds; default 600).
pub fn parse_aggregation_interval(value: Option<i64>) -> Result<u32, Error> {
    match value {
        None | Some(600) => Ok(600),
        Some(60) => Ok(60),
        Some(other) => Err(Error::invalid(format!(
            "Value ({other}) for parameter MaxAggregationInterval is invalid. Valid values: 60, 600."
        ))),
    }
}

/// Checks an IAM role ARN (`arn:aws:iam::<account>:role/<name>`).
pub fn check_role_arn(param: &str, arn: &str) -> Result<(), Error> {
    let ok = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(":role/"))
        .is_some_and(|(account, name)| {
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Value ({arn}) for parameter {param} is invalid. It must be the ARN of an IAM role."
        )))
    }
}

fn log_group_name_ok(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-/.#".contains(&b))
}

/// The log group named by a CloudWatch Logs ARN
/// (`arn:aws:logs:<region>:<account>:log-group:<name>[:*]`).
fn log_group_of_arn(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:aws:logs:")?;
    let mut parts = rest.splitn(4, ':');
    let (_region, _account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    if resource != "log-group" {
        return None;
    }
    let name = parts.next()?;
    let name = name.strip_suffix(":*").unwrap_or(name);
    log_group_name_ok(name).then_some(name)
}

fn s3_arn_ok(arn: &str) -> bool {
    arn.strip_prefix("arn:aws:s3:::").is_some_and(|rest| {
        let bucket = rest.split('/').next().unwrap_or("");
        (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !rest.contains("AWSLogs")
    })
}

fn firehose_arn_ok(arn: &str) -> bool {
    arn.strip_prefix("arn:aws:firehose:")
        .and_then(|rest| rest.split_once(":deliverystream/"))
        .is_some_and(|(scope, name)| scope.contains(':') && !name.is_empty())
}

/// Checks the destination parameters for their destination type, as AWS
/// does (pure): which parameters each type requires, accepts and refuses.
pub fn check_destination(
    input: &CreateFlowLogs,
    region: &str,
    account: &str,
) -> Result<Destination, Error> {
    let kind = match &input.log_destination_type {
        Some(t) => LogDestinationType::parse(t)?,
        None => LogDestinationType::CloudWatchLogs,
    };
    let not_with = |param: &str| {
        Error::InvalidParameterCombination(format!(
            "{param} is not applicable for log destination type {}.",
            kind.as_str()
        ))
    };
    if let Some(arn) = &input.deliver_logs_permission_arn {
        check_role_arn("DeliverLogsPermissionArn", arn)?;
    }
    if let Some(arn) = &input.deliver_cross_account_role {
        check_role_arn("DeliverCrossAccountRole", arn)?;
    }
    if input.destination_options.is_some() && kind != LogDestinationType::S3 {
        return Err(not_with("DestinationOptions"));
    }
    match kind {
        LogDestinationType::CloudWatchLogs => {
            if input.deliver_logs_permission_arn.is_none() {
                return Err(Error::MissingParameter("DeliverLogsPermissionArn".into()));
            }
            let name = match (&input.log_group_name, &input.log_destination) {
                (Some(_), Some(_)) => {
                    return Err(Error::InvalidParameterCombination(
                        "Only one of LogGroupName and LogDestination may be specified.".into(),
                    ))
                }
                (None, None) => return Err(Error::MissingParameter("LogGroupName".into())),
                (Some(name), None) => {
                    if !log_group_name_ok(name) {
                        return Err(Error::invalid(format!(
                            "Value ({name}) for parameter LogGroupName is invalid."
                        )));
                    }
                    name.clone()
                }
                (None, Some(arn)) => log_group_of_arn(arn)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "Value ({arn}) for parameter LogDestination is invalid. It must be the ARN of a CloudWatch Logs log group."
                        ))
                    })?
                    .to_string(),
            };
            Ok(Destination {
                kind,
                arn: format!("arn:aws:logs:{region}:{account}:log-group:{name}"),
                log_group_name: Some(name),
                options: None,
            })
        }
        LogDestinationType::S3 | LogDestinationType::KinesisDataFirehose => {
            if input.log_group_name.is_some() {
                return Err(not_with("LogGroupName"));
            }
            if kind == LogDestinationType::S3 && input.deliver_logs_permission_arn.is_some() {
                return Err(not_with("DeliverLogsPermissionArn"));
            }
            let arn = input
                .log_destination
                .clone()
                .ok_or_else(|| Error::MissingParameter("LogDestination".into()))?;
            let (ok, what) = match kind {
                LogDestinationType::S3 => (
                    s3_arn_ok(&arn),
                    "an S3 bucket (arn:aws:s3:::bucket[/folder])",
                ),
                _ => (
                    firehose_arn_ok(&arn),
                    "a Kinesis Data Firehose delivery stream",
                ),
            };
            if !ok {
                return Err(Error::invalid(format!(
                    "Value ({arn}) for parameter LogDestination is invalid. It must be the ARN of {what}."
                )));
            }
            let options = match (kind, &input.destination_options) {
                (LogDestinationType::S3, given) => {
                    let (format, hive, hourly) = given.clone().unwrap_or_default();
                    let format = format.unwrap_or_else(|| "plain-text".into());
                    if !matches!(format.as_str(), "plain-text" | "parquet") {
                        return Err(Error::invalid(format!(
                            "Value ({format}) for parameter DestinationOptions.FileFormat is invalid. Valid values: plain-text, parquet."
                        )));
                    }
                    Some(DestinationOptions {
                        file_format: format,
                        hive_compatible_partitions: hive.unwrap_or(false),
                        per_hour_partition: hourly.unwrap_or(false),
                    })
                }
                _ => None,
            };
            Ok(Destination {
                kind,
                arn,
                log_group_name: None,
                options,
            })
        }
    }
}

/// `TrafficType` is required for VPCs, subnets and interfaces.
pub fn check_traffic_type(value: Option<&str>) -> Result<TrafficType, Error> {
    TrafficType::parse(value.ok_or_else(|| Error::MissingParameter("TrafficType".into()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str) -> CreateFlowLogs {
        CreateFlowLogs {
            resource_ids: vec!["vpc-0123abcd".into()],
            resource_type: "VPC".into(),
            traffic_type: Some("ALL".into()),
            log_destination_type: Some(kind.into()),
            ..CreateFlowLogs::default()
        }
    }

    fn code(e: Error) -> String {
        match e {
            Error::InvalidParameterValue(_) => "InvalidParameterValue".into(),
            Error::MissingParameter(p) => format!("MissingParameter {p}"),
            Error::InvalidParameterCombination(_) => "InvalidParameterCombination".into(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn log_formats_are_known_fields_separated_by_spaces() {
        assert!(parse_log_format(DEFAULT_LOG_FORMAT).is_ok());
        assert!(parse_log_format("${vpc-id} ${subnet-id} ${tcp-flags} ${flow-direction}").is_ok());
        for bad in [
            "",
            "${version}  ${srcaddr}",
            "${version},${srcaddr}",
            "version srcaddr",
            "${banana}",
            "${version} ${version}",
            "${srcaddr} ",
        ] {
            assert!(parse_log_format(bad).is_err(), "{bad:?}");
        }
        assert_eq!(DEFAULT_LOG_FORMAT.split(' ').count(), 14);
    }

    #[test]
    fn aggregation_intervals_are_60_or_600() {
        assert_eq!(parse_aggregation_interval(None).unwrap(), 600);
        assert_eq!(parse_aggregation_interval(Some(60)).unwrap(), 60);
        assert!(parse_aggregation_interval(Some(300)).is_err());
    }

    #[test]
    fn cloud_watch_logs_needs_a_log_group_and_a_role() {
        let role = "arn:aws:iam::123456789012:role/flow-logs";
        let mut i = input("cloud-watch-logs");
        i.log_group_name = Some("my-group".into());
        assert_eq!(
            code(check_destination(&i, "us-east-1", "123456789012").unwrap_err()),
            "MissingParameter DeliverLogsPermissionArn"
        );
        i.deliver_logs_permission_arn = Some(role.into());
        let d = check_destination(&i, "us-east-1", "123456789012").unwrap();
        assert_eq!(d.log_group_name.as_deref(), Some("my-group"));
        assert_eq!(
            d.arn,
            "arn:aws:logs:us-east-1:123456789012:log-group:my-group"
        );
        i.log_destination = Some(d.arn.clone());
        assert_eq!(
            code(check_destination(&i, "us-east-1", "1").unwrap_err()),
            "InvalidParameterCombination"
        );
        i.log_group_name = None;
        i.log_destination = Some("arn:aws:logs:us-east-1:123456789012:log-group:other:*".into());
        let d = check_destination(&i, "us-east-1", "123456789012").unwrap();
        assert_eq!(d.log_group_name.as_deref(), Some("other"));
        i.log_destination = None;
        assert_eq!(
            code(check_destination(&i, "us-east-1", "1").unwrap_err()),
            "MissingParameter LogGroupName"
        );
        i.log_group_name = Some("g".into());
        i.deliver_logs_permission_arn = Some("arn:aws:iam::123:role/x".into());
        assert_eq!(
            code(check_destination(&i, "us-east-1", "1").unwrap_err()),
            "InvalidParameterValue"
        );
    }

    #[test]
    fn s3_and_firehose_need_a_destination_arn() {
        let mut i = input("s3");
        assert_eq!(
            code(check_destination(&i, "r", "a").unwrap_err()),
            "MissingParameter LogDestination"
        );
        i.log_destination = Some("arn:aws:s3:::my-bucket/flows".into());
        let d = check_destination(&i, "r", "a").unwrap();
        assert_eq!(d.options.unwrap().file_format, "plain-text");
        i.destination_options = Some((Some("parquet".into()), Some(true), None));
        let d = check_destination(&i, "r", "a").unwrap();
        assert!(d.options.unwrap().hive_compatible_partitions);
        i.destination_options = Some((Some("csv".into()), None, None));
        assert!(check_destination(&i, "r", "a").is_err());
        i.destination_options = None;
        i.log_group_name = Some("g".into());
        assert_eq!(
            code(check_destination(&i, "r", "a").unwrap_err()),
            "InvalidParameterCombination"
        );
        i.log_group_name = None;
        i.deliver_logs_permission_arn = Some("arn:aws:iam::123456789012:role/r".into());
        assert_eq!(
            code(check_destination(&i, "r", "a").unwrap_err()),
            "InvalidParameterCombination"
        );
        i.deliver_logs_permission_arn = None;
        i.log_destination = Some("my-bucket".into());
        assert!(check_destination(&i, "r", "a").is_err());

        let mut f = input("kinesis-data-firehose");
        f.log_destination =
            Some("arn:aws:firehose:us-east-1:123456789012:deliverystream/flows".into());
        assert!(check_destination(&f, "r", "a").is_ok());
        f.destination_options = Some((None, None, None));
        assert_eq!(
            code(check_destination(&f, "r", "a").unwrap_err()),
            "InvalidParameterCombination"
        );
        f.destination_options = None;
        f.log_destination = Some("arn:aws:s3:::bucket".into());
        assert!(check_destination(&f, "r", "a").is_err());
        assert!(check_destination(&input("cloudwatch"), "r", "a").is_err());
    }

    #[test]
    fn traffic_type_is_required() {
        assert_eq!(
            code(check_traffic_type(None).unwrap_err()),
            "MissingParameter TrafficType"
        );
        assert_eq!(
            check_traffic_type(Some("REJECT")).unwrap(),
            TrafficType::Reject
        );
    }
}
