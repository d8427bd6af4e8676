//! The auditor's monitor: fetch a tlog-tiles log and check it.
//!
//! [`monitor`] fetches `checkpoint`, verifies it against the log key (and a
//! tlog-policy quorum if given), then walks the entry bundles and hash tiles
//! for the checkpoint's size (C2SP tlog-tiles: full tiles of 256 hashes and
//! the partial widths `floor(size / 256^L) mod 256`). It recomputes the
//! tree from the entries and checks:
//!
//! - the recomputed root equals the checkpoint root;
//! - every fetched hash tile equals the recomputed hashes;
//! - every entry is a canonical Glassgate v1 entry whose `prev` is the hex
//!   SHA-256 of the previous entry (entry 0: [`crate::entry::GENESIS_PREV`]);
//! - against a remembered [`MonitorState`]: the log did not shrink and the
//!   tree at the remembered size still has the remembered root.
//!
//! A remembered state carries the walk's [`WalkFrontier`] at the last full
//! bundle it verified; the next run resumes there, so it fetches only what
//! was appended since (plus the partial bundle and tiles at the edge). An
//! auditor who wants every entry fetched again drops the frontier
//! (`verifier monitor --full`); the remembered root is still checked.
//!
//! The walk is streaming: memory is `O(256 · tile levels)` plus one entry
//! bundle, whatever the log size. Every problem is collected as a specific
//! message in [`MonitorReport::errors`]; only fetch failures abort
//! ([`FetchError`]).

mod frontier;
mod http;
mod publish;
mod state;
mod walk;

pub use frontier::WalkFrontier;
pub use http::HttpFetcher;
pub use publish::tile_resources;
pub(crate) use state::write_atomic;
pub use state::{MonitorState, StateError};

use crate::checkpoint::{Checkpoint, open_checkpoint};
use crate::error::{CheckpointError, NoteError, PolicyError};
use crate::hash::{EMPTY_ROOT, Hash};
use crate::note::VerifierKey;
use crate::policy::Policy;
use walk::Walk;

/// Most error messages kept in a report; further ones are counted.
pub const MAX_REPORTED_ERRORS: usize = 200;

/// Read access to a log's tlog-tiles resources (`checkpoint`,
/// `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`), by path relative to
/// the log prefix.
pub trait Fetch {
    /// Returns the resource's bytes.
    fn fetch(&self, path: &str) -> Result<Vec<u8>, FetchError>;
}

/// A resource could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The log answered that the resource does not exist (HTTP 404).
    #[error("{0}: not found")]
    NotFound(String),
    /// Any other failure: network, HTTP status, body too large.
    #[error("{path}: {message}")]
    Failed { path: String, message: String },
}

impl<S: std::hash::BuildHasher> Fetch for std::collections::HashMap<String, Vec<u8>, S> {
    fn fetch(&self, path: &str) -> Result<Vec<u8>, FetchError> {
        self.get(path)
            .cloned()
            .ok_or_else(|| FetchError::NotFound(path.to_owned()))
    }
}

impl Fetch for std::collections::BTreeMap<String, Vec<u8>> {
    fn fetch(&self, path: &str) -> Result<Vec<u8>, FetchError> {
        self.get(path)
            .cloned()
            .ok_or_else(|| FetchError::NotFound(path.to_owned()))
    }
}

/// The outcome of one monitor run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonitorReport {
    /// The checkpoint's origin, once it parsed.
    pub origin: Option<String>,
    /// The checkpoint's size, once it parsed.
    pub size: Option<u64>,
    /// The checkpoint's root, once it parsed.
    pub root: Option<Hash>,
    /// Entries fetched and checked.
    pub entries_checked: u64,
    /// When the walk resumed from the remembered state: the entries verified by earlier runs
    /// and not fetched again.
    pub resumed_after: Option<u64>,
    /// Where the walk stood after the tree's last full bundle, once it completed.
    pub frontier: Option<WalkFrontier>,
    /// Hash tiles fetched and compared.
    pub tiles_checked: u64,
    /// Every inconsistency found; empty means the log checked out.
    pub errors: Vec<String>,
    /// Errors beyond [`MAX_REPORTED_ERRORS`] that were counted, not kept.
    pub errors_suppressed: u64,
    /// The verified checkpoint note (signature lines included).
    pub checkpoint_note: Option<String>,
}

impl MonitorReport {
    /// Whether no inconsistency was found.
    pub fn ok(&self) -> bool {
        self.errors.is_empty() && self.errors_suppressed == 0
    }

    /// The state to remember after a successful run.
    pub fn state(&self) -> Option<MonitorState> {
        if !self.ok() {
            return None;
        }
        Some(MonitorState {
            origin: self.origin.clone()?,
            size: self.size?,
            root: self.root?,
            checkpoint: self.checkpoint_note.clone()?,
            frontier: self.frontier.clone(),
        })
    }

