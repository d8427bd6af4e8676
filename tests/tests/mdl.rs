//! Identity proofing with a mobile driving licence, end to end against the shipped server:
//! the login page's cross-device flow (signed request object by `request_uri`, encrypted
//! `direct_post.jwt`), the Digital Credentials API path, patient enrollment at IAL2 with a
//! passkey, recovery with the same licence (over the Digital Credentials API only: a relayed
//! QR code recovers nothing), `verified_claims` in the ID token and UserInfo, refusals that
//! change nothing (an expired licence among them), trust anchors reloaded without a restart, and the offline
//! `glassgate mdl verify` command.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use glassgate_mdl::wallet::{self, KeyAlg, oid4vp};
use glassgate_tests::directory::{scenario_with_active, seed};
use glassgate_tests::harness::workspace_binary;
use glassgate_tests::jwt::claims_of;
use glassgate_tests::mdl::{Dmv, Proof, ProofingFiles, origin_of};
use glassgate_tests::oauth::{pushed_authorization, query_param, redeem_as};
use glassgate_tests::passkeys::{Person, Tweak, csrf_of};
use glassgate_tests::tlog::audit;
use glassgate_tests::{TestServer, backends};
use serde_json::{Value, json};
use url::Url;

/// The wallet's half of the cross-device flow, stopping before the POST.
async fn wallet_answer(licence: &wallet::Credential, invocation_url: &str) -> oid4vp::WalletPost {
    let query: Vec<(String, String)> = Url::parse(invocation_url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let request_uri = &query.iter().find(|(k, _)| k == "request_uri").unwrap().1;
    let response = reqwest::get(request_uri).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/oauth-authz-req+jwt"
    );
    let claims = oid4vp::verify_request_object(response.text().await.unwrap().trim()).unwrap();
    assert_eq!(claims["client_id"], "x509_san_dns:localhost");
    assert_eq!(claims["response_mode"], "direct_post.jwt");
    assert_eq!(
        claims["dcql_query"]["credentials"][0]["meta"]["doctype_value"],
        "org.iso.18013.5.1.mDL"
    );
    oid4vp::answer(licence, &claims).unwrap()
}

