//! Computing and checking signatures: the signing-key chain, the freshness
//! rules, the payload hash to use, and [`sign`]/[`presign`] for clients.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use nubo_core::Error;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::canonical::{canonical_request, encode, sha256_hex, string_to_sign, SIGNATURE_PARAM};
use super::parse::check_claims;
use super::{
    format_amz_date, header_values, AuthInfo, AuthMode, Credential, HttpRequest, ALGORITHM,
    MAX_CLOCK_SKEW_SECS, UNSIGNED_PAYLOAD,
};

const MISMATCH: &str = "The request signature we calculated does not match the signature you \
    provided. Check your AWS Secret Access Key and signing method. Consult the service \
    documentation for details.";

/// Checks `auth` (from [`super::parse_auth`]) against the request, the secret
/// of `auth.credential.access_key_id` and the server's clock. Checking that
/// the scope's region and service are this server's is left to the caller.
pub fn verify(
    req: &HttpRequest,
    auth: &AuthInfo,
    secret_access_key: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    check_claims(auth)?;
    check_freshness(auth, now)?;
    let presigned = matches!(auth.mode, AuthMode::Presigned { .. });
    let amz_date = format_amz_date(auth.amz_date);
    let key = signing_key(secret_access_key, &auth.credential);
    for payload_hash in payload_hashes(req, auth.mode)? {
        let canonical = canonical_request(req, &auth.signed_headers, &payload_hash, presigned);
        let to_sign = string_to_sign(&amz_date, &scope(&auth.credential), &canonical);
        let expected = hex::encode(hmac(&key, to_sign.as_bytes()));
        if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
            return Ok(());
        }
    }
    Err(Error::SignatureDoesNotMatch(MISMATCH.to_string()))
}

/// Signs `req` in header mode and returns the `Authorization` header value.
/// Signs `host`, `x-amz-date` and, when present, `content-type`; the caller
/// must already have put `x-amz-date` (= `at`) and `host` in the headers.
pub fn sign(
    req: &HttpRequest,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    at: DateTime<Utc>,
) -> String {
    let credential = credential(access_key_id, region, service, at);
    let signed_headers: Vec<String> = ["content-type", "host", "x-amz-date"]
        .into_iter()
        .filter(|name| *name != "content-type" || header_values(req.headers, name).next().is_some())
        .map(str::to_string)
        .collect();
    let payload_hash = header_values(req.headers, "x-amz-content-sha256")
        .next()
        .map_or_else(|| sha256_hex(req.body), str::to_string);
    let canonical = canonical_request(req, &signed_headers, &payload_hash, false);
    let signature = signature(secret, &credential, at, &canonical);
    format!(
        "{ALGORITHM} Credential={access_key_id}/{}, SignedHeaders={}, Signature={signature}",
        scope(&credential),
        signed_headers.join(";"),
    )
}

/// Presigns `req` (signing only `host`, and the body's SHA-256) for
/// `expires_secs` and returns the query string to send in place of
/// `req.query`: the original parameters followed by the `X-Amz-*` ones.
pub fn presign(
    req: &HttpRequest,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    at: DateTime<Utc>,
    expires_secs: u64,
) -> String {
    let credential = credential(access_key_id, region, service, at);
    let auth_params = [
        ("X-Amz-Algorithm", ALGORITHM.to_string()),
        (
            "X-Amz-Credential",
            format!("{access_key_id}/{}", scope(&credential)),
        ),
        ("X-Amz-Date", format_amz_date(at)),
        ("X-Amz-Expires", expires_secs.to_string()),
        ("X-Amz-SignedHeaders", "host".to_string()),
    ];
    let mut query = req.query.to_string();
    for (name, value) in auth_params {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("{name}={}", encode(value.as_bytes())));
    }
    let unsigned = HttpRequest {
        query: &query,
        ..*req
    };
    let canonical = canonical_request(
        &unsigned,
        &["host".to_string()],
        &sha256_hex(req.body),
        true,
    );
    let signature = signature(secret, &credential, at, &canonical);
    format!("{query}&{SIGNATURE_PARAM}={signature}")
}

