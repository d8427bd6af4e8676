//! The streaming walk over a log's entry bundles and hash tiles: it recomputes the tree from
//! the entries, checks each entry and the hash chain, and compares every hash tile it passes
//! with the recomputed hashes. It can start from a [`WalkFrontier`] remembered by an earlier
//! run instead of the first bundle.

use super::{Fetch, FetchError, MonitorReport, WalkFrontier};
use crate::entry::{GENESIS_PREV, LogEntry, entry_digest, hex};
use crate::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
use crate::tile::{
    MAX_TILE_LEVEL, TILE_WIDTH, TileCoord, TileKind, parse_entry_bundle, parse_hash_tile,
};
use crate::tree::root_from_leaf_hashes;

/// `tile/0/x001/234.p/5` → `0/x001/234.p/5`, as used in messages.
fn tile_name(c: &TileCoord) -> String {
    let s = c.to_string();
    s.strip_prefix("tile/").map(str::to_owned).unwrap_or(s)
}

/// The streaming walk over the bundles and tiles of a tree.
pub(super) struct Walk<'a, F: Fetch + ?Sized> {
    fetcher: &'a F,
    size: u64,
    old_size: Option<u64>,
    /// Where the walk stands: entries walked, their root stack, the hashes pending at each
    /// upper tile level, the last entry's digest.
    at: WalkFrontier,
    /// The root at `old_size`, once the walk passed it.
    pub old_root: Option<Hash>,
    /// Where the walk stood after the last full bundle of the tree.
    pub frontier: WalkFrontier,
}

impl<'a, F: Fetch + ?Sized> Walk<'a, F> {
    /// A walk from the first bundle, remembering the root at `old_size` when it passes it.
    pub fn new(fetcher: &'a F, size: u64, old_size: Option<u64>) -> Self {
        Self::resume(fetcher, size, old_size, WalkFrontier::default())
    }

    /// A walk that starts where an earlier one stood; the caller makes sure `frontier` holds
    /// together and `frontier.leaves` ≤ `size`.
    pub fn resume(
        fetcher: &'a F,
        size: u64,
        old_size: Option<u64>,
        frontier: WalkFrontier,
    ) -> Self {
        let mut walk = Self {
            fetcher,
            size,
            old_size,
            at: frontier.clone(),
            old_root: None,
            frontier,
        };
        if old_size == Some(walk.at.leaves) {
            walk.old_root = Some(walk.root());
        }
        walk
    }

    /// Walks every bundle from the frontier on; `Ok(false)` if it had to stop (malformed
    /// bundle).
    pub fn run(&mut self, report: &mut MonitorReport) -> Result<bool, FetchError> {
        let bundles = self.size.div_ceil(TILE_WIDTH);
        let full_bundles = self.size / TILE_WIDTH;
        for index in self.at.leaves / TILE_WIDTH..bundles {
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
                if index + 1 == full_bundles {
                    self.frontier = self.at.clone();
                }
            }
        }
        // Partial tiles of the upper levels.
        for (level, hashes) in (1u8..).zip(self.at.pending.iter()) {
            if !hashes.is_empty() {
                let index = self.at.tile_index(u32::from(level));
                self.check_hash_tile(level, index, hashes, report)?;
            }
        }
        Ok(true)
    }

    fn check_entry(&mut self, entry: &[u8], report: &mut MonitorReport) {
        let n = self.at.leaves;
        match LogEntry::parse(entry) {
            Err(e) => report.error(format!("entry {n}: not a valid Glassgate v1 entry: {e}")),
            Ok(parsed) => match self.at.last_entry {
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
        self.at.last_entry = Some(entry_digest(entry));
    }

    fn push_leaf(&mut self, leaf: Hash) {
        let mut cur = (0u32, leaf);
        while let Some(&(level, h)) = self.at.stack.last() {
            if level != cur.0 {
                break;
            }
            self.at.stack.pop();
            cur = (level + 1, node_hash(&h, &cur.1));
        }
        self.at.stack.push(cur);
        self.at.leaves += 1;
        if self.old_size == Some(self.at.leaves) {
            self.old_root = Some(self.root());
        }
    }

    /// Root of the tree over the leaves pushed so far.
    pub fn root(&self) -> Hash {
        self.at
            .stack
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
        while self.at.pending.len() <= slot {
            self.at.pending.push(Vec::new());
        }
        let full = match self.at.pending.get_mut(slot) {
            Some(p) => {
                p.push(h);
                p.len() as u64 == TILE_WIDTH
            }
            None => false,
        };
        if full {
            let hashes = self
                .at
                .pending
                .get_mut(slot)
                .map(std::mem::take)
                .unwrap_or_default();
            // The entry count already covers this tile: the level now fills the next one.
            let index = self
                .at
                .tile_index(u32::try_from(level).unwrap_or(u32::MAX))
                .saturating_sub(1);
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