async fn post_to_verifier(post: &oid4vp::WalletPost) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(&post.response_uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(post.form_body.clone())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The wallet's POST is refused: 400 `access_denied` with `reason`.
async fn assert_wallet_refused(post: &oid4vp::WalletPost, reason: &str) {
    let (status, body) = post_to_verifier(post).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert_eq!(body["reason"], reason, "{body}");
}

/// The page polling `proof` is told it was refused with `reason`; returns what it shows.
async fn page_refusal(person: &mut Person, proof: &Proof, reason: &str) -> String {
    let status = person.proof_status(proof).await;
    assert_eq!(status.body["status"], "refused", "{:?}", status.body);
    assert_eq!(status.body["reason"], reason, "{:?}", status.body);
    status.body["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Nothing can be enrolled with a refused `proof`.
async fn assert_nothing_to_enroll(person: &mut Person, proof: &Proof) {
    let refused = person.register_with_proof(proof, None).await;
    assert_eq!(
        refused.error(),
        "identity_proof_unknown",
        "{:?}",
        refused.body
    );
}

#[tokio::test]
async fn a_patient_proves_identity_with_an_mdl_enrolls_a_passkey_and_gets_ial2_tokens() {
    let dmv = Dmv::new(KeyAlg::P256);
    for backend in backends() {
        let files = ProofingFiles::new(&dmv);
        let server = TestServer::start(&backend, files.server_options()).await;
        let mut patient = Person::new(&server);

        // A relying party sends the patient (no account yet) through PAR to the login page.
        let (authorize, verifier) = pushed_authorization(
            &server,
            "par",
            &[("scope", "openid profile offline_access")],
        )
        .await;
        let (status, location, _) = patient.get(&authorize).await;
        assert_eq!(status, 303);
        let location = location.unwrap();
        let interaction = location
            .strip_prefix("/login?interaction=")
            .unwrap()
            .to_owned();
        let (_, _, login_page) = patient.get(&location).await;
        assert!(login_page.contains("id=\"mdl-start\""), "{login_page}");

        // The page starts a request; its QR code is served as SVG.
        let proof = patient.start_proof().await;
        let qr = reqwest::get(proof.started["qr_code"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(qr.headers()["content-type"], "image/svg+xml");
        assert!(qr.text().await.unwrap().contains("<svg"));
        assert_eq!(patient.proof_status(&proof).await.body["status"], "pending");

        // The phone's wallet scans it, fetches the signed request and answers it.
        let licence = dmv.licence("Jane", "D1234567");
        let post = wallet_answer(&licence, proof.invocation_url()).await;
        assert!(
            post.form_body.starts_with("response="),
            "direct_post.jwt is encrypted"
        );
        let (status, body) = post_to_verifier(&post).await;
        assert_eq!(status, 200, "{body}");
        let status = patient.proof_status(&proof).await;
        assert_eq!(status.body["status"], "verified", "{:?}", status.body);
        assert_eq!(status.body["given_name"], "Jane");
        assert_eq!(status.body["recovery"], false);

        // Enrollment with the proof continues the pending authorization.
        let enrolled = patient
            .register_with_proof(&proof, Some(&interaction))
            .await;
        assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);
        assert_eq!(enrolled.body["next"], format!("/interaction/{interaction}"));
        // The proof was spent.
        let again = patient
            .create(
                json!({ "identity_proof": proof.ticket() }),
                &Tweak::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(again.error(), "identity_proof_unknown");

        let page = format!("/interaction/{interaction}");
        let (status, _, consent) = patient.get(&page).await;
        assert_eq!(status, 200, "{consent}");
        let (status, back, _) = patient
            .post_form(
                &page,
                &[("csrf", &csrf_of(&consent)), ("decision", "allow")],
            )
            .await;
        assert_eq!(status, 303);
        let code = query_param(&Url::parse(&back.unwrap()).unwrap(), "code").unwrap();
        let tokens = redeem_as(&server, "par", &code, &verifier).await;
        let id_token = claims_of(tokens["id_token"].as_str().unwrap());
        let verified = &id_token["verified_claims"];
        assert_eq!(verified["verification"]["trust_framework"], "nist_800_63A");
        assert_eq!(verified["verification"]["assurance_level"], "ial2");
        assert_eq!(
            verified["verification"]["evidence"][0]["document_details"]["type"],
            "driving_permit"
        );
        assert_eq!(verified["claims"]["given_name"], "Jane");
        assert_eq!(verified["claims"]["birthdate"], "1990-01-15");
        assert!(id_token["acr"].is_string(), "{id_token}");

        let userinfo = reqwest::Client::new()
            .get(format!("{}/userinfo", server.base))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(
            userinfo["verified_claims"]["verification"]["assurance_level"],
            "ial2"
        );
        assert_eq!(userinfo["sub"], id_token["sub"]);

        // Proofing and enrollment are in the log; nothing personal is public.
        let (_, entries) = audit(&server).await;
        let proofing: Vec<_> = entries
            .iter()
            .filter(|e| e.event == "credential.mdl")
            .collect();
        assert_eq!(proofing.len(), 1, "{proofing:?}");
        assert_eq!(proofing[0].ial.as_deref(), Some("ial2"));
        assert!(
            entries
                .iter()
                .any(|e| e.event == "credential.passkey" && e.subject.is_some())
        );
        let public = serde_json::to_string(&entries).unwrap();
        for personal in ["Jane", "D1234567", "1990-01-15"] {
            assert!(!public.contains(personal), "{personal} in the public log");
            assert!(
                !server.log_text().contains(personal),
                "{personal} in the application log"
            );
        }
    }
}

#[tokio::test]
async fn the_same_licence_recovers_the_account_and_revokes_the_old_passkeys() {
    let dmv = Dmv::new(KeyAlg::P384);
    for backend in backends() {
        let files = ProofingFiles::new(&dmv);
        let server = TestServer::start(&backend, files.server_options()).await;

        let mut first_phone = Person::new(&server);
        let enrolled = first_phone
            .prove_and_enroll(&dmv.licence("Ana", "P-111"), None)
            .await;
        assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);
        first_phone.cookie = None;
        assert_eq!(first_phone.login(None).await.status, 200);

        // The phone is lost: the same licence (re-provisioned on a new device) recovers,
        // through the Digital Credentials API of the browser that recovers.
        let mut new_phone = Person::new(&server);
        let proof = new_phone
            .prove_with_dc_api(&dmv.licence("Ana", "P-111"), &origin_of(&server))
            .await;
        let status = new_phone.proof_status(&proof).await;
        assert_eq!(status.body["recovery"], true, "{:?}", status.body);
        let recovered = new_phone.register_with_proof(&proof, None).await;
        assert_eq!(recovered.status, 200, "{:?}", recovered.body);
        let (_, _, account) = new_phone.get("/account").await;
        assert!(account.contains("Ana Doe"), "{account}");

        // The old passkey no longer signs in; the new one does.
        first_phone.cookie = None;
        let refused = first_phone.login(None).await;
        assert_eq!(refused.error(), "revoked_credential", "{:?}", refused.body);
        new_phone.cookie = None;
        assert_eq!(new_phone.login(None).await.status, 200);

        // Another licence is another person.
        let mut other = Person::new(&server);
        let proof = other.start_proof().await;
        oid4vp::follow_invocation(
            &dmv.licence("Bo", "Q-222"),
            proof.invocation_url(),
            &reqwest::Client::new(),
        )
        .await
        .unwrap();
        assert_eq!(other.proof_status(&proof).await.body["recovery"], false);

        let (_, entries) = audit(&server).await;
        assert_eq!(
            entries
                .iter()
                .filter(|e| e.event == "credential.mdl")
                .count(),
            3
        );
    }
}

/// A relayed QR code: the attacker starts the login page's proofing, sends its QR code to the
/// victim, and the victim's wallet answers with the victim's licence. Nothing binds that
/// answer to the attacker's browser, so it must not recover the victim's account.
#[tokio::test]
async fn a_relayed_qr_code_cannot_recover_someone_elses_account() {
    let dmv = Dmv::new(KeyAlg::P256);
    for backend in backends() {
        let files = ProofingFiles::new(&dmv);
        let server = TestServer::start(&backend, files.server_options()).await;
        let origin = origin_of(&server);
        let licence = dmv.licence("Vic", "V-100");

        let mut victim = Person::new(&server);
        let enrolled = victim.prove_and_enroll(&licence, None).await;
        assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);
        let (_, _, account) = victim.get("/account").await;
        assert!(account.contains("Vic Doe"), "{account}");

        // The attacker's browser starts a request; the victim's wallet answers its QR code.
        let mut attacker = Person::new(&server);
        let proof = attacker.start_proof().await;
        let post = wallet_answer(&licence, proof.invocation_url()).await;
        assert_wallet_refused(&post, "recovery_needs_origin_bound_channel").await;
        // The attacker's page is told why, and what the real owner should do instead.
        let description =
            page_refusal(&mut attacker, &proof, "recovery_needs_origin_bound_channel").await;
        assert!(
            description.contains("Use a licence stored in this browser's wallet")
                && description.contains("sign in with a passkey"),
            "{description}"
        );
        assert!(!description.contains("Vic"), "{description}");
        // Nothing was kept to enroll with, and the transaction is spent.
        assert_nothing_to_enroll(&mut attacker, &proof).await;
        assert_eq!(post_to_verifier(&post).await.0, 404);

        // A proof verified before the account existed is refused when it is read or spent
        // after: the victim enrolls between the wallet's answer and the attacker's enrollment.
        let late = dmv.licence("Lee", "L-200");
        let polled = attacker.start_proof().await;
        let spent = attacker.start_proof().await;
        for proof in [&polled, &spent] {
            let post = wallet_answer(&late, proof.invocation_url()).await;
            assert_eq!(post_to_verifier(&post).await.0, 200);
        }
        let mut late_victim = Person::new(&server);
        let enrolled = late_victim.prove_and_enroll(&late, None).await;
        assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);
        let status = attacker.proof_status(&polled).await;
        assert_eq!(
            status.body["reason"], "recovery_needs_origin_bound_channel",
            "{:?}",
            status.body
        );
        assert_nothing_to_enroll(&mut attacker, &polled).await;
        let refused = attacker.register_with_proof(&spent, None).await;
        assert_eq!(refused.status, 400, "{:?}", refused.body);
        assert!(
            refused.body["error_description"]
                .as_str()
                .unwrap()
                .contains("Use a licence stored in this browser's wallet"),
            "{:?}",
            refused.body
        );
        let again = attacker.register_with_proof(&spent, None).await;
        assert_eq!(again.error(), "identity_proof_unknown", "{:?}", again.body);
        assert_eq!(
            attacker.proof_status(&spent).await.body["reason"],
            "recovery_needs_origin_bound_channel"
        );
        let (status, location, _) = attacker.get("/account").await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/login")),
            "the attacker is signed in to nothing"
        );

        // The victims' passkeys are untouched and still sign in.
        for person in [&mut victim, &mut late_victim] {
            person.cookie = None;
            assert_eq!(person.login(None).await.status, 200);
            let (_, _, account) = person.get("/account").await;
            assert!(!account.contains("revoked"), "{account}");
        }

        // Every refusal is logged as such; nothing was recovered.
        let (_, entries) = audit(&server).await;
        let refusals = entries
            .iter()
            .filter(|e| {
                e.event == "credential.mdl"
                    && e.refusal.as_deref() == Some("recovery_needs_origin_bound_channel")
            })
            .count();
        assert_eq!(refusals, 3, "{entries:?}");
        let public = serde_json::to_string(&entries).unwrap();
        for personal in ["Vic", "V-100", "Lee", "L-200"] {
            assert!(!public.contains(personal), "{personal} in the public log");
        }

        // The login page says how to recover.
        let (_, _, login_page) = attacker.get("/login").await;
        assert!(
            login_page.contains("the QR code and the wallet link only create"),
            "{login_page}"
        );

        // The owner recovers on their own device through the Digital Credentials API.
        let mut new_phone = Person::new(&server);
        let proof = new_phone.prove_with_dc_api(&licence, &origin).await;
        assert_eq!(new_phone.proof_status(&proof).await.body["recovery"], true);
        let recovered = new_phone.register_with_proof(&proof, None).await;
        assert_eq!(recovered.status, 200, "{:?}", recovered.body);
        let (_, _, account) = new_phone.get("/account").await;
        assert!(account.contains("Vic Doe"), "{account}");
        victim.cookie = None;
        assert_eq!(victim.login(None).await.error(), "revoked_credential");
    }
}

#[tokio::test]
async fn refused_presentations_are_logged_and_change_nothing() {
    let trusted = Dmv::new(KeyAlg::P256);
    let unknown = Dmv::new(KeyAlg::P256);
    for backend in backends() {
        let files = ProofingFiles::new(&trusted);
        let server = TestServer::start(&backend, files.server_options()).await;
        let mut person = Person::new(&server);

        // A licence from an issuer we do not trust.
        let proof = person.start_proof().await;
        let post = wallet_answer(&unknown.licence("Eve", "X-1"), proof.invocation_url()).await;
        let (status, body) = post_to_verifier(&post).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "access_denied");
        let reason = body["reason"].as_str().unwrap().to_owned();
        let status = person.proof_status(&proof).await;
        assert_eq!(status.body["status"], "refused");
        assert_eq!(status.body["reason"], reason);
        let enroll = person
            .create(
                json!({ "identity_proof": proof.ticket() }),
                &Tweak::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(enroll.error(), "identity_proof_unknown");

        // A response is accepted once: the replay finds no request.
        let proof = person.start_proof().await;
        let post = wallet_answer(&trusted.licence("Eve", "X-2"), proof.invocation_url()).await;
        assert_eq!(post_to_verifier(&post).await.0, 200);
        let (status, body) = post_to_verifier(&post).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["reason"], "transaction_unknown");

        // A response made for one request, posted to another: the state does not match.
        let first = person.start_proof().await;
        let second = person.start_proof().await;
        let mut post = wallet_answer(&trusted.licence("Eve", "X-3"), first.invocation_url()).await;
        let second_uri = wallet_answer(&trusted.licence("Eve", "X-3"), second.invocation_url())
            .await
            .response_uri;
        post.response_uri = second_uri;
        let (status, body) = post_to_verifier(&post).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["reason"], "bad_response");

        // Someone without the page's poll secret learns nothing.
        let mut forged = first.ticket();
        forged["poll"] = json!("guess");
        let answer = person.post_json("/mdl/status", &forged).await;
        assert_eq!(answer.status, 404);

        // A cross-site page cannot start a request; malformed bodies are refused.
        let wrong_type = reqwest::Client::new()
            .post(post.response_uri.clone())
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_type.status(), 400);

        // No account came out of any of this.
        let (_, entries) = audit(&server).await;
        let passkey_events: Vec<_> = entries
            .iter()
            .filter(|e| e.event == "credential.passkey")
            .collect();
        assert!(
            passkey_events
                .iter()
                .all(|e| e.refusal.as_deref() == Some("identity_proof_unknown")),
            "{passkey_events:?}"
        );
        let refusals: Vec<_> = entries
            .iter()
            .filter(|e| e.event == "credential.mdl" && e.refusal.is_some())
            .map(|e| e.refusal.clone().unwrap())
            .collect();
        assert!(refusals.contains(&reason), "{refusals:?}");
        assert!(
            refusals.contains(&"bad_response".to_owned()),
            "{refusals:?}"
        );

        // Trust anchors change without a restart.
        unknown.trust_in(&files.anchors());
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let proof = person.start_proof().await;
        let post = wallet_answer(&unknown.licence("Eve", "X-4"), proof.invocation_url()).await;
        let (status, body) = post_to_verifier(&post).await;
        assert_eq!(status, 200, "the reloaded anchor is trusted: {body}");
    }
}

