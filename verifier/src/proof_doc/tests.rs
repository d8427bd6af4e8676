use super::*;
use crate::error::{CheckpointError, NoteError, PolicyError, ProofError};
use crate::hash::leaf_hash;
use crate::testutil::{TestKey, log_key, signed_checkpoint, witness_key};
use crate::tree::{InMemoryHashes, inclusion_proof, tree_hash};

const ORIGIN: &str = "log.example/proofs";

fn fixture(witnesses: &[&TestKey]) -> (TlogProof, Hash, TestKey) {
    let log = log_key(5, ORIGIN);
    let mut t = InMemoryHashes::new();
    for i in 0..21u32 {
        t.append_leaf_hash(&leaf_hash(format!("entry {i}").as_bytes()))
            .unwrap();
    }
    let root = tree_hash(21, &t).unwrap();
    let proof = TlogProof {
        extra: Some(b"ctx".to_vec()),
        index: 13,
        inclusion: inclusion_proof(13, 21, &t).unwrap(),
        checkpoint: signed_checkpoint(&log, 21, root, witnesses),
    };
    (proof, leaf_hash(b"entry 13"), log)
}

#[test]
fn spec_example_parses() {
    // Adapted from the example document of C2SP/C2SP tlog-proof.md (CC BY
    // 4.0): extra shortened to valid base64, two hashes kept; the spec elides
    // its signatures, so only the proof part is checked.
    let doc = "c2sp.org/tlog-proof@v1\nextra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\nindex 73894\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\nB95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n\nexample.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n\u{2014} example.com/fancylog hI2DJw==\n";
    let p = TlogProof::parse(doc.as_bytes()).unwrap();
    assert_eq!(p.index, 73894);
    assert_eq!(p.inclusion.len(), 2);
    assert_eq!(
        p.extra.as_deref(),
        Some(&b"age-v1.2.1-darwin-arm64.tar.gz"[..])
    );
    assert!(p.checkpoint.starts_with("example.com/fancylog\n109482\n"));
    assert_eq!(p.to_text(), doc);
}

#[test]
fn round_trip_and_verify() {
    let (proof, leaf, log) = fixture(&[]);
    let text = proof.to_text();
    let parsed = TlogProof::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, proof);
    let v = parsed.verify(&leaf, &log.vkey, None).unwrap();
    assert_eq!(v.checkpoint.size, 21);
    // Wrong leaf, wrong index, other log key.
    assert_eq!(
        parsed
            .verify(&leaf_hash(b"entry 12"), &log.vkey, None)
            .err(),
        Some(ProofDocError::Inclusion(ProofError::RootMismatch))
    );
    let mut moved = parsed.clone();
    moved.index = 12;
    assert!(matches!(
        moved.verify(&leaf, &log.vkey, None),
        Err(ProofDocError::Inclusion(_))
    ));
    let stranger = log_key(6, ORIGIN);
    assert_eq!(
        parsed.verify(&leaf, &stranger.vkey, None).err(),
        Some(ProofDocError::Checkpoint(CheckpointError::Note(
            NoteError::NoKnownSignature
        )))
    );
    let mut tampered = parsed.clone();
    tampered.checkpoint = tampered.checkpoint.replacen("\n21\n", "\n22\n", 1);
    assert!(matches!(
        tampered.verify(&leaf, &log.vkey, None),
        Err(ProofDocError::Checkpoint(CheckpointError::Note(
            NoteError::InvalidSignature(_)
        )))
    ));
}

#[test]
fn verify_with_policy() {
    let w = witness_key(40, "w.example/1");
    let (proof, leaf, log) = fixture(&[&w]);
    let policy_text = format!("log {}\nwitness W {}\nquorum W\n", log.vkey, w.vkey);
    let policy = Policy::parse(policy_text.as_bytes()).unwrap();
    let v = proof.verify(&leaf, &log.vkey, Some(&policy)).unwrap();
    assert_eq!(v.witnesses, vec!["W"]);
    let (bare, leaf, log) = fixture(&[]);
    assert_eq!(
        bare.verify(&leaf, &log.vkey, Some(&policy)).err(),
        Some(ProofDocError::Policy(PolicyError::QuorumNotReached))
    );
}

#[test]
fn malformed_documents_are_rejected() {
    let h = "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=";
    let cp = "o\n1\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n\n\u{2014} o AAAAAAE=\n";
    let cases: Vec<(String, ProofDocError)> = vec![
        (String::new(), ProofDocError::BadHeader),
        (
            format!("c2sp.org/tlog-proof@v2\nindex 0\n\n{cp}"),
            ProofDocError::BadHeader,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 01\n\n{cp}"),
            ProofDocError::BadIndex,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex -1\n\n{cp}"),
            ProofDocError::BadIndex,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex  1\n\n{cp}"),
            ProofDocError::BadIndex,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\n{h}\n\n{cp}"),
            ProofDocError::BadIndex,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\n{cp}"),
            ProofDocError::BadExtra,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nextra \nindex 1\n\n{cp}"),
            ProofDocError::BadExtra,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n{cp}"),
            ProofDocError::BadHash(3),
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 1\n{h}\n{h} \n\n{cp}"),
            ProofDocError::BadHash(4),
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 1\n{h}\n"),
            ProofDocError::MissingCheckpoint,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 1\n{h}\n\n"),
            ProofDocError::MissingCheckpoint,
        ),
        (
            format!(
                "c2sp.org/tlog-proof@v1\nindex 1\n{}\n{cp}",
                format!("{h}\n").repeat(65)
            ),
            ProofDocError::TooManyHashes(MAX_PROOF_HASHES),
        ),
    ];
    for (doc, want) in cases {
        assert_eq!(TlogProof::parse(doc.as_bytes()), Err(want), "{doc:?}");
    }
    assert_eq!(TlogProof::parse(b"\xff\n"), Err(ProofDocError::NotUtf8));
}
