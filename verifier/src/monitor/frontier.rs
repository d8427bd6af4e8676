//! Where a monitor's walk stood after the last full entry bundle it verified: the RFC 6962
//! root stack, the hashes still waiting to fill a tile at each upper tile level, and the last
//! entry's digest. A later run resumes there and fetches only the bundles and tiles that
//! changed since (the partial bundle at the edge is fetched and checked again).

use crate::hash::Hash;
use crate::tile::TILE_WIDTH;

/// The walk's position at a full-bundle boundary (see the module docs); the default is the
/// start of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkFrontier {
    /// Entries walked: a multiple of 256.
    pub leaves: u64,
    /// Roots of the perfect subtrees covering those entries, largest first, with their
    /// heights.
    pub stack: Vec<(u32, Hash)>,
    /// Per tile level 1, 2, …: the roots of the full tiles one level down that do not yet
    /// fill a tile of this level.
    pub pending: Vec<Vec<Hash>>,
    /// Digest of the last entry walked; `None` only when no entry was.
    pub last_entry: Option<Hash>,
}

impl WalkFrontier {
    /// Checks that the parts agree with each other and with `leaves`; the reason otherwise.
    pub fn check(&self) -> Result<(), String> {
        if !self.leaves.is_multiple_of(TILE_WIDTH) {
            return Err(format!(
                "{} entries is not a whole number of bundles",
                self.leaves
            ));
        }
        if self.last_entry.is_some() != (self.leaves > 0) {
            return Err("the last entry's digest does not match the entry count".into());
        }
        // The stack's subtrees are the binary digits of `leaves`, highest first.
        let mut covered = 0u64;
        let mut above = u32::MAX;
        for &(height, _) in &self.stack {
            if height >= above || height >= 64 {
                return Err("the root stack is not in decreasing height order".into());
            }
            above = height;
            covered += 1u64 << height;
        }
        if covered != self.leaves {
            return Err(format!(
                "the root stack covers {covered} entries, not {}",
                self.leaves
            ));
        }
        // A tile level exists once a full tile one level down does.
        let levels = (1..=8u32)
            .take_while(|l| self.leaves.checked_shr(8 * l).unwrap_or(0) > 0)
            .count();
        if self.pending.len() != levels {
            return Err(format!(
                "pending hashes for {} tile levels, not {levels}",
                self.pending.len()
            ));
        }
        for (i, hashes) in self.pending.iter().enumerate() {
            let level = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let full_tiles_below = self.leaves.checked_shr(8 * level).unwrap_or(0);
            if hashes.len() as u64 != full_tiles_below % TILE_WIDTH {
                return Err(format!(
                    "tile level {level} holds {} pending hashes, not {}",
                    hashes.len(),
                    full_tiles_below % TILE_WIDTH
                ));
            }
        }
        Ok(())
    }

    /// The index of the tile that tile level `level` (≥ 1) is filling.
    pub fn tile_index(&self, level: u32) -> u64 {
        self.leaves.checked_shr(8 * level).unwrap_or(0) / TILE_WIDTH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frontier(leaves: u64, stack: &[u32], pending: &[usize]) -> WalkFrontier {
        WalkFrontier {
            leaves,
            stack: stack.iter().map(|h| (*h, [1; 32])).collect(),
            pending: pending.iter().map(|n| vec![[2; 32]; *n]).collect(),
            last_entry: (leaves > 0).then_some([3; 32]),
        }
    }

    #[test]
    fn consistent_frontiers_pass() {
        assert_eq!(frontier(0, &[], &[]).check(), Ok(()));
        assert_eq!(frontier(256, &[8], &[1]).check(), Ok(()));
        assert_eq!(frontier(768, &[9, 8], &[3]).check(), Ok(()));
        // 65,536 + 256 entries: one full level-1 tile, one level-1 root pending.
        assert_eq!(frontier(65_792, &[16, 8], &[1, 1]).check(), Ok(()));
        assert_eq!(frontier(65_792, &[16, 8], &[1, 1]).tile_index(1), 1);
        assert_eq!(frontier(65_536, &[16], &[0, 1]).check(), Ok(()));
    }

    #[test]
    fn inconsistent_frontiers_are_refused() {
        let bad = [
            (frontier(300, &[8], &[1]), "whole number of bundles"),
            (frontier(512, &[8], &[2]), "covers 256 entries"),
            (frontier(768, &[8, 9], &[3]), "decreasing height"),
            (
                frontier(768, &[9, 8], &[2]),
                "holds 2 pending hashes, not 3",
            ),
            (frontier(256, &[8], &[1, 1]), "for 2 tile levels, not 1"),
            (frontier(65_536, &[16], &[0]), "for 1 tile levels, not 2"),
            (
                WalkFrontier {
                    last_entry: None,
                    ..frontier(256, &[8], &[1])
                },
                "last entry",
            ),
        ];
        for (f, why) in bad {
            let err = f.check().unwrap_err();
            assert!(err.contains(why), "{f:?}: {err}");
        }
    }
}
