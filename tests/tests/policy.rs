//! Policy at the endpoints: the Cedar decision grants, narrows or refuses at authorize and
//! token time, answers an assurance shortfall with an RFC 9470 step-up challenge, and every
//! decision's id is in the log entry of what it allowed or refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use glassgate_tests::clients::{BASIC_SECRET, PAYER_SECRET, REDIRECT_URI, VENDOR_SECRET};
use glassgate_tests::jwt::{claims_of, pkce_pair};
use glassgate_tests::oauth::{authorize, basic, query_param, redeem_web};
use glassgate_tests::tlog::audit;
use glassgate_tests::{ServerOptions, TestServer, backends};
use serde_json::{Value, json};
use url::Url;

const PATIENT_DATA: &str = "openid launch/patient patient/*.rs";

fn purpose(code: &str) -> String {
    json!([{ "type": "purpose_of_use", "purpose_of_use": {
        "system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": code } }])
    .to_string()
}

/// The `web` client asks for `scope` for `purpose`; the test authenticator signs in the
/// person the hint names (`subject;ial2;aal1`). Returns the redirect back and the verifier.
async fn authorize_as(server: &TestServer, hint: &str, scope: &str, xp: &str) -> (Url, String) {
    let (verifier, challenge) = pkce_pair();
    let details = purpose(xp);
    let (status, location) = authorize(
        server,
        &[
            ("client_id", "web"),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT_URI),
            ("scope", scope),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", hint),
            ("state", "st"),
            ("authorization_details", &details),
        ],
    )
    .await;
    assert_eq!(status, 303, "authorization must redirect");
    (location.unwrap(), verifier)
}

async fn backend_token(
    server: &TestServer,
    client: (&str, &str),
    xp: &str,
    scope: &str,
) -> (u16, Value) {
    client_credentials(server, client, &purpose(xp), scope).await
}

/// A `client_credentials` request with these `authorization_details`.
async fn client_credentials(
    server: &TestServer,
    client: (&str, &str),
    details: &str,
    scope: &str,
) -> (u16, Value) {
    let (status, _, body) = server
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("authorization_details", details),
                ("scope", scope),
            ],
            basic(client.0, client.1),
        )
        .await;
    (status, body)
}

fn error_of(back: &Url) -> (Option<String>, Option<String>) {
    (
        query_param(back, "error"),
        query_param(back, "error_description"),
    )
}

