//! The verifiable issuance log, checked end to end with the auditor's verifier crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use glassgate_tests::clients::{M2M_SCOPE, REDIRECT_URI};
use glassgate_tests::jwt::claims_of;
use glassgate_tests::oauth::{
    JWT_BEARER, TREATMENT, basic, code_for, m2m_token_and_index, redeem_web,
};
use glassgate_tests::tlog::{
    audit, checkpoint, discover, monitor, verify_consistency_between, verify_token_proof,
    wait_for_size,
};
use glassgate_tests::{Backend, ServerOptions, TestServer, backends};

async fn m2m_token(server: &TestServer) -> String {
    m2m_token_and_index(server).await.0
}

#[tokio::test]
async fn issuances_and_refusals_land_in_the_log_with_verifiable_proofs() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let (machine, machine_index) = m2m_token_and_index(&server).await;
        // A checkpoint that holds the first token, for the consistency check below.
        let (first, _) = wait_for_size(&server, machine_index + 1).await;
        let (code, verifier) = code_for(&server, "web", "alice@example.org", REDIRECT_URI).await;
        let (status, _, tokens) = redeem_web(&server, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        let user = tokens["access_token"].as_str().unwrap().to_owned();
        let (status, _, _) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                ],
                basic("basic", "wrong"),
            )
            .await;
        assert_eq!(status, 401);

        let machine_jti = claims_of(&machine)["jti"].as_str().unwrap().to_owned();
        assert_eq!(
            verify_token_proof(&server, &machine_jti).await,
            machine_index,
            "the index the client was told"
        );
        let user_jti = claims_of(&user)["jti"].as_str().unwrap().to_owned();
        let user_index = verify_token_proof(&server, &user_jti).await;
        // The ID token of the same response has its own jti, and the same entry records it.
        let id_token = tokens["id_token"].as_str().expect("an ID token");
        let id_jti = claims_of(id_token)["jti"].as_str().unwrap().to_owned();
        assert_ne!(id_jti, user_jti);
        assert_eq!(verify_token_proof(&server, &id_jti).await, user_index);
        let (latest, _) = wait_for_size(&server, first.size + 1).await;
        verify_consistency_between(&server, &first, &latest).await;
        let (checkpoint, entries) = audit(&server).await;
        assert_eq!(checkpoint.size as usize, entries.len());
        let kinds: Vec<&str> = entries.iter().map(|e| e.event.as_str()).collect();
        for kind in ["token.issued", "token.refused", "authorization.granted"] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
        let refused = entries.iter().find(|e| e.event == "token.refused").unwrap();
        assert_eq!(
            (refused.client.as_str(), refused.refusal.as_deref()),
            ("-", Some("invalid_client"))
        );
        let user_entry = entries
            .iter()
            .find(|e| e.event == "token.issued" && e.client == "web")
            .unwrap();
        assert_eq!(user_entry.acr.as_deref(), Some("phr"));
        assert!(
            user_entry.subject.is_some(),
            "a subject commitment, not the subject"
        );

        // No personal data or scopes in any public entry.
        let public = entries
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        for forbidden in [
            "alice",
            "@",
            "example.org",
            "system/Patient",
            "openid",
            M2M_SCOPE,
        ] {
            assert!(
                !public.contains(forbidden),
                "public entries contain {forbidden:?}"
            );
        }

        // An auditor (holding the key-encryption key) opens an entry's private record.
        let index = entries
            .iter()
            .position(|e| e.event == "token.issued" && e.client == "web")
            .unwrap();
        let opened = server
            .command_output(&["log", "open", &index.to_string()])
            .await;
        assert!(opened.contains("alice@example.org"), "{opened}");
        assert!(opened.contains("\"commitment_verified\":true"), "{opened}");
    }
}

#[tokio::test]
async fn read_api_refuses_bad_input_with_the_right_status() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        m2m_token(&server).await;
        wait_for_size(&server, 1).await;
        let cases = [
            ("/log/tile/0/1", 400),
            ("/log/tile/0/x000/000", 400),
            ("/log/tile/64/000", 400),
            ("/log/tile/0/000.p/0", 400),
            ("/log/tile/0/000.p/256", 400),
            ("/log/tile/zero/000", 400),
            ("/log/tile/entries/000.p/x", 400),
            ("/log/tile/0/000", 404),
            ("/log/tile/entries/001", 404),
            ("/log/tile/1/000.p/1", 404),
            ("/log/tile/entries/000.p/255", 404),
            ("/log/tile/0/000.p/1", 200),
            ("/log/tile/entries/000.p/1", 200),
            ("/log/proof/index/abc", 400),
            ("/log/proof/index/01", 400),
            ("/log/proof/index/-1", 400),
            ("/log/proof/index/99999999", 404),
            ("/log/proof/jti/not-a-token", 404),
            ("/log/proof/consistency/0/1", 400),
            ("/log/proof/consistency/5/2", 400),
            ("/log/proof/consistency/x/2", 400),
            ("/log/proof/consistency/1/99999999", 404),
            ("/log/checkpoint", 200),
        ];
        for (path, status) in cases {
            let response = reqwest::get(server.url(path)).await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{path}");
        }
        let tile = reqwest::get(server.url("/log/tile/0/000.p/1"))
            .await
            .unwrap();
        assert_eq!(tile.headers()["content-type"], "application/octet-stream");
        assert!(
            tile.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }
}

