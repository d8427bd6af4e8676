//! Per-policy examples: for each shipped policy, requests with the expected allow or deny.
//! The shipped set is loaded through the engine, i.e. after strict validation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

mod common;

use common::*;
use glassgate_policies::*;

/// (case, request, expected granted scopes or None for "not permitted")
type Case = (&'static str, AccessRequest, Option<&'static str>);

fn check(cases: Vec<Case>) {
    let engine = engine();
    for (name, request, expected) in cases {
        let d = decide_checked(&engine, &request, name);
        match (expected, d.granted()) {
            (Some(want), Some(got)) => assert_eq!(got.to_string(), want, "{name}"),
            (None, None) => {}
            (want, _) => panic!(
                "{name}: expected {want:?}, got {:?} (policies {:?})",
                d.outcome, d.determining_policies
            ),
        }
    }
}

#[test]
fn individual_access_policy() {
    let mut other_patient = individual_access(Ial::Ial2, Aal::Aal2, "patient/*.rs");
    other_patient.patient_context = Some("Patient-999".to_owned());
    let mut no_context = individual_access(Ial::Ial2, Aal::Aal2, "patient/*.rs");
    no_context.patient_context = None;
    let mut treatment_purpose = individual_access(Ial::Ial2, Aal::Aal2, "patient/*.rs");
    treatment_purpose.purpose = xp("T-TREAT");
    check(vec![
        (
            "IAL2 AAL2 own record",
            individual_access(
                Ial::Ial2,
                Aal::Aal2,
                "openid fhirUser launch/patient patient/*.rs",
            ),
            Some("openid fhirUser launch/patient patient/*.rs"),
        ),
        (
            "v1 read scope",
            individual_access(Ial::Ial2, Aal::Aal2, "patient/Observation.read"),
            Some("patient/Observation.rs"),
        ),
        (
            "HL7 PATRQT is T-IAS",
            {
                let mut r = individual_access(Ial::Ial2, Aal::Aal2, "patient/*.rs");
                r.purpose = hl7("PATRQT");
                r
            },
            Some("patient/*.rs"),
        ),
        (
            "writes narrowed to read",
            individual_access(Ial::Ial2, Aal::Aal2, "patient/*.cruds"),
            Some("patient/*.rs"),
        ),
        (
            "IAL1",
            individual_access(Ial::Ial1, Aal::Aal2, "patient/*.rs"),
            None,
        ),
        (
            "AAL1",
            individual_access(Ial::Ial2, Aal::Aal1, "patient/*.rs"),
            None,
        ),
        ("another patient", other_patient, None),
        ("no launch patient", no_context, None),
        ("purpose not T-IAS", treatment_purpose, None),
        (
            "user scopes",
            individual_access(Ial::Ial2, Aal::Aal2, "user/*.rs"),
            None,
        ),
    ]);
}

#[test]
fn individual_access_steps_up_at_aal1_but_not_at_ial1() {
    let d = engine().decide(&individual_access(
        Ial::Ial2,
        Aal::Aal1,
        "openid patient/*.rs",
    ));
    assert!(
        matches!(d.outcome, Outcome::StepUp { aal: Aal::Aal2, .. }),
        "{d:?}"
    );
    let d = engine().decide(&individual_access(
        Ial::Ial1,
        Aal::Aal1,
        "openid patient/*.rs",
    ));
    assert_eq!(denied(&d), DenyReason::NotPermitted);
}

