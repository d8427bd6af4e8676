//! A test motor-vehicle authority (IACA + document signer) issuing mDLs to a test wallet,
//! and the server settings that trust it; plus driving the login page's identity proofing
//! as its script does, over either channel: the cross-device QR code (new accounts only) or
//! the Digital Credentials API (also recovery, and linking a licence to a signed-in account).

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_mdl::wallet::{
    self, Credential, DeviceKey, IacaOptions, IssueSpec, KeyAlg, TestDs, TestIaca,
};
use serde_json::{Value, json};

use crate::passkeys::{Answer, Person};
use crate::{ServerOptions, TestServer};

/// The web origin a browser on `server`'s pages puts in a Digital Credentials API transcript.
pub fn origin_of(server: &TestServer) -> String {
    url::Url::parse(&server.issuer)
        .unwrap()
        .origin()
        .ascii_serialization()
}

/// PEM armour of a DER object.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// An issuing authority: its IACA (the trust anchor) and a document signer.
pub struct Dmv {
    pub iaca: TestIaca,
    pub ds: TestDs,
    alg: KeyAlg,
}

impl Dmv {
    pub fn new(alg: KeyAlg) -> Self {
        let options = IacaOptions::new(alg);
        let iaca = wallet::make_iaca(&options).unwrap();
        let ds = wallet::make_ds(&iaca, &wallet::DsOptions::new(alg, &options)).unwrap();
        Self { iaca, ds, alg }
    }

    /// A licence for a person; the same `document_number` is the same licence.
    pub fn licence(&self, given_name: &str, document_number: &str) -> Credential {
        self.issue(Self::spec(given_name, document_number))
    }

    /// A licence whose own `expiry_date` is `expiry` (a past date: an expired licence, in an
    /// otherwise valid, freshly signed MSO).
    pub fn licence_expiring(
        &self,
        given_name: &str,
        document_number: &str,
        expiry: glassgate_mdl::time::Date,
    ) -> Credential {
        self.issue(Self::spec(given_name, document_number).with_expiry_date(expiry))
    }

    fn spec(given_name: &str, document_number: &str) -> IssueSpec {
        IssueSpec::sample_mdl()
            .with_mdl_element("given_name", ciborium::Value::Text(given_name.into()))
            .with_mdl_element(
                "document_number",
                ciborium::Value::Text(document_number.into()),
            )
    }

    fn issue(&self, spec: IssueSpec) -> Credential {
        wallet::issue(&self.ds, DeviceKey::generate(self.alg).unwrap(), &spec).unwrap()
    }

    /// Writes the IACA into `dir` (a trust-anchor directory).
    pub fn trust_in(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let name = format!("iaca-{}.pem", self.iaca.cert_der.len());
        std::fs::write(dir.join(name), pem("CERTIFICATE", &self.iaca.cert_der)).unwrap();
    }
}

/// Files the server reads: trust anchors and the `x509_san_dns` request certificate.
pub struct ProofingFiles {
    pub dir: tempfile::TempDir,
}

impl ProofingFiles {
    /// Trusts `dmv`, and signs requests with a certificate for `localhost` (the shipped
    /// server's issuer host in tests).
    pub fn new(dmv: &Dmv) -> Self {
        let dir = tempfile::tempdir().unwrap();
        dmv.trust_in(&dir.path().join("anchors"));
        let (cert, key) = glassgate_mdl::request::dev_certificate("localhost").unwrap();
        std::fs::write(dir.path().join("request.crt"), pem("CERTIFICATE", &cert)).unwrap();
        std::fs::write(dir.path().join("request.key"), pem("PRIVATE KEY", &key)).unwrap();
        Self { dir }
    }

    pub fn anchors(&self) -> PathBuf {
        self.dir.path().join("anchors")
    }

