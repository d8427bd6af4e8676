//! A provider directory for end-to-end tests: a generated release (every real format, from
//! `glassgate_directory::fixtures`) ingested with the real `directory-sync` command into the
//! server's own database.

use glassgate_directory::fixtures::Scenario;

use crate::TestServer;

/// The standard scenario (two NPIs per state) plus `active` as active clinicians.
pub fn scenario_with_active(active: &[&str]) -> Scenario {
    let mut scenario = Scenario::standard();
    scenario.active.extend(active.iter().map(|n| n.to_string()));
    scenario
}

/// Ingest `scenario` into the server's deployment, as an operator would.
pub async fn seed(server: &TestServer, scenario: &Scenario) {
    let dir = server.deployment_dir().join("directory");
    let files = scenario.write(&dir).unwrap();
    for args in [
        vec!["nucc".to_owned(), files.nucc.display().to_string()],
        vec![
            "deactivations".to_owned(),
            files.deactivations.display().to_string(),
        ],
        vec!["nppes".to_owned(), files.nppes.display().to_string()],
        vec!["npd".to_owned(), files.manifest.display().to_string()],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = server.directory_sync(&args).await;
        assert!(
            output.status.success(),
            "directory-sync {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Servers re-read the current-release pointer at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
}
