//! Flow log actions: `CreateFlowLogs`, `DescribeFlowLogs`, `DeleteFlowLogs`
//! — decode parameters, call the EC2 service, render the `FlowLog` shape and
//! the per-resource `unsuccessful` items.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::flow_log::definition::CreateFlowLogs;
use nubo_ec2::flow_log::ops::{parse_flow_log_id, UnsuccessfulItem};
use nubo_ec2::flow_log::FlowLog;
use nubo_protocol::xml::XmlWriter;

use super::render;
use crate::call::Call;
use crate::server::Api;

/// The `FlowLog` shape's members.
fn flow_log(w: &mut XmlWriter, f: &FlowLog) {
    w.leaf("creationTime", &f.creation_time)
        .leaf_opt(
            "deliverLogsPermissionArn",
            f.deliver_logs_permission_arn.as_ref(),
        )
        .leaf_opt(
            "deliverCrossAccountRole",
            f.deliver_cross_account_role.as_ref(),
        )
        .leaf("deliverLogsStatus", FlowLog::DELIVER_LOGS_STATUS)
        .leaf("flowLogId", &f.id)
        .leaf("flowLogStatus", FlowLog::STATUS)
        .leaf_opt("logGroupName", f.log_group_name.as_ref())
        .leaf("resourceId", &f.resource_id)
        .leaf("trafficType", f.traffic_type.as_str())
        .leaf("logDestinationType", f.log_destination_type.as_str())
        .leaf("logDestination", &f.log_destination)
        .leaf("logFormat", &f.log_format)
        .leaf("maxAggregationInterval", f.max_aggregation_interval);
    if let Some(o) = &f.destination_options {
        w.node("destinationOptions", |w| {
            w.leaf("fileFormat", &o.file_format)
                .leaf("hiveCompatiblePartitions", o.hive_compatible_partitions)
                .leaf("perHourPartition", o.per_hour_partition);
        });
    }
    render::tag_set(w, &f.tags);
}

/// `<unsuccessful><item><error><code/><message/></error><resourceId/></item>…`.
fn unsuccessful(w: &mut XmlWriter, items: &[UnsuccessfulItem]) {
    w.items("unsuccessful", items, |w, u| {
        w.node("error", |w| {
            w.leaf("code", &u.code).leaf("message", &u.message);
        })
        .leaf("resourceId", &u.resource_id);
    });
}

pub async fn create_flow_logs(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let options = ["FileFormat", "HiveCompatiblePartitions", "PerHourPartition"]
        .iter()
        .any(|k| p.contains(&format!("DestinationOptions.{k}")));
    let input = CreateFlowLogs {
        resource_ids: p.list("ResourceId")?,
        resource_type: p.required("ResourceType")?.to_string(),
        traffic_type: p.get("TrafficType").map(str::to_string),
        log_destination_type: p.get("LogDestinationType").map(str::to_string),
        log_group_name: p.get("LogGroupName").map(str::to_string),
        log_destination: p.get("LogDestination").map(str::to_string),
        deliver_logs_permission_arn: p.get("DeliverLogsPermissionArn").map(str::to_string),
        deliver_cross_account_role: p.get("DeliverCrossAccountRole").map(str::to_string),
        log_format: p.get("LogFormat").map(str::to_string),
        max_aggregation_interval: p.int("MaxAggregationInterval")?,
        destination_options: if options {
            Some((
                p.get("DestinationOptions.FileFormat").map(str::to_string),
                p.bool("DestinationOptions.HiveCompatiblePartitions")?,
                p.bool("DestinationOptions.PerHourPartition")?,
            ))
        } else {
            None
        },
        client_token: p.get("ClientToken").map(str::to_string),
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
    };
    let created = api.ec2.create_flow_logs(&call.scope, input).await?;
    call.touched
        .extend(created.flow_log_ids.iter().map(|id| id.to_string()));
    let mut w = call.response("CreateFlowLogs");
    w.leaf_opt("clientToken", created.client_token.as_ref());
    w.items("flowLogIdSet", &created.flow_log_ids, |w, id| {
        w.text(id.as_str());
    });
    unsuccessful(&mut w, &created.unsuccessful);
    Ok(call.finish(w))
}

pub async fn describe_flow_logs(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("FlowLogId")?
        .iter()
        .map(|id| parse_flow_log_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 1, 1000)?;
    let (logs, next) = api
        .ec2
        .describe_flow_logs(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeFlowLogs");
    w.items("flowLogSet", &logs, flow_log);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_flow_logs(api: &Api, call: &mut Call) -> Result<String, Error> {
    let ids = call
        .params
        .list("FlowLogId")?
        .iter()
        .map(|id| parse_flow_log_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let failed = api.ec2.delete_flow_logs(&call.scope, &ids).await?;
    call.touched.extend(
        ids.iter()
            .filter(|id| !failed.iter().any(|u| u.resource_id == id.as_str()))
            .map(|id| id.to_string()),
    );
    let mut w = call.response("DeleteFlowLogs");
    unsuccessful(&mut w, &failed);
    Ok(call.finish(w))
}
