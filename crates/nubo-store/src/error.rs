//! The store's error type and its translation from database errors.
//!
//! Every sqlx error leaves the store through [`StoreError::from_sqlx`] (and
//! every rusqlite error through its `From`), which
//! recognises the few conditions callers act on — a duplicate key, a missing
//! parent row, a lost race (PostgreSQL serialization failure or deadlock,
//! SQLite busy/locked) — and keeps everything else as [`StoreError::Database`]
//! with its source attached for the log.

use sqlx::error::ErrorKind;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row addressed by the call does not exist (or belongs to another
    /// account), or a row it refers to (account, user) does not exist.
    #[error("not found")]
    NotFound,
    /// A row with the same key (ID, name) already exists.
    #[error("already exists")]
    AlreadyExists,
    /// A concurrent writer got there first: the generation did not match, the
    /// database reported a serialization failure or deadlock, or SQLite stayed
    /// busy. The whole operation may be retried from the start.
    #[error("concurrent modification")]
    Conflict,
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Any other failure of the SQLite writer connection.
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The database URL is not one the store understands.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// A stored value could not be decoded (e.g. a timestamp out of range).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Classifies a sqlx error.
    pub fn from_sqlx(err: sqlx::Error) -> StoreError {
        let sqlx::Error::Database(db) = &err else {
            return StoreError::Database(err);
        };
        match db.kind() {
            ErrorKind::UniqueViolation => return StoreError::AlreadyExists,
            ErrorKind::ForeignKeyViolation => return StoreError::NotFound,
            _ => {}
        }
        let Some(code) = db.code() else {
            return StoreError::Database(err);
        };
        let conflict = match &*code {
            // serialization_failure, deadlock_detected
            "40001" | "40P01" => true,
            // SQLite reports extended result codes; the primary code is the low
            // byte: SQLITE_BUSY (5, incl. BUSY_SNAPSHOT) and SQLITE_LOCKED (6).
            other => other
                .parse::<i32>()
                .map(|c| matches!(c & 0xff, 5 | 6))
                .unwrap_or(false),
        };
        if conflict {
            StoreError::Conflict
        } else {
            StoreError::Database(err)
        }
    }

    /// True for [`StoreError::Conflict`]: the caller may retry the whole operation.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::from_sqlx(err)
    }
}

impl From<rusqlite::Error> for StoreError {
    /// The same classification as [`StoreError::from_sqlx`], for the SQLite
    /// writer connection: constraint violations by kind, busy/locked as a
    /// conflict.
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        let rusqlite::Error::SqliteFailure(failure, _) = &err else {
            return StoreError::Sqlite(err);
        };
        match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                StoreError::AlreadyExists
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::NotFound,
            code if matches!(code & 0xff, ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED) => {
                StoreError::Conflict
            }
            _ => StoreError::Sqlite(err),
        }
    }
}

impl From<StoreError> for nubo_core::Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => nubo_core::Error::Conflict(
                "The resource was modified concurrently; retry the request".to_string(),
            ),
            other => nubo_core::Error::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_maps_to_retryable_domain_error() {
        let e: nubo_core::Error = StoreError::Conflict.into();
        assert_eq!(
            e,
            nubo_core::Error::Conflict(
                "The resource was modified concurrently; retry the request".into()
            )
        );
    }

    #[test]
    fn other_errors_map_to_internal_with_detail() {
        let e: nubo_core::Error = StoreError::Database(sqlx::Error::PoolTimedOut).into();
        match e {
            nubo_core::Error::Internal(detail) => assert!(detail.contains("database error")),
            other => panic!("unexpected {other:?}"),
        }
        let e: nubo_core::Error = StoreError::NotFound.into();
        assert!(matches!(e, nubo_core::Error::Internal(_)));
    }
}
