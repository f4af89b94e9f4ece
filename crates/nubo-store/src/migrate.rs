//! The schema migration runner.
//!
//! Migrations are numbered SQL files embedded in the binary, one list per
//! backend (`migrations/{sqlite,postgres}/NNNN_name.sql`), always kept in step.
//! [`run`] applies the missing ones in order, each in its own transaction
//! together with its row in `schema_migrations`, so a crash leaves the schema
//! at a whole version. Concurrent starters are serialized: PostgreSQL by a
//! transaction-scoped advisory lock, SQLite by `BEGIN IMMEDIATE` (the write
//! lock); the one that waited then sees the version recorded and skips it.

use sqlx::{Any, AnyPool, Executor, Row};

use crate::rows::millis;
use crate::{Backend, StoreError};

/// One embedded migration.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "kind_index",
        sql: include_str!("../migrations/sqlite/0002_kind_index.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "kind_index",
        sql: include_str!("../migrations/postgres/0002_kind_index.sql"),
    },
];

/// Key of the PostgreSQL advisory lock that serializes migrations ("nubo" + 1).
const PG_MIGRATION_LOCK: i64 = 0x6e75_626f_0001;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)";

pub(crate) fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

/// Brings the schema up to the newest embedded version.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let list = migrations(backend);
    let newest = list.last().map_or(0, |m| m.version);
    for m in list {
        apply(pool, backend, m, newest).await?;
    }
    Ok(())
}

/// Applies `m` unless it is already recorded.
async fn apply(
    pool: &AnyPool,
    backend: Backend,
    m: &Migration,
    newest: i64,
) -> Result<(), StoreError> {
    let ctx = |e: sqlx::Error| StoreError::Migration(format!("{:04}_{}: {e}", m.version, m.name));
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await.map_err(ctx)?,
        Backend::Postgres => {
            let mut tx = pool.begin().await.map_err(ctx)?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(ctx)?;
            tx
        }
    };
    (&mut *tx).execute(CREATE_TABLE).await.map_err(ctx)?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *tx)
        .await
        .map_err(ctx)?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()
        .map_err(ctx)?;
    if let Some(&v) = applied.last() {
        if v > newest {
            return Err(StoreError::Migration(format!(
                "the database schema is at version {v}, newer than this binary knows ({newest}); \
                 upgrade nubo"
            )));
        }
    }
    if applied.contains(&m.version) {
        return tx.rollback().await.map_err(ctx);
    }
    tracing::info!(
        version = m.version,
        name = m.name,
        "applying schema migration"
    );
    (&mut *tx)
        .execute(sqlx::raw_sql(m.sql))
        .await
        .map_err(ctx)?;
    sqlx::query::<Any>("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
        .bind(m.version)
        .bind(millis(&chrono::Utc::now()))
        .execute(&mut *tx)
        .await
        .map_err(ctx)?;
    tx.commit().await.map_err(ctx)
}

impl crate::Store {
    /// The newest migration applied to the database (0 for none).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let q = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        let row = self.read_one(q).await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_consecutively_and_match_across_backends() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for (i, m) in migrations(backend).iter().enumerate() {
                assert_eq!(m.version, i as i64 + 1, "{backend:?} {}", m.name);
            }
        }
        let names = |b| migrations(b).iter().map(|m| m.name).collect::<Vec<_>>();
        assert_eq!(names(Backend::Sqlite), names(Backend::Postgres));
    }
}