/// NIST SP 800-63A: IAL2 evidence is unexpired. The licence's own `expiry_date` (asked for,
/// not to be retained) is checked, not only the MSO's validity: a freshly signed MSO of a
/// licence that expired yesterday proves no identity, over either channel.
#[tokio::test]
async fn an_expired_licence_proves_no_identity() {
    let dmv = Dmv::new(KeyAlg::P256);
    for backend in backends() {
        let files = ProofingFiles::new(&dmv);
        let server = TestServer::start(&backend, files.server_options()).await;
        let origin = origin_of(&server);
        let yesterday = glassgate_mdl::time::OffsetDateTime::now_utc().date()
            - glassgate_mdl::time::Duration::days(1);
        let expired = dmv.licence_expiring("Olga", "EXP-1", yesterday);
        let mut person = Person::new(&server);

        // The wallet is asked for the expiry date, and told it is not retained.
        let proof = person.start_proof().await;
        let claims = proof.started["digital"]["requests"][0]["data"]["dcql_query"]["credentials"]
            [0]["claims"]
            .as_array()
            .unwrap()
            .clone();
        let expiry = claims
            .iter()
            .find(|c| c["path"] == json!(["org.iso.18013.5.1", "expiry_date"]))
            .unwrap_or_else(|| panic!("expiry_date not requested: {claims:?}"));
        assert_eq!(expiry["intent_to_retain"], false);

        // The QR code: the wallet is refused, the page is told why, nothing is kept.
        let post = wallet_answer(&expired, proof.invocation_url()).await;
        assert_wallet_refused(&post, "licence_expired").await;
        let description = page_refusal(&mut person, &proof, "licence_expired").await;
        assert!(description.contains("expired"), "{description}");
        assert!(
            !description.contains("Olga") && !description.contains(&yesterday.to_string()),
            "{description}"
        );
        assert_nothing_to_enroll(&mut person, &proof).await;

        // The Digital Credentials API: the same.
        let proof = person.start_proof().await;
        let answer = person.answer_with_dc_api(&proof, &expired, &origin).await;
        assert_eq!(answer.status, 400, "{:?}", answer.body);
        assert_eq!(answer.body["error"], "access_denied");
        assert_eq!(answer.body["reason"], "licence_expired");
        let status = person.proof_status(&proof).await;
        assert_eq!(
            status.body["reason"], "licence_expired",
            "{:?}",
            status.body
        );
        assert_nothing_to_enroll(&mut person, &proof).await;

        // Both refusals are logged with their class; no account came out of them.
        let (_, entries) = audit(&server).await;
        let mdl: Vec<_> = entries
            .iter()
            .filter(|e| e.event == "credential.mdl")
            .collect();
        assert_eq!(mdl.len(), 2, "{mdl:?}");
        assert!(
            mdl.iter()
                .all(|e| e.refusal.as_deref() == Some("licence_expired") && e.ial.is_none()),
            "{mdl:?}"
        );
        assert!(
            entries
                .iter()
                .filter(|e| e.event == "credential.passkey")
                .all(|e| e.refusal.as_deref() == Some("identity_proof_unknown")),
            "{entries:?}"
        );
        let public = serde_json::to_string(&entries).unwrap();
        for personal in ["Olga", "EXP-1", "1990-01-15", &yesterday.to_string()] {
            assert!(!public.contains(personal), "{personal} in the public log");
            assert!(
                !server.log_text().contains(personal),
                "{personal} in the application log"
            );
        }

        // The renewed licence (same number, unexpired) proves the identity and enrolls.
        let renewed = dmv.licence("Olga", "EXP-1");
        let proof = person.prove_with_dc_api(&renewed, &origin).await;
        let enrolled = person.register_with_proof(&proof, None).await;
        assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);
        let (_, _, account) = person.get("/account").await;
        assert!(
            account.contains("Olga Doe") && account.contains("IAL2"),
            "{account}"
        );
    }
}

