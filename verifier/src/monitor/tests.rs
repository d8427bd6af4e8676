use super::*;
use crate::entry::{GENESIS_PREV, LogEntry, entry_digest, hex};
use crate::testutil::{TestKey, log_key, signed_checkpoint, witness_key};
use crate::tree::root_from_entries;
use std::collections::BTreeMap;

const ORIGIN: &str = "oidc-log.example.org/monitor";

fn entry(i: usize, prev: &str) -> LogEntry {
    LogEntry {
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
        jti: Some(hex(&entry_digest(&i.to_be_bytes()))),
        id_jti: None,
        commit: hex(&entry_digest(format!("record {i}").as_bytes())),
        prev: prev.to_owned(),
    }
}

/// `n` chained v1 entries; `tweak(i, entry)` may alter an entry before it is
/// encoded (the chain follows the actual bytes).
fn entries_with(n: usize, tweak: impl Fn(usize, &mut LogEntry)) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(n);
    for i in 0..n {
        let prev = out
            .last()
            .map_or(GENESIS_PREV.to_owned(), |p| hex(&entry_digest(p)));
        let mut e = entry(i, &prev);
        tweak(i, &mut e);
        out.push(e.encode().unwrap());
    }
    out
}

fn entries(n: usize) -> Vec<Vec<u8>> {
    entries_with(n, |_, _| {})
}

fn key() -> TestKey {
    log_key(7, ORIGIN)
}

/// All resources of a log over `entries`, checkpoint signed by `k`.
fn serve(k: &TestKey, entries: &[Vec<u8>]) -> BTreeMap<String, Vec<u8>> {
    let mut m = tile_resources(entries).unwrap();
    let cp = signed_checkpoint(k, entries.len() as u64, root_from_entries(entries), &[]);
    m.insert("checkpoint".into(), cp.into_bytes());
    m
}

fn run(m: &BTreeMap<String, Vec<u8>>, prev: Option<&MonitorState>) -> MonitorReport {
    monitor(m, &key().vkey, None, prev).unwrap()
}

#[track_caller]
fn assert_errors(r: &MonitorReport, want: &[&str]) {
    assert_eq!(r.errors, want, "report: {r:?}");
}

#[test]
fn valid_logs_pass() {
    let k = key();
    for n in [0usize, 1, 2, 255, 256, 257, 511, 512, 1000] {
        let e = entries(n);
        let r = run(&serve(&k, &e), None);
        assert!(r.ok(), "size {n}: {:?}", r.errors);
        assert_eq!(r.size, Some(n as u64));
        assert_eq!(r.entries_checked, n as u64);
        assert_eq!(r.root, Some(root_from_entries(&e)));
        let tiles = serve(&k, &e)
            .keys()
            .filter(|p| p.starts_with("tile/") && !p.starts_with("tile/entries"))
            .count();
        assert_eq!(r.tiles_checked, tiles as u64, "size {n}");
        let s = r.state().unwrap();
        assert_eq!((s.origin.as_str(), s.size), (ORIGIN, n as u64));
    }
}

#[test]
fn tile_layout_of_size_70000_matches_the_spec_example() {
    let k = key();
    let e = entries(70_000);
    let m = serve(&k, &e);
    assert!(m.contains_key("tile/0/272"));
    assert!(m.contains_key("tile/0/273.p/112"));
    assert!(m.contains_key("tile/1/000"));
    assert!(m.contains_key("tile/1/001.p/17"));
    assert!(m.contains_key("tile/2/000.p/1"));
    assert!(m.contains_key("tile/entries/273.p/112"));
    let r = run(&m, None);
    assert!(r.ok(), "{:?}", r.errors);
    assert_eq!(r.tiles_checked, 273 + 1 + 1 + 1 + 1);
}

#[test]
fn tampered_entry_is_reported() {
    let k = key();
    let e = entries(300);
    let mut m = serve(&k, &e);
    let mut bad = e.clone();
    bad[17] = String::from_utf8(bad[17].clone())
        .unwrap()
        .replace("client-17", "client-71")
        .into_bytes();
    m.insert(
        "tile/entries/000".into(),
        crate::tile::format_entry_bundle(&bad[..256]).unwrap(),
    );
    let r = run(&m, None);
    assert_errors(
        &r,
        &[
            "entry 18: prev does not chain to entry 17",
            "tile 0/000 differs from the recomputed hashes at position 17",
            "tile 1/000.p/1 differs from the recomputed hashes at position 0",
            "root mismatch at size 300",
        ],
    );
    assert!(r.state().is_none());
}

