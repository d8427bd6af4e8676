//! A person's accounting of disclosures: the log entries about them (found through the
//! private index of subjects and patient contexts), each with its inclusion proof once a
//! published checkpoint covers it. The patient's page and the auditors' AuditEvent export
//! both read it.

use glassgate_verifier::entry::LogEntry;
use glassgate_verifier::proof_doc::TlogProof;

use super::{LogError, TransparencyLog};

/// Most entries listed at once, newest first.
pub const MAX_LISTED: u32 = 1000;

/// One entry about the person.
#[derive(Debug, Clone)]
pub struct Disclosure {
    pub index: u64,
    /// The entry's bytes, as logged (what a proof's leaf hash is computed over).
    pub bytes: Vec<u8>,
    pub entry: LogEntry,
    /// `None` until the sequencer integrates the entry (within a second or so).
    pub proof: Option<TlogProof>,
}

impl TransparencyLog {
    /// The entries about `person`, newest first, at most `limit` (capped at [`MAX_LISTED`]).
    pub async fn disclosures(&self, person: &str, limit: u32) -> Result<Vec<Disclosure>, LogError> {
        let rows = self
            .store
            .entries_about(person, limit.min(MAX_LISTED))
            .await?;
        let tree = self.published().await?;
        let mut out = Vec::with_capacity(rows.len());
        for (index, bytes) in rows {
            let entry = LogEntry::parse(&bytes)?;
            let proof = match &tree {
                Some(tree) if index < tree.size => Some(self.inclusion(tree, index).await?),
                _ => None,
            };
            out.push(Disclosure {
                index,
                bytes,
                entry,
                proof,
            });
        }
        Ok(out)
    }
}
