//! Internet gateways (model and control plane; nothing forwards packets yet):
//! `CreateInternetGateway`, `DescribeInternetGateways`,
//! `DeleteInternetGateway`, `AttachInternetGateway`, `DetachInternetGateway`.
//!
//! A gateway is a top-level row (it outlives any VPC it is attached to); its
//! attachment is in its body. Attaching and detaching also write the VPC
//! back, so two gateways racing to attach to one VPC, or an attach racing
//! `DeleteVpc`, conflict and re-run from a fresh read. Invariants: a VPC has
//! at most one gateway, a gateway at most one VPC, and neither an attached
//! gateway nor a VPC with one can be deleted. Detaching turns the routes to
//! the gateway in the VPC's tables into `blackhole` routes.

use nubo_core::filter::{self, Filter, Filterable, Page};
use nubo_core::{AccountId, Error, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::Tx;
use serde::{Deserialize, Serialize};

use crate::resource::{
    self, decode, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Resource, Versioned,
};
use crate::retry::with_retry;
use crate::route_table::routes::set_target_routes_in_tx;
use crate::route_table::RouteState;
use crate::vpc::Vpc;

/// An internet gateway as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternetGateway {
    pub id: ResourceId,
    pub owner_id: AccountId,
    /// The VPC it is attached to, if any.
    pub vpc_id: Option<ResourceId>,
    #[serde(default)]
    pub tags: TagSet,
}

impl InternetGateway {
    /// The attachment's `state` as AWS reports it for an attached gateway.
    pub const ATTACHED_STATE: &'static str = "available";
}

impl Resource for InternetGateway {
    const KIND: ResourceKind = ResourceKind::InternetGateway;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for InternetGateway {
    const FILTERS: &'static [&'static str] = &[
        "attachment.state",
        "attachment.vpc-id",
        "internet-gateway-id",
        "owner-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "attachment.state" => self
                .vpc_id
                .iter()
                .map(|_| Self::ATTACHED_STATE.to_string())
                .collect(),
            "attachment.vpc-id" => self.vpc_id.iter().map(|v| v.to_string()).collect(),
            "internet-gateway-id" => vec![self.id.to_string()],
            "owner-id" => vec![self.owner_id.to_string()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// Parses and validates an internet gateway ID parameter.
pub fn parse_internet_gateway_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::InternetGateway,
        "InvalidInternetGatewayID.Malformed",
    )
}

/// The gateway attached to VPC `vpc_id`, as the transaction sees it.
pub(crate) async fn attached_to_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
) -> Result<Option<InternetGateway>, Error> {
    let rows = tx
        .list_resources(
            scope.account.as_str(),
            &scope.region,
            ResourceKind::InternetGateway.prefix(),
        )
        .await
        .map_err(store_err)?;
    for row in &rows {
        let gateway: Versioned<InternetGateway> = decode(row)?;
        if gateway.value.vpc_id.as_ref() == Some(vpc_id) {
            return Ok(Some(gateway.value));
        }
    }
    Ok(None)
}

/// For `DeleteVpc`: refuses while a gateway is attached.
pub(crate) async fn check_vpc_has_none(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
) -> Result<(), Error> {
    match attached_to_in_tx(tx, scope, vpc_id).await? {
        Some(gateway) => Err(Error::DependencyViolation(format!(
            "The vpc '{vpc_id}' has dependencies and cannot be deleted: {} is attached.",
            gateway.id
        ))),
        None => Ok(()),
    }
}

/// Inserts a new, detached gateway inside the caller's transaction.
/// `CreateInternetGateway` and the default VPC both go through here.
pub(crate) async fn insert_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    tags: TagSet,
) -> Result<InternetGateway, Error> {
    let gateway = InternetGateway {
        id: ResourceId::generate(ResourceKind::InternetGateway),
        owner_id: scope.account.clone(),
        vpc_id: None,
        tags,
    };
    tx.insert_resource(&new_row(scope, &gateway)?)
        .await
        .map_err(store_err)?;
    Ok(gateway)
}

/// Attaches gateway `id` to VPC `vpc_id` inside the caller's transaction,
/// writing both back. `AttachInternetGateway` and the default VPC both go
/// through here.
pub(crate) async fn attach_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    id: &ResourceId,
    vpc_id: &ResourceId,
) -> Result<(), Error> {
    let mut gateway: Versioned<InternetGateway> = get_in_tx(tx, scope, id).await?;
    let vpc: Versioned<Vpc> = get_in_tx(tx, scope, vpc_id).await?;
    if let Some(current) = &gateway.value.vpc_id {
        return Err(Error::client(
            "Resource.AlreadyAssociated",
            format!("resource {id} is already attached to network {current}"),
        ));
    }
    if let Some(other) = attached_to_in_tx(tx, scope, vpc_id).await? {
        return Err(Error::client(
            "Resource.AlreadyAssociated",
            format!(
                "network {vpc_id} already has an internet gateway attached ({})",
                other.id
            ),
        ));
    }
    gateway.value.vpc_id = Some(vpc_id.clone());
    update_in_tx(tx, scope, &gateway).await?;
    update_in_tx(tx, scope, &vpc).await?;
    // Routes left to this gateway in the VPC's tables carry traffic again.
    set_target_routes_in_tx(tx, scope, vpc_id, id, RouteState::Active).await?;
    Ok(())
}