#[tokio::test]
async fn the_digital_credentials_api_path_binds_our_origin() {
    let dmv = Dmv::new(KeyAlg::P256);
    for backend in backends() {
        let files = ProofingFiles::new(&dmv);
        let server = TestServer::start(&backend, files.server_options()).await;
        let origin = Url::parse(&server.issuer)
            .unwrap()
            .origin()
            .ascii_serialization();
        let mut person = Person::new(&server);
        let licence = dmv.licence("Dee", "DC-1");

        let proof = person.start_proof().await;
        let request = &proof.started["digital"]["requests"][0];
        assert_eq!(request["protocol"], "openid4vp-v1-unsigned");
        let credential = oid4vp::answer_dc_api(&licence, &request["data"], &origin).unwrap();
        let mut body = proof.ticket();
        body["credential"] = credential;
        let answer = person.post_json("/mdl/digital", &body).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(person.proof_status(&proof).await.body["status"], "verified");
        let enrolled = person.register_with_proof(&proof, None).await;
        assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);

        // A response a wallet made for another web origin does not verify here.
        let proof = person.start_proof().await;
        let request = &proof.started["digital"]["requests"][0];
        let credential =
            oid4vp::answer_dc_api(&licence, &request["data"], "https://elsewhere.example").unwrap();
        let mut body = proof.ticket();
        body["credential"] = credential;
        let answer = person.post_json("/mdl/digital", &body).await;
        assert_eq!(answer.status, 400, "{:?}", answer.body);
        assert_eq!(answer.body["reason"], "device_signature_invalid");
    }
}

