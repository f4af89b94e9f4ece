//! `AssociateRouteTable`, `DisassociateRouteTable` and
//! `ReplaceRouteTableAssociation`. An association lives in its table's row;
//! associating or moving a subnet also writes the subnet back, so two racing
//! associations of one subnet (or a racing `DeleteSubnet`) conflict and re-run
//! from a fresh read instead of leaving the subnet associated twice.
//!
//! A gateway (edge) association ties an internet gateway attached to the
//! table's VPC to the table (a gateway route table), at most one per gateway;
//! it writes the gateway back, so a racing detach conflicts. A gateway route
//! table may hold only `local` routes and routes to a network interface for
//! exactly the VPC's or one of its subnets' blocks (AWS's rule; gateway load
//! balancer endpoints do not exist here), checked on association and on every
//! later route write.

use nubo_core::{Error, ResourceId, ResourceKind};
use nubo_store::Tx;

use super::ops::tables_of;
use super::{Association, RouteTable};
use crate::internet_gateway::InternetGateway;
use crate::resource::{
    self, get_in_tx, store_err, update_in_tx, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;
use crate::subnet::Subnet;
use crate::vpc::Vpc;

/// Refuses to make `table` (or keep it) a gateway route table while it holds
/// a route AWS does not allow there, in the caller's transaction.
pub(crate) async fn check_edge_routes_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    table: &RouteTable,
) -> Result<(), Error> {
    let vpc: Versioned<Vpc> = get_in_tx(tx, scope, &table.vpc_id).await?;
    let blocks: Vec<_> = vpc
        .value
        .cidr_associations
        .iter()
        .map(|a| a.cidr_block)
        .collect();
    let subnets: Vec<_> = crate::subnet::ops::subnets_of(tx, scope, &table.vpc_id)
        .await?
        .into_iter()
        .map(|s| s.cidr_block)
        .collect();
    match table.first_non_edge_route(&blocks, &subnets) {
        Some(route) => Err(Error::invalid(format!(
            "Route table {} contains a route to {} that a gateway route table cannot have: a gateway route table may only hold the local routes and routes to a network interface whose destination is the VPC's or one of its subnets' CIDR block.",
            table.id, route.destination_cidr_block
        ))),
        None => Ok(()),
    }
}

/// Parses and validates a route table association ID parameter.
pub fn parse_association_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::RouteTableAssociation,
        "InvalidAssociationID.Malformed",
    )
}

fn association_not_found(id: &ResourceId) -> Error {
    Error::not_found(
        "InvalidAssociationID.NotFound",
        format!("The association ID '{id}' does not exist"),
    )
}

impl Ec2Service {
    pub async fn associate_route_table(
        &self,
        scope: &RequestScope,
        table: &ResourceId,
        subnet: &ResourceId,
    ) -> Result<Association, Error> {
        with_retry(|| self.associate_route_table_once(scope, table, subnet)).await
    }

    /// `AssociateRouteTable` with `GatewayId`: an edge association.
    pub async fn associate_route_table_with_gateway(
        &self,
        scope: &RequestScope,
        table: &ResourceId,
        gateway: &ResourceId,
    ) -> Result<Association, Error> {
        with_retry(|| self.associate_gateway_once(scope, table, gateway)).await
    }

