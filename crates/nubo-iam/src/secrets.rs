//! Sealing of secret access keys at rest: AES-256-GCM under the installation's
//! master key. Secrets must be recoverable (SigV4 verification needs them), so
//! they are encrypted, not hashed. The master key lives in
//! `<data-dir>/master.key` (mode 0600) unless configured elsewhere; replicas
//! sharing one database must share it.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use nubo_core::Error;
use rand::RngCore;

const NONCE_LEN: usize = 12;
const VERSION: u8 = 1;

/// Seals and opens secrets with one master key.
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn from_key(key: &[u8; 32]) -> Self {
        SecretBox {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// Loads the master key from `path`, creating a random one (mode 0600) if absent.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        if let Ok(bytes) = std::fs::read(path) {
            let hex = String::from_utf8_lossy(&bytes);
            let raw = hex::decode(hex.trim())
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
            let key: [u8; 32] = raw.try_into().map_err(|_| {
                std::io::Error::other(format!(
                    "{}: master key must be 32 bytes in hex",
                    path.display()
                ))
            })?;
            return Ok(Self::from_key(&key));
        }
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        file.write_all(hex::encode(key).as_bytes())?;
        file.sync_all()?;
        Ok(Self::from_key(&key))
    }

    /// `version || nonce || ciphertext+tag`.
    pub fn seal(&self, plaintext: &str) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| Error::internal("secret sealing failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, Error> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(Error::internal("sealed secret has an unknown format"));
        }
        let (nonce, ct) = sealed[1..].split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| Error::internal("sealed secret cannot be opened with this master key"))?;
        String::from_utf8(plain).map_err(Error::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_hides_the_plaintext() {
        let b = SecretBox::from_key(&[7u8; 32]);
        let sealed = b.seal("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"wJalrXUt"));
        assert_eq!(
            b.open(&sealed).unwrap(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        );
        let other = SecretBox::from_key(&[8u8; 32]);
        assert!(other.open(&sealed).is_err());
    }

    #[test]
    fn master_key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("nubo-secrets-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let _ = std::fs::remove_file(&path);
        let a = SecretBox::load_or_create(&path).unwrap();
        let sealed = a.seal("x").unwrap();
        let b = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(b.open(&sealed).unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
