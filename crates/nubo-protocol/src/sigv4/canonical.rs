//! The canonical request and string to sign, byte for byte as botocore builds
//! them for non-S3 services, so that whatever an AWS SDK signed, we rebuild.

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use super::{header_values, HttpRequest, ALGORITHM};

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// Paths keep their slashes.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// The query parameter that carries a presigned URL's signature; it cannot
/// sign itself, so it is left out of the canonical query string.
pub(super) const SIGNATURE_PARAM: &str = "X-Amz-Signature";

/// The canonical request: method, URI, query, headers, signed header list and
/// payload hash, newline-separated.
pub(super) fn canonical_request(
    req: &HttpRequest,
    signed_headers: &[String],
    payload_hash: &str,
    omit_signature_param: bool,
) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    out.push_str(&canonical_query(req.query, omit_signature_param));
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        let values: Vec<String> = header_values(req.headers, name).map(trim_all).collect();
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// The string to sign for a canonical request made at `amz_date` in `scope`
/// (`yyyymmdd/region/service/aws4_request`).
pub(super) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Lower-case hex SHA-256.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// botocore's `quote(remove_dot_segments(path), safe='/~')`: dot segments and
/// empty segments go, then the raw (already encoded) path is encoded again —
/// AWS's double encoding for every service but S3.
pub(super) fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut normalized = String::with_capacity(path.len());
    if path.starts_with('/') {
        normalized.push('/');
    }
    normalized.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        normalized.push('/');
    }
    percent_encode(normalized.as_bytes(), PATH).to_string()
}

/// Each parameter decoded, re-encoded with the unreserved set, then sorted by
/// key and value. `+` decodes to a space, as [`crate::query::Params::parse`]
/// reads it: what is signed is then exactly what the handler sees, so
/// rewriting `%20` as `+` (or the reverse) cannot change a request's meaning
/// without changing its signature.
pub(super) fn canonical_query(query: &str, omit_signature_param: bool) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key);
            if omit_signature_param && key == SIGNATURE_PARAM.as_bytes() {
                return None;
            }
            Some((encode(&key), encode(&decode(value))))
        })
        .collect();
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// One query component as bytes: `+` is a space, `%XX` a byte, anything
/// malformed is kept literally.
pub(super) fn decode(component: &str) -> Vec<u8> {
    let spaced: Vec<u8> = component
        .bytes()
        .map(|b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced).collect()
}

/// RFC 3986 encoding with upper-case hex, as SigV4 requires.
pub(super) fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, UNRESERVED).to_string()
}

/// botocore's `' '.join(value.split())`: trimmed, inner whitespace runs
/// collapsed to one space.
fn trim_all(value: &str) -> String {
    let is_space = |c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c);
    value
        .split(is_space)
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_matches_botocore_normalization() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/./a/../b//c"), "/b/c");
        assert_eq!(canonical_uri("/a/b/"), "/a/b/");
        assert_eq!(canonical_uri("/.."), "/");
        assert_eq!(canonical_uri("/example%20space/"), "/example%2520space/");
        assert_eq!(canonical_uri("/ሴ~x:y"), "/%E1%88%B4~x%3Ay");
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(
            canonical_query("b=2&a=%7e1&A=x+y&a=0&&flag&c=%2b/", false),
            "A=x%20y&a=0&a=~1&b=2&c=%2B%2F&flag="
        );
        assert_eq!(
            canonical_query("X-Amz-Signature=abc&X-Amz-Date=1", true),
            "X-Amz-Date=1"
        );
        assert_eq!(
            canonical_query("X-Amz-Signature=abc", false),
            "X-Amz-Signature=abc"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        assert_eq!(trim_all("  a   b\t c  "), "a b c");
        assert_eq!(trim_all(""), "");
    }
}