#[tokio::test]
async fn policy_grants_narrows_refuses_and_steps_up() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;

        // Individual access: a patient proofed at IAL2, signed in at AAL2, reads their own
        // record; the launch patient is the patient themselves.
        let (back, verifier) = authorize_as(&server, "pat-1;ial2", PATIENT_DATA, "T-IAS").await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
        let (status, _, tokens) = redeem_web(&server, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["scope"], PATIENT_DATA);
        let claims = claims_of(tokens["access_token"].as_str().unwrap());
        assert_eq!(claims["purpose_of_use"][0]["code"], "T-IAS", "{claims}");

        // The same patient at AAL1: a step-up challenge naming what to come back with.
        let (back, _) = authorize_as(&server, "pat-1;ial2;aal1", PATIENT_DATA, "T-IAS").await;
        assert_eq!(
            error_of(&back).0.as_deref(),
            Some("insufficient_user_authentication"),
            "{back}"
        );
        assert_eq!(query_param(&back, "acr_values").as_deref(), Some("phr"));
        assert_eq!(query_param(&back, "max_age").as_deref(), Some("300"));
        assert_eq!(query_param(&back, "state").as_deref(), Some("st"));

        // Not proofed: refused outright (signing in again does not raise identity assurance).
        let (back, _) = authorize_as(&server, "pat-2", PATIENT_DATA, "T-IAS").await;
        let (error, description) = error_of(&back);
        assert_eq!(error.as_deref(), Some("access_denied"), "{back}");
        assert!(description.unwrap().contains("not_permitted"));
        assert_eq!(query_param(&back, "acr_values"), None);

        // A patient asking under a clinician's purpose gets nothing either.
        let (back, _) = authorize_as(&server, "pat-1;ial2", PATIENT_DATA, "T-TREAT").await;
        assert_eq!(error_of(&back).0.as_deref(), Some("access_denied"));

        // Sign-in scopes alone need no data policy.
        let (back, _) = authorize_as(&server, "pat-2", "openid", "T-IAS").await;
        assert!(query_param(&back, "code").is_some(), "{back}");

        // A payer's backend: narrowed to the quality-measure data elements, never `*`.
        let (status, body) = backend_token(
            &server,
            ("payer", PAYER_SECRET),
            "T-PYMNT",
            "system/Observation.rs",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["scope"],
            "system/Observation.rs?code=http://loinc.org|39156-5 \
             system/Observation.rs?code=http://loinc.org|44261-6 \
             system/Observation.rs?code=http://loinc.org|4548-4 \
             system/Observation.rs?code=http://loinc.org|55758-7 \
             system/Observation.rs?code=http://loinc.org|85354-9"
        );
        let (status, body) = backend_token(
            &server,
            ("payer", PAYER_SECRET),
            "T-PYMNT",
            "system/Condition.rs",
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("access_denied")),
            "{body}"
        );

        // A provider's backend for treatment: system reads; writes narrowed away.
        let (status, body) = backend_token(
            &server,
            ("basic", BASIC_SECRET),
            "T-TREAT",
            "system/Observation.cruds",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "system/Observation.rs");
        // ... but not for payment.
        let (status, body) =
            backend_token(&server, ("basic", BASIC_SECRET), "T-PYMNT", "system/*.rs").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("access_denied")),
            "{body}"
        );

        // Every decision is in the log: what it allowed and what it refused.
        let (_, entries) = audit(&server).await;
        let decided = |event: &str, refusal: Option<&str>| {
            entries
                .iter()
                .filter(|e| e.event == event && e.refusal.as_deref() == refusal)
                .collect::<Vec<_>>()
        };
        for entry in decided("token.issued", None)
            .into_iter()
            .chain(decided("authorization.granted", None))
        {
            let id = entry
                .decision
                .as_deref()
                .unwrap_or_else(|| panic!("{entry:?}"));
            assert_eq!(id.len(), 32, "{entry:?}");
            assert!(entry.org.is_some(), "{entry:?}");
        }
        let step_ups = decided(
            "authorization.refused",
            Some("insufficient_user_authentication"),
        );
        assert_eq!(step_ups.len(), 1);
        assert!(step_ups[0].decision.is_some());
        let refused = decided("token.refused", Some("access_denied"));
        assert_eq!(refused.len(), 2);
        assert!(
            refused
                .iter()
                .all(|e| e.decision.is_some() && e.org.is_some())
        );
        assert!(
            refused
                .iter()
                .any(|e| e.org.as_deref() == Some("org-payer"))
        );

        // The operators' view (Prometheus): counts by purpose and refusal class, latency,
        // the log's size; no person in any label.
        let metrics = server.metrics().await;
        for line in [
            r#"glassgate_tokens_issued_total{grant_type="authorization_code",purpose="T-IAS"} 1"#,
            r#"glassgate_tokens_issued_total{grant_type="client_credentials",purpose="T-PYMNT"} 1"#,
            r#"glassgate_requests_refused_total{endpoint="token",error="access_denied",purpose="T-PYMNT"} 2"#,
            r#"glassgate_requests_refused_total{endpoint="authorize",error="insufficient_user_authentication",purpose="T-IAS"} 1"#,
            r#"glassgate_policy_decisions_total{outcome="step_up",stage="authorize"} 1"#,
            "glassgate_token_request_duration_seconds_bucket",
            "glassgate_policy_decision_duration_seconds_bucket",
            "glassgate_log_integration_delay_seconds_bucket",
        ] {
            assert!(metrics.contains(line), "{line} is not in\n{metrics}");
        }
        assert!(!metrics.contains("glassgate_log_size 0"), "{metrics}");
        assert!(!metrics.contains("pat-1") && !metrics.contains("pat-2"));
    }
}

#[tokio::test]
async fn policy_is_asked_again_at_refresh() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let (back, verifier) = authorize_as(
            &server,
            "pat-3;ial2",
            "openid offline_access launch/patient patient/*.rs",
            "T-IAS",
        )
        .await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
        let (status, _, tokens) = redeem_web(&server, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        // The subject has no account here, so at refresh (no session) their assurance is
        // IAL1: the data scopes are refused, the sign-in scopes alone still refresh.
        let refresh = |scope: &'static str, token: String| {
            let server = &server;
            async move {
                let mut form = glassgate_tests::oauth::web_auth(server);
                form.extend([
                    ("grant_type".to_owned(), "refresh_token".to_owned()),
                    ("refresh_token".to_owned(), token),
                    ("scope".to_owned(), scope.to_owned()),
                ]);
                let (status, _, body) =
                    glassgate_tests::oauth::post(server, "/token", &form, Default::default()).await;
                (status, body)
            }
        };
        let token = tokens["refresh_token"].as_str().unwrap().to_owned();
        let (status, body) = refresh("patient/*.rs", token.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("access_denied")),
            "{body}"
        );
        let (status, body) = refresh("openid", token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "openid");
    }
}

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn exchange(
    server: &TestServer,
    client: &str,
    subject_token: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject_token),
        ("subject_token_type", ACCESS_TOKEN),
    ];
    form.extend_from_slice(extra);
    let (status, _, body) = server
        .post_form("/token", &form, basic(client, VENDOR_SECRET))
        .await;
    (status, body)
}

