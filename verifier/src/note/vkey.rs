//! Verifier keys (`<name>+<hex key ID>+<base64(type || public key)>`).

use crate::error::NoteError;
use crate::hash::sha256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;
use std::fmt;

/// The note signature types this crate understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// 0x01: Ed25519 over the note text (log signatures).
    Ed25519,
    /// 0x04: timestamped Ed25519 `cosignature/v1` (witness cosignatures).
    CosignatureV1,
}

impl SignatureType {
    /// The signature type byte.
    pub fn byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::CosignatureV1 => 0x04,
        }
    }
}

/// Key ID: `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let h = sha256(&[name.as_bytes(), b"\n", &[sig_type], public_key]);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// Key names are non-empty and contain no Unicode space nor `+`.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// A public key that verifies note signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    sig_type: SignatureType,
    key: VerifyingKey,
}

impl VerifierKey {
    /// A key from its parts; the key ID is derived.
    pub fn new(
        name: &str,
        sig_type: SignatureType,
        public_key: &[u8; 32],
    ) -> Result<Self, NoteError> {
        if !valid_key_name(name) {
            return Err(NoteError::BadKeyName);
        }
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| NoteError::BadVerifierKey("invalid Ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, sig_type.byte(), public_key),
            sig_type,
            key,
        })
    }

    /// Parses a vkey string; the embedded key ID must match the derived one.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        // The base64 key may itself contain '+': split off two fields only.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadVerifierKey("expected name+keyid+key"));
        };
        if hex.len() != 8
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(NoteError::BadVerifierKey(
                "key ID must be 8 lowercase hex digits",
            ));
        }
        let id =
            u32::from_str_radix(hex, 16).map_err(|_| NoteError::BadVerifierKey("bad key ID"))?;
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| NoteError::BadVerifierKey("bad base64"))?;
        let (&ty, pk) = raw
            .split_first()
            .ok_or(NoteError::BadVerifierKey("empty key"))?;
        let sig_type = match ty {
            0x01 => SignatureType::Ed25519,
            0x04 => SignatureType::CosignatureV1,
            other => return Err(NoteError::UnsupportedKeyType(other)),
        };
        let pk: &[u8; 32] = pk
            .try_into()
            .map_err(|_| NoteError::BadVerifierKey("Ed25519 key must be 32 bytes"))?;
        let k = Self::new(name, sig_type, pk)?;
        if k.key_id != id {
            return Err(NoteError::BadVerifierKey("key ID does not match the key"));
        }
        Ok(k)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }
    /// The signature type.
    pub fn signature_type(&self) -> SignatureType {
        self.sig_type
    }
    /// The Ed25519 public key bytes.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = vec![self.sig_type.byte()];
        raw.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(raw)
        )
    }
}
