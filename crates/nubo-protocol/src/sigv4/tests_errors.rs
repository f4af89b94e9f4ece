//! The rejection paths: malformed claims with AWS's `IncompleteSignature`
//! messages, clock skew and expiry, and payload hashes that do not match.

use chrono::Duration;
use nubo_core::Error;

use super::tests::{check, headers, req, suite_time};
use super::*;

#[test]
fn unsigned_requests_have_no_auth() {
    let h = headers(&[("Host", "nubo.local")]);
    assert_eq!(
        parse_auth(&req("GET", "/", "Action=X&X-Amz-Date=1", &h, b"")),
        Ok(None)
    );
}

fn incomplete_for(authorization: &str, extra: &[(&str, &str)]) -> String {
    let mut h = headers(&[("Host", "h"), ("Authorization", authorization)]);
    h.extend(headers(extra));
    match parse_auth(&req("GET", "/", "", &h, b"")) {
        Err(Error::IncompleteSignature(m)) => m,
        other => panic!("{authorization}: {other:?}"),
    }
}

#[test]
fn malformed_authorization_headers_are_incomplete_signatures() {
    let date = [("X-Amz-Date", "20150830T123600Z")];
    let m = incomplete_for("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab", &date);
    assert_eq!(m, "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab");
    let m = incomplete_for(
        "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request",
        &[],
    );
    assert!(m.starts_with("Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="), "{m}");
    assert!(incomplete_for("AWS AKID:c2lnbmF0dXJl", &date)
        .starts_with("Unsupported AWS 'algorithm': 'AWS'"));
    assert!(incomplete_for("AWS4-HMAC-SHA256 Credential", &date).contains("missing equal-sign"));
    assert!(incomplete_for(
        "AWS4-HMAC-SHA256 Credential=A/20150830/r/s, SignedHeaders=host, Signature=ab",
        &date
    )
    .starts_with("Credential is malformed"));
    assert!(incomplete_for(
        "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws5_request, SignedHeaders=host, Signature=ab",
        &date
    )
    .contains("valid terminator"));
    assert!(incomplete_for(
        "AWS4-HMAC-SHA256 Credential=A/2015083x/r/s/aws4_request, SignedHeaders=host, Signature=ab",
        &date
    )
    .contains("valid date"));
    assert!(incomplete_for(
        "AWS4-HMAC-SHA256 Credential=A/20150831/r/s/aws4_request, SignedHeaders=host, Signature=ab",
        &date
    )
    .starts_with("Date in Credential scope does not match"));
    assert_eq!(incomplete_for("AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=x-amz-date, Signature=ab", &date), "'Host' must be a signed header.");
    assert!(incomplete_for("AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=ab", &date).contains("more than once"));
    assert!(incomplete_for(
        "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=ab",
        &[("X-Amz-Date", "2015-08-30T12:36:00Z")]
    )
    .starts_with("Date must be in ISO-8601 'basic format'"));
}

#[test]
fn spacing_after_commas_is_tolerated_and_date_header_is_a_fallback() {
    let h = headers(&[
        ("host", "example.amazonaws.com"),
        ("date", "Sun, 30 Aug 2015 12:36:00 GMT"),
        ("authorization", "AWS4-HMAC-SHA256  Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,SignedHeaders=host;date ,  Signature=x"),
    ]);
    let auth = parse_auth(&req("GET", "/", "", &h, b""))
        .expect("parses")
        .expect("signed");
    assert_eq!(auth.amz_date, suite_time());
    assert_eq!(auth.signed_headers, ["host", "date"]);
    assert_eq!(auth.signature, "x");
}

