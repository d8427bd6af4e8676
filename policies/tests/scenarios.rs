//! The end-to-end scenarios of issue 7, at the library level.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

mod common;

use common::*;
use glassgate_policies::*;
use serde_json::json;

#[test]
fn clinician_with_active_npi_gets_treat_with_user_read() {
    let d = decide(&treatment(true, Aal::Aal2, "openid fhirUser user/*.rs"));
    assert_eq!(granted(&d), "openid fhirUser user/*.rs");
    assert_eq!(d.purpose.exchange(), ExchangePurpose::Treatment);
    assert_eq!(d.purpose.hl7(), Hl7PurposeOfUse::Treat);
    assert_eq!(d.determining_policies, ["sign-in", "treatment"]);
    assert_eq!(d.decision_id.len(), 32);
}

#[test]
fn same_clinician_with_deactivated_npi_is_denied() {
    let d = decide(&treatment(false, Aal::Aal2, "openid fhirUser user/*.rs"));
    assert_eq!(denied(&d), DenyReason::ClinicianNotActiveInDirectory);
    assert_eq!(
        d.determining_policies,
        ["clinician-not-active-in-directory"]
    );
    assert_eq!(d.oauth_error(), Some("access_denied"));
}

#[test]
fn at_aal1_the_answer_is_a_step_up_not_a_denial() {
    let d = decide(&treatment(true, Aal::Aal1, "openid fhirUser user/*.rs"));
    match &d.outcome {
        Outcome::StepUp {
            acr_values,
            max_age,
            aal,
        } => {
            assert_eq!(acr_values, &["phr"]);
            assert_eq!(*max_age, 300);
            assert_eq!(*aal, Aal::Aal2);
        }
        other => panic!("expected a step-up, got {other:?}"),
    }
    assert_eq!(d.oauth_error(), Some("insufficient_user_authentication"));
    assert!(d.determining_policies.contains(&"treatment".to_owned()));

    // A deactivated NPI is not fixed by authenticating again: plain refusal.
    let d = decide(&treatment(false, Aal::Aal1, "user/*.rs"));
    assert_eq!(denied(&d), DenyReason::ClinicianNotActiveInDirectory);
}

#[test]
fn consent_restriction_by_recipient_blocks_the_restricted_organisation() {
    let consent = ConsentRestrictions {
        recipient_organisations: vec!["org-mercy".to_owned()],
        ..Default::default()
    };
    let d = decide(
        &treatment(true, Aal::Aal2, "openid user/*.rs")
            .with_patient_context("Patient-123")
            .with_consent(consent.clone()),
    );
    assert_eq!(
        denied(&d),
        DenyReason::ConsentRestriction {
            by: ConsentRestrictionKind::Recipient
        }
    );
    assert!(
        d.determining_policies
            .contains(&"consent-restricts-recipient".to_owned())
    );

    // Another organisation is not restricted.
    let mut other = treatment(true, Aal::Aal2, "user/*.rs").with_consent(consent);
    other.client = client("other-ehr", "org-general", OrganisationKind::Provider);
    assert_eq!(granted(&decide(&other)), "user/*.rs");
}

#[test]
fn consent_restriction_by_purpose() {
    let consent = ConsentRestrictions {
        purposes: vec![ExchangePurpose::Treatment],
        ..Default::default()
    };
    let d = decide(&treatment(true, Aal::Aal2, "user/*.rs").with_consent(consent));
    assert_eq!(
        denied(&d),
        DenyReason::ConsentRestriction {
            by: ConsentRestrictionKind::Purpose
        }
    );
    // A restriction of a parent purpose covers its sub-codes.
    let consent = ConsentRestrictions {
        purposes: vec![ExchangePurpose::HealthCareOperations],
        ..Default::default()
    };
    let d = decide(
        &payer(
            "T-HCO-QAI",
            "system/Observation.rs?code=http://loinc.org|4548-4",
        )
        .with_consent(consent),
    );
    assert_eq!(
        denied(&d),
        DenyReason::ConsentRestriction {
            by: ConsentRestrictionKind::Purpose
        }
    );
}

