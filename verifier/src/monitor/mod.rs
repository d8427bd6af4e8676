//! The auditor's monitor: fetch a tlog-tiles log in full and check it.
//!
//! [`monitor`] fetches `checkpoint`, verifies it against the log key (and a
//! tlog-policy quorum if given), then walks every entry bundle and hash tile
//! for the checkpoint's size (C2SP tlog-tiles: full tiles of 256 hashes and
//! the partial widths `floor(size / 256^L) mod 256`). It recomputes the whole
//! tree from the entries and checks:
//!
//! - the recomputed root equals the checkpoint root;
//! - every fetched hash tile equals the recomputed hashes;
//! - every entry is a canonical Glassgate v1 entry whose `prev` is the hex
//!   SHA-256 of the previous entry (entry 0: [`GENESIS_PREV`]);
//! - against a remembered [`MonitorState`]: the log did not shrink and the
//!   tree at the remembered size still has the remembered root.
//!
//! The walk is streaming: memory is `O(256 · tile levels)` plus one entry
//! bundle, whatever the log size. Every problem is collected as a specific
//! message in [`MonitorReport::errors`]; only fetch failures abort
//! ([`FetchError`]).

mod http;
mod publish;
mod state;

pub use http::HttpFetcher;
pub use publish::tile_resources;
pub(crate) use state::write_atomic;
pub use state::{MonitorState, StateError};

use crate::checkpoint::{Checkpoint, open_checkpoint};
use crate::entry::{GENESIS_PREV, LogEntry, entry_digest, hex};
use crate::error::{CheckpointError, NoteError, PolicyError};
use crate::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
use crate::note::VerifierKey;
use crate::policy::Policy;
use crate::tile::{
    MAX_TILE_LEVEL, TILE_WIDTH, TileCoord, TileKind, parse_entry_bundle, parse_hash_tile,
};
use crate::tree::root_from_leaf_hashes;

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
    let mut walk = Walk::new(fetcher, cp.size, old_size.filter(|s| *s <= cp.size));
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
        && let Err(e) = p.verify_checkpoint(note)
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

/// `tile/0/x001/234.p/5` → `0/x001/234.p/5`, as used in messages.
fn tile_name(c: &TileCoord) -> String {
    let s = c.to_string();
    s.strip_prefix("tile/").map(str::to_owned).unwrap_or(s)
}

/// The streaming walk over all bundles and tiles of a tree.
struct Walk<'a, F: Fetch + ?Sized> {
    fetcher: &'a F,
    size: u64,
    old_size: Option<u64>,
    /// Pending full-tile roots per tile level (index 0 = tile level 1).
    pending: Vec<Vec<Hash>>,
    /// Next tile index per tile level (index 0 = tile level 1).
    next_index: Vec<u64>,
    /// The RFC 6962 root stack over the leaves seen so far.
    stack: Vec<(u32, Hash)>,
    leaves: u64,
    old_root: Option<Hash>,
    prev_digest: Option<Hash>,
}

impl<'a, F: Fetch + ?Sized> Walk<'a, F> {
    fn new(fetcher: &'a F, size: u64, old_size: Option<u64>) -> Self {
        Self {
            fetcher,
            size,
            old_size,
            pending: Vec::new(),
            next_index: Vec::new(),
            stack: Vec::new(),
            leaves: 0,
            old_root: (old_size == Some(0)).then_some(EMPTY_ROOT),
            prev_digest: None,
        }
    }

    /// Walks every bundle; `Ok(false)` if it had to stop (malformed bundle).
    fn run(&mut self, report: &mut MonitorReport) -> Result<bool, FetchError> {
        let bundles = self.size.div_ceil(TILE_WIDTH);
        for index in 0..bundles {
            let width = (self.size - index * TILE_WIDTH).min(TILE_WIDTH);
            let width = u16::try_from(width).unwrap_or(256);
            let coord = TileCoord {
                kind: TileKind::Entries,
                index,
                width,
            };
            let bytes = fetch_tile(self.fetcher, &coord)?;
            let entries = match parse_entry_bundle(&bytes, Some(usize::from(width))) {
                Ok(e) => e,
                Err(e) => {
                    report.error(format!(
                        "tile {}: malformed entry bundle: {e}",
                        tile_name(&coord)
                    ));
                    return Ok(false);
                }
            };
            let mut hashes = Vec::with_capacity(usize::from(width));
            for entry in &entries {
                self.check_entry(entry, report);
                let h = leaf_hash(entry);
                self.push_leaf(h);
                hashes.push(h);
                report.entries_checked += 1;
            }
            self.check_hash_tile(0, index, &hashes, report)?;
            if u64::from(width) == TILE_WIDTH {
                self.push_full_tile_root(1, root_from_leaf_hashes(&hashes), report)?;
            }
        }
        // Partial tiles of the upper levels.
        for i in 0..self.pending.len() {
            let level = u8::try_from(i + 1).unwrap_or(MAX_TILE_LEVEL);
            let hashes = self.pending.get(i).cloned().unwrap_or_default();
            if !hashes.is_empty() {
                let index = self.next_index.get(i).copied().unwrap_or(0);
                self.check_hash_tile(level, index, &hashes, report)?;
            }
        }
        Ok(true)
    }

