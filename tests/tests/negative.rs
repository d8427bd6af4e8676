//! Negative cases: each asserts the exact OAuth error, on every backend. Bad input must
//! never yield a 500 nor change state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use glassgate_tests::clients::{BASIC_SECRET, DPOP_SECRET, PUBLIC_REDIRECT_URI, REDIRECT_URI};
use glassgate_tests::jwt::{
    TestKey, assertion, assertion_claims, dpop_proof, dpop_with_claims, hs256, now, pkce_pair,
    random_id, unsigned,
};
use glassgate_tests::oauth::{
    JWT_BEARER, TREATMENT, authorize, basic, code_for, dpop_nonce, introspect, introspect_as, post,
    query_param, redeem_web, redeem_with, web_auth,
};
use glassgate_tests::tlog::audit;
use glassgate_tests::{ServerOptions, TestServer, backends};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

#[track_caller]
fn expect(got: (u16, &Value), status: u16, error: &str) {
    assert_eq!(
        (got.0, got.1["error"].as_str()),
        (status, Some(error)),
        "body: {}",
        got.1
    );
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The `dpop` client's `client_credentials` request.
const DPOP_CLIENT_CREDENTIALS: [(&str, &str); 3] = [
    ("grant_type", "client_credentials"),
    ("authorization_details", TREATMENT),
    ("scope", "system/Patient.rs"),
];

/// Headers of a `dpop` client request (Basic authentication) carrying the DPoP `proof`.
fn dpop_client(proof: &str) -> HeaderMap {
    let mut headers = basic("dpop", DPOP_SECRET);
    headers.insert("dpop", proof.parse().unwrap());
    headers
}

/// Token request with the `web` client authenticated by an assertion built from `claims`.
async fn token_with_assertion(server: &TestServer, jwt: &str) -> (u16, Value) {
    let mut f = form(&[
        ("grant_type", "client_credentials"),
        ("authorization_details", TREATMENT),
        ("scope", "system/Patient.rs"),
        ("client_assertion_type", JWT_BEARER),
    ]);
    f.push(("client_assertion".into(), jwt.to_owned()));
    let (status, _, body) = post(server, "/token", &f, HeaderMap::new()).await;
    (status, body)
}

#[tokio::test]
async fn authorization_endpoint_refusals() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let (_, challenge) = pkce_pair();
        let base = [
            ("client_id", "web"),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT_URI),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("authorization_details", TREATMENT),
            ("login_hint", "alice"),
            ("state", "s1"),
        ];
        let with =
            |changes: &[(&'static str, &'static str)], drop: &[&str]| -> Vec<(&str, String)> {
                let mut q: Vec<(&str, String)> = base
                    .iter()
                    .filter(|(k, _)| !drop.contains(k))
                    .map(|(k, v)| (*k, (*v).to_owned()))
                    .collect();
                for (k, v) in changes {
                    q.retain(|(name, _)| name != k);
                    q.push((k, (*v).to_owned()));
                }
                q
            };
        let run = |q: Vec<(&'static str, String)>| {
            let server = &server;
            async move {
                let borrowed: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
                authorize(server, &borrowed).await
            }
        };
        let redirected_error = |(status, location): (u16, Option<url::Url>)| {
            assert_eq!(status, 303);
            let location = location.unwrap();
            assert!(location.as_str().starts_with(REDIRECT_URI));
            assert_eq!(query_param(&location, "state").as_deref(), Some("s1"));
            assert!(query_param(&location, "code").is_none());
            query_param(&location, "error").unwrap()
        };

        // 1. unknown client: shown directly, never redirected.
        let url = url::Url::parse_with_params(
            &server.url("/authorize"),
            &[("client_id", "nobody"), ("response_type", "code")],
        )
        .unwrap();
        let response = server.http().get(url).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_request"
        );
        // 2. redirect_uri mismatch: shown directly.
        let (status, location) =
            run(with(&[("redirect_uri", "https://evil.example/cb")], &[])).await;
        assert_eq!((status, location), (400, None));
        // 3. missing PKCE challenge.
        assert_eq!(
            redirected_error(run(with(&[], &["code_challenge"])).await),
            "invalid_request"
        );
        // 4. plain PKCE.
        assert_eq!(
            redirected_error(run(with(&[("code_challenge_method", "plain")], &[])).await),
            "invalid_request"
        );
        // 5. implicit response type.
        assert_eq!(
            redirected_error(run(with(&[("response_type", "token")], &[])).await),
            "unsupported_response_type"
        );
        // 6. prompt=none without a session.
        assert_eq!(
            redirected_error(run(with(&[("prompt", "none")], &["login_hint"])).await),
            "login_required"
        );
        // 7. request objects are refused.
        assert_eq!(
            redirected_error(run(with(&[("request", "eyJhbGciOiJub25lIn0.e30.")], &[])).await),
            "invalid_request_object"
        );
        // 8. a client that must use PAR.
        let par = with(&[("client_id", "par")], &[]);
        assert_eq!(redirected_error(run(par).await), "invalid_request");
        // 9. unknown request_uri.
        let (status, _) = authorize(
            &server,
            &[
                ("client_id", "web"),
                ("request_uri", "urn:ietf:params:oauth:request_uri:nope"),
            ],
        )
        .await;
        assert_eq!(status, 400);
        // 10. repeated parameter.
        let url = format!(
            "{}&state=again",
            url::Url::parse_with_params(&server.url("/authorize"), &base).unwrap()
        );
        let response = server.http().get(url).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.json::<Value>().await.unwrap()["error_description"],
            "parameter state is repeated"
        );
        // 11. scope outside the client's registration.
        let (status, location) = authorize(
            &server,
            &[
                ("client_id", "public"),
                ("response_type", "code"),
                ("redirect_uri", PUBLIC_REDIRECT_URI),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("authorization_details", TREATMENT),
                ("scope", "bad\"scope"),
                ("login_hint", "a"),
            ],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(
            query_param(&location.unwrap(), "error").as_deref(),
            Some("invalid_scope")
        );

        // PAR: 12. bad client authentication, 13. request_uri pushed, 14. reuse of a request_uri.
        let (status, _, body) = server
            .post_form(
                "/par",
                &[("client_id", "basic"), ("response_type", "code")],
                basic("basic", "wrong"),
            )
            .await;
        expect((status, &body), 401, "invalid_client");
        let mut f = web_auth(&server);
        f.extend(form(&[("request_uri", "urn:x"), ("response_type", "code")]));
        let (status, _, body) = post(&server, "/par", &f, HeaderMap::new()).await;
        expect((status, &body), 400, "invalid_request");
        let mut f = web_auth(&server);
        f.extend(form(&[
            ("response_type", "code"),
            ("redirect_uri", REDIRECT_URI),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("authorization_details", TREATMENT),
            ("login_hint", "x"),
        ]));
        let (status, _, pushed) = post(&server, "/par", &f, HeaderMap::new()).await;
        assert_eq!(status, 201, "{pushed}");
        let request_uri = pushed["request_uri"].as_str().unwrap();
        let (status, _) = authorize(
            &server,
            &[("client_id", "web"), ("request_uri", request_uri)],
        )
        .await;
        assert_eq!(status, 303);
        let url = url::Url::parse_with_params(
            &server.url("/authorize"),
            &[("client_id", "web"), ("request_uri", request_uri)],
        )
        .unwrap();
        let response = server.http().get(url).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_request_uri"
        );
    }
}

