//! EC2 key pairs: `CreateKeyPair`, `ImportKeyPair`, `DescribeKeyPairs`,
//! `DeleteKeyPair`.
//!
//! A key pair is a top-level row holding only the public half (an OpenSSH
//! line) and AWS's fingerprint; a created pair's private key is returned once
//! and never stored. Key names are unique per account and region: a marker
//! row keyed by the name (see [`ops`]) makes two racing creates of one name
//! collide on its primary key, so one of them re-runs and finds the other.

pub mod material;
mod ops;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, Error, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;
pub use material::KeyType;

/// A key pair as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPair {
    pub id: ResourceId,
    pub owner_id: AccountId,
    pub name: String,
    pub key_type: KeyType,
    /// The public key, one OpenSSH line (`ssh-ed25519 AAAA…`).
    pub public_key: String,
    pub fingerprint: String,
    /// ISO 8601 with milliseconds, as `createTime` is rendered.
    pub create_time: String,
    #[serde(default)]
    pub tags: TagSet,
}

/// What `CreateKeyPair` answers: the pair and, once, its private key.
#[derive(Debug)]
pub struct CreatedKeyPair {
    pub key_pair: KeyPair,
    pub key_material: String,
}

/// `KeyFormat` of `CreateKeyPair`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    Pem,
    Ppk,
}

impl KeyFormat {
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "pem" => Ok(KeyFormat::Pem),
            "ppk" => Ok(KeyFormat::Ppk),
            other => Err(Error::invalid(format!(
                "Value ({other}) for parameter keyFormat is invalid. Valid values: pem, ppk"
            ))),
        }
    }
}

/// A key pair named in a request: by name or by ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPairRef {
    Name(String),
    Id(ResourceId),
}

impl Resource for KeyPair {
    const KIND: ResourceKind = ResourceKind::KeyPair;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for KeyPair {
    const FILTERS: &'static [&'static str] =
        &["key-pair-id", "key-name", "fingerprint", "key-type"];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "key-pair-id" => vec![self.id.to_string()],
            "key-name" => vec![self.name.clone()],
            "fingerprint" => vec![self.fingerprint.clone()],
            "key-type" => vec![self.key_type.as_str().to_string()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// Parses a key pair ID parameter.
pub fn parse_key_pair_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(text, ResourceKind::KeyPair, "InvalidKeyPair.Malformed")
}

/// AWS's rule for key names: 1–255 ASCII characters.
pub fn check_key_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::MissingParameter("KeyName".into()));
    }
    if name.len() > 255 || !name.is_ascii() {
        return Err(Error::invalid(format!(
            "Value ({name}) for parameter keyName is invalid. Key names must be 1 to 255 ASCII characters."
        )));
    }
    Ok(())
}

/// The NotFound error for a key name.
pub fn name_not_found(name: &str) -> Error {
    Error::not_found(
        "InvalidKeyPair.NotFound",
        format!("The key pair '{name}' does not exist"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_ascii_and_bounded() {
        assert!(check_key_name("my-key").is_ok());
        assert!(check_key_name(&"k".repeat(255)).is_ok());
        assert!(matches!(
            check_key_name(""),
            Err(Error::MissingParameter(_))
        ));
        assert!(check_key_name(&"k".repeat(256)).is_err());
        assert!(check_key_name("clé").is_err());
    }

    #[test]
    fn key_pair_ids_parse() {
        assert!(parse_key_pair_id("key-0123456789abcdef0").is_ok());
        match parse_key_pair_id("vpc-0123456789abcdef0") {
            Err(Error::Client { code, .. }) => assert_eq!(code, "InvalidKeyPair.Malformed"),
            other => panic!("{other:?}"),
        }
        assert!(KeyFormat::parse("ppk").is_ok() && KeyFormat::parse("der").is_err());
    }
}
