//! The auditor's side: `verifier monitor` against the running server, tampering detected,
//! and a witness cosigning the server's checkpoints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use glassgate_tests::harness::workspace_binary;
use glassgate_tests::jwt::claims_of;
use glassgate_tests::oauth::m2m_token_and_index;
use glassgate_tests::tlog::{discover, monitor, verify_token_proof, wait_for_size};
use glassgate_tests::{ServerOptions, TestServer, backends};
use glassgate_verifier::checkpoint::open_checkpoint;
use glassgate_verifier::note::VerifierKey;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

async fn issue(server: &TestServer, n: usize) {
    for _ in 0..n {
        issue_one(server).await;
    }
}

/// One machine token.
async fn issue_one(server: &TestServer) -> String {
    m2m_token_and_index(server).await.0
}

fn errors(report: &Value) -> String {
    report["errors"].to_string()
}

#[tokio::test]
async fn the_monitor_verifies_the_log_and_reports_tampering() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        // The last token's entry is the one rewritten below (configured clients come first).
        let mut last = 0;
        for _ in 0..5 {
            last = m2m_token_and_index(&server).await.1;
        }
        let (checkpoint, _) = wait_for_size(&server, last + 1).await;
        let (vkey, url) = discover(&server).await;
        let vkey = vkey.to_string();
        let (code, report) = monitor(&server, &vkey, &url).await;
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["size"].as_u64(), Some(checkpoint.size));

        // A rewritten entry.
        let changed = server
            .execute_sql(
                &format!("UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), 'token.issued', 'token.refused') AS BLOB) WHERE idx = {last}"),
                &format!("UPDATE log_entries SET entry = convert_to(replace(convert_from(entry, 'UTF8'), 'token.issued', 'token.refused'), 'UTF8') WHERE idx = {last}"),
            )
            .await;
        assert_eq!(changed, 1);
        let (code, report) = monitor(&server, &vkey, &url).await;
        assert_eq!(code, 1, "{report}");
        assert!(errors(&report).contains("root mismatch"), "{report}");
        server
            .execute_sql(
                &format!("UPDATE log_entries SET entry = CAST(replace(CAST(entry AS TEXT), 'token.refused', 'token.issued') AS BLOB) WHERE idx = {last}"),
                &format!("UPDATE log_entries SET entry = convert_to(replace(convert_from(entry, 'UTF8'), 'token.refused', 'token.issued'), 'UTF8') WHERE idx = {last}"),
            )
            .await;
        assert_eq!(monitor(&server, &vkey, &url).await.0, 0, "restored");

        // A rewritten stored hash (served in a tile).
        server
            .execute_sql(
                "UPDATE log_tiles SET hashes = unhex(printf('%064d', 0) || substr(hex(hashes), 65)) WHERE level = 0 AND idx = 0",
                "UPDATE log_tiles SET hashes = overlay(hashes placing decode(repeat('00', 32), 'hex') from 1 for 32) WHERE level = 0 AND idx = 0",
            )
            .await;
        let (code, report) = monitor(&server, &vkey, &url).await;
        assert_eq!(code, 1, "{report}");
        assert!(
            errors(&report).contains("differs from the recomputed hashes"),
            "{report}"
        );

        // A rewritten checkpoint.
        server
            .execute_sql(
                "UPDATE log_tree SET checkpoint = replace(checkpoint, char(10) || '— ', char(10) || '— x')",
                "UPDATE log_tree SET checkpoint = replace(checkpoint, chr(10) || '— ', chr(10) || '— x')",
            )
            .await;
        tokio::time::sleep(Duration::from_millis(700)).await; // the server caches its checkpoint for 500 ms
        let (code, report) = monitor(&server, &vkey, &url).await;
        assert_eq!(code, 1, "{report}");
        assert!(errors(&report).contains("checkpoint"), "{report}");
    }
}

