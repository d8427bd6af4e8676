//! C2SP tlog-witness client: each new checkpoint goes to every configured witness with a
//! consistency proof from the size that witness last cosigned; verified cosignatures are
//! stored and served on the checkpoint. Issuance never waits for any of this.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use glassgate_verifier::cosignature;
use glassgate_verifier::note::{Note, VerifierKey};
use glassgate_verifier::tree::consistency_proof;

use super::reader::{FromStore, compute_with};
use super::{LogError, TransparencyLog};
use crate::config::WitnessSettings;
use crate::store::model::TreeState;

struct Witness {
    key: VerifierKey,
    url: String,
    /// The size this witness last cosigned (0: unknown, it will tell us with a 409).
    cosigned: Mutex<u64>,
    /// One submission at a time per witness; a newer checkpoint simply waits for the next tick.
    busy: tokio::sync::Mutex<()>,
    /// When the published checkpoint was last sent again for want of this witness's
    /// cosignature (see [`Witnesses::resubmit_uncosigned`]).
    retried: Mutex<Option<Instant>>,
}

/// How often a published checkpoint the witness has not cosigned is sent again: a failed
/// submission, or one skipped while the witness was busy, is otherwise never retried when
/// no newer checkpoint follows, and the log's head would stay unwitnessed.
const RETRY_EVERY: Duration = Duration::from_secs(5);

pub struct Witnesses {
    http: reqwest::Client,
    witnesses: Vec<Arc<Witness>>,
}

impl Witnesses {
    pub fn new(settings: &[WitnessSettings]) -> Result<Self, String> {
        let witnesses = settings
            .iter()
            .map(|w| {
                let key = VerifierKey::parse(&w.vkey)
                    .map_err(|e| format!("witness vkey {}: {e}", w.vkey))?;
                let url = format!("{}/add-checkpoint", w.url.trim_end_matches('/'));
                Ok(Arc::new(Witness {
                    key,
                    url,
                    cosigned: Mutex::new(0),
                    busy: tokio::sync::Mutex::new(()),
                    retried: Mutex::new(None),
                }))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http, witnesses })
    }

    pub fn is_empty(&self) -> bool {
        self.witnesses.is_empty()
    }

    /// Send `tree`'s checkpoint to every witness, in the background.
    pub fn submit(&self, log: Arc<TransparencyLog>, tree: TreeState) {
        self.submit_to(log, tree, |_| true);
    }

    /// Send the published `tree` again to each witness whose cosignature it lacks, at most
    /// every [`RETRY_EVERY`] per witness; called when the sequencer has nothing new.
    pub fn resubmit_uncosigned(&self, log: Arc<TransparencyLog>, tree: TreeState) {
        let Ok(note) = Note::parse(tree.checkpoint.as_bytes()) else {
            return;
        };
        self.submit_to(log, tree, |witness| {
            let cosigned = note
                .signatures()
                .iter()
                .any(|s| s.name == witness.key.name() && s.key_id == witness.key.key_id());
            let mut retried = witness.retried.lock().unwrap_or_else(|p| p.into_inner());
            if cosigned || retried.is_some_and(|at| at.elapsed() < RETRY_EVERY) {
                return false;
            }
            *retried = Some(Instant::now());
            true
        });
    }

    fn submit_to(
        &self,
        log: Arc<TransparencyLog>,
        tree: TreeState,
        wanted: impl Fn(&Witness) -> bool,
    ) {
        for witness in self.witnesses.iter().filter(|w| wanted(w)) {
            let (http, witness, log, tree) = (
                self.http.clone(),
                witness.clone(),
                log.clone(),
                tree.clone(),
            );
            tokio::spawn(async move {
                let Ok(_turn) = witness.busy.try_lock() else {
                    return;
                };
                if let Err(e) = submit_one(&http, &witness, &log, &tree).await {
                    tracing::warn!(witness = witness.key.name(), error = %e, "witness submission failed");
                }
            });
        }
    }
}

async fn submit_one(
    http: &reqwest::Client,
    witness: &Witness,
    log: &TransparencyLog,
    tree: &TreeState,
) -> Result<(), LogError> {
    let mut old = *witness.cosigned.lock().unwrap_or_else(|p| p.into_inner());
    for _ in 0..2 {
        let mut body = format!("old {old}\n");
        if old > 0 && old < tree.size {
            let mut loaded = std::collections::HashMap::new();
            let store = &mut FromStore(log.store.as_ref());
            let proof = compute_with(&mut loaded, store, tree.size, |r| {
                consistency_proof(old, tree.size, r)
            })
            .await?;
            for hash in proof {
                body.push_str(&base64::engine::general_purpose::STANDARD.encode(hash));
                body.push('\n');
            }
        }
        body.push('\n');
        body.push_str(&tree.checkpoint);
        let response = http
            .post(&witness.url)
            .body(body)
            .send()
            .await
            .map_err(|e| LogError::Tree(e.to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| LogError::Tree(e.to_string()))?;
        match status {
            200 => return store_cosignatures(witness, log, tree, &text).await,
            409 => {
                old = text
                    .trim()
                    .parse()
                    .map_err(|_| LogError::Tree("witness sent a malformed 409 size".into()))?;
                if old > tree.size {
                    return Err(LogError::Tree(format!(
                        "witness has cosigned size {old}, beyond ours"
                    )));
                }
            }
            other => {
                return Err(LogError::Tree(format!(
                    "witness answered {other}: {}",
                    text.trim()
                )));
            }
        }
    }
    Err(LogError::Tree("witness kept answering 409".into()))
}

/// Keep only cosignatures that verify with the configured witness key.
async fn store_cosignatures(
    witness: &Witness,
    log: &TransparencyLog,
    tree: &TreeState,
    lines: &str,
) -> Result<(), LogError> {
    let note = Note::parse(tree.checkpoint.as_bytes())?;
    let candidate = format!("{}\n{}", note.text(), lines);
    let cosigned = Note::parse(candidate.as_bytes())?;
    let mut stored = false;
    for signature in cosigned.signatures() {
        if signature.name != witness.key.name() || signature.key_id != witness.key.key_id() {
            continue;
        }
        cosignature::verify(&witness.key, note.text(), &signature.signature)
            .map_err(|e| LogError::Tree(format!("witness cosignature does not verify: {e}")))?;
        log.store
            .add_cosignature(tree.size, witness.key.name(), &signature.to_line())
            .await?;
        stored = true;
    }
    if !stored {
        return Err(LogError::Tree(
            "witness answered 200 without a cosignature of its key".into(),
        ));
    }
    *witness.cosigned.lock().unwrap_or_else(|p| p.into_inner()) = tree.size;
    Ok(())
}
