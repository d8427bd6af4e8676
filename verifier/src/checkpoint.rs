//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>): the note text
//! `<origin>\n<size>\n<base64 root>\n[<extension>\n]*`.

use crate::error::CheckpointError;
use crate::hash::Hash;
use crate::note::{Note, VerifiedSignature, VerifierKey, verify_note};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Most extension lines accepted.
pub const MAX_EXTENSION_LINES: usize = 32;

/// A parsed checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log identity, e.g. `oidc-log.example.org/2026`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash.
    pub root: Hash,
    /// Opaque extension lines (NOT RECOMMENDED; usually empty).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Parses a checkpoint body (the note text, final newline included).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::NoFinalNewline)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::MissingLines);
        };
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(CheckpointError::BadOrigin);
        }
        let size = parse_decimal(size).ok_or(CheckpointError::BadSize)?;
        let root = decode_hash(root).ok_or(CheckpointError::BadRoot)?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension);
            }
            if extensions.len() >= MAX_EXTENSION_LINES {
                return Err(CheckpointError::TooManyExtensions(MAX_EXTENSION_LINES));
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The checkpoint body, ready to be signed as note text.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }
}

/// A checkpoint note that verified against a log key.
#[derive(Debug, Clone)]
pub struct VerifiedCheckpoint {
    /// The checkpoint body.
    pub checkpoint: Checkpoint,
    /// The note as received.
    pub note: Note,
    /// Signatures that verified (the log's, and any known cosigners').
    pub signatures: Vec<VerifiedSignature>,
}

/// Parses and verifies a checkpoint note signed by `log_key`, whose name must
/// equal the origin. `cosigners` are verified too (but not required).
pub fn open_checkpoint(
    note_bytes: &[u8],
    log_key: &VerifierKey,
    cosigners: &[VerifierKey],
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let note = Note::parse(note_bytes)?;
    let checkpoint = Checkpoint::parse(note.text())?;
    if checkpoint.origin != log_key.name() {
        return Err(CheckpointError::OriginMismatch {
            origin: checkpoint.origin,
            key: log_key.name().to_owned(),
        });
    }
    let mut keys = vec![log_key.clone()];
    keys.extend_from_slice(cosigners);
    let signatures = verify_note(&note, &keys)?;
    if !signatures.iter().any(|s| s.key_index == 0) {
        return Err(crate::error::NoteError::NoKnownSignature.into());
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        note,
        signatures,
    })
}

/// ASCII decimal with no leading zeros ("0" allowed), fitting in u64.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// Canonical standard base64 of exactly 32 bytes.
pub(crate) fn decode_hash(s: &str) -> Option<Hash> {
    let raw = STANDARD.decode(s).ok()?;
    let h: Hash = raw.try_into().ok()?;
    (STANDARD.encode(h) == s).then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Format example of C2SP/C2SP tlog-checkpoint.md (CC BY 4.0).
    const SPEC_BODY: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn parse_and_format_round_trip() {
        let c = Checkpoint::parse(SPEC_BODY).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20852163);
        assert!(c.extensions.is_empty());
        assert_eq!(c.to_text(), SPEC_BODY);
        let ext = format!("{SPEC_BODY}ext one\n");
        assert_eq!(Checkpoint::parse(&ext).unwrap().to_text(), ext);
    }

    #[test]
    fn malformed_checkpoints_are_rejected() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let cases = [
            ("o\n1\n".to_owned(), CheckpointError::MissingLines),
            (format!("o\n1\n{root}"), CheckpointError::NoFinalNewline),
            (format!("\n1\n{root}\n"), CheckpointError::BadOrigin),
            (format!("o\n01\n{root}\n"), CheckpointError::BadSize),
            (format!("o\n-1\n{root}\n"), CheckpointError::BadSize),
            (format!("o\n+1\n{root}\n"), CheckpointError::BadSize),
            (format!("o\n\n{root}\n"), CheckpointError::BadSize),
            (
                format!("o\n18446744073709551616\n{root}\n"),
                CheckpointError::BadSize,
            ),
            ("o\n1\nAAAA\n".to_owned(), CheckpointError::BadRoot),
            (
                "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n".to_owned(),
                CheckpointError::BadRoot,
            ),
            (format!("o\n1\n{root}\n\n"), CheckpointError::EmptyExtension),
            (
                format!("o\n1\n{root}\na\n\nb\n"),
                CheckpointError::EmptyExtension,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
        }
        let many = format!("o\n1\n{root}\n{}", "x\n".repeat(MAX_EXTENSION_LINES + 1));
        assert_eq!(
            Checkpoint::parse(&many),
            Err(CheckpointError::TooManyExtensions(MAX_EXTENSION_LINES))
        );
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
    }
}
