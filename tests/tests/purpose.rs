//! Purpose of use: every authorization and token request names exactly one (RFC 9396
//! `authorization_details` of type `purpose_of_use`, TEFCA XP or HL7 PurposeOfUse); the token
//! carries it in both code systems, introspection returns it, the log entry publishes it, and
//! a refresh cannot switch to another purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use glassgate_tests::clients::{BASIC_SECRET, REDIRECT_URI};
use glassgate_tests::jwt::{claims_of, pkce_pair};
use glassgate_tests::oauth::{
    authorize, basic, code_for, introspect, introspect_as, post, query_param, web_auth,
};
use glassgate_tests::tlog::audit;
use glassgate_tests::{ServerOptions, TestServer, backends};
use serde_json::{Value, json};

const XP: &str = "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1";
const HL7: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

fn details(system: &str, code: &str) -> String {
    json!([{ "type": "purpose_of_use", "purpose_of_use": { "system": system, "code": code } }])
        .to_string()
}

async fn client_credentials(server: &TestServer, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("scope", "system/Patient.rs"),
    ];
    form.extend_from_slice(extra);
    let (status, _, body) = server
        .post_form("/token", &form, basic("basic", BASIC_SECRET))
        .await;
    (status, body)
}

#[tokio::test]
async fn every_request_names_one_known_purpose() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::default()).await;

        // Token endpoint: absent, unknown, malformed, two purposes.
        let (status, body) = client_credentials(&server, &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("purpose of use is required")
        );
        for (bad, why) in [
            (details(XP, "T-NOPE"), "unknown purpose of use code"),
            (details("urn:example:other", "TREAT"), "unknown purpose of use code system"),
            (details(HL7, "HRESCH"), "has no TEFCA exchange purpose"),
            ("not json".to_owned(), "not JSON"),
            (
                json!([
                    { "type": "purpose_of_use", "purpose_of_use": { "system": XP, "code": "T-TREAT" } },
                    { "type": "purpose_of_use", "purpose_of_use": { "system": XP, "code": "T-PYMNT" } }
                ])
                .to_string(),
                "",
            ),
        ] {
            let (status, body) =
                client_credentials(&server, &[("authorization_details", &bad)]).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert_eq!(body["error"], "invalid_authorization_details", "{bad}: {body}");
            assert!(body["error_description"].as_str().unwrap().contains(why), "{body}");
        }

        // An HL7 code is accepted and carried in both forms, attested form first.
        let hl7 = details(HL7, "TREAT");
        let (status, tokens) =
            client_credentials(&server, &[("authorization_details", &hl7)]).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["authorization_details"][0]["type"], "purpose_of_use");
        assert_eq!(
            tokens["authorization_details"][0]["purpose_of_use"]["code"],
            "TREAT"
        );
        let claims = claims_of(tokens["access_token"].as_str().unwrap());
        let purpose = claims["purpose_of_use"].as_array().unwrap();
        assert_eq!(
            (purpose[0]["system"].as_str(), purpose[0]["code"].as_str()),
            (Some(HL7), Some("TREAT"))
        );
        assert_eq!(
            (purpose[1]["system"].as_str(), purpose[1]["code"].as_str()),
            (Some(XP), Some("T-TREAT"))
        );
        let introspected = introspect(&server, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(introspected["active"], true);
        assert_eq!(introspected["purpose_of_use"], claims["purpose_of_use"]);
        assert_eq!(
            introspected["authorization_details"],
            tokens["authorization_details"]
        );

        // Authorization endpoint: a request without a purpose goes back to the client.
        let (_, challenge) = pkce_pair();
        let (status, location) = authorize(
            &server,
            &[
                ("client_id", "web"),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT_URI),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("login_hint", "alice"),
                ("state", "s"),
            ],
        )
        .await;
        assert_eq!(status, 303);
        let location = location.unwrap();
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("invalid_request")
        );
        assert!(query_param(&location, "code").is_none());

        // A code is redeemed for the purpose it was authorized for: the token request may
        // repeat it (RFC 9396 §6.1), not name another.
        let redeem = |code: String, verifier: String, details: String| {
            let mut form = web_auth(&server);
            form.extend([
                ("grant_type".to_owned(), "authorization_code".to_owned()),
                ("code".to_owned(), code),
                ("redirect_uri".to_owned(), REDIRECT_URI.to_owned()),
                ("code_verifier".to_owned(), verifier),
                ("authorization_details".to_owned(), details),
            ]);
            form
        };
        let (code, verifier) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        let form = redeem(code, verifier, details(XP, "T-PYMNT"));
        let (status, _, body) = post(&server, "/token", &form, Default::default()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_authorization_details");
        assert!(body.get("access_token").is_none());

        // The code flow's tokens serve the authorized purpose; a refresh keeps it and cannot
        // switch to another purpose, nor name a patient the grant is not about.
        let (code, verifier) = code_for(&server, "web", "alice", REDIRECT_URI).await;
        let form = redeem(code, verifier, details(XP, "T-TREAT"));
        let (status, _, tokens) = post(&server, "/token", &form, Default::default()).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(
            tokens["authorization_details"][0]["purpose_of_use"]["code"],
            "T-TREAT"
        );
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        let introspected =
            introspect_as(&server, &refresh, web_auth(&server), Default::default()).await;
        assert_eq!(introspected["purpose_of_use"][0]["code"], "T-TREAT");
        let payment = details(XP, "T-PYMNT");
        let mut form = web_auth(&server);
        form.extend([
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), refresh.clone()),
            ("authorization_details".to_owned(), payment),
        ]);
        let (status, _, body) = post(&server, "/token", &form, Default::default()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_authorization_details");
        let with_patient = json!([
            { "type": "purpose_of_use", "purpose_of_use": { "system": XP, "code": "T-TREAT" } },
            { "type": "patient_context", "patient": "p-1" }
        ])
        .to_string();
        let mut form = web_auth(&server);
        form.extend([
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), refresh.clone()),
            ("authorization_details".to_owned(), with_patient),
        ]);
        let (status, _, body) = post(&server, "/token", &form, Default::default()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_authorization_details");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("patient context"),
            "{body}"
        );
        let mut form = web_auth(&server);
        form.extend([
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), refresh),
        ]);
        let (status, _, refreshed) = post(&server, "/token", &form, Default::default()).await;
        assert_eq!(status, 200, "{refreshed}");
        let claims = claims_of(refreshed["access_token"].as_str().unwrap());
        assert_eq!(claims["purpose_of_use"][0]["code"], "T-TREAT");

        // Every issuance entry publishes its exchange purpose; refusals name their class.
        let (_, entries) = audit(&server).await;
        let issued: Vec<_> = entries
            .iter()
            .filter(|e| e.event == "token.issued")
            .collect();
        assert_eq!(issued.len(), 3, "{issued:?}");
        assert!(
            issued
                .iter()
                .all(|e| e.purpose.as_deref() == Some("T-TREAT")),
            "{issued:?}"
        );
        assert!(entries.iter().any(|e| e.event == "token.refused"
            && e.refusal.as_deref() == Some("invalid_authorization_details")));
    }
}
