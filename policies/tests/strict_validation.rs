//! CI gate: every shipped policy file validates against the schema in strict mode, with no
//! error and no warning, on its own and as the whole set; every policy has an @id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

mod common;

use cedar_policy::{PolicySet, Schema, ValidationMode, Validator};
use std::fs;

fn schema() -> Schema {
    let text = fs::read_to_string(common::cedar_dir().join("glassgate.cedarschema")).unwrap();
    let (schema, warnings) = Schema::from_cedarschema_str(&text).unwrap();
    let warnings: Vec<String> = warnings.map(|w| w.to_string()).collect();
    assert!(warnings.is_empty(), "schema warnings: {warnings:?}");
    schema
}

fn policy_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir(common::cedar_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cedar"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_policy_file_validates_strictly_with_no_warning() {
    let validator = Validator::new(schema());
    let files = policy_files();
    assert!(files.len() >= 8, "shipped files: {files:?}");
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        let set: PolicySet = text.parse().unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert!(set.policies().count() > 0, "{path:?} has no policy");
        for policy in set.policies() {
            assert!(
                policy.annotation("id").is_some_and(|id| !id.is_empty()),
                "{path:?}: a policy has no @id"
            );
        }
        let result = validator.validate(&set, ValidationMode::Strict);
        let problems: Vec<String> = result
            .validation_errors()
            .map(|e| e.to_string())
            .chain(result.validation_warnings().map(|w| w.to_string()))
            .collect();
        assert!(problems.is_empty(), "{path:?}: {problems:#?}");
    }
}

#[test]
fn the_engine_loads_the_whole_set_with_ids_from_annotations() {
    let engine = common::engine();
    assert_eq!(
        engine.policy_ids(),
        [
            "auditor-reads-audit-events",
            "backend-services-treatment",
            "clinician-not-active-in-directory",
            "consent-restricts-category",
            "consent-restricts-purpose",
            "consent-restricts-recipient",
            "delegated-exchange",
            "individual-access",
            "no-widening-on-refresh-or-exchange",
            "payer-claim-encounters",
            "payer-quality-measures",
            "purpose-bound-exchange",
            "purpose-bound-refresh",
            "sign-in",
            "treatment",
        ]
    );
    assert_eq!(engine.version().len(), 64);
}
