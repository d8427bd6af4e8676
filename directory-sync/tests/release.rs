//! Release safety: refused releases never become current, malformed rows are reported with
//! their line numbers, an interrupted ingest leaves nothing visible and can be rerun.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use glassgate_directory::fixtures::{self, NpiSystem, Scenario};
use glassgate_directory::store::{PractitionerRow, Rows};
use glassgate_directory::{ActiveClinicians, Dataset, DirectoryError, Npi, npd, nppes, nucc};

async fn current_npd(db: &common::TestDb) -> Option<String> {
    db.store.pointer().await.unwrap().npd.map(|r| r.label)
}

#[tokio::test]
async fn a_release_with_almost_no_npi_matches_is_refused() {
    for db in common::backends().await {
        let scenario = Scenario::standard();
        let files = scenario.write(&db.path("in")).unwrap();
        let ctx = db.context();
        nucc::ingest(&ctx, files.nucc.to_str().unwrap())
            .await
            .unwrap();
        npd::ingest(&ctx, files.manifest.to_str().unwrap(), false)
            .await
            .unwrap();
        // Schema drift: the NPI moved to a system nobody recognises.
        let mut drifted = scenario.npd_release();
        drifted.stamp = "2026-09-01_0000".into();
        for p in &mut drifted.practitioners {
            p.system = NpiSystem::Unrelated;
        }
        let manifest = drifted.write(&db.path("drifted")).unwrap();
        let err = npd::ingest(&ctx, manifest.to_str().unwrap(), false)
            .await
            .unwrap_err();
        let DirectoryError::Refused(refusal) = &err else {
            panic!("{}: expected a refusal, got {err}", db.name)
        };
        let failed: Vec<_> = refusal
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failed, ["npi_extraction"], "{}", db.name);
        assert_eq!(
            refusal
                .current
                .as_deref()
                .map(|c| c.starts_with("2026-05-07_2128#")),
            Some(true)
        );
        assert!(err.to_string().contains("npi_extraction"), "{err}");
        // The old release stays current and answers.
        assert_eq!(current_npd(&db).await.as_deref(), Some("2026-05-07_2128"));
        let a = ActiveClinicians::new(db.store.clone())
            .check(&scenario.active[0])
            .await
            .unwrap();
        assert!(a.active, "{}", a.why);
        let refused = db.store.releases().await.unwrap();
        assert!(
            refused
                .iter()
                .any(|r| r.label == "2026-09-01_0000" && r.state == "refused")
        );
    }
}

#[tokio::test]
async fn count_change_and_active_share_bounds() {
    for db in common::backends().await {
        let scenario = Scenario::standard();
        let files = scenario.write(&db.path("in")).unwrap();
        let ctx = db.context();
        npd::ingest(&ctx, files.manifest.to_str().unwrap(), false)
            .await
            .unwrap();
        let mut shrunk = scenario.npd_release();
        shrunk.stamp = "2026-09-01_0000".into();
        shrunk.practitioners.truncate(10);
        let manifest = shrunk.write(&db.path("shrunk")).unwrap();
        let err = npd::ingest(&ctx, manifest.to_str().unwrap(), false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("count_change"),
            "{}: {err}",
            db.name
        );
        // Loosen the bound: accepted.
        let mut loose = db.context();
        loose.limits.max_count_change = 1.0;
        npd::ingest(&loose, manifest.to_str().unwrap(), false)
            .await
            .unwrap();
        assert_eq!(current_npd(&db).await.as_deref(), Some("2026-09-01_0000"));
        // Mostly inactive: implausible.
        let mut inactive = scenario.npd_release();
        inactive.stamp = "2026-10-01_0000".into();
        for p in &mut inactive.practitioners {
            p.active = Some(false);
        }
        let manifest = inactive.write(&db.path("inactive")).unwrap();
        let err = npd::ingest(&loose, manifest.to_str().unwrap(), false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("active_share"),
            "{}: {err}",
            db.name
        );
        assert_eq!(current_npd(&db).await.as_deref(), Some("2026-09-01_0000"));
    }
}

