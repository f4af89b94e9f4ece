//! SQLite write transactions, run in place on the process's one writer
//! connection, and the hot reads, run in place on pooled read connections.
//!
//! sqlx drives each SQLite connection from a worker thread, so every statement
//! costs two thread hand-offs; a write transaction of eight statements spent
//! most of its time waking threads rather than in SQLite. A SQLite writer is
//! single anyway (the store's writer lock), so the writer holds its own
//! rusqlite connection, and a [`LocalTx`] runs its statements synchronously on
//! the calling task: microseconds each, on a database the page cache already
//! holds. Reads had the same cost per *row* (sqlx sends each row across a
//! channel), so the reads every request makes run in place too ([`Readers`]). `BEGIN IMMEDIATE` may wait up to the busy timeout when *another
//! process* writes the same file — the only blocking this does.
//!
//! The SQL is the same text the sqlx path runs (`$N` placeholders become
//! SQLite's numbered `?N`); rows decode through the shared [`Columns`]
//! decoders. Other reads and the single-statement writes outside
//! transactions stay on the sqlx pool, as does an in-memory database.

use rusqlite::{params, Connection, OpenFlags, Params, Row};
use tokio::sync::OwnedMutexGuard;

use crate::rows::{self, millis, Columns};
use crate::{
    accounts, audit, iam, resources, AccessKeyRow, AuditRecord, ResourceRow, StoreError,
    UserPolicyRow, UserRow,
};

/// Opens a connection (the writer, or a reader) on the file (or shared in-memory database)
/// `url` names, in the form [`crate::Store::open`] normalised it to.
pub(crate) fn open_connection(url: &str, pragmas: &str) -> Result<Connection, StoreError> {
    let path = url.strip_prefix("sqlite:").unwrap_or(url);
    let path = path.strip_prefix("//").unwrap_or(path);
    let uri = if path.starts_with("file:") {
        path.to_string()
    } else {
        format!("file:{path}")
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags)?;
    conn.execute_batch(pragmas)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// SQLite numbers its parameters `?N`; the shared SQL text uses `$N`.
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

fn execute(conn: &Connection, sql: &str, params: impl Params) -> Result<usize, StoreError> {
    let mut st = conn.prepare_cached(&numbered(sql))?;
    Ok(st.execute(params)?)
}

fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut st = conn.prepare_cached(&numbered(sql))?;
    let mut rows = st.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut st = conn.prepare_cached(&numbered(sql))?;
    let mut rows = st.query(params)?;
    rows.next()?.map(decode).transpose()
}

/// Read connections to a SQLite file, reused across requests. The hot reads
/// (resources for every `Describe*`, the access key, user and policies every
/// request authenticates with) run in place on one of them: a read of a
/// thousand rows costs SQLite's own time rather than a thread hand-off per
/// row. In WAL mode readers never wait for the writer.
pub(crate) struct Readers {
    url: String,
    pragmas: &'static str,
    idle: std::sync::Mutex<Vec<Connection>>,
}

/// Idle read connections kept open; more are opened under load and closed after.
const IDLE_READERS: usize = 8;

