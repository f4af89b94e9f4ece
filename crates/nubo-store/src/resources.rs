//! Generic resources: one row per EC2-style object (VPC, subnet, ...), its
//! JSON body opaque to the store, guarded by a generation number.
//!
//! The queries here run either on the pool (reads through [`Store`]) or on a
//! transaction's connection (reads and writes through [`crate::Tx`]). Every
//! query is scoped by account, so another tenant's ID reads as absent.

use sqlx::{Any, AnyConnection, Executor, Row};

use crate::rows::{self, millis, resource_cols};
use crate::{ResourceRow, Store, StoreError};

/// The statements, shared by the sqlx functions below and by the SQLite
/// write transaction ([`crate::sqlite`]).
pub(crate) const GET: &str = concat!(
    "SELECT ",
    resource_cols!(),
    " FROM resources WHERE id = $1 AND account_id = $2"
);
pub(crate) const LIST: &str = concat!(
    "SELECT ",
    resource_cols!(),
    " FROM resources WHERE account_id = $1 AND region = $2 AND kind = $3 ORDER BY id"
);
pub(crate) const LIST_ALL: &str = concat!(
    "SELECT ",
    resource_cols!(),
    " FROM resources WHERE account_id = $1 AND region = $2 ORDER BY id"
);
pub(crate) const LIST_KIND_EVERYWHERE: &str = concat!(
    "SELECT ",
    resource_cols!(),
    " FROM resources WHERE kind = $1 ORDER BY id"
);
pub(crate) const COUNT: &str =
    "SELECT COUNT(*) FROM resources WHERE account_id = $1 AND region = $2 AND kind = $3";
pub(crate) const CHILDREN: &str = concat!(
    "SELECT ",
    resource_cols!(),
    " FROM resources WHERE account_id = $1 AND parent_id = $2 ORDER BY id"
);
/// `ON CONFLICT DO NOTHING` keeps a PostgreSQL transaction usable after a
/// duplicate, unlike a unique-violation error.
pub(crate) const INSERT: &str = concat!(
    "INSERT INTO resources (",
    resource_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
);
pub(crate) const UPDATE: &str =
    "UPDATE resources SET body = $1, generation = generation + 1, updated_at = $2 \
     WHERE id = $3 AND account_id = $4 AND generation = $5";
pub(crate) const DELETE: &str =
    "DELETE FROM resources WHERE id = $1 AND account_id = $2 AND generation = $3";
pub(crate) const GENERATION: &str =
    "SELECT generation FROM resources WHERE id = $1 AND account_id = $2";

