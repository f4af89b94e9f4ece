//! Write transactions.
//!
//! A [`Tx`] is one database transaction (SQLite `BEGIN IMMEDIATE`, PostgreSQL
//! `SERIALIZABLE`). On SQLite it also holds the store's writer lock until it
//! ends, so writers in one process queue up instead of failing on lock
//! upgrades. Dropping a `Tx` without [`Tx::commit`] rolls it back.
//!
//! After any error inside a transaction, drop it (or roll it back) and, on
//! [`StoreError::Conflict`], retry the whole operation from a fresh read:
//! PostgreSQL refuses further statements in a failed transaction.

use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::OwnedMutexGuard;

use crate::{
    audit, iam, resources, AccessKeyRow, AuditRecord, ResourceRow, StoreError, UserPolicyRow,
    UserRow,
};

/// An open write transaction.
pub struct Tx {
    // Field order matters: the transaction is dropped (rolled back) before the
    // writer lock is released.
    tx: Transaction<'static, Any>,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

impl Tx {
    pub(crate) fn new(tx: Transaction<'static, Any>, writer: Option<OwnedMutexGuard<()>>) -> Tx {
        Tx {
            tx,
            _writer: writer,
        }
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// The account's resource with this ID, as this transaction sees it.
    pub async fn get_resource(
        &mut self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<ResourceRow>, StoreError> {
        resources::get(self.conn(), account_id, id).await
    }

    /// The account's resources of one kind in one region, by ID.
    pub async fn list_resources(
        &mut self,
        account_id: &str,
        region: &str,
        kind: &str,
    ) -> Result<Vec<ResourceRow>, StoreError> {
        resources::list(self.conn(), account_id, region, kind).await
    }

    /// How many resources of one kind the account has in one region; inside
    /// the transaction, so a quota check and the insert it guards are atomic.
    pub async fn count_resources(
        &mut self,
        account_id: &str,
        region: &str,
        kind: &str,
    ) -> Result<i64, StoreError> {
        resources::count(self.conn(), account_id, region, kind).await
    }

    /// The account's resources whose parent is `parent_id`, by ID.
    pub async fn list_children(
        &mut self,
        account_id: &str,
        parent_id: &str,
    ) -> Result<Vec<ResourceRow>, StoreError> {
        resources::children(self.conn(), account_id, parent_id).await
    }

    /// Inserts a resource with the generation it carries (callers pass 1).
    /// [`StoreError::AlreadyExists`] if the ID is taken.
    pub async fn insert_resource(&mut self, r: &ResourceRow) -> Result<(), StoreError> {
        resources::insert(self.conn(), r).await
    }

    /// Replaces the body if the stored generation is `expected_generation`,
    /// bumping the generation and `updated_at`; returns the new generation.
    /// [`StoreError::Conflict`] if the generation differs,
    /// [`StoreError::NotFound`] if the resource does not exist.
    pub async fn update_resource(
        &mut self,
        account_id: &str,
        id: &str,
        expected_generation: i64,
        body: &str,
    ) -> Result<i64, StoreError> {
        resources::update(self.conn(), account_id, id, expected_generation, body).await
    }

    /// Deletes the resource if the stored generation is `expected_generation`;
    /// same errors as [`Tx::update_resource`].
    pub async fn delete_resource(
        &mut self,
        account_id: &str,
        id: &str,
        expected_generation: i64,
    ) -> Result<(), StoreError> {
        resources::delete(self.conn(), account_id, id, expected_generation).await
    }

    /// The user `name` of the account (exact name), as this transaction sees it.
    pub async fn get_user(
        &mut self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        iam::get_user(self.conn(), account_id, name).await
    }

    /// Deletes a user with any keys and inline policies it still has; check
    /// for them in this transaction first to enforce IAM's DeleteConflict.
    /// [`StoreError::NotFound`] if there is no such user.
    pub async fn delete_user(&mut self, account_id: &str, name: &str) -> Result<(), StoreError> {
        iam::delete_user(self.conn(), account_id, name).await
    }

    /// The keys of a user, or the account's root keys when `user_name` is
    /// None, oldest first; inside the transaction, so a quota check and the
    /// insert it guards are atomic.
    pub async fn list_access_keys(
        &mut self,
        account_id: &str,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKeyRow>, StoreError> {
        iam::list_access_keys(self.conn(), account_id, user_name).await
    }

    /// Stores a new access key. [`StoreError::AlreadyExists`] if the key ID is
    /// taken; [`StoreError::NotFound`] if the account or user does not exist.
    pub async fn create_access_key(&mut self, k: &AccessKeyRow) -> Result<(), StoreError> {
        iam::create_access_key(self.conn(), k).await
    }

    /// The inline policies of a user, by name.
    pub async fn list_user_policies(
        &mut self,
        account_id: &str,
        user_name: &str,
    ) -> Result<Vec<UserPolicyRow>, StoreError> {
        iam::list_user_policies(self.conn(), account_id, user_name).await
    }

    /// Creates or replaces an inline policy of a user.
    /// [`StoreError::NotFound`] if the user does not exist.
    pub async fn put_user_policy(&mut self, p: &UserPolicyRow) -> Result<(), StoreError> {
        iam::put_user_policy(self.conn(), p).await
    }

    /// Appends an audit record that commits or rolls back with the change.
    pub async fn record_audit(&mut self, r: &AuditRecord) -> Result<(), StoreError> {
        audit::insert(self.conn(), r).await
    }

    /// Makes the transaction's writes durable and visible.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(StoreError::from_sqlx)
    }

    /// Discards the transaction's writes.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await.map_err(StoreError::from_sqlx)
    }
}