#[tokio::test]
async fn a_witness_cosigns_published_checkpoints() {
    for backend in backends() {
        let mut server = TestServer::start(&backend, ServerOptions::default()).await;
        let (log_vkey, _) = discover(&server).await;
        let witness_vkey = witness_vkey(&server);
        let (_witness, witness_url) = run_witness(&server, &log_vkey, "127.0.0.1:0").await;
        server.append_config(&format!(
            "\n[[log.witnesses]]\nvkey = \"{witness_vkey}\"\nurl = \"{witness_url}\"\n"
        ));
        server.kill();
        server = server.replica().await;
        issue(&server, 3).await;
        let witness_key = VerifierKey::parse(&witness_vkey).unwrap();
        wait_for_cosignature(&server, &log_vkey, &witness_key, 3).await;
        // Later checkpoints are submitted with consistency proofs from the cosigned size.
        issue(&server, 3).await;
        wait_for_cosignature(&server, &log_vkey, &witness_key, 6).await;
    }
}

/// The vkey of the test witness, whose key `verifier witness --print-vkey` makes on first use.
fn witness_vkey(server: &TestServer) -> String {
    let out = std::process::Command::new(workspace_binary("verifier"))
        .args([
            "witness",
            "--print-vkey",
            "--name",
            "witness.test",
            "--key-file",
        ])
        .arg(server.scratch().join("witness.key"))
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Run `verifier witness` for the server's log on `listen`: the process (killed on drop)
/// and its URL.
async fn run_witness(
    server: &TestServer,
    log_vkey: &VerifierKey,
    listen: &str,
) -> (tokio::process::Child, String) {
    let mut witness = tokio::process::Command::new(workspace_binary("verifier"))
        .args([
            "witness",
            "--listen",
            listen,
            "--name",
            "witness.test",
            "--log",
        ])
        .arg(log_vkey.to_string())
        .arg("--key-file")
        .arg(server.scratch().join("witness.key"))
        .arg("--state-dir")
        .arg(server.scratch().join("witness-state"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(witness.stdout.take().unwrap()).lines();
    let banner = lines.next_line().await.unwrap().unwrap();
    let witness_url = banner.split_whitespace().last().unwrap().to_owned();
    (witness, witness_url)
}

#[tokio::test]
async fn a_checkpoint_the_witness_missed_is_sent_again() {
    let backend = backends().remove(0);
    let mut server = TestServer::start(&backend, ServerOptions::default()).await;
    let (log_vkey, _) = discover(&server).await;
    // The witness's address, with nothing listening there yet.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let witness_vkey = witness_vkey(&server);
    server.append_config(&format!(
        "\n[[log.witnesses]]\nvkey = \"{witness_vkey}\"\nurl = \"http://{address}\"\n"
    ));
    server.kill();
    server = server.replica().await;
    issue(&server, 2).await;
    // Everything issued is published (the size holds still over a second).
    let mut size = wait_for_size(&server, 2).await.0.size;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = wait_for_size(&server, size).await.0.size;
        if now == size {
            break;
        }
        size = now;
    }
    // Submitting that checkpoint failed and no newer one follows, yet once the witness is
    // up the published checkpoint is sent again and cosigned.
    let (mut witness, _) = run_witness(&server, &log_vkey, &address.to_string()).await;
    let witness_key = VerifierKey::parse(&witness_vkey).unwrap();
    wait_for_cosignature(&server, &log_vkey, &witness_key, size).await;

    // With the witness gone, newer checkpoints go uncosigned: the checkpoint served stays
    // the witnessed one, and a newer token's proof comes with the newest checkpoint.
    witness.kill().await.unwrap();
    let jti = claims_of(&issue_one(&server).await)["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let index = verify_token_proof(&server, &jti).await;
    assert!(index >= size, "the new token is beyond the witnessed size");
    let (served, _) = wait_for_size(&server, 0).await;
    assert_eq!(
        served.size, size,
        "the witnessed checkpoint is the one served"
    );
    wait_for_cosignature(&server, &log_vkey, &witness_key, size).await;
}

/// Wait until the published checkpoint covers `size` entries and carries the witness's cosignature.
async fn wait_for_cosignature(
    server: &TestServer,
    log_key: &VerifierKey,
    witness_key: &VerifierKey,
    size: u64,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = reqwest::get(server.url("/log/checkpoint"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let verified =
            open_checkpoint(text.as_bytes(), log_key, std::slice::from_ref(witness_key)).unwrap();
        if verified.checkpoint.size >= size
            && verified
                .signatures
                .iter()
                .any(|s| s.name == witness_key.name())
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no witness cosignature at size {size} on {text}\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
