//! C2SP signed-note (<https://c2sp.org/signed-note>): a text, a blank line,
//! and signature lines `— <key name> base64(key ID || signature)`.

mod verify;
mod vkey;

pub use verify::{VerifiedSignature, sign_note, signature_line_ed25519, verify_note};
pub use vkey::{SignatureType, VerifierKey, key_id, valid_key_name};

use crate::error::NoteError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Largest note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// Most signature lines accepted (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;
/// Largest decoded signature (key ID included); fits post-quantum signatures.
pub const MAX_SIGNATURE_BYTES: usize = 8192;

const SIG_PREFIX: &str = "\u{2014} ";

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The key name.
    pub name: String,
    /// The 4-byte key ID, big-endian.
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl Signature {
    /// The signature line, including the final newline.
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(raw))
    }
}

/// A signed note: its text (ending in a newline) and its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<Signature>,
}

impl Note {
    /// A note with the given text and no signatures yet.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_chars(text)?;
        if text.is_empty() || !text.ends_with('\n') {
            return Err(NoteError::MalformedText);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note. Requires at least one signature line.
    pub fn parse(input: &[u8]) -> Result<Self, NoteError> {
        if input.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge(MAX_NOTE_BYTES));
        }
        let s = std::str::from_utf8(input).map_err(|_| NoteError::NotUtf8)?;
        check_chars(s)?;
        let split = s.rfind("\n\n").ok_or(NoteError::MissingSignatureBlock)?;
        let (text, sigs) = (s.get(..=split), s.get(split + 2..));
        let (Some(text), Some(sigs)) = (text, sigs) else {
            return Err(NoteError::MissingSignatureBlock);
        };
        let mut note = Self::new(text)?;
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(NoteError::MissingSignatureBlock);
        };
        if sigs.is_empty() {
            return Err(NoteError::MissingSignatureBlock);
        }
        for (i, line) in sigs.split('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures(MAX_SIGNATURES));
            }
            note.signatures.push(parse_signature_line(line, i + 1)?);
        }
        Ok(note)
    }

    /// The note text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures, in order.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Adds a signature line.
    pub fn push_signature(&mut self, sig: Signature) -> Result<(), NoteError> {
        if !valid_key_name(&sig.name) {
            return Err(NoteError::BadKeyName);
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures(MAX_SIGNATURES));
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// The serialised note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }
}

fn check_chars(s: &str) -> Result<(), NoteError> {
    if s.chars().any(|c| c.is_control() && c != '\n') {
        Err(NoteError::ControlCharacter)
    } else {
        Ok(())
    }
}

fn parse_signature_line(line: &str, n: usize) -> Result<Signature, NoteError> {
    let bad = || NoteError::MalformedSignatureLine(n);
    let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(bad)?;
    let (name, b64) = rest.split_once(' ').ok_or_else(bad)?;
    if !valid_key_name(name) {
        return Err(bad());
    }
    if b64.len() > MAX_SIGNATURE_BYTES * 4 / 3 + 4 {
        return Err(bad());
    }
    let raw = STANDARD.decode(b64).map_err(|_| bad())?;
    let (id, sig) = raw.split_first_chunk::<4>().ok_or_else(bad)?;
    if sig.is_empty() {
        return Err(bad());
    }
    Ok(Signature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes(*id),
        signature: sig.to_vec(),
    })
}

#[cfg(test)]
mod tests;
