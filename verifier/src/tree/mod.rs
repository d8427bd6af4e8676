//! Computing tree hashes and proofs from stored hashes (the sequencer side).
//!
//! # Storage layout
//!
//! Every complete subtree hash is stored exactly once in a flat, append-only
//! sequence, addressed by a *stored hash index* (the scheme of Go's
//! `golang.org/x/mod/sumdb/tlog`). The hash of the complete subtree at
//! `(level, n)` — covering leaves `[n·2^level, (n+1)·2^level)` — is stored
//! right after the hash of the last leaf it covers, which is followed by the
//! subtrees that leaf completes, lowest level first. Appending leaf `n`
//! therefore writes `1 + trailing_ones(n)` hashes (amortised two), at indexes
//! starting at [`stored_hash_count`]`(n)`. See [`stored_hash_index`] and
//! [`split_stored_hash_index`]; the latter lets a tile-backed [`HashReader`]
//! map each index to a tile hash via [`crate::tile::TileCoord::for_node`].
//!
//! Supported tree sizes are below 2^62.

mod memory;
mod stored;

pub use memory::{InMemoryHashes, MissingHash};
pub use stored::{split_stored_hash_index, stored_hash_count, stored_hash_index};

use crate::error::TreeError;
use crate::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};

/// Largest supported tree size.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// Read access to stored hashes by stored hash index.
pub trait HashReader {
    /// Error of the underlying storage.
    type Error: std::error::Error + 'static;
    /// Returns the stored hashes at `indexes`, in the same order.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error>;
}

/// Root of the tree over the given leaf hashes, computed directly (no storage).
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    let mut stack: Vec<(u32, Hash)> = Vec::new();
    for leaf in leaves {
        let mut cur = (0u32, *leaf);
        while let Some((level, h)) = stack.last().copied() {
            if level != cur.0 {
                break;
            }
            stack.pop();
            cur = (level + 1, node_hash(&h, &cur.1));
        }
        stack.push(cur);
    }
    fold_right(stack.iter().map(|(_, h)| *h)).unwrap_or(EMPTY_ROOT)
}

/// Root of the tree over the given entries (leaf hashing included).
pub fn root_from_entries<T: AsRef<[u8]>>(entries: &[T]) -> Hash {
    let hashes: Vec<Hash> = entries.iter().map(|e| leaf_hash(e.as_ref())).collect();
    root_from_leaf_hashes(&hashes)
}

/// The hashes to store when appending the leaf with hash `leaf` at index `n`
/// (the tree currently has `n` leaves). They belong at stored hash indexes
/// `stored_hash_count(n)..stored_hash_count(n + 1)`.
pub fn stored_hashes_for_new_leaf<R: HashReader>(
    n: u64,
    leaf: &Hash,
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if n >= MAX_TREE_SIZE {
        return Err(TreeError::TooLarge(n));
    }
    let levels = n.trailing_ones();
    let indexes: Vec<u64> = (0..levels)
        .map(|l| stored_hash_index(l, (n >> l) - 1))
        .collect();
    let lefts = read_exact(reader, &indexes)?;
    let mut out = Vec::with_capacity(lefts.len() + 1);
    let mut h = *leaf;
    out.push(h);
    for left in &lefts {
        h = node_hash(left, &h);
        out.push(h);
    }
    Ok(out)
}

/// Root hash of the tree of `size` leaves.
pub fn tree_hash<R: HashReader>(size: u64, reader: &R) -> Result<Hash, TreeError<R::Error>> {
    check_size(size)?;
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    let mut v = range_hashes(&[(0, size)], reader)?;
    v.pop().ok_or(TreeError::ShortRead { got: 0, want: 1 })
}

/// Inclusion proof (RFC 9162 §2.1.3.1) for leaf `index` in the tree of `size`.
pub fn inclusion_proof<R: HashReader>(
    index: u64,
    size: u64,
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    check_size(size)?;
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    range_hashes(&inclusion_ranges(index, size), reader)
}

/// Consistency proof (RFC 9162 §2.1.4.1) from the tree of `m` leaves to the
/// tree of `n` leaves. Empty when `m == n`; `m == 0` is refused.
pub fn consistency_proof<R: HashReader>(
    m: u64,
    n: u64,
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    check_size(n)?;
    if m == 0 || m > n {
        return Err(TreeError::BadSizes { size1: m, size2: n });
    }
    range_hashes(&consistency_ranges(m, n), reader)
}

fn check_size<E: std::error::Error>(size: u64) -> Result<(), TreeError<E>> {
    if size > MAX_TREE_SIZE {
        Err(TreeError::TooLarge(size))
    } else {
        Ok(())
    }
}

/// Largest power of two strictly below `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Leaf ranges whose subtree hashes form the inclusion path, leaf upwards.
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0u64, size);
    let mut path = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            path.push((lo + k, hi));
            hi = lo + k;
        } else {
            path.push((lo, lo + k));
            lo += k;
        }
    }
    path.reverse();
    path
}

/// Leaf ranges whose subtree hashes form the consistency proof (SUBPROOF).
fn consistency_ranges(m: u64, n: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0u64, n);
    let mut whole = true;
    let mut path = Vec::new();
    loop {
        if m == hi {
            if !whole {
                path.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if m <= lo + k {
            path.push((lo + k, hi));
            hi = lo + k;
        } else {
            path.push((lo, lo + k));
            lo += k;
            whole = false;
        }
    }
    path.reverse();
    path
}

/// Splits a leaf range into maximal aligned complete subtrees `(level, n)`.
fn complete_subtrees(mut lo: u64, hi: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    while lo < hi {
        let mut level = if lo == 0 { 63 } else { lo.trailing_zeros() };
        while level > 0 && (1u64 << level) > hi - lo {
            level -= 1;
        }
        out.push((level, lo >> level));
        lo += 1u64 << level;
    }
    out
}

/// Hashes of the given leaf ranges, with one batched storage read.
fn range_hashes<R: HashReader>(
    ranges: &[(u64, u64)],
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    let parts: Vec<Vec<(u32, u64)>> = ranges
        .iter()
        .map(|&(lo, hi)| complete_subtrees(lo, hi))
        .collect();
    let indexes: Vec<u64> = parts
        .iter()
        .flatten()
        .map(|&(l, n)| stored_hash_index(l, n))
        .collect();
    let hashes = read_exact(reader, &indexes)?;
    let mut it = hashes.into_iter();
    let mut out = Vec::with_capacity(ranges.len());
    for p in &parts {
        let chunk: Vec<Hash> = it.by_ref().take(p.len()).collect();
        out.push(fold_right(chunk.into_iter()).unwrap_or(EMPTY_ROOT));
    }
    Ok(out)
}

/// Folds subtree hashes of decreasing size right to left into one root.
fn fold_right(hashes: impl DoubleEndedIterator<Item = Hash>) -> Option<Hash> {
    hashes.rev().reduce(|right, left| node_hash(&left, &right))
}

fn read_exact<R: HashReader>(
    reader: &R,
    indexes: &[u64],
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let got = reader.read_hashes(indexes).map_err(TreeError::Storage)?;
    if got.len() != indexes.len() {
        return Err(TreeError::ShortRead {
            got: got.len(),
            want: indexes.len(),
        });
    }
    Ok(got)
}

#[cfg(test)]
mod tests;
