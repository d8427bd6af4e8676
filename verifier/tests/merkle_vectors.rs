//! transparency-dev/merkle test vectors (Apache-2.0; see testdata/README.md).
//!
//! Values that are not 32 bytes in the vectors ("WrongLeaf", "" garbage,
//! "don't care" roots) cannot be typed as `Hash`; they are mapped to their
//! SHA-256, which keeps them distinct, wrong, and equal where they were equal.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests may unwrap

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_verifier::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
use glassgate_verifier::proof::{root_from_inclusion_proof, verify_consistency, verify_inclusion};
use glassgate_verifier::tree::{InMemoryHashes, consistency_proof, inclusion_proof, tree_hash};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// (description, index or size1, size, root or root1, leaf or root2, proof)
type Probe = (&'static str, u64, u64, Hash, Hash, Vec<Hash>);

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/merkle")
        .join(rel)
}

fn typed(raw: &[u8]) -> Hash {
    raw.try_into()
        .unwrap_or_else(|_| Sha256::digest(raw).into())
}
fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
fn h(s: &str) -> Hash {
    typed(&hex(s))
}
fn b64(v: &Value) -> Hash {
    typed(&STANDARD.decode(v.as_str().unwrap()).unwrap())
}
fn b64_list(v: &Value) -> Vec<Hash> {
    v.as_array()
        .map(|a| a.iter().map(b64).collect())
        .unwrap_or_default()
}
fn hex_list(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| h(x.as_str().unwrap()))
        .collect()
}
fn load(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
fn json_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(data(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn reference() -> Value {
    load(&data("reference.json"))
}

#[test]
fn reference_tree_hashes() {
    let r = reference();
    let leaves: Vec<Vec<u8>> = r["leafInputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| hex(x.as_str().unwrap()))
        .collect();
    let roots = hex_list(&r["rootHashes"]);
    assert_eq!(roots[0], EMPTY_ROOT);
    let nodes: Vec<Vec<Hash>> = r["nodeHashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(hex_list)
        .collect();
    let mut t = InMemoryHashes::new();
    for (i, l) in leaves.iter().enumerate() {
        assert_eq!(leaf_hash(l), nodes[0][i]);
        t.append_leaf_hash(&leaf_hash(l)).unwrap();
        assert_eq!(tree_hash(i as u64 + 1, &t).unwrap(), roots[i + 1]);
    }
    for level in 1..nodes.len() {
        for (i, n) in nodes[level].iter().enumerate() {
            assert_eq!(
                &node_hash(&nodes[level - 1][2 * i], &nodes[level - 1][2 * i + 1]),
                n
            );
        }
    }
}

#[test]
fn reference_inclusion_proofs_and_probes() {
    let r = reference();
    let roots = hex_list(&r["rootHashes"]);
    let leaves: Vec<Hash> = r["leafInputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| leaf_hash(&hex(x.as_str().unwrap())))
        .collect();
    let mut t = InMemoryHashes::new();
    leaves.iter().for_each(|l| t.append_leaf_hash(l).unwrap());
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    for v in r["inclusionProofs"].as_array().unwrap() {
        let (i, n) = (
            v["leafIndex"].as_u64().unwrap(),
            v["treeSize"].as_u64().unwrap(),
        );
        let proof = hex_list(&v["proof"]);
        let (leaf, root) = (leaves[i as usize], roots[n as usize]);
        assert_eq!(
            inclusion_proof(i, n, &t).unwrap(),
            proof,
            "generated {i}/{n}"
        );
        assert_eq!(
            root_from_inclusion_proof(&leaf, i, n, &proof).unwrap(),
            root
        );
        verify_inclusion(&leaf, i, n, &proof, &root).unwrap();

        let with = |f: &dyn Fn(&mut Vec<Hash>)| {
            let mut p = proof.clone();
            f(&mut p);
            p
        };
        let mut probes: Vec<Probe> = vec![
            ("index - 1", i.wrapping_sub(1), n, root, leaf, proof.clone()),
            ("index + 1", i + 1, n, root, leaf, proof.clone()),
            ("index ^ 2", i ^ 2, n, root, leaf, proof.clone()),
            ("size * 2", i, n * 2, root, leaf, proof.clone()),
            ("size / 2", i, n / 2, root, leaf, proof.clone()),
            ("wrong leaf", i, n, root, typed(b"WrongLeaf"), proof.clone()),
            ("empty root", i, n, EMPTY_ROOT, leaf, proof.clone()),
            ("random root", i, n, some, leaf, proof.clone()),
            (
                "trailing garbage",
                i,
                n,
                root,
                leaf,
                with(&|p| p.push(typed(b""))),
            ),
            ("trailing root", i, n, root, leaf, with(&|p| p.push(root))),
            (
                "preceding garbage",
                i,
                n,
                root,
                leaf,
                with(&|p| p.insert(0, typed(b""))),
            ),
            (
                "preceding root",
                i,
                n,
                root,
                leaf,
                with(&|p| p.insert(0, root)),
            ),
            (
                "removed component",
                i,
                n,
                root,
                leaf,
                with(&|p| {
                    p.pop();
                }),
            ),
        ];
        if proof.len() > 1 {
            probes.push((
                "inserted component",
                i,
                n,
                root,
                leaf,
                with(&|p| p.insert(1, some)),
            ));
        }
        for k in 0..proof.len() {
            probes.push(("flipped bit", i, n, root, leaf, with(&|p| p[k][0] ^= 8)));
        }
        for (desc, i, n, root, leaf, p) in probes {
            assert!(
                verify_inclusion(&leaf, i, n, &p, &root).is_err(),
                "{desc} accepted"
            );
        }
    }
}

#[test]
fn reference_consistency_proofs_and_probes() {
    let r = reference();
    let roots = hex_list(&r["rootHashes"]);
    let mut t = InMemoryHashes::new();
    for x in r["leafInputs"].as_array().unwrap() {
        t.append_leaf_hash(&leaf_hash(&hex(x.as_str().unwrap())))
            .unwrap();
    }
    let wrong = typed(b"WrongRoot");
    for v in r["consistencyProofs"].as_array().unwrap() {
        let (m, n) = (v["size1"].as_u64().unwrap(), v["size2"].as_u64().unwrap());
        let proof = hex_list(&v["proof"]);
        let (r1, r2) = (roots[m as usize], roots[n as usize]);
        assert_eq!(
            consistency_proof(m, n, &t).unwrap(),
            proof,
            "generated {m}->{n}"
        );
        verify_consistency(m, n, &proof, &r1, &r2).unwrap();
        if proof.is_empty() {
            continue;
        }
        let with = |f: &dyn Fn(&mut Vec<Hash>)| {
            let mut p = proof.clone();
            f(&mut p);
            p
        };
        let mut probes: Vec<Probe> = vec![
            ("size1 - 1", m - 1, n, r1, r2, proof.clone()),
            ("size1 + 1", m + 1, n, r1, r2, proof.clone()),
            ("size1 ^ 2", m ^ 2, n, r1, r2, proof.clone()),
            ("size2 * 2", m, n * 2, r1, r2, proof.clone()),
            ("size2 / 2", m, n / 2, r1, r2, proof.clone()),
            ("wrong root1", m, n, wrong, r2, proof.clone()),
            ("wrong root2", m, n, r1, wrong, proof.clone()),
            ("swapped roots", m, n, r2, r1, proof.clone()),
            ("empty proof", m, n, r1, r2, vec![]),
            (
                "trailing garbage",
                m,
                n,
                r1,
                r2,
                with(&|p| p.push(typed(b""))),
            ),
            ("trailing root1", m, n, r1, r2, with(&|p| p.push(r1))),
            ("trailing root2", m, n, r1, r2, with(&|p| p.push(r2))),
            (
                "preceding garbage",
                m,
                n,
                r1,
                r2,
                with(&|p| p.insert(0, typed(b""))),
            ),
            ("preceding root1", m, n, r1, r2, with(&|p| p.insert(0, r1))),
            ("preceding root2", m, n, r1, r2, with(&|p| p.insert(0, r2))),
            (
                "preceding proof[0]",
                m,
                n,
                r1,
                r2,
                with(&|p| p.insert(0, p[0])),
            ),
            (
                "truncated proof",
                m,
                n,
                r1,
                r2,
                with(&|p| {
                    p.pop();
                }),
            ),
        ];
        for k in 0..proof.len() {
            probes.push(("flipped bit", m, n, r1, r2, with(&|p| p[k][0] ^= 16)));
        }
        for (desc, m, n, r1, r2, p) in probes {
            assert!(
                verify_consistency(m, n, &p, &r1, &r2).is_err(),
                "{desc} accepted for {m}->{n}"
            );
        }
    }
}

#[test]
fn verbatim_inclusion_vectors() {
    for f in json_files("inclusion/1") {
        let v = load(&f);
        let got = verify_inclusion(
            &b64(&v["leafHash"]),
            v["leafIdx"].as_u64().unwrap(),
            v["treeSize"].as_u64().unwrap(),
            &b64_list(&v["proof"]),
            &b64(&v["root"]),
        );
        assert_eq!(
            got.is_err(),
            v["wantErr"].as_bool().unwrap(),
            "{}",
            f.display()
        );
    }
}

#[test]
fn verbatim_consistency_vectors() {
    let mut n = 0;
    for dir in ["consistency/1", "consistency/additional"] {
        for f in json_files(dir) {
            let v = load(&f);
            let got = verify_consistency(
                v["size1"].as_u64().unwrap(),
                v["size2"].as_u64().unwrap(),
                &b64_list(&v["proof"]),
                &b64(&v["root1"]),
                &b64(&v["root2"]),
            );
            assert_eq!(
                got.is_err(),
                v["wantErr"].as_bool().unwrap(),
                "{}",
                f.display()
            );
            n += 1;
        }
    }
    assert_eq!(n, 11);
}
