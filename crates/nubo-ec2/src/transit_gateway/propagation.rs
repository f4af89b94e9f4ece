//! Associations and propagations of transit gateway route tables:
//! `AssociateTransitGatewayRouteTable`, `DisassociateTransitGatewayRouteTable`,
//! `GetTransitGatewayRouteTableAssociations`,
//! `EnableTransitGatewayRouteTablePropagation`,
//! `DisableTransitGatewayRouteTablePropagation`,
//! `GetTransitGatewayRouteTablePropagations`.
//!
//! An attachment has at most one association, recorded in its own row; a
//! table records the attachments propagating into it. Every change writes
//! both the table and the attachment back, so it cannot race the deletion of
//! either. The table and the attachment must belong to the same gateway.

use nubo_core::filter::{self, Filter, Filterable, Page};
use nubo_core::{Error, ResourceId, TagSet};

use super::attachment::TransitGatewayAttachment;
use super::planner::RouteAttachment;
use super::route_table::TransitGatewayRouteTable;
use crate::resource::{
    self, get_in_tx, store_err, update_in_tx, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;

impl RouteAttachment {
    /// The attachment as routes, associations and propagations name it.
    pub fn of(a: &TransitGatewayAttachment) -> Self {
        RouteAttachment {
            attachment_id: a.id.clone(),
            resource_id: a.vpc_id.clone(),
            resource_type: TransitGatewayAttachment::RESOURCE_TYPE,
        }
    }
}

/// One association or propagation of a table, with its state
/// (`TransitGatewayAssociation`, `TransitGatewayPropagation` and the
/// `Get…` shapes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLink {
    pub route_table_id: ResourceId,
    pub attachment: RouteAttachment,
    /// `associating`/`associated`/`disassociating` or
    /// `enabling`/`enabled`/`disabling`.
    pub state: &'static str,
}

impl Filterable for TableLink {
    const FILTERS: &'static [&'static str] = &[
        "resource-id",
        "resource-type",
        "transit-gateway-attachment-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "resource-id" => vec![self.attachment.resource_id.to_string()],
            "resource-type" => vec![self.attachment.resource_type.into()],
            "transit-gateway-attachment-id" => vec![self.attachment.attachment_id.to_string()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        static EMPTY: std::sync::OnceLock<TagSet> = std::sync::OnceLock::new();
        EMPTY.get_or_init(TagSet::new)
    }
}

/// Refuses a table and an attachment of different gateways.
fn same_gateway(
    table: &TransitGatewayRouteTable,
    a: &TransitGatewayAttachment,
) -> Result<(), Error> {
    if table.transit_gateway_id != a.transit_gateway_id {
        return Err(Error::invalid(format!(
            "Transit gateway route table {} and attachment {} belong to different transit gateways.",
            table.id, a.id
        )));
    }
    Ok(())
}

impl Ec2Service {
    /// `AssociateTransitGatewayRouteTable` (`associate`) or its inverse.
    pub async fn set_transit_gateway_association(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        attachment_id: &ResourceId,
        associate: bool,
    ) -> Result<TableLink, Error> {
        with_retry(|| self.tgw_set_association_once(scope, table_id, attachment_id, associate))
            .await
    }

    /// `EnableTransitGatewayRouteTablePropagation` (`enable`) or its inverse.
    pub async fn set_transit_gateway_propagation(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        attachment_id: &ResourceId,
        enable: bool,
    ) -> Result<TableLink, Error> {
        with_retry(|| self.tgw_set_propagation_once(scope, table_id, attachment_id, enable)).await
    }

