//! Reading a request's SigV4 claims — the `Authorization` header or a
//! presigned URL's `X-Amz-*` parameters — into an [`AuthInfo`], with AWS's
//! `IncompleteSignature` messages for anything malformed.

use chrono::{DateTime, NaiveDate, Utc};
use nubo_core::Error;

use super::canonical::decode;
use super::{
    format_amz_date, header_values, AuthInfo, AuthMode, Credential, HttpRequest, ALGORITHM,
    MAX_PRESIGNED_EXPIRES_SECS,
};

const SECURITY_TOKEN: &str = "X-Amz-Security-Token";

/// The request's SigV4 claims; `Ok(None)` when it carries no SigV4 auth at all
/// (no `Authorization` header and no `X-Amz-Algorithm` query parameter).
pub fn parse_auth(req: &HttpRequest) -> Result<Option<AuthInfo>, Error> {
    let mut authorization = header_values(req.headers, "authorization");
    let header = authorization.next();
    if authorization.next().is_some() {
        return Err(incomplete(
            "Only one Authorization header may be specified.",
        ));
    }
    let query = amz_query_params(req.query);
    let presigned = query.iter().any(|(k, _)| k == "X-Amz-Algorithm");
    let info = match (header, presigned) {
        (None, false) => return Ok(None),
        (Some(_), true) => {
            return Err(incomplete(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter \
                 or the Authorization header should be specified.",
            ))
        }
        (Some(value), false) => parse_header(req, value)?,
        (None, true) => parse_presigned(&query)?,
    };
    check_claims(&info)?;
    Ok(Some(info))
}

/// Rules every claim must meet, whoever built the [`AuthInfo`].
pub(super) fn check_claims(info: &AuthInfo) -> Result<(), Error> {
    if !info.signed_headers.iter().any(|h| h == "host") {
        return Err(incomplete("'Host' must be a signed header."));
    }
    let day = info.amz_date.format("%Y%m%d").to_string();
    if info.credential.date != day {
        return Err(incomplete(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{}' != '{day}'.",
            info.credential.date
        )));
    }
    Ok(())
}

fn parse_header(req: &HttpRequest, value: &str) -> Result<AuthInfo, Error> {
    let trimmed = value.trim();
    let (algorithm, rest) = trimmed
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((trimmed, ""));
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'. Authorization={value}"
        )));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, val)) = part.split_once('=') else {
            return Err(incomplete(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization \
                 header: '{value}'."
            )));
        };
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            other => {
                return Err(incomplete(format!(
                    "Unknown parameter '{other}' in Authorization header: '{value}'."
                )))
            }
        };
        if slot.replace(val.trim()).is_some() {
            return Err(incomplete(format!(
                "Parameter '{}' appears more than once in Authorization header: '{value}'.",
                key.trim()
            )));
        }
    }
    let date = request_date(req)?;

    let mut missing = String::new();
    for (name, part) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ] {
        if !matches!(part, Some(p) if !p.is_empty()) {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some(amz_date), true) = (
        credential,
        signed_headers,
        signature,
        date,
        missing.is_empty(),
    ) else {
        return Err(incomplete(format!("{missing}Authorization={value}")));
    };
    Ok(AuthInfo {
        credential: parse_credential(credential)?,
        signed_headers: parse_signed_headers(signed_headers)?,
        signature: signature.to_string(),
        amz_date,
        mode: AuthMode::Header,
        security_token: single_header(req, SECURITY_TOKEN)?.map(str::to_string),
    })
}

/// `X-Amz-Date`, else `Date` (RFC 1123); `None` when neither is present.
fn request_date(req: &HttpRequest) -> Result<Option<DateTime<Utc>>, Error> {
    if let Some(value) = single_header(req, "x-amz-date")? {
        return parse_amz_date(value).map(Some);
    }
    match single_header(req, "date")? {
        Some(value) => DateTime::parse_from_rfc2822(value)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| incomplete(format!("Invalid date in the Date header: '{value}'."))),
        None => Ok(None),
    }
}

/// The header's only value; a repeated header is ambiguous and refused.
fn single_header<'a>(req: &HttpRequest<'a>, name: &str) -> Result<Option<&'a str>, Error> {
    let mut values = header_values(req.headers, name);
    let first = values.next();
    if values.next().is_some() {
        return Err(incomplete(format!(
            "The {name} header may be specified only once."
        )));
    }
    Ok(first)
}

