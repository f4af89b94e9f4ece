//! Write transactions.
//!
//! A [`Tx`] is one database transaction (SQLite `BEGIN IMMEDIATE`, PostgreSQL
//! `SERIALIZABLE`). On SQLite it runs on the store's one writer connection,
//! whose lock it holds until it ends, so writers in one process queue up
//! instead of failing on lock upgrades (see [`crate::sqlite`]). Dropping a
//! `Tx` without [`Tx::commit`] rolls it back.
//!
//! After any error inside a transaction, drop it (or roll it back) and, on
//! [`StoreError::Conflict`], retry the whole operation from a fresh read:
//! PostgreSQL refuses further statements in a failed transaction.

use sqlx::{Any, AnyConnection, Transaction};

use crate::sqlite::LocalTx;
use crate::{
    accounts, audit, iam, resources, AccessKeyRow, AuditRecord, ResourceRow, StoreError,
    UserPolicyRow, UserRow,
};

/// An open write transaction.
pub struct Tx {
    inner: Inner,
}

enum Inner {
    /// PostgreSQL: a sqlx transaction at `SERIALIZABLE`.
    Pool(Transaction<'static, Any>),
    /// SQLite: the writer connection, in place (see [`crate::sqlite`]).
    Local(LocalTx),
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

/// Runs the sqlx form of a call on a pooled transaction, or the in-place
/// form on the SQLite writer.
macro_rules! dispatch {
    ($self:ident, |$conn:ident| $pool:expr, |$local:ident| $in_place:expr) => {
        match &mut $self.inner {
            Inner::Pool(tx) => {
                let $conn: &mut AnyConnection = tx;
                $pool.await
            }
            Inner::Local($local) => $in_place,
        }
    };
}

impl Tx {
    pub(crate) fn pooled(tx: Transaction<'static, Any>) -> Tx {
        Tx {
            inner: Inner::Pool(tx),
        }
    }

    pub(crate) fn local(tx: LocalTx) -> Tx {
        Tx {
            inner: Inner::Local(tx),
        }
    }

    /// The account's resource with this ID, as this transaction sees it.
    pub async fn get_resource(
        &mut self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<ResourceRow>, StoreError> {
        dispatch!(self, |c| resources::get(c, account_id, id), |t| t
            .reads()
            .get_resource(account_id, id))
    }

    /// The account's resources of one kind in one region, by ID.
    pub async fn list_resources(
        &mut self,
        account_id: &str,
        region: &str,
        kind: &str,
    ) -> Result<Vec<ResourceRow>, StoreError> {
        dispatch!(
            self,
            |c| resources::list(c, account_id, region, kind),
            |t| t.reads().list_resources(account_id, region, kind)
        )
    }

    /// How many resources of one kind the account has in one region; inside
    /// the transaction, so a quota check and the insert it guards are atomic.
    pub async fn count_resources(
        &mut self,
        account_id: &str,
        region: &str,
        kind: &str,
    ) -> Result<i64, StoreError> {
        dispatch!(
            self,
            |c| resources::count(c, account_id, region, kind),
            |t| t.reads().count_resources(account_id, region, kind)
        )
    }

    /// The account's resources whose parent is `parent_id`, by ID.
    pub async fn list_children(
        &mut self,
        account_id: &str,
        parent_id: &str,
    ) -> Result<Vec<ResourceRow>, StoreError> {
        dispatch!(
            self,
            |c| resources::children(c, account_id, parent_id),
            |t| t.reads().list_children(account_id, parent_id)
        )
    }

    /// Inserts a resource with the generation it carries (callers pass 1).
    /// [`StoreError::AlreadyExists`] if the ID is taken.
    pub async fn insert_resource(&mut self, r: &ResourceRow) -> Result<(), StoreError> {
        dispatch!(self, |c| resources::insert(c, r), |t| t.insert_resource(r))
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
        dispatch!(
            self,
            |c| resources::update(c, account_id, id, expected_generation, body),
            |t| t.update_resource(account_id, id, expected_generation, body)
        )
    }

    /// Deletes the resource if the stored generation is `expected_generation`;
    /// same errors as [`Tx::update_resource`].
    pub async fn delete_resource(
        &mut self,
        account_id: &str,
        id: &str,
        expected_generation: i64,
    ) -> Result<(), StoreError> {
        dispatch!(
            self,
            |c| resources::delete(c, account_id, id, expected_generation),
            |t| t.delete_resource(account_id, id, expected_generation)
        )
    }

    /// The user `name` of the account (exact name), as this transaction sees it.
    pub async fn get_user(
        &mut self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        dispatch!(self, |c| iam::get_user(c, account_id, name), |t| t
            .reads()
            .get_user(account_id, name))
    }

    /// Deletes a user with any keys and inline policies it still has; check
    /// for them in this transaction first to enforce IAM's DeleteConflict.
    /// [`StoreError::NotFound`] if there is no such user.
    pub async fn delete_user(&mut self, account_id: &str, name: &str) -> Result<(), StoreError> {
        dispatch!(self, |c| iam::delete_user(c, account_id, name), |t| t
            .delete_user(account_id, name))
    }

    /// The keys of a user, or the account's root keys when `user_name` is
    /// None, oldest first; inside the transaction, so a quota check and the
    /// insert it guards are atomic.
    pub async fn list_access_keys(
        &mut self,
        account_id: &str,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKeyRow>, StoreError> {
        dispatch!(
            self,
            |c| iam::list_access_keys(c, account_id, user_name),
            |t| t.list_access_keys(account_id, user_name)
        )
    }

    /// Stores a new access key. [`StoreError::AlreadyExists`] if the key ID is
    /// taken; [`StoreError::NotFound`] if the account or user does not exist.
    pub async fn create_access_key(&mut self, k: &AccessKeyRow) -> Result<(), StoreError> {
        dispatch!(self, |c| iam::create_access_key(c, k), |t| t
            .create_access_key(k))
    }

    /// The inline policies of a user, by name.
    pub async fn list_user_policies(
        &mut self,
        account_id: &str,
        user_name: &str,
    ) -> Result<Vec<UserPolicyRow>, StoreError> {
        dispatch!(
            self,
            |c| iam::list_user_policies(c, account_id, user_name),
            |t| t.reads().list_user_policies(account_id, user_name)
        )
    }

    /// Creates or replaces an inline policy of a user.
    /// [`StoreError::NotFound`] if the user does not exist.
    pub async fn put_user_policy(&mut self, p: &UserPolicyRow) -> Result<(), StoreError> {
        dispatch!(self, |c| iam::put_user_policy(c, p), |t| t
            .put_user_policy(p))
    }

    /// Appends an audit record that commits or rolls back with the change.
    pub async fn record_audit(&mut self, r: &AuditRecord) -> Result<(), StoreError> {
        dispatch!(self, |c| audit::insert(c, r), |t| t.record_audit(r))
    }

    /// Deletes an account and everything it owns (see [`crate::Store::delete_account`]).
    pub(crate) async fn delete_account(&mut self, id: &str) -> Result<(), StoreError> {
        dispatch!(self, |c| accounts::delete_account_in(c, id), |t| t
            .delete_account(id))
    }

    /// Makes the transaction's writes durable and visible.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            Inner::Pool(tx) => tx.commit().await.map_err(StoreError::from_sqlx),
            Inner::Local(tx) => tx.commit(),
        }
    }

    /// Discards the transaction's writes.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            Inner::Pool(tx) => tx.rollback().await.map_err(StoreError::from_sqlx),
            Inner::Local(tx) => tx.rollback(),
        }
    }
}