#[tokio::test]
async fn glassgate_mdl_verify_checks_a_presentation_offline() {
    let dmv = Dmv::new(KeyAlg::P256);
    let dir = tempfile::tempdir().unwrap();
    dmv.trust_in(&dir.path().join("anchors"));
    let (client_id, nonce, response_uri) = (
        "x509_san_dns:verifier.example",
        "n-123",
        "https://verifier.example/mdl/response/1",
    );
    let transcript = glassgate_mdl::transcript::oid4vp(client_id, nonce, None, response_uri);
    let licence = dmv.licence("Cy", "CLI-1");
    let presentation = wallet::present(
        &licence,
        Some(&glassgate_mdl::RequestedElements::mdl_identity()),
        &transcript,
    )
    .unwrap()
    .encode();
    let file = dir.path().join("response.cbor");
    std::fs::write(&file, &presentation).unwrap();
    let run = |file: &std::path::Path, nonce: &str| {
        std::process::Command::new(workspace_binary("glassgate"))
            .args(["mdl", "verify"])
            .arg(file)
            .arg("--trust")
            .arg(dir.path().join("anchors"))
            .args([
                "--handover",
                "oid4vp",
                "--client-id",
                client_id,
                "--nonce",
                nonce,
            ])
            .args(["--response-uri", response_uri, "--offline"])
            .output()
            .unwrap()
    };
    let ok = run(&file, nonce);
    let out = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{out}");
    assert!(out.contains("Cy"), "{out}");
    // Another nonce: another transcript, so the device signature fails.
    let refused = run(&file, "n-other");
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("device_signature"));
}