#[tokio::test]
async fn token_endpoint_refusals() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let none = HeaderMap::new();
        // 15. missing grant_type, 16. unsupported grant type, 17. wrong content type.
        let (s, _, b) = server
            .post_form("/token", &[("client_id", "public")], none.clone())
            .await;
        expect((s, &b), 400, "invalid_request");
        let (s, _, b) = server
            .post_form(
                "/token",
                &[("grant_type", "password"), ("username", "u")],
                none.clone(),
            )
            .await;
        expect((s, &b), 400, "unsupported_grant_type");
        let response = server
            .http()
            .post(server.url("/token"))
            .json(&json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_request"
        );
        // 18. oversized body.
        let big = "x".repeat(80 * 1024);
        let response = server
            .http()
            .post(server.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=client_credentials&pad={big}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        // 19. malformed body: repeated parameter.
        let response = server
            .http()
            .post(server.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        // 20. unknown client, 21. wrong secret (with a Basic challenge), 22. two methods at once.
        let (s, _, b) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                ],
                basic("ghost", "x"),
            )
            .await;
        expect((s, &b), 401, "invalid_client");
        let (s, h, b) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                ],
                basic("basic", "wrong"),
            )
            .await;
        expect((s, &b), 401, "invalid_client");
        assert!(h["www-authenticate"].to_str().unwrap().starts_with("Basic"));
        let (s, _, b) = server
            .post_form(
                "/token",
                &[("grant_type", "client_credentials"), ("client_secret", "x")],
                basic("basic", BASIC_SECRET),
            )
            .await;
        expect((s, &b), 400, "invalid_request");
        // 23. a public client cannot use client_credentials; 24. a grant the client lacks.
        let (s, _, b) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                    ("client_id", "public"),
                ],
                none.clone(),
            )
            .await;
        expect((s, &b), 400, "unauthorized_client");
        let mut f = form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_assertion_type", JWT_BEARER),
        ]);
        f.push((
            "client_assertion".into(),
            assertion(
                &server.keys.m2m,
                &assertion_claims("m2m", &server.url("/token")),
            ),
        ));
        let (s, _, b) = post(&server, "/token", &f, none.clone()).await;
        expect((s, &b), 400, "unauthorized_client");

        // Client assertions (RFC 7523): 25. replay, 26. alg none, 27. HS256 keyed with the public key,
        // 28. wrong aud, 29. expired, 30. far future, 31. sub ≠ iss, 32. someone else's key, 33. no jti.
        let key = &server.keys.web;
        let token_url = server.url("/token");
        let claims = assertion_claims("web", &token_url);
        let jwt = assertion(key, &claims);
        assert_eq!(token_with_assertion(&server, &jwt).await.0, 200);
        let (s, b) = token_with_assertion(&server, &jwt).await;
        expect((s, &b), 401, "invalid_client");
        assert_eq!(
            b["error_description"],
            "client assertion jti was already used"
        );
        let (s, b) =
            token_with_assertion(&server, &unsigned(&assertion_claims("web", &token_url))).await;
        expect((s, &b), 401, "invalid_client");
        let public_key_as_secret = key.public_jwk().to_string();
        let (s, b) = token_with_assertion(
            &server,
            &hs256(
                &assertion_claims("web", &token_url),
                public_key_as_secret.as_bytes(),
            ),
        )
        .await;
        expect((s, &b), 401, "invalid_client");
        let mut c = assertion_claims("web", &token_url);
        c["aud"] = json!("https://other.example/token");
        expect(
            token_with_assertion(&server, &assertion(key, &c))
                .await
                .as_ref_pair(),
            401,
            "invalid_client",
        );
        let mut c = assertion_claims("web", &token_url);
        c["exp"] = json!(now() - 120);
        let (s, b) = token_with_assertion(&server, &assertion(key, &c)).await;
        expect((s, &b), 401, "invalid_client");
        assert_eq!(b["error_description"], "client assertion has expired");
        let mut c = assertion_claims("web", &token_url);
        c["exp"] = json!(now() + 3600);
        let (s, b) = token_with_assertion(&server, &assertion(key, &c)).await;
        expect((s, &b), 401, "invalid_client");
        assert_eq!(
            b["error_description"],
            "client assertion exp is more than 5 minutes ahead"
        );
        let mut c = assertion_claims("web", &token_url);
        c["sub"] = json!("someone-else");
        expect(
            token_with_assertion(&server, &assertion(key, &c))
                .await
                .as_ref_pair(),
            401,
            "invalid_client",
        );
        let stranger = TestKey::es256();
        expect(
            token_with_assertion(
                &server,
                &assertion(&stranger, &assertion_claims("web", &token_url)),
            )
            .await
            .as_ref_pair(),
            401,
            "invalid_client",
        );
        let mut c = assertion_claims("web", &token_url);
        c.as_object_mut().unwrap().remove("jti");
        expect(
            token_with_assertion(&server, &assertion(key, &c))
                .await
                .as_ref_pair(),
            401,
            "invalid_client",
        );
        // 34. wrong assertion type.
        let mut f = form(&[
            ("grant_type", "client_credentials"),
            ("authorization_details", TREATMENT),
            ("client_assertion_type", "urn:wrong"),
        ]);
        f.push((
            "client_assertion".into(),
            assertion(key, &assertion_claims("web", &token_url)),
        ));
        let (s, _, b) = post(&server, "/token", &f, none.clone()).await;
        expect((s, &b), 400, "invalid_request");
    }
}