impl Readers {
    pub(crate) fn new(url: &str, pragmas: &'static str) -> Readers {
        Readers {
            url: url.to_string(),
            pragmas,
            idle: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on an idle connection (opening one if none is idle).
    pub(crate) fn with<T>(
        &self,
        read: impl FnOnce(Reads<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = match self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            Some(conn) => conn,
            None => open_connection(&self.url, self.pragmas)?,
        };
        let result = read(Reads(&conn));
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }
}

/// The reads both a [`LocalTx`] and the [`Readers`] make, on one connection.
pub(crate) struct Reads<'c>(&'c Connection);

impl Reads<'_> {
    pub(crate) fn get_resource(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<ResourceRow>, StoreError> {
        query_one(self.0, resources::GET, params![id, account_id], |r| {
            rows::resource(r)
        })
    }

    pub(crate) fn list_resources(
        &self,
        account_id: &str,
        region: &str,
        kind: &str,
    ) -> Result<Vec<ResourceRow>, StoreError> {
        query_all(
            self.0,
            resources::LIST,
            params![account_id, region, kind],
            |r| rows::resource(r),
        )
    }

    pub(crate) fn list_all_resources(
        &self,
        account_id: &str,
        region: &str,
    ) -> Result<Vec<ResourceRow>, StoreError> {
        query_all(
            self.0,
            resources::LIST_ALL,
            params![account_id, region],
            |r| rows::resource(r),
        )
    }

    pub(crate) fn count_resources(
        &self,
        account_id: &str,
        region: &str,
        kind: &str,
    ) -> Result<i64, StoreError> {
        let count = query_one(
            self.0,
            resources::COUNT,
            params![account_id, region, kind],
            |r| r.int(0),
        )?;
        Ok(count.unwrap_or(0))
    }

    pub(crate) fn list_children(
        &self,
        account_id: &str,
        parent_id: &str,
    ) -> Result<Vec<ResourceRow>, StoreError> {
        query_all(
            self.0,
            resources::CHILDREN,
            params![account_id, parent_id],
            |r| rows::resource(r),
        )
    }

    pub(crate) fn get_access_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<AccessKeyRow>, StoreError> {
        query_one(self.0, iam::GET_KEY, params![access_key_id], |r| {
            rows::access_key(r)
        })
    }

    pub(crate) fn get_user(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        query_one(self.0, iam::GET_USER, params![account_id, name], |r| {
            rows::user(r)
        })
    }

    pub(crate) fn list_user_policies(
        &self,
        account_id: &str,
        user_name: &str,
    ) -> Result<Vec<UserPolicyRow>, StoreError> {
        query_all(
            self.0,
            iam::USER_POLICIES,
            params![account_id, user_name],
            |r| rows::user_policy(r),
        )
    }
}

/// An open SQLite write transaction on the writer connection, whose lock it
/// holds. Dropped without [`LocalTx::commit`], it rolls back.
pub(crate) struct LocalTx {
    conn: OwnedMutexGuard<Connection>,
    open: bool,
}

impl LocalTx {
    /// `BEGIN IMMEDIATE` on the writer connection.
    pub(crate) fn begin(conn: OwnedMutexGuard<Connection>) -> Result<LocalTx, StoreError> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(LocalTx { conn, open: true })
    }

    pub(crate) fn commit(mut self) -> Result<(), StoreError> {
        self.end("COMMIT")
    }

    pub(crate) fn rollback(mut self) -> Result<(), StoreError> {
        self.end("ROLLBACK")
    }

    fn end(&mut self, sql: &str) -> Result<(), StoreError> {
        let result = self.conn.execute_batch(sql);
        if result.is_err() && sql == "COMMIT" {
            // A failed COMMIT (e.g. SQLITE_BUSY) leaves the transaction open;
            // roll it back so the writer connection is clean for the next one.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.open = false;
        Ok(result?)
    }

    /// The transaction's reads (it sees its own writes).
    pub(crate) fn reads(&self) -> Reads<'_> {
        Reads(&self.conn)
    }

    fn execute(&self, sql: &str, params: impl Params) -> Result<usize, StoreError> {
        execute(&self.conn, sql, params)
    }

    fn query_all<T>(
        &self,
        sql: &str,
        params: impl Params,
        decode: fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        query_all(&self.conn, sql, params, decode)
    }

    fn query_one<T>(
        &self,
        sql: &str,
        params: impl Params,
        decode: fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        query_one(&self.conn, sql, params, decode)
    }

    pub(crate) fn insert_resource(&self, r: &ResourceRow) -> Result<(), StoreError> {
        let inserted = self.execute(
            resources::INSERT,
            params![
                r.account_id,
                r.region,
                r.kind,
                r.id,
                r.parent_id,
                r.generation,
                r.body,
                millis(&r.created_at),
                millis(&r.updated_at)
            ],
        )?;
        match inserted {
            0 => Err(StoreError::AlreadyExists),
            _ => Ok(()),
        }
    }