#[tokio::test]
async fn a_signed_in_clinician_raises_their_account_to_ial2_with_their_licence() {
    let dmv = Dmv::new(KeyAlg::P256);
    let backend = backends().pop().unwrap();
    let files = ProofingFiles::new(&dmv);
    let server = TestServer::start(&backend, files.server_options()).await;
    let licence = dmv.licence("Grace", "CL-1");

    let mut clinician = Person::new(&server);
    let link = glassgate_tests::passkeys::invite(&server, "1234567893").await;
    assert_eq!(
        clinician.enroll(&link, "Dr. Grace Hopper").await.status,
        200
    );
    let (_, _, account) = clinician.get("/account").await;
    assert!(
        account.contains("IAL1") && account.contains("data-mode=\"link\""),
        "{account}"
    );

    // A QR code answered by a wallet (perhaps relayed to someone else) links nothing.
    let proof = clinician.start_proof().await;
    oid4vp::follow_invocation(&licence, proof.invocation_url(), &reqwest::Client::new())
        .await
        .unwrap();
    let refused = clinician
        .post_json(
            "/account/identity",
            &json!({ "identity_proof": proof.ticket() }),
        )
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert!(
        refused.body["error_description"]
            .as_str()
            .unwrap()
            .contains("Use a licence stored in this browser's wallet"),
        "{:?}",
        refused.body
    );
    let status = clinician.proof_status(&proof).await;
    assert_eq!(status.body["reason"], "link_needs_origin_bound_channel");
    let again = clinician
        .post_json(
            "/account/identity",
            &json!({ "identity_proof": proof.ticket() }),
        )
        .await;
    assert_eq!(again.error(), "identity_proof_unknown");
    let (_, _, account) = clinician.get("/account").await;
    assert!(account.contains("IAL1"), "{account}");
    assert!(
        account.contains("<p hidden><img id=\"mdl-qr\""),
        "the account page offers no QR code to link with: {account}"
    );
    let (_, entries) = audit(&server).await;
    assert!(
        entries.iter().any(|e| e.event == "credential.mdl"
            && e.refusal.as_deref() == Some("link_needs_origin_bound_channel")),
        "{entries:?}"
    );

    // The Digital Credentials API of this browser links it.
    let origin = origin_of(&server);
    let proof = clinician.prove_with_dc_api(&licence, &origin).await;
    let linked = clinician
        .post_json(
            "/account/identity",
            &json!({ "identity_proof": proof.ticket() }),
        )
        .await;
    assert_eq!(linked.status, 200, "{:?}", linked.body);
    let (_, _, account) = clinician.get("/account").await;
    assert!(
        account.contains("IAL2") && !account.contains("mdl-start"),
        "{account}"
    );

    // Proofed at IAL2, signed in with a passkey (AAL2), active in the provider directory:
    // the treatment policy grants user-level read access.
    seed(
        &server,
        &scenario_with_active(&["1234567893", "1245319599"]),
    )
    .await;
    let treatment = [("scope", "openid fhirUser user/*.rs")];
    let (authorize, verifier) = pushed_authorization(&server, "par", &treatment).await;
    let code = clinician.sign_in_for_code(&authorize).await;
    let tokens = redeem_as(&server, "par", &code, &verifier).await;
    assert_eq!(tokens["scope"], "openid fhirUser user/*.rs", "{tokens}");
    assert_eq!(
        claims_of(tokens["access_token"].as_str().unwrap())["purpose_of_use"][0]["code"],
        "T-TREAT"
    );

    // The same licence cannot prove a second account.
    let mut colleague = Person::new(&server);
    let link = glassgate_tests::passkeys::invite(&server, "1245319599").await;
    assert_eq!(colleague.enroll(&link, "Dr. Alan Turing").await.status, 200);
    // Active in the directory but not proofed: no patient data for treatment.
    let (authorize, _) = pushed_authorization(&server, "par", &treatment).await;
    let back = colleague.sign_in_for_redirect(&authorize).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    let proof = colleague.prove_with_dc_api(&licence, &origin).await;
    let refused = colleague
        .post_json(
            "/account/identity",
            &json!({ "identity_proof": proof.ticket() }),
        )
        .await;
    assert_eq!(
        refused.error(),
        "identity_of_another_account",
        "{:?}",
        refused.body
    );
    // Without a session nothing is linked.
    let mut stranger = Person::new(&server);
    let answer = stranger
        .post_json(
            "/account/identity",
            &json!({ "identity_proof": proof.ticket() }),
        )
        .await;
    assert_eq!(answer.error(), "not_signed_in");
}

