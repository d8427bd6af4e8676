//! The `glassgate` binary's command line, run as a process. These tests also make
//! `cargo test --workspace` build the binary that the end-to-end tests start.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::Path;
use std::process::{Command, Output};

fn glassgate(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassgate"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GLASSGATE_DATA_DIR", data_dir)
        .env(
            "GLASSGATE_KEK",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = glassgate(dir.path(), &["--help"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "keys", "admin", "log"] {
        assert!(
            text.contains(command),
            "--help does not mention {command}: {text}"
        );
    }
}

#[test]
fn an_unreadable_configuration_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let out = glassgate(
        dir.path(),
        &["--config", missing.to_str().unwrap(), "keys", "list"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("nope.toml"), "{}", stderr(&out));
}

#[test]
fn an_invitation_for_an_invalid_npi_is_refused_and_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    // Fails the NPI check digit (Luhn with the 80840 prefix).
    let out = glassgate(dir.path(), &["admin", "invite", "--npi", "1234567890"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).to_lowercase().contains("npi"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "printed a link for an invalid NPI");
}

#[test]
fn keys_are_created_once_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let first = glassgate(dir.path(), &["keys", "list"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let listed = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(listed.contains("ES256"), "{listed}");
    assert!(listed.contains("current"), "{listed}");
    let again = glassgate(dir.path(), &["keys", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        listed,
        "listing created new keys"
    );
}
