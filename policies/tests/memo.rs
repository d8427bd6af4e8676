//! The decision memo: a repeated question gets the same answer under a fresh decision id,
//! and answers that depend on the time are never reused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use glassgate_policies::*;
use std::fs;
use std::time::Duration;

fn same_answer(engine: &PolicyEngine, request: &AccessRequest) {
    let first = engine.decide(request);
    let second = engine.decide(request);
    assert_eq!(first.outcome, second.outcome);
    assert_eq!(first.determining_policies, second.determining_policies);
    assert_eq!(first.policy_set_version, second.policy_set_version);
    assert_ne!(
        first.decision_id, second.decision_id,
        "every decision has its own id"
    );
}

#[test]
fn repeated_questions_get_the_first_answer_under_a_new_id() {
    let engine = engine();
    for request in [
        treatment(true, Aal::Aal2, "openid fhirUser user/*.rs"),
        treatment(false, Aal::Aal2, "user/*.rs"),
        treatment(true, Aal::Aal1, "user/*.rs"),
        individual_access(Ial::Ial2, Aal::Aal2, "openid launch/patient patient/*.rs"),
        payer("T-PYMNT", "system/Observation.rs"),
        payer("T-TREAT", "system/Observation.rs"),
    ] {
        same_answer(&engine, &request);
    }
    // A different question is not answered from the memo: another person, consent.
    let active = engine.decide(&treatment(true, Aal::Aal2, "user/*.rs"));
    let inactive = engine.decide(&treatment(false, Aal::Aal2, "user/*.rs"));
    assert_ne!(active.outcome, inactive.outcome);
    let restricted = engine.decide(
        &treatment(true, Aal::Aal2, "user/*.rs")
            .with_patient_context("Patient-123")
            .with_consent(ConsentRestrictions {
                recipient_organisations: vec!["org-mercy".to_owned()],
                ..ConsentRestrictions::default()
            }),
    );
    assert!(matches!(restricted.outcome, Outcome::Deny { .. }));
}

#[test]
fn claims_are_decided_at_their_time() {
    let engine = engine();
    let claim = |at| {
        payer("T-PYMNT", "system/Encounter.rs")
            .with_claims(vec![ClaimRecord {
                claim_id: "c-1".to_owned(),
                encounter_id: "enc-1".to_owned(),
                date: days_ago(10),
            }])
            .at(at)
    };
    assert!(matches!(
        engine.decide(&claim(now())).outcome,
        Outcome::Permit { .. }
    ));
    let later = now() + Duration::from_secs(90 * 86_400);
    assert!(matches!(
        engine.decide(&claim(later)).outcome,
        Outcome::Deny { .. }
    ));
}

#[test]
fn a_policy_set_that_reads_the_clock_is_never_memoized() {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(cedar_dir()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    // A deployment's own rule: a vendor's trial access that ends at a cut-off time.
    fs::write(
        dir.path().join("trial.cedar"),
        "@id(\"vendor-trial-until-cut-off\")\n\
         permit (principal is Glassgate::Client, action == Glassgate::Action::\"token\", \
         resource is Glassgate::Scope)\n\
         when { principal.organisation.kind == \"vendor\" && resource.kind == \"data\" && \
         resource.read_only && context.now < 1795000100 };\n",
    )
    .unwrap();
    let engine = PolicyEngine::load(dir.path()).unwrap();
    let request = request(
        Stage::Token,
        vendor_client(),
        xp("T-TREAT"),
        "system/Patient.rs",
    );
    assert!(matches!(
        engine.decide(&request).outcome,
        Outcome::Permit { .. }
    ));
    let later = request.clone().at(now() + Duration::from_secs(3600));
    assert!(matches!(
        engine.decide(&later).outcome,
        Outcome::Deny { .. }
    ));
    assert!(matches!(
        engine.decide(&request).outcome,
        Outcome::Permit { .. }
    ));
}
