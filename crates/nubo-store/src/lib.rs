//! Nubo's persistence layer: accounts, IAM identities, generic
//! generation-guarded resources and the audit log, in SQLite (the embedded
//! default) or PostgreSQL (several `nubo server` replicas sharing one database).
//!
//! Services call [`Store`] for reads and single-statement writes, and open a
//! [`Tx`] for every multi-step change; no SQL lives outside this crate. One set
//! of SQL strings (`$N` placeholders, epoch-millisecond `BIGINT` timestamps,
//! `ON CONFLICT DO NOTHING`) serves both backends through sqlx's `Any` driver.
//!
//! Invariants the store keeps:
//! - Every write to a resource names the generation it read; a stale
//!   generation is [`StoreError::Conflict`], so no update is ever lost.
//! - Write transactions are serializable on both backends. SQLite has a single
//!   writer: a process-wide async mutex over the one writer connection, held
//!   by [`Tx`] for its whole life and taken by every single-statement write,
//!   serializes writers inside the process, and `BEGIN IMMEDIATE` (waiting up
//!   to the 5 s busy timeout) serializes them across processes. SQLite write
//!   transactions run in place on that connection rather than through sqlx's
//!   per-connection worker thread ([`sqlite`]). PostgreSQL runs write transactions at
//!   `SERIALIZABLE` and reports lost races as [`StoreError::Conflict`].
//! - Every query is scoped by account: another tenant's row reads as absent.

mod accounts;
mod audit;
mod error;
mod iam;
mod migrate;
mod resources;
mod retry;
mod rows;
mod sqlite;
mod tx;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use error::StoreError;
pub use retry::{Retryable, TxFuture, TX_ATTEMPTS};
pub use rows::{now, AccessKeyRow, AccountRow, AuditRecord, ResourceRow, UserPolicyRow, UserRow};
pub use tx::Tx;

/// A query with its arguments bound, ready to run.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the database. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: the writer connection, behind the in-process writer lock
    /// (see the crate docs and [`sqlite`]).
    writer: Option<Arc<Mutex<rusqlite::Connection>>>,
    /// SQLite files only: the read connections of the hot reads ([`sqlite::Readers`]).
    readers: Option<sqlite::Readers>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

/// PostgreSQL connections per process; several replicas share one server.
const PG_POOL_SIZE: u32 = 16;
/// SQLite connections: readers run concurrently in WAL mode, writers take turns.
const SQLITE_POOL_SIZE: u32 = 8;

/// How long a SQLite writer waits for the process's writer lock before giving
/// up with [`StoreError::Conflict`] (transactions take milliseconds).
const WRITER_WAIT: Duration = Duration::from_secs(10);

/// Per-connection SQLite settings. `journal_mode` is a property of the file
/// and is set once in [`Store::open`].
const SQLITE_CONNECTION_PRAGMAS: &str =
    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;";

