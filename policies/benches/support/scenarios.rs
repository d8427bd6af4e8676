//! Benchmark scenarios shared by `benches/decide.rs` and `examples/decide_latency.rs`.

use glassgate_policies::*;

pub fn scenario(name: &str) -> Option<AccessRequest> {
    let purpose = |c: &str| ExchangePurpose::from_code(c).map(PurposeOfUse::from_exchange);
    let client = |id: &str, org: &str, kind| ClientInfo {
        client_id: id.to_owned(),
        organisation: Organisation {
            id: org.to_owned(),
            kind,
        },
    };
    let clinician = Person::Clinician(ClinicianPerson {
        subject: "clin-1".to_owned(),
        npi: "1234567893".to_owned(),
        directory_active: true,
        ial: Ial::Ial2,
        aal: Aal::Aal2,
    });
    let ehr = client("ehr-app", "org-mercy", OrganisationKind::Provider);
    Some(match name {
        "treatment" => AccessRequest::new(
            Stage::Token,
            ehr,
            purpose("T-TREAT")?,
            ScopeSet::parse("openid fhirUser user/*.rs").ok()?,
        )
        .with_person(clinician),
        "treatment_part2_consent" => AccessRequest::new(
            Stage::Token,
            ehr,
            purpose("T-TREAT")?,
            ScopeSet::parse("openid fhirUser user/*.rs").ok()?,
        )
        .with_person(clinician)
        .with_patient_context("patient-1")
        .with_consent(ConsentRestrictions {
            data_categories: vec![DataCategory::SubstanceUseDisorderPart2],
            ..Default::default()
        }),
        "payer_narrowed" => AccessRequest::new(
            Stage::Token,
            client("payer", "org-payer", OrganisationKind::Payer),
            purpose("T-PYMNT")?,
            ScopeSet::parse("system/*.rs").ok()?,
        ),
        "step_up" => {
            let mut r = AccessRequest::new(
                Stage::Authorize,
                ehr,
                purpose("T-TREAT")?,
                ScopeSet::parse("openid user/*.rs").ok()?,
            )
            .with_person(clinician);
            if let Some(Person::Clinician(c)) = &mut r.person {
                c.aal = Aal::Aal1;
            }
            r
        }
        _ => return None,
    })
}

pub const SCENARIOS: [&str; 4] = [
    "treatment",
    "treatment_part2_consent",
    "payer_narrowed",
    "step_up",
];
