//! C2SP tlog-proof@v1 (<https://c2sp.org/tlog-proof>): an offline proof that
//! an entry is in a log, carrying the index, inclusion proof and the
//! (co)signed checkpoint.

use crate::checkpoint::{Checkpoint, decode_hash, open_checkpoint, parse_decimal};
use crate::error::ProofDocError;
use crate::hash::Hash;
use crate::note::{VerifiedSignature, VerifierKey};
use crate::policy::Policy;
use crate::proof::verify_inclusion;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The first line of every proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Most inclusion proof hashes (a tree below 2^64 leaves needs at most 64).
pub const MAX_PROOF_HASHES: usize = 64;
/// Largest proof document accepted, in bytes.
pub const MAX_PROOF_BYTES: usize = 2 << 20;

/// A parsed tlog-proof document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated application data.
    pub extra: Option<Vec<u8>>,
    /// Zero-based index of the entry.
    pub index: u64,
    /// Inclusion proof, leaf sibling first.
    pub inclusion: Vec<Hash>,
    /// The checkpoint note, verbatim.
    pub checkpoint: String,
}

/// The result of verifying a proof.
#[derive(Debug, Clone)]
pub struct VerifiedProof {
    pub checkpoint: Checkpoint,
    /// Every signature that verified (log and witnesses).
    pub signatures: Vec<VerifiedSignature>,
    /// Policy witnesses that cosigned (empty without a policy).
    pub witnesses: Vec<String>,
}

impl TlogProof {
    /// Parses a proof document.
    pub fn parse(bytes: &[u8]) -> Result<Self, ProofDocError> {
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(ProofDocError::TooLarge(MAX_PROOF_BYTES));
        }
        let s = std::str::from_utf8(bytes).map_err(|_| ProofDocError::NotUtf8)?;
        let (header, mut rest) = s.split_once('\n').ok_or(ProofDocError::BadHeader)?;
        if header != HEADER {
            return Err(ProofDocError::BadHeader);
        }
        let mut line = next_line(&mut rest).ok_or(ProofDocError::BadIndex)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            let raw = STANDARD.decode(b64).map_err(|_| ProofDocError::BadExtra)?;
            if raw.is_empty() {
                return Err(ProofDocError::BadExtra);
            }
            extra = Some(raw);
            line = next_line(&mut rest).ok_or(ProofDocError::BadIndex)?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(ProofDocError::BadIndex)?;
        let mut inclusion = Vec::new();
        let mut line_no = if extra.is_some() { 3 } else { 2 };
        loop {
            line_no += 1;
            let l = next_line(&mut rest).ok_or(ProofDocError::MissingCheckpoint)?;
            if l.is_empty() {
                break;
            }
            if inclusion.len() >= MAX_PROOF_HASHES {
                return Err(ProofDocError::TooManyHashes(MAX_PROOF_HASHES));
            }
            inclusion.push(decode_hash(l).ok_or(ProofDocError::BadHash(line_no))?);
        }
        if rest.is_empty() {
            return Err(ProofDocError::MissingCheckpoint);
        }
        Ok(Self {
            extra,
            index,
            inclusion,
            checkpoint: rest.to_owned(),
        })
    }

    /// Serialises the proof document.
    pub fn to_text(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(e) = &self.extra {
            s.push_str(&format!("extra {}\n", STANDARD.encode(e)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.inclusion {
            s.push_str(&STANDARD.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Verifies the proof for the entry whose leaf hash is `leaf_hash`: the
    /// checkpoint is signed by `log_key` (named as the origin), satisfies
    /// `policy` if given, and includes the leaf at `index`.
    pub fn verify(
        &self,
        leaf_hash: &Hash,
        log_key: &VerifierKey,
        policy: Option<&Policy>,
    ) -> Result<VerifiedProof, ProofDocError> {
        let witness_keys: Vec<VerifierKey> = policy
            .map(|p| p.witnesses.iter().map(|w| w.key.clone()).collect())
            .unwrap_or_default();
        let opened = open_checkpoint(self.checkpoint.as_bytes(), log_key, &witness_keys)?;
        let witnesses = match policy {
            Some(p) => {
                p.verify_checkpoint_of(self.checkpoint.as_bytes(), log_key)?
                    .witnesses
            }
            None => Vec::new(),
        };
        let cp = opened.checkpoint;
        verify_inclusion(leaf_hash, self.index, cp.size, &self.inclusion, &cp.root)?;
        Ok(VerifiedProof {
            checkpoint: cp,
            signatures: opened.signatures,
            witnesses,
        })
    }
}

fn next_line<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let (line, tail) = rest.split_once('\n')?;
    *rest = tail;
    Some(line)
}

#[cfg(test)]
mod tests;
