//! End-to-end OAuth/OIDC flows against the real server, driven by the `openidconnect`
//! crate as the relying party, on SQLite and on PostgreSQL + Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use glassgate_tests::clients::{BASIC_SECRET, DPOP_SECRET, M2M_SCOPE, REDIRECT_URI};
use glassgate_tests::jwt::{TestKey, claims_of, dpop_proof, header_of, jwk_thumbprint, pkce_pair};
use glassgate_tests::oauth::{
    JWT_BEARER, TREATMENT, authorize, basic, client_assertion, code_for, dpop_client_token,
    dpop_nonce, introspect, introspect_as, post, query_param, redeem_with, web_auth,
};
use glassgate_tests::{ServerOptions, TestServer, backends};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::header::HeaderMap;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn discovery_code_pkce_refresh_with_the_openidconnect_rp() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let http = http();
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(server.base.clone()).unwrap(),
            &http,
        )
        .await
        .unwrap();
        let client =
            CoreClient::from_provider_metadata(metadata, ClientId::new("web".into()), None)
                .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap())
                .set_auth_type(AuthType::RequestBody);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge)
            .add_extra_param("login_hint", "alice")
            .add_extra_param("authorization_details", TREATMENT)
            .url();
        let response = http.get(url.as_str()).send().await.unwrap();
        assert_eq!(response.status(), 303, "{}", backend.name());
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(
            query_param(&location, "state").as_deref(),
            Some(csrf.secret().as_str())
        );
        assert_eq!(
            query_param(&location, "iss").as_deref(),
            Some(server.base.as_str()),
            "RFC 9207 iss"
        );
        let code = query_param(&location, "code").unwrap();

        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .add_extra_param("client_assertion_type", JWT_BEARER)
            .add_extra_param(
                "client_assertion",
                client_assertion(&server, &server.keys.web, "web"),
            )
            .request_async(&http)
            .await
            .unwrap();
        let id_verifier = client
            .id_token_verifier()
            .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
        let id_claims = tokens
            .id_token()
            .unwrap()
            .claims(&id_verifier, &nonce)
            .unwrap();
        assert_eq!(id_claims.subject().as_str(), "alice");
        assert!(id_claims.auth_time().is_some());
        assert_eq!(
            id_claims.auth_context_ref().map(|a| a.as_str()),
            Some("phr")
        );

        let at = tokens.access_token().secret();
        assert_eq!(header_of(at)["typ"], "at+jwt", "RFC 9068");
        let at_claims = claims_of(at);
        assert_eq!(at_claims["sub"], "alice");
        assert_eq!(at_claims["client_id"], "web");
        assert_eq!(at_claims["iss"], server.base.as_str());
        assert!(at_claims["jti"].is_string());

        // UserInfo with the bearer token.
        let userinfo: serde_json::Value = http
            .get(server.url("/userinfo"))
            .bearer_auth(at)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(userinfo["sub"], "alice");

        // Refresh rotation through the RP library.
        let refresh = tokens.refresh_token().unwrap().clone();
        let refreshed = client
            .exchange_refresh_token(&refresh)
            .unwrap()
            .add_extra_param("client_assertion_type", JWT_BEARER)
            .add_extra_param(
                "client_assertion",
                client_assertion(&server, &server.keys.web, "web"),
            )
            .request_async(&http)
            .await
            .unwrap();
        let rotated = refreshed.refresh_token().unwrap();
        assert_ne!(rotated.secret(), refresh.secret(), "refresh tokens rotate");
        // Refresh tokens are their client's business only: `web` introspects its own.
        let own = |token| introspect_as(&server, token, web_auth(&server), HeaderMap::new());
        assert_eq!(
            own(refresh.secret()).await["active"],
            false,
            "the old one is spent"
        );
        assert_eq!(own(rotated.secret()).await["active"], true);
        assert_eq!(
            introspect(&server, refreshed.access_token().secret()).await["active"],
            true
        );

        // Client credentials with private_key_jwt (RS256 key) through the RP library.
        let m2m = CoreClient::from_provider_metadata(
            CoreProviderMetadata::discover_async(
                IssuerUrl::new(server.base.clone()).unwrap(),
                &http,
            )
            .await
            .unwrap(),
            ClientId::new("m2m".into()),
            None,
        )
        .set_auth_type(AuthType::RequestBody);
        let cc = m2m
            .exchange_client_credentials()
            .unwrap()
            .add_scope(Scope::new("system/Patient.rs".into()))
            .add_extra_param("authorization_details", TREATMENT)
            .add_extra_param("client_assertion_type", JWT_BEARER)
            .add_extra_param(
                "client_assertion",
                client_assertion(&server, &server.keys.m2m, "m2m"),
            )
            .request_async(&http)
            .await
            .unwrap();
        let cc_claims = claims_of(cc.access_token().secret());
        assert_eq!(cc_claims["sub"], "m2m");
        assert_eq!(cc_claims["scope"], "system/Patient.rs");

        // The application log never carries tokens, codes or secrets.
        let log = server.log_text();
        assert!(
            log.contains("glassgate listening"),
            "the server logs at info"
        );
        for secret in [
            at.as_str(),
            refresh.secret().as_str(),
            rotated.secret().as_str(),
            cc.access_token().secret().as_str(),
        ] {
            assert!(
                !log.contains(secret),
                "a token appeared in the application log"
            );
        }
        assert!(
            !log.contains("alice"),
            "a subject appeared in the application log"
        );
    }
}

