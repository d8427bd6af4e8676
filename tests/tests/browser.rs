//! Passkeys in a real browser: headless Chromium (Debian's `chromium`), driven by
//! playwright-core, with a virtual authenticator from the DevTools WebAuthn domain. See
//! tests/browser/passkey-flow.mjs for what the person does; this side runs the shipped
//! server, pushes the relying party's requests and redeems the codes the browser brings
//! back, on SQLite and on PostgreSQL + Redis. tests/browser/mdl-flow.mjs is a patient's
//! identity proofing with a mobile driving licence, answered by the suite's test wallet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use glassgate_mdl::wallet::{KeyAlg, oid4vp};
use glassgate_tests::clients::REDIRECT_URI;
use glassgate_tests::directory::{scenario_with_active, seed};
use glassgate_tests::jwt::claims_of;
use glassgate_tests::mdl::{Dmv, ProofingFiles};
use glassgate_tests::oauth::{pushed_authorization, query_param, redeem_as};
use glassgate_tests::passkeys::invite;
use glassgate_tests::{ServerOptions, TestServer, backends};
use serde_json::json;
use url::Url;

const NPI: &str = "1234567893";

/// Chromium and playwright-core, or why they are missing. In CI both must be present
/// (`.ci/run` installs them), so a missing one fails the test instead of skipping it.
fn browser_tools() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!("{chromium} is missing (apt-get install chromium)"));
    }
    if !script.join("node_modules/playwright-core").exists() {
        return Err("playwright-core is missing (npm ci --prefix tests/browser)".into());
    }
    Ok(script)
}

#[tokio::test]
async fn passkey_enrollment_and_sign_in_in_chromium() {
    let dir = match browser_tools() {
        Ok(dir) => dir,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping the browser test: {why}");
            return;
        }
        Err(why) => panic!("{why}"),
    };
    for backend in backends() {
        let server = TestServer::start(&backend, ServerOptions::shipped()).await;
        seed(&server, &scenario_with_active(&[NPI])).await;
        let invitation = invite(&server, NPI).await;
        let mut requests = Vec::new();
        for _ in 0..3 {
            let (path, verifier) = pushed_authorization(&server, "par", &[]).await;
            requests.push((format!("{}{path}", server.issuer), verifier));
        }
        let input = json!({
            "invitation": invitation,
            "authorize": requests.iter().map(|(url, _)| url).collect::<Vec<_>>(),
            "redirectPrefix": REDIRECT_URI,
            "npi": NPI,
        });
        let output = tokio::process::Command::new("node")
            .arg(dir.join("passkey-flow.mjs"))
            .arg(input.to_string())
            .current_dir(&dir)
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            server.log_text()
        );
        let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let reached = result["reached"].as_array().unwrap();
        assert_eq!(reached.len(), 3);
        let mut subjects = Vec::new();
        for (url, (_, verifier)) in reached.iter().zip(&requests) {
            let url = Url::parse(url.as_str().unwrap()).unwrap();
            let code = query_param(&url, "code").unwrap_or_else(|| panic!("no code: {url}"));
            let tokens = redeem_as(&server, "par", &code, verifier).await;
            let id_token = claims_of(tokens["id_token"].as_str().unwrap());
            assert_eq!(id_token["acr"], "phr");
            assert!(id_token["amr"].as_array().unwrap().contains(&json!("mfa")));
            subjects.push(id_token["sub"].clone());
        }
        assert!(
            subjects.windows(2).all(|w| w[0] == w[1]),
            "one account: {subjects:?}"
        );
    }
}

#[tokio::test]
async fn patient_proves_identity_with_an_mdl_and_enrolls_in_chromium() {
    let dir = match browser_tools() {
        Ok(dir) => dir,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping the browser test: {why}");
            return;
        }
        Err(why) => panic!("{why}"),
    };
    let dmv = Dmv::new(KeyAlg::P256);
    for backend in backends() {
        let files = ProofingFiles::new(&dmv);
        let server = TestServer::start(&backend, files.server_options()).await;
        let (path, verifier) = pushed_authorization(
            &server,
            "par",
            &[("scope", "openid profile offline_access")],
        )
        .await;
        let handoff = files.dir.path().join("invocation.txt");
        let input = json!({
            "authorize": format!("{}{path}", server.issuer),
            "redirectPrefix": REDIRECT_URI,
            "handoff": handoff,
        });
        let browser = tokio::process::Command::new("node")
            .arg(dir.join("mdl-flow.mjs"))
            .arg(input.to_string())
            .current_dir(&dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // The phone: wait for the QR code's URL, then answer it with the licence.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let invocation = loop {
            if let Ok(url) = std::fs::read_to_string(&handoff)
                && !url.is_empty()
            {
                break url;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the page showed no QR code"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        oid4vp::follow_invocation(
            &dmv.licence("Jane", "B-1"),
            &invocation,
            &reqwest::Client::new(),
        )
        .await
        .unwrap();
        let output = browser.wait_with_output().await.unwrap();
        assert!(
            output.status.success(),
            "{}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            server.log_text()
        );
        let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let url = Url::parse(result["reached"].as_str().unwrap()).unwrap();
        let code = query_param(&url, "code").unwrap_or_else(|| panic!("no code: {url}"));
        let tokens = redeem_as(&server, "par", &code, &verifier).await;
        let id_token = claims_of(tokens["id_token"].as_str().unwrap());
        assert_eq!(id_token["acr"], "phr");
        assert_eq!(
            id_token["verified_claims"]["verification"]["assurance_level"],
            "ial2"
        );
        assert_eq!(id_token["verified_claims"]["claims"]["given_name"], "Jane");
    }
}