fn parse_presigned(query: &[(String, String)]) -> Result<AuthInfo, Error> {
    let get = |name: &str| -> Result<&str, Error> {
        let mut values = query.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(v), None) => Ok(v.as_str()),
            (Some(_), Some(_)) => Err(incomplete(format!(
                "The query-string parameter {name} may be specified only once."
            ))),
            (None, _) => Err(incomplete(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, \
                 X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and \
                 X-Amz-Expires parameters.",
            )),
        }
    };
    let algorithm = get("X-Amz-Algorithm")?;
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\", not \"{algorithm}\"."
        )));
    }
    let expires = get("X-Amz-Expires")?;
    let expires_secs = match expires.parse::<u64>() {
        Ok(n) if expires.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return Err(incomplete("X-Amz-Expires should be a number.")),
    };
    if !(1..=MAX_PRESIGNED_EXPIRES_SECS).contains(&expires_secs) {
        return Err(incomplete(format!(
            "X-Amz-Expires must be between 1 and {MAX_PRESIGNED_EXPIRES_SECS} seconds (one week)."
        )));
    }
    let token = match query.iter().any(|(k, _)| k == SECURITY_TOKEN) {
        true => Some(get(SECURITY_TOKEN)?.to_string()),
        false => None,
    };
    Ok(AuthInfo {
        credential: parse_credential(get("X-Amz-Credential")?)?,
        signed_headers: parse_signed_headers(get("X-Amz-SignedHeaders")?)?,
        signature: get("X-Amz-Signature")?.to_string(),
        amz_date: parse_amz_date(get("X-Amz-Date")?)?,
        mode: AuthMode::Presigned { expires_secs },
        security_token: token,
    })
}

/// The decoded `X-Amz-*` query parameters (nothing else is needed here).
fn amz_query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = String::from_utf8_lossy(&decode(key)).into_owned();
            key.starts_with("X-Amz-")
                .then(|| (key, String::from_utf8_lossy(&decode(value)).into_owned()))
        })
        .collect()
}

/// `AKID/yyyymmdd/region/service/aws4_request`.
fn parse_credential(value: &str) -> Result<Credential, Error> {
    let parts: Vec<&str> = value.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts[..] else {
        return Err(incomplete(format!(
            "Credential is malformed; expecting \
             \"<AccessKeyId>/<yyyymmdd>/<region>/<service>/aws4_request\", got '{value}'."
        )));
    };
    if terminator != "aws4_request" {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not \
             '{terminator}'."
        )));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid date (yyyymmdd), not '{date}'."
        )));
    }
    for (what, part) in [
        ("access key ID", access_key_id),
        ("region", region),
        ("service", service),
    ] {
        if part.is_empty() {
            return Err(incomplete(format!(
                "Credential should name a {what}: '{value}'."
            )));
        }
    }
    Ok(Credential {
        access_key_id: access_key_id.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
    })
}

/// `host;x-amz-date`, lower-cased.
fn parse_signed_headers(value: &str) -> Result<Vec<String>, Error> {
    let names: Vec<String> = value
        .split(';')
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    if names.iter().any(String::is_empty) {
        return Err(incomplete(format!(
            "SignedHeaders must be a ';'-separated list of header names, not '{value}'."
        )));
    }
    Ok(names)
}

/// `yyyymmddThhmmssZ`, strictly (chrono's `%Y` would accept other widths).
pub(super) fn parse_amz_date(value: &str) -> Result<DateTime<Utc>, Error> {
    let b = value.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let s = value.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let parsed = (b.len() == 16 && b[8] == b'T' && b[15] == b'Z')
        .then(|| {
            let year = i32::try_from(digits(0..4)?).ok()?;
            NaiveDate::from_ymd_opt(year, digits(4..6)?, digits(6..8)?)?.and_hms_opt(
                digits(9..11)?,
                digits(11..13)?,
                digits(13..15)?,
            )
        })
        .flatten();
    let Some(naive) = parsed else {
        return Err(incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{value}'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    let date = naive.and_utc();
    debug_assert_eq!(format_amz_date(date), value);
    Ok(date)
}

fn incomplete(message: impl Into<String>) -> Error {
    Error::IncompleteSignature(message.into())
}
