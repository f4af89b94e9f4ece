//! Generation and validation of AWS-style identifiers: access key IDs
//! (`AKIA` + 16), secret access keys (40 characters) and IAM unique IDs.

use nubo_core::Error;
use rand::Rng;

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

/// A new access key ID, `AKIA` followed by 16 base-32 characters.
pub fn new_access_key_id() -> String {
    format!("AKIA{}", random_from(UPPER_ALNUM, 16))
}

/// A new 40-character secret access key.
pub fn new_secret_access_key() -> String {
    random_from(SECRET_CHARS, 40)
}

/// A new IAM user unique ID (`AIDA…`).
pub fn new_user_id() -> String {
    format!("AIDA{}", random_from(UPPER_ALNUM, 17))
}

/// Checks an access key ID given in configuration.
pub fn validate_access_key_id(id: &str) -> Result<(), Error> {
    if (16..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "an access key ID is 16 to 128 letters and digits",
        ))
    }
}

/// Checks a secret access key given in configuration.
pub fn validate_secret_access_key(secret: &str) -> Result<(), Error> {
    if (16..=128).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "a secret access key is 16 to 128 printable characters without spaces",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_have_aws_shapes() {
        let id = new_access_key_id();
        assert!(id.starts_with("AKIA") && id.len() == 20);
        assert!(validate_access_key_id(&id).is_ok());
        let secret = new_secret_access_key();
        assert_eq!(secret.len(), 40);
        assert!(validate_secret_access_key(&secret).is_ok());
        assert_ne!(new_access_key_id(), new_access_key_id());
        assert!(validate_access_key_id("short").is_err());
    }
}
