//! The `directory-sync` binary: exit codes, `--json`, `status`, `check`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use glassgate_directory::fixtures::{NpiSystem, Scenario};
use serde_json::Value;

fn run(db: &common::TestDb, args: &[&str]) -> (i32, Value, String) {
    let out = db.cli().args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        format!("{stdout}{stderr}"),
    )
}

#[tokio::test]
async fn ingest_check_status_and_exit_codes() {
    for db in common::backends().await {
        let scenario = Scenario::standard();
        let files = scenario.write(&db.path("in")).unwrap();
        let p = |p: &std::path::Path| p.to_str().unwrap().to_owned();
        for args in [
            vec!["--json", "nucc", &p(&files.nucc)],
            vec!["--json", "deactivations", &p(&files.deactivations)],
            vec!["--json", "nppes", &p(&files.nppes)],
            vec!["--json", "npd", &p(&files.manifest)],
        ] {
            let (code, json, text) = run(&db, &args);
            assert_eq!(code, 0, "{} {args:?}: {text}", db.name);
            assert_eq!(json["status"], "current", "{text}");
        }
        // The same release again: unchanged.
        let (code, json, _) = run(&db, &["--json", "npd", &p(&files.manifest)]);
        assert_eq!((code, json["status"].as_str()), (0, Some("unchanged")));

        let (code, json, text) = run(&db, &["--json", "check", &scenario.active[0]]);
        assert_eq!(code, 0, "{text}");
        assert_eq!(json["answer"]["active"], true);
        assert!(
            json["answer"]["fhir_user"]
                .as_str()
                .unwrap()
                .ends_with(&format!("Practitioner/pr-{}", scenario.active[0]))
        );
        let (code, json, _) = run(
            &db,
            &["--json", "check", &scenario.deactivated_in_report[0]],
        );
        assert_eq!(code, 7);
        assert_eq!(json["answer"]["reason"], "deactivated");
        let (code, _, text) = run(&db, &["check", &scenario.inactive[0]]);
        assert_eq!(code, 7);
        assert!(
            text.contains("NOT ACTIVE") && text.contains("inactive"),
            "{text}"
        );

        let (code, json, text) = run(&db, &["--json", "status"]);
        assert_eq!(code, 0, "{text}");
        assert_eq!(json["backend"], db.name);
        let current = json["current"].as_array().unwrap();
        assert_eq!(current.len(), 4);
        assert!(
            current
                .iter()
                .all(|c| c["release"]["records"].as_u64().unwrap_or(0) > 0),
            "{json}"
        );
        let (code, _, text) = run(&db, &["status"]);
        assert_eq!(code, 0);
        assert!(text.contains("2026-05-07_2128"), "{text}");

        // A release that yields no NPI matches: exit 3, a JSON report, the old one stays.
        let mut drifted = scenario.npd_release();
        drifted.stamp = "2026-09-01_0000".into();
        for p in &mut drifted.practitioners {
            p.system = NpiSystem::Unrelated;
        }
        let manifest = drifted.write(&db.path("drifted")).unwrap();
        let (code, json, text) = run(&db, &["--json", "npd", &p(&manifest)]);
        assert_eq!(code, 3, "{text}");
        assert_eq!(json["error"], "refused");
        let failed: Vec<_> = json["refusal"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == false)
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(failed, ["npi_extraction"]);
        let (code, _, text) = run(&db, &["npd", &p(&manifest)]);
        assert_eq!(code, 3);
        assert!(text.contains("FAIL npi_extraction"), "{text}");
        let (code, json, _) = run(&db, &["--json", "check", &scenario.active[0]]);
        assert_eq!(code, 0);
        assert!(
            json["answer"]["release"]
                .as_str()
                .unwrap()
                .starts_with("2026-05-07_2128#")
        );

        // Unreadable source: 4. Weekly before... (a monthly exists here) malformed header: 4.
        let (code, json, _) = run(&db, &["--json", "nppes", "/nonexistent/npidata.csv"]);
        assert_eq!((code, json["error"].as_str()), (4, Some("source")));
        std::fs::write(db.path("bad.csv"), "\"A\",\"B\"\n\"1\",\"2\"\n").unwrap();
        let (code, json, _) = run(&db, &["--json", "nppes", &p(&db.path("bad.csv"))]);
        assert_eq!((code, json["error"].as_str()), (4, Some("format")));
        assert!(json["message"].as_str().unwrap().contains("missing column"));
        // Usage: 2.
        let (code, _, _) = run(&db, &["frobnicate"]);
        assert_eq!(code, 2);
    }
}

#[tokio::test]
async fn weekly_before_monthly_and_busy_and_help() {
    let db = common::sqlite().await;
    let scenario = Scenario::standard();
    let files = scenario.write(&db.path("in")).unwrap();
    let (code, json, _) = run(
        &db,
        &["--json", "nppes", "--weekly", files.nppes.to_str().unwrap()],
    );
    assert_eq!((code, json["error"].as_str()), (6, Some("precondition")));
    // Another sync holds the lock: 5.
    let lock = db.store.lock().await.unwrap();
    let (code, json, _) = run(&db, &["--json", "nucc", files.nucc.to_str().unwrap()]);
    assert_eq!((code, json["error"].as_str()), (5, Some("busy")));
    drop(lock);
    let (code, _, text) = run(&db, &["--help"]);
    assert_eq!(code, 0);
    for cmd in [
        "npd",
        "nppes",
        "deactivations",
        "nucc",
        "status",
        "check",
        "watch",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from --help");
    }
    // watch with one poll ingests once.
    let (code, _, text) = run(
        &db,
        &[
            "--json",
            "-q",
            "watch",
            "--npd",
            files.manifest.to_str().unwrap(),
            "--polls",
            "1",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("\"current\""), "{text}");
}
