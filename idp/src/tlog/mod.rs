//! The verifiable issuance log: every token issuance, authorization decision and
//! administrative change becomes an entry (docs/log-entry.md) in an RFC 6962 tree published
//! in the C2SP tlog-tiles format, with signed checkpoints and witness cosignatures.
//!
//! Entries are *sequenced* (given an index, chained) inside the transaction that stores the
//! tokens they record; the sequencer later *integrates* them into the tree and signs a
//! checkpoint. Tree math and formats come from `glassgate-verifier`, the crate auditors run.

pub mod api;
pub mod disclosures;
pub mod event;
pub mod reader;
pub mod record;
pub mod sequencer;
pub mod tiles;
pub mod witness;

use std::sync::Arc;

use aws_lc_rs::hmac;
use glassgate_keys::{Algorithm, Kek, KeyPurpose, KeyRecord, KeyStatus, LogKey};
use glassgate_verifier::entry::{LogEntry, commitment, hex};
use glassgate_verifier::note::{Note, signature_line_ed25519};

use crate::clock;
use crate::config::Config;
use crate::store::model::{PendingEntry, TreeState};
use crate::store::{KeyWrite, LogRepository, StoreError};
pub use event::{Event, EventKind, NO_CLIENT};
use record::RecordSealer;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("log key: {0}")]
    Key(#[from] glassgate_keys::KeyError),
    #[error("private record: {0}")]
    Record(#[from] record::RecordError),
    #[error("log entry: {0}")]
    Entry(#[from] glassgate_verifier::entry::EntryError),
    #[error("signed note: {0}")]
    Note(#[from] glassgate_verifier::NoteError),
    #[error("tree: {0}")]
    Tree(String),
    /// The sequencer found storage that does not agree with what it published: it stops
    /// rather than sign anything inconsistent.
    #[error("REFUSING TO SIGN: {0}")]
    Inconsistent(String),
}

pub struct TransparencyLog {
    pub origin: String,
    /// Public URL of the read API (ends with `/`).
    pub url: String,
    key: LogKey,
    subject_key: hmac::Key,
    sealer: RecordSealer,
    pub store: Arc<dyn LogRepository>,
    pub max_batch: u64,
    /// Tiles only ever grow: proofs reuse them across requests.
    pub cache: reader::TileCache,
    published: std::sync::Mutex<Option<(std::time::Instant, TreeState)>>,
}

/// How long a read of the published tree is reused.
const PUBLISHED_TTL: std::time::Duration = std::time::Duration::from_millis(500);

impl TransparencyLog {
    /// Load (or create, once, under the key repository's lock) the Ed25519 log key.
    pub async fn open(
        config: &Config,
        kek: &Kek,
        keys: &dyn crate::store::KeyRepository,
        store: Arc<dyn LogRepository>,
    ) -> Result<Self, LogError> {
        let origin = config.log_origin();
        let now = clock::now();
        let planner = |records: &[KeyRecord]| -> Result<Vec<KeyWrite>, String> {
            if records.iter().any(|r| r.status == KeyStatus::Current) {
                return Ok(Vec::new());
            }
            KeyRecord::generate(
                Algorithm::EdDsa,
                KeyPurpose::LogSigning,
                KeyStatus::Current,
                now,
                kek,
            )
            .map(|k| vec![KeyWrite::Insert(k)])
            .map_err(|e| e.to_string())
        };
        keys.rotate(KeyPurpose::LogSigning, &planner).await?;
        let records = keys.list(KeyPurpose::LogSigning).await?;
        let current = records
            .iter()
            .rev()
            .find(|r| r.status == KeyStatus::Current)
            .ok_or_else(|| LogError::Tree("no current log key".into()))?;
        let key = LogKey::from_record(current, kek, &origin)?;
        let subject_secret = kek.derive_secret("log-subject");
        let record_secret = kek.derive_secret("log-records");
        Ok(Self {
            url: config.endpoint(&config.log.prefix),
            origin,
            key,
            subject_key: hmac::Key::new(hmac::HMAC_SHA256, subject_secret.as_ref()),
            sealer: RecordSealer::new(&record_secret)?,
            store,
            max_batch: config.log.max_batch.max(1),
            cache: reader::TileCache::new(config.log.tile_cache_mib.saturating_mul(1 << 20)),
            published: std::sync::Mutex::new(None),
        })
    }

    /// The C2SP verifier key of the log (published in discovery).
    pub fn vkey(&self) -> String {
        self.key.vkey()
    }

    /// Turn an event into an entry awaiting its index: public facts, the keyed subject
    /// commitment, the `jti` hash, and the sealed private record it commits to.
    pub fn entry(&self, event: Event, issuer: &str) -> Result<PendingEntry, LogError> {
        let mut salt = [0u8; 32];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| LogError::Tree("CSPRNG failure".into()))?;
        let about = event.about();
        let mut record = event.record;
        if let (Some(patient), Some(object)) = (&event.patient, record.as_object_mut()) {
            object.insert("patient".into(), patient.clone().into());
        }
        if let (Some(subject), Some(object)) = (&event.subject, record.as_object_mut()) {
            object.insert("subject".into(), subject.clone().into());
        }
        if let (Some(jti), Some(object)) = (&event.jti, record.as_object_mut()) {
            object.insert("jti".into(), jti.clone().into());
        }
        let record = serde_json::to_vec(&record).map_err(|e| LogError::Tree(e.to_string()))?;
        let commit = hex(&commitment(&salt, &record));
        let jti_hash = event.jti.as_deref().map(jti_hash);
        let entry = LogEntry {
            v: 1,
            event: event.kind.as_str().to_owned(),
            time: clock::now().div_euclid(60) * 60,
            iss: issuer.to_owned(),
            client: event.client,
            org: event.org,
            npi: event.npi,
            purpose: event.purpose,
            acr: event.acr,
            amr: event.amr,
            ial: event.ial,
            decision: event.decision,
            refusal: event.refusal,
            subject: event
                .subject
                .map(|s| hex(hmac::sign(&self.subject_key, s.as_bytes()).as_ref())),
            jti: jti_hash.clone(),
            commit: commit.clone(),
            prev: String::new(),
        };
        Ok(PendingEntry {
            sealed_record: self.sealer.seal(&salt, &record, &commit)?,
            entry,
            jti_hash,
            about,
        })
    }

    /// The tlog-proof@v1 document proving the entry at `index` is in `tree` (the caller
    /// checks `index < tree.size`).
    pub async fn inclusion(
        &self,
        tree: &TreeState,
        index: u64,
    ) -> Result<glassgate_verifier::proof_doc::TlogProof, LogError> {
        let inclusion = self
            .cache
            .compute(self.store.as_ref(), tree.size, |r| {
                glassgate_verifier::tree::inclusion_proof(index, tree.size, r)
            })
            .await?;
        Ok(glassgate_verifier::proof_doc::TlogProof {
            extra: None,
            index,
            inclusion,
            checkpoint: tree.checkpoint.clone(),
        })
    }

    /// Open the private record of the entry at `index` (for auditors and the subject).
    pub async fn open_record(&self, index: u64) -> Result<Option<record::OpenedRecord>, LogError> {
        let Some(sealed) = self.store.sealed_record(index).await? else {
            return Ok(None);
        };
        let entries = self.store.entries(index, index + 1).await?;
        let Some(bytes) = entries.first() else {
            return Ok(None);
        };
        let entry = LogEntry::parse(bytes)?;
        Ok(Some(self.sealer.open(&sealed, &entry.commit)?))
    }

    /// Sign a checkpoint body for `size` and `root`.
    pub fn sign_checkpoint(&self, size: u64, root: &[u8; 32]) -> Result<String, LogError> {
        use base64::Engine;
        let text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            size,
            base64::engine::general_purpose::STANDARD.encode(root)
        );
        let signature = self.key.sign(text.as_bytes())?;
        let mut note = Note::new(&text)?;
        note.push_signature(signature_line_ed25519(
            &text,
            self.key.name(),
            &self.key.public_key(),
            |_| signature,
        )?)?;
        Ok(note.to_text())
    }

    /// The latest published tree, with witness cosignatures appended to its checkpoint.
    /// Read through a short-lived cache: proofs are served far more often than checkpoints
    /// change, and a checkpoint a moment old is still a valid one to prove against.
    pub async fn published(&self) -> Result<Option<TreeState>, LogError> {
        if let Ok(cached) = self.published.lock()
            && let Some((at, tree)) = cached.as_ref()
            && at.elapsed() < PUBLISHED_TTL
        {
            return Ok(Some(tree.clone()));
        }
        let tree = self.load_published().await?;
        if let (Some(tree), Ok(mut cached)) = (&tree, self.published.lock()) {
            *cached = Some((std::time::Instant::now(), tree.clone()));
        }
        Ok(tree)
    }

    async fn load_published(&self) -> Result<Option<TreeState>, LogError> {
        let Some(mut tree) = self.store.tree().await? else {
            return Ok(None);
        };
        for line in self.store.cosignatures(tree.size).await? {
            tree.checkpoint.push_str(&line);
            if !line.ends_with('\n') {
                tree.checkpoint.push('\n');
            }
        }
        Ok(Some(tree))
    }
}

/// Lowercase hex SHA-256 of a token `jti`: how entries and proof look-ups name tokens.
pub fn jti_hash(jti: &str) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, jti.as_bytes()).as_ref())
}
