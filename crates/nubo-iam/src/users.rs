//! IAM users: `CreateUser`, `GetUser`, `ListUsers`, `DeleteUser`, with IAM's
//! name and path rules.

use chrono::Utc;
use nubo_core::{AccountId, Error};
use nubo_store::{StoreError, UserRow};

use crate::credentials::new_user_id;
use crate::IamService;

/// Validates an IAM user name: 1–64 of letters, digits and `+=,.@_-`.
pub fn validate_user_name(name: &str) -> Result<(), Error> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "1 validation error detected: Value '{name}' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and 64"
        )))
    }
}

/// Validates an IAM path: `/` or `/segments/`, at most 512 characters.
pub fn validate_path(path: &str) -> Result<(), Error> {
    let ok = (1..=512).contains(&path.len())
        && path.starts_with('/')
        && path.ends_with('/')
        && path.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters: '{path}'"
        )))
    }
}

pub(crate) fn no_such_user(name: &str) -> Error {
    Error::not_found(
        "NoSuchEntity",
        format!("The user with name {name} cannot be found."),
    )
}

/// The caller's account was deleted while its request ran.
pub(crate) fn no_such_account(id: &str) -> Error {
    Error::not_found("NoSuchEntity", format!("The account {id} does not exist"))
}

impl IamService {
    pub async fn create_user(
        &self,
        account: &AccountId,
        name: &str,
        path: Option<&str>,
    ) -> Result<UserRow, Error> {
        validate_user_name(name)?;
        let path = path.unwrap_or("/");
        validate_path(path)?;
        let user = UserRow {
            account_id: account.to_string(),
            name: name.to_string(),
            user_id: new_user_id(),
            path: path.to_string(),
            arn: format!("arn:aws:iam::{account}:user{path}{name}"),
            created_at: Utc::now(),
        };
        self.store.create_user(&user).await.map_err(|e| match e {
            StoreError::AlreadyExists => Error::AlreadyExists {
                code: "EntityAlreadyExists",
                message: format!("User with name {name} already exists."),
            },
            StoreError::NotFound => no_such_account(account.as_str()),
            other => other.into(),
        })?;
        Ok(user)
    }

    pub async fn get_user(&self, account: &AccountId, name: &str) -> Result<UserRow, Error> {
        self.store
            .get_user(account.as_str(), name)
            .await?
            .ok_or_else(|| no_such_user(name))
    }

    pub async fn list_users(
        &self,
        account: &AccountId,
        path_prefix: Option<&str>,
    ) -> Result<Vec<UserRow>, Error> {
        Ok(self.store.list_users(account.as_str(), path_prefix).await?)
    }

    /// Deletes a user that has no access keys and no inline policies left.
    /// The check and the delete share one transaction: a key or policy added
    /// concurrently makes this fail with DeleteConflict rather than vanish
    /// with the user.
    pub async fn delete_user(&self, account: &AccountId, name: &str) -> Result<(), Error> {
        self.store
            .transaction(|tx| {
                let (account_id, name) = (account.to_string(), name.to_string());
                Box::pin(async move {
                    if tx.get_user(&account_id, &name).await?.is_none() {
                        return Err(no_such_user(&name));
                    }
                    let keys = tx.list_access_keys(&account_id, Some(&name)).await?;
                    let policies = tx.list_user_policies(&account_id, &name).await?;
                    if !keys.is_empty() || !policies.is_empty() {
                        return Err(Error::DependencyViolation(
                            "Cannot delete entity, must delete policies and access keys first."
                                .into(),
                        ));
                    }
                    tx.delete_user(&account_id, &name)
                        .await
                        .map_err(|e| match e {
                            StoreError::NotFound => no_such_user(&name),
                            other => other.into(),
                        })
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert!(validate_user_name("alice+ops@example.com").is_ok());
        assert!(validate_user_name("").is_err());
        assert!(validate_user_name("bad name").is_err());
        assert!(validate_user_name(&"a".repeat(65)).is_err());
        assert!(validate_path("/").is_ok());
        assert!(validate_path("/division/team/").is_ok());
        assert!(validate_path("division/").is_err());
        assert!(validate_path("/division").is_err());
    }
}
