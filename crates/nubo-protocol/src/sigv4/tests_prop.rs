//! Property tests: whatever is signed verifies, any change to a signed byte
//! is caught, and the parsers survive arbitrary input.

use chrono::{DateTime, TimeZone, Utc};
use nubo_core::Error;
use proptest::prelude::*;

use super::*;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
    // 1970-01-01 to 9999-12-31: years SigV4's four-digit dates can express.
    (0i64..253_402_300_799).prop_map(|s| Utc.timestamp_opt(s, 0).single().unwrap_or_default())
}

/// A request signed in header mode, with its headers.
fn signed_headers(
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
    at: DateTime<Utc>,
) -> Vec<(String, String)> {
    let mut h = vec![
        ("Host".to_string(), "nubo.local:4566".to_string()),
        ("X-Amz-Date".to_string(), format_amz_date(at)),
    ];
    if let Some(ct) = content_type {
        h.push(("Content-Type".to_string(), ct.to_string()));
    }
    let r = HttpRequest {
        method: "POST",
        path: "/",
        query,
        headers: &h,
        body,
    };
    let authorization = sign(&r, "AKIAPROP", SECRET, "us-east-1", "ec2", at);
    h.push(("Authorization".to_string(), authorization));
    h
}

fn parse_and_verify(r: &HttpRequest, now: DateTime<Utc>) -> Result<(), Error> {
    let auth = parse_auth(r)?.ok_or_else(|| Error::internal("unsigned"))?;
    verify(r, &auth, SECRET, now)
}

proptest! {
    #[test]
    fn signed_requests_verify(
        query in any::<String>().prop_filter("no presign marker", |q| !q.contains("X-Amz-Algorithm")),
        content_type in proptest::option::of(any::<String>()),
        body in proptest::collection::vec(any::<u8>(), 0..256),
        at in any_time(),
    ) {
        let h = signed_headers(&query, content_type.as_deref(), &body, at);
        let r = HttpRequest { method: "POST", path: "/", query: &query, headers: &h, body: &body };
        prop_assert_eq!(parse_and_verify(&r, at), Ok(()));
    }

    #[test]
    fn presigned_requests_verify(
        query in "[a-zA-Z0-9%+=&. _~*/-]{0,40}".prop_filter("no X-Amz params", |q| !q.contains("X-Amz")),
        path in "/[a-zA-Z0-9%./ _-]{0,20}",
        body in proptest::collection::vec(any::<u8>(), 0..64),
        at in any_time(),
        expires in 1u64..=MAX_PRESIGNED_EXPIRES_SECS,
    ) {
        let h = vec![("host".to_string(), "nubo.local".to_string())];
        let unsigned = HttpRequest { method: "POST", path: &path, query: &query, headers: &h, body: &body };
        let signed_query = presign(&unsigned, "AKIAPROP", SECRET, "us-east-1", "ec2", at, expires);
        let r = HttpRequest { query: &signed_query, ..unsigned };
        prop_assert_eq!(parse_and_verify(&r, at), Ok(()));
    }

    #[test]
    fn any_body_change_is_caught(
        body in proptest::collection::vec(any::<u8>(), 1..256),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 30, 45).single().unwrap_or_default();
        let h = signed_headers("", Some("application/x-www-form-urlencoded"), &body, at);
        let mut tampered = body.clone();
        tampered[index.index(body.len())] ^= flip;
        let r = HttpRequest { method: "POST", path: "/", query: "", headers: &h, body: &tampered };
        prop_assert!(matches!(parse_and_verify(&r, at), Err(Error::SignatureDoesNotMatch(_))));
    }

    #[test]
    fn any_signature_change_is_caught(
        index in 0usize..64,
        replacement in any::<char>(),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 30, 45).single().unwrap_or_default();
        let h = signed_headers("Action=DescribeVpcs", None, &body, at);
        let r = HttpRequest { method: "POST", path: "/", query: "Action=DescribeVpcs", headers: &h, body: &body };
        let mut auth = parse_auth(&r).expect("parses").expect("signed");
        let mut chars: Vec<char> = auth.signature.chars().collect();
        prop_assume!(chars[index] != replacement);
        chars[index] = replacement;
        auth.signature = chars.into_iter().collect();
        prop_assert!(matches!(verify(&r, &auth, SECRET, at), Err(Error::SignatureDoesNotMatch(_))));
    }

    #[test]
    fn parse_auth_never_panics_on_any_authorization(
        authorization in any::<String>(),
        date in any::<String>(),
    ) {
        let h = vec![
            ("Host".to_string(), "h".to_string()),
            ("X-Amz-Date".to_string(), date),
            ("Authorization".to_string(), authorization),
        ];
        let r = HttpRequest { method: "GET", path: "/", query: "", headers: &h, body: b"" };
        if let Ok(Some(auth)) = parse_auth(&r) {
            let _ = verify(&r, &auth, SECRET, Utc::now());
        }
    }

    #[test]
    fn parse_auth_never_panics_on_near_valid_authorization(
        authorization in "AWS4-HMAC-SHA256[ ,]{0,2}((Credential|SignedHeaders|Signature|[a-z]{0,3})(=[A-Za-z0-9/;_ -]{0,40})?[ ,]{0,2}){0,5}",
        date in "[0-9]{8}T[0-9]{6}Z|[0-9TZ:-]{0,18}",
    ) {
        let h = vec![
            ("Host".to_string(), "h".to_string()),
            ("X-Amz-Date".to_string(), date),
            ("Authorization".to_string(), authorization),
        ];
        let r = HttpRequest { method: "GET", path: "/", query: "", headers: &h, body: b"" };
        if let Ok(Some(auth)) = parse_auth(&r) {
            let _ = verify(&r, &auth, SECRET, Utc::now());
        }
    }

    #[test]
    fn parse_auth_never_panics_on_any_presigned_query(
        query in "X-Amz-Algorithm=AWS4-HMAC-SHA256(&X-Amz-(Credential|Date|Expires|SignedHeaders|Signature|Security-Token)=[A-Za-z0-9%/;_+-]{0,30}){0,7}",
        body in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let h = vec![("Host".to_string(), "h".to_string())];
        let r = HttpRequest { method: "GET", path: "/", query: &query, headers: &h, body: &body };
        if let Ok(Some(auth)) = parse_auth(&r) {
            let _ = verify(&r, &auth, SECRET, Utc::now());
        }
    }
}