    pub(crate) async fn associate_gateway_once(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        gateway_id: &ResourceId,
    ) -> Result<Association, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut table: Versioned<RouteTable> = get_in_tx(&mut tx, scope, table_id).await?;
        let gateway: Versioned<InternetGateway> = get_in_tx(&mut tx, scope, gateway_id).await?;
        if gateway.value.vpc_id.as_ref() != Some(&table.value.vpc_id) {
            return Err(Error::invalid(format!(
                "Gateway {gateway_id} is not attached to network {} of route table {table_id}",
                table.value.vpc_id
            )));
        }
        let tables = tables_of(&mut tx, scope, &table.value.vpc_id).await?;
        if let Some(current) = tables.iter().find(|t| {
            t.value
                .associations
                .iter()
                .any(|a| a.gateway_id.as_ref() == Some(gateway_id))
        }) {
            return Err(Error::client(
                "Resource.AlreadyAssociated",
                format!(
                    "the specified association for route table {table_id} conflicts with an existing association: gateway {gateway_id} is associated with {}",
                    current.value.id
                ),
            ));
        }
        check_edge_routes_in_tx(&mut tx, scope, &table.value).await?;
        let association = Association::edge(gateway_id.clone());
        table.value.associations.push(association.clone());
        update_in_tx(&mut tx, scope, &table).await?;
        // Writing the gateway back makes a racing detach conflict.
        update_in_tx(&mut tx, scope, &gateway).await?;
        resource::commit(
            tx,
            scope,
            &[
                table_id.as_str(),
                gateway_id.as_str(),
                association.id.as_str(),
            ],
        )
        .await?;
        Ok(association)
    }

    pub async fn disassociate_route_table(
        &self,
        scope: &RequestScope,
        association: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.disassociate_route_table_once(scope, association)).await
    }

    /// Moves an association (a subnet's, or the VPC's main one) to `table`;
    /// returns the new association.
    pub async fn replace_route_table_association(
        &self,
        scope: &RequestScope,
        association: &ResourceId,
        table: &ResourceId,
    ) -> Result<Association, Error> {
        with_retry(|| self.replace_route_table_association_once(scope, association, table)).await
    }

    /// The table that holds `association`, read inside `tx`.
    async fn holder_in_tx(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
        association: &ResourceId,
    ) -> Result<(Versioned<RouteTable>, usize), Error> {
        let owner = resource::list::<RouteTable>(&self.store, scope)
            .await?
            .into_iter()
            .find(|t| t.associations.iter().any(|a| &a.id == association))
            .ok_or_else(|| association_not_found(association))?;
        let table: Versioned<RouteTable> = get_in_tx(tx, scope, &owner.id).await?;
        let index = table
            .value
            .associations
            .iter()
            .position(|a| &a.id == association)
            .ok_or_else(|| association_not_found(association))?;
        Ok((table, index))
    }

    pub(crate) async fn associate_route_table_once(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        subnet_id: &ResourceId,
    ) -> Result<Association, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut table: Versioned<RouteTable> = get_in_tx(&mut tx, scope, table_id).await?;
        let subnet: Versioned<Subnet> = get_in_tx(&mut tx, scope, subnet_id).await?;
        if subnet.value.vpc_id != table.value.vpc_id {
            return Err(Error::invalid(format!(
                "Route table {table_id} and subnet {subnet_id} belong to different networks"
            )));
        }
        let tables = tables_of(&mut tx, scope, &table.value.vpc_id).await?;
        if let Some(current) = tables.iter().find(|t| {
            t.value
                .associations
                .iter()
                .any(|a| a.subnet_id.as_ref() == Some(subnet_id))
        }) {
            return Err(Error::client(
                "Resource.AlreadyAssociated",
                format!(
                    "the specified association for route table {table_id} conflicts with an existing association: subnet {subnet_id} is associated with {}",
                    current.value.id
                ),
            ));
        }
        let association = Association::new(false, Some(subnet_id.clone()));
        table.value.associations.push(association.clone());
        update_in_tx(&mut tx, scope, &table).await?;
        update_in_tx(&mut tx, scope, &subnet).await?;
        resource::commit(
            tx,
            scope,
            &[
                table_id.as_str(),
                subnet_id.as_str(),
                association.id.as_str(),
            ],
        )
        .await?;
        Ok(association)
    }

    pub(crate) async fn disassociate_route_table_once(
        &self,
        scope: &RequestScope,
        association: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let (mut table, index) = self.holder_in_tx(&mut tx, scope, association).await?;
        if table.value.associations[index].main {
            return Err(Error::invalid(format!(
                "cannot disassociate the main route table association {association}"
            )));
        }
        let removed = table.value.associations.remove(index);
        update_in_tx(&mut tx, scope, &table).await?;
        if let Some(subnet_id) = &removed.subnet_id {
            let subnet: Versioned<Subnet> = get_in_tx(&mut tx, scope, subnet_id).await?;
            update_in_tx(&mut tx, scope, &subnet).await?;
        }
        resource::commit(tx, scope, &[table.value.id.as_str(), association.as_str()]).await
    }

    pub(crate) async fn replace_route_table_association_once(
        &self,
        scope: &RequestScope,
        association: &ResourceId,
        target_id: &ResourceId,
    ) -> Result<Association, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let (mut from, index) = self.holder_in_tx(&mut tx, scope, association).await?;
        let old = from.value.associations[index].clone();
        let mut replacement = Association::new(old.main, old.subnet_id.clone());
        replacement.gateway_id = old.gateway_id.clone();
        if &from.value.id == target_id {
            // Re-associating with the same table only renews the association ID.
            from.value.associations[index] = replacement.clone();
            update_in_tx(&mut tx, scope, &from).await?;
        } else {
            let mut to: Versioned<RouteTable> = get_in_tx(&mut tx, scope, target_id).await?;
            if to.value.vpc_id != from.value.vpc_id {
                return Err(Error::invalid(format!(
                    "Route table {target_id} belongs to a different network than association {association}"
                )));
            }
            if old.gateway_id.is_some() {
                check_edge_routes_in_tx(&mut tx, scope, &to.value).await?;
            }
            from.value.associations.remove(index);
            to.value.associations.push(replacement.clone());
            update_in_tx(&mut tx, scope, &from).await?;
            update_in_tx(&mut tx, scope, &to).await?;
        }
        if let Some(subnet_id) = &old.subnet_id {
            let subnet: Versioned<Subnet> = get_in_tx(&mut tx, scope, subnet_id).await?;
            update_in_tx(&mut tx, scope, &subnet).await?;
        }
        resource::commit(
            tx,
            scope,
            &[
                target_id.as_str(),
                association.as_str(),
                replacement.id.as_str(),
            ],
        )
        .await?;
        Ok(replacement)
    }
}
