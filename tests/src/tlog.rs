//! Reading and checking the server's transparency log the way an auditor does, with the
//! verifier crate only (never the server's own code).

use std::time::{Duration, Instant};

use glassgate_verifier::checkpoint::{Checkpoint, open_checkpoint};
use glassgate_verifier::entry::{GENESIS_PREV, LogEntry, entry_digest, hex};
use glassgate_verifier::note::VerifierKey;
use glassgate_verifier::proof_doc::TlogProof;
use glassgate_verifier::tile::parse_entry_bundle;
use glassgate_verifier::tree::root_from_entries;
use glassgate_verifier::{leaf_hash, proof::verify_consistency};
use serde_json::Value;

use crate::TestServer;

/// The log's verifier key and read URL, from discovery.
pub async fn discover(server: &TestServer) -> (VerifierKey, String) {
    let doc: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let log = &doc["transparency_log"];
    let vkey = VerifierKey::parse(log["vkey"].as_str().unwrap()).unwrap();
    (vkey, log["url"].as_str().unwrap().to_owned())
}

/// The current checkpoint, verified against the log key.
pub async fn checkpoint(server: &TestServer) -> Option<(Checkpoint, String)> {
    let (vkey, _) = discover(server).await;
    let response = reqwest::get(server.url("/log/checkpoint")).await.unwrap();
    if response.status() == 404 {
        return None;
    }
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let verified = open_checkpoint(text.as_bytes(), &vkey, &[]).unwrap();
    Some((verified.checkpoint, text))
}