#[tokio::test]
async fn three_replicas_issue_into_one_consistent_log() {
    for backend in backends() {
        if matches!(backend, Backend::Sqlite) {
            continue;
        }
        let first = TestServer::start(&backend, ServerOptions::default()).await;
        let second = first.replica().await;
        let third = first.replica().await;
        let (a, b, c) = tokio::join!(
            jtis_of(&first, 40),
            jtis_of(&second, 40),
            jtis_of(&third, 40)
        );
        let mut all: Vec<String> = [a, b, c].concat();
        assert_eq!(all.len(), 120);
        // Taking turns: each replica's remembered log head is stale at every issuance, so
        // each append misses its compare-and-swap, writes nothing, and goes through the
        // locking path; the indexes still follow one another with no gap.
        let mut previous = None;
        for round in 0..12 {
            let server = [&first, &second, &third][round % 3];
            let (token, index) = m2m_token_and_index(server).await;
            if let Some(previous) = previous {
                assert_eq!(index, previous + 1, "round {round}");
            }
            previous = Some(index);
            all.push(claims_of(&token)["jti"].as_str().unwrap().to_owned());
        }
        let (size_checkpoint, _) = wait_for_size(&first, 132).await;
        let (checkpoint, entries) = audit(&second).await;
        assert!(checkpoint.size >= size_checkpoint.size);
        let logged: HashSet<String> = entries.iter().filter_map(|e| e.jti.clone()).collect();
        assert_eq!(
            logged.len(),
            entries.iter().filter(|e| e.jti.is_some()).count(),
            "no token logged twice"
        );
        for jti in all.iter().take(10) {
            verify_token_proof(&third, jti).await;
        }
        assert!(
            all.iter()
                .all(|jti| logged.contains(&glassgate_verifier::entry::jti_hash(jti))),
            "every issued token is in the log"
        );
    }
}

/// `n` machine tokens from `server`, by their `jti`.
async fn jtis_of(server: &TestServer, n: usize) -> Vec<String> {
    let mut jtis = Vec::with_capacity(n);
    for _ in 0..n {
        jtis.push(
            claims_of(&m2m_token(server).await)["jti"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    jtis
}

#[tokio::test]
async fn the_log_survives_kill_9_during_issuance() {
    for backend in backends() {
        let mut server = TestServer::start(&backend, ServerOptions::default()).await;
        let mut received: Vec<(String, u64)> = Vec::new();
        let mut checkpoints = Vec::new();
        for round in 0..4 {
            // Issue as fast as possible from a background task, then kill -9 mid-stream.
            let base = server.issuer.clone();
            let key_jwks = server.keys.clone();
            let issued = tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut got = Vec::new();
                let deadline = std::time::Instant::now() + Duration::from_millis(1500);
                while std::time::Instant::now() < deadline {
                    let assertion = glassgate_tests::jwt::assertion(
                        &key_jwks.m2m,
                        &glassgate_tests::jwt::assertion_claims("m2m", &format!("{base}/token")),
                    );
                    let response = http
                        .post(format!("{base}/token"))
                        .form(&[
                            ("grant_type", "client_credentials"),
                            ("authorization_details", TREATMENT),
                            ("client_assertion_type", JWT_BEARER),
                            ("client_assertion", &assertion),
                        ])
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status() == 200 => {
                            let index: u64 = r.headers()["glassgate-log-index"]
                                .to_str()
                                .unwrap()
                                .parse()
                                .unwrap();
                            let body: serde_json::Value = r.json().await.unwrap();
                            got.push((body["access_token"].as_str().unwrap().to_owned(), index));
                        }
                        _ => break, // the server died under us
                    }
                }
                got
            });
            tokio::time::sleep(Duration::from_millis(300 + 150 * round)).await;
            server.kill();
            received.extend(issued.await.unwrap());
            server = server.replica().await; // restart on the same storage
            if let Some((c, _)) = checkpoint(&server).await {
                checkpoints.push(c);
            }
        }
        assert!(received.len() > 10, "the load produced tokens");
        let (last, _) = wait_for_size(&server, checkpoints.last().map_or(0, |c| c.size)).await;
        // Give the restarted sequencer time to integrate what was sequenced before the kill.
        let (last, _) = {
            tokio::time::sleep(Duration::from_millis(600)).await;
            checkpoint(&server).await.unwrap_or((last, String::new()))
        };
        for old in checkpoints
            .iter()
            .filter(|c| c.size > 0 && c.size <= last.size)
        {
            verify_consistency_between(&server, old, &last).await;
        }
        let (_, entries) = audit(&server).await;
        // Where each token is logged; an index told to two clients would show up here.
        let logged: std::collections::HashMap<String, u64> = (0u64..)
            .zip(&entries)
            .filter_map(|(index, e)| Some((e.jti.clone()?, index)))
            .collect();
        let mut told = HashSet::new();
        for (token, index) in &received {
            let jti = claims_of(token)["jti"].as_str().unwrap().to_owned();
            let digest = glassgate_verifier::entry::jti_hash(&jti);
            assert_eq!(
                logged.get(&digest),
                Some(index),
                "a token a client received is logged where it was told ({})",
                backend.name()
            );
            assert!(told.insert(*index), "index {index} was told twice");
        }
        // The auditor's monitor walks every tile and entry of the restarted log.
        // (At this replica's own address: the issuer's is the first process's, now dead.)
        let (vkey, _) = discover(&server).await;
        let (code, report) = monitor(&server, &vkey.to_string(), &server.url("/log/")).await;
        assert_eq!(code, 0, "{report}");
        // The restarted replica loaded the tree it found into its proof cache.
        assert!(
            proof_cache_warmed(&server).await > 0,
            "no tile was cached at restart ({})",
            backend.name()
        );
        verify_token_proof(
            &server,
            claims_of(&received.last().unwrap().0)["jti"]
                .as_str()
                .unwrap(),
        )
        .await;
    }
}

