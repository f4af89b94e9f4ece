//! Test databases for the store suite: a temporary SQLite file, a private
//! in-memory SQLite database, or a private schema in the PostgreSQL database
//! named by `NUBO_TEST_POSTGRES_URL` (the PostgreSQL variant is skipped, with
//! a notice, when that variable is unset).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use nubo_store::{AccountRow, Store};
use sqlx::Connection;

/// Where a test database lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SqliteFile,
    SqliteMemory,
    Postgres,
}

/// An empty database location, removed again when dropped (PostgreSQL: by
/// [`Location::remove`], as dropping a schema needs a connection).
pub struct Location {
    pub kind: Kind,
    pub url: String,
    file: Option<PathBuf>,
    pg: Option<(String, String)>,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let nanos = Utc::now().timestamp_subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

fn pg_base_url() -> Option<String> {
    std::env::var("NUBO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

impl Location {
    /// A fresh, empty location of `kind`; None for PostgreSQL without a URL.
    pub async fn new(kind: Kind) -> Option<Location> {
        match kind {
            Kind::SqliteFile => {
                let path = std::env::temp_dir().join(format!("{}.db", unique("nubo_store_test")));
                Some(Location {
                    kind,
                    url: format!("sqlite://{}", path.display()),
                    file: Some(path),
                    pg: None,
                })
            }
            Kind::SqliteMemory => Some(Location {
                kind,
                url: "sqlite::memory:".into(),
                file: None,
                pg: None,
            }),
            Kind::Postgres => {
                let Some(base) = pg_base_url() else {
                    eprintln!("NUBO_TEST_POSTGRES_URL is not set: skipping the PostgreSQL variant");
                    return None;
                };
                let schema = unique("nubo_t");
                let mut conn = sqlx::PgConnection::connect(&base)
                    .await
                    .unwrap_or_else(|e| panic!("connect to {base}: {e}"));
                sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("create schema: {e}"));
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                Some(Location {
                    kind,
                    url,
                    file: None,
                    pg: Some((base, schema)),
                })
            }
        }
    }

    /// Drops the PostgreSQL schema (files go on drop).
    pub async fn remove(mut self) {
        if let Some((base, schema)) = self.pg.take() {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&base).await {
                let _ = sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

impl Drop for Location {
    fn drop(&mut self) {
        if let Some(path) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// A migrated store on a fresh location.
pub struct TestDb {
    pub store: Store,
    pub location: Location,
}

impl TestDb {
    pub async fn new(kind: Kind) -> Option<TestDb> {
        let location = Location::new(kind).await?;
        let store = Store::open(&location.url)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", location.url));
        Some(TestDb { store, location })
    }

    pub fn kind(&self) -> Kind {
        self.location.kind
    }

    pub async fn finish(self) {
        self.store.close().await;
        self.location.remove().await;
    }
}

/// A fixed instant plus `ms` milliseconds: deterministic, millisecond-exact times.
pub fn t(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000).unwrap_or_default()
        + Duration::milliseconds(ms)
}

/// Creates account `id` named `name-<id>`.
pub async fn account(store: &Store, id: &str) -> AccountRow {
    let row = AccountRow {
        id: id.into(),
        name: format!("name-{id}"),
        created_at: t(0),
    };
    store
        .create_account(&row)
        .await
        .unwrap_or_else(|e| panic!("create account {id}: {e}"));
    row
}

/// Runs each named test (an `async fn(&TestDb)`) against SQLite (file and
/// memory) and PostgreSQL.
macro_rules! suite {
    ($($module:ident :: $name:ident),* $(,)?) => {
        crate::harness::suite!(@kind sqlite_file, SqliteFile, $($module::$name),*);
        crate::harness::suite!(@kind sqlite_memory, SqliteMemory, $($module::$name),*);
        crate::harness::suite!(@kind postgres, Postgres, $($module::$name),*);
    };
    (@kind $modname:ident, $kind:ident, $($module:ident :: $name:ident),*) => {
        mod $modname {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let kind = crate::harness::Kind::$kind;
                    let Some(db) = crate::harness::TestDb::new(kind).await else {
                        return;
                    };
                    crate::$module::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}
pub(crate) use suite;
