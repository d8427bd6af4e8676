//! Passkeys end to end against the shipped server (its real browser authenticator), with a
//! software authenticator: clinician invitation → enrollment → a relying party's PAR, code
//! and PKCE flow → sign-in → consent → tokens; a second passkey, renaming and revoking; and
//! every refusal the ceremonies must make, each with its own error, all in the log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use glassgate_tests::clients::REDIRECT_URI;
use glassgate_tests::directory::{scenario_with_active, seed};
use glassgate_tests::jwt::claims_of;
use glassgate_tests::oauth::{pushed_authorization, query_param, redeem_as as redeem};
use glassgate_tests::passkeys::{Person, Tweak, csrf_of, invite};
use glassgate_tests::tlog::audit;
use glassgate_tests::{Backend, ServerOptions, TestServer, backends};
use serde_json::json;
use url::Url;

const NPI: &str = "1234567893";

fn interaction_of(location: &str) -> String {
    location
        .strip_prefix("/login?interaction=")
        .unwrap_or_else(|| panic!("not the login page: {location}"))
        .to_owned()
}

#[tokio::test]
async fn invitation_enrollment_then_code_flow_with_passkey_and_consent() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::shipped()).await;
        seed(&server, &scenario_with_active(&[NPI])).await;
        let link = invite(&server, NPI).await;
        assert!(link.starts_with(&format!("{}/enroll?invitation=", server.issuer)));

        let mut person = Person::new(&server);
        let (status, _, page) = person.get(link.strip_prefix(&server.issuer).unwrap()).await;
        assert_eq!(status, 200);
        assert!(
            page.contains(NPI) && page.contains("autocomplete=\"name\""),
            "{page}"
        );
        let enrolled = person.enroll(&link, "Dr. Ada Lovelace").await;
        assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);
        assert_eq!(enrolled.body["next"], "/account");
        let (status, _, account) = person.get("/account").await;
        assert_eq!(status, 200);
        assert!(
            account.contains("Dr. Ada Lovelace") && account.contains(NPI),
            "{account}"
        );

        // A relying party sends a fresh browser (no session) through PAR.
        person.cookie = None;
        let (authorize, verifier) = pushed_authorization(&server, "par", &[]).await;
        let (status, location, _) = person.get(&authorize).await;
        assert_eq!(status, 303);
        let interaction = interaction_of(&location.unwrap());
        let (status, _, login_page) = person
            .get(&format!("/login?interaction={interaction}"))
            .await;
        assert_eq!(status, 200);
        assert!(login_page.contains("autocomplete=\"username webauthn\""));

        let signed_in = person.login(Some(&interaction)).await;
        assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
        assert_eq!(
            signed_in.body["next"],
            format!("/interaction/{interaction}")
        );
        let (status, _, consent) = person.get(&format!("/interaction/{interaction}")).await;
        assert_eq!(status, 200, "{consent}");
        assert!(consent.contains("Confirm who you are"), "{consent}");
        let csrf = csrf_of(&consent);
        // A forged form (wrong CSRF token) changes nothing.
        let (status, _, _) = person
            .post_form(
                &format!("/interaction/{interaction}"),
                &[("csrf", "forged"), ("decision", "allow")],
            )
            .await;
        assert_eq!(status, 403);
        let (status, location, _) = person
            .post_form(
                &format!("/interaction/{interaction}"),
                &[("csrf", &csrf), ("decision", "allow")],
            )
            .await;
        assert_eq!(status, 303);
        let back = Url::parse(&location.unwrap()).unwrap();
        assert!(back.as_str().starts_with(REDIRECT_URI));
        assert_eq!(query_param(&back, "state").as_deref(), Some("rp-state"));
        let code = query_param(&back, "code").unwrap();
        let tokens = redeem(&server, "par", &code, &verifier).await;
        let id_token = claims_of(tokens["id_token"].as_str().unwrap());
        assert_eq!(id_token["acr"], "phr");
        assert_eq!(id_token["amr"], json!(["hwk", "user", "mfa"]));
        assert_eq!(id_token["nonce"], "rp-nonce");
        let subject = id_token["sub"].as_str().unwrap().to_owned();

        // Single sign-on: the next request from this browser needs no page at all.
        let (authorize, verifier) = pushed_authorization(&server, "par", &[]).await;
        let (status, location, _) = person.get(&authorize).await;
        assert_eq!(status, 303);
        let back = Url::parse(&location.unwrap()).unwrap();
        let code = query_param(&back, "code").expect("a code without any page");
        let tokens = redeem(&server, "par", &code, &verifier).await;
        assert_eq!(
            claims_of(tokens["id_token"].as_str().unwrap())["sub"],
            subject
        );

        // prompt=login, and acr_values the session does not meet, ask to sign in again.
        for extra in [[("prompt", "login")], [("acr_values", "phrh")]] {
            let (authorize, _) = pushed_authorization(&server, "par", &extra).await;
            let (status, location, _) = person.get(&authorize).await;
            assert_eq!(status, 303);
            interaction_of(&location.unwrap());
        }
        // prompt=none with a client the person never approved: consent_required.
        let (authorize, _) = pushed_authorization(&server, "web", &[("prompt", "none")]).await;
        let (_, location, _) = person.get(&authorize).await;
        let back = Url::parse(&location.unwrap()).unwrap();
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some("consent_required")
        );
        // Declining the consent sends access_denied to the client.
        let (authorize, _) = pushed_authorization(&server, "web", &[]).await;
        let (_, location, _) = person.get(&authorize).await;
        let location = location.unwrap();
        assert!(location.starts_with("/interaction/"), "{location}");
        let (_, _, consent) = person.get(&location).await;
        let (status, back, _) = person
            .post_form(
                &location,
                &[("csrf", &csrf_of(&consent)), ("decision", "deny")],
            )
            .await;
        assert_eq!(status, 303);
        let back = Url::parse(&back.unwrap()).unwrap();
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some("access_denied")
        );

        // Enrollment, sign-in and the refusal are in the log.
        let (_, entries) = audit(&server).await;
        let passkey_events: Vec<_> = entries
            .iter()
            .filter(|e| e.event == "credential.passkey")
            .collect();
        assert!(passkey_events.len() >= 2, "{passkey_events:?}");
        assert!(passkey_events.iter().all(|e| e.subject.is_some()));
        assert!(entries.iter().any(|e| e.event == "admin.account"));
        assert!(
            entries.iter().any(|e| e.event == "authorization.refused"
                && e.refusal.as_deref() == Some("access_denied"))
        );
        server_check_no_secrets(&server);
    }
}

