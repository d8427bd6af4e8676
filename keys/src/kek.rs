//! Key-encryption key: AES-256-GCM envelope for private keys at rest, so a database dump alone
//! does not yield signing keys.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::KeyError;

const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// AES-256-GCM key-encryption key. Its `id` (hex of the first 8 bytes of SHA-256 of the key) is
/// stored with each record so a mismatch is reported as such rather than as tampering.
pub struct Kek {
    key: LessSafeKey,
    /// HMAC key over the same secret, for deriving purpose-bound secrets (see `derive_secret`).
    derivation: aws_lc_rs::hmac::Key,
    id: String,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Kek {
    fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != KEY_LEN {
            return Err(KeyError::BadKek(format!(
                "expected {KEY_LEN} bytes, got {}",
                bytes.len()
            )));
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| KeyError::BadKek("AES-256-GCM rejected the key".into()))?;
        let id = digest(&SHA256, bytes).as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            key: LessSafeKey::new(key),
            derivation: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, bytes),
            id,
        })
    }

    /// Parses 32 bytes given as standard or URL-safe base64, padded or not; whitespace around
    /// the value (a trailing newline in a file) is ignored.
    pub fn from_base64(s: &str) -> Result<Self, KeyError> {
        let s = s.trim();
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(s).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| KeyError::BadKek("value is not base64".into()))?;
        Self::from_bytes(&bytes)
    }

    /// Generates a random KEK and returns it with its standard base64 encoding (for storage).
    pub fn generate() -> Result<(Self, String), KeyError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| KeyError::crypto("random generator failed"))?;
        let kek = Self::from_bytes(bytes.as_ref())?;
        Ok((kek, STANDARD.encode(bytes.as_ref())))
    }

    /// Short public identifier of this KEK.
    /// A 32-byte secret for one named purpose (e.g. DPoP nonces), the same on every replica
    /// that holds this KEK: HMAC-SHA256(KEK, "glassgate-derive:" || label). The label keeps
    /// derived secrets apart from each other and from the wrapping key.
    pub fn derive_secret(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let tag = aws_lc_rs::hmac::sign(
            &self.derivation,
            format!("glassgate-derive:{label}").as_bytes(),
        );
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(tag.as_ref());
        out
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Encrypts `plaintext` bound to `aad`; output = nonce(12) || ciphertext || tag(16).
    pub fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::crypto("random generator failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| KeyError::crypto("AES-GCM seal failed"))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts the output of [`Kek::wrap`]; any authentication failure is [`KeyError::Unwrap`].
    pub fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if wrapped.len() < NONCE_LEN + TAG_LEN {
            return Err(KeyError::Truncated(wrapped.len()));
        }
        let (nonce, body) = wrapped.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Unwrap)?;
        let mut buf = Zeroizing::new(body.to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(aad), buf.as_mut_slice())
            .map_err(|_| KeyError::Unwrap)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_failures() {
        let (kek, b64) = Kek::generate().unwrap();
        let wrapped = kek.wrap(b"secret key bytes", b"aad").unwrap();
        assert_eq!(wrapped.len(), NONCE_LEN + 16 + TAG_LEN);
        assert_eq!(
            kek.unwrap(&wrapped, b"aad").unwrap().as_slice(),
            b"secret key bytes"
        );

        let same = Kek::from_base64(&b64).unwrap();
        assert_eq!(same.id(), kek.id());
        assert_eq!(
            same.unwrap(&wrapped, b"aad").unwrap().as_slice(),
            b"secret key bytes"
        );

        let (other, _) = Kek::generate().unwrap();
        assert_ne!(other.id(), kek.id());
        assert!(matches!(
            other.unwrap(&wrapped, b"aad"),
            Err(KeyError::Unwrap)
        ));
        assert!(matches!(
            kek.unwrap(&wrapped, b"other"),
            Err(KeyError::Unwrap)
        ));
        for i in 0..wrapped.len() {
            let mut t = wrapped.clone();
            t[i] ^= 1;
            assert!(
                matches!(kek.unwrap(&t, b"aad"), Err(KeyError::Unwrap)),
                "byte {i}"
            );
        }
        for n in 0..NONCE_LEN + TAG_LEN {
            assert!(
                matches!(kek.unwrap(&wrapped[..n], b"aad"), Err(KeyError::Truncated(l)) if l == n)
            );
        }
        // Shorter than the full blob but long enough to parse: authentication fails.
        assert!(matches!(
            kek.unwrap(&wrapped[..wrapped.len() - 1], b"aad"),
            Err(KeyError::Unwrap)
        ));
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let (kek, _) = Kek::generate().unwrap();
        let wrapped = kek.wrap(b"", b"").unwrap();
        assert!(kek.unwrap(&wrapped, b"").unwrap().is_empty());
    }

    #[test]
    fn base64_variants_and_errors() {
        let bytes: Vec<u8> = (0u8..32)
            .map(|i| i.wrapping_mul(37).wrapping_add(250))
            .collect();
        let ids: Vec<String> = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .map(|e| {
                Kek::from_base64(&format!(" {}\n", e.encode(&bytes)))
                    .unwrap()
                    .id()
                    .to_owned()
            })
            .collect();
        assert!(ids.iter().all(|id| id == &ids[0] && id.len() == 16));

        assert!(matches!(
            Kek::from_base64("not base64!!"),
            Err(KeyError::BadKek(_))
        ));
        assert!(matches!(
            Kek::from_base64(&STANDARD.encode([0u8; 16])),
            Err(KeyError::BadKek(_))
        ));
        assert!(matches!(
            Kek::from_base64(&STANDARD.encode([0u8; 33])),
            Err(KeyError::BadKek(_))
        ));
        assert!(matches!(Kek::from_base64(""), Err(KeyError::BadKek(_))));
    }

    #[test]
    fn debug_does_not_print_key() {
        let (kek, b64) = Kek::generate().unwrap();
        let dbg = format!("{kek:?}");
        assert!(dbg.contains(kek.id()));
        assert!(!dbg.contains(&b64));
    }
}