/// T-TREAT and T-TRTMNT are both "Treatment" (the privacy page shows one choice, the
/// treatment policies accept either): a restriction on one code must not be bypassed by a
/// client sending the other.
#[test]
fn consent_restriction_on_either_treatment_code_covers_both() {
    for (restricted, asked) in [("T-TREAT", "T-TRTMNT"), ("T-TRTMNT", "T-TREAT")] {
        let consent = ConsentRestrictions {
            purposes: vec![xp(restricted).exchange()],
            ..Default::default()
        };
        let mut clinician_ask = treatment(true, Aal::Aal2, "openid user/*.rs");
        clinician_ask.purpose = xp(asked);
        // Without the consent the other code is permitted, so the refusal below is the
        // consent's doing.
        assert_eq!(granted(&decide(&clinician_ask)), "openid user/*.rs");
        let backend_ask = request(Stage::Token, ehr_client(), xp(asked), "system/*.rs");
        assert_eq!(granted(&decide(&backend_ask)), "system/*.rs");
        for ask in [clinician_ask, backend_ask] {
            let d = decide(&ask.with_consent(consent.clone()));
            assert_eq!(
                denied(&d),
                DenyReason::ConsentRestriction {
                    by: ConsentRestrictionKind::Purpose
                },
                "{restricted} restricted, {asked} asked"
            );
            assert!(
                d.determining_policies
                    .contains(&"consent-restricts-purpose".to_owned())
            );
        }
    }
    // The link is for consent only: a refresh still may not switch between the two codes.
    let grant = PriorGrant {
        scopes: scopes("openid user/*.rs"),
        purpose: xp("T-TREAT"),
    };
    let d = decide(
        &request(
            Stage::Refresh(grant),
            ehr_client(),
            xp("T-TRTMNT"),
            "user/*.rs",
        )
        .with_person(clinician(true, Aal::Aal2)),
    );
    assert_eq!(denied(&d), DenyReason::PurposeChanged);
}

