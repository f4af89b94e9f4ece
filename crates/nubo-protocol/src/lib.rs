//! The AWS wire protocols at Nubo's edge, free of HTTP-server concerns:
//! Signature Version 4 verification ([`sigv4`]), the Query protocol's
//! parameter notation ([`query`]) and response XML ([`xml`]).
//!
//! Everything here parses untrusted input and is property-tested; nothing here
//! knows about accounts, the store or services.

pub mod query;
pub mod sigv4;
pub mod xml;