#[test]
fn tampered_hash_tile_is_reported() {
    let k = key();
    let mut m = serve(&k, &entries(300));
    let t = m.get_mut("tile/0/001.p/44").unwrap();
    t[5 * 32 + 3] ^= 1;
    assert_errors(
        &run(&m, None),
        &["tile 0/001.p/44 differs from the recomputed hashes at position 5"],
    );
    // An upper-level tile, and a tile of the wrong length.
    let mut m = serve(&k, &entries(300));
    m.get_mut("tile/1/000.p/1").unwrap()[0] ^= 1;
    m.get_mut("tile/0/000").unwrap().pop();
    let r = run(&m, None);
    assert_eq!(r.errors.len(), 2, "{r:?}");
    assert!(r.errors[0].starts_with("tile 0/000: malformed hash tile"));
    assert_eq!(
        r.errors[1],
        "tile 1/000.p/1 differs from the recomputed hashes at position 0"
    );
}

#[test]
fn bad_checkpoints_are_reported() {
    let k = key();
    let e = entries(300);
    // Root changed after signing.
    let mut m = serve(&k, &e);
    let note = String::from_utf8(m["checkpoint"].clone()).unwrap();
    let root_b64 = note.lines().nth(2).unwrap().to_owned();
    let other = STANDARD_B64.encode([9u8; 32]);
    m.insert(
        "checkpoint".into(),
        note.replace(&root_b64, &other).into_bytes(),
    );
    let r = run(&m, None);
    assert_eq!(r.errors.len(), 1);
    assert!(
        r.errors[0].starts_with("checkpoint signature invalid"),
        "{r:?}"
    );
    assert_eq!(r.entries_checked, 0);
    // Signed by another key.
    let mut m = serve(&log_key(8, ORIGIN), &e);
    let r = run(&m, None);
    assert_errors(
        &r,
        &["checkpoint signature invalid: no signature by the log key"],
    );
    // A properly signed checkpoint with the wrong root.
    m = serve(&k, &e);
    m.insert(
        "checkpoint".into(),
        signed_checkpoint(&k, 300, [9; 32], &[]).into_bytes(),
    );
    assert_errors(&run(&m, None), &["root mismatch at size 300"]);
    // Size 0 with a non-empty root.
    m.insert(
        "checkpoint".into(),
        signed_checkpoint(&k, 0, [9; 32], &[]).into_bytes(),
    );
    assert_errors(&run(&m, None), &["root mismatch at size 0"]);
    // Garbage.
    m.insert("checkpoint".into(), b"hello\n".to_vec());
    assert!(run(&m, None).errors[0].starts_with("checkpoint malformed"));
}

use base64::Engine;
use base64::engine::general_purpose::STANDARD as STANDARD_B64;

#[test]
fn broken_chain_is_reported() {
    let k = key();
    let e = entries_with(300, |i, e| {
        if i == 17 {
            e.prev = "a".repeat(64);
        }
    });
    assert_errors(
        &run(&serve(&k, &e), None),
        &["entry 17: prev does not chain to entry 16"],
    );
    let e = entries_with(3, |i, e| {
        if i == 0 {
            e.prev = "a".repeat(64);
        }
    });
    assert_errors(
        &run(&serve(&k, &e), None),
        &["entry 0: prev is not the genesis value"],
    );
}

#[test]
fn non_canonical_entry_is_reported() {
    let k = key();
    let mut e = entries(10);
    // Entry 5 gets a space; rebuild the chain after it on the actual bytes.
    e[5] = String::from_utf8(e[5].clone())
        .unwrap()
        .replacen(',', ", ", 1)
        .into_bytes();
    for i in 6..10 {
        let mut le = LogEntry::parse(&e[i]).unwrap();
        le.prev = hex(&entry_digest(&e[i - 1]));
        e[i] = le.encode().unwrap();
    }
    assert_errors(
        &run(&serve(&k, &e), None),
        &["entry 5: not a valid Glassgate v1 entry: entry is not in canonical form"],
    );
    let mut e = entries(2);
    e[1] = b"{}".to_vec();
    let r = run(&serve(&k, &e), None);
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].starts_with("entry 1: not a valid Glassgate v1 entry"));
}

#[test]
fn malformed_bundle_stops_the_walk() {
    let k = key();
    let mut m = serve(&k, &entries(300));
    // A bundle with one entry too few.
    let e = entries(299);
    m.insert(
        "tile/entries/001.p/44".into(),
        crate::tile::format_entry_bundle(&e[256..]).unwrap(),
    );
    let r = run(&m, None);
    assert_eq!(r.errors.len(), 2, "{r:?}");
    assert!(r.errors[0].starts_with("tile entries/001.p/44: malformed entry bundle"));
    assert!(r.errors[1].starts_with("could not recompute the tree at size 300"));
}