#[test]
fn treatment_policy() {
    let mut payment = common::treatment(true, Aal::Aal2, "user/*.rs");
    payment.purpose = xp("T-PYMNT");
    let mut ial1 = common::treatment(true, Aal::Aal2, "user/*.rs");
    ial1.person = Some(Person::Clinician(ClinicianPerson {
        subject: "c".to_owned(),
        npi: "1".to_owned(),
        directory_active: true,
        ial: Ial::Ial1,
        aal: Aal::Aal2,
    }));
    check(vec![
        (
            "active clinician, TREAT",
            common::treatment(true, Aal::Aal2, "user/*.rs"),
            Some("user/*.rs"),
        ),
        (
            "T-TRTMNT",
            {
                let mut r = common::treatment(true, Aal::Aal2, "user/Observation.rs");
                r.purpose = xp("T-TRTMNT");
                r
            },
            Some("user/Observation.rs"),
        ),
        (
            "ETREAT is treatment",
            {
                let mut r = common::treatment(true, Aal::Aal2, "user/*.rs");
                r.purpose = hl7("ETREAT");
                r
            },
            Some("user/*.rs"),
        ),
        (
            "cruds narrowed to rs",
            common::treatment(true, Aal::Aal2, "user/*.cruds"),
            Some("user/*.rs"),
        ),
        (
            "write only",
            common::treatment(true, Aal::Aal2, "user/*.cud"),
            None,
        ),
        (
            "inactive NPI",
            common::treatment(false, Aal::Aal2, "user/*.rs"),
            None,
        ),
        (
            "AAL1",
            common::treatment(true, Aal::Aal1, "user/*.rs"),
            None,
        ),
        ("IAL1", ial1, None),
        ("payment purpose", payment, None),
        (
            "patient scopes",
            common::treatment(true, Aal::Aal2, "patient/*.rs"),
            None,
        ),
        (
            "system scopes",
            common::treatment(true, Aal::Aal2, "system/*.rs"),
            None,
        ),
    ]);
}

#[test]
fn sign_in_policy() {
    check(vec![
        (
            "clinician signs in only",
            common::treatment(true, Aal::Aal1, "openid fhirUser profile"),
            Some("openid fhirUser profile"),
        ),
        (
            "backend client has no person to sign in",
            payer("T-PYMNT", "openid"),
            None,
        ),
        (
            "inactive clinician cannot even sign in for a token",
            common::treatment(false, Aal::Aal2, "openid"),
            None,
        ),
    ]);
}

#[test]
fn payment_and_operations_policies() {
    check(vec![
        (
            "HbA1c asked directly",
            payer(
                "T-PYMNT",
                "system/Observation.rs?code=http://loinc.org|4548-4",
            ),
            Some("system/Observation.rs?code=http://loinc.org|4548-4"),
        ),
        (
            "Observation narrowed to the observation measures",
            payer("T-HCO", "system/Observation.read"),
            Some(
                "system/Observation.rs?code=http://loinc.org|39156-5 \
                 system/Observation.rs?code=http://loinc.org|44261-6 \
                 system/Observation.rs?code=http://loinc.org|4548-4 \
                 system/Observation.rs?code=http://loinc.org|55758-7 \
                 system/Observation.rs?code=http://loinc.org|85354-9",
            ),
        ),
        (
            "procedures narrowed",
            payer("T-HCO-QAI", "system/Procedure.rs"),
            Some(
                "system/Procedure.rs?code=http://snomed.info/sct|71651007 \
                 system/Procedure.rs?code=http://snomed.info/sct|73761001",
            ),
        ),
        (
            "other lab codes: nothing",
            payer(
                "T-PYMNT",
                "system/Observation.rs?code=http://loinc.org|2345-7",
            ),
            None,
        ),
        (
            "Condition: nothing",
            payer("T-PYMNT", "system/Condition.rs"),
            None,
        ),
        (
            "write: read part only",
            payer(
                "T-PYMNT",
                "system/Observation.cruds?code=http://loinc.org|4548-4",
            ),
            Some("system/Observation.rs?code=http://loinc.org|4548-4"),
        ),
        (
            "not a payer",
            {
                let mut r = payer(
                    "T-PYMNT",
                    "system/Observation.rs?code=http://loinc.org|4548-4",
                );
                r.client = vendor_client();
                r
            },
            None,
        ),
        (
            "public health purpose",
            payer("T-PH", "system/Observation.rs?code=http://loinc.org|4548-4"),
            None,
        ),
        (
            "recent claim encounter",
            payer("T-PYMNT", "system/Encounter.rs").with_claims(vec![ClaimRecord {
                claim_id: "c1".to_owned(),
                encounter_id: "e1".to_owned(),
                date: days_ago(60),
            }]),
            Some("system/Encounter.rs?_id=e1"),
        ),
        (
            "claim of 61 days ago",
            payer("T-PYMNT", "system/Encounter.rs").with_claims(vec![ClaimRecord {
                claim_id: "c1".to_owned(),
                encounter_id: "e1".to_owned(),
                date: days_ago(61),
            }]),
            None,
        ),
        (
            "claim dated in the future",
            payer("T-PYMNT", "system/Encounter.rs").with_claims(vec![ClaimRecord {
                claim_id: "c1".to_owned(),
                encounter_id: "e1".to_owned(),
                date: now() + std::time::Duration::from_secs(86_400),
            }]),
            None,
        ),
    ]);
}

