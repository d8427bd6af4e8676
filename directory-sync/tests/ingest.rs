//! A whole directory ingested from generated files in the real formats, then every kind of
//! clinician checked — on SQLite, and on PostgreSQL when `DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use glassgate_directory::fixtures::{self, Scenario, ScenarioFiles};
use glassgate_directory::{
    ActiveClinicians, Dataset, Reason, SyncContext, deactivations, npd, nppes, nucc,
};

async fn ingest_all(ctx: &SyncContext, files: &ScenarioFiles) {
    nucc::ingest(ctx, files.nucc.to_str().unwrap())
        .await
        .unwrap();
    deactivations::ingest(ctx, files.deactivations.to_str().unwrap())
        .await
        .unwrap();
    nppes::ingest_full(ctx, files.nppes.to_str().unwrap())
        .await
        .unwrap();
    let outcome = npd::ingest(ctx, files.manifest.to_str().unwrap(), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.label, "2026-05-07_2128");
}

#[tokio::test]
async fn every_kind_of_clinician() {
    for db in common::backends().await {
        let scenario = Scenario::standard();
        let files = scenario.write(&db.path("in")).unwrap();
        let ctx = db.context();
        ingest_all(&ctx, &files).await;
        let check = ActiveClinicians::new(db.store.clone());
        let expect = |npis: &[String], reason: Option<Reason>| {
            let check = check.clone();
            let npis = npis.to_vec();
            let backend = db.name;
            async move {
                for n in npis {
                    let a = check.check(&n).await.unwrap();
                    assert_eq!(a.reason, reason, "{backend} {n}: {}", a.why);
                    assert_eq!(a.active, reason.is_none());
                    assert_eq!(
                        a.release
                            .as_deref()
                            .map(|r| r.starts_with("2026-05-07_2128#")),
                        Some(true)
                    );
                }
            }
        };
        expect(&scenario.active, None).await;
        expect(&scenario.reactivated, None).await;
        expect(&scenario.inactive, Some(Reason::Inactive)).await;
        expect(&scenario.deactivated_in_npd, Some(Reason::Deactivated)).await;
        expect(&scenario.deactivated_in_report, Some(Reason::Deactivated)).await;
        expect(&scenario.non_individual, Some(Reason::NotIndividual)).await;
        expect(&scenario.organizations, Some(Reason::NotIndividual)).await;
        expect(&scenario.unknown, Some(Reason::Unknown)).await;
        expect(
            &["1234567890".into(), "abc".into(), "".into()],
            Some(Reason::InvalidNpi),
        )
        .await;

        let a = check.check(&scenario.active[0]).await.unwrap();
        assert_eq!(
            a.fhir_user.as_deref(),
            Some(
                format!(
                    "https://directory.cms.gov/fhir/Practitioner/pr-{}",
                    scenario.active[0]
                )
                .as_str()
            )
        );
        // Cached now: the same answer without the store.
        assert!(check.cached_answers() > 0);
        assert_eq!(check.check(&scenario.active[0]).await.unwrap(), a);
    }
}

#[tokio::test]
async fn no_release_fails_closed() {
    for db in common::backends().await {
        let check = ActiveClinicians::new(db.store.clone());
        let a = check.check(&fixtures::npi(1)).await.unwrap();
        assert_eq!(a.reason, Some(Reason::NoCurrentRelease), "{}", db.name);
        assert!(a.release.is_none());
    }
}

#[tokio::test]
async fn without_nucc_the_directory_is_incomplete() {
    for db in common::backends().await {
        let scenario = Scenario::standard();
        let files = scenario.write(&db.path("in")).unwrap();
        let ctx = db.context();
        npd::ingest(&ctx, files.manifest.to_str().unwrap(), false)
            .await
            .unwrap();
        let a = ActiveClinicians::new(db.store.clone())
            .check(&scenario.active[0])
            .await
            .unwrap();
        assert_eq!(a.reason, Some(Reason::DirectoryIncomplete), "{}", db.name);
        // NPD-only taxonomy (qualification, role specialty) suffices once NUCC is loaded.
        nucc::ingest(&ctx, files.nucc.to_str().unwrap())
            .await
            .unwrap();
        let a = ActiveClinicians::with_options(
            db.store.clone(),
            "https://npd.example/fhir/",
            std::time::Duration::from_millis(1),
            10,
        )
        .check(&scenario.active[1])
        .await
        .unwrap();
        assert!(a.active, "{}: {}", db.name, a.why);
        assert_eq!(
            a.fhir_user.as_deref(),
            Some(
                format!(
                    "https://npd.example/fhir/Practitioner/pr-{}",
                    scenario.active[1]
                )
                .as_str()
            )
        );
    }
}

