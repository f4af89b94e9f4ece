//! `DescribeInstances`, `DescribeInstanceStatus` and `GetConsoleOutput`.

use std::collections::HashMap;

use nubo_core::filter::{self, Filter, Filterable, Page};
use nubo_core::{Error, ResourceId, ResourceKind};

use super::{Instance, InstanceState, InstanceView};
use crate::network_interface::NetworkInterface;
use crate::resource::{self, list_for_describe, store_err, Ec2Service, RequestScope};

/// One reservation of a `DescribeInstances` answer.
#[derive(Debug, Clone)]
pub struct ReservationView {
    pub reservation_id: String,
    pub owner_id: String,
    pub instances: Vec<InstanceView>,
}

/// The filters of `DescribeInstanceStatus`.
#[derive(Debug, Clone)]
pub struct StatusView(pub InstanceView);

impl Filterable for StatusView {
    const FILTERS: &'static [&'static str] = &[
        "availability-zone",
        "event.code",
        "event.description",
        "event.not-after",
        "event.not-before",
        "instance-state-name",
        "instance-state-code",
        "instance-status.status",
        "instance-status.reachability",
        "system-status.status",
        "system-status.reachability",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        let i = &self.0.instance;
        match name {
            "availability-zone" => vec![i.availability_zone.clone()],
            "instance-state-name" => vec![i.state.as_str().into()],
            "instance-state-code" => vec![i.state.code().to_string()],
            "instance-status.status" | "system-status.status" => vec![status_of(i).into()],
            "instance-status.reachability" | "system-status.reachability" => {
                vec![reachability_of(i).into()]
            }
            _ => vec![],
        }
    }

    fn tags(&self) -> &nubo_core::TagSet {
        &self.0.instance.tags
    }
}

/// `instanceStatus.status` / `systemStatus.status`: `ok` once running (the
/// agent reports running only when the instance's init is up), otherwise
/// `not-applicable`.
pub fn status_of(i: &Instance) -> &'static str {
    match i.state {
        InstanceState::Running => "ok",
        InstanceState::Pending => "initializing",
        _ => "not-applicable",
    }
}

pub fn reachability_of(i: &Instance) -> &'static str {
    match i.state {
        InstanceState::Running => "passed",
        InstanceState::Pending => "initializing",
        _ => "not-applicable",
    }
}

impl Ec2Service {
    /// The caller's instances (all, or `ids`, which must all exist) with
    /// their interfaces, by ID.
    pub async fn describe_instance_views(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
    ) -> Result<Vec<InstanceView>, Error> {
        self.views(scope, ids, &[]).await
    }

    async fn views(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
    ) -> Result<Vec<InstanceView>, Error> {
        let instances: Vec<Instance> = list_for_describe(&self.store, scope, ids, filters).await?;
        let now = chrono::Utc::now();
        let instances: Vec<Instance> = instances
            .into_iter()
            .filter(|i| !(i.state == InstanceState::Terminated && i.expired(now)))
            .collect();
        if instances.is_empty() {
            return Ok(Vec::new());
        }
        // One read of the region's interfaces serves every instance.
        let rows = self
            .store
            .list_resources(
                scope.account.as_str(),
                &scope.region,
                ResourceKind::NetworkInterface.prefix(),
            )
            .await
            .map_err(store_err)?;
        let mut by_instance: HashMap<String, Vec<NetworkInterface>> = HashMap::new();
        for row in &rows {
            let eni: NetworkInterface = resource::decode(row)?.value;
            if let Some(a) = &eni.attachment {
                by_instance
                    .entry(a.instance_id.to_string())
                    .or_default()
                    .push(eni);
            }
        }
        Ok(instances
            .into_iter()
            .map(|instance| {
                let mut interfaces = by_instance.remove(instance.id.as_str()).unwrap_or_default();
                interfaces.sort_by_key(|e| e.attachment.as_ref().map_or(0, |a| a.device_index));
                InstanceView {
                    instance,
                    interfaces,
                }
            })
            .collect())
    }

    /// `DescribeInstances`: reservations in launch order, paginated by instance.
    pub async fn describe_instances(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<ReservationView>, Option<String>), Error> {
        filter::validate::<InstanceView>(filters)?;
        let mut views = self.views(scope, ids, filters).await?;
        views.retain(|v| filter::matches(v, filters));
        views.sort_by(|a, b| a.instance.id.cmp(&b.instance.id));
        let (views, next) = page.apply(views, |v| v.instance.id.as_str());
        // Instances of one reservation are grouped, in order of first appearance.
        let mut out: Vec<ReservationView> = Vec::new();
        for v in views {
            match out
                .iter_mut()
                .find(|r| r.reservation_id == v.instance.reservation_id)
            {
                Some(r) => r.instances.push(v),
                None => out.push(ReservationView {
                    reservation_id: v.instance.reservation_id.clone(),
                    owner_id: v.instance.owner_id.to_string(),
                    instances: vec![v],
                }),
            }
        }
        Ok((out, next))
    }

    /// `DescribeInstanceStatus`: running instances only unless
    /// `include_all`.
    pub async fn describe_instance_status(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        include_all: bool,
        page: &Page,
    ) -> Result<(Vec<InstanceView>, Option<String>), Error> {
        filter::validate::<StatusView>(filters)?;
        let views = self.views(scope, ids, &[]).await?;
        let mut out: Vec<StatusView> = views
            .into_iter()
            .filter(|v| include_all || v.instance.state == InstanceState::Running)
            .map(StatusView)
            .collect();
        out.retain(|v| filter::matches(v, filters));
        out.sort_by(|a, b| a.0.instance.id.cmp(&b.0.instance.id));
        let (out, next) = page.apply(out, |v| v.0.instance.id.as_str());
        Ok((out.into_iter().map(|v| v.0).collect(), next))
    }

    /// `GetConsoleOutput`: the instance's console, as its host captured it.
    pub async fn console_output(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<Vec<u8>, Error> {
        let instance: Instance = resource::get(&self.store, scope, id).await?.value;
        match self.agent.get() {
            Some(agent) if instance.state != InstanceState::Terminated => {
                agent.console_output(instance.id.as_str())
            }
            _ => Ok(Vec::new()),
        }
    }
}
