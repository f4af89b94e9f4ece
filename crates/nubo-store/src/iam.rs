//! IAM identities: users, access keys (user keys and the account's root keys)
//! and inline user policies.
//!
//! The queries here run either on the pool (through [`Store`]) or on a
//! transaction's connection (through [`crate::Tx`], for the services' checks
//! that must be atomic with the write they guard: key quotas, the policy size
//! limit, DeleteConflict). Every query names the account, so another tenant's
//! user or key reads as absent — except [`Store::get_access_key`], the global
//! lookup authentication does on every request by the key ID (the primary
//! key) before it knows the account.
//!
//! Inserts report a missing parent row (account, user) as
//! [`StoreError::NotFound`], which [`StoreError::from_sqlx`] makes of the
//! foreign-key violation.

use sqlx::{Any, AnyConnection, Executor};

use crate::rows::{self, key_cols, millis, policy_cols, user_cols};
use crate::{AccessKeyRow, Store, StoreError, UserPolicyRow, UserRow};

/// The statements a transaction runs, shared by the sqlx functions below and
/// by the SQLite write transaction ([`crate::sqlite`]).
pub(crate) const GET_KEY: &str = concat!(
    "SELECT ",
    key_cols!(),
    " FROM iam_access_keys WHERE access_key_id = $1"
);
pub(crate) const GET_USER: &str = concat!(
    "SELECT ",
    user_cols!(),
    " FROM iam_users WHERE account_id = $1 AND name = $2"
);
/// Deletes the user's policies and keys, then the user.
pub(crate) const DELETE_USER: [&str; 3] = [
    "DELETE FROM iam_user_policies WHERE account_id = $1 AND user_name = $2",
    "DELETE FROM iam_access_keys WHERE account_id = $1 AND user_name = $2",
    "DELETE FROM iam_users WHERE account_id = $1 AND name = $2",
];
pub(crate) const INSERT_KEY: &str = concat!(
    "INSERT INTO iam_access_keys (",
    key_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
);
pub(crate) const USER_KEYS: &str = concat!(
    "SELECT ",
    key_cols!(),
    " FROM iam_access_keys WHERE account_id = $1 AND user_name = $2 \
     ORDER BY created_at, access_key_id"
);
pub(crate) const ROOT_KEYS: &str = concat!(
    "SELECT ",
    key_cols!(),
    " FROM iam_access_keys WHERE account_id = $1 AND user_name IS NULL \
     ORDER BY created_at, access_key_id"
);
pub(crate) const PUT_POLICY: &str = concat!(
    "INSERT INTO iam_user_policies (",
    policy_cols!(),
    ") VALUES ($1, $2, $3, $4) \
     ON CONFLICT (account_id, user_name, policy_name) \
     DO UPDATE SET document = excluded.document"
);
pub(crate) const USER_POLICIES: &str = concat!(
    "SELECT ",
    policy_cols!(),
    " FROM iam_user_policies WHERE account_id = $1 AND user_name = $2 \
     ORDER BY policy_name"
);

impl Store {
    /// Creates an IAM user. [`StoreError::AlreadyExists`] if the account has a
    /// user of that name (compared without case, as IAM does) or the user ID is
    /// taken; [`StoreError::NotFound`] if the account does not exist.
    pub async fn create_user(&self, u: &UserRow) -> Result<(), StoreError> {
        let _guard = self.write_lock().await?;
        create_user(self.pool(), u).await
    }

    /// The user `name` of the account (exact name).
    pub async fn get_user(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        if let Some(readers) = self.readers() {
            return readers.with(|r| r.get_user(account_id, name));
        }
        get_user(self.pool(), account_id, name).await
    }