/// Header mode allows 15 minutes of clock skew either way; a presigned URL is
/// good from its date (give or take the same skew) until it expires.
fn check_freshness(auth: &AuthInfo, now: DateTime<Utc>) -> Result<(), Error> {
    let skew = Duration::seconds(MAX_CLOCK_SKEW_SECS);
    let signed = auth.amz_date;
    if signed > now + skew {
        return Err(Error::RequestExpired(format!(
            "Request is not yet valid. Timestamp date is {} but the server time is {}, more than \
             15 minutes earlier.",
            format_amz_date(signed),
            format_amz_date(now)
        )));
    }
    let (deadline, allowance) = match auth.mode {
        AuthMode::Header => (signed + skew, "15 minutes".to_string()),
        AuthMode::Presigned { expires_secs } => {
            let secs = i64::try_from(expires_secs).unwrap_or(i64::MAX);
            let deadline = Duration::try_seconds(secs)
                .and_then(|d| signed.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            (deadline, format!("{expires_secs} seconds"))
        }
    };
    if now > deadline {
        return Err(Error::RequestExpired(format!(
            "Request has expired. Timestamp date is {} and the server time is {}, more than {} \
             later.",
            format_amz_date(signed),
            format_amz_date(now),
            allowance
        )));
    }
    Ok(())
}

/// The payload hashes a genuine signer could have used, to try in turn.
///
/// Header mode: the `x-amz-content-sha256` header when present — which must
/// then be the body's hash (or `UNSIGNED-PAYLOAD` for an empty body), or the
/// body would go unauthenticated — else the body's hash.
///
/// Presigned: `UNSIGNED-PAYLOAD` (S3-style presigners) or the body's hash
/// (botocore's for other services). An unsigned payload is accepted only for
/// an empty body: the Query protocol merges body parameters over the URL's,
/// so an unsigned body would let anyone holding the URL rewrite the call.
fn payload_hashes(req: &HttpRequest, mode: AuthMode) -> Result<Vec<String>, Error> {
    let body_hash = sha256_hex(req.body);
    match mode {
        AuthMode::Presigned { .. } if req.body.is_empty() => {
            Ok(vec![UNSIGNED_PAYLOAD.to_string(), body_hash])
        }
        AuthMode::Presigned { .. } => Ok(vec![body_hash]),
        AuthMode::Header => {
            let mut claimed = header_values(req.headers, "x-amz-content-sha256");
            match (claimed.next(), claimed.next()) {
                (None, _) => Ok(vec![body_hash]),
                (Some(claim), None)
                    if claim.eq_ignore_ascii_case(&body_hash)
                        || (claim == UNSIGNED_PAYLOAD && req.body.is_empty()) =>
                {
                    Ok(vec![claim.to_string()])
                }
                _ => Err(Error::SignatureDoesNotMatch(
                    "The provided 'x-amz-content-sha256' header does not match what was computed."
                        .to_string(),
                )),
            }
        }
    }
}

fn credential(access_key_id: &str, region: &str, service: &str, at: DateTime<Utc>) -> Credential {
    Credential {
        access_key_id: access_key_id.to_string(),
        date: at.format("%Y%m%d").to_string(),
        region: region.to_string(),
        service: service.to_string(),
    }
}

/// `yyyymmdd/region/service/aws4_request`.
fn scope(credential: &Credential) -> String {
    format!(
        "{}/{}/{}/aws4_request",
        credential.date, credential.region, credential.service
    )
}

fn signature(secret: &str, credential: &Credential, at: DateTime<Utc>, canonical: &str) -> String {
    let to_sign = string_to_sign(&format_amz_date(at), &scope(credential), canonical);
    hex::encode(hmac(&signing_key(secret, credential), to_sign.as_bytes()))
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn signing_key(secret: &str, credential: &Credential) -> [u8; 32] {
    let k_date = hmac(
        format!("AWS4{secret}").as_bytes(),
        credential.date.as_bytes(),
    );
    let k_region = hmac(&k_date, credential.region.as_bytes());
    let k_service = hmac(&k_region, credential.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC is defined for keys of every length, so construction cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC-SHA256 accepts keys of any length")
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}