#[tokio::test]
async fn a_release_whose_npi_system_changed_still_matches() {
    for db in common::backends().await {
        let scenario = Scenario::standard();
        let files = scenario.write(&db.path("in")).unwrap();
        let ctx = db.context();
        ingest_all(&ctx, &files).await;
        // The next release: every NPI under the other system, taxonomy under the ValueSet
        // canonical, roles only.
        let mut next = scenario.npd_release();
        next.stamp = "2026-08-20_0100".into();
        for p in &mut next.practitioners {
            p.system = match p.system {
                fixtures::NpiSystem::UsNpi => fixtures::NpiSystem::NamingSystem,
                _ => fixtures::NpiSystem::UsNpi,
            };
            p.taxonomy_system = fixtures::npd::VALUESET_SYSTEM.into();
        }
        let manifest = next.write(&db.path("next")).unwrap();
        let check = ActiveClinicians::with_options(
            db.store.clone(),
            glassgate_directory::NPD_FHIR_BASE,
            std::time::Duration::from_millis(1),
            1000,
        );
        let before = check.check(&scenario.active[0]).await.unwrap();
        let outcome = npd::ingest(&ctx, manifest.to_str().unwrap(), false)
            .await
            .unwrap()
            .unwrap();
        assert!(
            outcome
                .summary
                .npi_systems
                .contains_key("http://hl7.org/fhir/sid/us-npi")
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let after = check.check(&scenario.active[0]).await.unwrap();
        assert!(after.active, "{}", after.why);
        assert_ne!(
            before.release, after.release,
            "{}: cache not invalidated",
            db.name
        );
        assert!(
            after
                .release
                .as_deref()
                .unwrap()
                .starts_with("2026-08-20_0100#")
        );
        // The old release's rows are gone.
        let releases = db.store.releases().await.unwrap();
        assert!(
            releases
                .iter()
                .any(|r| r.id == outcome.release_id && r.state == "current")
        );
        assert!(
            !releases
                .iter()
                .any(|r| r.dataset == Dataset::Npd && r.state == "retired")
        );
        // The same manifest again is a no-op unless forced.
        assert!(
            npd::ingest(&ctx, manifest.to_str().unwrap(), false)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn weekly_file_upserts_by_npi() {
    for db in common::backends().await {
        let scenario = Scenario::standard();
        let files = scenario.write(&db.path("in")).unwrap();
        let ctx = db.context();
        ingest_all(&ctx, &files).await;
        let check = ActiveClinicians::with_options(
            db.store.clone(),
            glassgate_directory::NPD_FHIR_BASE,
            std::time::Duration::from_millis(1),
            1000,
        );
        let target = scenario.active[0].clone();
        assert!(check.check(&target).await.unwrap().active);
        // The weekly file deactivates one clinician and adds a new provider.
        let weekly = db.path("weekly.csv");
        fixtures::nppes::write_nppes(
            &weekly,
            &[
                fixtures::Provider {
                    deactivated: Some("02/01/2026".into()),
                    ..fixtures::Provider::individual(&target, "207Q00000X")
                },
                fixtures::Provider::individual(&fixtures::npi(77), "207Q00000X"),
            ],
            &Default::default(),
        )
        .unwrap();
        let summary = nppes::ingest_weekly(&ctx, weekly.to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(summary.upserted, Some(2));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let a = check.check(&target).await.unwrap();
        assert_eq!(
            a.reason,
            Some(Reason::Deactivated),
            "{}: {}",
            db.name,
            a.why
        );
    }
}

#[tokio::test]
async fn weekly_without_monthly_is_a_precondition_error() {
    for db in common::backends().await {
        let ctx = db.context();
        let weekly = db.path("weekly.csv");
        fixtures::nppes::write_nppes(
            &weekly,
            &[fixtures::Provider::individual(
                &fixtures::npi(1),
                "207Q00000X",
            )],
            &Default::default(),
        )
        .unwrap();
        let err = nppes::ingest_weekly(&ctx, weekly.to_str().unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(err, glassgate_directory::DirectoryError::State(_)),
            "{err}"
        );
    }
}