#[tokio::test]
async fn pushed_authorization_request_then_code_with_id_token() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let (code, verifier) = pushed_code(&server, HeaderMap::new(), &[("nonce", "n-0S6_WzA2Mj")])
            .await
            .unwrap();
        let (status, headers, tokens) =
            redeem_pushed(&server, code, verifier, HeaderMap::new()).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(headers["cache-control"], "no-store");
        let id = claims_of(tokens["id_token"].as_str().unwrap());
        assert_eq!(
            (id["sub"].as_str(), id["aud"].as_str(), id["nonce"].as_str()),
            (Some("bob"), Some("par"), Some("n-0S6_WzA2Mj"))
        );
        assert_eq!(
            header_of(tokens["id_token"].as_str().unwrap())["alg"],
            "ES256"
        );
    }
}

/// A pushed authorization request of the `par` client, with `headers` and `extra` params;
/// the code the authorization answers with, and its PKCE verifier.
async fn pushed_code(
    server: &TestServer,
    headers: HeaderMap,
    extra: &[(&str, &str)],
) -> Result<(String, String), serde_json::Value> {
    let (verifier, challenge) = pkce_pair();
    let mut form = web_auth(server);
    form[1].1 = client_assertion(server, &server.keys.web, "par");
    for (k, v) in [
        ("client_id", "par"),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("authorization_details", TREATMENT),
        ("login_hint", "bob"),
    ]
    .iter()
    .chain(extra)
    {
        form.push(((*k).to_owned(), (*v).to_owned()));
    }
    let (status, _, pushed) = post(server, "/par", &form, headers).await;
    if status != 201 {
        return Err(pushed);
    }
    let request_uri = pushed["request_uri"].as_str().unwrap();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert!(pushed["expires_in"].as_i64().unwrap() > 0);
    let (status, location) = authorize(
        server,
        &[("client_id", "par"), ("request_uri", request_uri)],
    )
    .await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    let code = query_param(&location, "code").unwrap_or_else(|| panic!("no code: {location}"));
    Ok((code, verifier))
}

/// Redeem a code of the `par` client.
async fn redeem_pushed(
    server: &TestServer,
    code: String,
    verifier: String,
    headers: HeaderMap,
) -> (u16, HeaderMap, serde_json::Value) {
    let form = vec![
        ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
        (
            "client_assertion".to_owned(),
            client_assertion(server, &server.keys.web, "par"),
        ),
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".to_owned(), code),
        ("redirect_uri".to_owned(), REDIRECT_URI.to_owned()),
        ("code_verifier".to_owned(), verifier),
    ];
    post(server, "/token", &form, headers).await
}

