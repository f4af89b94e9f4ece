//! Transit gateway route tables: the model (its propagations and static
//! routes live in its row), the filters `DescribeTransitGatewayRouteTables`
//! understands, and `CreateTransitGatewayRouteTable`,
//! `DescribeTransitGatewayRouteTables`, `DeleteTransitGatewayRouteTable`.
//!
//! A table is a child row of its gateway. Creating one writes the gateway
//! back, so it cannot race the gateway's deletion. A table with associations,
//! or that is its gateway's default association or propagation table, cannot
//! be deleted (`IncorrectState`).

use nubo_core::filter::{self, Filter, Filterable, Page};
use nubo_core::{AccountId, Error, Ipv4Cidr, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::Tx;
use serde::{Deserialize, Serialize};

use super::attachment::attachments_of_gateway_in_tx;
use super::gateway::TransitGateway;
use super::now_timestamp;
use crate::resource::{
    self, decode, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Resource, Versioned,
};
use crate::retry::with_retry;

/// A route table's lifecycle, as AWS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteTableState {
    Pending,
    Available,
    Deleting,
    Deleted,
}

impl RouteTableState {
    pub const ALL: [RouteTableState; 4] = [
        RouteTableState::Pending,
        RouteTableState::Available,
        RouteTableState::Deleting,
        RouteTableState::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RouteTableState::Pending => "pending",
            RouteTableState::Available => "available",
            RouteTableState::Deleting => "deleting",
            RouteTableState::Deleted => "deleted",
        }
    }

    /// Whether a table may move from `self` to `next`.
    pub fn can_become(self, next: RouteTableState) -> bool {
        use RouteTableState::*;
        match self {
            Pending => matches!(next, Available | Deleting),
            Available => matches!(next, Deleting),
            Deleting => matches!(next, Deleted),
            Deleted => match next {
                Pending | Available | Deleting | Deleted => false,
            },
        }
    }
}

/// A `CreateTransitGatewayRoute` route: to an attachment, or a blackhole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticRoute {
    pub destination: Ipv4Cidr,
    /// `None`: `Blackhole=true`.
    pub attachment_id: Option<ResourceId>,
}

/// A transit gateway route table as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitGatewayRouteTable {
    pub id: ResourceId,
    pub transit_gateway_id: ResourceId,
    pub owner_id: AccountId,
    pub state: RouteTableState,
    pub default_association_route_table: bool,
    pub default_propagation_route_table: bool,
    /// The attachments propagating their routes into this table, sorted.
    #[serde(default)]
    pub propagations: Vec<ResourceId>,
    /// Static routes, sorted by destination.
    #[serde(default)]
    pub static_routes: Vec<StaticRoute>,
    pub creation_time: String,
    #[serde(default)]
    pub tags: TagSet,
}