#[test]
fn state_growth_shrink_and_fork() {
    let k = key();
    let e = entries(300);
    let r200 = run(&serve(&k, &e[..200]), None);
    let s200 = r200.state().unwrap();
    // Growth from 200 to 300 is consistent.
    let r = run(&serve(&k, &e), Some(&s200));
    assert!(r.ok(), "{:?}", r.errors);
    let s300 = r.state().unwrap();
    // Same size again.
    assert!(run(&serve(&k, &e), Some(&s300)).ok());
    // Shrunk.
    assert_errors(
        &run(&serve(&k, &e[..200]), Some(&s300)),
        &["log shrank from 300 to 200"],
    );
    // A fork: different history under the same key.
    let forked = entries_with(300, |i, e| {
        if i == 0 {
            e.client = "forked".into();
        }
    });
    assert_errors(
        &run(&serve(&k, &forked), Some(&s200)),
        &["checkpoint at size 300 inconsistent with remembered size 200"],
    );
    // Growing from the empty tree.
    let s0 = run(&serve(&k, &[]), None).state().unwrap();
    assert!(run(&serve(&k, &e), Some(&s0)).ok());
    // State of another log.
    let other = MonitorState {
        origin: "other".into(),
        ..s200
    };
    assert!(matches!(
        monitor(&serve(&k, &e), &k.vkey, None, Some(&other)),
        Err(MonitorError::StateOrigin { .. })
    ));
}

/// `e` with entry `i` rewritten (the chain no longer holds at `i + 1`).
fn rewritten(e: &[Vec<u8>], i: usize) -> Vec<Vec<u8>> {
    let mut bad = e.to_vec();
    bad[i] = String::from_utf8(bad[i].clone())
        .unwrap()
        .replace(&format!("client-{i}"), "client-x")
        .into_bytes();
    bad
}

/// A run that resumes from the remembered frontier verifies what a run from the first entry
/// verifies, fetching only the entries from the last full bundle on.
#[test]
fn resumed_runs_match_full_runs() {
    let k = key();
    let all = entries(66_136);
    let mut state: Option<MonitorState> = None;
    for n in [
        0usize, 1, 255, 256, 257, 512, 513, 1000, 65_535, 65_536, 66_136,
    ] {
        let log = serve(&k, &all[..n]);
        let resumed = run(&log, state.as_ref());
        assert!(resumed.ok(), "size {n}: {:?}", resumed.errors);
        let full = run(&log, None);
        assert_eq!(resumed.root, full.root, "size {n}");
        assert_eq!(resumed.frontier, full.frontier, "size {n}");
        let known = state
            .as_ref()
            .and_then(|s| s.frontier.as_ref())
            .map_or(0, |f| f.leaves);
        assert_eq!(resumed.entries_checked, n as u64 - known, "size {n}");
        assert_eq!(resumed.resumed_after, state.as_ref().map(|_| known));
        state = resumed.state();
        assert_eq!(
            state
                .as_ref()
                .and_then(|s| s.frontier.as_ref())
                .map(|f| f.leaves),
            Some(n as u64 / 256 * 256)
        );
    }
}

#[test]
fn a_resumed_run_checks_what_is_new_and_a_full_run_checks_everything() {
    let k = key();
    let e = entries(700);
    let s600 = run(&serve(&k, &e[..600]), None).state().unwrap();
    assert_eq!(s600.frontier.as_ref().map(|f| f.leaves), Some(512));
    // An entry rewritten below the frontier is not fetched again on resume; a full run
    // (the state without its frontier) finds it.
    let mut m = serve(&k, &e);
    m.insert(
        "tile/entries/000".into(),
        crate::tile::format_entry_bundle(&rewritten(&e, 17)[..256]).unwrap(),
    );
    let r = run(&m, Some(&s600));
    assert!(r.ok(), "{:?}", r.errors);
    assert_eq!((r.resumed_after, r.entries_checked), (Some(512), 188));
    let full = MonitorState {
        frontier: None,
        ..s600.clone()
    };
    let r = run(&m, Some(&full));
    assert_eq!(r.resumed_after, None);
    assert!(
        r.errors
            .contains(&"entry 18: prev does not chain to entry 17".to_owned()),
        "{:?}",
        r.errors
    );
    // One at the edge (in the partial bundle the last run saw) or beyond it is found.
    for i in [530usize, 650] {
        let mut m = serve(&k, &e);
        m.insert(
            "tile/entries/002.p/188".into(),
            crate::tile::format_entry_bundle(&rewritten(&e, i)[512..]).unwrap(),
        );
        let r = run(&m, Some(&s600));
        let chain = format!("entry {}: prev does not chain to entry {i}", i + 1);
        assert!(r.errors.contains(&chain), "{:?}", r.errors);
        assert!(r.state().is_none());
    }
    // A fork below the frontier, re-signed: the new tree does not extend the remembered one.
    let forked = entries_with(700, |i, e| {
        if i == 3 {
            e.client = "forked".into();
        }
    });
    assert_errors(
        &run(&serve(&k, &forked), Some(&s600)),
        &[
            "entry 512: prev does not chain to entry 511",
            "tile 1/000.p/2 differs from the recomputed hashes at position 0",
            "root mismatch at size 700",
            "checkpoint at size 700 inconsistent with remembered size 600",
        ],
    );
}

