//! Hash tile and entry bundle contents.

use super::TILE_WIDTH;
use crate::error::TileError;
use crate::hash::Hash;
use crate::tree::root_from_leaf_hashes;

/// Splits a hash tile of `width` hashes (1..=256) into its hashes.
pub fn parse_hash_tile(bytes: &[u8], width: u16) -> Result<Vec<Hash>, TileError> {
    if width == 0 || u64::from(width) > TILE_WIDTH {
        return Err(TileError::BadWidth);
    }
    let want = usize::from(width) * 32;
    if bytes.len() != want {
        return Err(TileError::BadTileLength {
            got: bytes.len(),
            want,
        });
    }
    let (chunks, _) = bytes.as_chunks::<32>();
    Ok(chunks.to_vec())
}

/// The complete-subtree hash over `tile[range]` (a power-of-two count of
/// hashes, as returned by [`super::TileCoord::for_node`]).
pub fn subtree_hash_from_tile(
    tile: &[Hash],
    range: std::ops::Range<usize>,
) -> Result<Hash, TileError> {
    let hashes = tile.get(range.clone()).ok_or(TileError::NotInTree)?;
    if !hashes.len().is_power_of_two() {
        return Err(TileError::NotInTree);
    }
    Ok(root_from_leaf_hashes(hashes))
}

/// Parses an entry bundle: big-endian uint16 length-prefixed entries. If
/// `expected` is given (the tile width) the count must match; at most 256.
pub fn parse_entry_bundle(bytes: &[u8], expected: Option<usize>) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or(TileError::TruncatedBundle)?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(TileError::TruncatedBundle);
        }
        let (entry, tail) = tail.split_at(len);
        out.push(entry);
        rest = tail;
        if out.len() as u64 > TILE_WIDTH {
            return Err(TileError::BundleCount {
                got: out.len(),
                want: expected.unwrap_or(256),
            });
        }
    }
    if let Some(want) = expected.filter(|w| *w != out.len()) {
        return Err(TileError::BundleCount {
            got: out.len(),
            want,
        });
    }
    Ok(out)
}

/// Serialises entries as an entry bundle.
pub fn format_entry_bundle<T: AsRef<[u8]>>(entries: &[T]) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}
