//! Patient privacy end to end against the shipped server: a patient proofed with an mDL sets
//! consent restrictions on their privacy page, and the next decision honours them (a
//! restricted organisation's treatment request is refused, another organisation's gets a
//! token naming the consent, a restricted data category is excluded from the scope; adding a
//! restriction ends the tokens decided before it, lifting one ends none); the patient's
//! accounting of disclosures lists every request about them — clinicians',
//! payers', a delegated vendor's — each with a proof the verifier CLI accepts; an auditor
//! exports the same entries as FHIR AuditEvent resources, and that export is logged too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_mdl::wallet::KeyAlg;
use glassgate_tests::clients::{AUDITOR_SECRET, BASIC_SECRET, PAYER_SECRET, VENDOR_SECRET};
use glassgate_tests::directory::{scenario_with_active, seed};
use glassgate_tests::harness::workspace_binary;
use glassgate_tests::jwt::claims_of;
use glassgate_tests::mdl::{Dmv, ProofingFiles};
use glassgate_tests::oauth::{basic, introspect, pushed_authorization, query_param, redeem_as};
use glassgate_tests::passkeys::{Person, csrf_of};
use glassgate_tests::tlog::audit;
use glassgate_tests::{TestServer, backends};
use serde_json::{Value, json};

const CLINICIAN_NPI: &str = "1234567893";
const TREATMENT_SCOPE: &str = "openid fhirUser user/*.rs";

/// Our `authorization_details`: the purpose, and the patient the request is about.
fn details(purpose: &str, patient: Option<&str>) -> String {
    let mut entries = vec![json!({ "type": "purpose_of_use", "purpose_of_use": {
        "system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": purpose } })];
    if let Some(patient) = patient {
        entries.push(json!({ "type": "patient_context", "patient": patient }));
    }
    Value::Array(entries).to_string()
}

/// A clinician's treatment request about `patient` through `client`: the redirect back.
async fn treatment_request(
    server: &TestServer,
    clinician: &mut Person,
    client: &str,
    patient: &str,
) -> (url::Url, String) {
    let details = details("T-TREAT", Some(patient));
    let (authorize, verifier) = pushed_authorization(
        server,
        client,
        &[
            ("scope", TREATMENT_SCOPE),
            ("authorization_details", &details),
        ],
    )
    .await;
    (clinician.sign_in_for_redirect(&authorize).await, verifier)
}

/// A patient app asks for the patient's own records (T-IAS), naming `patient` if given.
async fn own_records_request(server: &TestServer, patient: Option<&str>) -> (String, String) {
    let details = details("T-IAS", patient);
    pushed_authorization(
        server,
        "par",
        &[
            ("scope", "openid launch/patient patient/*.rs"),
            ("authorization_details", &details),
        ],
    )
    .await
}

/// Add or remove one restriction on the privacy page, as the form does.
async fn restrict(patient: &mut Person, action: &str, kind: &str, value: &str) -> String {
    let (status, _, page) = patient.get("/account/privacy").await;
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page);
    let (status, location, body) = patient
        .post_form(
            "/account/privacy",
            &[
                ("csrf", &csrf),
                ("action", action),
                ("kind", kind),
                ("value", value),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(location.as_deref(), Some("/account/privacy"));
    let (_, _, page) = patient.get("/account/privacy").await;
    page
}

/// The consent reference the privacy page shows.
fn shown_reference(page: &str) -> String {
    let start = page.find("id=\"consent-reference\">").unwrap() + 23;
    page[start..].split('<').next().unwrap().to_owned()
}

async fn client_credentials(
    server: &TestServer,
    client: &str,
    secret: &str,
    scope: &str,
    purpose: &str,
    patient: Option<&str>,
) -> (u16, Value) {
    let details = details(purpose, patient);
    let (status, _, body) = server
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("scope", scope),
                ("authorization_details", &details),
            ],
            basic(client, secret),
        )
        .await;
    (status, body)
}

/// The BAA vendor exchanges a provider's token for `user/Observation.rs` (RFC 8693).
async fn vendor_exchange(server: &TestServer, subject_token: &str) -> (u16, Value) {
    let (status, _, body) = server
        .post_form(
            "/token",
            &[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", subject_token),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
                ("scope", "user/Observation.rs"),
            ],
            basic("vendor", VENDOR_SECRET),
        )
        .await;
    (status, body)
}

