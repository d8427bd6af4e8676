//! An in-memory [`HashReader`] for tests and small tools.

use super::{HashReader, MAX_TREE_SIZE, stored_hash_count, stored_hashes_for_new_leaf};
use crate::error::TreeError;
use crate::hash::Hash;

/// A stored hash index that is not (yet) in storage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no stored hash at index {0}")]
pub struct MissingHash(pub u64);

/// All stored hashes of a tree, kept in a vector in stored-hash-index order.
#[derive(Debug, Clone, Default)]
pub struct InMemoryHashes {
    hashes: Vec<Hash>,
    size: u64,
}

impl InMemoryHashes {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// All stored hashes, in stored hash index order.
    pub fn stored(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends one leaf hash, storing the hashes it completes.
    pub fn append_leaf_hash(&mut self, leaf: &Hash) -> Result<(), TreeError<MissingHash>> {
        if self.size >= MAX_TREE_SIZE {
            return Err(TreeError::TooLarge(self.size));
        }
        let new = stored_hashes_for_new_leaf(self.size, leaf, self)?;
        self.hashes.extend(new);
        self.size += 1;
        debug_assert_eq!(self.hashes.len() as u64, stored_hash_count(self.size));
        Ok(())
    }
}

impl HashReader for InMemoryHashes {
    type Error = MissingHash;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MissingHash> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|u| self.hashes.get(u))
                    .copied()
                    .ok_or(MissingHash(i))
            })
            .collect()
    }
}
