//! Operating the server: discovery contents, health and readiness, key rotation by command.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use glassgate_tests::{ServerOptions, TestServer, backends};
use serde_json::Value;

#[tokio::test]
async fn discovery_health_and_jwks() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let get = |path: &'static str| {
            let url = server.url(path);
            async move { reqwest::get(url).await.unwrap() }
        };
        assert_eq!(get("/healthz").await.status(), 200);
        let ready: Value = get("/readyz").await.json().await.unwrap();
        assert_eq!(ready["database"], "ok");
        assert_eq!(ready["ephemeral"], "ok");
        assert_eq!(
            ready["database_backend"],
            if backend.name() == "sqlite" {
                "sqlite"
            } else {
                "postgres"
            }
        );

        let oidc: Value = get("/.well-known/openid-configuration")
            .await
            .json()
            .await
            .unwrap();
        let rfc8414: Value = get("/.well-known/oauth-authorization-server")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(oidc, rfc8414);
        assert_eq!(oidc["issuer"], server.base.as_str());
        assert_eq!(
            oidc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(
            oidc["response_types_supported"],
            serde_json::json!(["code"])
        );
        // RFC 9396 §10: the types a request may use (any other is refused).
        assert_eq!(
            oidc["authorization_details_types_supported"],
            serde_json::json!(["purpose_of_use", "patient_context"])
        );
        assert_eq!(
            oidc["id_token_signing_alg_values_supported"],
            serde_json::json!(["ES256", "RS256"])
        );
        assert!(
            oidc["registration_endpoint"].is_string(),
            "an initial access token is configured"
        );
        assert!(oidc["pushed_authorization_request_endpoint"].is_string());
        assert!(
            oidc["dpop_signing_alg_values_supported"]
                .as_array()
                .unwrap()
                .contains(&"ES256".into())
        );

        // SMART App Launch 2.x discovery, field by field (SMART §Conformance).
        let smart: Value = get("/.well-known/smart-configuration")
            .await
            .json()
            .await
            .unwrap();
        for (field, same_as) in [
            ("issuer", "issuer"),
            ("jwks_uri", "jwks_uri"),
            ("authorization_endpoint", "authorization_endpoint"),
            ("token_endpoint", "token_endpoint"),
            ("grant_types_supported", "grant_types_supported"),
            (
                "token_endpoint_auth_methods_supported",
                "token_endpoint_auth_methods_supported",
            ),
            ("response_types_supported", "response_types_supported"),
            ("introspection_endpoint", "introspection_endpoint"),
            ("revocation_endpoint", "revocation_endpoint"),
            ("registration_endpoint", "registration_endpoint"),
            (
                "code_challenge_methods_supported",
                "code_challenge_methods_supported",
            ),
        ] {
            assert_eq!(smart[field], oidc[same_as], "{field}");
        }
        let listed =
            |field: &str| -> Vec<String> { serde_json::from_value(smart[field].clone()).unwrap() };
        for scope in [
            "openid",
            "fhirUser",
            "launch/patient",
            "patient/*.rs",
            "user/*.rs",
            "system/*.rs",
        ] {
            assert!(
                listed("scopes_supported").contains(&scope.to_owned()),
                "{scope}"
            );
        }
        let capabilities = listed("capabilities");
        for capability in [
            "launch-standalone",
            "context-standalone-patient",
            "client-public",
            "client-confidential-symmetric",
            "client-confidential-asymmetric",
            "sso-openid-connect",
            "permission-offline",
            "permission-patient",
            "permission-user",
            "permission-v2",
        ] {
            assert!(
                capabilities.contains(&capability.to_owned()),
                "{capability}"
            );
        }
        // No EHR launch: Glassgate is not an EHR.
        assert!(!capabilities.iter().any(|c| c == "launch-ehr"));
        assert!(
            !smart["grant_types_supported"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        let jwks: Value = get("/jwks").await.json().await.unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        // Current and next for ES256 and RS256: four keys, each kid its RFC 7638 thumbprint.
        assert_eq!(keys.len(), 4, "{jwks}");
        for k in keys {
            assert!(
                k.get("d").is_none() && k.get("p").is_none(),
                "no private members"
            );
            assert_eq!(
                k["kid"].as_str().unwrap(),
                glassgate_keys::jwk_thumbprint(k).unwrap()
            );
        }
    }
}

#[tokio::test]
async fn keys_rotate_by_command_and_replicas_pick_them_up() {
    for backend in backends() {
        let server = TestServer::start(
            &backend,
            ServerOptions::default().env("GLASSGATE_KEYS__RELOAD_EVERY_SECS", "1"),
        )
        .await;
        let before: Value = reqwest::get(server.url("/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let first_kid = before["keys"][0]["kid"].as_str().unwrap().to_owned();
        let status = server.command(&["keys", "rotate", "--force"]).await;
        assert!(status.success(), "{}", server.log_text());
        // The server reloads its key ring within a second or two.
        let mut rotated = false;
        for _ in 0..50 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let after: Value = reqwest::get(server.url("/jwks"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if after["keys"][0]["kid"] != first_kid.as_str() {
                let kids: Vec<&str> = after["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k["kid"].as_str().unwrap())
                    .collect();
                assert!(
                    kids.contains(&first_kid.as_str()),
                    "the retired key stays published"
                );
                rotated = true;
                break;
            }
        }
        assert!(rotated, "the key ring was not reloaded");
    }
}
