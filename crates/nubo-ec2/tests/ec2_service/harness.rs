//! Test databases for the service suites: every test gets its own fresh,
//! migrated database — a temporary SQLite file, or a private schema in the
//! PostgreSQL database named by `NUBO_TEST_POSTGRES_URL` (that variant is
//! skipped, with a notice, when the variable is unset; CI sets it, and
//! `scripts/start-postgres.sh` starts one locally).
//!
//! A schema per test (rather than unique account IDs in one shared schema)
//! keeps tests that run in parallel fully apart, account listings and
//! duplicate-name checks included, and lets each test use fixed account IDs.
//!
//! Shared by the EC2 and IAM suites (`nubo-iam` includes this file by path),
//! so both run on exactly the same backends.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use nubo_store::Store;
use sqlx::Connection;

/// The database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated store on a database of its own, removed again afterwards.
pub struct TestDb {
    pub store: Store,
    url: String,
    file: Option<PathBuf>,
    /// PostgreSQL: the admin URL and the test's schema, until dropped.
    pg: Option<(String, String)>,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

async fn drop_schema(base: &str, schema: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(base).await {
        let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&mut conn)
            .await;
    }
}

impl TestDb {
    /// A fresh database on `backend`; None (after a notice) for PostgreSQL
    /// when `NUBO_TEST_POSTGRES_URL` is unset.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let (url, file, pg) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{}.db", unique("nubo_svc_test")));
                (format!("sqlite://{}", path.display()), Some(path), None)
            }
            Backend::Postgres => {
                let Some(base) = std::env::var("NUBO_TEST_POSTGRES_URL")
                    .ok()
                    .filter(|u| !u.is_empty())
                else {
                    eprintln!("NUBO_TEST_POSTGRES_URL is not set: skipping the PostgreSQL variant");
                    return None;
                };
                let schema = unique("nubo_svc");
                let mut conn = sqlx::PgConnection::connect(&base)
                    .await
                    .unwrap_or_else(|e| panic!("connect to {base}: {e}"));
                sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("create schema {schema}: {e}"));
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                (url, None, Some((base, schema)))
            }
        };
        let store = Store::open(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        Some(TestDb {
            store,
            url,
            file,
            pg,
        })
    }

    /// A second store on the same database, with its own pool (and, on
    /// SQLite, its own writer lock): another `nubo server` replica.
    pub async fn replica(&self) -> Store {
        Store::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.url))
    }

    /// Closes the store and removes the database.
    pub async fn finish(mut self) {
        self.store.close().await;
        if let Some((base, schema)) = self.pg.take() {
            drop_schema(&base, &schema).await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(path) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
        // A failed test never reaches `finish`: drop its schema from a thread
        // of its own, as this may run inside the test's async runtime.
        if let Some((base, schema)) = self.pg.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_schema(&base, &schema));
                }
            })
            .join();
        }
    }
}

/// Asserts that a result is an error matching a pattern (and optional
/// guard), printing the actual result otherwise.
macro_rules! assert_err {
    ($result:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!(
                "expected Err({}), got {other:?}",
                stringify!($pattern $(if $guard)?)
            ),
        }
    };
}
pub(crate) use assert_err;

/// Runs each named test (an `async fn(&TestDb)`) once on SQLite and once on
/// PostgreSQL, each time on a fresh database. Attributes written before a
/// name (e.g. `#[ignore = "..."]` for a test pinning a known bug) are kept.
macro_rules! suite {
    ($($(#[$attr:meta])* $module:ident :: $name:ident),* $(,)?) => {
        crate::harness::suite!(@backend sqlite, Sqlite, $($(#[$attr])* $module::$name),*);
        crate::harness::suite!(@backend postgres, Postgres, $($(#[$attr])* $module::$name),*);
    };
    (@backend $modname:ident, $backend:ident,
     $($(#[$attr:meta])* $module:ident :: $name:ident),*) => {
        mod $modname {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                $(#[$attr])*
                async fn $name() {
                    let backend = crate::harness::Backend::$backend;
                    let Some(db) = crate::harness::TestDb::new(backend).await else {
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
