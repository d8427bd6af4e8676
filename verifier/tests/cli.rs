//! Runs the built `verifier` binary on generated checkpoints and proofs and
//! checks its exit codes (0 ok, 1 verification failed, 2 input, 3 I/O).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests may unwrap

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use glassgate_verifier::checkpoint::Checkpoint;
use glassgate_verifier::cosignature::cosign;
use glassgate_verifier::hash::leaf_hash;
use glassgate_verifier::note::{SignatureType, VerifierKey, sign_note};
use glassgate_verifier::proof_doc::TlogProof;
use glassgate_verifier::tree::{InMemoryHashes, consistency_proof, inclusion_proof, tree_hash};
use std::path::{Path, PathBuf};
use std::process::Command;

const ORIGIN: &str = "oidc-log.example.org/test";

struct Fixture {
    dir: PathBuf,
    vkey: String,
}

impl Fixture {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn checkpoint_note(
    log: &SigningKey,
    t: &InMemoryHashes,
    size: u64,
    witness: Option<&SigningKey>,
) -> String {
    let body = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: tree_hash(size, t).unwrap(),
        extensions: vec![],
    }
    .to_text();
    let mut note = sign_note(&body, ORIGIN, &log.verifying_key().to_bytes(), |m| {
        log.sign(m).to_bytes()
    })
    .unwrap();
    if let Some(w) = witness {
        let s = cosign(
            &body,
            "witness.example/w",
            &w.verifying_key().to_bytes(),
            1_700_000_000,
            |m| w.sign(m).to_bytes(),
        )
        .unwrap();
        note.push_signature(s).unwrap();
    }
    note.to_text()
}

