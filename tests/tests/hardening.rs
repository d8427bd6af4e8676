//! Client-controlled numbers that once overflowed (a panic in debug builds, a wrapped and
//! accepted value in release ones), and short-lived state that once outlived its use: the
//! in-process store is swept in the background, and a refused authorization leaves nothing.
//! Introspection, which answered any authenticated client about any token, answers only the
//! token's client and the resource servers of its audience.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use glassgate_tests::clients::{
    BASIC_SECRET, FHIR_AUDIENCE, FHIR_SECRET, OTHER_FHIR_SECRET, REDIRECT_URI,
};
use glassgate_tests::harness::INITIAL_ACCESS_TOKEN;
use glassgate_tests::jwt::claims_of;
use glassgate_tests::jwt::{
    TestKey, assertion, assertion_claims, dpop_with_claims, now, pkce_pair, random_id,
};
use glassgate_tests::oauth::{
    JWT_BEARER, TREATMENT, authorize, basic, code_for, dpop_client_token, dpop_nonce,
    introspect_as, post, push_authorization, pushed_authorization, query_param, redeem_web,
    web_auth,
};
use glassgate_tests::{Backend, ServerOptions, TestServer, backends};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// An authorization request of the `web` client (state `s1`), plus `extra`.
async fn authorize_web(server: &TestServer, extra: &[(&str, &str)]) -> (u16, Option<url::Url>) {
    let (_, challenge) = pkce_pair();
    let mut query = vec![
        ("client_id", "web"),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT_URI),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("authorization_details", TREATMENT),
        ("scope", "openid offline_access"),
        ("state", "s1"),
    ];
    query.extend_from_slice(extra);
    authorize(server, &query).await
}

/// The `error` of an authorization response redirected to the client (`None`: a code).
#[track_caller]
fn redirected(outcome: (u16, Option<url::Url>)) -> Option<String> {
    assert_eq!(outcome.0, 303, "{:?}", outcome.1);
    let location = outcome.1.unwrap();
    assert!(location.as_str().starts_with(REDIRECT_URI), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("s1"));
    let error = query_param(&location, "error");
    assert_eq!(error.is_none(), query_param(&location, "code").is_some());
    error
}

#[tokio::test]
async fn absurd_times_and_ages_are_refused_not_overflowed() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;

        // max_age: `auth_time + max_age` overflowed for i64::MAX.
        let huge = i64::MAX.to_string();
        let outcome = authorize_web(&server, &[("login_hint", "alice"), ("max_age", &huge)]).await;
        assert_eq!(redirected(outcome).as_deref(), Some("invalid_request"));
        let limit = u32::MAX.to_string();
        let outcome = authorize_web(&server, &[("login_hint", "alice"), ("max_age", &limit)]).await;
        assert_eq!(redirected(outcome), None, "the largest max_age accepted");
        // The same max_age pushed: refused by the PAR endpoint, which stores nothing.
        let (status, pushed, _) = push_authorization(&server, "web", &[("max_age", &huge)]).await;
        assert_eq!(status, 400, "{pushed}");
        assert_eq!(pushed["error"], "invalid_request");
        assert!(pushed.get("request_uri").is_none());
        let (status, pushed, _) = push_authorization(&server, "web", &[("max_age", &limit)]).await;
        assert_eq!(status, 201, "{pushed}");

        // DPoP iat: `(now - iat).abs()` wrapped for this one, and the wrapped value passed.
        let key = TestKey::es256();
        let nonce = dpop_nonce(&server, &key).await;
        for iat in [i64::MIN + now(), i64::MIN, i64::MAX] {
            let claims = json!({ "jti": random_id(), "htm": "POST", "htu": server.url("/token"), "iat": iat, "nonce": nonce });
            let (status, _, body) =
                dpop_client_token(&server, &dpop_with_claims(&key, &claims)).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_dpop_proof")),
                "iat {iat}: {body}"
            );
        }

        // Client assertion exp: `exp + CLOCK_SKEW` overflowed near i64::MAX.
        for exp in [i64::MAX, i64::MAX - 5, i64::MIN] {
            let mut claims = assertion_claims("web", &server.endpoint("/token"));
            claims["exp"] = json!(exp);
            let form = vec![
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("authorization_details".to_owned(), TREATMENT.to_owned()),
                ("scope".to_owned(), "system/Patient.rs".to_owned()),
                ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
                (
                    "client_assertion".to_owned(),
                    assertion(&server.keys.web, &claims),
                ),
            ];
            let (status, headers, body) = post(&server, "/token", &form, HeaderMap::new()).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_client")),
                "exp {exp}: {body}"
            );
            // RFC 9110 §15.5.2: a 401 challenges, here with the token endpoint's scheme.
            assert_eq!(
                headers["www-authenticate"],
                format!("Basic realm=\"{}\"", server.issuer).as_str()
            );
        }

        let health = server
            .http()
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200, "the server is still up");
    }
}

/// How many keys match `pattern` in the Redis at `url` (a bare RESP `KEYS`, test-sized data).
async fn redis_keys(url: &str, pattern: &str) -> usize {
    let url = url::Url::parse(url).unwrap();
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(6379));
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let command = format!("*2\r\n$4\r\nKEYS\r\n${}\r\n{pattern}\r\n", pattern.len());
    stream.write_all(command.as_bytes()).await.unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).await.unwrap();
    let count = line
        .strip_prefix('*')
        .unwrap_or_else(|| panic!("KEYS answered {line:?}"));
    count.trim().parse().unwrap()
}