/// The disclosures download, once every entry in it is integrated (has its proof).
async fn integrated_disclosures(patient: &mut Person, at_least: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = patient.get("/account/disclosures.json").await;
        assert_eq!(status, 200, "{body}");
        let download: Value = serde_json::from_str(&body).unwrap();
        let entries = download["entries"].as_array().unwrap();
        if entries.len() >= at_least && entries.iter().all(|e| e["proof"].is_string()) {
            return download;
        }
        assert!(Instant::now() < deadline, "not integrated: {download}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn consent_restrictions_are_honoured_and_every_disclosure_is_accounted_for() {
    let dmv = Dmv::new(KeyAlg::P256);
    for backend in backends() {
        let files = ProofingFiles::new(&dmv);
        let server = TestServer::start(&backend, files.server_options()).await;
        let scenario = scenario_with_active(&[CLINICIAN_NPI]);
        seed(&server, &scenario).await;

        // A patient proves their identity with their licence and enrolls a passkey (IAL2,
        // AAL2); individual access makes them the launch patient of their own token.
        let mut patient = Person::new(&server);
        let enrolled = patient
            .prove_and_enroll(&dmv.licence("Jane", "D1234567"), None)
            .await;
        assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);
        let (authorize, verifier) = own_records_request(&server, None).await;
        let code = patient.sign_in_for_code(&authorize).await;
        let tokens = redeem_as(&server, "par", &code, &verifier).await;
        let me = tokens["patient"].as_str().unwrap().to_owned();
        let own_token = tokens["access_token"].as_str().unwrap().to_owned();
        let claims = claims_of(&own_token);
        assert_eq!(claims["patient"], me.as_str(), "{claims}");
        assert_eq!(claims["sub"], me.as_str());
        assert!(claims.get("consent_reference").is_none(), "no consent yet");
        // A patient cannot name someone else.
        let (authorize, _) = own_records_request(&server, Some("someone-else")).await;
        let back = patient.sign_in_for_redirect(&authorize).await;
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some("invalid_authorization_details"),
            "{back}"
        );

        // A clinician active in the directory, proofed at IAL2.
        let mut clinician = Person::new(&server);
        let link = glassgate_tests::passkeys::invite(&server, CLINICIAN_NPI).await;
        assert_eq!(
            clinician.enroll(&link, "Dr. Grace Hopper").await.status,
            200
        );
        // Linking needs an origin-bound channel: the Digital Credentials API.
        let proof = clinician
            .prove_with_dc_api(
                &dmv.licence("Grace", "CL-1"),
                &glassgate_tests::mdl::origin_of(&server),
            )
            .await;
        let linked = clinician
            .post_json(
                "/account/identity",
                &json!({ "identity_proof": proof.ticket() }),
            )
            .await;
        assert_eq!(linked.status, 200, "{:?}", linked.body);

        // A colleague whose NPI is on the Deactivated NPI Report asks about the patient:
        // refused, and the refusal is about the patient too.
        let mut deactivated = Person::new(&server);
        let link =
            glassgate_tests::passkeys::invite(&server, &scenario.deactivated_in_report[0]).await;
        assert_eq!(deactivated.enroll(&link, "Dr. Former").await.status, 200);
        let (back, _) = treatment_request(&server, &mut deactivated, "par", &me).await;
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some("access_denied")
        );
        assert!(
            query_param(&back, "error_description")
                .unwrap()
                .contains("clinician_not_active (deactivated)"),
            "{back}"
        );

        // Before any restriction: a treatment token about the patient names them.
        let (back, verifier) = treatment_request(&server, &mut clinician, "par", &me).await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
        let tokens = redeem_as(&server, "par", &code, &verifier).await;
        assert_eq!(tokens["patient"], me.as_str(), "{tokens}");
        assert_eq!(tokens["scope"], TREATMENT_SCOPE);
        let provider_token = tokens["access_token"].as_str().unwrap().to_owned();

        // The patient restricts the provider organisation: honoured at once.
        let page = restrict(&mut patient, "add", "recipient", "org-rp").await;
        assert!(
            page.contains("No sharing with the organisation org-rp"),
            "{page}"
        );
        let first_reference = shown_reference(&page);
        // Adding a restriction ends the tokens about the patient decided before it, whoever
        // holds them: the provider's and the patient's own app's.
        for earlier in [&provider_token, &own_token] {
            assert_eq!(introspect(&server, earlier).await["active"], false);
        }
        let (back, _) = treatment_request(&server, &mut clinician, "par", &me).await;
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some("access_denied")
        );
        assert!(
            query_param(&back, "error_description")
                .unwrap()
                .contains("consent_restriction"),
            "{back}"
        );
        // The restricted organisation's vendor cannot exchange its way around it either.
        let (status, refused) = vendor_exchange(&server, &provider_token).await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(refused["error"], "invalid_grant", "{refused}");
        assert!(
            refused["error_description"]
                .as_str()
                .unwrap()
                .contains("consent"),
            "{refused}"
        );

        // Another organisation's clinic still gets the token, naming the consent honoured.
        let (back, verifier) = treatment_request(&server, &mut clinician, "clinic", &me).await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
        let tokens = redeem_as(&server, "clinic", &code, &verifier).await;
        let claims = claims_of(tokens["access_token"].as_str().unwrap());
        assert_eq!(
            claims["consent_reference"],
            first_reference.as_str(),
            "{claims}"
        );
        assert_eq!(claims["patient"], me.as_str());
        let clinic_token = tokens["access_token"].as_str().unwrap().to_owned();
        let described = introspect(&server, &clinic_token).await;
        assert_eq!(described["active"], true, "{described}");
        assert_eq!(described["consent_reference"], first_reference.as_str());
        assert_eq!(described["patient"], me.as_str());

        // A restricted data category is excluded from the scope rather than refused.
        let page = restrict(&mut patient, "add", "category", "42CFRPart2").await;
        let second_reference = shown_reference(&page);
        assert_ne!(first_reference, second_reference);
        let (back, verifier) = treatment_request(&server, &mut clinician, "clinic", &me).await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
        let tokens = redeem_as(&server, "clinic", &code, &verifier).await;
        let scope = tokens["scope"].as_str().unwrap();
        assert!(
            scope.contains("_security:not=") && scope.contains("42CFRPart2"),
            "{scope}"
        );
        let narrowed_token = tokens["access_token"].as_str().unwrap().to_owned();
        // The clinic's earlier token could reach that category: ended with the rest.
        assert_eq!(introspect(&server, &clinic_token).await["active"], false);

        // Removing the restriction lifts it at once; the vendor under a BAA may act again.
        let page = restrict(&mut patient, "remove", "recipient", "org-rp").await;
        assert!(!page.contains("No sharing with the organisation"), "{page}");
        // Lifting a restriction ends nothing: what was allowed stays allowed. Earlier
        // restrictions' endings stand.
        let described = introspect(&server, &narrowed_token).await;
        assert_eq!(described["active"], true, "{described}");
        assert_eq!(described["consent_reference"], second_reference.as_str());
        assert_eq!(introspect(&server, &clinic_token).await["active"], false);
        let (back, verifier) = treatment_request(&server, &mut clinician, "par", &me).await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("{back}"));
        let tokens = redeem_as(&server, "par", &code, &verifier).await;
        let (status, exchanged) =
            vendor_exchange(&server, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{exchanged}");
        assert_eq!(exchanged["patient"], me.as_str());
        let described = introspect(&server, exchanged["access_token"].as_str().unwrap()).await;
        assert_eq!(described["act"]["sub"], "vendor", "{described}");
        assert_eq!(described["patient"], me.as_str());

        // A payer's backend asks about the patient for payment: narrowed, short-lived.
        let (status, payer) = client_credentials(
            &server,
            "payer",
            PAYER_SECRET,
            "system/Observation.rs",
            "T-PYMNT",
            Some(&me),
        )
        .await;
        assert_eq!(status, 200, "{payer}");
        assert_eq!(payer["patient"], me.as_str());
        assert!(payer["expires_in"].as_i64().unwrap() <= 300, "{payer}");

        // The patient's accounting of disclosures: each request about them, with a proof.
        let (status, _, page) = patient.get("/account/disclosures").await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains(&format!("clinician NPI {CLINICIAN_NPI}")),
            "{page}"
        );
        assert!(page.contains("organisation org-clinic"), "{page}");
        let download = integrated_disclosures(&mut patient, 12).await;
        let entries = download["entries"].as_array().unwrap();
        let listed = |event: &str, org: &str| {
            entries
                .iter()
                .filter(|e| e["event"] == event && e["organisation"] == org)
                .count()
        };
        assert_eq!(listed("token.issued", "org-rp"), 3, "{download}"); // own, 2 treatment
        assert_eq!(listed("token.issued", "org-clinic"), 2);
        assert_eq!(listed("token.issued", "org-vendor"), 1);
        assert_eq!(listed("token.issued", "org-payer"), 1);
        assert_eq!(
            listed("authorization.refused", "org-rp"),
            2,
            "the deactivated colleague's and the restriction's refusals"
        );
        assert_eq!(
            listed("token.refused", "org-vendor"),
            1,
            "the vendor's refusal"
        );
        let consent_changes = entries
            .iter()
            .filter(|e| e["event"] == "consent.changed")
            .count();
        assert_eq!(consent_changes, 3);
        assert!(
            entries
                .iter()
                .any(|e| e["npi"] == CLINICIAN_NPI && e["purpose"] == "T-TREAT")
        );
        // Each proof verifies with the auditor's CLI against the published log key.
        let vkey = download["log"]["vkey"].as_str().unwrap();
        let scratch = server.scratch();
        for e in entries {
            let index = e["index"].as_u64().unwrap();
            let entry_file = scratch.join(format!("entry-{index}"));
            let proof_file = scratch.join(format!("proof-{index}"));
            std::fs::write(
                &entry_file,
                STANDARD.decode(e["entry"].as_str().unwrap()).unwrap(),
            )
            .unwrap();
            std::fs::write(&proof_file, e["proof"].as_str().unwrap()).unwrap();
            let out = std::process::Command::new(workspace_binary("verifier"))
                .args(["proof", proof_file.to_str().unwrap(), "--vkey", vkey])
                .args(["--entry", entry_file.to_str().unwrap()])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "entry {index}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        // An auditor exports the same entries as FHIR AuditEvent resources.
        let (status, auditor) = client_credentials(
            &server,
            "auditor",
            AUDITOR_SECRET,
            "system/AuditEvent.rs",
            "T-HCO",
            None,
        )
        .await;
        assert_eq!(status, 200, "{auditor}");
        let export = |token: Option<String>, query: String| {
            let request = server
                .http()
                .get(server.url(&format!("/audit/AuditEvent{query}")));
            let request = match token {
                Some(t) => request.bearer_auth(t),
                None => request,
            };
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let kind = response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                assert_eq!(kind, "application/fhir+json");
                (status, response.json::<Value>().await.unwrap())
            }
        };
        let auditor_token = auditor["access_token"].as_str().unwrap().to_owned();
        let (status, bundle) = export(
            Some(auditor_token.clone()),
            format!("?patient={me}&_count=1000"),
        )
        .await;
        assert_eq!(status, 200, "{bundle}");
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "searchset");
        assert_eq!(bundle["total"].as_u64().unwrap() as usize, entries.len());
        // The export is itself in the log, about the patient, before it was sent: the
        // patient sees it, and the next export includes it.
        let after = integrated_disclosures(&mut patient, entries.len() + 1).await;
        let exported: Vec<&Value> = after["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "audit.exported")
            .collect();
        assert_eq!(exported.len(), 1, "{after}");
        assert_eq!(exported[0]["organisation"], "org-audit");
        assert_eq!(exported[0]["purpose"], "T-HCO");
        let (status, again) = export(
            Some(auditor_token.clone()),
            format!("?patient={me}&_count=1000"),
        )
        .await;
        assert_eq!(status, 200, "{again}");
        assert!(
            again["entry"].as_array().unwrap().iter().any(|e| {
                e["resource"]["subtype"][1]["code"] == "audit.exported"
                    && e["resource"]["type"]["code"] == "110106"
            }),
            "{again}"
        );
        let events: Vec<&Value> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .collect();
        let treatment = events
            .iter()
            .find(|e| {
                e["agent"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["who"]["identifier"]["value"] == CLINICIAN_NPI)
            })
            .unwrap();
        assert_eq!(treatment["resourceType"], "AuditEvent");
        assert_eq!(
            treatment["meta"]["profile"][0],
            "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PrivacyDisclosure.Source"
        );
        assert_eq!(treatment["type"]["code"], "110106");
        assert_eq!(treatment["subtype"][0]["code"], "disclose");
        let purposes = &treatment["purposeOfEvent"][0]["coding"];
        assert_eq!(purposes[0]["code"], "T-TREAT");
        assert_eq!(purposes[1]["code"], "TREAT");
        assert_eq!(
            treatment["entity"][0]["what"]["identifier"]["value"],
            me.as_str()
        );
        assert_eq!(treatment["entity"][0]["role"]["code"], "1");
        let details = treatment["entity"][1]["detail"].as_array().unwrap();
        assert_eq!(details[0]["type"], "log-entry");
        assert_eq!(details[1]["type"], "tlog-proof");
        assert!(treatment["recorded"].as_str().unwrap().ends_with('Z'));
        assert!(
            events
                .iter()
                .any(|e| e["outcome"] == "4" && e["outcomeDesc"] == "access_denied"),
            "the refusal is exported with its outcome"
        );

        // Only an auditor's token reads them; bad requests get an OperationOutcome.
        let (status, outcome) = export(None, format!("?patient={me}")).await;
        assert_eq!(status, 401);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        let (status, provider) = client_credentials(
            &server,
            "basic",
            BASIC_SECRET,
            "system/Patient.rs",
            "T-TREAT",
            None,
        )
        .await;
        assert_eq!(status, 200, "{provider}");
        let (status, outcome) = export(
            Some(provider["access_token"].as_str().unwrap().to_owned()),
            format!("?patient={me}"),
        )
        .await;
        assert_eq!(status, 403, "{outcome}");
        assert_eq!(outcome["issue"][0]["code"], "forbidden");
        let (status, _) = export(Some(auditor_token.clone()), String::new()).await;
        assert_eq!(status, 400);
        let (status, _) = export(
            Some(auditor_token.clone()),
            format!("?patient={me}&_count=0"),
        )
        .await;
        assert_eq!(status, 400);
        let (status, _) = export(Some("not-a-token".into()), format!("?patient={me}")).await;
        assert_eq!(status, 401);
        // The auditor's token is for audit events only, and only for operations.
        let (status, refused) = client_credentials(
            &server,
            "auditor",
            AUDITOR_SECRET,
            "system/Observation.rs",
            "T-HCO",
            None,
        )
        .await;
        assert_eq!(status, 403, "{refused}");
        assert_eq!(refused["error"], "access_denied");

        // Restrictions need a session and this site's form; bad values change nothing.
        let mut stranger = Person::new(&server);
        let (status, location, _) = stranger.get("/account/privacy").await;
        assert_eq!((status, location.as_deref()), (303, Some("/login")));
        let (_, _, page) = patient.get("/account/privacy").await;
        let csrf = csrf_of(&page);
        for (kind, value) in [
            ("purpose", "T-NOPE"),
            ("recipient", "org-unknown"),
            ("category", "42CFR"),
            ("colour", "blue"),
        ] {
            let (status, _, _) = patient
                .post_form(
                    "/account/privacy",
                    &[
                        ("csrf", &csrf),
                        ("action", "add"),
                        ("kind", kind),
                        ("value", value),
                    ],
                )
                .await;
            assert_eq!(status, 400, "{kind}={value}");
        }
        let (status, _, _) = patient
            .post_form(
                "/account/privacy",
                &[
                    ("csrf", "forged"),
                    ("action", "add"),
                    ("kind", "purpose"),
                    ("value", "T-PYMNT"),
                ],
            )
            .await;
        assert_eq!(status, 403);
        let (_, _, unchanged) = patient.get("/account/privacy").await;
        assert_eq!(shown_reference(&unchanged), shown_reference(&page));

        // Nothing personal in the public log: no name, document number or patient id.
        let (_, public) = audit(&server).await;
        let public = serde_json::to_string(&public).unwrap();
        for personal in ["Jane", "D1234567", "Grace", me.as_str()] {
            assert!(!public.contains(personal), "{personal} in the public log");
        }
    }
}