/// RFC 9449 §10.1: a DPoP proof on the pushed request binds the code like `dpop_jkt`.
#[tokio::test]
async fn a_dpop_proof_at_par_binds_the_code_to_its_key() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let key = TestKey::es256();
        let nonce = dpop_nonce(&server, &key).await;
        let par_proof = || {
            let mut headers = HeaderMap::new();
            let proof = dpop_proof(&key, "POST", &server.url("/par"), Some(&nonce), None);
            headers.insert("dpop", proof.parse().unwrap());
            headers
        };
        let redeem = |code, verifier, proof: Option<String>| {
            let mut headers = HeaderMap::new();
            if let Some(proof) = proof {
                headers.insert("dpop", proof.parse().unwrap());
            }
            let server = &server;
            async move {
                let (status, _, body) = redeem_pushed(server, code, verifier, headers).await;
                (status, body)
            }
        };
        let token_proof = || dpop_proof(&key, "POST", &server.url("/token"), Some(&nonce), None);

        // Without its key the code is refused; with it, the tokens are DPoP-bound.
        let (code, verifier) = pushed_code(&server, par_proof(), &[]).await.unwrap();
        let (status, body) = redeem(code, verifier, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_dpop_proof")),
            "{body}"
        );
        let (code, verifier) = pushed_code(&server, par_proof(), &[]).await.unwrap();
        let (status, body) = redeem(code, verifier, Some(token_proof())).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "DPoP");
        assert_eq!(
            claims_of(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
            jwk_thumbprint(&key).as_str()
        );

        // A dpop_jkt naming another key than the proof's is refused at PAR.
        let other = jwk_thumbprint(&TestKey::es256());
        let refused = pushed_code(&server, par_proof(), &[("dpop_jkt", other.as_str())])
            .await
            .unwrap_err();
        assert_eq!(refused["error"], "invalid_dpop_proof", "{refused}");
    }
}

#[tokio::test]
async fn dpop_bound_tokens_introspection_userinfo_and_revocation() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let key = TestKey::es256();
        let nonce = dpop_nonce(&server, &key).await;
        let proof = dpop_proof(&key, "POST", &server.url("/token"), Some(&nonce), None);
        let (status, response_headers, body) = dpop_client_token(&server, &proof).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "DPoP");
        assert!(response_headers.contains_key("dpop-nonce"));
        let at = body["access_token"].as_str().unwrap();
        assert_eq!(claims_of(at)["cnf"]["jkt"], jwk_thumbprint(&key).as_str());

        let info = introspect(&server, at).await;
        assert_eq!(info["active"], true);
        assert_eq!(info["token_type"], "DPoP");
        assert_eq!(info["cnf"]["jkt"], jwk_thumbprint(&key).as_str());
        assert_eq!(info["client_id"], "dpop");

        // A DPoP-bound user token at UserInfo, then revoked.
        let (code, verifier) = code_for(&server, "dpop", "carol", REDIRECT_URI).await;
        let proof = dpop_proof(&key, "POST", &server.url("/token"), Some(&nonce), None);
        let mut headers = basic("dpop", DPOP_SECRET);
        headers.insert("dpop", proof.parse().unwrap());
        let (status, _, tokens) = redeem_with(&server, &code, &verifier, headers).await;
        assert_eq!(status, 200, "{tokens}");
        let at = tokens["access_token"].as_str().unwrap();
        let proof = dpop_proof(&key, "GET", &server.url("/userinfo"), None, Some(at));
        let response = server
            .http()
            .get(server.url("/userinfo"))
            .header("authorization", format!("DPoP {at}"))
            .header("dpop", proof)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.json::<serde_json::Value>().await.unwrap()["sub"],
            "carol"
        );

        let (status, _, _) = server
            .post_form("/revoke", &[("token", at)], basic("dpop", DPOP_SECRET))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            introspect(&server, at).await,
            serde_json::json!({ "active": false })
        );
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let (status, _, _) = server
            .post_form("/revoke", &[("token", refresh)], basic("dpop", DPOP_SECRET))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            introspect_as(&server, refresh, Vec::new(), basic("dpop", DPOP_SECRET)).await["active"],
            false
        );
    }
}

