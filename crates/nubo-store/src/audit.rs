//! The audit log: one record per API call, written in the same transaction as
//! the change it describes when there is one, and read newest first.

use sqlx::{Any, Executor};

use crate::rows::{self, audit_cols, millis};
use crate::{AuditRecord, Store, StoreError};

impl Store {
    /// Appends a record outside any transaction (failed or read-only calls).
    pub async fn record_audit(&self, r: &AuditRecord) -> Result<(), StoreError> {
        let _guard = self.write_lock().await?;
        insert(self.pool(), r).await
    }

    /// The newest `limit` records of one account, or of all accounts when
    /// `account_id` is None, newest first.
    pub async fn list_audit(
        &self,
        account_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let q = match account_id {
            Some(account) => sqlx::query(concat!(
                "SELECT ",
                audit_cols!(),
                " FROM audit_log WHERE account_id = $1 ORDER BY at DESC, seq DESC LIMIT $2"
            ))
            .bind(account)
            .bind(limit.max(0)),
            None => sqlx::query(concat!(
                "SELECT ",
                audit_cols!(),
                " FROM audit_log ORDER BY at DESC, seq DESC LIMIT $1"
            ))
            .bind(limit.max(0)),
        };
        rows::all(self.read_all(q).await?, rows::audit)
    }
}

pub(crate) const INSERT: &str = concat!(
    "INSERT INTO audit_log (",
    audit_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);

/// The stored form of a record's resource IDs (a JSON array).
pub(crate) fn resource_ids(r: &AuditRecord) -> Result<String, StoreError> {
    serde_json::to_string(&r.resource_ids)
        .map_err(|e| StoreError::Corrupt(format!("audit resource_ids: {e}")))
}

pub(crate) async fn insert<'c, E: Executor<'c, Database = Any>>(
    e: E,
    r: &AuditRecord,
) -> Result<(), StoreError> {
    let ids = resource_ids(r)?;
    sqlx::query(INSERT)
        .bind(millis(&r.at))
        .bind(&r.request_id)
        .bind(&r.account_id)
        .bind(&r.principal_arn)
        .bind(&r.access_key_id)
        .bind(&r.service)
        .bind(&r.action)
        .bind(ids)
        .bind(&r.result)
        .bind(r.http_status)
        .bind(&r.source_ip)
        .execute(e)
        .await?;
    Ok(())
}
