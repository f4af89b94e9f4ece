//! `CreateFlowLogs`, `DescribeFlowLogs`, `DeleteFlowLogs`, and the deletion
//! of a resource's flow logs inside the transaction that deletes the
//! resource. As on AWS, a resource that does not exist, or already has a flow
//! log of the same configuration, is reported per resource in `unsuccessful`
//! while the others get their flow logs; likewise an unknown ID in
//! `DeleteFlowLogs`.

use chrono::Utc;
use nubo_core::filter::{self, Filter, Page};
use nubo_core::{Error, ResourceId, ResourceKind};
use nubo_store::{ResourceRow, Tx};

use super::definition::{
    check_destination, check_traffic_type, parse_aggregation_interval, parse_log_format,
    CreateFlowLogs, DEFAULT_LOG_FORMAT,
};
use super::{FlowLog, FlowLogResourceType};
use crate::resource::{
    self, decode, new_row, not_found, store_err, tags_for, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;

/// One resource or ID an action could not handle, with AWS's error for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsuccessfulItem {
    pub resource_id: String,
    pub code: String,
    pub message: String,
}

/// What `CreateFlowLogs` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedFlowLogs {
    pub flow_log_ids: Vec<ResourceId>,
    pub unsuccessful: Vec<UnsuccessfulItem>,
    pub client_token: Option<String>,
}

/// Parses and validates a flow log ID parameter.
pub fn parse_flow_log_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(text, ResourceKind::FlowLog, "InvalidFlowLogId.Malformed")
}

/// For the deletion of a VPC, subnet or interface: deletes the flow logs
/// among its `children` rows in the caller's transaction and returns the
/// other children.
pub(crate) async fn delete_among_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    children: Vec<ResourceRow>,
) -> Result<Vec<ResourceRow>, Error> {
    resource::delete_with_vpc(tx, scope, children, |_: &FlowLog| true).await
}

/// Deletes the flow logs of resource `id` in the caller's transaction.
pub(crate) async fn delete_of_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    id: &ResourceId,
) -> Result<(), Error> {
    let children = tx
        .list_children(scope.account.as_str(), id.as_str())
        .await
        .map_err(store_err)?;
    delete_among_in_tx(tx, scope, children).await.map(drop)
}

impl Ec2Service {
    pub async fn create_flow_logs(
        &self,
        scope: &RequestScope,
        input: CreateFlowLogs,
    ) -> Result<CreatedFlowLogs, Error> {
        with_retry(|| self.create_flow_logs_once(scope, &input)).await
    }

    pub async fn delete_flow_logs(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
    ) -> Result<Vec<UnsuccessfulItem>, Error> {
        with_retry(|| self.delete_flow_logs_once(scope, ids)).await
    }

