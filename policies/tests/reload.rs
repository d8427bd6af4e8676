//! Reload: validate strictly, swap atomically, keep the last good set on error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

mod common;

use common::*;
use glassgate_policies::*;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn copy_shipped(to: &Path) {
    for entry in fs::read_dir(cedar_dir()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

fn treat_ok(p: &ReloadingPolicies) -> bool {
    p.decide(&treatment(true, Aal::Aal2, "user/*.rs"))
        .is_permit()
}

#[test]
fn a_broken_file_keeps_the_last_good_set() {
    let dir = tempfile::tempdir().unwrap();
    copy_shipped(dir.path());
    let policies = ReloadingPolicies::load(dir.path(), StepUpSettings::default()).unwrap();
    let good = policies.version();
    assert!(treat_ok(&policies));

    // Syntax error.
    fs::write(
        dir.path().join("treatment.cedar"),
        "permit (principal, action",
    )
    .unwrap();
    assert!(matches!(
        policies.reload(),
        Err(PolicyError::PolicyParse { .. })
    ));
    assert_eq!(policies.version(), good);
    assert!(treat_ok(&policies), "last good set still decides");

    // Parses, but fails strict validation (misspelt attribute).
    fs::write(
        dir.path().join("treatment.cedar"),
        "@id(\"treatment\") permit (principal is Glassgate::Clinician, action, resource) \
         when { principal.directory_actve };",
    )
    .unwrap();
    match policies.reload() {
        Err(PolicyError::Validation { problems }) => {
            assert!(
                problems.iter().any(|p| p.contains("treatment")),
                "{problems:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(policies.version(), good);

    // Missing @id.
    fs::write(
        dir.path().join("treatment.cedar"),
        "permit (principal, action, resource);",
    )
    .unwrap();
    assert!(matches!(
        policies.reload(),
        Err(PolicyError::MissingId { .. })
    ));

    // A valid change is swapped in: without the treatment policy, treatment is refused.
    fs::remove_file(dir.path().join("treatment.cedar")).unwrap();
    assert!(matches!(policies.reload(), Ok(Reloaded::Swapped { .. })));
    assert_ne!(policies.version(), good);
    assert!(!treat_ok(&policies));

    // And back.
    copy_shipped(dir.path());
    assert!(matches!(policies.reload(), Ok(Reloaded::Swapped { .. })));
    assert_eq!(policies.version(), good);
    assert!(matches!(policies.reload(), Ok(Reloaded::Unchanged { .. })));
}

#[test]
fn load_errors_are_specific() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        PolicyEngine::load(dir.path()),
        Err(PolicyError::Schema { found: 0, .. })
    ));
    copy_shipped(dir.path());
    fs::write(
        dir.path().join("extra.cedar"),
        "@id(\"treatment\") permit (principal, action, resource);",
    )
    .unwrap();
    assert!(matches!(
        PolicyEngine::load(dir.path()),
        Err(PolicyError::DuplicateId { .. })
    ));
    fs::write(
        dir.path().join("extra.cedar"),
        "@id(\"x\") forbid (principal, action, resource);",
    )
    .unwrap();
    assert!(matches!(
        PolicyEngine::load(dir.path()),
        Err(PolicyError::MissingReason { .. })
    ));
    fs::write(
        dir.path().join("extra.cedar"),
        "@id(\"x\") @reason(\"because\") forbid (principal, action, resource);",
    )
    .unwrap();
    assert!(matches!(
        PolicyEngine::load(dir.path()),
        Err(PolicyError::UnknownReason { .. })
    ));
    fs::remove_file(dir.path().join("extra.cedar")).unwrap();
    fs::write(
        dir.path().join("glassgate.cedarschema"),
        "namespace X { entity",
    )
    .unwrap();
    assert!(matches!(
        PolicyEngine::load(dir.path()),
        Err(PolicyError::SchemaParse { .. })
    ));
}

#[tokio::test]
async fn polling_reloads_on_change_and_survives_a_broken_write() {
    let dir = tempfile::tempdir().unwrap();
    copy_shipped(dir.path());
    let policies =
        Arc::new(ReloadingPolicies::load(dir.path(), StepUpSettings::default()).unwrap());
    let good = policies.version();
    let swaps = Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = Arc::clone(&swaps);
    let task = Arc::clone(&policies).spawn_polling(Duration::from_millis(20), move |from, to| {
        heard.lock().unwrap().push((from.to_owned(), to.to_owned()));
    });

    fs::write(dir.path().join("treatment.cedar"), "not cedar at all").unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(policies.version(), good, "broken write: last good set kept");
    assert!(treat_ok(&policies));

    fs::remove_file(dir.path().join("treatment.cedar")).unwrap();
    let mut swapped = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if policies.version() != good {
            swapped = true;
            break;
        }
    }
    assert!(swapped, "a valid change is picked up by polling");
    // The swap is reported just after it takes effect.
    for _ in 0..50 {
        if !swaps.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    assert_eq!(
        *swaps.lock().unwrap(),
        vec![(good, policies.version())],
        "the swap is reported once, the broken write not at all"
    );
}