/// A refused authorization is dropped at once, not kept for the 10 minutes a login page gets.
/// Seen in Redis (the in-process store cannot be looked into from here).
#[tokio::test]
async fn a_refused_authorization_leaves_no_pending_request() {
    for backend in backends() {
        let Backend::PostgresRedis { redis_url, .. } = &backend else {
            continue;
        };
        let prefix = format!("gg-test-{}:", random_id());
        let options = ServerOptions::default().env("GLASSGATE_REDIS_PREFIX", &prefix);
        let server = TestServer::start(&backend, options).await;
        let pending = format!("{prefix}authz:*");
        // prompt=none and no session (no login_hint): refused with login_required.
        let outcome = authorize_web(&server, &[("prompt", "none")]).await;
        assert_eq!(redirected(outcome).as_deref(), Some("login_required"));
        assert_eq!(
            redis_keys(redis_url, &pending).await,
            0,
            "nothing left behind"
        );
        // The control: a login page keeps its pending request (what the probe sees).
        let (status, _) = authorize_web(&server, &[]).await;
        assert_eq!(status, 401, "the test login page");
        assert_eq!(redis_keys(redis_url, &pending).await, 1);
    }
}

/// The in-process store (no Redis) drops expired entries in the background: here pushed
/// requests that live one second, which nobody reads again.
#[tokio::test]
async fn the_in_process_store_is_swept_in_the_background() {
    let options = ServerOptions::default()
        .env("GLASSGATE_TOKENS__PAR_TTL", "1")
        .env("GLASSGATE_LOG", "info,glassgate_idp::ephemeral=debug");
    let server = TestServer::start(&Backend::Sqlite, options).await;
    for _ in 0..8 {
        pushed_authorization(&server, "web", &[]).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !server
        .log_text()
        .contains("swept expired ephemeral entries")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no sweep removed anything; log:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// RFC 7662 §4: a client learns about a token only when the token was issued to it, or when
/// it is a configured resource server of the token's audience; anyone else (another
/// configured client, a client that registered itself) gets exactly `{"active": false}`,
/// the answer for a token that does not exist.
#[tokio::test]
async fn only_the_tokens_client_and_its_audiences_resource_servers_may_introspect_it() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let name = backend.name();
        // Client A (`web`) gets an access token about alice and a refresh token.
        let (code, verifier) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        let (status, _, tokens) = redeem_web(&server, &code, &verifier).await;
        assert_eq!(status, 200, "{name}: {tokens}");
        let access = tokens["access_token"].as_str().unwrap();
        let refresh = tokens["refresh_token"].as_str().unwrap();
        assert_eq!(claims_of(access)["aud"], FHIR_AUDIENCE);
        // Anyone can register a client (RFC 7591) and introspect with it.
        let registered: Value = server
            .http()
            .post(server.url("/register"))
            .bearer_auth(INITIAL_ACCESS_TOKEN)
            .json(&json!({ "grant_types": ["client_credentials"] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let registered = basic(
            registered["client_id"].as_str().unwrap(),
            registered["client_secret"].as_str().unwrap(),
        );
        let inactive = json!({ "active": false });

        // Client B (`basic`, configured, no audiences) and the registered client learn nothing,
        // and their answer is the one for a token that never existed.
        for (who, headers) in [
            ("basic", basic("basic", BASIC_SECRET)),
            ("a registered client", registered.clone()),
        ] {
            for token in [access, refresh, "no-such-token"] {
                assert_eq!(
                    introspect_as(&server, token, Vec::new(), headers.clone()).await,
                    inactive,
                    "{name}: {who} may not learn about {token}"
                );
            }
        }

        // Client A learns about both of its tokens.
        let own = introspect_as(&server, access, web_auth(&server), HeaderMap::new()).await;
        assert_eq!(own["active"], true, "{name}: {own}");
        assert_eq!(own["client_id"], "web");
        assert_eq!(own["sub"], "alice");
        assert_eq!(own["aud"], FHIR_AUDIENCE);
        assert_eq!(
            own["authorization_details"][0]["purpose_of_use"]["code"], "T-TREAT",
            "{own}"
        );
        let own = introspect_as(&server, refresh, web_auth(&server), HeaderMap::new()).await;
        assert_eq!(own["active"], true, "{name}: {own}");
        assert_eq!(own["token_type"], "refresh_token");

        // The resource server of the token's audience learns about the access token, not
        // the refresh token (only ever its client's business).
        let fhir = basic("fhir", FHIR_SECRET);
        let served = introspect_as(&server, access, Vec::new(), fhir.clone()).await;
        assert_eq!(served["active"], true, "{name}: {served}");
        assert_eq!(served["client_id"], "web");
        assert_eq!(served["sub"], "alice");
        assert_eq!(
            introspect_as(&server, refresh, Vec::new(), fhir).await,
            inactive,
            "{name}: a resource server may not learn about a refresh token"
        );

        // A resource server of another audience learns nothing.
        assert_eq!(
            introspect_as(
                &server,
                access,
                Vec::new(),
                basic("other-fhir", OTHER_FHIR_SECRET)
            )
            .await,
            inactive,
            "{name}: a resource server of another audience"
        );
    }
}