fn server_check_no_secrets(server: &TestServer) {
    let log = server.log_text();
    assert!(
        !log.contains("glassgate-session="),
        "a session cookie in the log"
    );
    assert!(
        !log.contains("Ada Lovelace"),
        "a name in the application log"
    );
}

#[tokio::test]
async fn several_passkeys_rename_and_revoke() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::shipped()).await;
        seed(&server, &scenario_with_active(&[NPI])).await;
        let link = invite(&server, NPI).await;
        let mut first = Person::new(&server);
        assert_eq!(first.enroll(&link, "Dr. Grace Hopper").await.status, 200);

        // A second authenticator registers on the same (signed-in) account.
        let mut second = Person::new(&server);
        second.cookie = first.cookie.clone();
        let added = second.register(json!({}), "phone").await;
        assert_eq!(added.status, 200, "{:?}", added.body);
        assert_eq!(second.user_handle, first.user_handle, "the same account");
        second.cookie = None;
        assert_eq!(second.login(None).await.status, 200);

        let (_, _, account) = first.get("/account").await;
        assert!(
            account.contains("phone") && account.contains("test passkey"),
            "{account}"
        );
        let first_id = glassgate_idp::passkey::credential_id(first.credential_id.as_ref().unwrap());
        let second_id =
            glassgate_idp::passkey::credential_id(second.credential_id.as_ref().unwrap());
        let csrf = csrf_of(&account);

        let path = format!("/account/passkeys/{second_id}");
        let (status, _, _) = first
            .post_form(
                &path,
                &[
                    ("csrf", &csrf),
                    ("action", "rename"),
                    ("name", "work phone"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let (_, _, account) = first.get("/account").await;
        assert!(account.contains("work phone"));

        // Revoke the first passkey from the second's session; the first can no longer sign in.
        let (_, _, account) = second.get("/account").await;
        let csrf = csrf_of(&account);
        let (status, _, _) = second
            .post_form(
                &format!("/account/passkeys/{first_id}"),
                &[("csrf", &csrf), ("action", "revoke")],
            )
            .await;
        assert_eq!(status, 303);
        first.cookie = None;
        let refused = first.login(None).await;
        assert_eq!(refused.error(), "revoked_credential");
        // The last working passkey cannot be revoked.
        let (status, _, body) = second
            .post_form(
                &format!("/account/passkeys/{second_id}"),
                &[("csrf", &csrf), ("action", "revoke")],
            )
            .await;
        assert_eq!(status, 409, "{body}");

        let (_, entries) = audit(&server).await;
        assert!(
            entries
                .iter()
                .any(|e| e.refusal.as_deref() == Some("revoked_credential"))
        );
        assert!(
            entries
                .iter()
                .filter(|e| e.event == "credential.passkey")
                .count()
                >= 6,
            "enroll, add, login, rename, revoke, refusal"
        );
    }
}

#[tokio::test]
async fn ceremony_refusals_are_specific_and_logged() {
    for backend in backends() {
        let options = ServerOptions::shipped().env("GLASSGATE_WEB__CEREMONY_TTL_SECS", "2");
        let server = TestServer::start(&backend, options).await;
        let link = invite(&server, NPI).await;
        let mut person = Person::new(&server);

        // Registration without user verification.
        let token = Url::parse(&link)
            .unwrap()
            .query_pairs()
            .next()
            .unwrap()
            .1
            .into_owned();
        let start = json!({ "invitation": token, "display_name": "Dr. Rosalind Franklin" });
        let no_uv = Tweak {
            skip_user_verification: true,
            ..Tweak::default()
        };
        let (ceremony, credential) = person.create(start.clone(), &no_uv).await.unwrap();
        let refused = person
            .post_json(
                "/passkey/register/finish",
                &json!({ "ceremony": ceremony, "credential": credential }),
            )
            .await;
        assert_eq!(refused.error(), "user_not_verified", "{:?}", refused.body);

        assert_eq!(
            person.enroll(&link, "Dr. Rosalind Franklin").await.status,
            200
        );
        // The invitation is single use.
        let mut other = Person::new(&server);
        assert_eq!(
            other.enroll(&link, "Someone Else").await.error(),
            "invitation_used"
        );
        // An expired invitation.
        let late = invite(&server, "1245319599").await;
        server
            .execute_sql(
                "UPDATE invitations SET expires_at = 0 WHERE redeemed_at IS NULL",
                "UPDATE invitations SET expires_at = 0 WHERE redeemed_at IS NULL",
            )
            .await;
        assert_eq!(
            other.enroll(&late, "Someone Else").await.error(),
            "invitation_expired"
        );
        assert_eq!(
            other
                .enroll(&format!("{}/enroll?invitation=nope", server.issuer), "X")
                .await
                .error(),
            "invitation_unknown"
        );
        person.cookie = None;

        // Replay: the same response twice (ceremony used), then against a new ceremony.
        let (ceremony, credential) = person.assert(&Tweak::default()).await;
        assert_eq!(
            person
                .finish_login(&ceremony, &credential, None)
                .await
                .status,
            200
        );
        assert_eq!(
            person
                .finish_login(&ceremony, &credential, None)
                .await
                .error(),
            "ceremony_unknown"
        );
        let (fresh, _) = person.assert(&Tweak::default()).await;
        assert_eq!(
            person.finish_login(&fresh, &credential, None).await.error(),
            "challenge_mismatch"
        );

        for (tweak, expected) in [
            (
                Tweak {
                    // Another origin the client accepts for the RP id `localhost`.
                    origin: Some(server.issuer.replace("http://", "https://")),
                    ..Tweak::default()
                },
                "origin_mismatch",
            ),
            (
                Tweak {
                    rp_id: Some("phish.example".into()),
                    ..Tweak::default()
                },
                "rp_id_mismatch",
            ),
            (no_uv.clone(), "user_not_verified"),
        ] {
            let (ceremony, credential) = person.assert(&tweak).await;
            let answer = person.finish_login(&ceremony, &credential, None).await;
            assert_eq!(answer.error(), expected, "{:?}", answer.body);
            assert_eq!(answer.status, 403);
        }

        // An expired ceremony.
        let (ceremony, credential) = person.assert(&Tweak::default()).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(
            person
                .finish_login(&ceremony, &credential, None)
                .await
                .error(),
            "ceremony_unknown"
        );

        // A credential presented for another account is unknown.
        let mut stranger = Person::new(&server);
        assert_eq!(
            stranger
                .enroll(&invite(&server, "1679576722").await, "Dr. Stranger")
                .await
                .status,
            200
        );
        stranger.user_handle = person.user_handle.clone();
        stranger.cookie = None;
        assert_eq!(stranger.login(None).await.error(), "unknown_credential");

        // A counter that goes backwards blocks the credential.
        server
            .execute_sql(
                "UPDATE passkeys SET passkey = json_set(passkey, '$.cred.counter', 1000000)",
                "UPDATE passkeys SET passkey = jsonb_set(passkey::jsonb, '{cred,counter}', '1000000')::text",
            )
            .await;
        assert_eq!(person.login(None).await.error(), "counter_regression");
        assert_eq!(person.login(None).await.error(), "flagged_credential");

        let (_, entries) = audit(&server).await;
        for class in [
            "user_not_verified",
            "invitation_used",
            "ceremony_unknown",
            "challenge_mismatch",
            "origin_mismatch",
            "rp_id_mismatch",
            "unknown_credential",
            "counter_regression",
            "flagged_credential",
        ] {
            assert!(
                entries
                    .iter()
                    .any(|e| e.event == "credential.passkey" && e.refusal.as_deref() == Some(class)),
                "no {class} refusal in the log"
            );
        }
        if let Backend::Sqlite = backend {
            // Nothing above left a half-made account behind.
            let (_, _, account) = other.get("/account").await;
            assert!(account.is_empty() || !account.contains("Someone Else"));
        }
    }
}
