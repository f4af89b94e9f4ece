//! Inline user policies: `PutUserPolicy`, `GetUserPolicy`,
//! `ListUserPolicies`, `DeleteUserPolicy`. Documents are validated by the
//! policy engine before they are stored, so every stored policy evaluates.

use nubo_core::{AccountId, Error};
use nubo_store::{StoreError, UserPolicyRow};

use crate::policy::PolicyDocument;
use crate::users::no_such_user;
use crate::IamService;

/// AWS's limit on the total size of one user's inline policies.
pub const MAX_INLINE_POLICY_BYTES: usize = 2048;

fn validate_policy_name(name: &str) -> Result<(), Error> {
    let ok = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "1 validation error detected: Value '{name}' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )))
    }
}

fn no_such_policy(user: &str, name: &str) -> Error {
    Error::not_found(
        "NoSuchEntity",
        format!("The user policy with name {name} cannot be found for user {user}."),
    )
}

fn non_whitespace_len(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

impl IamService {
    /// Creates or replaces an inline policy. The size check over the user's
    /// other policies and the write share one transaction, so concurrent puts
    /// cannot together exceed [`MAX_INLINE_POLICY_BYTES`].
    pub async fn put_user_policy(
        &self,
        account: &AccountId,
        user: &str,
        name: &str,
        document: &str,
    ) -> Result<(), Error> {
        validate_policy_name(name)?;
        let row = UserPolicyRow {
            account_id: account.to_string(),
            user_name: user.to_string(),
            policy_name: name.to_string(),
            document: document.to_string(),
        };
        self.store
            .transaction(|tx| {
                let row = row.clone();
                Box::pin(async move {
                    let (account_id, user) = (row.account_id.as_str(), row.user_name.as_str());
                    if tx.get_user(account_id, user).await?.is_none() {
                        return Err(no_such_user(user));
                    }
                    // Checked after the user, as before, so a missing user wins.
                    PolicyDocument::parse(&row.document)?;
                    let others: usize = tx
                        .list_user_policies(account_id, user)
                        .await?
                        .iter()
                        .filter(|p| p.policy_name != row.policy_name)
                        .map(|p| non_whitespace_len(&p.document))
                        .sum();
                    if others + non_whitespace_len(&row.document) > MAX_INLINE_POLICY_BYTES {
                        return Err(Error::LimitExceeded {
                            code: "LimitExceeded",
                            message: format!(
                                "Maximum policy size of {MAX_INLINE_POLICY_BYTES} bytes exceeded for user {user}"
                            ),
                        });
                    }
                    tx.put_user_policy(&row).await.map_err(|e| match e {
                        StoreError::NotFound => no_such_user(user),
                        other => other.into(),
                    })
                })
            })
            .await
    }

    pub async fn get_user_policy(
        &self,
        account: &AccountId,
        user: &str,
        name: &str,
    ) -> Result<UserPolicyRow, Error> {
        self.get_user(account, user).await?;
        self.store
            .get_user_policy(account.as_str(), user, name)
            .await?
            .ok_or_else(|| no_such_policy(user, name))
    }

    pub async fn list_user_policies(
        &self,
        account: &AccountId,
        user: &str,
    ) -> Result<Vec<String>, Error> {
        self.get_user(account, user).await?;
        let rows = self
            .store
            .list_user_policies(account.as_str(), user)
            .await?;
        Ok(rows.into_iter().map(|p| p.policy_name).collect())
    }

    pub async fn delete_user_policy(
        &self,
        account: &AccountId,
        user: &str,
        name: &str,
    ) -> Result<(), Error> {
        self.get_user(account, user).await?;
        self.store
            .delete_user_policy(account.as_str(), user, name)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => no_such_policy(user, name),
                other => other.into(),
            })
    }
}