#[test]
fn header_mode_allows_fifteen_minutes_of_skew() {
    let mut h = headers(&[("Host", "h"), ("X-Amz-Date", "20150830T123600Z")]);
    let authorization = sign(
        &req("GET", "/", "", &h, b""),
        "AK",
        "secret",
        "r",
        "s",
        suite_time(),
    );
    h.push(("Authorization".into(), authorization));
    let r = req("GET", "/", "", &h, b"");
    for offset in [-15 * 60, 0, 15 * 60] {
        check(&r, "secret", suite_time() + Duration::seconds(offset)).expect("within skew");
    }
    for offset in [-15 * 60 - 1, 15 * 60 + 1] {
        assert!(
            matches!(
                check(&r, "secret", suite_time() + Duration::seconds(offset)),
                Err(Error::RequestExpired(_))
            ),
            "{offset}"
        );
    }
}

#[test]
fn content_sha256_header_must_match_the_body() {
    let body = b"Action=DescribeVpcs";
    let mut h = headers(&[
        ("Host", "h"),
        ("X-Amz-Date", "20150830T123600Z"),
        ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
    ]);
    let authorization = sign(
        &req("POST", "/", "", &h, body),
        "AK",
        "secret",
        "r",
        "s",
        suite_time(),
    );
    h.push(("Authorization".into(), authorization));
    assert_eq!(
        check(&req("POST", "/", "", &h, body), "secret", suite_time()),
        Err(Error::SignatureDoesNotMatch(
            "The provided 'x-amz-content-sha256' header does not match what was computed.".into()
        ))
    );

    let hash = super::canonical::sha256_hex(body);
    let mut h = headers(&[
        ("Host", "h"),
        ("X-Amz-Date", "20150830T123600Z"),
        ("X-Amz-Content-Sha256", &hash),
    ]);
    let authorization = sign(
        &req("POST", "/", "", &h, body),
        "AK",
        "secret",
        "r",
        "s",
        suite_time(),
    );
    h.push(("Authorization".into(), authorization));
    check(&req("POST", "/", "", &h, body), "secret", suite_time()).expect("matching hash verifies");
}

#[test]
fn presigned_parameters_are_validated() {
    let h = headers(&[("Host", "h")]);
    let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20150830%2Fr%2Fs%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=ab";
    let parse = |q: &str| parse_auth(&req("GET", "/", q, &h, b""));
    let ok = parse(&format!("{base}&X-Amz-Expires=604800"))
        .expect("parses")
        .expect("signed");
    assert_eq!(
        ok.mode,
        AuthMode::Presigned {
            expires_secs: 604_800
        }
    );
    for expires in ["0", "604801", "-1", "1e3", ""] {
        assert!(
            matches!(
                parse(&format!("{base}&X-Amz-Expires={expires}")),
                Err(Error::IncompleteSignature(_))
            ),
            "{expires}"
        );
    }
    assert!(
        matches!(parse(base), Err(Error::IncompleteSignature(m)) if m.starts_with("Query-string authentication version 4 requires"))
    );
    let mut both = headers(&[
        ("Host", "h"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=x"),
    ]);
    both.push(("X-Amz-Date".into(), "20150830T123600Z".into()));
    assert!(
        matches!(parse_auth(&req("GET", "/", &format!("{base}&X-Amz-Expires=5"), &both, b"")), Err(Error::IncompleteSignature(m)) if m.starts_with("Only one auth mechanism"))
    );
}

#[test]
fn presigned_urls_expire_and_may_not_predate_their_use() {
    let h = headers(&[("Host", "nubo.local")]);
    let query = presign(
        &req("GET", "/", "Action=DescribeVpcs", &h, b""),
        "AK",
        "secret",
        "r",
        "ec2",
        suite_time(),
        60,
    );
    assert!(query.starts_with("Action=DescribeVpcs&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20150830%2Fr%2Fec2%2Faws4_request&"), "{query}");
    let r = req("GET", "/", &query, &h, b"");
    check(&r, "secret", suite_time() + Duration::seconds(60)).expect("valid at its last second");
    check(&r, "secret", suite_time() - Duration::minutes(15))
        .expect("valid within the skew allowance");
    assert!(matches!(
        check(&r, "secret", suite_time() + Duration::seconds(61)),
        Err(Error::RequestExpired(_))
    ));
    assert!(matches!(
        check(&r, "secret", suite_time() - Duration::minutes(16)),
        Err(Error::RequestExpired(_))
    ));
}
