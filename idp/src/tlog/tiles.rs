//! The tree as it is stored: C2SP hash tiles. Tile `L/N` holds the hashes of tree level
//! `8L` at positions `256N..256N + width`; every other complete subtree is rebuilt from the
//! tile below it. A tile is written once when full; the partial tile at the right edge of
//! each level is rewritten, only ever by appending, as the tree grows.
//!
//! The verifier's tree functions address hashes by stored-hash index; [`TileReader`] maps
//! each index to its tile (`TileCoord::for_node`) and answers from [`Expanded`] tiles, which
//! keep every complete subtree inside the tile so a proof costs look-ups, not hashing.

use std::collections::HashMap;
use std::sync::Arc;

use glassgate_verifier::tile::{TileCoord, TileKind};
use glassgate_verifier::tree::{HashReader, root_from_leaf_hashes, split_stored_hash_index};
use glassgate_verifier::{Hash, node_hash};

use crate::store::model::StoredTile;

/// Tile level and index.
pub type TileKey = (u8, u64);

/// Hashes per full tile.
const WIDTH: usize = 256;
/// Tree levels per tile level.
const HEIGHT: u32 = 8;

/// A hash tile with every complete subtree inside it: `levels[k]` holds the hashes of
/// tile-relative level `k` (0..=7); `levels[0]` is the tile itself.
#[derive(Debug)]
pub struct Expanded {
    levels: Vec<Vec<Hash>>,
}

impl Expanded {
    pub fn new(hashes: Vec<Hash>) -> Self {
        let mut levels = Vec::with_capacity(HEIGHT as usize);
        levels.push(hashes);
        while levels.len() < HEIGHT as usize {
            let next: Vec<Hash> = levels
                .last()
                .map(|below| {
                    below
                        .as_chunks::<2>()
                        .0
                        .iter()
                        .map(|[l, r]| node_hash(l, r))
                        .collect()
                })
                .unwrap_or_default();
            levels.push(next);
        }
        Self { levels }
    }

    /// The tile's own hashes.
    pub fn hashes(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    pub fn width(&self) -> usize {
        self.hashes().len()
    }

    /// The complete subtree over `hashes()[range]` (a power-of-two count, aligned).
    fn subtree(&self, range: std::ops::Range<usize>) -> Option<Hash> {
        let count = range.end.checked_sub(range.start)?;
        if !count.is_power_of_two() {
            return None;
        }
        let k = count.trailing_zeros() as usize;
        self.levels.get(k)?.get(range.start >> k).copied()
    }

    /// Memory held, for the cache's budget.
    pub fn bytes(&self) -> usize {
        self.levels.iter().map(|l| l.len() * 32).sum()
    }
}

/// What a tree computation needed and did not find.
#[derive(Debug, thiserror::Error)]
pub enum TileMiss {
    #[error("{} tiles are not loaded", .0.len())]
    Missing(Vec<TileKey>),
    #[error("stored hash {0} is not in the tree")]
    NotInTree(u64),
}

/// Stored hashes of the tree of `size` leaves, answered from loaded tiles.
pub struct TileReader<'a> {
    pub size: u64,
    pub tiles: &'a HashMap<TileKey, Arc<Expanded>>,
}

impl HashReader for TileReader<'_> {
    type Error = TileMiss;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TileMiss> {
        let mut out = Vec::with_capacity(indexes.len());
        let mut missing: Vec<TileKey> = Vec::new();
        for &index in indexes {
            let (level, n) = split_stored_hash_index(index);
            let (coord, range) =
                TileCoord::for_node(level, n, self.size).map_err(|_| TileMiss::NotInTree(index))?;
            let TileKind::Hashes(tile_level) = coord.kind else {
                return Err(TileMiss::NotInTree(index));
            };
            let key = (tile_level, coord.index);
            match self.tiles.get(&key).and_then(|t| t.subtree(range)) {
                Some(hash) => out.push(hash),
                None if !missing.contains(&key) => missing.push(key),
                None => {}
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(TileMiss::Missing(missing))
        }
    }
}

/// The partial tiles at the right edge of the tree of `size` leaves, as (key, width): the
/// only tiles that appending leaves changes, and the only ones its root depends on.
pub fn right_edge(size: u64) -> Vec<(TileKey, usize)> {
    let mut out = Vec::new();
    for level in 0u8..8 {
        let available = size.checked_shr(HEIGHT * u32::from(level)).unwrap_or(0);
        if available == 0 {
            break;
        }
        let width = (available % WIDTH as u64) as usize;
        if width > 0 {
            out.push(((level, available / WIDTH as u64), width));
        }
    }
    out
}

/// Appends leaves to the tiles of a tree, level by level: when a tile fills up, its root
/// becomes the next hash of the tile level above.
pub struct Appender {
    /// Per tile level: the index of the tile being filled and its hashes so far.
    edge: Vec<(u64, Vec<Hash>)>,
    /// The edge as loaded: what needs no writing back.
    loaded: Vec<(u64, usize)>,
    /// Tiles that filled up, in the order they did.
    full: Vec<StoredTile>,
}

