//! The active-clinician check end to end: a directory ingested with `directory-sync` (every
//! real format, generated), clinicians enrolled with passkeys, and the token endpoint granting
//! an active clinician (with `fhirUser` and the NPI in the log) and refusing a deactivated,
//! inactive, unknown or non-individual one with the reason class, each refusal logged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use glassgate_directory::fixtures::Scenario;
use glassgate_tests::directory::seed;
use glassgate_tests::jwt::claims_of;
use glassgate_tests::oauth::{pushed_authorization, query_param, try_redeem_as};
use glassgate_tests::passkeys::{Person, invite};
use glassgate_tests::tlog::audit;
use glassgate_tests::{ServerOptions, TestServer, backends};
use serde_json::json;

/// Enroll a clinician with `npi`, sign in for the `par` client and redeem the code; returns
/// the token endpoint's status and body.
async fn clinician_token(server: &TestServer, npi: &str) -> (u16, serde_json::Value) {
    let link = invite(server, npi).await;
    let mut person = Person::new(server);
    assert_eq!(person.enroll(&link, "Dr. Test").await.status, 200);
    let (authorize, verifier) =
        pushed_authorization(server, "par", &[("scope", "openid fhirUser")]).await;
    let back = person.sign_in_for_redirect(&authorize).await;
    // Policy asks the directory at authorize time too: an inactive clinician is refused
    // there, before any code exists.
    if let Some(error) = query_param(&back, "error") {
        let description = query_param(&back, "error_description").unwrap_or_default();
        return (
            403,
            json!({ "error": error, "error_description": description }),
        );
    }
    let code = query_param(&back, "code").unwrap();
    let (status, _, body) = try_redeem_as(server, "par", &code, &verifier).await;
    (status, body)
}

#[tokio::test]
async fn tokens_only_for_active_clinicians() {
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::shipped()).await;
        // Before any release is ingested the check fails closed.
        let scenario = Scenario::standard();
        let (status, body) = clinician_token(&server, &scenario.active[0]).await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("no_current_release")
        );

        seed(&server, &scenario).await;
        let (status, body) = clinician_token(&server, &scenario.active[1]).await;
        assert_eq!(status, 200, "{body}");
        let id_token = claims_of(body["id_token"].as_str().unwrap());
        assert!(
            id_token["fhirUser"]
                .as_str()
                .unwrap()
                .contains("/Practitioner/"),
            "{id_token}"
        );

        for (npi, class) in [
            (&scenario.inactive[0], "inactive"),
            (&scenario.deactivated_in_npd[0], "deactivated"),
            (&scenario.deactivated_in_report[0], "deactivated"),
            (&scenario.non_individual[0], "not_individual"),
            (&scenario.unknown[0], "unknown"),
        ] {
            let (status, body) = clinician_token(&server, npi).await;
            assert_eq!(status, 403, "{npi}: {body}");
            assert_eq!(body["error"], "access_denied");
            let description = body["error_description"].as_str().unwrap();
            assert!(
                description.contains(&format!("clinician_not_active ({class})")),
                "{npi}: {description}"
            );
        }
        // Reactivated since the deactivation report: active.
        let (status, body) = clinician_token(&server, &scenario.reactivated[0]).await;
        assert_eq!(status, 200, "{body}");

        let (_, entries) = audit(&server).await;
        let issued: Vec<_> = entries
            .iter()
            .filter(|e| e.event == "token.issued" && e.npi.is_some())
            .collect();
        assert_eq!(
            issued.len(),
            2,
            "both active clinicians' issuances carry the NPI"
        );
        let refused = entries
            .iter()
            .filter(|e| {
                matches!(e.event.as_str(), "token.refused" | "authorization.refused")
                    && e.refusal.as_deref() == Some("access_denied")
                    && e.decision.is_some()
            })
            .count();
        assert!(refused >= 6, "every refusal is logged ({refused})");
    }
}
