//! Ed25519 key for C2SP signed notes (transparency-log checkpoints). Kept apart from token keys
//! because its rotation is a ceremony, not a schedule.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::KeyPair;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::{Algorithm, Kek, KeyError, KeyPurpose, KeyRecord, SoftwareSigner};

/// C2SP signed-note signature type for Ed25519.
const SIG_TYPE_ED25519: u8 = 0x01;

/// A log signing key with its note name.
pub struct LogKey {
    name: String,
    signer: SoftwareSigner,
    public: [u8; 32],
    key_id: [u8; 4],
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKey")
            .field("vkey", &self.vkey())
            .finish_non_exhaustive()
    }
}

/// C2SP key ID: first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
pub fn note_key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut input = Vec::with_capacity(name.len() + 2 + public.len());
    input.extend_from_slice(name.as_bytes());
    input.extend_from_slice(&[b'\n', SIG_TYPE_ED25519]);
    input.extend_from_slice(public);
    let hash = digest(&SHA256, &input);
    let mut id = [0u8; 4];
    id.copy_from_slice(&hash.as_ref()[..4]);
    id
}

impl LogKey {
    /// Unwraps a LogSigning EdDSA record. `name` must be a valid note key name: non-empty,
    /// no whitespace or '+' (C2SP signed-note).
    pub fn from_record(record: &KeyRecord, kek: &Kek, name: &str) -> Result<Self, KeyError> {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
            return Err(KeyError::Encoding(format!(
                "invalid note key name {name:?}"
            )));
        }
        if record.purpose != KeyPurpose::LogSigning {
            return Err(KeyError::WrongPurpose {
                kid: record.kid.clone(),
                purpose: record.purpose.as_str(),
                expected: KeyPurpose::LogSigning.as_str(),
            });
        }
        if record.algorithm != Algorithm::EdDsa {
            return Err(KeyError::UnsupportedAlgorithm(record.algorithm));
        }
        let signer = record.signer(kek)?;
        let public: [u8; 32] = signer
            .ed25519()
            .and_then(|k| k.public_key().as_ref().try_into().ok())
            .ok_or_else(|| KeyError::crypto("Ed25519 public key is not 32 bytes"))?;
        Ok(Self {
            name: name.to_owned(),
            key_id: note_key_id(name, &public),
            signer,
            public,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// Verifier key string "<name>+<hex key id>+<base64(0x01 || public key)>".
    pub fn vkey(&self) -> String {
        let mut typed = Vec::with_capacity(33);
        typed.push(SIG_TYPE_ED25519);
        typed.extend_from_slice(&self.public);
        let hex: String = self.key_id.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}+{hex}+{}", self.name, STANDARD.encode(typed))
    }

    /// Raw Ed25519 signature over `message` (the note text).
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError> {
        let key = self
            .signer
            .ed25519()
            .ok_or(KeyError::UnsupportedAlgorithm(Algorithm::EdDsa))?;
        let sig = key
            .try_sign(message)
            .map_err(|_| KeyError::crypto("Ed25519 signing failed"))?;
        sig.as_ref()
            .try_into()
            .map_err(|_| KeyError::crypto("Ed25519 signature is not 64 bytes"))
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }
}
