//! Known-answer tests: AWS's published SigV4 suite and requests signed by
//! real botocore (1.43), plus the error paths with their AWS messages.

use chrono::{DateTime, Duration, TimeZone, Utc};
use nubo_core::Error;

use super::*;

const SUITE_AKID: &str = "AKIDEXAMPLE";
const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=";

const NUBO_AKID: &str = "AKIANUBOTEST0000001";
const NUBO_SECRET: &str = "nuboSecret/Key+With/Slashes0123456789abcd";

pub(super) fn suite_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0)
        .single()
        .expect("valid date")
}

pub(super) fn nubo_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 30, 45)
        .single()
        .expect("valid date")
}

pub(super) fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn req<'a>(
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(String, String)],
    body: &'a [u8],
) -> HttpRequest<'a> {
    HttpRequest {
        method,
        path,
        query,
        headers,
        body,
    }
}

pub(super) fn check(r: &HttpRequest, secret: &str, now: DateTime<Utc>) -> Result<AuthInfo, Error> {
    let auth = parse_auth(r)?.expect("request is signed");
    verify(r, &auth, secret, now)?;
    Ok(auth)
}

fn suite_headers(extra: &[(&str, &str)], signed: &str, signature: &str) -> Vec<(String, String)> {
    let mut h = headers(&[
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
    ]);
    h.extend(headers(extra));
    h.push((
        "Authorization".into(),
        format!("{SUITE_AUTH}{signed}, Signature={signature}"),
    ));
    h
}

/// One vector of AWS's sig-v4 test suite (host `example.amazonaws.com`),
/// checked both ways: `verify` accepts it and `sign` reproduces it.
struct SuiteCase {
    name: &'static str,
    method: &'static str,
    query: &'static str,
    extra_headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
    signed_headers: &'static str,
    signature: &'static str,
}

impl SuiteCase {
    fn check(&self) {
        let h = suite_headers(self.extra_headers, self.signed_headers, self.signature);
        let r = req(self.method, "/", self.query, &h, self.body);
        let auth = check(&r, SUITE_SECRET, suite_time())
            .unwrap_or_else(|e| panic!("{}: {e:?}", self.name));
        assert_eq!(auth.credential.access_key_id, SUITE_AKID);
        assert_eq!(auth.credential.service, "service");
        let unsigned = req(self.method, "/", self.query, &h[..h.len() - 1], self.body);
        let signed_again = sign(
            &unsigned,
            SUITE_AKID,
            SUITE_SECRET,
            "us-east-1",
            "service",
            suite_time(),
        );
        assert_eq!(signed_again, h[h.len() - 1].1, "{}", self.name);
    }
}

#[test]
fn aws_test_suite_vectors() {
    let get = |name, query, signature| SuiteCase {
        name,
        method: "GET",
        query,
        extra_headers: &[],
        body: b"",
        signed_headers: "host;x-amz-date",
        signature,
    };
    get(
        "get-vanilla",
        "",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    )
    .check();
    get(
        "get-vanilla-query-order-key-case",
        "Param2=value2&Param1=value1",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    )
    .check();
    SuiteCase {
        method: "POST",
        ..get(
            "post-vanilla",
            "",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        )
    }
    .check();
    SuiteCase {
        name: "post-x-www-form-urlencoded",
        method: "POST",
        query: "",
        extra_headers: &[("Content-Type", "application/x-www-form-urlencoded")],
        body: b"Param1=value1",
        signed_headers: "content-type;host;x-amz-date",
        signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    }
    .check();
}

/// Paths as botocore signs them for non-S3 services: dot segments and empty
/// segments removed, the encoded path encoded again.
#[test]
fn botocore_path_normalization_vectors() {
    for (path, signature) in [
        (
            "/example%20space/",
            "446b817944c553435b35e813c261ff4e161fff982d1bacdef1c87f6785dd1662",
        ),
        (
            "/./a/../b//c",
            "f074de1c131db8339b6ec776322d4faa6be9be77632589ffc687fd35e4031d7e",
        ),
    ] {
        let h = suite_headers(&[], "host;x-amz-date", signature);
        check(&req("GET", path, "", &h, b""), SUITE_SECRET, suite_time())
            .unwrap_or_else(|e| panic!("{path}: {e:?}"));
    }
}

