//! Shared fixtures: the shipped policy directory and typed requests.
#![allow(dead_code)]

use glassgate_policies::*;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn cedar_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cedar")
}

pub fn engine() -> PolicyEngine {
    PolicyEngine::load(cedar_dir()).unwrap()
}

/// A fixed evaluation time (2026-11-18T11:06:40Z).
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_000_000)
}

pub fn days_ago(days: u64) -> SystemTime {
    now() - Duration::from_secs(days * 86_400)
}

pub fn scopes(s: &str) -> ScopeSet {
    ScopeSet::parse(s).unwrap()
}

pub fn xp(code: &str) -> PurposeOfUse {
    PurposeOfUse::from_exchange(ExchangePurpose::from_code(code).unwrap())
}

pub fn hl7(code: &str) -> PurposeOfUse {
    PurposeOfUse::from_hl7(Hl7PurposeOfUse::from_code(code).unwrap()).unwrap()
}

pub fn org(id: &str, kind: OrganisationKind) -> Organisation {
    Organisation {
        id: id.to_owned(),
        kind,
    }
}

pub fn client(client_id: &str, org_id: &str, kind: OrganisationKind) -> ClientInfo {
    ClientInfo {
        client_id: client_id.to_owned(),
        organisation: org(org_id, kind),
    }
}

pub fn ehr_client() -> ClientInfo {
    client("ehr-app", "org-mercy", OrganisationKind::Provider)
}

pub fn payer_client() -> ClientInfo {
    client(
        "payer-backend",
        "org-acme-health-plan",
        OrganisationKind::Payer,
    )
}

pub fn vendor_client() -> ClientInfo {
    client(
        "vendor-backend",
        "org-scribe-vendor",
        OrganisationKind::Vendor,
    )
}

pub fn clinician(directory_active: bool, aal: Aal) -> Person {
    Person::Clinician(ClinicianPerson {
        subject: "clin-1".to_owned(),
        npi: "1234567893".to_owned(),
        directory_active,
        ial: Ial::Ial2,
        aal,
    })
}

pub fn patient(ial: Ial, aal: Aal) -> Person {
    Person::Patient(PatientPerson {
        subject: "pat-subject-1".to_owned(),
        ial,
        aal,
        patient_id: "Patient-123".to_owned(),
    })
}

pub fn request(stage: Stage, client: ClientInfo, purpose: PurposeOfUse, s: &str) -> AccessRequest {
    AccessRequest::new(stage, client, purpose, scopes(s)).at(now())
}

/// A clinician treatment request at the token endpoint.
pub fn treatment(active: bool, aal: Aal, s: &str) -> AccessRequest {
    request(Stage::Token, ehr_client(), hl7("TREAT"), s).with_person(clinician(active, aal))
}

/// A patient's individual-access request with their own launch context.
pub fn individual_access(ial: Ial, aal: Aal, s: &str) -> AccessRequest {
    request(
        Stage::Authorize,
        client("patient-app", "org-app", OrganisationKind::IasProvider),
        xp("T-IAS"),
        s,
    )
    .with_person(patient(ial, aal))
    .with_patient_context("Patient-123")
}

/// A payer's backend request.
pub fn payer(purpose: &str, s: &str) -> AccessRequest {
    request(Stage::Token, payer_client(), xp(purpose), s)
}

/// A vendor exchanging a provider's token.
pub fn exchange(
    baa: bool,
    subject_scopes: &str,
    subject_purpose: PurposeOfUse,
    purpose: PurposeOfUse,
    s: &str,
) -> AccessRequest {
    let delegation = Delegation {
        on_behalf_of: org("org-mercy", OrganisationKind::Provider),
        subject_token: PriorGrant {
            scopes: scopes(subject_scopes),
            purpose: subject_purpose,
        },
        baa: baa.then(|| BaaRecord {
            reference: "baa-2026-001".to_owned(),
            covered_entity: "org-mercy".to_owned(),
            business_associate: "org-scribe-vendor".to_owned(),
        }),
    };
    request(
        Stage::TokenExchange(delegation),
        vendor_client(),
        purpose,
        s,
    )
}

pub fn granted(d: &Decision) -> String {
    match &d.outcome {
        Outcome::Permit { granted, .. } => granted.to_string(),
        other => panic!(
            "expected a permit, got {other:?} (policies {:?})",
            d.determining_policies
        ),
    }
}

pub fn denied(d: &Decision) -> DenyReason {
    match &d.outcome {
        Outcome::Deny { reason } => *reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Decides with a fresh engine, checking the answer against Cedar asked with every policy
/// whole.
pub fn decide(request: &AccessRequest) -> Decision {
    decide_checked(&engine(), request, "")
}

/// Decides with `engine` (split, and from its memo when it holds the question), checking
/// the answer against Cedar asked with every policy whole and no memo; `what` names the
/// case in a failure.
pub fn decide_checked(engine: &PolicyEngine, request: &AccessRequest, what: &str) -> Decision {
    let d = engine.decide(request);
    let whole = engine.decide_unsplit(request);
    assert_eq!(d.outcome, whole.outcome, "{what}: split and whole disagree");
    assert_eq!(
        d.determining_policies, whole.determining_policies,
        "{what}: split and whole disagree on determining policies"
    );
    d
}