    async fn tgw_set_association_once(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        attachment_id: &ResourceId,
        associate: bool,
    ) -> Result<TableLink, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let table: Versioned<TransitGatewayRouteTable> =
            get_in_tx(&mut tx, scope, table_id).await?;
        let mut attachment: Versioned<TransitGatewayAttachment> =
            get_in_tx(&mut tx, scope, attachment_id).await?;
        same_gateway(&table.value, &attachment.value)?;
        let current = attachment.value.association.clone();
        let state = if associate {
            if current.is_some() {
                return Err(Error::client(
                    "Resource.AlreadyAssociated",
                    format!(
                        "Transit Gateway Attachment {attachment_id} is already associated to a route table."
                    ),
                ));
            }
            attachment.value.association = Some(table_id.clone());
            "associating"
        } else {
            if current.as_ref() != Some(table_id) {
                return Err(Error::not_found(
                    "InvalidAssociation.NotFound",
                    format!(
                        "Transit Gateway Attachment {attachment_id} is not associated with route table {table_id}."
                    ),
                ));
            }
            attachment.value.association = None;
            "disassociating"
        };
        update_in_tx(&mut tx, scope, &attachment).await?;
        update_in_tx(&mut tx, scope, &table).await?;
        resource::commit(tx, scope, &[table_id.as_str(), attachment_id.as_str()]).await?;
        Ok(TableLink {
            route_table_id: table_id.clone(),
            attachment: RouteAttachment::of(&attachment.value),
            state,
        })
    }

    async fn tgw_set_propagation_once(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        attachment_id: &ResourceId,
        enable: bool,
    ) -> Result<TableLink, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut table: Versioned<TransitGatewayRouteTable> =
            get_in_tx(&mut tx, scope, table_id).await?;
        let attachment: Versioned<TransitGatewayAttachment> =
            get_in_tx(&mut tx, scope, attachment_id).await?;
        same_gateway(&table.value, &attachment.value)?;
        let present = table.value.propagations.contains(attachment_id);
        let state = if enable {
            if present {
                return Err(Error::client(
                    "TransitGatewayRouteTablePropagation.Duplicate",
                    format!(
                        "Propagation of {attachment_id} to route table {table_id} is already enabled."
                    ),
                ));
            }
            table.value.propagations.push(attachment_id.clone());
            table.value.propagations.sort();
            "enabling"
        } else {
            if !present {
                return Err(Error::not_found(
                    "TransitGatewayRouteTablePropagation.NotFound",
                    format!(
                        "Propagation of {attachment_id} to route table {table_id} is not enabled."
                    ),
                ));
            }
            table.value.propagations.retain(|p| p != attachment_id);
            "disabling"
        };
        update_in_tx(&mut tx, scope, &table).await?;
        update_in_tx(&mut tx, scope, &attachment).await?;
        resource::commit(tx, scope, &[table_id.as_str(), attachment_id.as_str()]).await?;
        Ok(TableLink {
            route_table_id: table_id.clone(),
            attachment: RouteAttachment::of(&attachment.value),
            state,
        })
    }

    /// The table `table_id` and every attachment of its gateway (plain reads,
    /// as every describe does).
    pub(crate) async fn table_and_attachments(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
    ) -> Result<(TransitGatewayRouteTable, Vec<TransitGatewayAttachment>), Error> {
        let table: Versioned<TransitGatewayRouteTable> =
            resource::get(&self.store, scope, table_id).await?;
        let mut attachments: Vec<TransitGatewayAttachment> =
            resource::list(&self.store, scope).await?;
        attachments.retain(|a| a.transit_gateway_id == table.value.transit_gateway_id);
        Ok((table.value, attachments))
    }

    /// `GetTransitGatewayRouteTableAssociations`.
    pub async fn get_transit_gateway_route_table_associations(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<TableLink>, Option<String>), Error> {
        filter::validate::<TableLink>(filters)?;
        let (_, attachments) = self.table_and_attachments(scope, table_id).await?;
        let mut links: Vec<TableLink> = attachments
            .iter()
            .filter(|a| a.association.as_ref() == Some(table_id))
            .map(|a| TableLink {
                route_table_id: table_id.clone(),
                attachment: RouteAttachment::of(a),
                state: TransitGatewayAttachment::ASSOCIATED,
            })
            .collect();
        links.retain(|l| filter::matches(l, filters));
        Ok(page.apply(links, |l| l.attachment.attachment_id.as_str()))
    }

    /// `GetTransitGatewayRouteTablePropagations`.
    pub async fn get_transit_gateway_route_table_propagations(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<TableLink>, Option<String>), Error> {
        filter::validate::<TableLink>(filters)?;
        let (table, attachments) = self.table_and_attachments(scope, table_id).await?;
        let mut links: Vec<TableLink> = attachments
            .iter()
            .filter(|a| table.propagations.contains(&a.id))
            .map(|a| TableLink {
                route_table_id: table_id.clone(),
                attachment: RouteAttachment::of(a),
                state: "enabled",
            })
            .collect();
        links.retain(|l| filter::matches(l, filters));
        Ok(page.apply(links, |l| l.attachment.attachment_id.as_str()))
    }
}
