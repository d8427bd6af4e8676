//! Runs `verifier monitor` against an in-test tlog-tiles HTTP server, and
//! `verifier witness` as a real server, checking exit codes and answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may unwrap

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use glassgate_verifier::checkpoint::Checkpoint;
use glassgate_verifier::entry::{GENESIS_PREV, LogEntry, entry_digest, hex};
use glassgate_verifier::hash::leaf_hash;
use glassgate_verifier::monitor::tile_resources;
use glassgate_verifier::note::{Note, SignatureType, VerifierKey, sign_note, verify_note};
use glassgate_verifier::tree::{InMemoryHashes, consistency_proof, root_from_entries, tree_hash};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

const ORIGIN: &str = "oidc-log.example.org/net";

fn verifier() -> Command {
    Command::new(env!("CARGO_BIN_EXE_verifier"))
}

fn tmpdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("net-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn log_key() -> (SigningKey, VerifierKey) {
    let sk = SigningKey::from_bytes(&[31; 32]);
    let vk = VerifierKey::new(
        ORIGIN,
        SignatureType::Ed25519,
        &sk.verifying_key().to_bytes(),
    )
    .unwrap();
    (sk, vk)
}

fn entries(n: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for i in 0..n {
        let prev = out
            .last()
            .map_or(GENESIS_PREV.to_owned(), |p| hex(&entry_digest(p)));
        let e = LogEntry {
            v: 1,
            event: "token.issued".into(),
            time: 1_795_000_020 + 60 * i as i64,
            iss: "https://login.example.org".into(),
            client: format!("client-{i}"),
            org: None,
            npi: None,
            purpose: None,
            acr: None,
            amr: None,
            ial: None,
            decision: None,
            refusal: None,
            subject: None,
            jti: None,
            id_jti: None,
            commit: hex(&entry_digest(format!("record {i}").as_bytes())),
            prev,
        };
        out.push(e.encode().unwrap());
    }
    out
}

fn checkpoint(sk: &SigningKey, size: u64, root: [u8; 32]) -> String {
    let body = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root,
        extensions: vec![],
    }
    .to_text();
    sign_note(&body, ORIGIN, &sk.verifying_key().to_bytes(), |m| {
        sk.sign(m).to_bytes()
    })
    .unwrap()
    .to_text()
}

fn log_resources(sk: &SigningKey, e: &[Vec<u8>]) -> BTreeMap<String, Vec<u8>> {
    let mut m = tile_resources(e).unwrap();
    m.insert(
        "checkpoint".into(),
        checkpoint(sk, e.len() as u64, root_from_entries(e)).into_bytes(),
    );
    m
}

/// A tiny tlog-tiles server under `/log/`, serving a swappable map.
struct TileServer {
    server: Arc<tiny_http::Server>,
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TileServer {
    fn start(files: BTreeMap<String, Vec<u8>>) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let files = Arc::new(Mutex::new(files));
        let (s, f) = (Arc::clone(&server), Arc::clone(&files));
        let thread = std::thread::spawn(move || {
            while let Ok(req) = s.recv() {
                let path = req.url().strip_prefix("/log/").map(str::to_owned);
                let body = path.and_then(|p| f.lock().unwrap().get(&p).cloned());
                let resp = match body {
                    Some(b) => tiny_http::Response::from_data(b),
                    None => {
                        tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404)
                    }
                };
                let _ = req.respond(resp);
            }
        });
        Self {
            server,
            files,
            thread: Some(thread),
        }
    }
    fn url(&self) -> String {
        format!("http://{}/log/", self.server.server_addr().to_ip().unwrap())
    }
    fn set(&self, files: BTreeMap<String, Vec<u8>>) {
        *self.files.lock().unwrap() = files;
    }
}

impl Drop for TileServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn monitor(url: &str, vkey: &VerifierKey, state: &Path) -> (i32, serde_json::Value) {
    let out = verifier()
        .args(["monitor", "--json", "--url", url, "--vkey"])
        .arg(vkey.to_string())
        .arg("--state")
        .arg(state)
        .output()
        .unwrap();
    let j = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap(), j)
}