    fn error(&mut self, msg: String) {
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(msg);
        } else {
            self.errors_suppressed += 1;
        }
    }
}

/// Why [`monitor`] could not run to completion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MonitorError {
    /// A resource could not be fetched (network / I/O).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The remembered state belongs to another log.
    #[error("state is for origin {state:?}, but the log key is for {key:?}")]
    StateOrigin { state: String, key: String },
}

/// Fetches and checks the whole log (see the module docs).
///
/// `log_key` must be the log's Ed25519 key (its name is the origin);
/// `policy`, if given, must also accept the checkpoint (its witness keys
/// verify cosignatures); `previous` is the state remembered from the last
/// successful run.
pub fn monitor<F: Fetch + ?Sized>(
    fetcher: &F,
    log_key: &VerifierKey,
    policy: Option<&Policy>,
    previous: Option<&MonitorState>,
) -> Result<MonitorReport, MonitorError> {
    if let Some(p) = previous.filter(|p| p.origin != log_key.name()) {
        return Err(MonitorError::StateOrigin {
            state: p.origin.clone(),
            key: log_key.name().to_owned(),
        });
    }
    let mut report = MonitorReport::default();
    let note = fetcher.fetch("checkpoint")?;
    let Some(cp) = open_and_check(&note, log_key, policy, &mut report) else {
        return Ok(report);
    };
    report.origin = Some(cp.origin.clone());
    report.size = Some(cp.size);
    report.root = Some(cp.root);
    report.checkpoint_note = String::from_utf8(note).ok();

    let old_size = previous.map(|p| p.size);
    if let Some(p) = previous.filter(|p| p.size > cp.size) {
        report.error(format!("log shrank from {} to {}", p.size, cp.size));
    }
    let old_size = old_size.filter(|s| *s <= cp.size);
    // Entries an earlier run verified are not fetched again, unless the log shrank below
    // them; a frontier that does not hold together is not trusted (the walk starts over).
    let resume = previous
        .and_then(|p| p.frontier.as_ref().filter(|f| f.leaves <= p.size))
        .filter(|f| f.leaves <= cp.size && f.check().is_ok())
        .cloned();
    let mut walk = match resume {
        Some(frontier) => {
            report.resumed_after = Some(frontier.leaves);
            Walk::resume(fetcher, cp.size, old_size, frontier)
        }
        None => Walk::new(fetcher, cp.size, old_size),
    };
    let complete = walk.run(&mut report)?;
    if !complete {
        report.error(format!(
            "could not recompute the tree at size {}: walk stopped early",
            cp.size
        ));
        return Ok(report);
    }
    if walk.root() != cp.root {
        report.error(format!("root mismatch at size {}", cp.size));
    }
    report.frontier = Some(walk.frontier.clone());
    if let Some(p) = previous.filter(|p| p.size <= cp.size) {
        let old_root = walk.old_root.unwrap_or(EMPTY_ROOT);
        if old_root != p.root {
            report.error(format!(
                "checkpoint at size {} inconsistent with remembered size {}",
                cp.size, p.size
            ));
        }
    }
    Ok(report)
}

/// Verifies the checkpoint note; records a specific error on failure.
fn open_and_check(
    note: &[u8],
    key: &VerifierKey,
    policy: Option<&Policy>,
    report: &mut MonitorReport,
) -> Option<Checkpoint> {
    let cosigners: Vec<VerifierKey> = policy
        .map(|p| p.witnesses.iter().map(|w| w.key.clone()).collect())
        .unwrap_or_default();
    let opened = match open_checkpoint(note, key, &cosigners) {
        Ok(o) => o,
        Err(e) => {
            report.error(checkpoint_message(&e));
            return None;
        }
    };
    if let Some(p) = policy
        && let Err(e) = p.verify_checkpoint_of(note, key)
    {
        report.error(match e {
            PolicyError::Checkpoint(c) => checkpoint_message(&c),
            PolicyError::NoLogSignature => {
                "checkpoint is not signed by a log the policy lists".to_owned()
            }
            PolicyError::QuorumNotReached => {
                "checkpoint does not meet the policy's witness quorum".to_owned()
            }
            other => format!("checkpoint refused by the policy: {other}"),
        });
        return None;
    }
    Some(opened.checkpoint)
}

fn checkpoint_message(e: &CheckpointError) -> String {
    match e {
        CheckpointError::Note(NoteError::InvalidSignature(name)) => {
            format!("checkpoint signature invalid (key {name})")
        }
        CheckpointError::Note(NoteError::NoKnownSignature) => {
            "checkpoint signature invalid: no signature by the log key".to_owned()
        }
        CheckpointError::OriginMismatch { origin, key } => {
            format!("checkpoint origin {origin:?} is not the log key name {key:?}")
        }
        other => format!("checkpoint malformed: {other}"),
    }
}

#[cfg(test)]
mod tests;