#[tokio::test]
async fn malformed_lines_are_reported_with_line_numbers() {
    for db in common::backends().await {
        let scenario = Scenario::standard();
        let mut release = scenario.npd_release();
        let n = release.practitioners.len() as u64;
        let bad = fixtures::bad_check_digit(&fixtures::npi(5));
        let mut bad_npi = fixtures::Practitioner::active(&bad);
        bad_npi.id = "bad-npi".into();
        for line in [
            "{not json".to_owned(),
            r#"{"resourceType":"Organization","id":"x"}"#.to_owned(),
            r#"{"resourceType":"Practitioner","id":"y","active":"yes"}"#.to_owned(),
            bad_npi.line("2026-05-07"),
            r#"{"resourceType":"Practitioner","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}]}"#.to_owned(),
        ] {
            release.extra_lines.push(("Practitioner".into(), line));
        }
        release
            .extra_lines
            .push(("Location".into(), "[1,2]".into()));
        let manifest = release.write(&db.path("npd")).unwrap();
        let mut ctx = db.context();
        // One bad NPI among ~50 is 2%: this test is about the report, not the rate gate.
        ctx.limits.min_npi_rate = 0.9;
        let outcome = npd::ingest(&ctx, manifest.to_str().unwrap(), false)
            .await
            .unwrap()
            .unwrap();
        let s = &outcome.summary;
        assert_eq!(s.malformed, 6, "{}: {:?}", db.name, s.malformed_rows);
        let lines: Vec<(u64, &str)> = s
            .malformed_rows
            .iter()
            .map(|m| (m.line, m.reason.as_str()))
            .collect();
        assert_eq!(lines[0].0, n + 1);
        assert!(lines[0].1.contains("invalid JSON"));
        assert_eq!(lines[1].0, n + 2);
        assert!(lines[1].1.contains("Organization"));
        assert_eq!(lines[2].0, n + 3);
        assert!(lines[2].1.contains("boolean"), "{}", lines[2].1);
        assert_eq!(lines[3].0, n + 4);
        assert!(lines[3].1.contains("check digit"), "{}", lines[3].1);
        assert_eq!(lines[4].0, n + 5);
        assert!(lines[4].1.contains("id"));
        assert!(s.malformed_rows[5].file.starts_with("Location_"));
        assert_eq!(s.npi_invalid, 1);

        // Over the threshold: refused.
        let mut strict = db.context();
        strict.limits.max_malformed = 2;
        let err = npd::ingest(&strict, manifest.to_str().unwrap(), true)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("malformed_rows"), "{err}");
    }
}

#[tokio::test]
async fn malformed_nppes_rows() {
    for db in common::backends().await {
        let good = fixtures::Provider::individual(&fixtures::npi(1), "207Q00000X");
        let line = fixtures::nppes::line_of(&good);
        let other = fixtures::nppes::line_of(&fixtures::Provider::individual(
            &fixtures::npi(2),
            "207Q00000X",
        ));
        let extra = vec![
            // Bad quotes: a stray quote inside a value.
            line.replacen("\"DOE\"", "\"DO\"E\"", 1)
                .replace(&fixtures::npi(1), &fixtures::npi(10)),
            // Wrong column count.
            format!(
                "{},\"extra\"",
                other.replace(&fixtures::npi(2), &fixtures::npi(11))
            ),
            // Bad date.
            fixtures::nppes::line_of(&fixtures::Provider {
                deactivated: Some("13/45/2005".into()),
                ..fixtures::Provider::individual(&fixtures::npi(12), "207Q00000X")
            }),
            // Bad NPI.
            line.replace(
                &fixtures::npi(1),
                &fixtures::bad_check_digit(&fixtures::npi(13)),
            ),
            // Duplicate NPI.
            line.clone(),
        ];
        let providers: Vec<_> = (100..300)
            .map(|i| fixtures::Provider::individual(&fixtures::npi(i), "207Q00000X"))
            .chain([good.clone()])
            .collect();
        let path = db.path("npidata.csv");
        fixtures::nppes::write_nppes(
            &path,
            &providers,
            &fixtures::NppesOptions {
                irregular_header: true,
                extra_lines: extra,
            },
        )
        .unwrap();
        let ctx = db.context();
        let outcome = nppes::ingest_full(&ctx, path.to_str().unwrap())
            .await
            .unwrap();
        let s = &outcome.summary;
        assert_eq!(s.records, 201, "{}", db.name);
        let rows: Vec<(u64, &str)> = s
            .malformed_rows
            .iter()
            .map(|m| (m.line, m.reason.as_str()))
            .collect();
        assert_eq!(rows.len(), 5, "{rows:?}");
        assert_eq!(rows[0].0, 203);
        assert!(
            rows[0].1.contains("quot") || rows[0].1.contains("fields"),
            "{}",
            rows[0].1
        );
        assert_eq!(rows[1].0, 204);
        assert!(
            rows[1].1.contains("expected 330 fields, found 331"),
            "{}",
            rows[1].1
        );
        assert_eq!(rows[2].0, 205);
        assert!(rows[2].1.contains("bad date"), "{}", rows[2].1);
        assert_eq!(rows[3].0, 206);
        assert!(rows[3].1.contains("bad NPI"), "{}", rows[3].1);
        assert_eq!(rows[4].0, 207);
        assert!(rows[4].1.contains("twice"), "{}", rows[4].1);
    }
}