#[test]
fn delegation_policy() {
    let treat = || xp("T-TREAT");
    check(vec![
        (
            "BAA, same purpose, same scopes",
            exchange(true, "user/*.rs", treat(), treat(), "user/*.rs"),
            Some("user/*.rs"),
        ),
        (
            "BAA, narrower scopes",
            exchange(true, "user/*.rs", treat(), treat(), "user/Observation.rs"),
            Some("user/Observation.rs"),
        ),
        (
            "BAA, sub-code purpose",
            exchange(
                true,
                "system/*.rs",
                xp("T-HCO"),
                xp("T-HCO-CC"),
                "system/Encounter.rs",
            ),
            Some("system/Encounter.rs"),
        ),
        (
            "BAA, parent purpose is wider",
            exchange(
                true,
                "system/*.rs",
                xp("T-HCO-CC"),
                xp("T-HCO"),
                "system/Encounter.rs",
            ),
            None,
        ),
        (
            "no BAA",
            exchange(false, "user/*.rs", treat(), treat(), "user/*.rs"),
            None,
        ),
        (
            "BAA with someone else",
            {
                let mut r = exchange(true, "user/*.rs", treat(), treat(), "user/*.rs");
                if let Stage::TokenExchange(d) = &mut r.stage {
                    d.on_behalf_of = org("org-general", OrganisationKind::Provider);
                }
                r
            },
            None,
        ),
        (
            "not a vendor",
            {
                let mut r = exchange(true, "user/*.rs", treat(), treat(), "user/*.rs");
                r.client = payer_client();
                r
            },
            None,
        ),
        (
            "identity scopes beyond the subject token",
            exchange(true, "user/*.rs", treat(), treat(), "offline_access"),
            None,
        ),
    ]);
}

#[test]
fn consent_forbids_win_over_every_permit() {
    let all = ConsentRestrictions {
        purposes: vec![ExchangePurpose::IndividualAccessServices],
        ..Default::default()
    };
    check(vec![
        (
            "patient restricting their own T-IAS",
            individual_access(Ial::Ial2, Aal::Aal2, "openid patient/*.rs").with_consent(all),
            None,
        ),
        (
            "restriction of another purpose does not apply",
            individual_access(Ial::Ial2, Aal::Aal2, "patient/*.rs").with_consent(
                ConsentRestrictions {
                    purposes: vec![ExchangePurpose::Payment],
                    ..Default::default()
                },
            ),
            Some("patient/*.rs"),
        ),
        (
            "delegation for a restricted organisation",
            exchange(true, "user/*.rs", xp("T-TREAT"), xp("T-TREAT"), "user/*.rs").with_consent(
                ConsentRestrictions {
                    recipient_organisations: vec!["org-mercy".to_owned()],
                    ..Default::default()
                },
            ),
            None,
        ),
        (
            "payer with an HIV restriction gets labelled-out measures",
            payer(
                "T-PYMNT",
                "system/Observation.rs?code=http://loinc.org|4548-4",
            )
            .with_consent(ConsentRestrictions {
                data_categories: vec![DataCategory::Hiv],
                ..Default::default()
            }),
            Some(
                "system/Observation.rs?_security:not=http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV&code=http://loinc.org|4548-4",
            ),
        ),
    ]);
}

