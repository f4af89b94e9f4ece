//! Domain vocabulary shared by every Nubo crate: the one domain [`Error`], typed
//! resource identifiers, accounts and principals, IPv4 CIDR blocks, tags and the
//! generic filter/pagination machinery used by every `Describe*` action.
//!
//! This crate does no IO. Everything above it (store, services, API) speaks these
//! types; the API edge maps [`Error`] to AWS wire codes in exactly one place.

pub mod cidr;
pub mod error;
pub mod filter;
pub mod id;
pub mod principal;
pub mod tag;

pub use cidr::Ipv4Cidr;
pub use error::{Error, Result};
pub use id::{AccountId, ResourceId, ResourceKind, SYSTEM_ACCOUNT_ID};
pub use principal::Principal;
pub use tag::{Tag, TagSet};
