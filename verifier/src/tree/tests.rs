use super::*;
use crate::proof::{verify_consistency, verify_inclusion};

fn leaf_for(i: u64) -> Hash {
    leaf_hash(format!("glassgate test leaf {i}").as_bytes())
}

fn build(n: u64) -> (InMemoryHashes, Vec<Hash>) {
    let mut t = InMemoryHashes::new();
    let mut leaves = Vec::new();
    for i in 0..n {
        let h = leaf_for(i);
        t.append_leaf_hash(&h).unwrap();
        leaves.push(h);
    }
    (t, leaves)
}

/// Property-style check over sizes 1..=300: every inclusion proof and every
/// consistency proof generated from storage verifies, and roots agree with
/// the direct computation.
#[test]
fn generated_proofs_verify_for_all_sizes_up_to_300() {
    let (t, leaves) = build(300);
    let mut roots = vec![EMPTY_ROOT];
    for n in 1..=300u64 {
        let root = tree_hash(n, &t).unwrap();
        assert_eq!(
            root,
            root_from_leaf_hashes(&leaves[..n as usize]),
            "size {n}"
        );
        roots.push(root);
    }
    for n in 1..=300u64 {
        let root = roots[n as usize];
        for i in 0..n {
            let p = inclusion_proof(i, n, &t).unwrap();
            verify_inclusion(&leaves[i as usize], i, n, &p, &root)
                .unwrap_or_else(|e| panic!("inclusion {i}/{n}: {e}"));
        }
        for m in 1..n {
            let p = consistency_proof(m, n, &t).unwrap();
            verify_consistency(m, n, &p, &roots[m as usize], &root)
                .unwrap_or_else(|e| panic!("consistency {m}->{n}: {e}"));
        }
        assert!(consistency_proof(n, n, &t).unwrap().is_empty());
    }
}

#[test]
fn proofs_from_a_larger_store_match_smaller_trees() {
    // Proofs for old sizes must not depend on hashes stored later.
    let (big, _) = build(100);
    let (small, leaves) = build(37);
    assert_eq!(tree_hash(37, &big).unwrap(), tree_hash(37, &small).unwrap());
    let p = inclusion_proof(5, 37, &big).unwrap();
    assert_eq!(p, inclusion_proof(5, 37, &small).unwrap());
    verify_inclusion(&leaves[5], 5, 37, &p, &tree_hash(37, &small).unwrap()).unwrap();
}

#[test]
fn o1_hashes_stored_per_leaf() {
    let (t, _) = build(1024);
    assert_eq!(t.stored().len() as u64, stored_hash_count(1024));
    assert_eq!(stored_hash_count(1024), 2047);
}

#[test]
fn errors_instead_of_panics() {
    let (t, _) = build(10);
    assert!(matches!(
        inclusion_proof(10, 10, &t),
        Err(TreeError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        consistency_proof(0, 5, &t),
        Err(TreeError::BadSizes { .. })
    ));
    assert!(matches!(
        consistency_proof(6, 5, &t),
        Err(TreeError::BadSizes { .. })
    ));
    // Asking beyond what is stored surfaces the storage error.
    assert!(matches!(tree_hash(11, &t), Err(TreeError::Storage(_))));
    assert!(matches!(
        tree_hash(u64::MAX, &t),
        Err(TreeError::TooLarge(_))
    ));
    assert_eq!(tree_hash(0, &t).unwrap(), EMPTY_ROOT);
    assert_eq!(root_from_leaf_hashes(&[]), EMPTY_ROOT);
}

struct ShortReader;
impl HashReader for ShortReader {
    type Error = MissingHash;
    fn read_hashes(&self, _: &[u64]) -> Result<Vec<Hash>, MissingHash> {
        Ok(Vec::new())
    }
}

#[test]
fn short_reads_are_detected() {
    assert!(matches!(
        tree_hash(3, &ShortReader),
        Err(TreeError::ShortRead { .. })
    ));
}
