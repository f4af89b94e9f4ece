//! IMDSv2 session tokens: `base64url(expiry ":" instance_id) "." base64url(mac)`
//! where `mac` is HMAC-SHA256 under a per-process random key. A token is bound
//! to the instance it was issued to and expires after its TTL; nothing is
//! stored per token, so a flood of PUTs costs no memory.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Smallest and largest TTL AWS accepts (`X-aws-ec2-metadata-token-ttl-seconds`).
pub const MIN_TTL: u64 = 1;
pub const MAX_TTL: u64 = 21_600;

/// The secret that signs tokens.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub fn random() -> Self {
        TokenKey(rand::random())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        TokenKey(bytes)
    }

    fn mac(&self, payload: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length; this cannot fail for 32 bytes.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return Vec::new(),
        };
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
    OtherInstance,
}

/// Parses the TTL header: a whole number of seconds in 1..=21600.
pub fn parse_ttl(header: &str) -> Option<u64> {
    let ttl: u64 = header.trim().parse().ok()?;
    (MIN_TTL..=MAX_TTL).contains(&ttl).then_some(ttl)
}

/// Issues a token for `instance_id` valid for `ttl` seconds from `now` (Unix seconds).
pub fn issue(key: &TokenKey, instance_id: &str, now: u64, ttl: u64) -> String {
    let payload = format!("{}:{}", now + ttl, instance_id);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload.as_bytes()),
        URL_SAFE_NO_PAD.encode(key.mac(payload.as_bytes()))
    )
}

/// Checks a token; on success returns its remaining lifetime in seconds.
pub fn verify(key: &TokenKey, token: &str, instance_id: &str, now: u64) -> Result<u64, TokenError> {
    let (p, m) = token.trim().split_once('.').ok_or(TokenError::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| TokenError::Malformed)?;
    let mac = URL_SAFE_NO_PAD
        .decode(m)
        .map_err(|_| TokenError::Malformed)?;
    let expected = key.mac(&payload);
    if expected.is_empty() || !bool::from(expected.ct_eq(&mac)) {
        return Err(TokenError::BadSignature);
    }
    let text = String::from_utf8(payload).map_err(|_| TokenError::Malformed)?;
    let (expiry, owner) = text.split_once(':').ok_or(TokenError::Malformed)?;
    let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
    if owner != instance_id {
        return Err(TokenError::OtherInstance);
    }
    if now >= expiry {
        return Err(TokenError::Expired);
    }
    Ok(expiry - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::from_bytes([7; 32])
    }

    #[test]
    fn ttl_bounds() {
        assert_eq!(parse_ttl("1"), Some(1));
        assert_eq!(parse_ttl("21600"), Some(21600));
        for bad in [
            "0",
            "21601",
            "-1",
            "",
            "abc",
            "1.5",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_ttl(bad), None, "{bad}");
        }
    }

    #[test]
    fn token_lives_for_its_ttl_only() {
        let t = issue(&key(), "i-01", 1000, 60);
        assert_eq!(verify(&key(), &t, "i-01", 1000), Ok(60));
        assert_eq!(verify(&key(), &t, "i-01", 1059), Ok(1));
        assert_eq!(verify(&key(), &t, "i-01", 1060), Err(TokenError::Expired));
    }

    #[test]
    fn token_is_bound_to_its_instance_and_key() {
        let t = issue(&key(), "i-01", 1000, 60);
        assert_eq!(
            verify(&key(), &t, "i-02", 1000),
            Err(TokenError::OtherInstance)
        );
        let other = TokenKey::from_bytes([8; 32]);
        assert_eq!(
            verify(&other, &t, "i-01", 1000),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn tampered_or_garbage_tokens_are_refused() {
        let t = issue(&key(), "i-01", 1000, 60);
        // Re-sign nothing, but extend the expiry in the payload.
        let (_, m) = t.split_once('.').unwrap();
        let forged = format!("{}.{m}", URL_SAFE_NO_PAD.encode(b"999999:i-01"));
        assert_eq!(
            verify(&key(), &forged, "i-01", 1000),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify(&key(), "nodot", "i-01", 1000),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            verify(&key(), "!!.!!", "i-01", 1000),
            Err(TokenError::Malformed)
        );
        assert_eq!(verify(&key(), "", "i-01", 1000), Err(TokenError::Malformed));
    }
}