/// Bytes held by the server's proof cache once it reports it warmed at start.
async fn proof_cache_warmed(server: &TestServer) -> i64 {
    let gauge = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<i64>().ok())
    };
    for _ in 0..100 {
        let text = server.metrics().await;
        if gauge(&text, "glassgate_log_proof_cache_warmed ") == Some(1) {
            return gauge(&text, "glassgate_log_proof_cache_bytes ").unwrap_or(0);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the proof cache did not report warm within 10 s");
}

#[tokio::test]
async fn a_policy_change_is_an_admin_policy_entry() {
    let backend = backends().remove(0);
    let plain = TestServer::start(&backend, ServerOptions::default()).await;
    // The shipped policies, in a directory the server polls every second.
    let dir = plain.scratch().join("policies");
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/cedar");
    for file in std::fs::read_dir(&shipped).unwrap() {
        let file = file.unwrap();
        std::fs::copy(file.path(), dir.join(file.file_name())).unwrap();
    }
    plain.append_config(&format!(
        "\n[policy]\ndir = {}\nreload_secs = 1\n",
        serde_json::json!(dir.to_str().unwrap())
    ));
    let server = plain.replica().await;
    m2m_token(&server).await;

    let audit_rule = dir.join("audit.cedar");
    let mut text = std::fs::read_to_string(&audit_rule).unwrap();
    text.push_str("\n// An administrator's edit.\n");
    std::fs::write(&audit_rule, text).unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, entries) = audit(&server).await;
        if entries.iter().any(|e| e.event == "admin.policy") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no admin.policy entry:\n{}",
            server.log_text()
        );
    }
}

#[tokio::test]
async fn configured_clients_added_or_changed_are_admin_client_entries() {
    let backend = backends().remove(0);
    let mut server = TestServer::start(&backend, ServerOptions::default()).await;
    let client_entries = |entries: &[glassgate_verifier::entry::LogEntry]| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e.event == "admin.client")
            .map(|e| e.client.clone())
            .collect()
    };
    let (_, entries) = audit(&server).await;
    let at_first_start = client_entries(&entries);
    assert!(
        at_first_start.iter().any(|c| c == "m2m") && at_first_start.iter().any(|c| c == "web"),
        "each configured client is logged when it is first written: {at_first_start:?}"
    );
    // A restart with the same configuration changes nothing and logs nothing.
    server.kill();
    let mut same = server.replica().await;
    let (_, entries) = audit(&same).await;
    assert_eq!(client_entries(&entries), at_first_start);
    // An administrator adds a client to the configuration.
    same.kill();
    same.append_config(
        "\n[[clients]]\nclient_id = \"added\"\ntoken_endpoint_auth_method = \"client_secret_basic\"\nclient_secret = \"a-secret-of-enough-length-000000\"\ngrant_types = [\"client_credentials\"]\n",
    );
    let changed = same.replica().await;
    let (_, entries) = audit(&changed).await;
    let after = client_entries(&entries);
    assert_eq!(after.len(), at_first_start.len() + 1, "{after:?}");
    assert_eq!(after.last().map(String::as_str), Some("added"));
}
