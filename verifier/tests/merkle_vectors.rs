//! transparency-dev/merkle test vectors (Apache-2.0; see testdata/README.md).
//!
//! Every upstream vector file under `testdata/merkle/{inclusion,consistency}`
//! (listed with its source commit in `testdata/merkle/SOURCES.tsv`) is run:
//! positive vectors must verify, negative ones (`"wantErr": true`) must be
//! refused. Upstream hash fields are raw bytes; values that are not 32 bytes
//! ("WrongLeaf", "" garbage, "don't care" roots) cannot be passed to the typed
//! API at all, so such a negative vector is already refused by construction.
//! It is still run through the verifier with a stand-in hash (`stand_in`).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests may unwrap

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_verifier::error::ProofError;
use glassgate_verifier::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
use glassgate_verifier::proof::{root_from_inclusion_proof, verify_consistency, verify_inclusion};
use glassgate_verifier::tree::{InMemoryHashes, consistency_proof, inclusion_proof, tree_hash};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What a vector (or probe) checks, without its description:
/// (leaf index or size1, tree size or size2, root or root1, leaf hash or
/// root2, proof).
type Case = (u64, u64, Hash, Hash, Vec<Hash>);
type Probe = (&'static str, Case);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Inclusion,
    Consistency,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Inclusion => "inclusion",
            Kind::Consistency => "consistency",
        }
    }
    fn verify(self, c: &Case) -> Result<(), ProofError> {
        let (a, b, x, y, proof) = c;
        match self {
            Kind::Inclusion => verify_inclusion(y, *a, *b, proof, x),
            Kind::Consistency => verify_consistency(*a, *b, proof, x, y),
        }
    }
    fn probes(self, c: &Case) -> Vec<Probe> {
        match self {
            Kind::Inclusion => inclusion_probes(c),
            Kind::Consistency => consistency_probes(c),
        }
    }
}

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/merkle")
        .join(rel)
}