#[tokio::test]
async fn a_vendor_exchanges_a_providers_token_under_a_baa() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let (status, provider) = backend_token(
            &server,
            ("basic", BASIC_SECRET),
            "T-TREAT",
            "system/Patient.rs system/Observation.rs",
        )
        .await;
        assert_eq!(status, 200, "{provider}");
        let subject_token = provider["access_token"].as_str().unwrap();

        // Same purpose, narrower scope: a token of the vendor's own, naming it as the actor.
        let (status, body) = exchange(
            &server,
            "vendor",
            subject_token,
            &[("scope", "system/Patient.rs")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["issued_token_type"], ACCESS_TOKEN);
        assert_eq!(body["scope"], "system/Patient.rs");
        assert!(body.get("refresh_token").is_none());
        let claims = claims_of(body["access_token"].as_str().unwrap());
        assert_eq!(claims["act"], json!({ "sub": "vendor" }), "{claims}");
        assert_eq!(claims["client_id"], "vendor");
        assert_eq!(claims["sub"], "basic", "the subject stays the provider's");
        assert_eq!(claims["purpose_of_use"][0]["code"], "T-TREAT");
        let subject_exp = claims_of(subject_token)["exp"].as_i64().unwrap();
        assert!(claims["exp"].as_i64().unwrap() <= subject_exp);

        // Wider than the subject token: narrowed to it, never more; outside it entirely, or
        // for another purpose: invalid_grant.
        let (status, body) = exchange(
            &server,
            "vendor",
            subject_token,
            &[("scope", "system/*.rs")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "system/Observation.rs system/Patient.rs");
        let (status, body) = exchange(
            &server,
            "vendor",
            subject_token,
            &[("scope", "system/Condition.rs")],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("wider_than_prior_grant")
        );
        let payment = purpose("T-PYMNT");
        let (status, body) = exchange(
            &server,
            "vendor",
            subject_token,
            &[("authorization_details", &payment)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("purpose_changed")
        );
        // A vendor without an agreement with the provider: nothing.
        let (status, body) = exchange(&server, "stranger", subject_token, &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("access_denied")),
            "{body}"
        );
        // Not a token of ours; the wrong token type; a client that may not exchange.
        let (status, body) = exchange(&server, "vendor", "not-a-token", &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
        let (status, _, body) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", TOKEN_EXCHANGE),
                    ("subject_token", subject_token),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:id_token",
                    ),
                ],
                basic("vendor", VENDOR_SECRET),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
        let (status, _, body) = server
            .post_form(
                "/token",
                &[
                    ("grant_type", TOKEN_EXCHANGE),
                    ("subject_token", subject_token),
                    ("subject_token_type", ACCESS_TOKEN),
                ],
                basic("basic", BASIC_SECRET),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unauthorized_client")),
            "{body}"
        );

        // In the log: the exchange, by the vendor, with its decision.
        let (_, entries) = audit(&server).await;
        let exchanged: Vec<_> = entries
            .iter()
            .filter(|e| e.event == "token.issued" && e.client == "vendor")
            .collect();
        assert_eq!(exchanged.len(), 2);
        assert_eq!(exchanged[0].org.as_deref(), Some("org-vendor"));
        assert!(exchanged[0].decision.is_some());
    }
}

/// A payer's backend asks about one patient (`patient_context`) for payment.
async fn payer_token_about(
    server: &TestServer,
    patient: Option<&str>,
    scope: &str,
) -> (u16, Value) {
    let mut details = vec![json!({ "type": "purpose_of_use", "purpose_of_use": {
        "system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-PYMNT" } })];
    if let Some(p) = patient {
        details.push(json!({ "type": "patient_context", "patient": p }));
    }
    let details = Value::Array(details).to_string();
    client_credentials(server, ("payer", PAYER_SECRET), &details, scope).await
}

