//! Verifying and producing note signatures.

use super::{Note, Signature, SignatureType, VerifierKey, key_id, valid_key_name};
use crate::cosignature;
use crate::error::NoteError;
use ed25519_dalek::Signature as EdSignature;

/// A signature that verified against a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Position of the key in the list passed to [`verify_note`].
    pub key_index: usize,
    /// The key name.
    pub name: String,
    /// The key ID.
    pub key_id: u32,
    /// The signature type of the key.
    pub signature_type: SignatureType,
    /// For cosignatures, the cosigner's timestamp (POSIX seconds).
    pub timestamp: Option<u64>,
}

/// Verifies a note against known keys.
///
/// Signatures whose (name, key ID) match no known key are ignored. A
/// signature that matches a known key but fails to verify rejects the whole
/// note. At least one known key must have verified. Each key counts once.
/// Cosignature (0x04) keys verify over the `cosignature/v1` message built
/// from the note text, which must then be a checkpoint body.
pub fn verify_note(note: &Note, keys: &[VerifierKey]) -> Result<Vec<VerifiedSignature>, NoteError> {
    let mut verified: Vec<VerifiedSignature> = Vec::new();
    for sig in note.signatures() {
        let Some((key_index, key)) = keys
            .iter()
            .enumerate()
            .find(|(_, k)| k.name() == sig.name && k.key_id() == sig.key_id)
        else {
            continue;
        };
        let timestamp = match key.signature_type() {
            SignatureType::Ed25519 => {
                let s = EdSignature::from_slice(&sig.signature)
                    .map_err(|_| NoteError::InvalidSignature(sig.name.clone()))?;
                key.verifying_key()
                    .verify_strict(note.text().as_bytes(), &s)
                    .map_err(|_| NoteError::InvalidSignature(sig.name.clone()))?;
                None
            }
            SignatureType::CosignatureV1 => Some(
                cosignature::verify(key, note.text(), &sig.signature)
                    .map_err(|_| NoteError::InvalidSignature(sig.name.clone()))?,
            ),
        };
        if verified.iter().any(|v| v.key_index == key_index) {
            continue;
        }
        verified.push(VerifiedSignature {
            key_index,
            name: key.name().to_owned(),
            key_id: key.key_id(),
            signature_type: key.signature_type(),
            timestamp,
        });
    }
    if verified.is_empty() {
        return Err(NoteError::NoKnownSignature);
    }
    Ok(verified)
}

/// An Ed25519 (type 0x01) signature over `text` by the key `name` with
/// public key `public_key`, produced by the caller's `sign` closure (which
/// must return the RFC 8032 signature of the bytes it is given).
pub fn signature_line_ed25519(
    text: &str,
    name: &str,
    public_key: &[u8; 32],
    sign: impl Fn(&[u8]) -> [u8; 64],
) -> Result<Signature, NoteError> {
    if !valid_key_name(name) {
        return Err(NoteError::BadKeyName);
    }
    Ok(Signature {
        name: name.to_owned(),
        key_id: key_id(name, SignatureType::Ed25519.byte(), public_key),
        signature: sign(text.as_bytes()).to_vec(),
    })
}

/// A note with `text`, signed by one Ed25519 (type 0x01) key via `sign`.
pub fn sign_note(
    text: &str,
    name: &str,
    public_key: &[u8; 32],
    sign: impl Fn(&[u8]) -> [u8; 64],
) -> Result<Note, NoteError> {
    let mut note = Note::new(text)?;
    let sig = signature_line_ed25519(note.text(), name, public_key, sign)?;
    note.push_signature(sig)?;
    Ok(note)
}