impl Store {
    /// The account's resource with this ID, of any kind and region.
    pub async fn get_resource(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<ResourceRow>, StoreError> {
        if let Some(readers) = self.readers() {
            return readers.with(|r| r.get_resource(account_id, id));
        }
        get(self.pool(), account_id, id).await
    }

    /// The account's resources of one kind in one region, by ID.
    pub async fn list_resources(
        &self,
        account_id: &str,
        region: &str,
        kind: &str,
    ) -> Result<Vec<ResourceRow>, StoreError> {
        if let Some(readers) = self.readers() {
            return readers.with(|r| r.list_resources(account_id, region, kind));
        }
        list(self.pool(), account_id, region, kind).await
    }

    /// The account's resources of every kind in one region, by ID.
    pub async fn list_all_resources(
        &self,
        account_id: &str,
        region: &str,
    ) -> Result<Vec<ResourceRow>, StoreError> {
        if let Some(readers) = self.readers() {
            return readers.with(|r| r.list_all_resources(account_id, region));
        }
        let q = sqlx::query(LIST_ALL).bind(account_id).bind(region);
        rows::all(self.read_all(q).await?, rows::resource)
    }

    /// Every resource of one kind, in every account and region, by ID. For
    /// readers that serve the whole installation (the host agent, public
    /// images), never for a tenant's own Describe.
    pub async fn list_kind_everywhere(&self, kind: &str) -> Result<Vec<ResourceRow>, StoreError> {
        let q = sqlx::query(LIST_KIND_EVERYWHERE).bind(kind);
        rows::all(self.read_all(q).await?, rows::resource)
    }

    /// How many resources of one kind the account has in one region (quotas).
    pub async fn count_resources(
        &self,
        account_id: &str,
        region: &str,
        kind: &str,
    ) -> Result<i64, StoreError> {
        if let Some(readers) = self.readers() {
            return readers.with(|r| r.count_resources(account_id, region, kind));
        }
        count(self.pool(), account_id, region, kind).await
    }

    /// The account's resources whose parent is `parent_id`, by ID.
    pub async fn list_children(
        &self,
        account_id: &str,
        parent_id: &str,
    ) -> Result<Vec<ResourceRow>, StoreError> {
        if let Some(readers) = self.readers() {
            return readers.with(|r| r.list_children(account_id, parent_id));
        }
        children(self.pool(), account_id, parent_id).await
    }
}

pub(crate) async fn get<'c, E: Executor<'c, Database = Any>>(
    e: E,
    account_id: &str,
    id: &str,
) -> Result<Option<ResourceRow>, StoreError> {
    sqlx::query(GET)
        .bind(id)
        .bind(account_id)
        .fetch_optional(e)
        .await?
        .as_ref()
        .map(rows::resource)
        .transpose()
}

pub(crate) async fn list<'c, E: Executor<'c, Database = Any>>(
    e: E,
    account_id: &str,
    region: &str,
    kind: &str,
) -> Result<Vec<ResourceRow>, StoreError> {
    let found = sqlx::query(LIST)
        .bind(account_id)
        .bind(region)
        .bind(kind)
        .fetch_all(e)
        .await?;
    rows::all(found, rows::resource)
}

pub(crate) async fn count<'c, E: Executor<'c, Database = Any>>(
    e: E,
    account_id: &str,
    region: &str,
    kind: &str,
) -> Result<i64, StoreError> {
    let row = sqlx::query(COUNT)
        .bind(account_id)
        .bind(region)
        .bind(kind)
        .fetch_one(e)
        .await?;
    Ok(row.try_get(0)?)
}

pub(crate) async fn children<'c, E: Executor<'c, Database = Any>>(
    e: E,
    account_id: &str,
    parent_id: &str,
) -> Result<Vec<ResourceRow>, StoreError> {
    let found = sqlx::query(CHILDREN)
        .bind(account_id)
        .bind(parent_id)
        .fetch_all(e)
        .await?;
    rows::all(found, rows::resource)
}

/// Inserts `r` as given. [`StoreError::AlreadyExists`] if the ID is taken (in
/// any account: IDs are global).
pub(crate) async fn insert(conn: &mut AnyConnection, r: &ResourceRow) -> Result<(), StoreError> {
    let done = sqlx::query(INSERT)
        .bind(&r.account_id)
        .bind(&r.region)
        .bind(&r.kind)
        .bind(&r.id)
        .bind(&r.parent_id)
        .bind(r.generation)
        .bind(&r.body)
        .bind(millis(&r.created_at))
        .bind(millis(&r.updated_at))
        .execute(conn)
        .await?;
    match done.rows_affected() {
        0 => Err(StoreError::AlreadyExists),
        _ => Ok(()),
    }
}

/// Compare-and-swap on the generation; returns the new generation.
pub(crate) async fn update(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
    expected_generation: i64,
    body: &str,
) -> Result<i64, StoreError> {
    let done = sqlx::query(UPDATE)
        .bind(body)
        .bind(millis(&chrono::Utc::now()))
        .bind(id)
        .bind(account_id)
        .bind(expected_generation)
        .execute(&mut *conn)
        .await?;
    match done.rows_affected() {
        0 => Err(missing_or_stale(conn, account_id, id).await),
        _ => Ok(expected_generation + 1),
    }
}

/// Deletes if the generation still matches.
pub(crate) async fn delete(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
    expected_generation: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(DELETE)
        .bind(id)
        .bind(account_id)
        .bind(expected_generation)
        .execute(&mut *conn)
        .await?;
    match done.rows_affected() {
        0 => Err(missing_or_stale(conn, account_id, id).await),
        _ => Ok(()),
    }
}

/// Why a guarded write matched no row: the row is gone (NotFound) or its
/// generation moved on (Conflict).
async fn missing_or_stale(conn: &mut AnyConnection, account_id: &str, id: &str) -> StoreError {
    let exists = sqlx::query(GENERATION)
        .bind(id)
        .bind(account_id)
        .fetch_optional(conn)
        .await;
    match exists {
        Ok(Some(_)) => StoreError::Conflict,
        Ok(None) => StoreError::NotFound,
        Err(e) => StoreError::from_sqlx(e),
    }
}
