//! Key material: generating key pairs, reading imported OpenSSH public keys,
//! and computing fingerprints exactly as AWS does. Pure functions, no IO.
//!
//! AWS's fingerprints differ by key type and origin (EC2 User Guide, "Verify
//! the fingerprint of your key pair"): a key pair AWS created for RSA is the
//! SHA-1 of the DER PKCS#8 private key; an imported RSA key is the MD5 of the
//! DER SubjectPublicKeyInfo; ED25519 keys (either origin) are the base64
//! SHA-256 of the OpenSSH public key blob, as `ssh-keygen -l -E sha256` prints
//! it, with base64 padding.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use md5::Md5;
use nubo_core::Error;
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// `KeyType`: the algorithm of a key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Rsa,
    Ed25519,
}

impl KeyType {
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "rsa" => Ok(KeyType::Rsa),
            "ed25519" => Ok(KeyType::Ed25519),
            other => Err(Error::invalid(format!(
                "Value ({other}) for parameter keyType is invalid. Valid values: rsa, ed25519"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }

    /// The algorithm name in OpenSSH key lines and blobs.
    fn ssh_name(self) -> &'static str {
        match self {
            KeyType::Rsa => "ssh-rsa",
            KeyType::Ed25519 => "ssh-ed25519",
        }
    }
}

/// The size AWS gives RSA key pairs it creates.
pub const RSA_BITS: usize = 2048;
/// The smallest RSA key `ImportKeyPair` accepts.
pub const RSA_MIN_IMPORT_BITS: usize = 2048;
/// The largest RSA key `ImportKeyPair` accepts (AWS: 4096).
pub const RSA_MAX_IMPORT_BITS: usize = 4096;

/// A public key as stored: never the private half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub key_type: KeyType,
    /// One OpenSSH line, `ssh-rsa AAAA…` (no comment).
    pub openssh: String,
    pub fingerprint: String,
}

/// A freshly generated key pair: the private key is handed to the caller
/// once and dropped.
#[derive(Debug)]
pub struct Generated {
    pub public: PublicKey,
    /// PEM: PKCS#1 (`RSA PRIVATE KEY`) for RSA, OpenSSH for ED25519, as AWS returns.
    pub private_pem: String,
}

fn internal(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("{what}: {e}"))
}

/// Colon-separated lowercase hex, the MD5/SHA-1 fingerprint notation.
fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// SSH wire encoding (RFC 4251): length-prefixed strings and mpints.
fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_mpint(out: &mut Vec<u8>, big_endian: &[u8]) {
    let trimmed: &[u8] = match big_endian.iter().position(|b| *b != 0) {
        Some(i) => &big_endian[i..],
        None => &[],
    };
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        let mut padded = Vec::with_capacity(trimmed.len() + 1);
        padded.push(0);
        padded.extend_from_slice(trimmed);
        put_string(out, &padded);
    } else {
        put_string(out, trimmed);
    }
}

fn rsa_blob(key: &RsaPublicKey) -> Vec<u8> {
    let mut blob = Vec::new();
    put_string(&mut blob, KeyType::Rsa.ssh_name().as_bytes());
    put_mpint(&mut blob, &key.e().to_bytes_be());
    put_mpint(&mut blob, &key.n().to_bytes_be());
    blob
}

fn ed25519_blob(public: &[u8; 32]) -> Vec<u8> {
    let mut blob = Vec::new();
    put_string(&mut blob, KeyType::Ed25519.ssh_name().as_bytes());
    put_string(&mut blob, public);
    blob
}

fn openssh_line(key_type: KeyType, blob: &[u8]) -> String {
    format!("{} {}", key_type.ssh_name(), STANDARD.encode(blob))
}

/// ED25519 fingerprint: base64 (padded) SHA-256 of the public key blob.
fn sha256_fingerprint(blob: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(blob))
}

/// Created RSA fingerprint: SHA-1 of the DER PKCS#8 private key.
pub fn created_rsa_fingerprint(key: &RsaPrivateKey) -> Result<String, Error> {
    let der = key
        .to_pkcs8_der()
        .map_err(|e| internal("encoding PKCS#8", e))?;
    Ok(colon_hex(&Sha1::digest(der.as_bytes())))
}

