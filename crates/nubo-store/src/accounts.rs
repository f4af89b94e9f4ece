//! Accounts (tenants): creation, lookup, listing, and deletion of an account
//! together with everything it owns.

use sqlx::AnyConnection;

use crate::rows::{self, account_cols, millis};
use crate::{AccountRow, Store, StoreError};

impl Store {
    /// Creates an account. [`StoreError::AlreadyExists`] if the ID or the name is taken.
    pub async fn create_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        let q = sqlx::query(concat!(
            "INSERT INTO accounts (",
            account_cols!(),
            ") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        ))
        .bind(&a.id)
        .bind(&a.name)
        .bind(millis(&a.created_at));
        match self.write(q).await? {
            0 => Err(StoreError::AlreadyExists),
            _ => Ok(()),
        }
    }

    /// The account with this ID.
    pub async fn get_account(&self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        let q = sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE id = $1"
        ))
        .bind(id);
        self.read_one(q)
            .await?
            .as_ref()
            .map(rows::account)
            .transpose()
    }

    /// The account with this name.
    pub async fn get_account_by_name(&self, name: &str) -> Result<Option<AccountRow>, StoreError> {
        let q = sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts WHERE name = $1"
        ))
        .bind(name);
        self.read_one(q)
            .await?
            .as_ref()
            .map(rows::account)
            .transpose()
    }

    /// Every account, oldest first.
    pub async fn list_accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let q = sqlx::query(concat!(
            "SELECT ",
            account_cols!(),
            " FROM accounts ORDER BY created_at, id"
        ));
        rows::all(self.read_all(q).await?, rows::account)
    }

    /// Deletes an account and everything it owns — users, access keys, user
    /// policies and resources — in one transaction. The audit log is kept.
    /// [`StoreError::NotFound`] if there is no such account.
    pub async fn delete_account(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.delete_account(id).await?;
        tx.commit().await
    }
}

/// Children first, so the order is valid with or without foreign keys.
pub(crate) const DELETE_ACCOUNT: [&str; 5] = [
    "DELETE FROM resources WHERE account_id = $1",
    "DELETE FROM iam_user_policies WHERE account_id = $1",
    "DELETE FROM iam_access_keys WHERE account_id = $1",
    "DELETE FROM iam_users WHERE account_id = $1",
    "DELETE FROM accounts WHERE id = $1",
];

pub(crate) async fn delete_account_in(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<(), StoreError> {
    let mut last = 0;
    for sql in DELETE_ACCOUNT {
        last = sqlx::query(sql)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    match last {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}
