//! Negative cases: each asserts the exact OAuth error, on every backend. Bad input must
//! never yield a 500 nor change state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use glassgate_tests::clients::{
    BASIC_SECRET, DPOP_SECRET, PUBLIC_REDIRECT_URI, REDIRECT_URI, VENDOR_SECRET,
};
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

/// What a refused request got back: its status and body, and (for a 401, whose challenge
/// is checked too) its headers.
trait Answer {
    fn status(&self) -> u16;
    fn body(&self) -> &Value;
    fn headers(&self) -> Option<&HeaderMap>;
}
impl Answer for (u16, &Value) {
    fn status(&self) -> u16 {
        self.0
    }
    fn body(&self) -> &Value {
        self.1
    }
    fn headers(&self) -> Option<&HeaderMap> {
        None
    }
}
impl Answer for (u16, &HeaderMap, &Value) {
    fn status(&self) -> u16 {
        self.0
    }
    fn body(&self) -> &Value {
        self.2
    }
    fn headers(&self) -> Option<&HeaderMap> {
        Some(self.1)
    }
}

/// The refusal is `status` with OAuth `error`; a 401 also carries a `WWW-Authenticate`
/// challenge (RFC 9110 §15.5.2) in the scheme of what failed: `Basic` with a realm for
/// client authentication (RFC 6749 §5.2), `Bearer` or `DPoP` naming the error at a
/// protected resource (RFC 6750 §3, RFC 9449 §7.1).
#[track_caller]
fn expect(got: impl Answer, status: u16, error: &str) {
    assert_eq!(
        (got.status(), got.body()["error"].as_str()),
        (status, Some(error)),
        "body: {}",
        got.body()
    );
    if status == 401 {
        let headers = got
            .headers()
            .expect("a 401 is checked with its headers, for its challenge");
        let challenges = challenges(headers);
        if error == "invalid_client" {
            assert!(
                matches!(challenges.as_slice(), [c] if c.starts_with("Basic realm=\"http") && c.ends_with('"')),
                "{error}: {challenges:?}"
            );
        } else {
            assert!(
                challenges
                    .iter()
                    .any(|c| (c.starts_with("Bearer ") || c.starts_with("DPoP "))
                        && c.contains(&format!("error=\"{error}\""))),
                "{error}: {challenges:?}"
            );
        }
    }
}

