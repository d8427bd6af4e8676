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
    published: CachedTree,
    /// Witnesses are configured: the checkpoint served is the newest one they cosigned.
    witnessed: bool,
    cosigned: CachedTree,
}

/// How long a read of the published tree is reused.
const PUBLISHED_TTL: std::time::Duration = std::time::Duration::from_millis(500);

/// A tree read from storage, reused for [`PUBLISHED_TTL`]: proofs are served far more often
/// than checkpoints change, and a checkpoint a moment old is still a valid one to prove
/// against.
#[derive(Default)]
struct CachedTree(std::sync::Mutex<Option<(std::time::Instant, TreeState)>>);

impl CachedTree {
    fn fresh(&self) -> Option<TreeState> {
        let cached = self.0.lock().ok()?;
        let (at, tree) = cached.as_ref()?;
        (at.elapsed() < PUBLISHED_TTL).then(|| tree.clone())
    }

    fn keep(&self, tree: &Option<TreeState>) {
        if let (Some(tree), Ok(mut cached)) = (tree, self.0.lock()) {
            *cached = Some((std::time::Instant::now(), tree.clone()));
        }
    }
}

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
            published: CachedTree::default(),
            witnessed: !config.log.witnesses.is_empty(),
            cosigned: CachedTree::default(),
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
        if let Some(object) = record.as_object_mut() {
            for (name, value) in [
                ("patient", &event.patient),
                ("subject", &event.subject),
                ("jti", &event.jti),
                ("id_jti", &event.id_jti),
            ] {
                if let Some(value) = value {
                    object.insert(name.into(), value.clone().into());
                }
            }
        }
        let record = serde_json::to_vec(&record).map_err(|e| LogError::Tree(e.to_string()))?;
        let commit = hex(&commitment(&salt, &record));
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
            jti: event.jti.as_deref().map(jti_hash),
            id_jti: event.id_jti.as_deref().map(jti_hash),
            commit: commit.clone(),
            prev: String::new(),
        };
        Ok(PendingEntry {
            sealed_record: self.sealer.seal(&salt, &record, &commit)?,
            entry,
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

    /// The latest published tree, with any witness cosignatures appended to its checkpoint.
    pub async fn published(&self) -> Result<Option<TreeState>, LogError> {
        self.published_covering(0).await
    }

    /// The published tree, read again from storage when the cached one is smaller than
    /// `size`. Behind a load balancer a client may hold a checkpoint another replica
    /// published a moment ago, and every tile and proof of a published checkpoint must be
    /// served (tlog-tiles), so "beyond the published tree" is only said after a fresh read.
    pub async fn published_covering(&self, size: u64) -> Result<Option<TreeState>, LogError> {
        if let Some(tree) = self.published.fresh().filter(|tree| tree.size >= size) {
            return Ok(Some(tree));
        }
        let tree = self.load_published().await?;
        self.published.keep(&tree);
        Ok(tree)
    }

    /// The checkpoint to hand out: with witnesses configured, the newest one a witness has
    /// cosigned, with its cosignatures. Checkpoints are published every tick and witnesses
    /// answer later, so the newest checkpoint rarely carries a cosignature yet; a client
    /// checking a witness policy needs one that does. Until any is cosigned, the newest.
    pub async fn witnessed(&self) -> Result<Option<TreeState>, LogError> {
        if !self.witnessed {
            return self.published().await;
        }
        if let Some(tree) = self.cosigned.fresh() {
            return Ok(Some(tree));
        }
        let tree = match self.store.cosigned_tree().await? {
            Some(tree) => Some(self.with_cosignatures(tree).await?),
            None => return self.published().await,
        };
        self.cosigned.keep(&tree);
        Ok(tree)
    }

    async fn load_published(&self) -> Result<Option<TreeState>, LogError> {
        match self.store.tree().await? {
            Some(tree) => Ok(Some(self.with_cosignatures(tree).await?)),
            None => Ok(None),
        }
    }

    async fn with_cosignatures(&self, mut tree: TreeState) -> Result<TreeState, LogError> {
        for line in self.store.cosignatures(tree.size).await? {
            tree.checkpoint.push_str(&line);
            if !line.ends_with('\n') {
                tree.checkpoint.push('\n');
            }
        }
        Ok(tree)
    }
}

/// How entries and proof look-ups name tokens: the auditor's tool computes it the same way.
pub use glassgate_verifier::entry::jti_hash;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::Issuance;

    /// A SQLite store in `dir` and the key-encryption key its log is opened with.
    async fn open_store(dir: &std::path::Path) -> (Config, crate::store::Store, Kek) {
        let config = Config {
            data_dir: dir.to_owned(),
            ..Config::default()
        };
        let store = crate::store::open(&config).await.unwrap();
        let (kek, _) = Kek::generate().unwrap();
        (config, store, kek)
    }

    async fn open_log(config: &Config, store: &crate::store::Store, kek: &Kek) -> TransparencyLog {
        TransparencyLog::open(config, kek, store.keys.as_ref(), store.log.clone())
            .await
            .unwrap()
    }

    /// Two replicas over one database: the second has cached an older checkpoint when the
    /// first publishes a larger one, and still serves the larger one's tiles and proofs.
    #[tokio::test]
    async fn a_replica_with_an_older_cached_checkpoint_covers_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let (config, store, kek) = open_store(dir.path()).await;
        let first = open_log(&config, &store, &kek).await;
        let second = open_log(&config, &store, &kek).await;
        append(&first, &store, &config, 1).await;
        sequencer::integrate_once(&first).await.unwrap();
        assert_eq!(second.published().await.unwrap().unwrap().size, 1);

        append(&first, &store, &config, 2).await;
        sequencer::integrate_once(&first).await.unwrap();
        assert_eq!(
            second.published().await.unwrap().unwrap().size,
            1,
            "the second replica's cached checkpoint is still the older one"
        );
        assert_eq!(second.published_covering(2).await.unwrap().unwrap().size, 2);
        assert_eq!(
            second.published_covering(3).await.unwrap().unwrap().size,
            2,
            "beyond what anyone published: the newest tree, for the caller to refuse"
        );
    }

    /// Property: over integrations of batches of many sizes (empty, one, across tile
    /// boundaries), every signed checkpoint is consistent with the one before it and its root
    /// is the RFC 6962 root of the stored entries.
    #[tokio::test]
    async fn every_published_checkpoint_is_consistent_with_the_previous_one() {
        use glassgate_verifier::checkpoint::open_checkpoint;
        use glassgate_verifier::note::VerifierKey;
        use glassgate_verifier::proof::verify_consistency;
        use glassgate_verifier::tree::{consistency_proof, root_from_entries};

        let dir = tempfile::tempdir().unwrap();
        let (config, store, kek) = open_store(dir.path()).await;
        let log = open_log(&config, &store, &kek).await;
        let vkey = VerifierKey::parse(&log.vkey()).unwrap();
        let mut previous: Option<TreeState> = None;
        let mut appended = 0u32;
        // A fixed linear congruential sequence: the same batch sizes on every run.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for round in 0..24 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let batch = u32::try_from(seed >> 58).unwrap() + if round == 9 { 300 } else { 0 };
            append_batch(&log, &store, &config, appended, batch).await;
            appended += batch;
            let Some(tree) = sequencer::integrate_once(&log).await.unwrap() else {
                assert_eq!(batch, 0, "round {round}: nothing integrated");
                continue;
            };
            let opened = open_checkpoint(tree.checkpoint.as_bytes(), &vkey, &[]).unwrap();
            assert_eq!(
                (opened.checkpoint.size, opened.checkpoint.root),
                (tree.size, tree.root)
            );
            let entries = store.log.entries(0, tree.size).await.unwrap();
            assert_eq!(root_from_entries(&entries), tree.root, "round {round}");
            if let Some(old) = previous.filter(|old| old.size > 0) {
                let proof = log
                    .cache
                    .compute(store.log.as_ref(), tree.size, |r| {
                        consistency_proof(old.size, tree.size, r)
                    })
                    .await
                    .unwrap();
                verify_consistency(old.size, tree.size, &proof, &old.root, &tree.root)
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
            previous = Some(tree);
        }
        assert!(appended > 256, "the run crossed a tile boundary");
    }

    async fn append(log: &TransparencyLog, store: &crate::store::Store, config: &Config, n: u32) {
        append_batch(log, store, config, n, 1).await;
    }

    /// `count` entries committed together, numbered from `first`.
    async fn append_batch(
        log: &TransparencyLog,
        store: &crate::store::Store,
        config: &Config,
        first: u32,
        count: u32,
    ) {
        if count == 0 {
            return;
        }
        let batch: Vec<Issuance> = (first..first + count)
            .map(|n| {
                let event =
                    Event::new(EventKind::TokenIssued, "client").with_jti(&format!("jti-{n}"));
                Issuance {
                    at: clock::now(),
                    log: vec![log.entry(event, &config.issuer).unwrap()],
                    ..Issuance::default()
                }
            })
            .collect();
        store.tokens.commit(&batch).await.unwrap();
    }
}