#[tokio::test]
async fn secret_clients_and_scope_narrowing() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let (status, _, body) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                    ("scope", "system/Patient.rs"),
                    ("client_id", "post"),
                    ("client_secret", glassgate_tests::clients::POST_SECRET),
                ],
                HeaderMap::new(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        let (status, _, body) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("authorization_details", TREATMENT),
                    ("scope", "system/Observation.rs"),
                ],
                HeaderMap::new(),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let mut form = vec![
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("authorization_details".to_owned(), TREATMENT.to_owned()),
        ];
        form.push(("client_assertion_type".into(), JWT_BEARER.into()));
        form.push((
            "client_assertion".into(),
            client_assertion(&server, &server.keys.m2m, "m2m"),
        ));
        let (status, _, body) = post(&server, "/token", &form, HeaderMap::new()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["scope"], M2M_SCOPE,
            "no scope requested: the registered scope"
        );
        let (code, verifier) = code_for(&server, "basic", "dave", REDIRECT_URI).await;
        let (status, _, tokens) =
            redeem_with(&server, &code, &verifier, basic("basic", BASIC_SECRET)).await;
        assert_eq!(status, 200, "{tokens}");
        let (status, _, narrowed) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
                    ("scope", "openid"),
                ],
                basic("basic", BASIC_SECRET),
            )
            .await;
        assert_eq!(status, 200, "{narrowed}");
        assert_eq!(narrowed["scope"], "openid");
        // RS256 ID tokens for a client that registered them (OIDC Core §15.1).
        let (code, verifier) = code_for(&server, "rs256", "erin", REDIRECT_URI).await;
        let (status, _, tokens) = redeem_with(
            &server,
            &code,
            &verifier,
            basic("rs256", glassgate_tests::clients::RS256_SECRET),
        )
        .await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(
            header_of(tokens["id_token"].as_str().unwrap())["alg"],
            "RS256"
        );
    }
}

/// A remembered approval covers a later request only for the same client, scope, purpose of
/// use and patient context; anything else shows the consent page again (shipped server, real
/// passkey sign-in).
mod remembered_consent {
    use glassgate_tests::clients::REDIRECT_URI;
    use glassgate_tests::directory::{scenario_with_active, seed};
    use glassgate_tests::oauth::{purpose_details, pushed_authorization, query_param, redeem_as};
    use glassgate_tests::passkeys::{Person, csrf_of, invite};
    use glassgate_tests::{ServerOptions, TestServer, backends};

    /// Where a signed-in browser's `authorize` request first lands.
    enum Stop {
        /// Straight back to the client (a code, or an error), no page.
        Back(url::Url),
        /// The consent page (its path).
        Consent(String),
    }

    async fn first_stop(person: &mut Person, authorize: &str) -> Stop {
        let (status, location, _) = person.get(authorize).await;
        assert_eq!(status, 303);
        let location = location.unwrap();
        if location.starts_with("/interaction/") {
            return Stop::Consent(location);
        }
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        Stop::Back(url::Url::parse(&location).unwrap())
    }

    /// A pushed request by `par` for `purpose` (about `patient`, if given), with the same scope
    /// every time; the authorize path and the PKCE verifier.
    async fn ask(server: &TestServer, purpose: &str, patient: Option<&str>) -> (String, String) {
        let details = purpose_details(purpose, patient);
        pushed_authorization(
            server,
            "par",
            &[
                ("scope", "openid offline_access"),
                ("authorization_details", &details),
            ],
        )
        .await
    }