#[tokio::test]
async fn a_payer_sees_the_encounters_of_its_recent_claims_about_the_named_patient() {
    use glassgate_mdl::time::{Duration, OffsetDateTime};
    let today = OffsetDateTime::now_utc().date();
    let recent = today - Duration::days(10);
    let old = today - Duration::days(90);
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let claims = server.scratch().join("claims.csv");
        std::fs::write(
            &claims,
            format!(
                "payer,claim_id,patient,encounter,claim_date\n\
                 org-payer,c-1,pat-9,enc-recent,{recent}\n\
                 org-payer,c-2,pat-9,enc-old,{old}\n\
                 org-payer,c-3,pat-8,enc-someone-else,{recent}\n\
                 org-other-payer,c-4,pat-9,enc-not-ours,{recent}\n"
            ),
        )
        .unwrap();
        // A defective file is refused whole: nothing of it is imported.
        let bad = server.scratch().join("bad.csv");
        std::fs::write(
            &bad,
            format!(
                "payer,claim_id,patient,encounter,claim_date\n\
                 org-payer,c-9,pat-9,enc-bad,{recent}\n\
                 org-payer,c-10,pat-9,enc-bad-2,last tuesday\n"
            ),
        )
        .unwrap();
        assert!(
            !server
                .command(&["admin", "import-claims", bad.to_str().unwrap()])
                .await
                .success()
        );
        assert!(
            server
                .command(&["admin", "import-claims", claims.to_str().unwrap()])
                .await
                .success()
        );

        // The encounter of the recent claim only; never the old one, another patient's or
        // another payer's.
        let (status, tokens) =
            payer_token_about(&server, Some("pat-9"), "system/Encounter.rs").await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(
            tokens["scope"], "system/Encounter.rs?_id=enc-recent",
            "{tokens}"
        );
        assert_eq!(tokens["patient"], "pat-9");
        // Without a patient, or about a patient with no claim of ours: nothing.
        let (status, refused) = payer_token_about(&server, None, "system/Encounter.rs").await;
        assert_eq!(
            (status, refused["error"].as_str()),
            (403, Some("access_denied"))
        );
        let (status, _) = payer_token_about(&server, Some("pat-7"), "system/Encounter.rs").await;
        assert_eq!(status, 403);
        // Quality measures stay available alongside.
        let (status, tokens) = payer_token_about(
            &server,
            Some("pat-9"),
            "system/Encounter.rs system/Observation.rs",
        )
        .await;
        assert_eq!(status, 200, "{tokens}");
        let scope = tokens["scope"].as_str().unwrap();
        assert!(
            scope.contains("system/Encounter.rs?_id=enc-recent"),
            "{scope}"
        );
        assert!(
            !scope.contains("enc-old") && !scope.contains("enc-bad"),
            "{scope}"
        );
        assert!(scope.contains("system/Observation.rs?code="), "{scope}");

        // The import is an administrative entry of the log; the decision names the policy.
        let (_, entries) = audit(&server).await;
        assert_eq!(
            entries.iter().filter(|e| e.event == "admin.claims").count(),
            1,
            "only the good file was imported"
        );
    }
}

#[tokio::test]
async fn a_clinician_at_aal1_is_challenged_and_a_deactivated_one_refused() {
    use glassgate_directory::fixtures::Scenario;
    use glassgate_tests::directory::seed;
    const TREATMENT: &str = "openid fhirUser user/*.rs";
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;
        let scenario = Scenario::standard();
        seed(&server, &scenario).await;
        // Two clinician accounts, proofed at IAL2: one active in the directory, one on the
        // Deactivated NPI Report (as enrollment and proofing would have left them).
        let active = &scenario.active[0];
        let deactivated = &scenario.deactivated_in_report[0];
        for (subject, npi) in [("clin-active", active), ("clin-deactivated", deactivated)] {
            let insert = format!(
                "INSERT INTO accounts (subject, kind, display_name, identity_assurance, npi, \
                 created_at, updated_at) VALUES ('{subject}', 'clinician', 'Dr. Test', 'ial2', \
                 '{npi}', 0, 0)"
            );
            let insert: &'static str = Box::leak(insert.into_boxed_str());
            assert_eq!(server.execute_sql(insert, insert).await, 1);
        }

        // Active, AAL2: a treatment token.
        let (back, verifier) =
            authorize_as(&server, "clin-active;ial2", TREATMENT, "T-TREAT").await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
        let (status, _, tokens) = redeem_web(&server, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["scope"], TREATMENT);
        // The same clinician at AAL1: refused with a step-up challenge.
        let (back, _) = authorize_as(&server, "clin-active;ial2;aal1", TREATMENT, "T-TREAT").await;
        assert_eq!(
            error_of(&back).0.as_deref(),
            Some("insufficient_user_authentication"),
            "{back}"
        );
        assert_eq!(query_param(&back, "acr_values").as_deref(), Some("phr"));
        assert_eq!(query_param(&back, "max_age").as_deref(), Some("300"));
        // Deactivated: refused, no challenge (a stronger sign-in would not help).
        let (back, _) = authorize_as(&server, "clin-deactivated;ial2", TREATMENT, "T-TREAT").await;
        let (error, description) = error_of(&back);
        assert_eq!(error.as_deref(), Some("access_denied"), "{back}");
        assert!(
            description
                .unwrap()
                .contains("clinician_not_active (deactivated)"),
            "{back}"
        );
        assert!(query_param(&back, "acr_values").is_none());
    }
}
