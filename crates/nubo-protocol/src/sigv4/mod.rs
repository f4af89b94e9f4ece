//! AWS Signature Version 4: checking that a request was signed by the holder
//! of a secret access key (and signing requests, for tests and tools).
//!
//! The API edge calls [`parse_auth`] on every request to learn who claims to
//! have signed it, looks the access key up, then calls [`verify`] with the
//! secret and the current time. Nothing here does IO or knows about HTTP
//! libraries: requests arrive as an [`HttpRequest`] of borrowed parts.
//!
//! Invariant: [`verify`] returns `Ok` only when the signature covers the
//! method, path, query string, every signed header and the body — in presigned
//! mode the body may be left unsigned only when it is empty, because the Query
//! protocol merges body parameters over URL ones.
//!
//! The canonical request follows botocore's `SigV4Auth` (non-S3 services):
//! the raw, already percent-encoded path is normalized and encoded once more.

mod canonical;
mod parse;
mod sign;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_prop;

use chrono::{DateTime, Utc};

pub use parse::parse_auth;
pub use sign::{presign, sign, verify};

/// The only algorithm SigV4 defines.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash a signer uses when it does not sign the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far a header-signed request's date may be from the server's clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;
/// The longest lifetime of a presigned URL (one week).
pub const MAX_PRESIGNED_EXPIRES_SECS: u64 = 604_800;

/// The parts of an HTTP request that SigV4 covers.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// The path as received, still percent-encoded.
    pub path: &'a str,
    /// The raw query string, without the `?`.
    pub query: &'a str,
    /// Headers as received; names in any case, repeats allowed.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Where the signature travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// In the `Authorization` header.
    Header,
    /// In `X-Amz-*` query parameters (a presigned URL) valid for `expires_secs`.
    Presigned { expires_secs: u64 },
}

/// The credential scope `AKID/yyyymmdd/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    /// `yyyymmdd`.
    pub date: String,
    pub region: String,
    pub service: String,
}

/// What a request claims about its signature, before it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthInfo {
    pub credential: Credential,
    /// Lower-case header names, in the order the signer listed them.
    pub signed_headers: Vec<String>,
    pub signature: String,
    pub amz_date: DateTime<Utc>,
    pub mode: AuthMode,
    /// `X-Amz-Security-Token` (header or query), sent with temporary
    /// credentials; verifying it is the caller's job.
    pub security_token: Option<String>,
}

/// The values of every header called `name` (ASCII case-insensitive), in order.
fn header_values<'a: 'n, 'n>(
    headers: &'a [(String, String)],
    name: &'n str,
) -> impl Iterator<Item = &'a str> + 'n {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `yyyymmddThhmmssZ`, the form SigV4 signs.
fn format_amz_date(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}