#[test]
fn monitor_exit_codes() {
    let dir = tmpdir("monitor");
    let state = dir.join("monitor.state");
    let (sk, vk) = log_key();
    let e = entries(600);
    let srv = TileServer::start(log_resources(&sk, &e[..300]));

    // A valid log: 0, and the state is remembered.
    let (code, j) = monitor(&srv.url(), &vk, &state);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["ok"], true);
    assert_eq!(j["size"], 300);
    assert_eq!(j["entries_checked"], 300);
    assert_eq!(j["errors"], serde_json::json!([]));
    assert!(state.exists());

    // Text output too.
    let out = verifier()
        .args(["monitor", "--url", &srv.url(), "--vkey", &vk.to_string()])
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("log verified"));

    // Growth is consistent.
    srv.set(log_resources(&sk, &e));
    let (code, j) = monitor(&srv.url(), &vk, &state);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["size"], 600);

    assert_eq!(j["resumed_after"], 256, "{j}");
    assert_eq!(j["entries_checked"], 344, "{j}");

    // A tampered hash tile: 1, with the specific message. A tile below the remembered
    // frontier is fetched again only with --full.
    let mut bad = log_resources(&sk, &e);
    bad.get_mut("tile/0/001").unwrap()[7 * 32] ^= 1;
    srv.set(bad.clone());
    let (code, j) = monitor(&srv.url(), &vk, &state);
    assert_eq!((code, j["resumed_after"].as_u64()), (0, Some(512)), "{j}");
    let out = verifier()
        .args([
            "monitor",
            "--json",
            "--full",
            "--url",
            &srv.url(),
            "--vkey",
            &vk.to_string(),
        ])
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{j}");
    assert_eq!(j["ok"], false);
    assert_eq!(
        j["errors"],
        serde_json::json!(["tile 0/001 differs from the recomputed hashes at position 7"])
    );
    bad.get_mut("tile/0/002.p/88").unwrap()[3 * 32] ^= 1;
    srv.set(bad);
    let (code, j) = monitor(&srv.url(), &vk, &state);
    assert_eq!(code, 1, "{j}");
    assert_eq!(
        j["errors"],
        serde_json::json!(["tile 0/002.p/88 differs from the recomputed hashes at position 3"])
    );

    // The log shrinks: 1, and the state keeps size 600.
    srv.set(log_resources(&sk, &e[..300]));
    let (code, j) = monitor(&srv.url(), &vk, &state);
    assert_eq!(code, 1, "{j}");
    assert_eq!(j["errors"][0], "log shrank from 600 to 300");
    let out = verifier()
        .args(["monitor", "--url", &srv.url(), "--vkey", &vk.to_string()])
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("log shrank from 600 to 300"));

    // A missing tile (HTTP 404): 3.
    let mut missing = log_resources(&sk, &e);
    missing.remove("tile/entries/002.p/88");
    srv.set(missing);
    let (code, j) = monitor(&srv.url(), &vk, &state);
    assert_eq!(code, 3, "{j}");
    assert_eq!(j["error"], "io_error");

    // Nothing listening: 3.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _) = monitor(&format!("http://127.0.0.1:{port}/log/"), &vk, &state);
    assert_eq!(code, 3);

    // A bad vkey: 2.
    let out = verifier()
        .args(["monitor", "--url", &srv.url(), "--vkey", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn print_vkey(key_file: &Path, name: &str) -> Output {
    verifier()
        .args(["witness", "--print-vkey", "--name", name, "--key-file"])
        .arg(key_file)
        .output()
        .unwrap()
}

#[test]
fn witness_print_vkey() {
    let dir = tmpdir("print-vkey");
    let kf = dir.join("witness.key");
    let out = print_vkey(&kf, "witness.example.org/w1");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let first = String::from_utf8(out.stdout).unwrap();
    let vk = VerifierKey::parse(first.trim()).unwrap();
    assert_eq!(vk.signature_type(), SignatureType::CosignatureV1);
    assert_eq!(vk.name(), "witness.example.org/w1");
    assert!(kf.exists());
    // Stable across runs: the key file is reused.
    let again = print_vkey(&kf, "witness.example.org/w1");
    assert_eq!(String::from_utf8(again.stdout).unwrap(), first);
    // A known seed gives the key id of c2sp cosignature/v1 (type 0x04).
    std::fs::write(&kf, format!("{}\n", STANDARD.encode([9u8; 32]))).unwrap();
    let out = print_vkey(&kf, "w");
    let pk = SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes();
    let want = VerifierKey::new("w", SignatureType::CosignatureV1, &pk).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        want.to_string()
    );
    // A corrupt key file: 3.
    std::fs::write(&kf, "garbage").unwrap();
    assert_eq!(print_vkey(&kf, "w").status.code(), Some(3));
}

/// A running `verifier witness`, killed on drop.
struct WitnessProc {
    child: Child,
    base: String,
}

impl WitnessProc {
    fn start(dir: &Path, log: &VerifierKey) -> Self {
        let mut child = verifier()
            .args([
                "witness",
                "--listen",
                "127.0.0.1:0",
                "--name",
                "witness.example.org/w1",
            ])
            .arg("--key-file")
            .arg(dir.join("witness.key"))
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--log")
            .arg(log.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("witness prints its address")
            .trim_end_matches('/')
            .to_owned();
        Self { child, base }
    }
}

impl Drop for WitnessProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn post(agent: &ureq::Agent, url: &str, body: &str) -> (u16, Option<String>, String) {
    let mut r = agent.post(url).send(body.as_bytes()).unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        r.status().as_u16(),
        ct,
        r.body_mut().read_to_string().unwrap(),
    )
}

#[test]
fn witness_server_cosigns_and_persists() {
    let dir = tmpdir("witness");
    let (sk, vk) = log_key();
    let mut tree = InMemoryHashes::new();
    for i in 0..20u32 {
        tree.append_leaf_hash(&leaf_hash(&i.to_be_bytes())).unwrap();
    }
    let note = |n: u64| checkpoint(&sk, n, tree_hash(n, &tree).unwrap());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let wvk = {
        let out = print_vkey(&dir.join("witness.key"), "witness.example.org/w1");
        VerifierKey::parse(String::from_utf8(out.stdout).unwrap().trim()).unwrap()
    };

    let w = WitnessProc::start(&dir, &vk);
    let add = format!("{}/add-checkpoint", w.base);
    let (status, _, body) = post(&agent, &add, &format!("old 0\n\n{}", note(8)));
    assert_eq!(status, 200, "{body}");
    let cosigned = Note::parse(format!("{}{body}", note(8)).as_bytes()).unwrap();
    let v = verify_note(&cosigned, std::slice::from_ref(&wvk)).unwrap();
    assert!(v[0].timestamp.unwrap() > 0);
    // With a consistency proof.
    let proof: String = consistency_proof(8, 13, &tree)
        .unwrap()
        .iter()
        .map(|h| format!("{}\n", STANDARD.encode(h)))
        .collect();
    let (status, _, body) = post(&agent, &add, &format!("old 8\n{proof}\n{}", note(13)));
    assert_eq!(status, 200, "{body}");
    drop(w);

    // After a restart, the witness remembers size 13.
    let w = WitnessProc::start(&dir, &vk);
    let add = format!("{}/add-checkpoint", w.base);
    let (status, ct, body) = post(&agent, &add, &format!("old 0\n\n{}", note(20)));
    assert_eq!(status, 409);
    assert_eq!(ct.as_deref(), Some("text/x.tlog.size"));
    assert_eq!(body, "13\n");
    let (status, _, _) = post(&agent, &add, "garbage");
    assert_eq!(status, 400);
    // Monitor retrieval of the latest cosigned checkpoint.
    let h = hex(&glassgate_verifier::entry::entry_digest(ORIGIN.as_bytes()));
    let mut r = agent
        .get(format!("{}/{h}/checkpoint", w.base))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.body_mut().read_to_string().unwrap();
    let n = Note::parse(text.as_bytes()).unwrap();
    assert_eq!(Checkpoint::parse(n.text()).unwrap().size, 13);
    verify_note(&n, &[vk.clone(), wvk.clone()]).unwrap();
}
