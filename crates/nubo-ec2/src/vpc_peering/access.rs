//! Finding a peering connection from either party's account.
//!
//! The connection's row belongs to the requester; the accepter (when it is
//! another account) holds a link row `<pcx-id>.peer` naming the owner. A
//! lookup reads the caller's own row first, then the link, then the owner's
//! row, and answers NotFound unless the caller is one of the two parties and
//! the connection is still visible to it. Reads run on the pool (describe) or
//! inside the caller's transaction (writes), through one [`Reader`].

use nubo_core::{AccountId, Error, ResourceId};
use nubo_store::{ResourceRow, Store, Tx};
use serde::{Deserialize, Serialize};

use super::{VpcPeeringConnection, LINK_KIND};
use crate::resource::bookkeeping_row;
use crate::resource::{decode, not_found, store_err, RequestScope, Resource, Versioned};

/// The body of a link row.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Link {
    connection_id: ResourceId,
    owner_id: AccountId,
}

/// The store ID of the link row of connection `id`.
pub(crate) fn link_id(id: &ResourceId) -> String {
    format!("{id}.peer")
}

/// The scope of `account` for writes made on behalf of a caller from the
/// other side (same region; the caller's audit record covers the call).
pub(crate) fn scope_of(scope: &RequestScope, account: &AccountId) -> RequestScope {
    RequestScope {
        account: account.clone(),
        region: scope.region.clone(),
        dry_run: scope.dry_run,
        audit: None,
    }
}

/// Reads on the pool or in a transaction.
pub(crate) enum Reader<'a> {
    Pool(&'a Store),
    Tx(&'a mut Tx),
}

impl Reader<'_> {
    async fn get(&mut self, account: &str, id: &str) -> Result<Option<ResourceRow>, Error> {
        match self {
            Reader::Pool(store) => store.get_resource(account, id).await,
            Reader::Tx(tx) => tx.get_resource(account, id).await,
        }
        .map_err(store_err)
    }

    async fn list(
        &mut self,
        account: &str,
        region: &str,
        kind: &str,
    ) -> Result<Vec<ResourceRow>, Error> {
        match self {
            Reader::Pool(store) => store.list_resources(account, region, kind).await,
            Reader::Tx(tx) => tx.list_resources(account, region, kind).await,
        }
        .map_err(store_err)
    }

    /// The connection row `id` owned by `owner` in the scope's region.
    async fn owned(
        &mut self,
        owner: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<Versioned<VpcPeeringConnection>>, Error> {
        match self.get(owner, id).await? {
            Some(row)
                if row.region == region && row.kind == VpcPeeringConnection::KIND.prefix() =>
            {
                decode(&row).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// A connection as one party found it.
pub(crate) struct Found {
    /// The stored row, for writing back.
    pub stored: Versioned<VpcPeeringConnection>,
    /// The connection as the caller sees it now (expiry applied).
    pub seen: VpcPeeringConnection,
    /// The scope of the account that owns the row (the requester).
    pub owner: RequestScope,
}

/// Finds connection `id` for the caller, or `InvalidVpcPeeringConnectionID.NotFound`.
pub(crate) async fn find(
    reader: &mut Reader<'_>,
    scope: &RequestScope,
    id: &ResourceId,
    now_ms: i64,
) -> Result<Found, Error> {
    let account = scope.account.as_str();
    let mut found = reader.owned(account, &scope.region, id.as_str()).await?;
    if found.is_none() {
        if let Some(row) = reader.get(account, &link_id(id)).await? {
            if row.kind == LINK_KIND && row.region == scope.region {
                let link: Versioned<Link> = decode(&row)?;
                found = reader
                    .owned(link.value.owner_id.as_str(), &scope.region, id.as_str())
                    .await?;
            }
        }
    }
    match found {
        Some(stored) => {
            let seen = stored.value.clone().seen_at(now_ms);
            if !seen.visible_to(&scope.account, now_ms) {
                return Err(not_found(VpcPeeringConnection::KIND, id.as_str()));
            }
            let owner = scope_of(scope, &stored.value.requester.owner_id);
            Ok(Found {
                stored,
                seen,
                owner,
            })
        }
        None => Err(not_found(VpcPeeringConnection::KIND, id.as_str())),
    }
}

/// Every connection the caller can see now (requested by it, or offered to
/// it from another account), as seen, by ID.
pub(crate) async fn visible(
    reader: &mut Reader<'_>,
    scope: &RequestScope,
    now_ms: i64,
) -> Result<Vec<VpcPeeringConnection>, Error> {
    let account = scope.account.as_str();
    let mut out = Vec::new();
    for row in reader
        .list(account, &scope.region, VpcPeeringConnection::KIND.prefix())
        .await?
    {
        let c: Versioned<VpcPeeringConnection> = decode(&row)?;
        out.push(c.value);
    }
    for row in reader.list(account, &scope.region, LINK_KIND).await? {
        let link: Versioned<Link> = decode(&row)?;
        let owner = link.value.owner_id.as_str();
        if let Some(c) = reader
            .owned(owner, &scope.region, link.value.connection_id.as_str())
            .await?
        {
            out.push(c.value);
        }
    }
    let mut out: Vec<VpcPeeringConnection> = out
        .into_iter()
        .map(|c| c.seen_at(now_ms))
        .filter(|c| c.visible_to(&scope.account, now_ms))
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

/// The link row that shows connection `c` to its accepter's account.
pub(crate) fn link_row(c: &VpcPeeringConnection) -> Result<ResourceRow, Error> {
    let link = Link {
        connection_id: c.id.clone(),
        owner_id: c.requester.owner_id.clone(),
    };
    bookkeeping_row(
        c.accepter.owner_id.as_str(),
        &c.accepter.region,
        LINK_KIND,
        link_id(&c.id),
        None,
        &link,
    )
}