/// Every `WWW-Authenticate` value of a response.
fn challenges(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An `authorization_details` entry of a type Glassgate does not understand, alone and
/// beside our purpose of use: both refused (RFC 9396 §5), never ignored.
const UNKNOWN_TYPE: &str =
    r#"[{"type":"payment_initiation","instructedAmount":{"currency":"USD","amount":"1"}}]"#;
const TREATMENT_AND_UNKNOWN_TYPE: &str = r#"[{"type":"purpose_of_use","purpose_of_use":{"system":"urn:oid:2.16.840.1.113883.3.7204.1.5.2.1","code":"T-TREAT"}},{"type":"payment_initiation","amount":1}]"#;
const UNKNOWN_TYPE_REFUSAL: &str = "authorization_details type \"payment_initiation\" is not supported (supported: purpose_of_use, patient_context)";

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
async fn token_with_assertion(server: &TestServer, jwt: &str) -> (u16, HeaderMap, Value) {
    let mut f = form(&[
        ("grant_type", "client_credentials"),
        ("authorization_details", TREATMENT),
        ("scope", "system/Patient.rs"),
        ("client_assertion_type", JWT_BEARER),
    ]);
    f.push(("client_assertion".into(), jwt.to_owned()));
    post(server, "/token", &f, HeaderMap::new()).await
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
        // 11a. an authorization_details type we do not understand, alone or beside ours.
        for details in [UNKNOWN_TYPE, TREATMENT_AND_UNKNOWN_TYPE] {
            let outcome = run(with(&[("authorization_details", details)], &[])).await;
            let location = outcome.1.clone().unwrap();
            assert_eq!(
                redirected_error(outcome),
                "invalid_authorization_details",
                "{details}"
            );
            assert_eq!(
                query_param(&location, "error_description").as_deref(),
                Some(UNKNOWN_TYPE_REFUSAL)
            );
        }

        // PAR: 12. bad client authentication, 13. request_uri pushed, 14. reuse of a request_uri.
        let (status, h, body) = server
            .post_form(
                "/par",
                &[("client_id", "basic"), ("response_type", "code")],
                basic("basic", "wrong"),
            )
            .await;
        expect((status, &h, &body), 401, "invalid_client");
        let mut f = web_auth(&server);
        f.extend(form(&[("request_uri", "urn:x"), ("response_type", "code")]));
        let (status, _, body) = post(&server, "/par", &f, HeaderMap::new()).await;
        expect((status, &body), 400, "invalid_request");
        // 13a. an authorization_details type we do not understand, pushed: nothing stored.
        for details in [UNKNOWN_TYPE, TREATMENT_AND_UNKNOWN_TYPE] {
            let mut f = web_auth(&server);
            f.extend(form(&[
                ("response_type", "code"),
                ("redirect_uri", REDIRECT_URI),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("authorization_details", details),
            ]));
            let (status, _, body) = post(&server, "/par", &f, HeaderMap::new()).await;
            expect((status, &body), 400, "invalid_authorization_details");
            assert_eq!(body["error_description"], UNKNOWN_TYPE_REFUSAL);
            assert!(body.get("request_uri").is_none());
        }
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
        let (s, h, b) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                ],
                basic("ghost", "x"),
            )
            .await;
        expect((s, &h, &b), 401, "invalid_client");
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
        expect((s, &h, &b), 401, "invalid_client");
        assert_eq!(
            challenges(&h),
            [format!("Basic realm=\"{}\"", server.issuer)]
        );
        let (s, _, b) = server
            .post_form(
                "/token",
                &[("grant_type", "client_credentials"), ("client_secret", "x")],
                basic("basic", BASIC_SECRET),
            )
            .await;
        expect((s, &b), 400, "invalid_request");
        // 22a. an authorization_details type we do not understand, alone or beside ours.
        for details in [UNKNOWN_TYPE, TREATMENT_AND_UNKNOWN_TYPE] {
            let (s, _, b) = server
                .post_form(
                    "/token",
                    &[
                        ("grant_type", "client_credentials"),
                        ("authorization_details", details),
                        ("scope", "system/Patient.rs"),
                    ],
                    basic("basic", BASIC_SECRET),
                )
                .await;
            expect((s, &b), 400, "invalid_authorization_details");
            assert_eq!(b["error_description"], UNKNOWN_TYPE_REFUSAL);
        }
        // 22b. a huge unknown type is not echoed.
        let huge = format!(r#"[{{"type":"{}"}}]"#, "t".repeat(8000));
        let (s, _, b) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", &huge),
                    ("scope", "system/Patient.rs"),
                ],
                basic("basic", BASIC_SECRET),
            )
            .await;
        expect((s, &b), 400, "invalid_authorization_details");
        assert!(b["error_description"].as_str().unwrap().len() < 200, "{b}");
        // 22c. a token exchange naming an authorization_details type we do not understand.
        let (s, _, provider) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                    ("scope", "system/Patient.rs"),
                ],
                basic("basic", BASIC_SECRET),
            )
            .await;
        assert_eq!(s, 200, "{provider}");
        let (s, _, b) = server
            .post_form(
                "/token",
                &[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", provider["access_token"].as_str().unwrap()),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                    ("authorization_details", TREATMENT_AND_UNKNOWN_TYPE),
                ],
                basic("vendor", VENDOR_SECRET),
            )
            .await;
        expect((s, &b), 400, "invalid_authorization_details");
        assert_eq!(b["error_description"], UNKNOWN_TYPE_REFUSAL);
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
        let (s, h, b) = token_with_assertion(&server, &jwt).await;
        expect((s, &h, &b), 401, "invalid_client");
        assert_eq!(
            b["error_description"],
            "client assertion jti was already used"
        );
        let (s, h, b) =
            token_with_assertion(&server, &unsigned(&assertion_claims("web", &token_url))).await;
        expect((s, &h, &b), 401, "invalid_client");
        let public_key_as_secret = key.public_jwk().to_string();
        let (s, h, b) = token_with_assertion(
            &server,
            &hs256(
                &assertion_claims("web", &token_url),
                public_key_as_secret.as_bytes(),
            ),
        )
        .await;
        expect((s, &h, &b), 401, "invalid_client");
        let mut c = assertion_claims("web", &token_url);
        c["aud"] = json!("https://other.example/token");
        expect(
            token_with_assertion(&server, &assertion(key, &c))
                .await
                .as_ref_triple(),
            401,
            "invalid_client",
        );
        let mut c = assertion_claims("web", &token_url);
        c["exp"] = json!(now() - 120);
        let (s, h, b) = token_with_assertion(&server, &assertion(key, &c)).await;
        expect((s, &h, &b), 401, "invalid_client");
        assert_eq!(b["error_description"], "client assertion has expired");
        let mut c = assertion_claims("web", &token_url);
        c["exp"] = json!(now() + 3600);
        let (s, h, b) = token_with_assertion(&server, &assertion(key, &c)).await;
        expect((s, &h, &b), 401, "invalid_client");
        assert_eq!(
            b["error_description"],
            "client assertion exp is more than 5 minutes ahead"
        );
        let mut c = assertion_claims("web", &token_url);
        c["sub"] = json!("someone-else");
        expect(
            token_with_assertion(&server, &assertion(key, &c))
                .await
                .as_ref_triple(),
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
            .as_ref_triple(),
            401,
            "invalid_client",
        );
        let mut c = assertion_claims("web", &token_url);
        c.as_object_mut().unwrap().remove("jti");
        expect(
            token_with_assertion(&server, &assertion(key, &c))
                .await
                .as_ref_triple(),
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

trait Triple {
    fn as_ref_triple(&self) -> (u16, &HeaderMap, &Value);
}
impl Triple for (u16, HeaderMap, Value) {
    fn as_ref_triple(&self) -> (u16, &HeaderMap, &Value) {
        (self.0, &self.1, &self.2)
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
        // 44a. a refresh naming an authorization_details type we do not understand.
        let (code, verifier) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        let (_, _, tokens) = redeem_web(&server, &code, &verifier).await;
        let mut f = web_auth(&server);
        f.extend(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("authorization_details", TREATMENT_AND_UNKNOWN_TYPE),
        ]));
        let (s, _, b) = post(&server, "/token", &f, HeaderMap::new()).await;
        expect((s, &b), 400, "invalid_authorization_details");
        assert_eq!(b["error_description"], UNKNOWN_TYPE_REFUSAL);
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
                let headers = response.headers().clone();
                (
                    status,
                    headers,
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
        let (s, h, b) = userinfo(format!("DPoP {at}"), Some(wrong_ath)).await;
        expect((s, &h, &b), 401, "invalid_dpop_proof");
        let realm = format!("DPoP realm=\"{}\", algs=", server.issuer);
        assert!(challenges(&h)[0].starts_with(&realm), "{h:?}");
        let (s, h, b) = userinfo(format!("Bearer {at}"), None).await;
        expect((s, &h, &b), 401, "invalid_token");
        assert!(challenges(&h)[0].starts_with("Bearer "), "{h:?}");
        // No token: both schemes are offered, without an error (RFC 6750 §3.1).
        let (s, h, b) = userinfo(String::new(), None).await;
        assert_eq!(s, 401, "{b}");
        let offered = challenges(&h);
        assert_eq!(offered.len(), 2, "{offered:?}");
        assert_eq!(offered[0], format!("Bearer realm=\"{}\"", server.issuer));
        assert!(offered[1].starts_with("DPoP realm="), "{offered:?}");
        assert!(offered.iter().all(|c| !c.contains("error=")), "{offered:?}");
        let (s, h, b) = userinfo(format!("Bearer {}", unsigned(&json!({"sub": "x"}))), None).await;
        expect((s, &h, &b), 401, "invalid_token");
        let (code, verifier) = code_for(&server, "web", "dave", REDIRECT_URI).await;
        let (_, _, web_tokens) = redeem_web(&server, &code, &verifier).await;
        let web_at = web_tokens["access_token"].as_str().unwrap();
        let mut f = web_auth(&server);
        f.push(("token".into(), web_at.to_owned()));
        let (s, _, _) = post(&server, "/revoke", &f, HeaderMap::new()).await;
        assert_eq!(s, 200);
        let (s, h, b) = userinfo(format!("Bearer {web_at}"), None).await;
        expect((s, &h, &b), 401, "invalid_token");
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
                    response.headers().clone(),
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        let iat = Some(glassgate_tests::harness::INITIAL_ACCESS_TOKEN);
        // 59. no initial access token, 60. a bad redirect URI, 61. private_key_jwt without keys,
        // 62. an unsupported grant type, 63. a software statement.
        let (s, h, b) = register(None, json!({ "redirect_uris": [REDIRECT_URI] })).await;
        expect((s, &h, &b), 401, "invalid_token");
        let (s, _, b) = register(iat, json!({ "redirect_uris": ["http://evil.example/cb"] })).await;
        expect((s, &b), 400, "invalid_redirect_uri");
        let (s, _, b) = register(iat, json!({ "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt" })).await;
        expect((s, &b), 400, "invalid_client_metadata");
        let (s, _, b) = register(iat, json!({ "grant_types": ["password"] })).await;
        expect((s, &b), 400, "invalid_client_metadata");
        let (s, _, b) = register(
            iat,
            json!({ "redirect_uris": [REDIRECT_URI], "software_statement": "x.y.z" }),
        )
        .await;
        expect((s, &b), 400, "invalid_software_statement");

        // A real registration, used, read, updated and deleted (RFC 7591 / 7592).
        let (s, _, created) = register(iat, json!({ "redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code", "client_credentials"], "client_name": "Registered RP" })).await;
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
        let h = wrong.headers().clone();
        expect(
            (401, &h, &wrong.json::<Value>().await.unwrap()),
            401,
            "invalid_token",
        );
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
        let (s, h, b) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                ],
                basic(client_id, secret),
            )
            .await;
        expect((s, &h, &b), 401, "invalid_client");
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
        let (s, h, b) = post(&server, "/token", &unregistered_scope, HeaderMap::new()).await;
        expect((s, &h, &b), 401, "invalid_client");
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
        let (s, h, b) = post(&server, "/token", &redeem, HeaderMap::new()).await;
        expect((s, &h, &b), 401, "invalid_client");
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
