//! Access keys of IAM users and of the account root: create (the secret is
//! returned once), list, activate/deactivate, delete. Two keys per identity.

use chrono::Utc;
use nubo_core::{AccountId, Error};
use nubo_store::{AccessKeyRow, StoreError};

use crate::credentials::{new_access_key_id, new_secret_access_key};
use crate::users::{no_such_account, no_such_user};
use crate::IamService;

/// AWS's quota of access keys per user.
pub const MAX_KEYS_PER_USER: usize = 2;

/// A key as `CreateAccessKey` returns it, secret included.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub row: AccessKeyRow,
    pub secret_access_key: String,
}

fn no_such_key(id: &str) -> Error {
    Error::not_found(
        "NoSuchEntity",
        format!("The Access Key with id {id} cannot be found."),
    )
}

/// Parses an access key status (`Active` / `Inactive`).
pub fn parse_status(status: &str) -> Result<&'static str, Error> {
    match status {
        "Active" => Ok("Active"),
        "Inactive" => Ok("Inactive"),
        other => Err(Error::Validation(format!(
            "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
        ))),
    }
}

impl IamService {
    /// Creates a key for `user` (`None` = the account root). The quota check
    /// and the insert share one transaction, so concurrent calls (through any
    /// replica) cannot exceed [`MAX_KEYS_PER_USER`] between them.
    pub async fn create_access_key(
        &self,
        account: &AccountId,
        user: Option<&str>,
    ) -> Result<CreatedKey, Error> {
        let secret = new_secret_access_key();
        let row = AccessKeyRow {
            access_key_id: new_access_key_id(),
            account_id: account.to_string(),
            user_name: user.map(str::to_string),
            secret_ciphertext: self.secrets.seal(&secret)?,
            status: "Active".into(),
            created_at: Utc::now(),
        };
        self.store
            .transaction(|tx| {
                // Each attempt owns its copy: the future may outlive this call of the closure.
                let row = row.clone();
                Box::pin(async move {
                    let (account_id, user) = (row.account_id.as_str(), row.user_name.as_deref());
                    if let Some(name) = user {
                        if tx.get_user(account_id, name).await?.is_none() {
                            return Err(no_such_user(name));
                        }
                    }
                    if tx.list_access_keys(account_id, user).await?.len() >= MAX_KEYS_PER_USER {
                        return Err(Error::LimitExceeded {
                            code: "LimitExceeded",
                            message: format!(
                                "Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
                            ),
                        });
                    }
                    // The owner was read above, so this is a concurrent delete
                    // (a foreign-key violation, which the store reports as NotFound).
                    tx.create_access_key(&row).await.map_err(|e| match e {
                        StoreError::NotFound => match user {
                            Some(name) => no_such_user(name),
                            None => no_such_account(account_id),
                        },
                        other => other.into(),
                    })
                })
            })
            .await?;
        Ok(CreatedKey {
            row,
            secret_access_key: secret,
        })
    }

    pub async fn list_access_keys(
        &self,
        account: &AccountId,
        user: Option<&str>,
    ) -> Result<Vec<AccessKeyRow>, Error> {
        if let Some(name) = user {
            self.get_user(account, name).await?;
        }
        Ok(self.store.list_access_keys(account.as_str(), user).await?)
    }

    /// The key `id` if it belongs to `user` in `account`.
    async fn owned_key(
        &self,
        account: &AccountId,
        user: Option<&str>,
        id: &str,
    ) -> Result<AccessKeyRow, Error> {
        if let Some(name) = user {
            if self.store.get_user(account.as_str(), name).await?.is_none() {
                return Err(no_such_user(name));
            }
        }
        match self.store.get_access_key(id).await? {
            Some(k) if k.account_id == account.as_str() && k.user_name.as_deref() == user => Ok(k),
            _ => Err(no_such_key(id)),
        }
    }

    pub async fn update_access_key(
        &self,
        account: &AccountId,
        user: Option<&str>,
        id: &str,
        status: &str,
    ) -> Result<(), Error> {
        let status = parse_status(status)?;
        self.owned_key(account, user, id).await?;
        self.store
            .set_access_key_status(account.as_str(), id, status)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => no_such_key(id),
                other => other.into(),
            })
    }

    pub async fn delete_access_key(
        &self,
        account: &AccountId,
        user: Option<&str>,
        id: &str,
    ) -> Result<(), Error> {
        self.owned_key(account, user, id).await?;
        self.store
            .delete_access_key(account.as_str(), id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => no_such_key(id),
                other => other.into(),
            })
    }
}