impl Resource for TransitGatewayRouteTable {
    const KIND: ResourceKind = ResourceKind::TransitGatewayRouteTable;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn parent(&self) -> Option<&ResourceId> {
        Some(&self.transit_gateway_id)
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for TransitGatewayRouteTable {
    const FILTERS: &'static [&'static str] = &[
        "default-association-route-table",
        "default-propagation-route-table",
        "state",
        "transit-gateway-id",
        "transit-gateway-route-table-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "default-association-route-table" => {
                vec![self.default_association_route_table.to_string()]
            }
            "default-propagation-route-table" => {
                vec![self.default_propagation_route_table.to_string()]
            }
            "state" => vec![self.state.as_str().into()],
            "transit-gateway-id" => vec![self.transit_gateway_id.to_string()],
            "transit-gateway-route-table-id" => vec![self.id.to_string()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// The route tables of gateway `gateway_id`, as the transaction sees them.
pub(crate) async fn tables_of_gateway_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    gateway_id: &ResourceId,
) -> Result<Vec<Versioned<TransitGatewayRouteTable>>, Error> {
    let rows = tx
        .list_children(scope.account.as_str(), gateway_id.as_str())
        .await
        .map_err(store_err)?;
    rows.iter()
        .filter(|r| r.kind == ResourceKind::TransitGatewayRouteTable.prefix())
        .map(decode)
        .collect()
}

impl Ec2Service {
    pub async fn create_transit_gateway_route_table(
        &self,
        scope: &RequestScope,
        gateway_id: &ResourceId,
        tag_specifications: &[(String, Vec<Tag>)],
    ) -> Result<TransitGatewayRouteTable, Error> {
        with_retry(|| self.create_tgw_route_table_once(scope, gateway_id, tag_specifications)).await
    }

    pub async fn delete_transit_gateway_route_table(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<TransitGatewayRouteTable, Error> {
        with_retry(|| self.delete_tgw_route_table_once(scope, id)).await
    }

    async fn create_tgw_route_table_once(
        &self,
        scope: &RequestScope,
        gateway_id: &ResourceId,
        tag_specifications: &[(String, Vec<Tag>)],
    ) -> Result<TransitGatewayRouteTable, Error> {
        let tags = tags_for(ResourceKind::TransitGatewayRouteTable, tag_specifications)?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let gateway: Versioned<TransitGateway> = get_in_tx(&mut tx, scope, gateway_id).await?;
        let mut table = TransitGatewayRouteTable {
            id: ResourceId::generate(ResourceKind::TransitGatewayRouteTable),
            transit_gateway_id: gateway_id.clone(),
            owner_id: scope.account.clone(),
            state: RouteTableState::Available,
            default_association_route_table: false,
            default_propagation_route_table: false,
            propagations: vec![],
            static_routes: vec![],
            creation_time: now_timestamp(),
            tags,
        };
        tx.insert_resource(&new_row(scope, &table)?)
            .await
            .map_err(store_err)?;
        update_in_tx(&mut tx, scope, &gateway).await?;
        resource::commit(tx, scope, &[table.id.as_str()]).await?;
        table.state = RouteTableState::Pending;
        Ok(table)
    }

    /// `DescribeTransitGatewayRouteTables`: explicit IDs must all exist.
    pub async fn describe_transit_gateway_route_tables(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<TransitGatewayRouteTable>, Option<String>), Error> {
        filter::validate::<TransitGatewayRouteTable>(filters)?;
        let mut tables: Vec<TransitGatewayRouteTable> =
            resource::list_or_get(&self.store, scope, ids).await?;
        tables.retain(|t| filter::matches(t, filters));
        Ok(page.apply(tables, |t| t.id.as_str()))
    }

    async fn delete_tgw_route_table_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<TransitGatewayRouteTable, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let table: Versioned<TransitGatewayRouteTable> = get_in_tx(&mut tx, scope, id).await?;
        let t = &table.value;
        if t.default_association_route_table || t.default_propagation_route_table {
            return Err(Error::client(
                "IncorrectState",
                format!(
                    "{id} is the default route table of {}; disable its default association and propagation first.",
                    t.transit_gateway_id
                ),
            ));
        }
        let associated: Vec<String> =
            attachments_of_gateway_in_tx(&mut tx, scope, &t.transit_gateway_id)
                .await?
                .into_iter()
                .filter(|a| a.value.association.as_ref() == Some(id))
                .map(|a| a.value.id.to_string())
                .collect();
        if !associated.is_empty() {
            return Err(Error::client(
                "IncorrectState",
                format!(
                    "{id} has associations and cannot be deleted: {}",
                    associated.join(", ")
                ),
            ));
        }
        tx.delete_resource(scope.account.as_str(), id.as_str(), table.generation)
            .await
            .map_err(store_err)?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        let mut answer = table.value;
        answer.state = RouteTableState::Deleting;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_pair_is_decided() {
        use RouteTableState::*;
        let allowed = [
            (Pending, Available),
            (Pending, Deleting),
            (Available, Deleting),
            (Deleting, Deleted),
        ];
        for from in RouteTableState::ALL {
            for to in RouteTableState::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }
}
