//! `CreateRouteTable`, `DescribeRouteTables`, `DeleteRouteTable`, the main
//! table that `CreateVpc` creates and `DeleteVpc` removes in the VPC's own
//! transaction, and the `local` routes kept in step with the VPC's blocks.

use nubo_core::filter::{self, Filter, Page};
use nubo_core::{Error, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::{ResourceRow, Tx};

use super::{Association, RouteTable};
use crate::idempotency;
use crate::resource::{
    self, decode, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;
use crate::vpc::Vpc;

/// The action a route table's `ClientToken` marker is recorded under.
const CREATE_ACTION: &str = "CreateRouteTable";

/// Validated input of `CreateRouteTable`.
#[derive(Debug, Clone)]
pub struct CreateRouteTable {
    pub vpc_id: ResourceId,
    /// Idempotency token: a repeated call with the same token and input
    /// returns the table the first call made.
    pub client_token: Option<String>,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// Parses and validates a route table ID parameter.
pub fn parse_route_table_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::RouteTable,
        "InvalidRouteTableID.Malformed",
    )
}

/// The decoded route tables among `rows` (other kinds are skipped).
pub(crate) fn tables_among(rows: &[ResourceRow]) -> Result<Vec<Versioned<RouteTable>>, Error> {
    rows.iter()
        .filter(|r| r.kind == ResourceKind::RouteTable.prefix())
        .map(decode)
        .collect()
}

/// The route tables of VPC `vpc_id`, as the transaction sees them.
pub(crate) async fn tables_of(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
) -> Result<Vec<Versioned<RouteTable>>, Error> {
    let rows = tx
        .list_children(scope.account.as_str(), vpc_id.as_str())
        .await
        .map_err(store_err)?;
    tables_among(&rows)
}

fn new_table(scope: &RequestScope, vpc: &Vpc, tags: TagSet) -> RouteTable {
    let mut table = RouteTable {
        id: ResourceId::generate(ResourceKind::RouteTable),
        owner_id: scope.account.clone(),
        vpc_id: vpc.id.clone(),
        routes: vec![],
        associations: vec![],
        client_token: None,
        tags,
    };
    table.sync_local_routes(&blocks(vpc));
    table
}

fn blocks(vpc: &Vpc) -> Vec<nubo_core::Ipv4Cidr> {
    vpc.cidr_associations.iter().map(|a| a.cidr_block).collect()
}

/// Creates `vpc`'s main route table inside the VPC's creation transaction.
pub(crate) async fn create_main(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc: &Vpc,
) -> Result<RouteTable, Error> {
    let mut table = new_table(scope, vpc, TagSet::new());
    table.associations.push(Association::new(true, None));
    tx.insert_resource(&new_row(scope, &table)?)
        .await
        .map_err(store_err)?;
    Ok(table)
}

/// Rewrites the `local` routes of every table of `vpc` to match its blocks,
/// inside the transaction that changes the blocks.
pub(crate) async fn sync_local_routes_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc: &Vpc,
) -> Result<(), Error> {
    for mut table in tables_of(tx, scope, &vpc.id).await? {
        table.value.sync_local_routes(&blocks(vpc));
        update_in_tx(tx, scope, &table).await?;
    }
    Ok(())
}

/// For `DeleteSubnet`: drops the subnet's explicit association, if any, in
/// the subnet's transaction.
pub(crate) async fn forget_subnet_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
    subnet_id: &ResourceId,
) -> Result<(), Error> {
    for mut table in tables_of(tx, scope, vpc_id).await? {
        let before = table.value.associations.len();
        table
            .value
            .associations
            .retain(|a| a.subnet_id.as_ref() != Some(subnet_id));
        if table.value.associations.len() != before {
            update_in_tx(tx, scope, &table).await?;
        }
    }
    Ok(())
}

impl Ec2Service {
    pub async fn create_route_table(
        &self,
        scope: &RequestScope,
        input: CreateRouteTable,
    ) -> Result<RouteTable, Error> {
        with_retry(|| self.create_route_table_once(scope, input.clone())).await
    }

    pub async fn delete_route_table(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.delete_route_table_once(scope, id)).await
    }

    pub(crate) async fn create_route_table_once(
        &self,
        scope: &RequestScope,
        input: CreateRouteTable,
    ) -> Result<RouteTable, Error> {
        let tags = tags_for(ResourceKind::RouteTable, &input.tag_specifications)?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, &input.vpc_id).await?;
        let mut replacing = None;
        if let Some(token) = &input.client_token {
            if let Some((earlier, generation)) =
                idempotency::earlier_use(&mut tx, scope, CREATE_ACTION, token).await?
            {
                if earlier.fingerprint != input.vpc_id.as_str() {
                    return Err(idempotency::mismatch(token));
                }
                match get_in_tx::<RouteTable>(&mut tx, scope, &earlier.resource_id).await {
                    Ok(table) => return Ok(table.value),
                    // The table was deleted: the token makes a new one.
                    Err(Error::NotFound { .. }) => replacing = Some(generation),
                    Err(e) => return Err(e),
                }
            }
        }
        let mut table = new_table(scope, &vpc.value, tags);
        table.client_token = input.client_token.clone();
        tx.insert_resource(&new_row(scope, &table)?)
            .await
            .map_err(store_err)?;
        if let Some(token) = &input.client_token {
            let used = idempotency::TokenUse {
                resource_id: table.id.clone(),
                fingerprint: input.vpc_id.to_string(),
            };
            idempotency::record_use(&mut tx, scope, CREATE_ACTION, token, &used, replacing).await?;
        }
        // Writing the VPC back bumps its generation, so a racing CIDR change
        // or DeleteVpc conflicts and re-runs from a fresh read instead of
        // missing this table (as CreateSubnet does).
        update_in_tx(&mut tx, scope, &vpc).await?;
        crate::resource::commit(tx, scope, &[table.id.as_str()]).await?;
        Ok(table)
    }

    /// `DescribeRouteTables`: explicit IDs must all exist; filters and pagination apply to the rest.
    pub async fn describe_route_tables(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<RouteTable>, Option<String>), Error> {
        filter::validate::<RouteTable>(filters)?;
        let mut tables: Vec<RouteTable> =
            resource::list_for_describe(&self.store, scope, ids, filters).await?;
        tables.retain(|t| filter::matches(t, filters));
        Ok(page.apply(tables, |t| t.id.as_str()))
    }

    pub(crate) async fn delete_route_table_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let table: Versioned<RouteTable> = get_in_tx(&mut tx, scope, id).await?;
        if !table.value.associations.is_empty() {
            return Err(Error::DependencyViolation(format!(
                "The routeTable '{id}' has dependencies and cannot be deleted."
            )));
        }
        tx.delete_resource(scope.account.as_str(), id.as_str(), table.generation)
            .await
            .map_err(store_err)?;
        if let Some(token) = &table.value.client_token {
            idempotency::forget_use(&mut tx, scope, CREATE_ACTION, token).await?;
        }
        crate::resource::commit(tx, scope, &[id.as_str()]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_table_ids_are_checked() {
        assert!(parse_route_table_id("rtb-0123abcd").is_ok());
        assert!(matches!(
            parse_route_table_id("rtbassoc-0123abcd"),
            Err(Error::Client {
                code: "InvalidRouteTableID.Malformed",
                ..
            })
        ));
    }
}
