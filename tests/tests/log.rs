//! The verifiable issuance log, checked end to end with the auditor's verifier crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::Read;
use std::time::Duration;

use glassgate_tests::clients::{M2M_SCOPE, REDIRECT_URI};
use glassgate_tests::jwt::claims_of;
use glassgate_tests::oauth::{
    JWT_BEARER, TREATMENT, basic, code_for, introspect, m2m_token_and_index, redeem_web,
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

/// A client removed from the configuration, appended to the standard test configuration.
const LEAVING: &str = "\n[[clients]]\nclient_id = \"leaving\"\norganisation = { id = \"org-rp\", kind = \"provider\" }\ntoken_endpoint_auth_method = \"client_secret_basic\"\nclient_secret = \"leaving-secret-0123456789abcdef\"\ngrant_types = [\"client_credentials\"]\n";
const LEAVING_SECRET: &str = "leaving-secret-0123456789abcdef";

#[tokio::test]
async fn a_configured_client_removed_from_the_configuration_is_removed_and_logged() {
    for backend in backends() {
        let mut server = TestServer::start(&backend, ServerOptions::default()).await;
        // A dynamically registered client: never touched by configuration changes.
        let registered = server
            .http()
            .post(server.url("/register"))
            .bearer_auth(glassgate_tests::harness::INITIAL_ACCESS_TOKEN)
            .json(&serde_json::json!({ "grant_types": ["client_credentials"] }))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        let dynamic_id = registered["client_id"].as_str().unwrap().to_owned();
        let dynamic_secret = registered["client_secret"].as_str().unwrap().to_owned();
        server.kill();
        server.append_config(LEAVING);
        let mut with_leaving = server.replica().await;
        let leaving_token = || {
            [
                ("grant_type", "client_credentials"),
                ("authorization_details", TREATMENT),
                ("scope", "system/Patient.rs"),
            ]
        };
        let (status, _, body) = with_leaving
            .post_form("/token", &leaving_token(), basic("leaving", LEAVING_SECRET))
            .await;
        assert_eq!(status, 200, "{}: {body}", backend.name());
        let token = body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(introspect(&with_leaving, &token).await["active"], true);
        let admin_client =
            |entries: &[glassgate_verifier::entry::LogEntry]| -> Vec<(usize, String)> {
                entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.event == "admin.client")
                    .map(|(i, e)| (i, e.client.clone()))
                    .collect()
            };
        let (_, entries) = audit(&with_leaving).await;
        let before = admin_client(&entries);
        assert_eq!(
            before.iter().filter(|(_, c)| c == "leaving").count(),
            1,
            "created: {before:?}"
        );

        // An administrator takes the client out of the configuration and restarts.
        with_leaving.kill();
        let path = server.deployment_dir().join("glassgate.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(LEAVING));
        std::fs::write(&path, text.replace(LEAVING, "")).unwrap();
        let mut without = server.replica().await;
        let (_, entries) = audit(&without).await;
        let after = admin_client(&entries);
        assert_eq!(
            after.len(),
            before.len() + 1,
            "{}: {after:?}",
            backend.name()
        );
        let (index, client) = after.last().unwrap();
        assert_eq!(client, "leaving");
        let opened: serde_json::Value = serde_json::from_str(
            &without
                .command_output(&["log", "open", &index.to_string()])
                .await,
        )
        .unwrap();
        assert_eq!(opened["record"]["action"], "removed", "{opened}");
        assert_eq!(opened["record"]["source"], "config", "{opened}");
        assert_eq!(opened["commitment_verified"], true, "{opened}");

        // The client can no longer authenticate, and its earlier token is inactive.
        let (status, _, body) = without
            .post_form("/token", &leaving_token(), basic("leaving", LEAVING_SECRET))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{body}"
        );
        assert_eq!(
            introspect(&without, &token).await["active"],
            false,
            "{}: the removed client's token still introspects as active",
            backend.name()
        );
        // The dynamically registered client is still there (it authenticates; policy gives
        // a client of no known organisation no data).
        let (status, _, body) = without
            .post_form(
                "/token",
                &leaving_token(),
                basic(&dynamic_id, &dynamic_secret),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("access_denied")),
            "{body}"
        );

        // Another start with the same configuration finds nothing to log.
        without.kill();
        let again = server.replica().await;
        let (_, entries) = audit(&again).await;
        assert_eq!(admin_client(&entries), after, "{}", backend.name());
    }
}

