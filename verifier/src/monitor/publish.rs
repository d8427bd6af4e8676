//! What a tlog-tiles log serves for a given list of entries: the reference
//! the monitor checks against, and a fixture builder for tests.

use crate::error::TileError;
use crate::hash::{Hash, leaf_hash};
use crate::tile::{TILE_WIDTH, TileCoord, TileKind, format_entry_bundle};
use crate::tree::root_from_leaf_hashes;
use std::collections::BTreeMap;

/// Every tile resource (path → bytes) of the tree over `entries`: hash
/// tiles of all levels and entry bundles, full tiles plus the partial tiles
/// of this size. The checkpoint is not included.
pub fn tile_resources<T: AsRef<[u8]>>(
    entries: &[T],
) -> Result<BTreeMap<String, Vec<u8>>, TileError> {
    let mut out = BTreeMap::new();
    for (index, chunk) in (0u64..).zip(entries.chunks(256)) {
        let coord = coord(TileKind::Entries, index, chunk.len())?;
        out.insert(coord.to_string(), format_entry_bundle(chunk)?);
    }
    let mut level_hashes: Vec<Hash> = entries.iter().map(|e| leaf_hash(e.as_ref())).collect();
    let mut level: u8 = 0;
    while !level_hashes.is_empty() {
        let mut next = Vec::new();
        for (index, chunk) in (0u64..).zip(level_hashes.chunks(256)) {
            let coord = coord(TileKind::Hashes(level), index, chunk.len())?;
            out.insert(coord.to_string(), chunk.concat());
            if chunk.len() as u64 == TILE_WIDTH {
                next.push(root_from_leaf_hashes(chunk));
            }
        }
        level_hashes = next;
        level = level.checked_add(1).ok_or(TileError::BadLevel)?;
    }
    Ok(out)
}

fn coord(kind: TileKind, index: u64, width: usize) -> Result<TileCoord, TileError> {
    Ok(TileCoord {
        kind,
        index,
        width: u16::try_from(width).map_err(|_| TileError::BadWidth)?,
    })
}
