//! The authenticated caller of a request.

use serde::{Deserialize, Serialize};

use crate::AccountId;

/// Who signed the request: an account's root identity or one of its IAM users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub account_id: AccountId,
    /// `None` for the account's root credentials.
    pub user_name: Option<String>,
    /// The IAM user's unique ID (`AIDA…`), or the account ID for root.
    pub user_id: String,
    /// `arn:aws:iam::123456789012:root` or `arn:aws:iam::123456789012:user/path/name`.
    pub arn: String,
    /// The access key ID that signed the request.
    pub access_key_id: String,
}

impl Principal {
    pub fn is_root(&self) -> bool {
        self.user_name.is_none()
    }
}