trait Pair {
    fn as_ref_pair(&self) -> (u16, &Value);
}
impl Pair for (u16, Value) {
    fn as_ref_pair(&self) -> (u16, &Value) {
        (self.0, &self.1)
    }
}

#[tokio::test]
async fn code_and_refresh_refusals() {
    for backend in backends() {
        let server = TestServer::start(
            &backend,
            ServerOptions::default().env("GLASSGATE_TOKENS__AUTHORIZATION_CODE_TTL", "1"),
        )
        .await;
        // 35. wrong PKCE verifier, 36. missing verifier (each burns its code).
        let (code, _) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        let (s, _, b) = redeem_web(&server, &code, &pkce_pair().0).await;
        expect((s, &b), 400, "invalid_grant");
        assert_eq!(
            b["error_description"],
            "code_verifier does not match the code_challenge"
        );
        let (code, _) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        let mut f = web_auth(&server);
        f.extend(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ]));
        let (s, _, b) = post(&server, "/token", &f, HeaderMap::new()).await;
        expect((s, &b), 400, "invalid_grant");
        // 37. code replay: refused, and the tokens of the first redemption are revoked.
        let (code, verifier) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        let (s, _, first) = redeem_web(&server, &code, &verifier).await;
        assert_eq!(s, 200, "{first}");
        assert_eq!(
            introspect(&server, first["access_token"].as_str().unwrap()).await["active"],
            true
        );
        let (s, _, b) = redeem_web(&server, &code, &verifier).await;
        expect((s, &b), 400, "invalid_grant");
        assert_eq!(
            introspect(&server, first["access_token"].as_str().unwrap()).await["active"],
            false
        );
        // The refresh token, asked about by its own client (nobody else may learn of it).
        let refresh = first["refresh_token"].as_str().unwrap();
        assert_eq!(
            introspect_as(&server, refresh, web_auth(&server), HeaderMap::new()).await["active"],
            false
        );
        // 38. code used by another client.
        let (code, verifier) = code_for(&server, "basic", "alice", REDIRECT_URI).await;
        let (s, _, b) = redeem_web(&server, &code, &verifier).await;
        expect((s, &b), 400, "invalid_grant");
        assert_eq!(
            b["error_description"],
            "the authorization code was issued to another client"
        );
        // 39. redirect_uri differs from the request's.
        let (code, verifier) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        let mut f = web_auth(&server);
        f.extend(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://rp.example/other"),
            ("code_verifier", &verifier),
        ]));
        let (s, _, b) = post(&server, "/token", &f, HeaderMap::new()).await;
        expect((s, &b), 400, "invalid_grant");
        // 40. expired code (lifetime 1 s here).
        let (code, verifier) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (s, _, b) = redeem_web(&server, &code, &verifier).await;
        expect((s, &b), 400, "invalid_grant");
        assert_eq!(
            b["error_description"],
            "the authorization code is invalid or expired"
        );

        // Refresh: 41. reuse revokes the family, 42. another client's token, 43. wider scope, 44. garbage.
        let (code, verifier) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        let (_, _, tokens) = redeem_web(&server, &code, &verifier).await;
        let original = tokens["refresh_token"].as_str().unwrap().to_owned();
        let refresh = |token: String| {
            let server = &server;
            async move {
                let mut f = web_auth(server);
                f.extend(form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &token),
                ]));
                post(server, "/token", &f, HeaderMap::new()).await
            }
        };
        let (s, _, rotated) = refresh(original.clone()).await;
        assert_eq!(s, 200, "{rotated}");
        let successor = rotated["refresh_token"].as_str().unwrap().to_owned();
        let (s, _, b) = refresh(original).await;
        expect((s, &b), 400, "invalid_grant");
        assert_eq!(
            b["error_description"],
            "the refresh token was already used; the grant is revoked"
        );
        let (s, _, b) = refresh(successor).await;
        expect((s, &b), 400, "invalid_grant");
        assert_eq!(
            introspect(&server, rotated["access_token"].as_str().unwrap()).await["active"],
            false
        );
        let (code, verifier) = code_for(&server, "basic", "bob", REDIRECT_URI).await;
        let (_, _, basic_tokens) =
            redeem_with(&server, &code, &verifier, basic("basic", BASIC_SECRET)).await;
        let (s, _, b) = refresh(basic_tokens["refresh_token"].as_str().unwrap().to_owned()).await;
        expect((s, &b), 400, "invalid_grant");
        let (s, _, b) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "refresh_token"),
                    (
                        "refresh_token",
                        basic_tokens["refresh_token"].as_str().unwrap(),
                    ),
                    ("scope", "openid admin"),
                ],
                basic("basic", BASIC_SECRET),
            )
            .await;
        expect((s, &b), 400, "invalid_scope");
        let (s, _, b) = refresh(random_id()).await;
        expect((s, &b), 400, "invalid_grant");
    }
}