    /// The account's users whose path starts with `path_prefix`, by name.
    pub async fn list_users(
        &self,
        account_id: &str,
        path_prefix: Option<&str>,
    ) -> Result<Vec<UserRow>, StoreError> {
        let q = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM iam_users WHERE account_id = $1 ORDER BY name"
        ))
        .bind(account_id);
        let mut users = rows::all(self.read_all(q).await?, rows::user)?;
        // Filtered here rather than with LIKE, whose wildcards (`_` is legal in
        // IAM paths) and case rules differ between the backends.
        if let Some(prefix) = path_prefix {
            users.retain(|u| u.path.starts_with(prefix));
        }
        Ok(users)
    }

    /// Deletes a user, and with it any access keys and inline policies it still
    /// has (callers enforce IAM's DeleteConflict rule, atomically with the
    /// delete, through [`crate::Tx::delete_user`]).
    /// [`StoreError::NotFound`] if there is no such user.
    pub async fn delete_user(&self, account_id: &str, name: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.delete_user(account_id, name).await?;
        tx.commit().await
    }

    /// Stores a new access key. [`StoreError::AlreadyExists`] if the key ID is
    /// taken; [`StoreError::NotFound`] if the account or user does not exist.
    pub async fn create_access_key(&self, k: &AccessKeyRow) -> Result<(), StoreError> {
        let _guard = self.write_lock().await?;
        create_access_key(self.pool(), k).await
    }

    /// The key with this ID, in whatever account (authentication's lookup).
    pub async fn get_access_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<AccessKeyRow>, StoreError> {
        if let Some(readers) = self.readers() {
            return readers.with(|r| r.get_access_key(access_key_id));
        }
        let q = sqlx::query(GET_KEY).bind(access_key_id);
        self.read_one(q)
            .await?
            .as_ref()
            .map(rows::access_key)
            .transpose()
    }

    /// The keys of a user, or the account's root keys when `user_name` is None,
    /// oldest first.
    pub async fn list_access_keys(
        &self,
        account_id: &str,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKeyRow>, StoreError> {
        list_access_keys(self.pool(), account_id, user_name).await
    }

    /// Sets a key's status (`"Active"` or `"Inactive"`).
    /// [`StoreError::NotFound`] if the account has no such key.
    pub async fn set_access_key_status(
        &self,
        account_id: &str,
        access_key_id: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        let q = sqlx::query(
            "UPDATE iam_access_keys SET status = $1 WHERE account_id = $2 AND access_key_id = $3",
        )
        .bind(status)
        .bind(account_id)
        .bind(access_key_id);
        match self.write(q).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    /// Deletes a key. [`StoreError::NotFound`] if the account has no such key.
    pub async fn delete_access_key(
        &self,
        account_id: &str,
        access_key_id: &str,
    ) -> Result<(), StoreError> {
        let q =
            sqlx::query("DELETE FROM iam_access_keys WHERE account_id = $1 AND access_key_id = $2")
                .bind(account_id)
                .bind(access_key_id);
        match self.write(q).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    /// Creates or replaces an inline policy of a user.
    /// [`StoreError::NotFound`] if the user does not exist.
    pub async fn put_user_policy(&self, p: &UserPolicyRow) -> Result<(), StoreError> {
        let _guard = self.write_lock().await?;
        put_user_policy(self.pool(), p).await
    }

    /// One inline policy of a user.
    pub async fn get_user_policy(
        &self,
        account_id: &str,
        user_name: &str,
        policy_name: &str,
    ) -> Result<Option<UserPolicyRow>, StoreError> {
        let q = sqlx::query(concat!(
            "SELECT ",
            policy_cols!(),
            " FROM iam_user_policies \
             WHERE account_id = $1 AND user_name = $2 AND policy_name = $3"
        ))
        .bind(account_id)
        .bind(user_name)
        .bind(policy_name);
        self.read_one(q)
            .await?
            .as_ref()
            .map(rows::user_policy)
            .transpose()
    }

    /// The inline policies of a user, by name.
    pub async fn list_user_policies(
        &self,
        account_id: &str,
        user_name: &str,
    ) -> Result<Vec<UserPolicyRow>, StoreError> {
        if let Some(readers) = self.readers() {
            return readers.with(|r| r.list_user_policies(account_id, user_name));
        }
        list_user_policies(self.pool(), account_id, user_name).await
    }

    /// Deletes an inline policy. [`StoreError::NotFound`] if it does not exist.
    pub async fn delete_user_policy(
        &self,
        account_id: &str,
        user_name: &str,
        policy_name: &str,
    ) -> Result<(), StoreError> {
        let q = sqlx::query(
            "DELETE FROM iam_user_policies \
             WHERE account_id = $1 AND user_name = $2 AND policy_name = $3",
        )
        .bind(account_id)
        .bind(user_name)
        .bind(policy_name);
        match self.write(q).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }
}

/// `ON CONFLICT DO NOTHING` reports a duplicate as zero rows (and keeps a
/// PostgreSQL transaction usable); a missing account is a foreign-key error.
pub(crate) async fn create_user<'c, E: Executor<'c, Database = Any>>(
    e: E,
    u: &UserRow,
) -> Result<(), StoreError> {
    let done = sqlx::query(concat!(
        "INSERT INTO iam_users (",
        user_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
    ))
    .bind(&u.account_id)
    .bind(&u.name)
    .bind(&u.user_id)
    .bind(&u.path)
    .bind(&u.arn)
    .bind(millis(&u.created_at))
    .execute(e)
    .await?;
    match done.rows_affected() {
        0 => Err(StoreError::AlreadyExists),
        _ => Ok(()),
    }
}

pub(crate) async fn get_user<'c, E: Executor<'c, Database = Any>>(
    e: E,
    account_id: &str,
    name: &str,
) -> Result<Option<UserRow>, StoreError> {
    sqlx::query(GET_USER)
        .bind(account_id)
        .bind(name)
        .fetch_optional(e)
        .await?
        .as_ref()
        .map(rows::user)
        .transpose()
}

/// Deletes the user's policies and keys, then the user.
pub(crate) async fn delete_user(
    conn: &mut AnyConnection,
    account_id: &str,
    name: &str,
) -> Result<(), StoreError> {
    let mut deleted = 0;
    for sql in DELETE_USER {
        deleted = sqlx::query(sql)
            .bind(account_id)
            .bind(name)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    match deleted {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub(crate) async fn create_access_key<'c, E: Executor<'c, Database = Any>>(
    e: E,
    k: &AccessKeyRow,
) -> Result<(), StoreError> {
    let done = sqlx::query(INSERT_KEY)
        .bind(&k.access_key_id)
        .bind(&k.account_id)
        .bind(&k.user_name)
        .bind(&k.secret_ciphertext)
        .bind(&k.status)
        .bind(millis(&k.created_at))
        .execute(e)
        .await?;
    match done.rows_affected() {
        0 => Err(StoreError::AlreadyExists),
        _ => Ok(()),
    }
}

pub(crate) async fn list_access_keys<'c, E: Executor<'c, Database = Any>>(
    e: E,
    account_id: &str,
    user_name: Option<&str>,
) -> Result<Vec<AccessKeyRow>, StoreError> {
    let q = match user_name {
        Some(user) => sqlx::query(USER_KEYS).bind(account_id).bind(user),
        None => sqlx::query(ROOT_KEYS).bind(account_id),
    };
    rows::all(q.fetch_all(e).await?, rows::access_key)
}

pub(crate) async fn put_user_policy<'c, E: Executor<'c, Database = Any>>(
    e: E,
    p: &UserPolicyRow,
) -> Result<(), StoreError> {
    sqlx::query(PUT_POLICY)
        .bind(&p.account_id)
        .bind(&p.user_name)
        .bind(&p.policy_name)
        .bind(&p.document)
        .execute(e)
        .await?;
    Ok(())
}

pub(crate) async fn list_user_policies<'c, E: Executor<'c, Database = Any>>(
    e: E,
    account_id: &str,
    user_name: &str,
) -> Result<Vec<UserPolicyRow>, StoreError> {
    let found = sqlx::query(USER_POLICIES)
        .bind(account_id)
        .bind(user_name)
        .fetch_all(e)
        .await?;
    rows::all(found, rows::user_policy)
}