    fn check_entry(&mut self, entry: &[u8], report: &mut MonitorReport) {
        let n = self.leaves;
        match LogEntry::parse(entry) {
            Err(e) => report.error(format!("entry {n}: not a valid Glassgate v1 entry: {e}")),
            Ok(parsed) => match self.prev_digest {
                None if parsed.prev != GENESIS_PREV => {
                    report.error(format!("entry {n}: prev is not the genesis value"));
                }
                Some(d) if parsed.prev != hex(&d) => {
                    report.error(format!(
                        "entry {n}: prev does not chain to entry {}",
                        n.saturating_sub(1)
                    ));
                }
                _ => {}
            },
        }
        self.prev_digest = Some(entry_digest(entry));
    }

    fn push_leaf(&mut self, leaf: Hash) {
        let mut cur = (0u32, leaf);
        while let Some(&(level, h)) = self.stack.last() {
            if level != cur.0 {
                break;
            }
            self.stack.pop();
            cur = (level + 1, node_hash(&h, &cur.1));
        }
        self.stack.push(cur);
        self.leaves += 1;
        if self.old_size == Some(self.leaves) {
            self.old_root = Some(self.root());
        }
    }

    /// Root of the tree over the leaves pushed so far.
    fn root(&self) -> Hash {
        self.stack
            .iter()
            .rev()
            .map(|(_, h)| *h)
            .reduce(|right, left| node_hash(&left, &right))
            .unwrap_or(EMPTY_ROOT)
    }

    /// Adds the root of a full tile at `level - 1` to tile level `level`.
    fn push_full_tile_root(
        &mut self,
        level: usize,
        h: Hash,
        report: &mut MonitorReport,
    ) -> Result<(), FetchError> {
        let slot = level - 1;
        while self.pending.len() <= slot {
            self.pending.push(Vec::new());
            self.next_index.push(0);
        }
        let full = match self.pending.get_mut(slot) {
            Some(p) => {
                p.push(h);
                p.len() as u64 == TILE_WIDTH
            }
            None => false,
        };
        if full {
            let hashes = self
                .pending
                .get_mut(slot)
                .map(std::mem::take)
                .unwrap_or_default();
            let index = self.next_index.get(slot).copied().unwrap_or(0);
            if let Some(n) = self.next_index.get_mut(slot) {
                *n += 1;
            }
            let tile_level = u8::try_from(level).unwrap_or(MAX_TILE_LEVEL);
            self.check_hash_tile(tile_level, index, &hashes, report)?;
            if level < usize::from(MAX_TILE_LEVEL) {
                self.push_full_tile_root(level + 1, root_from_leaf_hashes(&hashes), report)?;
            }
        }
        Ok(())
    }

    /// Fetches hash tile `level/index` (width = `expected.len()`) and
    /// compares it with the recomputed hashes.
    fn check_hash_tile(
        &self,
        level: u8,
        index: u64,
        expected: &[Hash],
        report: &mut MonitorReport,
    ) -> Result<(), FetchError> {
        let Ok(width) = u16::try_from(expected.len()) else {
            return Ok(());
        };
        let coord = TileCoord {
            kind: TileKind::Hashes(level),
            index,
            width,
        };
        let bytes = fetch_tile(self.fetcher, &coord)?;
        report.tiles_checked += 1;
        match parse_hash_tile(&bytes, width) {
            Err(e) => report.error(format!(
                "tile {}: malformed hash tile: {e}",
                tile_name(&coord)
            )),
            Ok(got) => {
                if let Some(pos) = got.iter().zip(expected).position(|(a, b)| a != b) {
                    report.error(format!(
                        "tile {} differs from the recomputed hashes at position {pos}",
                        tile_name(&coord)
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Fetches a tile. A missing partial tile falls back to the full tile (the
/// log may delete partials once the full tile exists), cut to the width.
fn fetch_tile<F: Fetch + ?Sized>(fetcher: &F, coord: &TileCoord) -> Result<Vec<u8>, FetchError> {
    match fetcher.fetch(&coord.to_string()) {
        Err(FetchError::NotFound(path)) if coord.is_partial() => {
            let full = TileCoord {
                width: 256,
                ..*coord
            };
            let bytes = match fetcher.fetch(&full.to_string()) {
                Ok(b) => b,
                Err(FetchError::NotFound(_)) => return Err(FetchError::NotFound(path)),
                Err(e) => return Err(e),
            };
            Ok(match coord.kind {
                TileKind::Hashes(_) => {
                    let want = usize::from(coord.width) * 32;
                    bytes.get(..want).map(<[u8]>::to_vec).unwrap_or(bytes)
                }
                TileKind::Entries => truncate_bundle(&bytes, usize::from(coord.width)),
            })
        }
        other => other,
    }
}

/// The first `n` entries of a bundle, re-encoded (unchanged if malformed).
fn truncate_bundle(bytes: &[u8], n: usize) -> Vec<u8> {
    let mut rest = bytes;
    let mut taken = 0;
    let mut len = 0;
    while taken < n {
        let Some((l, tail)) = rest.split_first_chunk::<2>() else {
            break;
        };
        let l = usize::from(u16::from_be_bytes(*l));
        let Some(tail) = tail.get(l..) else { break };
        rest = tail;
        len += 2 + l;
        taken += 1;
    }
    bytes.get(..len).map(<[u8]>::to_vec).unwrap_or_default()
}

#[cfg(test)]
mod tests;
