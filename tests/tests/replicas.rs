//! Several replicas behind one PostgreSQL and one Redis behave as one server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use glassgate_tests::clients::REDIRECT_URI;
use glassgate_tests::oauth::{code_for, introspect, redeem_web};
use glassgate_tests::{Backend, ServerOptions, TestServer, backends};

#[tokio::test]
async fn a_code_redeemed_at_two_replicas_at_once_is_honoured_once() {
    for backend in backends() {
        if matches!(backend, Backend::Sqlite) {
            continue; // one SQLite file serves one replica
        }
        let first = TestServer::start(&backend, ServerOptions::default()).await;
        let second = first.replica().await;
        for round in 0..20 {
            let (code, verifier) =
                code_for(&first, "web", &format!("user-{round}"), REDIRECT_URI).await;
            let (a, b) = tokio::join!(
                redeem_web(&first, &code, &verifier),
                redeem_web(&second, &code, &verifier)
            );
            let statuses = [a.0, b.0];
            assert_eq!(
                statuses.iter().filter(|s| **s == 200).count(),
                1,
                "round {round}: {statuses:?} {} {}",
                a.2,
                b.2
            );
            assert!(
                statuses.contains(&400),
                "the loser gets invalid_grant: {statuses:?}"
            );
            let loser = if a.0 == 400 { &a.2 } else { &b.2 };
            assert_eq!(loser["error"], "invalid_grant");
        }
        // Keys, clients and tokens are shared: a token minted at one replica introspects at the other.
        let (code, verifier) = code_for(&second, "web", "shared", REDIRECT_URI).await;
        let (status, _, tokens) = redeem_web(&first, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(
            introspect(&second, tokens["access_token"].as_str().unwrap()).await["active"],
            true
        );
        let jwks_a: serde_json::Value = reqwest::get(first.url("/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let jwks_b: serde_json::Value = reqwest::get(second.url("/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jwks_a, jwks_b, "replicas publish one key set");
    }
}