    /// The consent page is shown, says `says`, and approving it sends the browser back with a
    /// code.
    async fn approve(person: &mut Person, page: &str, says: &[&str]) -> String {
        let (status, _, consent) = person.get(page).await;
        assert_eq!(status, 200, "{consent}");
        for text in says {
            assert!(consent.contains(text), "{text} not in {consent}");
        }
        let csrf = csrf_of(&consent);
        let (status, location, _) = person
            .post_form(page, &[("csrf", &csrf), ("decision", "allow")])
            .await;
        assert_eq!(status, 303);
        let back = url::Url::parse(&location.unwrap()).unwrap();
        query_param(&back, "code").unwrap_or_else(|| panic!("no code: {back}"))
    }

    fn code_of(stop: Stop) -> String {
        match stop {
            Stop::Back(back) => query_param(&back, "code").unwrap_or_else(|| panic!("{back}")),
            Stop::Consent(page) => panic!("asked again ({page}) though approved"),
        }
    }

    fn consent_page(stop: Stop) -> String {
        match stop {
            Stop::Consent(page) => page,
            Stop::Back(back) => panic!("authorized without asking: {back}"),
        }
    }

    #[tokio::test]
    async fn a_remembered_consent_covers_only_its_purpose_and_patient_context() {
        const NPI: &str = "1234567893";
        for backend in backends() {
            let server = TestServer::start(&backend, ServerOptions::shipped()).await;
            seed(&server, &scenario_with_active(&[NPI])).await;
            let mut person = Person::new(&server);
            let link = invite(&server, NPI).await;
            let enrolled = person.enroll(&link, "Dr. Ada Lovelace").await;
            assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);

            // The person approves the client for treatment; the code is good.
            let (authorize, verifier) = ask(&server, "T-TREAT", None).await;
            let page = consent_page(first_stop(&mut person, &authorize).await);
            let code = approve(&mut person, &page, &["Treatment", "T-TREAT"]).await;
            redeem_as(&server, "par", &code, &verifier).await;
            // The same scope for the same purpose: no page.
            let (authorize, verifier) = ask(&server, "T-TREAT", None).await;
            let code = code_of(first_stop(&mut person, &authorize).await);
            redeem_as(&server, "par", &code, &verifier).await;

            // Another purpose is asked again, in plain words; no code until approved, and
            // prompt=none cannot skip it.
            let details = purpose_details("T-PYMNT", None);
            let (authorize, _) = pushed_authorization(
                &server,
                "par",
                &[
                    ("scope", "openid offline_access"),
                    ("authorization_details", &details),
                    ("prompt", "none"),
                ],
            )
            .await;
            let Stop::Back(back) = first_stop(&mut person, &authorize).await else {
                panic!("prompt=none showed a page");
            };
            assert_eq!(
                query_param(&back, "error").as_deref(),
                Some("consent_required"),
                "{back}"
            );
            let (authorize, _) = ask(&server, "T-PYMNT", None).await;
            let page = consent_page(first_stop(&mut person, &authorize).await);
            approve(&mut person, &page, &["Payment", "T-PYMNT"]).await;
            // Both approvals are remembered, each for its own purpose.
            for purpose in ["T-PYMNT", "T-TREAT"] {
                let (authorize, _) = ask(&server, purpose, None).await;
                code_of(first_stop(&mut person, &authorize).await);
            }

            // A request about a patient is asked again, and so is one about another patient.
            let (authorize, verifier) = ask(&server, "T-TREAT", Some("p-1")).await;
            let page = consent_page(first_stop(&mut person, &authorize).await);
            let code = approve(&mut person, &page, &["Treatment", "p-1"]).await;
            let tokens = redeem_as(&server, "par", &code, &verifier).await;
            assert_eq!(tokens["patient"], "p-1", "{tokens}");
            let (authorize, _) = ask(&server, "T-TREAT", Some("p-1")).await;
            code_of(first_stop(&mut person, &authorize).await);
            let (authorize, _) = ask(&server, "T-TREAT", Some("p-2")).await;
            consent_page(first_stop(&mut person, &authorize).await);
            // Nor does the treatment approval about p-1 cover payment about p-1.
            let (authorize, _) = ask(&server, "T-PYMNT", Some("p-1")).await;
            consent_page(first_stop(&mut person, &authorize).await);
        }
    }
}
