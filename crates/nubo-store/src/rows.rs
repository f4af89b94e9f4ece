//! The row types the store reads and writes, and their decoding from
//! database rows.
//!
//! Rows are plain data: services build them and interpret them. Timestamps
//! are stored as epoch milliseconds, so a row read back carries its times
//! truncated to the millisecond (use [`now`] to get a time that round-trips
//! exactly).

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::StoreError;

/// A tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An IAM user of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub account_id: String,
    pub name: String,
    pub user_id: String,
    pub path: String,
    pub arn: String,
    pub created_at: DateTime<Utc>,
}

/// An access key. `user_name` None means the account's root credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessKeyRow {
    pub access_key_id: String,
    pub account_id: String,
    pub user_name: Option<String>,
    pub secret_ciphertext: Vec<u8>,
    /// `"Active"` or `"Inactive"`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// An inline policy of an IAM user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPolicyRow {
    pub account_id: String,
    pub user_name: String,
    pub policy_name: String,
    pub document: String,
}

/// A generic resource (VPC, subnet, ...) whose body is opaque JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRow {
    pub account_id: String,
    pub region: String,
    /// The kind, e.g. `"vpc"`.
    pub kind: String,
    pub id: String,
    pub parent_id: Option<String>,
    /// Bumped by every update; writers name the generation they read.
    pub generation: i64,
    /// The JSON document, tags included.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One audited API call.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub request_id: String,
    pub account_id: Option<String>,
    pub principal_arn: Option<String>,
    pub access_key_id: Option<String>,
    pub service: String,
    pub action: String,
    pub resource_ids: Vec<String>,
    /// `"Success"` or the AWS error code.
    pub result: String,
    pub http_status: i64,
    pub source_ip: Option<String>,
}

/// The current time truncated to the millisecond, the precision the store keeps.
pub fn now() -> DateTime<Utc> {
    from_millis(Utc::now().timestamp_millis()).unwrap_or_else(|_| Utc::now())
}

pub(crate) fn millis(t: &DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} ms is out of range")))
}

/// Column lists as macros, so queries can be assembled with `concat!` into
/// `'static` strings (one prepared statement each, cached per connection).
/// The order is the order the decoders below read them.
macro_rules! account_cols {
    () => {
        "id, name, created_at"
    };
}
macro_rules! user_cols {
    () => {
        "account_id, name, user_id, path, arn, created_at"
    };
}
macro_rules! key_cols {
    () => {
        "access_key_id, account_id, user_name, secret_ciphertext, status, created_at"
    };
}
macro_rules! policy_cols {
    () => {
        "account_id, user_name, policy_name, document"
    };
}
macro_rules! resource_cols {
    () => {
        "account_id, region, kind, id, parent_id, generation, body, created_at, updated_at"
    };
}
macro_rules! audit_cols {
    () => {
        "at, request_id, account_id, principal_arn, access_key_id, service, action, \
         resource_ids, result, http_status, source_ip"
    };
}
pub(crate) use {account_cols, audit_cols, key_cols, policy_cols, resource_cols, user_cols};

/// Column access shared by the two drivers' rows (sqlx's `AnyRow` on the
/// pool and on PostgreSQL, rusqlite's `Row` in SQLite write transactions), so
/// each row type has one decoder.
pub(crate) trait Columns {
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError>;
}

impl Columns for AnyRow {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        Ok(self.try_get(i)?)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        Ok(self.get(i)?)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        Ok(self.get(i)?)
    }
}

pub(crate) fn account<R: Columns + ?Sized>(r: &R) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        id: r.text(0)?,
        name: r.text(1)?,
        created_at: from_millis(r.int(2)?)?,
    })
}

pub(crate) fn user<R: Columns + ?Sized>(r: &R) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        account_id: r.text(0)?,
        name: r.text(1)?,
        user_id: r.text(2)?,
        path: r.text(3)?,
        arn: r.text(4)?,
        created_at: from_millis(r.int(5)?)?,
    })
}

pub(crate) fn access_key<R: Columns + ?Sized>(r: &R) -> Result<AccessKeyRow, StoreError> {
    Ok(AccessKeyRow {
        access_key_id: r.text(0)?,
        account_id: r.text(1)?,
        user_name: r.opt_text(2)?,
        secret_ciphertext: r.blob(3)?,
        status: r.text(4)?,
        created_at: from_millis(r.int(5)?)?,
    })
}

pub(crate) fn user_policy<R: Columns + ?Sized>(r: &R) -> Result<UserPolicyRow, StoreError> {
    Ok(UserPolicyRow {
        account_id: r.text(0)?,
        user_name: r.text(1)?,
        policy_name: r.text(2)?,
        document: r.text(3)?,
    })
}

pub(crate) fn resource<R: Columns + ?Sized>(r: &R) -> Result<ResourceRow, StoreError> {
    Ok(ResourceRow {
        account_id: r.text(0)?,
        region: r.text(1)?,
        kind: r.text(2)?,
        id: r.text(3)?,
        parent_id: r.opt_text(4)?,
        generation: r.int(5)?,
        body: r.text(6)?,
        created_at: from_millis(r.int(7)?)?,
        updated_at: from_millis(r.int(8)?)?,
    })
}

pub(crate) fn audit<R: Columns + ?Sized>(r: &R) -> Result<AuditRecord, StoreError> {
    let ids = r.text(7)?;
    let resource_ids = serde_json::from_str(&ids)
        .map_err(|e| StoreError::Corrupt(format!("audit resource_ids {ids:?}: {e}")))?;
    Ok(AuditRecord {
        at: from_millis(r.int(0)?)?,
        request_id: r.text(1)?,
        account_id: r.opt_text(2)?,
        principal_arn: r.opt_text(3)?,
        access_key_id: r.opt_text(4)?,
        service: r.text(5)?,
        action: r.text(6)?,
        resource_ids,
        result: r.text(8)?,
        http_status: r.int(9)?,
        source_ip: r.opt_text(10)?,
    })
}

/// Decodes every row with `f`.
pub(crate) fn all<T>(
    rows: Vec<AnyRow>,
    f: fn(&AnyRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_round_trips_through_millis() {
        let t = now();
        assert_eq!(from_millis(millis(&t)).ok(), Some(t));
    }

    #[test]
    fn out_of_range_millis_are_corrupt() {
        assert!(matches!(from_millis(i64::MAX), Err(StoreError::Corrupt(_))));
    }
}
