//! Verification of RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2)
//! proofs. Proof hashes are ordered from the leaf (or old root) upwards.

use crate::error::ProofError;
use crate::hash::{Hash, node_hash};

/// Recomputes the root of a tree of `size` leaves from the hash of the leaf
/// at `index` and its inclusion proof.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::ProofTooShort);
    }
    Ok(r)
}

/// Verifies that the leaf with hash `leaf_hash` is at `index` in the tree of
/// `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let got = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if &got == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Verifies that the tree of `size2` leaves with root `root2` extends the
/// tree of `size1` leaves with root `root1`.
///
/// Special cases, as in transparency-dev/merkle: `size1 == size2` requires an
/// empty proof and equal roots; `size1 == 0 < size2` is rejected as
/// meaningless (a witness handles "old 0" itself, without a proof).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::ProofNotEmpty);
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    let (first, rest) = match proof.split_first() {
        None => return Err(ProofError::ProofTooShort),
        // When size1 is a power of two the old root is the first path element.
        Some((p0, rest)) if !size1.is_power_of_two() => (*p0, rest),
        Some(_) => (*root1, proof),
    };
    let mut f = size1 - 1;
    let mut s = size2 - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = first;
    let mut sr = first;
    for c in rest {
        if s == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if &fr != root1 {
        return Err(ProofError::RootMismatch);
    }
    if &sr != root2 {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}