/// `/readyz`: its status and JSON body.
async fn readiness(server: &TestServer) -> (u16, serde_json::Value) {
    let response = reqwest::get(server.url("/readyz")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The value of an unlabelled metric in the Prometheus text `text`.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The sequencer's refusal counter and refusing gauge.
async fn sequencer_metrics(server: &TestServer) -> (f64, f64) {
    let text = server.metrics().await;
    (
        metric(&text, "glassgate_log_sequencer_refusals_total").unwrap_or(-1.0),
        metric(&text, "glassgate_log_sequencer_refusing").unwrap_or(-1.0),
    )
}

/// Poll `/readyz` until its status is `status`; returns the body.
async fn wait_for_readiness(server: &TestServer, status: u16) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (now, body) = readiness(server).await;
        if now == status {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/readyz stayed {now} ({body}), expected {status}; log:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sequencer refuses to sign over a tampered stored hash, and says so where operators
/// look: `/readyz` answers 503 with `"log": "refusing"` (the load balancer takes the replica
/// out) and `/metrics` counts the refusals; once storage agrees again, the next integration
/// signs and the replica is ready.
#[tokio::test]
async fn a_refusing_sequencer_is_unready_and_counted_until_it_signs_again() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let (_, last) = m2m_token_and_index(&server).await;
        let (published, _) = wait_for_size(&server, last + 1).await;
        assert!(published.size < 256, "the tree's first tile is partial");
        let (status, ready) = readiness(&server).await;
        assert_eq!(
            (status, ready["log"].as_str()),
            (200, Some("ok")),
            "{ready}"
        );
        assert_eq!(sequencer_metrics(&server).await, (0.0, 0.0));

        // The stored first hash, as served, to put back afterwards.
        let tile = reqwest::get(server.url(&format!("/log/tile/0/000.p/{}", published.size)))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let first: String = tile[..32].iter().map(|b| format!("{b:02x}")).collect();
        let changed = server
            .execute_sql(
                "UPDATE log_tiles SET hashes = unhex(printf('%064d', 0) || substr(hex(hashes), 65)) WHERE level = 0 AND idx = 0",
                "UPDATE log_tiles SET hashes = overlay(hashes placing decode(repeat('00', 32), 'hex') from 1 for 32) WHERE level = 0 AND idx = 0",
            )
            .await;
        assert_eq!(changed, 1);
        // A new entry: the sequencer's next integration re-derives the old tree and refuses.
        let (_, pending) = m2m_token_and_index(&server).await;
        let ready = wait_for_readiness(&server, 503).await;
        assert_eq!(ready["log"], "refusing", "{ready}");
        assert_eq!(ready["database"], "ok", "{ready}");
        let (refusals, refusing) = sequencer_metrics(&server).await;
        assert!(refusals >= 1.0, "refusals counted: {refusals}");
        assert_eq!(refusing, 1.0);
        tokio::time::sleep(Duration::from_millis(600)).await; // past the checkpoint cache
        let (now, _) = checkpoint(&server).await.unwrap();
        assert_eq!(
            now.size, published.size,
            "nothing was signed over the tampering"
        );
        let (still, _) = readiness(&server).await;
        assert_eq!(still, 503, "still refusing at later integrations");

        // Repaired: the next integration signs, and the replica is ready again.
        server
            .execute_sql(
                &format!("UPDATE log_tiles SET hashes = unhex('{first}' || substr(hex(hashes), 65)) WHERE level = 0 AND idx = 0"),
                &format!("UPDATE log_tiles SET hashes = overlay(hashes placing decode('{first}', 'hex') from 1 for 32) WHERE level = 0 AND idx = 0"),
            )
            .await;
        wait_for_size(&server, pending + 1).await;
        let ready = wait_for_readiness(&server, 200).await;
        assert_eq!(ready["log"], "ok", "{ready}");
        let (after, refusing) = sequencer_metrics(&server).await;
        assert_eq!(refusing, 0.0);
        assert!(after >= refusals, "the counter only grows");
    }
}

/// GET `path` with `Accept-Encoding: accept` (none when `None`; this client never decodes).
async fn get_encoded(
    server: &TestServer,
    path: &str,
    accept: Option<&str>,
) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some(accept) = accept {
        request = request.header("accept-encoding", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let headers = response.headers().clone();
    (headers, response.bytes().await.unwrap().to_vec())
}

/// tlog-tiles: entry bundles SHOULD be compressed at the HTTP layer. A client that accepts
/// gzip gets the bundle gzip-encoded (the same bytes once decoded, as the auditor's fetcher
/// reads them); one that does not gets it as is; either way `Vary: Accept-Encoding` keeps
/// caches apart. Hash tiles (incompressible) are never encoded.
#[tokio::test]
async fn entry_bundles_are_gzip_encoded_for_clients_that_accept_it() {
    use glassgate_verifier::monitor::{Fetch, HttpFetcher};

    let backend = backends().remove(0);
    let server = TestServer::start(&backend, ServerOptions::default()).await;
    let (_, last) = m2m_token_and_index(&server).await;
    let (published, _) = wait_for_size(&server, last + 1).await;
    let width = published.size.min(256);
    let bundle = format!("/log/tile/entries/000.p/{width}");
    let vary = |headers: &reqwest::header::HeaderMap| {
        headers.get_all("vary").iter().any(|v| {
            v.to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding")
        })
    };

    let (plain_headers, plain) = get_encoded(&server, &bundle, None).await;
    assert!(plain_headers.get("content-encoding").is_none());
    assert!(vary(&plain_headers), "{plain_headers:?}");
    assert_eq!(
        glassgate_verifier::tile::parse_entry_bundle(&plain, Some(width as usize))
            .unwrap()
            .len() as u64,
        width
    );

    for accept in ["gzip", "gzip, identity", "br;q=1.0, GZIP;q=0.5", "*"] {
        let (headers, gzipped) = get_encoded(&server, &bundle, Some(accept)).await;
        assert_eq!(headers["content-encoding"], "gzip", "{accept}");
        assert!(vary(&headers), "{accept}: {headers:?}");
        assert_eq!(headers["content-type"], "application/octet-stream");
        assert!(
            headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        assert!(gzipped.len() < plain.len(), "{accept}: compressed");
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(gzipped.as_slice())
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, plain, "{accept}: the same bytes once decoded");
    }
    for accept in [
        "identity",
        "gzip;q=0, identity",
        "br",
        "*;q=0",
        "gzip;q=0.000",
    ] {
        let (headers, bytes) = get_encoded(&server, &bundle, Some(accept)).await;
        assert!(headers.get("content-encoding").is_none(), "{accept}");
        assert!(vary(&headers), "{accept}");
        assert_eq!(bytes, plain, "{accept}");
    }

    // The auditor's fetcher asks for gzip and decodes it: the very same bytes.
    let prefix = server.url("/log/");
    let path = bundle.trim_start_matches("/log/").to_owned();
    let fetched = tokio::task::spawn_blocking(move || {
        HttpFetcher::new(&prefix, Duration::from_secs(10)).fetch(&path)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(fetched, plain);

    // Hash tiles are hashes: served as they are whatever the client accepts.
    let tile = format!("/log/tile/0/000.p/{width}");
    let (plain_headers, plain_tile) = get_encoded(&server, &tile, None).await;
    let (headers, tile_bytes) = get_encoded(&server, &tile, Some("gzip")).await;
    assert!(headers.get("content-encoding").is_none());
    assert!(plain_headers.get("content-encoding").is_none());
    assert_eq!(tile_bytes, plain_tile);
    assert_eq!(plain_tile.len() as u64, 32 * width);
}
