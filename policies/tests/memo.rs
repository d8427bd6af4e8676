//! The decision memo: a repeated question gets the same answer under a fresh decision id,
//! and answers that depend on the time are never reused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use glassgate_policies::*;
use std::fs;
use std::time::Duration;

/// The shipped policies plus a deployment's own file.
fn shipped_with(file: &str, policies: &str) -> PolicyEngine {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(cedar_dir()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    fs::write(dir.path().join(file), policies).unwrap();
    PolicyEngine::load(dir.path()).unwrap()
}

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
    // A deployment's own rule: a vendor's trial access that ends at a cut-off time.
    let engine = shipped_with(
        "trial.cedar",
        "@id(\"vendor-trial-until-cut-off\")\n\
         permit (principal is Glassgate::Client, action == Glassgate::Action::\"token\", \
         resource is Glassgate::Scope)\n\
         when { principal.organisation.kind == \"vendor\" && resource.kind == \"data\" && \
         resource.read_only && context.now < 1795000100 };\n",
    );
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

/// Decides `request` and checks the answer against Cedar asked with every policy whole, with
/// no memo; returns the decision and whether the memo answered it.
fn exact(engine: &PolicyEngine, request: &AccessRequest) -> (Decision, bool) {
    let kept = engine.kept_decisions();
    let d = decide_checked(engine, request, "memo");
    (d, engine.kept_decisions() == kept)
}

/// A clinician of `org` through `client_id`, about `patient`, under a consent that restricts
/// disclosure to `restricted`.
fn restricted_treatment(
    client_id: &str,
    org: &str,
    patient: &str,
    restricted: &[&str],
) -> AccessRequest {
    let mut r = treatment(true, Aal::Aal2, "openid fhirUser user/*.rs")
        .with_patient_context(patient)
        .with_consent(ConsentRestrictions {
            recipient_organisations: restricted.iter().map(|o| (*o).to_owned()).collect(),
            ..ConsentRestrictions::default()
        });
    r.client = client(client_id, org, OrganisationKind::Provider);
    if let Some(Person::Clinician(c)) = &mut r.person {
        c.subject = format!("{client_id}-clinician");
        c.npi = format!("{:0>10}", client_id.len());
    }
    r
}

#[test]
fn questions_differing_only_in_identifiers_the_policies_cannot_see_are_one_question() {
    let engine = engine();
    // The consent restricts the client's own organisation: refused, whoever asks.
    let (first, memo) = exact(
        &engine,
        &restricted_treatment("ehr-a", "org-a", "P-1", &["org-a"]),
    );
    assert!(!memo);
    assert!(matches!(
        denied(&first),
        DenyReason::ConsentRestriction { .. }
    ));
    let (other, memo) = exact(
        &engine,
        &restricted_treatment("ehr-b", "org-b", "P-2", &["org-b"]),
    );
    assert!(
        memo,
        "another client, organisation, clinician and patient: the same question"
    );
    assert_eq!(denied(&other), denied(&first));
    // The consent restricts another organisation: a different question, permitted.
    let (permitted, memo) = exact(
        &engine,
        &restricted_treatment("ehr-c", "org-c", "P-3", &["org-a"]),
    );
    assert!(
        !memo,
        "an organisation restricted that is not the client's is another question"
    );
    assert_eq!(granted(&permitted), "openid fhirUser user/*.rs");
    let (_, memo) = exact(
        &engine,
        &restricted_treatment("ehr-d", "org-d", "P-4", &["org-x", "org-d"]),
    );
    assert!(
        !memo,
        "the client's organisation among others restricted is another question"
    );

    // A patient asking about themselves: one question for every patient; about someone
    // else: another question, refused.
    let own = |subject: &str, id: &str, context: &str| {
        let mut r =
            individual_access(Ial::Ial2, Aal::Aal2, "patient/*.rs").with_patient_context(context);
        if let Some(Person::Patient(p)) = &mut r.person {
            p.subject = subject.to_owned();
            p.patient_id = id.to_owned();
        }
        r
    };
    let (d, _) = exact(&engine, &own("s-1", "P-1", "P-1"));
    assert_eq!(granted(&d), "patient/*.rs");
    let (d, memo) = exact(&engine, &own("s-2", "P-2", "P-2"));
    assert!(memo);
    assert_eq!(granted(&d), "patient/*.rs");
    let (d, memo) = exact(&engine, &own("s-3", "P-3", "P-4"));
    assert!(!memo, "a patient naming someone else is another question");
    assert!(matches!(d.outcome, Outcome::Deny { .. }));

    // Delegation: the BAA's parties are compared with the client's organisation and the one
    // it acts for; a BAA with another covered entity is another question, refused.
    let with_baa = |vendor: &str, covered: &str| {
        let mut r = exchange(
            true,
            "user/*.rs",
            hl7("TREAT"),
            hl7("TREAT"),
            "user/Observation.rs",
        );
        r.client = client(&format!("{vendor}-app"), vendor, OrganisationKind::Vendor);
        if let Stage::TokenExchange(d) = &mut r.stage
            && let Some(baa) = &mut d.baa
        {
            baa.business_associate = vendor.to_owned();
            baa.covered_entity = covered.to_owned();
        }
        r
    };
    let (d, _) = exact(&engine, &with_baa("org-v1", "org-mercy"));
    assert_eq!(granted(&d), "user/Observation.rs");
    let (d, memo) = exact(&engine, &with_baa("org-v2", "org-mercy"));
    assert!(memo);
    assert_eq!(granted(&d), "user/Observation.rs");
    let (d, memo) = exact(&engine, &with_baa("org-v3", "org-elsewhere"));
    assert!(!memo);
    assert!(matches!(d.outcome, Outcome::Deny { .. }));
}

#[test]
fn identifiers_a_policy_names_or_inspects_stay_in_the_question() {
    // A deployment's own rules: one client switched off, one NPI under review.
    let engine = shipped_with(
        "local.cedar",
        "@id(\"client-switched-off\")\n@reason(\"consent_recipient\")\n\
         forbid (principal, action, resource)\n\
         when { context.client == Glassgate::Client::\"switched-off\" };\n\
         @id(\"npi-under-review\")\n@reason(\"directory_inactive\")\n\
         forbid (principal is Glassgate::Clinician, action, resource)\n\
         when { principal.npi == \"1111111111\" };\n",
    );
    let ask = |client_id: &str, npi: &str| {
        let mut r = treatment(true, Aal::Aal2, "user/*.rs");
        r.client.client_id = client_id.to_owned();
        if let Some(Person::Clinician(c)) = &mut r.person {
            c.npi = npi.to_owned();
        }
        r
    };
    let (d, _) = exact(&engine, &ask("ehr-app", "1234567893"));
    assert_eq!(granted(&d), "user/*.rs");
    let (d, memo) = exact(&engine, &ask("switched-off", "1234567893"));
    assert!(!memo, "a client a policy names is not renamed");
    assert!(matches!(d.outcome, Outcome::Deny { .. }));
    let (d, memo) = exact(&engine, &ask("ehr-app", "1111111111"));
    assert!(!memo, "an NPI a policy compares with a literal is kept");
    assert_eq!(denied(&d), DenyReason::ClinicianNotActiveInDirectory);
    let (_, memo) = exact(&engine, &ask("ehr-app", "1234567893"));
    assert!(memo);
}