#[test]
fn consent_restriction_by_data_category_excludes_part2_records() {
    let consent = ConsentRestrictions {
        data_categories: vec![DataCategory::SubstanceUseDisorderPart2],
        ..Default::default()
    };
    // A broad scope is narrowed: the Part 2 label is excluded.
    let d = decide(&treatment(true, Aal::Aal2, "openid user/*.rs").with_consent(consent.clone()));
    let part2 = "http://terminology.hl7.org/CodeSystem/v3-ActCode|42CFRPart2";
    assert_eq!(
        granted(&d),
        format!("openid user/*.rs?_security:not={part2}")
    );
    match &d.outcome {
        Outcome::Permit { withheld, .. } => assert_eq!(
            withheld,
            &[WithheldScope {
                scope: "user/*.rs".to_owned(),
                reason: DenyReason::ConsentRestriction {
                    by: ConsentRestrictionKind::DataCategory
                }
            }]
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        d.determining_policies
            .contains(&"consent-restricts-category".to_owned())
    );

    // A scope that asks for Part 2 records outright is refused; others in the same request
    // are still granted.
    let d = decide(
        &treatment(
            true,
            Aal::Aal2,
            &format!("user/Observation.rs?_security={part2} user/Condition.rs"),
        )
        .with_consent(consent.clone()),
    );
    assert_eq!(
        granted(&d),
        format!("user/Condition.rs?_security:not={part2}")
    );
    let d = decide(
        &treatment(
            true,
            Aal::Aal2,
            &format!("user/Observation.rs?_security={part2}"),
        )
        .with_consent(consent),
    );
    assert_eq!(
        denied(&d),
        DenyReason::ConsentRestriction {
            by: ConsentRestrictionKind::DataCategory
        }
    );
}

#[test]
fn payer_gets_narrowed_scopes_only() {
    let d = decide(&payer("T-PYMNT", "system/*.rs").with_claims(vec![
        ClaimRecord {
            claim_id: "claim-recent".to_owned(),
            encounter_id: "enc-recent".to_owned(),
            date: days_ago(10),
        },
        ClaimRecord {
            claim_id: "claim-old".to_owned(),
            encounter_id: "enc-old".to_owned(),
            date: days_ago(61),
        },
    ]));
    let g = granted(&d);
    assert!(!g.contains('*'), "never a wildcard: {g}");
    for code in [
        "http://loinc.org|4548-4",
        "http://loinc.org|85354-9",
        "http://loinc.org|39156-5",
        "http://loinc.org|44261-6",
        "http://snomed.info/sct|71651007",
        "http://snomed.info/sct|73761001",
    ] {
        assert!(g.contains(code), "{code} missing from {g}");
    }
    assert!(g.contains("system/Encounter.rs?_id=enc-recent"));
    assert!(
        !g.contains("enc-old"),
        "claims older than 60 days give nothing"
    );
    assert_eq!(
        d.determining_policies,
        ["payer-claim-encounters", "payer-quality-measures"]
    );
    match &d.outcome {
        Outcome::Permit { withheld, .. } => {
            assert_eq!(withheld[0].scope, "system/*.rs");
            assert_eq!(withheld[0].reason, DenyReason::NotPermitted);
        }
        other => panic!("{other:?}"),
    }

    // Operations sub-codes count as operations; treatment does not.
    assert!(decide(&payer("T-HCO-HED", "system/Observation.rs")).is_permit());
    assert_eq!(
        denied(&decide(&payer("T-TREAT", "system/*.rs"))),
        DenyReason::NotPermitted
    );
}

#[test]
fn delegated_vendor_with_baa_gets_narrower_or_equal_scopes_and_same_purpose() {
    let provider_scopes = "user/*.rs";
    let d = decide(&exchange(
        true,
        provider_scopes,
        xp("T-TREAT"),
        xp("T-TREAT"),
        "user/Observation.rs user/*.cruds",
    ));
    let g = granted(&d);
    assert!(scopes(&g).is_same_or_narrower_than(&scopes(provider_scopes)));
    assert_eq!(
        g, "user/*.rs",
        "the wider ask is narrowed to the subject token's"
    );
    assert_eq!(d.purpose.exchange(), ExchangePurpose::Treatment);
    assert!(
        d.determining_policies
            .contains(&"delegated-exchange".to_owned())
    );

    // Without a BAA: refused.
    let d = decide(&exchange(
        false,
        provider_scopes,
        xp("T-TREAT"),
        xp("T-TREAT"),
        "user/Observation.rs",
    ));
    assert_eq!(denied(&d), DenyReason::NotPermitted);

    // Another purpose than the subject token's: refused.
    let d = decide(&exchange(
        true,
        provider_scopes,
        xp("T-TREAT"),
        xp("T-PYMNT"),
        "user/Observation.rs",
    ));
    assert_eq!(denied(&d), DenyReason::PurposeChanged);
    assert_eq!(d.oauth_error(), Some("invalid_grant"));

    // Nothing in common with the subject token: refused as widening.
    let d = decide(&exchange(
        true,
        "user/Observation.rs",
        xp("T-TREAT"),
        xp("T-TREAT"),
        "user/Condition.rs",
    ));
    assert_eq!(denied(&d), DenyReason::WiderThanPriorGrant);
}

#[test]
fn no_or_unknown_purpose_is_refused_with_a_specific_error() {
    assert_eq!(
        purpose_from_authorization_details(&json!([])),
        Err(PurposeError::Absent)
    );
    assert_eq!(
        purpose_from_authorization_details(&serde_json::Value::Null),
        Err(PurposeError::Absent)
    );
    assert_eq!(
        purpose_from_authorization_details(&json!([{"type": "purpose_of_use",
            "purpose_of_use": {"system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-NOPE"}}])),
        Err(PurposeError::UnknownCode {
            system: "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1".to_owned(),
            code: "T-NOPE".to_owned()
        })
    );
    assert_eq!(
        purpose_from_hl7_b2b(&json!({"subject_id": "x"})),
        Err(PurposeError::Absent)
    );
    assert!(matches!(
        purpose_from_hl7_b2b(&json!({"purpose_of_use": ["urn:oid:2.16.840.1.113883.5.8#NOPE"]})),
        Err(PurposeError::UnknownCode { .. })
    ));
}

#[test]
fn refresh_is_bound_to_purpose_and_grant() {
    let grant = PriorGrant {
        scopes: scopes("openid user/*.rs"),
        purpose: hl7("TREAT"),
    };
    let refresh = |purpose: PurposeOfUse, s: &str| {
        request(Stage::Refresh(grant.clone()), ehr_client(), purpose, s)
            .with_person(clinician(true, Aal::Aal2))
    };
    assert_eq!(
        granted(&decide(&refresh(
            hl7("TREAT"),
            "openid user/Observation.rs"
        ))),
        "openid user/Observation.rs"
    );
    assert_eq!(
        denied(&decide(&refresh(xp("T-PYMNT"), "user/Observation.rs"))),
        DenyReason::PurposeChanged
    );
    // A wider ask is narrowed to the grant.
    assert_eq!(
        granted(&decide(&refresh(hl7("TREAT"), "user/*.cruds"))),
        "user/*.rs"
    );
}

#[test]
fn decisions_serialise_for_the_log() {
    let d = decide(&treatment(true, Aal::Aal2, "user/*.rs"));
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["outcome"]["outcome"], "permit");
    assert_eq!(v["outcome"]["granted"], "user/*.rs");
    assert_eq!(v["purpose"][0]["code"], "TREAT");
    assert_eq!(v["purpose"][1]["code"], "T-TREAT");
    assert_eq!(v["policy_set_version"].as_str().unwrap().len(), 64);
    let other = decide(&treatment(true, Aal::Aal2, "user/*.rs"));
    assert_ne!(d.decision_id, other.decision_id);
}