/// Imported RSA fingerprint: MD5 of the DER SubjectPublicKeyInfo.
pub fn imported_rsa_fingerprint(key: &RsaPublicKey) -> Result<String, Error> {
    let der = key
        .to_public_key_der()
        .map_err(|e| internal("encoding SubjectPublicKeyInfo", e))?;
    Ok(colon_hex(&Md5::digest(der.as_bytes())))
}

/// Generates an RSA-2048 key pair as `CreateKeyPair` does.
pub fn generate_rsa() -> Result<Generated, Error> {
    let private = RsaPrivateKey::new(&mut rand::thread_rng(), RSA_BITS)
        .map_err(|e| internal("generating RSA key", e))?;
    let public = RsaPublicKey::from(&private);
    let pem = private
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| internal("encoding PKCS#1", e))?;
    Ok(Generated {
        public: PublicKey {
            key_type: KeyType::Rsa,
            openssh: openssh_line(KeyType::Rsa, &rsa_blob(&public)),
            fingerprint: created_rsa_fingerprint(&private)?,
        },
        private_pem: pem.trim_end().to_string(),
    })
}

/// Generates an ED25519 key pair as `CreateKeyPair` does, the private key in
/// OpenSSH's own format (`openssh-key-v1`, unencrypted).
pub fn generate_ed25519() -> Generated {
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    let public = signing.verifying_key().to_bytes();
    let blob = ed25519_blob(&public);
    Generated {
        private_pem: openssh_private_pem(&signing.to_bytes(), &public, rand::random()),
        public: PublicKey {
            key_type: KeyType::Ed25519,
            openssh: openssh_line(KeyType::Ed25519, &blob),
            fingerprint: sha256_fingerprint(&blob),
        },
    }
}

/// `openssh-key-v1` (OpenSSH's PROTOCOL.key) for one unencrypted ED25519 key.
fn openssh_private_pem(seed: &[u8; 32], public: &[u8; 32], check: u32) -> String {
    let blob = ed25519_blob(public);
    let mut private = Vec::new();
    private.extend_from_slice(&check.to_be_bytes());
    private.extend_from_slice(&check.to_be_bytes());
    put_string(&mut private, KeyType::Ed25519.ssh_name().as_bytes());
    put_string(&mut private, public);
    let mut secret = seed.to_vec();
    secret.extend_from_slice(public);
    put_string(&mut private, &secret);
    put_string(&mut private, b"");
    let mut pad = 1u8;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }
    let mut body = b"openssh-key-v1\0".to_vec();
    put_string(&mut body, b"none");
    put_string(&mut body, b"none");
    put_string(&mut body, b"");
    body.extend_from_slice(&1u32.to_be_bytes());
    put_string(&mut body, &blob);
    put_string(&mut body, &private);
    let encoded = STANDARD.encode(&body);
    let mut pem = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for chunk in encoded.as_bytes().chunks(70) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END OPENSSH PRIVATE KEY-----");
    pem
}

/// Reads SSH wire strings off a blob.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn string(&mut self) -> Option<&'a [u8]> {
        let len_bytes: [u8; 4] = self.0.get(..4)?.try_into().ok()?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let value = self.0.get(4..4 + len)?;
        self.0 = &self.0[4 + len..];
        Some(value)
    }
}

fn format_error() -> Error {
    Error::client(
        "InvalidKey.Format",
        "Key is not in valid OpenSSH public key format",
    )
}

/// Decodes `ImportKeyPair`'s `PublicKeyMaterial` parameter: a blob, so
/// base64 on the wire. A bare OpenSSH line (`ssh-…`, never valid base64 of
/// one) is taken as it is, as some clients send it unencoded.
pub fn decode_public_key_material(wire: &str) -> Result<Vec<u8>, Error> {
    let wire = wire.trim();
    if wire.starts_with("ssh-") {
        return Ok(wire.as_bytes().to_vec());
    }
    let compact: String = wire.split_whitespace().collect();
    STANDARD.decode(compact).map_err(|_| format_error())
}