#[test]
fn state_file_round_trips() {
    let dir = std::env::temp_dir().join(format!("gg-monitor-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state");
    assert_eq!(MonitorState::load(&path).unwrap(), None);
    let s = run(&serve(&key(), &entries(3)), None).state().unwrap();
    s.save(&path).unwrap();
    assert_eq!(MonitorState::load(&path).unwrap(), Some(s.clone()));
    s.save(&path).unwrap();
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temp file left"
    );
    // With a frontier (size 300: the walk stood at 256).
    let s = run(&serve(&key(), &entries(300)), None).state().unwrap();
    assert_eq!(s.frontier.as_ref().map(|f| f.leaves), Some(256));
    s.save(&path).unwrap();
    assert_eq!(MonitorState::load(&path).unwrap(), Some(s.clone()));
    // A version 1 file (before frontiers) still loads; the next run walks in full.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let good = v.clone();
    v["version"] = 1.into();
    v.as_object_mut().unwrap().remove("frontier");
    std::fs::write(&path, v.to_string()).unwrap();
    assert_eq!(
        MonitorState::load(&path).unwrap().unwrap().frontier,
        None,
        "version 1"
    );
    // Frontiers that do not hold together are refused, not trusted.
    let broken: [(&str, serde_json::Value); 5] = [
        ("/frontier/leaves", 512.into()),
        ("/frontier/leaves", 300.into()),
        ("/frontier/stack/0/0", 9.into()),
        ("/frontier/pending/0", serde_json::json!([])),
        ("/frontier/last_entry", "not base64!".into()),
    ];
    for (pointer, value) in broken {
        let mut v = good.clone();
        *v.pointer_mut(pointer).unwrap() = value;
        std::fs::write(&path, v.to_string()).unwrap();
        assert!(
            matches!(MonitorState::load(&path), Err(StateError::Malformed { .. })),
            "{pointer}"
        );
    }
    std::fs::write(&path, b"{").unwrap();
    assert!(matches!(
        MonitorState::load(&path),
        Err(StateError::Malformed { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_resources_are_fetch_errors() {
    let k = key();
    let mut m = serve(&k, &entries(300));
    m.remove("tile/0/000");
    assert_eq!(
        monitor(&m, &k.vkey, None, None).unwrap_err(),
        MonitorError::Fetch(FetchError::NotFound("tile/0/000".into()))
    );
    let m = BTreeMap::new();
    assert!(matches!(
        monitor(&m, &k.vkey, None, None),
        Err(MonitorError::Fetch(_))
    ));
}

#[test]
fn missing_partial_tiles_fall_back_to_full_tiles() {
    let k = key();
    let e = entries(512);
    let full = serve(&k, &e);
    // A log at size 300 that already pruned its partial tiles.
    let mut m: BTreeMap<String, Vec<u8>> = full
        .iter()
        .filter(|(p, _)| !p.contains(".p/"))
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    m.insert(
        "checkpoint".into(),
        signed_checkpoint(&k, 300, root_from_entries(&e[..300]), &[]).into_bytes(),
    );
    // tile/1/000.p/1 has no full counterpart: serve it.
    m.insert(
        "tile/1/000.p/1".into(),
        tile_resources(&e[..300]).unwrap()["tile/1/000.p/1"].clone(),
    );
    let r = run(&m, None);
    assert!(r.ok(), "{:?}", r.errors);
    assert_eq!(r.entries_checked, 300);
}

#[test]
fn policy_quorum_is_enforced() {
    let k = key();
    let w = witness_key(9, "witness.example/w1");
    let policy = crate::policy::Policy::parse(
        format!("log {}\nwitness w1 {}\nquorum w1\n", k.vkey, w.vkey).as_bytes(),
    )
    .unwrap();
    let e = entries(5);
    let mut m = serve(&k, &e);
    let r = monitor(&m, &k.vkey, Some(&policy), None).unwrap();
    assert_errors(
        &r,
        &["checkpoint does not meet the policy's witness quorum"],
    );
    m.insert(
        "checkpoint".into(),
        signed_checkpoint(&k, 5, root_from_entries(&e), &[&w]).into_bytes(),
    );
    assert!(monitor(&m, &k.vkey, Some(&policy), None).unwrap().ok());
}