impl Appender {
    /// Start from the tree of `size` leaves, given its right-edge tiles (each at least as
    /// wide as [`right_edge`] says; longer ones are cut to that width).
    pub fn new(size: u64, stored: &[StoredTile]) -> Result<Self, String> {
        let mut edge = Vec::new();
        for level in 0u8..8 {
            let available = size.checked_shr(HEIGHT * u32::from(level)).unwrap_or(0);
            if available == 0 {
                break;
            }
            let index = available / WIDTH as u64;
            let width = (available % WIDTH as u64) as usize;
            let mut hashes = Vec::with_capacity(WIDTH);
            if width > 0 {
                let tile = stored
                    .iter()
                    .find(|t| t.level == level && t.index == index)
                    .filter(|t| t.hashes.len() >= width)
                    .ok_or_else(|| format!("tile {level}/{index} is missing or short"))?;
                hashes.extend_from_slice(tile.hashes.get(..width).unwrap_or_default());
            }
            edge.push((index, hashes));
        }
        let loaded = edge.iter().map(|(i, h)| (*i, h.len())).collect();
        Ok(Self {
            edge,
            loaded,
            full: Vec::new(),
        })
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut level = 0usize;
        loop {
            if self.edge.len() <= level {
                self.edge.push((0, Vec::with_capacity(WIDTH)));
            }
            let Some((index, hashes)) = self.edge.get_mut(level) else {
                return;
            };
            hashes.push(hash);
            if hashes.len() < WIDTH {
                return;
            }
            let done = std::mem::replace(hashes, Vec::with_capacity(WIDTH));
            hash = root_from_leaf_hashes(&done);
            self.full.push(StoredTile {
                level: level as u8,
                index: *index,
                hashes: done,
            });
            *index += 1;
            level += 1;
        }
    }

    /// Every tile to write: the ones that filled up and the right-edge tiles that grew.
    pub fn finish(self) -> Vec<StoredTile> {
        let mut out = self.full;
        for (level, (index, hashes)) in (0u8..).zip(self.edge) {
            let unchanged = self.loaded.get(usize::from(level)) == Some(&(index, hashes.len()));
            if !hashes.is_empty() && !unchanged {
                out.push(StoredTile {
                    level,
                    index,
                    hashes,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use glassgate_verifier::leaf_hash;
    use glassgate_verifier::tree::{InMemoryHashes, inclusion_proof, tree_hash};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Tiles built in uneven steps equal what the in-memory stored-hash tree computes.
    #[test]
    fn appended_tiles_prove_like_stored_hashes() {
        let all = leaves(70_000);
        let mut reference = InMemoryHashes::new();
        let mut tiles: HashMap<TileKey, StoredTile> = HashMap::new();
        let mut size = 0u64;
        for step in [1u64, 2, 253, 1, 256, 3000, 65_536, 951] {
            let stored: Vec<StoredTile> = tiles.values().cloned().collect();
            let mut appender = Appender::new(size, &stored).unwrap();
            for leaf in all.iter().skip(size as usize).take(step as usize) {
                appender.push(*leaf);
                reference.append_leaf_hash(leaf).unwrap();
            }
            for tile in appender.finish() {
                if let Some(old) = tiles.get(&(tile.level, tile.index)) {
                    assert!(tile.hashes.starts_with(&old.hashes), "tiles only grow");
                    assert!(tile.hashes.len() > old.hashes.len(), "only changed tiles");
                }
                tiles.insert((tile.level, tile.index), tile);
            }
            size += step;
            let expanded: HashMap<TileKey, Arc<Expanded>> = tiles
                .iter()
                .map(|(k, t)| (*k, Arc::new(Expanded::new(t.hashes.clone()))))
                .collect();
            let reader = TileReader {
                size,
                tiles: &expanded,
            };
            assert_eq!(
                tree_hash(size, &reader).unwrap(),
                tree_hash(size, &reference).unwrap()
            );
            for index in [0, size / 3, size - 1] {
                assert_eq!(
                    inclusion_proof(index, size, &reader).unwrap(),
                    inclusion_proof(index, size, &reference).unwrap()
                );
            }
            let edge: Vec<TileKey> = right_edge(size).into_iter().map(|(k, _)| k).collect();
            let only_edge: HashMap<TileKey, Arc<Expanded>> = expanded
                .iter()
                .filter(|(k, _)| edge.contains(k))
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            let reader = TileReader {
                size,
                tiles: &only_edge,
            };
            assert_eq!(
                tree_hash(size, &reader).unwrap(),
                tree_hash(size, &reference).unwrap(),
                "the root needs the right edge only"
            );
        }
    }
}