/// Reads `ImportKeyPair`'s `PublicKeyMaterial` (the decoded blob: one
/// OpenSSH public key line, `ssh-rsa AAAA… comment` or `ssh-ed25519 …`),
/// refusing anything else with `InvalidKey.Format` and RSA keys outside
/// 2048–4096 bits.
pub fn import_public_key(material: &[u8]) -> Result<PublicKey, Error> {
    let text = std::str::from_utf8(material).map_err(|_| format_error())?;
    let mut words = text.split_whitespace();
    let (Some(name), Some(encoded)) = (words.next(), words.next()) else {
        return Err(format_error());
    };
    let key_type = match name {
        "ssh-rsa" => KeyType::Rsa,
        "ssh-ed25519" => KeyType::Ed25519,
        _ => return Err(format_error()),
    };
    let blob = STANDARD.decode(encoded).map_err(|_| format_error())?;
    let mut r = Reader(&blob);
    if r.string() != Some(name.as_bytes()) {
        return Err(format_error());
    }
    let fingerprint = match key_type {
        KeyType::Rsa => {
            let e = r.string().ok_or_else(format_error)?;
            let n = r.string().ok_or_else(format_error)?;
            if !r.0.is_empty() {
                return Err(format_error());
            }
            let key = RsaPublicKey::new_with_max_size(
                BigUint::from_bytes_be(n),
                BigUint::from_bytes_be(e),
                RSA_MAX_IMPORT_BITS,
            )
            .map_err(|_| format_error())?;
            let bits = key.n().bits();
            if !(RSA_MIN_IMPORT_BITS..=RSA_MAX_IMPORT_BITS).contains(&bits) {
                return Err(Error::client(
                    "InvalidKey.Format",
                    format!("RSA keys must be between {RSA_MIN_IMPORT_BITS} and {RSA_MAX_IMPORT_BITS} bits long; this key has {bits}"),
                ));
            }
            imported_rsa_fingerprint(&key)?
        }
        KeyType::Ed25519 => {
            let public = r.string().ok_or_else(format_error)?;
            if public.len() != 32 || !r.0.is_empty() {
                return Err(format_error());
            }
            sha256_fingerprint(&blob)
        }
    };
    Ok(PublicKey {
        key_type,
        openssh: openssh_line(key_type, &blob),
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1::DecodeRsaPrivateKey;

    // Fixtures made on the development machine with `ssh-keygen -t rsa -b
    // 2048 -m PEM` and `ssh-keygen -t ed25519`; the expected fingerprints
    // come from the commands in each test's comment.
    const RSA_PEM: &str = include_str!("testdata/rsa.pem");
    const RSA_PUB: &str = include_str!("testdata/rsa.pub");
    const ED25519_PUB: &str = include_str!("testdata/ed25519.pub");

    #[test]
    fn created_rsa_fingerprint_is_sha1_of_pkcs8() {
        // openssl pkcs8 -in rsa.pem -inform PEM -outform DER -topk8 -nocrypt | openssl sha1 -c
        let key = RsaPrivateKey::from_pkcs1_pem(RSA_PEM).expect("fixture parses");
        assert_eq!(
            created_rsa_fingerprint(&key).unwrap(),
            "79:0c:39:31:f3:e5:73:7a:83:1c:df:31:50:dc:f6:df:93:4a:f1:e3"
        );
    }

    #[test]
    fn imported_rsa_fingerprint_is_md5_of_spki() {
        // ssh-keygen -ef rsa.pub -m PEM | openssl rsa -RSAPublicKey_in -outform DER | openssl md5 -c
        let key = import_public_key(RSA_PUB.as_bytes()).unwrap();
        assert_eq!(key.key_type, KeyType::Rsa);
        assert_eq!(
            key.fingerprint,
            "ef:70:7c:c7:30:83:08:27:b7:51:22:26:b6:a8:64:c9"
        );
        // The stored line is the input minus its comment.
        assert_eq!(
            format!("{} fixture\n", key.openssh),
            RSA_PUB,
            "re-encoding the blob must give back the same line"
        );
        // The private fixture's public half is the same key.
        let private = RsaPrivateKey::from_pkcs1_pem(RSA_PEM).unwrap();
        assert_eq!(
            openssh_line(KeyType::Rsa, &rsa_blob(&RsaPublicKey::from(&private))),
            key.openssh
        );
    }

    #[test]
    fn ed25519_fingerprint_is_padded_base64_sha256_of_blob() {
        // ssh-keygen -l -E sha256 -f ed25519.pub → SHA256:AtJHrv7LjUoiehhOM5v/2dRHPYvREHj8M4oD+XVrg7Q
        let key = import_public_key(ED25519_PUB.as_bytes()).unwrap();
        assert_eq!(key.key_type, KeyType::Ed25519);
        assert_eq!(
            key.fingerprint,
            "AtJHrv7LjUoiehhOM5v/2dRHPYvREHj8M4oD+XVrg7Q="
        );
        assert_eq!(format!("{} fixture\n", key.openssh), ED25519_PUB);
    }

    #[test]
    fn garbage_is_invalid_key_format() {
        for bad in [
            &b""[..],
            b"ssh-rsa",
            b"ssh-dss AAAAB3NzaC1kc3MAAACBAP",
            b"ssh-rsa not-base64!",
            b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHp7Ven",
            b"\xff\xfe",
        ] {
            match import_public_key(bad) {
                Err(Error::Client { code, .. }) => assert_eq!(code, "InvalidKey.Format"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        // A blob whose name disagrees with the line's.
        let ed_blob = ED25519_PUB.split_whitespace().nth(1).unwrap();
        assert!(import_public_key(format!("ssh-rsa {ed_blob}").as_bytes()).is_err());
    }

    #[test]
    fn short_rsa_keys_are_refused() {
        let small = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let line = openssh_line(KeyType::Rsa, &rsa_blob(&RsaPublicKey::from(&small)));
        match import_public_key(line.as_bytes()) {
            Err(Error::Client { code, message }) => {
                assert_eq!(code, "InvalidKey.Format");
                assert!(message.contains("1024"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn generated_keys_round_trip() {
        let rsa = generate_rsa().unwrap();
        assert!(rsa
            .private_pem
            .starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let private = RsaPrivateKey::from_pkcs1_pem(&rsa.private_pem).unwrap();
        assert_eq!(private.size() * 8, RSA_BITS);
        assert_eq!(
            rsa.public.fingerprint,
            created_rsa_fingerprint(&private).unwrap()
        );
        assert_eq!(rsa.public.fingerprint.len(), 59);
        // The stored public half imports as the same key.
        assert_eq!(
            import_public_key(rsa.public.openssh.as_bytes())
                .unwrap()
                .openssh,
            rsa.public.openssh
        );

        let ed = generate_ed25519();
        assert!(ed
            .private_pem
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        let imported = import_public_key(ed.public.openssh.as_bytes()).unwrap();
        assert_eq!(imported.fingerprint, ed.public.fingerprint);
    }

    #[test]
    fn public_key_material_is_base64_or_a_bare_line() {
        let wire = STANDARD.encode(ED25519_PUB);
        assert_eq!(
            decode_public_key_material(&wire).unwrap(),
            ED25519_PUB.as_bytes()
        );
        assert_eq!(
            decode_public_key_material(ED25519_PUB).unwrap(),
            ED25519_PUB.trim().as_bytes()
        );
        assert!(decode_public_key_material("%%%").is_err());
    }

    #[test]
    fn mpints_are_minimal_and_positive() {
        let mut out = Vec::new();
        put_mpint(&mut out, &[0x00, 0x80, 0x01]);
        assert_eq!(out, [0, 0, 0, 3, 0x00, 0x80, 0x01]);
        out.clear();
        put_mpint(&mut out, &[0x00, 0x00, 0x7f]);
        assert_eq!(out, [0, 0, 0, 1, 0x7f]);
        out.clear();
        put_mpint(&mut out, &[0, 0]);
        assert_eq!(out, [0, 0, 0, 0]);
    }
}