    pub(crate) fn update_resource(
        &self,
        account_id: &str,
        id: &str,
        expected_generation: i64,
        body: &str,
    ) -> Result<i64, StoreError> {
        let now = millis(&chrono::Utc::now());
        let updated = self.execute(
            resources::UPDATE,
            params![body, now, id, account_id, expected_generation],
        )?;
        match updated {
            0 => Err(self.missing_or_stale(account_id, id)?),
            _ => Ok(expected_generation + 1),
        }
    }

    pub(crate) fn delete_resource(
        &self,
        account_id: &str,
        id: &str,
        expected_generation: i64,
    ) -> Result<(), StoreError> {
        let deleted = self.execute(
            resources::DELETE,
            params![id, account_id, expected_generation],
        )?;
        match deleted {
            0 => Err(self.missing_or_stale(account_id, id)?),
            _ => Ok(()),
        }
    }

    /// Why a guarded write matched no row: the row is gone (NotFound) or its
    /// generation moved on (Conflict).
    fn missing_or_stale(&self, account_id: &str, id: &str) -> Result<StoreError, StoreError> {
        let found = self.query_one(resources::GENERATION, params![id, account_id], |r| r.int(0))?;
        Ok(match found {
            Some(_) => StoreError::Conflict,
            None => StoreError::NotFound,
        })
    }

    pub(crate) fn delete_user(&self, account_id: &str, name: &str) -> Result<(), StoreError> {
        let mut deleted = 0;
        for sql in iam::DELETE_USER {
            deleted = self.execute(sql, params![account_id, name])?;
        }
        match deleted {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    pub(crate) fn list_access_keys(
        &self,
        account_id: &str,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKeyRow>, StoreError> {
        match user_name {
            Some(user) => self.query_all(iam::USER_KEYS, params![account_id, user], |r| {
                rows::access_key(r)
            }),
            None => self.query_all(iam::ROOT_KEYS, params![account_id], |r| rows::access_key(r)),
        }
    }

    pub(crate) fn create_access_key(&self, k: &AccessKeyRow) -> Result<(), StoreError> {
        let inserted = self.execute(
            iam::INSERT_KEY,
            params![
                k.access_key_id,
                k.account_id,
                k.user_name,
                k.secret_ciphertext,
                k.status,
                millis(&k.created_at)
            ],
        )?;
        match inserted {
            0 => Err(StoreError::AlreadyExists),
            _ => Ok(()),
        }
    }

    pub(crate) fn put_user_policy(&self, p: &UserPolicyRow) -> Result<(), StoreError> {
        self.execute(
            iam::PUT_POLICY,
            params![p.account_id, p.user_name, p.policy_name, p.document],
        )
        .map(drop)
    }

    pub(crate) fn record_audit(&self, r: &AuditRecord) -> Result<(), StoreError> {
        self.execute(
            audit::INSERT,
            params![
                millis(&r.at),
                r.request_id,
                r.account_id,
                r.principal_arn,
                r.access_key_id,
                r.service,
                r.action,
                audit::resource_ids(r)?,
                r.result,
                r.http_status,
                r.source_ip
            ],
        )
        .map(drop)
    }

    pub(crate) fn delete_account(&self, id: &str) -> Result<(), StoreError> {
        let mut last = 0;
        for sql in accounts::DELETE_ACCOUNT {
            last = self.execute(sql, params![id])?;
        }
        match last {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }
}

impl Drop for LocalTx {
    fn drop(&mut self) {
        if self.open {
            // Dropped mid-way (an error, a cancelled request): undo it before
            // the writer lock is released with the connection.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = $2 AND c = $1"),
            "SELECT a FROM t WHERE b = ?2 AND c = ?1"
        );
    }
}
