//! Accounts are tenants. Each is created with root credentials (an access key
//! with no user), which may do everything within the account.

use chrono::Utc;
use nubo_core::{AccountId, Error};
use nubo_store::{AccessKeyRow, AccountRow, StoreError};

use crate::credentials::{
    new_access_key_id, new_secret_access_key, validate_access_key_id, validate_secret_access_key,
};
use crate::IamService;

/// A freshly created account and its root access key (the only time the secret is shown).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub account: AccountRow,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Identity to give an account instead of generating one (automation, CI).
#[derive(Debug, Clone, Default)]
pub struct FixedIdentity {
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

fn validate_account_name(name: &str) -> Result<(), Error> {
    let ok = (1..=50).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid account name '{name}': use 1 to 50 letters, digits, '-', '_' or '.'"
        )))
    }
}

impl IamService {
    /// Creates an account with root credentials, generated or fixed.
    pub async fn create_account(
        &self,
        name: &str,
        fixed: &FixedIdentity,
    ) -> Result<NewAccount, Error> {
        validate_account_name(name)?;
        let id = match &fixed.account_id {
            Some(id) => AccountId::parse(id)?,
            None => AccountId::generate(),
        };
        if id.as_str() == nubo_core::SYSTEM_ACCOUNT_ID {
            return Err(Error::invalid(format!(
                "Invalid account ID '{id}': it is reserved for the installation's own images"
            )));
        }
        let access_key_id = fixed
            .access_key_id
            .clone()
            .unwrap_or_else(new_access_key_id);
        let secret_access_key = fixed
            .secret_access_key
            .clone()
            .unwrap_or_else(new_secret_access_key);
        validate_access_key_id(&access_key_id)?;
        validate_secret_access_key(&secret_access_key)?;
        let now = Utc::now();
        let account = AccountRow {
            id: id.to_string(),
            name: name.to_string(),
            created_at: now,
        };
        self.store
            .create_account(&account)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists => Error::AlreadyExists {
                    code: "EntityAlreadyExists",
                    message: format!("An account named '{name}' or with ID {id} already exists"),
                },
                other => other.into(),
            })?;
        let key = AccessKeyRow {
            access_key_id: access_key_id.clone(),
            account_id: account.id.clone(),
            user_name: None,
            secret_ciphertext: self.secrets.seal(&secret_access_key)?,
            status: "Active".into(),
            created_at: now,
        };
        if let Err(e) = self.store.create_access_key(&key).await {
            // Leave nothing half-made: an account without credentials is useless.
            let _ = self.store.delete_account(&account.id).await;
            return Err(match e {
                StoreError::AlreadyExists => Error::AlreadyExists {
                    code: "EntityAlreadyExists",
                    message: format!("The access key ID {access_key_id} is already in use"),
                },
                other => other.into(),
            });
        }
        Ok(NewAccount {
            account,
            access_key_id,
            secret_access_key,
        })
    }

    pub async fn list_accounts(&self) -> Result<Vec<AccountRow>, Error> {
        Ok(self.store.list_accounts().await?)
    }

    /// Deletes an account and everything it owns.
    pub async fn delete_account(&self, id: &str) -> Result<(), Error> {
        self.store.delete_account(id).await.map_err(|e| match e {
            StoreError::NotFound => {
                Error::not_found("NoSuchEntity", format!("The account {id} does not exist"))
            }
            other => other.into(),
        })
    }

    /// On first start: creates the administrator account unless any account exists.
    pub async fn bootstrap_admin(
        &self,
        name: &str,
        fixed: &FixedIdentity,
    ) -> Result<Option<NewAccount>, Error> {
        if !self.store.list_accounts().await?.is_empty() {
            return Ok(None);
        }
        match self.create_account(name, fixed).await {
            Ok(created) => Ok(Some(created)),
            // Another replica starting on the same database got there first.
            Err(e @ Error::AlreadyExists { .. }) => {
                if self.store.list_accounts().await?.is_empty() {
                    Err(e)
                } else {
                    Ok(None)
                }
            }
            Err(e) => Err(e),
        }
    }
}