    /// The shipped server, trusting these anchors and signing with this certificate.
    pub fn server_options(&self) -> ServerOptions {
        let path = |p: PathBuf| p.to_str().unwrap().to_owned();
        ServerOptions::shipped()
            .env("GLASSGATE_MDL__TRUST_DIR", &path(self.anchors()))
            .env("GLASSGATE_MDL__TRUST_RELOAD_SECS", "1")
            .env(
                "GLASSGATE_MDL__REQUEST_CERTIFICATE",
                &path(self.dir.path().join("request.crt")),
            )
            .env(
                "GLASSGATE_MDL__REQUEST_KEY",
                &path(self.dir.path().join("request.key")),
            )
    }
}

/// A started presentation request, as the login page holds it.
pub struct Proof {
    pub started: Value,
}

impl Proof {
    pub fn ticket(&self) -> Value {
        json!({ "transaction": self.started["transaction"], "poll": self.started["poll"] })
    }
    pub fn invocation_url(&self) -> &str {
        self.started["invocation_url"].as_str().unwrap()
    }
}

impl Person {
    /// The login page's "verify with a mobile driver's licence" button.
    pub async fn start_proof(&mut self) -> Proof {
        let started = self.post_json("/mdl/start", &json!({})).await;
        assert_eq!(started.status, 200, "{:?}", started.body);
        Proof {
            started: started.body,
        }
    }

    /// The page's status poll.
    pub async fn proof_status(&mut self, proof: &Proof) -> Answer {
        self.post_json("/mdl/status", &proof.ticket()).await
    }

    /// Prove identity with `licence` through the cross-device flow (the wallet scans the QR
    /// code), then create a passkey with the verified result. Returns the enrollment answer.
    pub async fn prove_and_enroll(
        &mut self,
        licence: &Credential,
        interaction: Option<&str>,
    ) -> Answer {
        let proof = self.start_proof().await;
        let reply = wallet::oid4vp::follow_invocation(
            licence,
            proof.invocation_url(),
            &reqwest::Client::new(),
        )
        .await
        .unwrap();
        assert_eq!(reply.trim(), "{}");
        let status = self.proof_status(&proof).await;
        assert_eq!(status.body["status"], "verified", "{:?}", status.body);
        self.register_with_proof(&proof, interaction).await
    }

    /// The page's "use a licence stored in this browser's wallet" button: the browser calls
    /// the wallet (`navigator.credentials.get`) and posts its answer to `/mdl/digital`.
    /// `origin` is the page's origin, as the browser reports it to the wallet.
    pub async fn answer_with_dc_api(
        &mut self,
        proof: &Proof,
        licence: &Credential,
        origin: &str,
    ) -> Answer {
        let request = &proof.started["digital"]["requests"][0];
        assert_eq!(request["protocol"], "openid4vp-v1-unsigned");
        let credential = wallet::oid4vp::answer_dc_api(licence, &request["data"], origin).unwrap();
        let mut body = proof.ticket();
        body["credential"] = credential;
        self.post_json("/mdl/digital", &body).await
    }

    /// Prove identity with `licence` through the Digital Credentials API of this browser (the
    /// channel bound to our origin, which alone may recover an account or link a licence).
    pub async fn prove_with_dc_api(&mut self, licence: &Credential, origin: &str) -> Proof {
        let proof = self.start_proof().await;
        let answer = self.answer_with_dc_api(&proof, licence, origin).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        let status = self.proof_status(&proof).await;
        assert_eq!(status.body["status"], "verified", "{:?}", status.body);
        proof
    }

    pub async fn register_with_proof(
        &mut self,
        proof: &Proof,
        interaction: Option<&str>,
    ) -> Answer {
        let (ceremony, credential) = match self
            .create(
                json!({ "identity_proof": proof.ticket() }),
                &Default::default(),
            )
            .await
        {
            Ok(made) => made,
            Err(answer) => return answer,
        };
        self.post_json(
            "/passkey/register/finish",
            &json!({ "ceremony": ceremony, "credential": credential, "name": "phone", "interaction": interaction }),
        )
        .await
    }
}