/// Wait until the published tree has at least `size` entries.
pub async fn wait_for_size(server: &TestServer, size: u64) -> (Checkpoint, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((c, text)) = checkpoint(server).await
            && c.size >= size
        {
            return (c, text);
        }
        assert!(
            Instant::now() < deadline,
            "the log did not reach size {size}; log:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every entry of a tree of `size`, read through entry bundles.
pub async fn entries(server: &TestServer, size: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut n = 0u64;
    while n * 256 < size {
        let width = (size - n * 256).min(256);
        let path = if width == 256 {
            format!(
                "/log/tile/entries/{}",
                glassgate_verifier::tile::encode_index(n)
            )
        } else {
            format!(
                "/log/tile/entries/{}.p/{width}",
                glassgate_verifier::tile::encode_index(n)
            )
        };
        let response = reqwest::get(server.url(&path)).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let bytes = response.bytes().await.unwrap();
        out.extend(
            parse_entry_bundle(&bytes, Some(width as usize))
                .unwrap()
                .into_iter()
                .map(<[u8]>::to_vec),
        );
        n += 1;
    }
    out
}

/// Check the whole log: signature, root recomputed from every entry, each entry well formed
/// and chained to the previous one. Returns the parsed entries.
pub async fn audit(server: &TestServer) -> (Checkpoint, Vec<LogEntry>) {
    // What was just sequenced is integrated (≤ 250 ms) and published (≤ 500 ms) shortly.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let (checkpoint, _) = checkpoint(server).await.expect("a checkpoint is published");
    let raw = entries(server, checkpoint.size).await;
    assert_eq!(
        root_from_entries(&raw),
        checkpoint.root,
        "the root recomputed from the entries"
    );
    let mut prev = GENESIS_PREV.to_owned();
    let mut parsed = Vec::with_capacity(raw.len());
    for (i, bytes) in raw.iter().enumerate() {
        let entry = LogEntry::parse(bytes).unwrap_or_else(|e| panic!("entry {i}: {e}"));
        assert_eq!(
            entry.prev,
            prev,
            "entry {i} chains to entry {}",
            i.saturating_sub(1)
        );
        prev = hex(&entry_digest(bytes));
        assert_no_personal_data(i, bytes);
        parsed.push(entry);
    }
    (checkpoint, parsed)
}

/// What the test suite's people are made of, none of which may reach a public entry: email
/// addresses, dates (birth dates; entry times are Unix seconds), and the sample licence's
/// names and document numbers.
fn assert_no_personal_data(index: usize, entry: &[u8]) {
    let text = String::from_utf8_lossy(entry);
    assert!(
        !text.contains('@'),
        "entry {index} holds an email address: {text}"
    );
    let bytes = text.as_bytes();
    let date_at = |i: usize| {
        bytes.get(i..i + 10).is_some_and(|w| {
            w.iter().enumerate().all(|(k, c)| match k {
                4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            })
        })
    };
    assert!(
        !(0..bytes.len()).any(date_at),
        "entry {index} holds a date: {text}"
    );
    for personal in ["Doe", "Jane", "D1234567", "P-111", "Q-222", "alice"] {
        assert!(
            !text.contains(personal),
            "entry {index} holds {personal}: {text}"
        );
    }
}

/// Fetch the tlog-proof of the token with `jti`, verify it, and return its index.
pub async fn verify_token_proof(server: &TestServer, jti: &str) -> u64 {
    let (vkey, _) = discover(server).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let response = reqwest::get(server.url(&format!("/log/proof/jti/{jti}")))
            .await
            .unwrap();
        if response.status() == 200 {
            break response.text().await.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no proof for {jti}: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let proof = TlogProof::parse(text.as_bytes()).unwrap();
    let size = Checkpoint::parse(
        glassgate_verifier::note::Note::parse(proof.checkpoint.as_bytes())
            .unwrap()
            .text(),
    )
    .unwrap()
    .size;
    let entry = entries(server, size)
        .await
        .swap_remove(proof.index as usize);
    let parsed = LogEntry::parse(&entry).unwrap();
    assert!(parsed.records_jti(jti), "the entry names the token");
    proof.verify(&leaf_hash(&entry), &vkey, None).unwrap();
    auditor_ties_proof_to_token(server, &vkey, &text, &entry, jti);
    proof.index
}

/// `verifier proof --jti` accepts the proof and entry for this token, and refuses them for
/// another token.
fn auditor_ties_proof_to_token(
    server: &TestServer,
    vkey: &VerifierKey,
    proof: &str,
    entry: &[u8],
    jti: &str,
) {
    let proof_file = server.scratch().join("token.tlog-proof");
    let entry_file = server.scratch().join("token.entry");
    std::fs::write(&proof_file, proof).unwrap();
    std::fs::write(&entry_file, entry).unwrap();
    let exit_code = |jti: &str| {
        std::process::Command::new(crate::harness::workspace_binary("verifier"))
            .arg("proof")
            .arg(&proof_file)
            .args(["--vkey", &vkey.to_string(), "--jti", jti, "--entry"])
            .arg(&entry_file)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(exit_code(jti), Some(0), "the entry records {jti}");
    assert_eq!(exit_code(&format!("{jti}-other")), Some(1));
}

/// Verify the server's consistency proof between two checkpoints.
pub async fn verify_consistency_between(server: &TestServer, old: &Checkpoint, new: &Checkpoint) {
    let response =
        reqwest::get(server.url(&format!("/log/proof/consistency/{}/{}", old.size, new.size)))
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    use base64::Engine;
    let proof: Vec<[u8; 32]> = response
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| {
            base64::engine::general_purpose::STANDARD
                .decode(l)
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    verify_consistency(old.size, new.size, &proof, &old.root, &new.root).unwrap();
}

/// Run `verifier monitor` against the server's log and return (exit code, JSON report).
pub async fn monitor(server: &TestServer, vkey: &str, url: &str) -> (i32, Value) {
    let output = tokio::process::Command::new(crate::harness::workspace_binary("verifier"))
        .args(["monitor", "--url", url, "--vkey", vkey, "--json", "--state"])
        .arg(server.scratch().join("monitor.state"))
        .output()
        .await
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report)
}
