//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): tile paths
//! `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, hash tiles, entry
//! bundles, and which tile holds which hash.

mod data;

pub use data::{format_entry_bundle, parse_entry_bundle, parse_hash_tile, subtree_hash_from_tile};

use crate::error::TileError;
use std::fmt;

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels spanned by one tile level (256 = 2^8).
pub const TILE_HEIGHT: u32 = 8;
/// Highest tile level.
pub const MAX_TILE_LEVEL: u8 = 63;

/// What a tile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// A hash tile at this tile level (0..=63).
    Hashes(u8),
    /// An entry bundle.
    Entries,
}

/// A tile resource: kind, index within its level, and width (1..=256; 256 is full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileCoord {
    pub kind: TileKind,
    pub index: u64,
    pub width: u16,
}

impl TileCoord {
    /// Whether this is a partial tile (`.p/<W>`).
    pub fn is_partial(&self) -> bool {
        u64::from(self.width) < TILE_WIDTH
    }

    /// Parses a path such as `tile/0/x001/x234/067.p/8` (no prefix, no leading `/`).
    pub fn parse(path: &str) -> Result<Self, TileError> {
        let rest = path.strip_prefix("tile/").ok_or(TileError::NotATilePath)?;
        let (kind_s, rest) = rest.split_once('/').ok_or(TileError::NotATilePath)?;
        let kind = if kind_s == "entries" {
            TileKind::Entries
        } else {
            let l = parse_small(kind_s, u64::from(MAX_TILE_LEVEL)).ok_or(TileError::BadLevel)?;
            TileKind::Hashes(u8::try_from(l).map_err(|_| TileError::BadLevel)?)
        };
        let (n_s, width) = match rest.split_once(".p/") {
            None => (rest, 256),
            Some((n_s, w)) => {
                let w = parse_small(w, TILE_WIDTH - 1).ok_or(TileError::BadWidth)?;
                if w == 0 {
                    return Err(TileError::BadWidth);
                }
                (n_s, u16::try_from(w).map_err(|_| TileError::BadWidth)?)
            }
        };
        let index = decode_index(n_s)?;
        Ok(Self { kind, index, width })
    }

    /// The tile (and range of hashes within it) needed to compute the
    /// complete subtree `(level, n)` in a tree of `tree_size` leaves.
    /// Tree level `level` lives in tile level `level / 8`; for levels that
    /// are not multiples of 8 the hash is rebuilt from `2^(level % 8)`
    /// consecutive tile hashes (see [`subtree_hash_from_tile`]).
    pub fn for_node(
        level: u32,
        n: u64,
        tree_size: u64,
    ) -> Result<(Self, std::ops::Range<usize>), TileError> {
        let tile_level = level / TILE_HEIGHT;
        let k = level % TILE_HEIGHT;
        if tile_level > u32::from(MAX_TILE_LEVEL) {
            return Err(TileError::NotInTree);
        }
        let first = n
            .checked_shl(k)
            .filter(|f| f >> k == n)
            .ok_or(TileError::NotInTree)?;
        let count = 1u64 << k;
        // Hashes available at this tile level for this tree size.
        let shift = TILE_HEIGHT * tile_level;
        let available = tree_size.checked_shr(shift).unwrap_or(0);
        if first.checked_add(count).is_none_or(|end| end > available) {
            return Err(TileError::NotInTree);
        }
        let index = first / TILE_WIDTH;
        let offset = first % TILE_WIDTH;
        let width = (available - index * TILE_WIDTH).min(TILE_WIDTH);
        let coord = Self {
            kind: TileKind::Hashes(u8::try_from(tile_level).map_err(|_| TileError::NotInTree)?),
            index,
            width: u16::try_from(width).map_err(|_| TileError::NotInTree)?,
        };
        let start = usize::try_from(offset).map_err(|_| TileError::NotInTree)?;
        let end = usize::try_from(offset + count).map_err(|_| TileError::NotInTree)?;
        Ok((coord, start..end))
    }

    /// The entry bundle holding entry `index` in a tree of `tree_size` leaves.
    pub fn entry_bundle_for(index: u64, tree_size: u64) -> Result<(Self, usize), TileError> {
        let (mut c, r) = Self::for_node(0, index, tree_size)?;
        c.kind = TileKind::Entries;
        Ok((c, r.start))
    }
}

impl fmt::Display for TileCoord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes(l) => write!(f, "tile/{l}/{}", encode_index(self.index))?,
            TileKind::Entries => write!(f, "tile/entries/{}", encode_index(self.index))?,
        }
        if self.is_partial() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// Encodes a tile index as zero-padded 3-digit elements, all but the last
/// prefixed by `x`: 1234067 → `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let mut groups = vec![n % 1000];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Decodes the `x001/x234/067` form, rejecting every non-canonical spelling.
pub fn decode_index(s: &str) -> Result<u64, TileError> {
    let parts: Vec<&str> = s.split('/').collect();
    let Some((last, init)) = parts.split_last() else {
        return Err(TileError::BadIndex);
    };
    let mut n: u64 = 0;
    for (i, p) in init.iter().enumerate() {
        let g = p.strip_prefix('x').ok_or(TileError::BadIndex)?;
        let v = three_digits(g)?;
        if i == 0 && v == 0 {
            return Err(TileError::BadIndex); // leading zero group
        }
        n = n
            .checked_mul(1000)
            .and_then(|n| n.checked_add(v))
            .ok_or(TileError::BadIndex)?;
    }
    let v = three_digits(last)?;
    n.checked_mul(1000)
        .and_then(|n| n.checked_add(v))
        .ok_or(TileError::BadIndex)
}

fn three_digits(g: &str) -> Result<u64, TileError> {
    if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TileError::BadIndex);
    }
    g.parse().map_err(|_| TileError::BadIndex)
}

/// Decimal without leading zeros, at most `max`.
fn parse_small(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok().filter(|v| *v <= max)
}

#[cfg(test)]
mod tests;