#[tokio::test]
async fn dpop_and_resource_refusals() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let key = TestKey::es256();
        let token_url = server.url("/token");
        let nonce = dpop_nonce(&server, &key).await;
        let cc = DPOP_CLIENT_CREDENTIALS;
        // 45. wrong htm, 46. wrong htu, 47. no nonce (use_dpop_nonce with a fresh nonce header),
        // 48. replayed proof, 49. stale iat, 50. wrong typ, 51. a DPoP-bound client with no proof.
        let (s, _, b) = server
            .post_form(
                "/token",
                &cc,
                dpop_client(&dpop_proof(&key, "GET", &token_url, Some(&nonce), None)),
            )
            .await;
        expect((s, &b), 400, "invalid_dpop_proof");
        let (s, _, b) = server
            .post_form(
                "/token",
                &cc,
                dpop_client(&dpop_proof(
                    &key,
                    "POST",
                    &server.url("/par"),
                    Some(&nonce),
                    None,
                )),
            )
            .await;
        expect((s, &b), 400, "invalid_dpop_proof");
        let (s, h, b) = server
            .post_form(
                "/token",
                &cc,
                dpop_client(&dpop_proof(&key, "POST", &token_url, None, None)),
            )
            .await;
        expect((s, &b), 400, "use_dpop_nonce");
        assert!(h.contains_key("dpop-nonce"));
        let proof = dpop_proof(&key, "POST", &token_url, Some(&nonce), None);
        let (s, _, b) = server.post_form("/token", &cc, dpop_client(&proof)).await;
        assert_eq!(s, 200, "{b}");
        let bound_token = b["access_token"].as_str().unwrap().to_owned();
        let (s, _, b) = server.post_form("/token", &cc, dpop_client(&proof)).await;
        expect((s, &b), 400, "invalid_dpop_proof");
        assert_eq!(b["error_description"], "DPoP proof was already used");
        let stale = json!({ "jti": random_id(), "htm": "POST", "htu": token_url, "iat": now() - 600, "nonce": nonce });
        let (s, _, b) = server
            .post_form("/token", &cc, dpop_client(&dpop_with_claims(&key, &stale)))
            .await;
        expect((s, &b), 400, "invalid_dpop_proof");
        let wrong_typ = key.sign(json!({ "typ": "JWT", "jwk": key.public_jwk() }), &json!({ "jti": random_id(), "htm": "POST", "htu": token_url, "iat": now(), "nonce": nonce }));
        let (s, _, b) = server
            .post_form("/token", &cc, dpop_client(&wrong_typ))
            .await;
        expect((s, &b), 400, "invalid_dpop_proof");
        let (s, _, b) = server
            .post_form("/token", &cc, basic("dpop", DPOP_SECRET))
            .await;
        expect((s, &b), 400, "invalid_dpop_proof");

        // Resource side: 52. DPoP proof with the wrong ath, 53. a bound token sent as Bearer,
        // 54. no token, 55. a forged token, 56. a revoked token.
        let (code, verifier) = code_for(&server, "dpop", "carol", REDIRECT_URI).await;
        let (_, _, tokens) = redeem_with(
            &server,
            &code,
            &verifier,
            dpop_client(&dpop_proof(&key, "POST", &token_url, Some(&nonce), None)),
        )
        .await;
        let at = tokens["access_token"].as_str().unwrap();
        let userinfo = |auth: String, proof: Option<String>| {
            let server = &server;
            async move {
                let mut request = server
                    .http()
                    .get(server.url("/userinfo"))
                    .header("authorization", auth);
                if let Some(p) = proof {
                    request = request.header("dpop", p);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap().to_owned());
                (
                    status,
                    challenge,
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        let wrong_ath = dpop_proof(
            &key,
            "GET",
            &server.url("/userinfo"),
            None,
            Some(&bound_token),
        );
        let (s, challenge, b) = userinfo(format!("DPoP {at}"), Some(wrong_ath)).await;
        expect((s, &b), 401, "invalid_dpop_proof");
        assert!(challenge.unwrap().starts_with("DPoP"));
        let (s, challenge, b) = userinfo(format!("Bearer {at}"), None).await;
        expect((s, &b), 401, "invalid_token");
        assert!(challenge.unwrap().starts_with("Bearer"));
        let (s, _, b) = userinfo(String::new(), None).await;
        assert_eq!(s, 401, "{b}");
        let (s, _, b) = userinfo(format!("Bearer {}", unsigned(&json!({"sub": "x"}))), None).await;
        expect((s, &b), 401, "invalid_token");
        let (code, verifier) = code_for(&server, "web", "dave", REDIRECT_URI).await;
        let (_, _, web_tokens) = redeem_web(&server, &code, &verifier).await;
        let web_at = web_tokens["access_token"].as_str().unwrap();
        let mut f = web_auth(&server);
        f.push(("token".into(), web_at.to_owned()));
        let (s, _, _) = post(&server, "/revoke", &f, HeaderMap::new()).await;
        assert_eq!(s, 200);
        let (s, _, b) = userinfo(format!("Bearer {web_at}"), None).await;
        expect((s, &b), 401, "invalid_token");
        // 57. introspection by a public client.
        let (s, _, b) = server
            .post_form(
                "/introspect",
                &[("token", web_at), ("client_id", "public")],
                HeaderMap::new(),
            )
            .await;
        expect((s, &b), 400, "unauthorized_client");
        // 58. revocation with an unknown token_type_hint.
        let (s, _, b) = server
            .post_form(
                "/revoke",
                &[("token", "x"), ("token_type_hint", "magic")],
                basic("basic", BASIC_SECRET),
            )
            .await;
        expect((s, &b), 400, "invalid_request");
    }
}

#[tokio::test]
async fn dynamic_registration_and_its_refusals() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let http = server.http();
        let register = |token: Option<&'static str>, body: Value| {
            let http = http.clone();
            let url = server.url("/register");
            async move {
                let mut request = http.post(url).json(&body);
                if let Some(t) = token {
                    request = request.bearer_auth(t);
                }
                let response = request.send().await.unwrap();
                (
                    response.status().as_u16(),
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        let iat = Some(glassgate_tests::harness::INITIAL_ACCESS_TOKEN);
        // 59. no initial access token, 60. a bad redirect URI, 61. private_key_jwt without keys,
        // 62. an unsupported grant type, 63. a software statement.
        let (s, b) = register(None, json!({ "redirect_uris": [REDIRECT_URI] })).await;
        expect((s, &b), 401, "invalid_token");
        let (s, b) = register(iat, json!({ "redirect_uris": ["http://evil.example/cb"] })).await;
        expect((s, &b), 400, "invalid_redirect_uri");
        let (s, b) = register(iat, json!({ "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt" })).await;
        expect((s, &b), 400, "invalid_client_metadata");
        let (s, b) = register(iat, json!({ "grant_types": ["password"] })).await;
        expect((s, &b), 400, "invalid_client_metadata");
        let (s, b) = register(
            iat,
            json!({ "redirect_uris": [REDIRECT_URI], "software_statement": "x.y.z" }),
        )
        .await;
        expect((s, &b), 400, "invalid_software_statement");

        // A real registration, used, read, updated and deleted (RFC 7591 / 7592).
        let (s, created) = register(iat, json!({ "redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code", "client_credentials"], "client_name": "Registered RP" })).await;
        assert_eq!(s, 201, "{created}");
        let client_id = created["client_id"].as_str().unwrap();
        let secret = created["client_secret"].as_str().unwrap();
        let registration_token = created["registration_access_token"].as_str().unwrap();
        let management = created["registration_client_uri"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, _, b) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                    ("scope", "system/Patient.rs"),
                ],
                basic(client_id, secret),
            )
            .await;
        // Registered without a trust framework, the client belongs to no organisation the
        // broker knows, and policy gives such a client no data.
        expect((s, &b), 403, "access_denied");
        assert!(
            b["error_description"]
                .as_str()
                .unwrap()
                .contains("not_permitted"),
            "{b}"
        );
        let read = http
            .get(&management)
            .bearer_auth(registration_token)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        assert_eq!(
            read.json::<Value>().await.unwrap()["client_name"],
            "Registered RP"
        );
        // 64. management with the wrong registration token.
        let wrong = http
            .get(&management)
            .bearer_auth("not-the-token")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
        let updated = http
            .put(&management)
            .bearer_auth(registration_token)
            .json(&json!({ "client_id": client_id, "redirect_uris": [REDIRECT_URI], "grant_types": ["client_credentials"], "client_name": "Renamed" }))
            .send()
            .await
            .unwrap();
        assert_eq!(updated.status(), 200);
        assert_eq!(
            updated.json::<Value>().await.unwrap()["client_name"],
            "Renamed"
        );
        let deleted = http
            .delete(&management)
            .bearer_auth(registration_token)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 204);
        // The deleting replica forgets the client at once.
        let (s, _, b) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                ],
                basic(client_id, secret),
            )
            .await;
        expect((s, &b), 401, "invalid_client");
    }
}

