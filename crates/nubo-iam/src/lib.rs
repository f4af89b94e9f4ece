//! Identity: accounts (tenants), IAM users, access keys, inline user policies,
//! request authentication support and policy-based authorization.
//!
//! The API edge calls [`IamService::authenticate`] with the access key ID of a
//! signed request to learn the caller and the secret to check the signature
//! with, then [`IamService::authorize`] before any action runs. Secret keys are
//! stored sealed with the installation's master key ([`secrets`]).

pub mod accounts;
pub mod authz;
pub mod credentials;
pub mod keys;
pub mod policy;
pub mod secrets;
pub mod user_policies;
pub mod users;

use nubo_store::Store;
use std::sync::Arc;

pub use accounts::NewAccount;
pub use secrets::SecretBox;

/// The IAM/STS application service.
#[derive(Clone)]
pub struct IamService {
    pub(crate) store: Store,
    pub(crate) secrets: Arc<SecretBox>,
}

impl IamService {
    pub fn new(store: Store, secrets: SecretBox) -> Self {
        IamService {
            store,
            secrets: Arc::new(secrets),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