#[tokio::test]
async fn an_interrupted_ingest_leaves_nothing_and_reruns() {
    for db in common::backends().await {
        let scenario = Scenario::standard();
        let files = scenario.write(&db.path("in")).unwrap();
        let ctx = db.context();
        nucc::ingest(&ctx, files.nucc.to_str().unwrap())
            .await
            .unwrap();
        npd::ingest(&ctx, files.manifest.to_str().unwrap(), false)
            .await
            .unwrap();
        let before = db.store.pointer().await.unwrap();

        // 1. A file truncated mid-stream: the ingest fails, nothing changes.
        let mut next = scenario.npd_release();
        next.stamp = "2026-06-01_0000".into();
        next.no_sizes = true;
        let manifest = next.write(&db.path("next")).unwrap();
        let practitioner = db
            .path("next")
            .join("Practitioner_2026-06-01_0000.ndjson.zst");
        let bytes = std::fs::read(&practitioner).unwrap();
        std::fs::write(&practitioner, &bytes[..bytes.len() / 2]).unwrap();
        let err = npd::ingest(&ctx, manifest.to_str().unwrap(), false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DirectoryError::Format { .. }),
            "{}: {err}",
            db.name
        );
        assert_eq!(db.store.pointer().await.unwrap(), before);

        // 2. A process killed mid-load: a `building` release with rows, no cleanup.
        {
            let lock = db.store.lock().await.unwrap();
            let id = db
                .store
                .begin(Dataset::Npd, "killed", "test")
                .await
                .unwrap();
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            let row = PractitionerRow {
                npi: Npi::parse(&scenario.unknown[0]).unwrap(),
                resource_id: "ghost".into(),
                active: Some(true),
                npi_end: None,
                taxonomies: "207Q00000X".into(),
            };
            tx.send(Rows::Practitioners(vec![row])).await.unwrap();
            drop(tx);
            db.store.load(id, rx).await.unwrap();
            drop(lock);
        }
        assert_eq!(db.store.pointer().await.unwrap(), before);
        let a = ActiveClinicians::new(db.store.clone())
            .check(&scenario.unknown[0])
            .await
            .unwrap();
        assert!(!a.active, "{}: half-written release visible", db.name);

        // 3. The rerun with the whole file works and collects the abandoned release.
        std::fs::write(&practitioner, &bytes).unwrap();
        let outcome = npd::ingest(&ctx, manifest.to_str().unwrap(), false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(outcome.collected, 1, "{}", db.name);
        let releases = db.store.releases().await.unwrap();
        assert!(releases.iter().all(|r| r.state != "building"));
        assert_eq!(current_npd(&db).await.as_deref(), Some("2026-06-01_0000"));
        let a = ActiveClinicians::new(db.store.clone())
            .check(&scenario.unknown[0])
            .await
            .unwrap();
        assert!(!a.active);
    }
}

#[tokio::test]
async fn one_sync_at_a_time() {
    for db in common::backends().await {
        let held = db.store.lock().await.unwrap();
        assert!(
            matches!(db.store.lock().await, Err(DirectoryError::Busy)),
            "{}",
            db.name
        );
        held.release().await;
        db.store.lock().await.unwrap().release().await;
    }
}