#[test]
fn token_lineage_policies() {
    let grant = PriorGrant {
        scopes: scopes("openid patient/*.rs"),
        purpose: xp("T-IAS"),
    };
    let refresh = |s: &str| {
        request(
            Stage::Refresh(grant.clone()),
            client("patient-app", "org-app", OrganisationKind::IasProvider),
            xp("T-IAS"),
            s,
        )
        .with_person(patient(Ial::Ial2, Aal::Aal2))
        .with_patient_context("Patient-123")
    };
    check(vec![
        (
            "same",
            refresh("openid patient/*.rs"),
            Some("openid patient/*.rs"),
        ),
        (
            "narrower",
            refresh("patient/Observation.rs"),
            Some("patient/Observation.rs"),
        ),
        ("new identity scope", refresh("offline_access"), None),
    ]);
    let d = engine().decide(&refresh("patient/*.rs offline_access"));
    match &d.outcome {
        Outcome::Permit { granted, withheld } => {
            assert_eq!(granted.to_string(), "patient/*.rs");
            assert_eq!(withheld[0].reason, DenyReason::WiderThanPriorGrant);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn backend_services_policy() {
    let backend =
        |client: ClientInfo, purpose: &str, s: &str| request(Stage::Token, client, xp(purpose), s);
    check(vec![
        (
            "provider backend, treatment, system read",
            backend(
                ehr_client(),
                "T-TREAT",
                "system/Patient.rs system/Observation.rs",
            ),
            Some("system/Observation.rs system/Patient.rs"),
        ),
        (
            "provider backend, writes narrowed to reads",
            backend(ehr_client(), "T-TREAT", "system/Observation.cruds"),
            Some("system/Observation.rs"),
        ),
        (
            "provider backend, another purpose",
            backend(ehr_client(), "T-PH", "system/Patient.rs"),
            None,
        ),
        (
            "provider backend, user scopes are for people",
            backend(ehr_client(), "T-TREAT", "user/Patient.rs"),
            None,
        ),
        (
            "vendor backend, treatment",
            backend(vendor_client(), "T-TREAT", "system/Patient.rs"),
            None,
        ),
        (
            "backend at the authorization endpoint",
            request(
                Stage::Authorize,
                ehr_client(),
                xp("T-TREAT"),
                "system/Patient.rs",
            ),
            None,
        ),
    ]);
}

#[test]
fn audit_policy() {
    let auditor = || {
        client(
            "audit-office",
            "org-network-audit",
            OrganisationKind::Auditor,
        )
    };
    let token =
        |client: ClientInfo, purpose: &str, s: &str| request(Stage::Token, client, xp(purpose), s);
    check(vec![
        (
            "auditor, operations, audit events",
            token(auditor(), "T-HCO", "system/AuditEvent.rs"),
            Some("system/AuditEvent.rs"),
        ),
        (
            "auditor, a sub-purpose of operations",
            token(auditor(), "T-HCO-QAI", "system/AuditEvent.rs"),
            Some("system/AuditEvent.rs"),
        ),
        (
            "auditor, writes narrowed away",
            token(auditor(), "T-HCO", "system/AuditEvent.cruds"),
            Some("system/AuditEvent.rs"),
        ),
        (
            "auditor, clinical data",
            token(auditor(), "T-HCO", "system/Observation.rs"),
            None,
        ),
        (
            "auditor, everything",
            token(auditor(), "T-HCO", "system/*.rs"),
            None,
        ),
        (
            "auditor, treatment purpose",
            token(auditor(), "T-TREAT", "system/AuditEvent.rs"),
            None,
        ),
        (
            "a provider backend is no auditor",
            token(ehr_client(), "T-HCO", "system/AuditEvent.rs"),
            None,
        ),
        (
            "auditor at the authorization endpoint",
            request(
                Stage::Authorize,
                auditor(),
                xp("T-HCO"),
                "system/AuditEvent.rs",
            ),
            None,
        ),
    ]);
}

#[test]
fn the_compiled_in_set_is_the_shipped_directory() {
    let shipped = PolicyEngine::shipped().unwrap();
    assert_eq!(shipped.version(), engine().version());
    assert_eq!(shipped.policy_ids(), engine().policy_ids());
}