impl Store {
    /// Opens (creating if missing) the database at `url` and brings its schema
    /// up to date:
    /// `sqlite:///abs/path/nubo.db`, `sqlite::memory:` or
    /// `postgres://user:pass@host/db`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalize_url(url)?;
        let in_memory = url.contains("mode=memory");
        let options = match backend {
            Backend::Postgres => AnyPoolOptions::new().max_connections(PG_POOL_SIZE),
            Backend::Sqlite => {
                // A local file cannot drop a connection the way a network can, so
                // skip the liveness ping sqlx would otherwise send (one extra
                // hand-off to the connection's worker thread) on every acquire.
                let options = AnyPoolOptions::new()
                    .max_connections(SQLITE_POOL_SIZE)
                    .min_connections(1)
                    .test_before_acquire(false)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(sqlx::raw_sql(SQLITE_CONNECTION_PRAGMAS))
                                .await
                                .map(|_| ())
                        })
                    });
                if in_memory {
                    // The database lives only as long as one connection to it.
                    options.idle_timeout(None).max_lifetime(None)
                } else {
                    options
                }
            }
        };
        let pool = options.connect(&url).await.map_err(StoreError::from_sqlx)?;
        if backend == Backend::Sqlite && !in_memory {
            enable_wal(&pool).await?;
        }
        migrate::run(&pool, backend).await?;
        let writer = match backend {
            Backend::Sqlite => {
                let conn = sqlite::open_connection(&url, SQLITE_CONNECTION_PRAGMAS)?;
                Some(Arc::new(Mutex::new(conn)))
            }
            Backend::Postgres => None,
        };
        // A shared-cache in-memory database locks by table, so its readers
        // would trip over the writer; it keeps reading through sqlx.
        let readers = (backend == Backend::Sqlite && !in_memory)
            .then(|| sqlite::Readers::new(&url, SQLITE_CONNECTION_PRAGMAS));
        Ok(Store {
            inner: Arc::new(Inner {
                pool,
                backend,
                writer,
                readers,
            }),
        })
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Starts a write transaction. On SQLite this waits for the process's
    /// other write transactions to finish.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        match self.write_lock().await? {
            Some(writer) => Ok(Tx::local(sqlite::LocalTx::begin(writer)?)),
            None => {
                let tx = self
                    .inner
                    .pool
                    .begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE")
                    .await
                    .map_err(StoreError::from_sqlx)?;
                Ok(Tx::pooled(tx))
            }
        }
    }

    /// Closes every connection. Further calls fail.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// The in-place SQLite readers, when this store has them.
    pub(crate) fn readers(&self) -> Option<&sqlite::Readers> {
        self.inner.readers.as_ref()
    }

    /// Held around single-statement writes and by every [`Tx`] (SQLite only;
    /// PostgreSQL needs none). Waiting is bounded: a task that holds a `Tx`
    /// and then calls a `Store` write would otherwise wait for itself forever.
    pub(crate) async fn write_lock(
        &self,
    ) -> Result<Option<OwnedMutexGuard<rusqlite::Connection>>, StoreError> {
        match &self.inner.writer {
            Some(writer) => {
                let lock = writer.clone().lock_owned();
                match tokio::time::timeout(WRITER_WAIT, lock).await {
                    Ok(guard) => Ok(Some(guard)),
                    Err(_) => {
                        tracing::warn!(
                            "waited {WRITER_WAIT:?} for the SQLite writer lock; is a Tx held \
                             across a Store write in the same task?"
                        );
                        Err(StoreError::Conflict)
                    }
                }
            }
            None => Ok(None),
        }
    }

    /// Runs one writing statement under the write lock; returns rows affected.
    pub(crate) async fn write<'q>(&self, q: AnyQuery<'q>) -> Result<u64, StoreError> {
        let _guard = self.write_lock().await?;
        let done = q
            .execute(self.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected())
    }

    /// Runs a read returning at most one row.
    pub(crate) async fn read_one<'q>(&self, q: AnyQuery<'q>) -> Result<Option<AnyRow>, StoreError> {
        q.fetch_optional(self.pool())
            .await
            .map_err(StoreError::from_sqlx)
    }

    /// Runs a read returning any number of rows.
    pub(crate) async fn read_all<'q>(&self, q: AnyQuery<'q>) -> Result<Vec<AnyRow>, StoreError> {
        q.fetch_all(self.pool())
            .await
            .map_err(StoreError::from_sqlx)
    }
}

/// Tells the backend from the URL scheme and rewrites SQLite URLs into the
/// form the driver needs: files are created when missing, and `:memory:`
/// becomes a named shared-cache database so every pooled connection sees the
/// same data (sqlx's `Any` driver would otherwise give each connection its own).
fn normalize_url(url: &str) -> Result<(Backend, String), StoreError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static MEMORY_DB_SEQ: AtomicU64 = AtomicU64::new(0);

    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Err(StoreError::InvalidUrl(format!(
            "{url:?}: expected sqlite://…, sqlite::memory: or postgres://…"
        )));
    };
    if rest == ":memory:" || rest == "//:memory:" {
        let seq = MEMORY_DB_SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("nubo-memory-{}-{seq}", std::process::id());
        return Ok((
            Backend::Sqlite,
            format!("sqlite:file:{name}?mode=memory&cache=shared"),
        ));
    }
    let path = rest.trim_start_matches("//");
    if path.is_empty() || path.starts_with('?') {
        return Err(StoreError::InvalidUrl(format!("{url:?}: no database path")));
    }
    let url = if path.contains("mode=") {
        url.to_string()
    } else if path.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    };
    Ok((Backend::Sqlite, url))
}

/// Switches a SQLite file to write-ahead logging (persistent in the file).
/// Changing the journal mode needs an exclusive lock that the busy timeout
/// does not wait for, so retry while another process holds the file.
async fn enable_wal(pool: &AnyPool) -> Result<(), StoreError> {
    let mut attempts = 0;
    loop {
        match pool
            .execute(sqlx::raw_sql("PRAGMA journal_mode = WAL"))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) => {
                let e = StoreError::from_sqlx(e);
                attempts += 1;
                if !e.is_conflict() || attempts >= 100 {
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalized() {
        let (b, u) =
            normalize_url("sqlite:///var/lib/nubo/nubo.db").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b, Backend::Sqlite);
        assert_eq!(u, "sqlite:///var/lib/nubo/nubo.db?mode=rwc");
        let (_, u) = normalize_url("sqlite::memory:").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            u.starts_with("sqlite:file:nubo-memory-") && u.ends_with("?mode=memory&cache=shared")
        );
        let (b, _) = normalize_url("postgres://u:p@h/db").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b, Backend::Postgres);
        assert!(matches!(
            normalize_url("mysql://x"),
            Err(StoreError::InvalidUrl(_))
        ));
        assert!(matches!(
            normalize_url("sqlite://"),
            Err(StoreError::InvalidUrl(_))
        ));
    }
}