/// `raw` itself when it is a hash; otherwise SHA-256(`role` || `raw`). With
/// an empty role equal values stay equal (all that the "don't care" roots of
/// positive vectors rely on); distinct roles keep two malformed fields of a
/// negative vector (e.g. an empty root and an empty leaf) from matching.
fn stand_in(raw: &[u8], role: &str) -> Hash {
    raw.try_into().unwrap_or_else(|_| {
        Sha256::new()
            .chain_update(role)
            .chain_update(raw)
            .finalize()
            .into()
    })
}
fn typed(raw: &[u8]) -> Hash {
    stand_in(raw, "")
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
fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

/// Sorted `*.json` files below `dir` (recursively), relative to `testdata/merkle`.
fn json_files(rel: &str) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    let root = data("");
    let mut v = Vec::new();
    walk(&data(rel), &mut v);
    let mut v: Vec<String> = v
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap().to_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

/// One upstream vector file, fields as raw bytes.
struct Vector {
    want_err: bool,
    a: u64,
    b: u64,
    x: Vec<u8>,
    y: Vec<u8>,
    proof: Vec<Vec<u8>>,
}

impl Vector {
    fn load(kind: Kind, rel: &str) -> Self {
        let v = load(&data(rel));
        let (a, b, x, y) = match kind {
            // Older upstream revisions spell the index "leafIndex".
            Kind::Inclusion => (
                v.get("leafIdx").or_else(|| v.get("leafIndex")),
                &v["treeSize"],
                &v["root"],
                &v["leafHash"],
            ),
            Kind::Consistency => (Some(&v["size1"]), &v["size2"], &v["root1"], &v["root2"]),
        };
        Vector {
            want_err: v["wantErr"].as_bool().unwrap(),
            a: a.unwrap().as_u64().unwrap(),
            b: b.as_u64().unwrap(),
            x: b64(x),
            y: b64(y),
            // `null` (a nil proof upstream) is the empty proof.
            proof: v["proof"]
                .as_array()
                .map(|p| p.iter().map(b64).collect())
                .unwrap_or_default(),
        }
    }
    /// Whether every hash field is 32 bytes, i.e. the typed API can take it.
    fn typeable(&self) -> bool {
        [&self.x, &self.y]
            .into_iter()
            .chain(&self.proof)
            .all(|r| r.len() == 32)
    }
    fn case(&self, distinct_roles: bool) -> Case {
        let role = |r: &'static str| if distinct_roles { r } else { "" };
        (
            self.a,
            self.b,
            stand_in(&self.x, role("x")),
            stand_in(&self.y, role("y")),
            self.proof
                .iter()
                .map(|p| stand_in(p, role("proof")))
                .collect(),
        )
    }
}

struct Reference {
    tree: InMemoryHashes,
    leaves: Vec<Hash>,
    roots: Vec<Hash>,
}

fn reference() -> Value {
    load(&data("reference.json"))
}

fn reference_tree() -> Reference {
    let r = reference();
    let leaves: Vec<Hash> = r["leafInputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| leaf_hash(&hex(x.as_str().unwrap())))
        .collect();
    let mut tree = InMemoryHashes::new();
    leaves
        .iter()
        .for_each(|l| tree.append_leaf_hash(l).unwrap());
    Reference {
        tree,
        leaves,
        roots: hex_list(&r["rootHashes"]),
    }
}

/// The corruptions `proof/verify_test.go` (later `cmd/proofgen`) applies to a
/// valid inclusion proof; upstream's `testdata/inclusion/<n>` sets are these.
fn inclusion_probes(c: &Case) -> Vec<Probe> {
    let (i, n, root, leaf, proof) = c.clone();
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    let with = |f: &dyn Fn(&mut Vec<Hash>)| {
        let mut p = proof.clone();
        f(&mut p);
        p
    };
    let mut probes: Vec<Probe> = vec![
        (
            "index - 1",
            (i.wrapping_sub(1), n, root, leaf, proof.clone()),
        ),
        ("index + 1", (i + 1, n, root, leaf, proof.clone())),
        ("index ^ 2", (i ^ 2, n, root, leaf, proof.clone())),
        ("size * 2", (i, n * 2, root, leaf, proof.clone())),
        ("size / 2", (i, n / 2, root, leaf, proof.clone())),
        (
            "wrong leaf",
            (i, n, root, typed(b"WrongLeaf"), proof.clone()),
        ),
        ("empty root", (i, n, EMPTY_ROOT, leaf, proof.clone())),
        ("random root", (i, n, some, leaf, proof.clone())),
        (
            "trailing garbage",
            (i, n, root, leaf, with(&|p| p.push(typed(b"")))),
        ),
        ("trailing root", (i, n, root, leaf, with(&|p| p.push(root)))),
        (
            "preceding garbage",
            (i, n, root, leaf, with(&|p| p.insert(0, typed(b"")))),
        ),
        (
            "preceding root",
            (i, n, root, leaf, with(&|p| p.insert(0, root))),
        ),
    ];
    for k in 0..proof.len() {
        probes.push(("flipped bit", (i, n, root, leaf, with(&|p| p[k][0] ^= 8))));
    }
    if !proof.is_empty() {
        probes.push((
            "removed component",
            (
                i,
                n,
                root,
                leaf,
                with(&|p| {
                    p.pop();
                }),
            ),
        ));
    }
    if proof.len() > 1 {
        probes.push((
            "inserted component",
            (i, n, root, leaf, with(&|p| p.insert(1, some))),
        ));
    }
    probes
}

/// The corruptions upstream applies to a non-empty consistency proof; its
/// `testdata/consistency/<n>` sets are these.
fn consistency_probes(c: &Case) -> Vec<Probe> {
    let (m, n, r1, r2, proof) = c.clone();
    if proof.is_empty() {
        return Vec::new();
    }
    let wrong = typed(b"WrongRoot");
    let with = |f: &dyn Fn(&mut Vec<Hash>)| {
        let mut p = proof.clone();
        f(&mut p);
        p
    };
    let mut probes: Vec<Probe> = vec![
        ("size1 - 1", (m.wrapping_sub(1), n, r1, r2, proof.clone())),
        ("size1 + 1", (m + 1, n, r1, r2, proof.clone())),
        ("size1 ^ 2", (m ^ 2, n, r1, r2, proof.clone())),
        ("size2 * 2", (m, n * 2, r1, r2, proof.clone())),
        ("size2 / 2", (m, n / 2, r1, r2, proof.clone())),
        ("wrong root1", (m, n, wrong, r2, proof.clone())),
        ("wrong root2", (m, n, r1, wrong, proof.clone())),
        ("swapped roots", (m, n, r2, r1, proof.clone())),
        ("empty proof", (m, n, r1, r2, vec![])),
        (
            "trailing garbage",
            (m, n, r1, r2, with(&|p| p.push(typed(b"")))),
        ),
        ("trailing root1", (m, n, r1, r2, with(&|p| p.push(r1)))),
        ("trailing root2", (m, n, r1, r2, with(&|p| p.push(r2)))),
        (
            "preceding garbage",
            (m, n, r1, r2, with(&|p| p.insert(0, typed(b"")))),
        ),
        (
            "preceding root1",
            (m, n, r1, r2, with(&|p| p.insert(0, r1))),
        ),
        (
            "preceding root2",
            (m, n, r1, r2, with(&|p| p.insert(0, r2))),
        ),
        (
            "preceding proof[0]",
            (m, n, r1, r2, with(&|p| p.insert(0, p[0]))),
        ),
        (
            "truncated proof",
            (
                m,
                n,
                r1,
                r2,
                with(&|p| {
                    p.pop();
                }),
            ),
        ),
    ];
    for k in 0..proof.len() {
        probes.push(("flipped bit", (m, n, r1, r2, with(&|p| p[k][0] ^= 16))));
    }
    probes
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
    let Reference {
        tree,
        leaves,
        roots,
    } = reference_tree();
    for v in reference()["inclusionProofs"].as_array().unwrap() {
        let (i, n) = (
            v["leafIndex"].as_u64().unwrap(),
            v["treeSize"].as_u64().unwrap(),
        );
        let proof = hex_list(&v["proof"]);
        let (leaf, root) = (leaves[i as usize], roots[n as usize]);
        assert_eq!(
            inclusion_proof(i, n, &tree).unwrap(),
            proof,
            "generated {i}/{n}"
        );
        assert_eq!(
            root_from_inclusion_proof(&leaf, i, n, &proof).unwrap(),
            root
        );
        verify_inclusion(&leaf, i, n, &proof, &root).unwrap();
        for (desc, c) in inclusion_probes(&(i, n, root, leaf, proof)) {
            assert!(
                Kind::Inclusion.verify(&c).is_err(),
                "{desc} accepted for {i}/{n}"
            );
        }
    }
}

#[test]
fn reference_consistency_proofs_and_probes() {
    let Reference { tree, roots, .. } = reference_tree();
    for v in reference()["consistencyProofs"].as_array().unwrap() {
        let (m, n) = (v["size1"].as_u64().unwrap(), v["size2"].as_u64().unwrap());
        let proof = hex_list(&v["proof"]);
        let (r1, r2) = (roots[m as usize], roots[n as usize]);
        assert_eq!(
            consistency_proof(m, n, &tree).unwrap(),
            proof,
            "generated {m}->{n}"
        );
        verify_consistency(m, n, &proof, &r1, &r2).unwrap();
        for (desc, c) in consistency_probes(&(m, n, r1, r2, proof)) {
            assert!(
                Kind::Consistency.verify(&c).is_err(),
                "{desc} accepted for {m}->{n}"
            );
        }
    }
}

/// `SOURCES.tsv` lists exactly the vendored vector files.
#[test]
fn vendored_files_match_sources_list() {
    let listed: BTreeSet<String> = std::fs::read_to_string(data("SOURCES.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (path, commit) = l.split_once('\t').unwrap();
            assert_eq!(commit.len(), 40, "{l}");
            path.to_owned()
        })
        .collect();
    let found: BTreeSet<String> = json_files("inclusion")
        .into_iter()
        .chain(json_files("consistency"))
        .collect();
    assert_eq!(listed, found);
    assert_eq!(found.len(), 266);
}

/// Runs every vector of `kind`; returns (positive, negative, negative and
/// not typeable) counts.
fn run_all(kind: Kind) -> (usize, usize, usize) {
    let (mut pos, mut neg, mut untyped) = (0, 0, 0);
    for rel in json_files(kind.dir()) {
        let v = Vector::load(kind, &rel);
        if v.want_err {
            neg += 1;
            untyped += usize::from(!v.typeable());
            assert!(
                kind.verify(&v.case(true)).is_err(),
                "{rel}: negative vector accepted"
            );
        } else {
            pos += 1;
            // Only the equal "don't care" roots of same-size consistency
            // checks are positive without being typeable.
            assert!(v.typeable() || kind == Kind::Consistency, "{rel}");
            let got = kind.verify(&v.case(false));
            assert!(got.is_ok(), "{rel}: positive vector refused: {got:?}");
        }
    }
    (pos, neg, untyped)
}

#[test]
fn vendored_inclusion_vectors() {
    assert_eq!(run_all(Kind::Inclusion), (6, 123, 27));
}

#[test]
fn vendored_consistency_vectors() {
    assert_eq!(run_all(Kind::Consistency), (11, 126, 25));
}

/// For positive vectors over the reference tree, our proof generation gives
/// exactly the upstream proof; the single-entry vector is checked against a
/// one-leaf tree of its leaf hash.
#[test]
fn positive_vectors_regenerate() {
    let Reference {
        tree,
        leaves,
        roots,
    } = reference_tree();
    let on_reference =
        |i: u64, n: u64, x: &Hash| (n as usize) < roots.len() && roots[n as usize] == *x && i <= n;
    let mut regenerated = Vec::new();
    for rel in json_files("inclusion") {
        let v = Vector::load(Kind::Inclusion, &rel);
        if v.want_err {
            continue;
        }
        let (i, n, root, leaf, proof) = v.case(false);
        if on_reference(i, n, &root) && leaves[i as usize] == leaf {
            assert_eq!(inclusion_proof(i, n, &tree).unwrap(), proof, "{rel}");
        } else {
            assert_eq!((i, n, root), (0, 1, leaf), "{rel}: not a one-leaf tree");
            let mut one = InMemoryHashes::new();
            one.append_leaf_hash(&leaf).unwrap();
            assert_eq!(tree_hash(1, &one).unwrap(), root, "{rel}");
            assert_eq!(inclusion_proof(0, 1, &one).unwrap(), proof, "{rel}");
        }
        regenerated.push(rel);
    }
    for rel in json_files("consistency") {
        let v = Vector::load(Kind::Consistency, &rel);
        if v.want_err || !v.typeable() {
            // The untypeable positives are same-size checks of "don't
            // care" roots, which belong to no tree.
            continue;
        }
        let (m, n, r1, r2, proof) = v.case(false);
        assert!(
            m > 0 && on_reference(0, m, &r1) && on_reference(0, n, &r2),
            "{rel}"
        );
        assert_eq!(consistency_proof(m, n, &tree).unwrap(), proof, "{rel}");
        regenerated.push(rel);
    }
    assert_eq!(
        regenerated,
        [
            "inclusion/0/happy-path.json",
            "inclusion/1/happy-path.json",
            "inclusion/2/happy-path.json",
            "inclusion/3/happy-path.json",
            "inclusion/4/happy-path.json",
            "inclusion/single-entry/matching-root-and-leaf.json",
            "consistency/0/happy-path.json",
            "consistency/1/happy-path.json",
            "consistency/2/happy-path.json",
            "consistency/3/happy-path.json",
            "consistency/4/happy-path.json",
        ]
    );
}

/// Each numbered upstream set (`<kind>/<n>/`) holds a happy path and its
/// corruptions; the probe generators above produce exactly those
/// corruptions (as contents, ignoring descriptions and upstream renames).
#[test]
fn probes_match_numbered_sets() {
    for kind in [Kind::Inclusion, Kind::Consistency] {
        let mut dirs = 0;
        for n in 0.. {
            let dir = format!("{}/{n}", kind.dir());
            if !data(&dir).is_dir() {
                break;
            }
            dirs += 1;
            let happy = Vector::load(kind, &format!("{dir}/happy-path.json"));
            let probes: BTreeSet<Case> = kind
                .probes(&happy.case(false))
                .into_iter()
                .map(|(_, c)| c)
                .collect();
            let vendored: BTreeSet<Case> = json_files(&dir)
                .iter()
                .map(|rel| Vector::load(kind, rel))
                .filter(|v| v.want_err)
                .map(|v| v.case(false))
                .collect();
            assert_eq!(probes, vendored, "{dir}");
        }
        assert_eq!(dirs, 5, "{kind:?}");
    }
}