#[tokio::test]
async fn bad_input_never_changes_state_or_fails_the_server() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let http = server.http();
        for (path, body) in [
            ("/token", "%%%"),
            ("/token", "grant_type=authorization_code&code=%FF%FE"),
            ("/par", "response_type=code"),
            ("/introspect", "token="),
            ("/revoke", ""),
        ] {
            let response = http
                .post(server.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_client_error(),
                "{path} {body}: {}",
                response.status()
            );
        }
        for path in ["/authorize?%zz", "/register/unknown", "/userinfo"] {
            let response = http.get(server.url(path)).send().await.unwrap();
            assert!(
                response.status().is_client_error(),
                "{path}: {}",
                response.status()
            );
        }
    }
}

/// A replayed client assertion or DPoP proof is refused as a replay whatever else the request
/// got wrong, and before the grant changes anything: a code presented with it stays
/// redeemable, and the log holds no issuance for it.
#[tokio::test]
async fn replayed_proofs_are_refused_before_anything_changes() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let token_url = server.url("/token");
        let used = assertion(&server.keys.web, &assertion_claims("web", &token_url));
        assert_eq!(token_with_assertion(&server, &used).await.0, 200);
        let with_used = |pairs: &[(&str, &str)]| {
            let mut f = form(pairs);
            f.push(("client_assertion_type".into(), JWT_BEARER.into()));
            f.push(("client_assertion".into(), used.clone()));
            f
        };
        let unregistered_scope = with_used(&[
            ("grant_type", "client_credentials"),
            ("authorization_details", TREATMENT),
            ("scope", "system/NotRegistered.rs"),
        ]);
        let (s, _, b) = post(&server, "/token", &unregistered_scope, HeaderMap::new()).await;
        expect((s, &b), 401, "invalid_client");
        assert_eq!(
            b["error_description"],
            "client assertion jti was already used"
        );
        let (code, verifier) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        let redeem = with_used(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ]);
        let (s, _, b) = post(&server, "/token", &redeem, HeaderMap::new()).await;
        expect((s, &b), 401, "invalid_client");
        let (s, _, b) = redeem_web(&server, &code, &verifier).await;
        assert_eq!(s, 200, "the code survives a replayed assertion: {b}");

        let key = TestKey::es256();
        let nonce = dpop_nonce(&server, &key).await;
        let proof = dpop_proof(&key, "POST", &token_url, Some(&nonce), None);
        let cc = DPOP_CLIENT_CREDENTIALS;
        let (s, _, b) = server.post_form("/token", &cc, dpop_client(&proof)).await;
        assert_eq!(s, 200, "{b}");
        let (s, _, b) = server.post_form("/token", &cc, dpop_client(&proof)).await;
        expect((s, &b), 400, "invalid_dpop_proof");
        assert_eq!(b["error_description"], "DPoP proof was already used");

        let (_, entries) = audit(&server).await;
        let count = |event: &str, refusal: Option<&str>, client: &str| {
            entries
                .iter()
                .filter(|e| {
                    e.event == event && e.refusal.as_deref() == refusal && e.client == client
                })
                .count()
        };
        assert_eq!(count("token.issued", None, "web"), 2, "{entries:?}");
        assert_eq!(count("token.issued", None, "dpop"), 1, "{entries:?}");
        // A replayed assertion authenticates no one; a replayed DPoP proof's client did.
        assert_eq!(count("token.refused", Some("invalid_client"), "-"), 2);
        assert_eq!(
            count("token.refused", Some("invalid_dpop_proof"), "dpop"),
            1
        );
    }
}