#[tokio::test]
async fn issuers_listed_in_the_aamva_vical_are_trusted() {
    use glassgate_mdl::wallet::{IacaOptions, make_iaca, pki::make_leaf_with_eku, vical};
    let listed = Dmv::new(KeyAlg::P384);
    let mut root_options = IacaOptions::new(KeyAlg::P256);
    root_options.common_name = "Test DTS Root".into();
    let root = make_iaca(&root_options).unwrap();
    // EKU 1.0.18013.5.1.8: VICAL signing.
    let signer = make_leaf_with_eku(
        &root,
        KeyAlg::P256,
        "Test VICAL Signer",
        &[1, 0, 18013, 5, 1, 8],
    )
    .unwrap();
    let now = glassgate_mdl::time::OffsetDateTime::now_utc();
    let list = vical::build(
        &signer,
        std::slice::from_ref(&signer.cert_der),
        1,
        now,
        now + glassgate_mdl::time::Duration::days(1),
        std::slice::from_ref(&listed.iaca.cert_der),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/vical.cbor", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/vical.cbor",
        axum::routing::get(move || async move { list }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let files = ProofingFiles::new(&Dmv::new(KeyAlg::P256));
    let root_pem = files.dir.path().join("dts-root.pem");
    std::fs::write(
        &root_pem,
        glassgate_tests::mdl::pem("CERTIFICATE", &root.cert_der),
    )
    .unwrap();
    let options = files
        .server_options()
        .env("GLASSGATE_MDL__VICAL_URL", &url)
        .env("GLASSGATE_MDL__VICAL_ROOT", root_pem.to_str().unwrap());
    let server = TestServer::start(&backends().pop().unwrap(), options).await;
    let mut person = Person::new(&server);
    let licence = listed.licence("Val", "V-1");
    // The list is fetched in the background at start.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let proof = person.start_proof().await;
        let post = wallet_answer(&licence, proof.invocation_url()).await;
        let (status, body) = post_to_verifier(&post).await;
        if status == 200 {
            break;
        }
        assert_eq!(body["reason"], "untrusted_issuer", "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "the VICAL was not installed"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The last good list is kept for the next start.
    assert!(server.deployment_dir().join("data/vical.cbor").exists());
}