    pub(crate) async fn create_flow_logs_once(
        &self,
        scope: &RequestScope,
        input: &CreateFlowLogs,
    ) -> Result<CreatedFlowLogs, Error> {
        if input.resource_ids.is_empty() {
            return Err(Error::MissingParameter("ResourceId".into()));
        }
        let resource_type = FlowLogResourceType::parse(&input.resource_type)?;
        let ids = input
            .resource_ids
            .iter()
            .map(|id| ResourceId::parse(id, resource_type.kind(), resource_type.malformed_code()))
            .collect::<Result<Vec<_>, _>>()?;
        let traffic_type = check_traffic_type(input.traffic_type.as_deref())?;
        let destination = check_destination(input, &scope.region, scope.account.as_str())?;
        let log_format = match &input.log_format {
            Some(text) => parse_log_format(text)?,
            None => DEFAULT_LOG_FORMAT.to_string(),
        };
        let interval = parse_aggregation_interval(input.max_aggregation_interval)?;
        let tags = tags_for(ResourceKind::FlowLog, &input.tag_specifications)?;

        let mut tx = self.store.begin().await.map_err(store_err)?;
        if let Some(token) = &input.client_token {
            let earlier: Vec<FlowLog> = self
                .flow_logs_in_tx(&mut tx, scope)
                .await?
                .into_iter()
                .filter(|f| f.client_token.as_ref() == Some(token))
                .collect();
            if !earlier.is_empty() {
                if earlier.iter().any(|f| !ids.contains(&f.resource_id)) {
                    return Err(Error::client(
                        "IdempotentParameterMismatch",
                        format!("The client token '{token}' was already used with different parameters."),
                    ));
                }
                tx.rollback().await.map_err(store_err)?;
                return Ok(CreatedFlowLogs {
                    flow_log_ids: earlier.into_iter().map(|f| f.id).collect(),
                    unsuccessful: vec![],
                    client_token: input.client_token.clone(),
                });
            }
        }
        let mut created = Vec::new();
        let mut unsuccessful = Vec::new();
        for id in &ids {
            let row = tx
                .get_resource(scope.account.as_str(), id.as_str())
                .await
                .map_err(store_err)?
                .filter(|r| r.region == scope.region && r.kind == resource_type.kind().prefix());
            let Some(row) = row else {
                let error = not_found(resource_type.kind(), id.as_str());
                unsuccessful.push(UnsuccessfulItem {
                    resource_id: id.to_string(),
                    code: error_code(&error),
                    message: error.to_string(),
                });
                continue;
            };
            let flow_log = FlowLog {
                id: ResourceId::generate(ResourceKind::FlowLog),
                owner_id: scope.account.clone(),
                resource_id: id.clone(),
                resource_type,
                traffic_type,
                log_destination_type: destination.kind,
                log_destination: destination.arn.clone(),
                log_group_name: destination.log_group_name.clone(),
                deliver_logs_permission_arn: input.deliver_logs_permission_arn.clone(),
                deliver_cross_account_role: input.deliver_cross_account_role.clone(),
                log_format: log_format.clone(),
                max_aggregation_interval: interval,
                destination_options: destination.options.clone(),
                creation_time: Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                client_token: input.client_token.clone(),
                tags: tags.clone(),
            };
            let children = tx
                .list_children(scope.account.as_str(), id.as_str())
                .await
                .map_err(store_err)?;
            let duplicate = children
                .iter()
                .filter(|r| r.kind == ResourceKind::FlowLog.prefix())
                .map(decode::<FlowLog>)
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .any(|f| f.value.same_configuration(&flow_log));
            if duplicate {
                unsuccessful.push(UnsuccessfulItem {
                    resource_id: id.to_string(),
                    code: "FlowLogAlreadyExists".into(),
                    message: "Error. There is an existing Flow Log with the same configuration and log destination.".into(),
                });
                continue;
            }
            // Writing the watched resource back bumps its generation, so a
            // racing delete of it conflicts instead of orphaning this log.
            tx.update_resource(scope.account.as_str(), &row.id, row.generation, &row.body)
                .await
                .map_err(store_err)?;
            tx.insert_resource(&new_row(scope, &flow_log)?)
                .await
                .map_err(store_err)?;
            created.push(flow_log.id);
        }
        let touched: Vec<&str> = created.iter().map(|id| id.as_str()).collect();
        resource::commit(tx, scope, &touched).await?;
        Ok(CreatedFlowLogs {
            flow_log_ids: created,
            unsuccessful,
            client_token: input.client_token.clone(),
        })
    }

    async fn flow_logs_in_tx(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
    ) -> Result<Vec<FlowLog>, Error> {
        let rows = tx
            .list_resources(
                scope.account.as_str(),
                &scope.region,
                ResourceKind::FlowLog.prefix(),
            )
            .await
            .map_err(store_err)?;
        rows.iter()
            .map(|r| decode(r).map(|v: Versioned<FlowLog>| v.value))
            .collect()
    }

    /// `DescribeFlowLogs`: the IDs, like the filters, only narrow the answer
    /// (AWS answers an unknown ID with nothing, not an error).
    pub async fn describe_flow_logs(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<FlowLog>, Option<String>), Error> {
        filter::validate::<FlowLog>(filters)?;
        let mut logs: Vec<FlowLog> = resource::list(&self.store, scope).await?;
        logs.retain(|f| (ids.is_empty() || ids.contains(&f.id)) && filter::matches(f, filters));
        Ok(page.apply(logs, |f| f.id.as_str()))
    }

    pub(crate) async fn delete_flow_logs_once(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
    ) -> Result<Vec<UnsuccessfulItem>, Error> {
        if ids.is_empty() {
            return Err(Error::MissingParameter("FlowLogId".into()));
        }
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut unsuccessful = Vec::new();
        let mut deleted = Vec::new();
        for id in ids {
            if deleted.contains(id) {
                continue;
            }
            match resource::get_in_tx::<FlowLog>(&mut tx, scope, id).await {
                Ok(flow_log) => {
                    tx.delete_resource(scope.account.as_str(), id.as_str(), flow_log.generation)
                        .await
                        .map_err(store_err)?;
                    deleted.push(id.clone());
                }
                Err(Error::NotFound { code, .. }) => unsuccessful.push(UnsuccessfulItem {
                    resource_id: id.to_string(),
                    code: code.to_string(),
                    message: format!("These flow logs do not exist: [{id}]"),
                }),
                Err(other) => return Err(other),
            }
        }
        let touched: Vec<&str> = deleted.iter().map(|id| id.as_str()).collect();
        resource::commit(tx, scope, &touched).await?;
        Ok(unsuccessful)
    }
}

fn error_code(error: &Error) -> String {
    match error {
        Error::NotFound { code, .. } | Error::Client { code, .. } => code.to_string(),
        _ => "InvalidParameterValue".into(),
    }
}
