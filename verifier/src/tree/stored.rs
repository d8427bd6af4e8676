//! Stored hash index arithmetic (see the module docs of [`crate::tree`]).

/// Stored hash index of the complete subtree `(level, n)`, which covers
/// leaves `[n·2^level, (n+1)·2^level)`.
///
/// Leaf `j`'s hash is at `j + j/2 + j/4 + …`; the subtree `(level, n)` comes
/// `level` places after the hash of its last leaf `(n+1)·2^level − 1`.
/// Defined for trees below 2^62 leaves (arithmetic wraps beyond that).
pub fn stored_hash_index(level: u32, n: u64) -> u64 {
    if level == 0 {
        return level0_index(n);
    }
    let last_leaf = n.wrapping_add(1).wrapping_shl(level).wrapping_sub(1);
    level0_index(last_leaf).wrapping_add(u64::from(level))
}

/// Number of hashes stored for a tree of `size` leaves, which is also the
/// stored hash index of the next leaf's hash.
pub fn stored_hash_count(size: u64) -> u64 {
    level0_index(size)
}

/// Inverse of [`stored_hash_index`]: the `(level, n)` stored at `index`.
pub fn split_stored_hash_index(index: u64) -> (u32, u64) {
    // The last leaf whose hash is stored at or before `index`; the index
    // grows strictly with the leaf number, so binary search over leaves.
    // `2j − 64 ≤ level0_index(j) ≤ 2j` bounds that leaf to `index/2 ..= index/2 + 32`.
    let (mut lo, mut hi) = (index / 2, (index / 2).saturating_add(32));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if level0_index(mid) <= index {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    // `index - level0_index(lo)` is at most trailing_ones(lo) < 64.
    let level = u32::try_from(index - level0_index(lo)).unwrap_or(0);
    (level, lo >> level)
}

/// `j + j/2 + j/4 + …`, which is `2j − popcount(j)` (wrapping like the sum).
fn level0_index(j: u64) -> u64 {
    j.wrapping_mul(2).wrapping_sub(u64::from(j.count_ones()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_first_leaves() {
        // leaf0, leaf1, (1,0), leaf2, leaf3, (1,1), (2,0), leaf4 ...
        let expected = [
            (0, 0),
            (0, 1),
            (1, 0),
            (0, 2),
            (0, 3),
            (1, 1),
            (2, 0),
            (0, 4),
        ];
        for (i, &(l, n)) in expected.iter().enumerate() {
            assert_eq!(stored_hash_index(l, n), i as u64);
            assert_eq!(split_stored_hash_index(i as u64), (l, n));
        }
        assert_eq!(stored_hash_count(0), 0);
        assert_eq!(stored_hash_count(4), 7);
    }

    #[test]
    fn split_inverts_index() {
        for i in (0..5000u64).chain((1u64 << 61) - 5000..(1u64 << 61)) {
            let (l, n) = split_stored_hash_index(i);
            assert_eq!(stored_hash_index(l, n), i);
        }
    }
}