/// `ec2.describe_vpcs(...)` as boto3 sends it, captured before sending.
#[test]
fn botocore_ec2_post() {
    let body = b"Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1&VpcId.2=vpc-2&Filter.1.Name=tag%3AName&Filter.1.Value.1=a+b&Filter.1.Value.2=%C3%BC%2F%2A";
    let h = headers(&[
        ("Host", "nubo.local:4566"),
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ("User-Agent", "Botocore/1.43.11 ua/2.1 os/linux lang/python#3.11.7"),
        ("X-Amz-Date", "20261123T103045Z"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIANUBOTEST0000001/20261123/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=7ec0dc977df10e3cda6c69867725fd027a1bc917e7f6b285988f40a4a95edb97"),
        ("amz-sdk-invocation-id", "fb37c7f9-74fd-48cc-b2d4-615addb3cb52"),
        ("amz-sdk-request", "attempt=1"),
        ("Content-Length", "142"),
    ]);
    let r = req("POST", "/", "", &h, body);
    let auth = check(&r, NUBO_SECRET, nubo_time() + Duration::minutes(14))
        .expect("botocore's signature verifies");
    assert_eq!(
        auth.credential,
        Credential {
            access_key_id: NUBO_AKID.into(),
            date: "20261123".into(),
            region: "us-east-1".into(),
            service: "ec2".into(),
        }
    );
    assert_eq!(auth.signed_headers, ["content-type", "host", "x-amz-date"]);
    assert_eq!(auth.mode, AuthMode::Header);
    assert_eq!(auth.security_token, None);

    assert_eq!(verify(&r, &auth, "wrong secret", nubo_time()), Err(Error::SignatureDoesNotMatch(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into())));
    let tampered = req(
        "POST",
        "/",
        "",
        &h,
        b"Action=DeleteVpc&Version=2016-11-15&VpcId=vpc-1",
    );
    assert!(matches!(
        verify(&tampered, &auth, NUBO_SECRET, nubo_time()),
        Err(Error::SignatureDoesNotMatch(_))
    ));
    let added_query = req("POST", "/", "Action=DeleteVpc", &h, body);
    assert!(matches!(
        verify(&added_query, &auth, NUBO_SECRET, nubo_time()),
        Err(Error::SignatureDoesNotMatch(_))
    ));
}

/// STS with temporary credentials: the session token is a signed header.
#[test]
fn botocore_sts_post_with_session_token() {
    let h = headers(&[
        ("Host", "nubo.local:4566"),
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ("X-Amz-Date", "20261123T103045Z"),
        ("X-Amz-Security-Token", "FwoGZXIvYXdzEBY+token/with=chars"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=ASIANUBOTEMP0000001/20261123/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=0f2d01071602af4a27b14b741e2bf2adcab5acb88dc34bf0376a3b046cfae96f"),
    ]);
    let r = req(
        "POST",
        "/",
        "",
        &h,
        b"Action=GetCallerIdentity&Version=2011-06-15",
    );
    let auth = check(&r, "tempSecret0123456789", nubo_time()).expect("verifies");
    assert_eq!(
        auth.security_token.as_deref(),
        Some("FwoGZXIvYXdzEBY+token/with=chars")
    );
}

/// `ec2.generate_presigned_url('describe_vpcs', ..., ExpiresIn=300)`: botocore
/// signs the operation's method (POST, with an empty body) and the empty
/// body's SHA-256.
#[test]
fn botocore_presigned_url() {
    let query = "Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIANUBOTEST0000001%2F20261123%2Fus-east-1%2Fec2%2Faws4_request&X-Amz-Date=20261123T103045Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=cb50a4c92e11d4920cdc06b6bc5b707533a3df47fef8eb838eb7f4c3f52ad4bd";
    let h = headers(&[("host", "nubo.local:4566")]);
    let r = req("POST", "/", query, &h, b"");
    let auth = check(&r, NUBO_SECRET, nubo_time() + Duration::seconds(300))
        .expect("verifies until it expires");
    let as_get = req("GET", "/", query, &h, b"");
    assert!(matches!(
        verify(&as_get, &auth, NUBO_SECRET, nubo_time()),
        Err(Error::SignatureDoesNotMatch(_))
    ));
    assert_eq!(auth.mode, AuthMode::Presigned { expires_secs: 300 });
    assert_eq!(auth.signed_headers, ["host"]);
    assert!(matches!(
        verify(&r, &auth, NUBO_SECRET, nubo_time() + Duration::seconds(301)),
        Err(Error::RequestExpired(_))
    ));
    // A body would be merged over the signed URL parameters: it must be signed.
    let with_body = req("POST", "/", query, &h, b"Action=DeleteVpc&VpcId=vpc-1");
    assert!(matches!(
        verify(&with_body, &auth, NUBO_SECRET, nubo_time()),
        Err(Error::SignatureDoesNotMatch(_))
    ));
}

/// botocore's S3-style presigner signs `UNSIGNED-PAYLOAD`, accepted for an empty body only.
#[test]
fn botocore_s3_style_presigned_url_with_unsigned_payload() {
    let query = "Action=DescribeVpcs&Version=2016-11-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIANUBOTEST0000001%2F20261123%2Fus-east-1%2Fec2%2Faws4_request&X-Amz-Date=20261123T103045Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=b59c48c04830d38af06953f66db5d82bbe6e6779e260429a5fb153f32ad8b2c3";
    let h = headers(&[("Host", "nubo.local:4566")]);
    check(&req("GET", "/", query, &h, b""), NUBO_SECRET, nubo_time()).expect("verifies");
    let with_body = req("GET", "/", query, &h, b"Action=DeleteVpc");
    let auth = parse_auth(&with_body).expect("parses").expect("signed");
    assert!(matches!(
        verify(&with_body, &auth, NUBO_SECRET, nubo_time()),
        Err(Error::SignatureDoesNotMatch(_))
    ));
}