impl Ec2Service {
    pub async fn create_internet_gateway(
        &self,
        scope: &RequestScope,
        tag_specifications: &[(String, Vec<Tag>)],
    ) -> Result<InternetGateway, Error> {
        with_retry(|| self.create_internet_gateway_once(scope, tag_specifications)).await
    }

    pub async fn delete_internet_gateway(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.delete_internet_gateway_once(scope, id)).await
    }

    pub async fn attach_internet_gateway(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        vpc_id: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.attach_internet_gateway_once(scope, id, vpc_id)).await
    }

    pub async fn detach_internet_gateway(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        vpc_id: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.detach_internet_gateway_once(scope, id, vpc_id)).await
    }

    pub(crate) async fn create_internet_gateway_once(
        &self,
        scope: &RequestScope,
        tag_specifications: &[(String, Vec<Tag>)],
    ) -> Result<InternetGateway, Error> {
        let tags = tags_for(ResourceKind::InternetGateway, tag_specifications)?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let gateway = insert_in_tx(&mut tx, scope, tags).await?;
        resource::commit(tx, scope, &[gateway.id.as_str()]).await?;
        Ok(gateway)
    }

    /// `DescribeInternetGateways`: explicit IDs must all exist; filters and pagination apply to the rest.
    pub async fn describe_internet_gateways(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<InternetGateway>, Option<String>), Error> {
        filter::validate::<InternetGateway>(filters)?;
        let mut gateways: Vec<InternetGateway> =
            resource::list_or_get(&self.store, scope, ids).await?;
        gateways.retain(|g| filter::matches(g, filters));
        Ok(page.apply(gateways, |g| g.id.as_str()))
    }

    pub(crate) async fn delete_internet_gateway_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let gateway: Versioned<InternetGateway> = get_in_tx(&mut tx, scope, id).await?;
        if gateway.value.vpc_id.is_some() {
            return Err(Error::DependencyViolation(format!(
                "The internetGateway '{id}' has dependencies and cannot be deleted."
            )));
        }
        tx.delete_resource(scope.account.as_str(), id.as_str(), gateway.generation)
            .await
            .map_err(store_err)?;
        resource::commit(tx, scope, &[id.as_str()]).await
    }

    pub(crate) async fn attach_internet_gateway_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        vpc_id: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        attach_in_tx(&mut tx, scope, id, vpc_id).await?;
        resource::commit(tx, scope, &[id.as_str(), vpc_id.as_str()]).await
    }

    pub(crate) async fn detach_internet_gateway_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        vpc_id: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut gateway: Versioned<InternetGateway> = get_in_tx(&mut tx, scope, id).await?;
        let vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, vpc_id).await?;
        if gateway.value.vpc_id.as_ref() != Some(vpc_id) {
            return Err(Error::client(
                "Gateway.NotAttached",
                format!("resource {id} is not attached to network {vpc_id}"),
            ));
        }
        // A gateway route table's edge association needs the gateway attached.
        for table in crate::route_table::ops::tables_of(&mut tx, scope, vpc_id).await? {
            if let Some(edge) = table
                .value
                .associations
                .iter()
                .find(|a| a.gateway_id.as_ref() == Some(id))
            {
                return Err(Error::DependencyViolation(format!(
                    "The internetGateway '{id}' has dependencies and cannot be detached: it is associated with route table {} ({}).",
                    table.value.id, edge.id
                )));
            }
        }
        // Elastic IPs mapped in the VPC (a public NAT gateway's included)
        // need the gateway.
        crate::elastic_ip::association::check_vpc_unmapped(&mut tx, scope, vpc_id).await?;
        gateway.value.vpc_id = None;
        update_in_tx(&mut tx, scope, &gateway).await?;
        update_in_tx(&mut tx, scope, &vpc).await?;
        set_target_routes_in_tx(&mut tx, scope, vpc_id, id, RouteState::Blackhole).await?;
        resource::commit(tx, scope, &[id.as_str(), vpc_id.as_str()]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::filter::Filter;

    #[test]
    fn attachment_filters_see_only_attached_gateways() {
        let mut g = InternetGateway {
            id: ResourceId::generate(ResourceKind::InternetGateway),
            owner_id: AccountId::parse("123456789012").unwrap(),
            vpc_id: None,
            tags: TagSet::new(),
        };
        let state = [Filter {
            name: "attachment.state".into(),
            values: vec!["available".into()],
        }];
        assert!(!filter::matches(&g, &state));
        g.vpc_id = Some(ResourceId::generate(ResourceKind::Vpc));
        assert!(filter::matches(&g, &state));
        assert!(parse_internet_gateway_id(g.id.as_str()).is_ok());
        assert!(matches!(
            parse_internet_gateway_id("igw-zz"),
            Err(Error::Client {
                code: "InvalidInternetGatewayID.Malformed",
                ..
            })
        ));
    }
}