fn fixture(name: &str) -> Fixture {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let log = SigningKey::from_bytes(&[21; 32]);
    let wit = SigningKey::from_bytes(&[22; 32]);
    let vkey = VerifierKey::new(
        ORIGIN,
        SignatureType::Ed25519,
        &log.verifying_key().to_bytes(),
    )
    .unwrap();
    let wkey = VerifierKey::new(
        "witness.example/w",
        SignatureType::CosignatureV1,
        &wit.verifying_key().to_bytes(),
    )
    .unwrap();
    let mut t = InMemoryHashes::new();
    for i in 0..50u32 {
        t.append_leaf_hash(&leaf_hash(format!("event {i}").as_bytes()))
            .unwrap();
    }
    let write = |n: &str, s: &[u8]| std::fs::write(dir.join(n), s).unwrap();
    write("old", checkpoint_note(&log, &t, 17, None).as_bytes());
    write("new", checkpoint_note(&log, &t, 50, Some(&wit)).as_bytes());
    write(
        "tampered",
        checkpoint_note(&log, &t, 50, None)
            .replace("\n50\n", "\n51\n")
            .as_bytes(),
    );
    let proof: String = consistency_proof(17, 50, &t)
        .unwrap()
        .iter()
        .map(|h| STANDARD.encode(h) + "\n")
        .collect();
    write("proof", proof.as_bytes());
    let bad: String = consistency_proof(16, 50, &t)
        .unwrap()
        .iter()
        .map(|h| STANDARD.encode(h) + "\n")
        .collect();
    write("badproof", bad.as_bytes());
    let doc = TlogProof {
        extra: None,
        index: 7,
        inclusion: inclusion_proof(7, 50, &t).unwrap(),
        checkpoint: checkpoint_note(&log, &t, 50, Some(&wit)),
    };
    write("entry.tlog-proof", doc.to_text().as_bytes());
    write("entry", b"event 7");
    write("other-entry", b"event 8");
    write(
        "policy",
        format!("log {vkey}\nwitness W {wkey}\nquorum W\n").as_bytes(),
    );
    write("garbage", b"not a note");
    Fixture {
        dir,
        vkey: vkey.to_string(),
    }
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn checkpoint_command_exit_codes() {
    let f = fixture("checkpoint");
    let (code, out) = run(&["checkpoint", &f.path("new"), "--vkey", &f.vkey]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("size 50"));
    let (code, out) = run(&["checkpoint", &f.path("new"), "--vkey", &f.vkey, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["size"], 50);
    let (code, _) = run(&[
        "checkpoint",
        &f.path("new"),
        "--vkey",
        &f.vkey,
        "--policy",
        &f.path("policy"),
    ]);
    assert_eq!(code, 0);
    // Verification failures: tampered body, quorum not met, another key.
    assert_eq!(
        run(&["checkpoint", &f.path("tampered"), "--vkey", &f.vkey]).0,
        1
    );
    assert_eq!(
        run(&[
            "checkpoint",
            &f.path("old"),
            "--vkey",
            &f.vkey,
            "--policy",
            &f.path("policy")
        ])
        .0,
        1
    );
    let other = VerifierKey::new(
        ORIGIN,
        SignatureType::Ed25519,
        &SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes(),
    )
    .unwrap();
    let (code, out) = run(&[
        "checkpoint",
        &f.path("new"),
        "--vkey",
        &other.to_string(),
        "--json",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("\"verification_failed\""));
    // Input and usage errors.
    assert_eq!(
        run(&["checkpoint", &f.path("garbage"), "--vkey", &f.vkey]).0,
        2
    );
    assert_eq!(
        run(&["checkpoint", &f.path("new"), "--vkey", "not-a-vkey"]).0,
        2
    );
    assert_eq!(run(&["checkpoint", &f.path("new")]).0, 2);
    assert_eq!(run(&[]).0, 2);
    assert_eq!(run(&["frobnicate"]).0, 2);
    // I/O error.
    assert_eq!(
        run(&["checkpoint", &f.path("missing"), "--vkey", &f.vkey]).0,
        3
    );
    // Help.
    let (code, out) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"));
}

#[test]
fn consistency_command_exit_codes() {
    let f = fixture("consistency");
    let (old, new, vkey) = (f.path("old"), f.path("new"), f.vkey.clone());
    let with_proof = |p: &str| {
        let proof = f.path(p);
        run(&[
            "consistency",
            "--vkey",
            &vkey,
            "--old",
            &old,
            "--new",
            &new,
            "--proof",
            &proof,
        ])
        .0
    };
    assert_eq!(with_proof("proof"), 0);
    assert_eq!(with_proof("badproof"), 1);
    assert_eq!(with_proof("garbage"), 2);
    assert_eq!(with_proof("missing"), 3);
    // Old and new swapped: the old tree is larger.
    let proof = f.path("proof");
    assert_eq!(
        run(&[
            "consistency",
            "--vkey",
            &vkey,
            "--old",
            &new,
            "--new",
            &old,
            "--proof",
            &proof
        ])
        .0,
        1
    );
}

#[test]
fn proof_command_exit_codes() {
    let f = fixture("proof");
    let doc = f.path("entry.tlog-proof");
    let (code, out) = run(&[
        "proof",
        &doc,
        "--vkey",
        &f.vkey,
        "--entry",
        &f.path("entry"),
        "--policy",
        &f.path("policy"),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["index"], 7);
    assert_eq!(v["policy_witnesses"][0], "W");
    let lh = STANDARD.encode(leaf_hash(b"event 7"));
    assert_eq!(
        run(&["proof", &doc, "--vkey", &f.vkey, "--leaf-hash", &lh]).0,
        0
    );
    assert_eq!(
        run(&[
            "proof",
            &doc,
            "--vkey",
            &f.vkey,
            "--entry",
            &f.path("other-entry")
        ])
        .0,
        1
    );
    assert_eq!(run(&["proof", &doc, "--vkey", &f.vkey]).0, 2);
    assert_eq!(
        run(&[
            "proof",
            &f.path("garbage"),
            "--vkey",
            &f.vkey,
            "--entry",
            &f.path("entry")
        ])
        .0,
        2
    );
}
