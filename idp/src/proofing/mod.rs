//! Identity proofing at IAL2 with a mobile driving licence (ISO/IEC 18013-5), presented
//! through OpenID4VP 1.0: cross-device (QR code, signed request object by `request_uri`,
//! `direct_post` / `direct_post.jwt`) or same-device through the W3C Digital Credentials API.
//!
//! `transaction` is one presentation request and its server-side state; `presentation`
//! takes the wallet's answer, verifies it with `glassgate_mdl` against the transcript we
//! build from our own state, logs the outcome and keeps the result for the browser that
//! started the request, which then enrolls (or recovers) a passkey with it.

mod error;
pub mod presentation;
mod signer;
pub mod transaction;
mod vical;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use glassgate_mdl::TrustStore;
use glassgate_mdl::request::ClientId;
use glassgate_mdl::revocation::crl::HttpRevocation;
use zeroize::Zeroizing;

pub use error::ProofingError;
pub use presentation::ProofResult;

use crate::app::StartError;
use crate::config::Config;
use signer::RequestSigner;

/// The verifier side of mDL presentations, one per server.
pub struct IdentityProofing {
    issuer: String,
    /// `x509_san_dns:<issuer host>` when a request certificate is configured.
    signer: Option<RequestSigner>,
    trust: Arc<TrustStore>,
    trust_dir: Option<PathBuf>,
    /// The AAMVA VICAL and where to fetch it.
    vical: Option<vical::Vical>,
    revocation: HttpRevocation,
    /// Keys the document-number commitment, so one licence maps to one person without the
    /// number being stored.
    commitment_key: Zeroizing<[u8; 32]>,
    settings: crate::config::MdlSettings,
}

impl IdentityProofing {
    pub fn new(config: &Config, kek: &glassgate_keys::Kek) -> Result<Self, StartError> {
        let settings = config.mdl.clone();
        let signer = match (&settings.request_certificate, &settings.request_key) {
            (Some(cert), Some(key)) => Some(RequestSigner::load(cert, key, &config.issuer)?),
            _ => {
                tracing::warn!(
                    "no mdl.request_certificate: wallet requests are unsigned (redirect_uri \
                     client identifier), which only development wallets accept"
                );
                None
            }
        };
        let proofing = Self {
            issuer: config.issuer.clone(),
            signer,
            trust: Arc::new(TrustStore::new()),
            trust_dir: settings.trust_dir.clone(),
            vical: vical::Vical::configure(config)?,
            revocation: HttpRevocation::new()
                .map_err(|e| StartError::Config(format!("mDL revocation client: {e}")))?,
            commitment_key: kek.derive_secret("mdl-document-commitment"),
            settings,
        };
        proofing.reload_trust();
        if let Some(vical) = &proofing.vical {
            vical.load_cached(&proofing.trust);
        }
        Ok(proofing)
    }

    /// Re-reads the trust-anchor directory; the previous anchors stay when it cannot be read.
    pub fn reload_trust(&self) {
        let Some(dir) = &self.trust_dir else {
            return;
        };
        match glassgate_mdl::trust::pem_dir::reload(&self.trust, dir) {
            Ok(report) => {
                for (file, error) in &report.errors {
                    tracing::warn!(file = %file, error = %error, "mDL trust anchor refused");
                }
                for anchor in report.non_conforming() {
                    tracing::warn!(subject = %anchor.info.subject, "mDL trust anchor does not meet the IACA profile; its documents will be refused");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read mdl.trust_dir; keeping the previous anchors");
            }
        }
    }

    /// Keeps the anchors current without a restart.
    pub fn spawn_trust_reload(self: &Arc<Self>) {
        if self.vical.is_some() {
            let proofing = Arc::clone(self);
            tokio::spawn(async move {
                if let Some(vical) = &proofing.vical {
                    vical.keep_current(&proofing.trust).await;
                }
            });
        }
        if self.trust_dir.is_none() {
            if self.vical.is_none() {
                tracing::warn!(
                    "no mdl.trust_dir or mdl.vical_url: every mDL presentation will be refused"
                );
            }
            return;
        }
        let proofing = Arc::clone(self);
        let every = Duration::from_secs(self.settings.trust_reload_secs);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                proofing.reload_trust();
            }
        });
    }

    /// The client identifier the wallet sees for a request answered at `response_uri`.
    fn client_id(&self, response_uri: &str) -> ClientId {
        match &self.signer {
            Some(signer) => ClientId::X509SanDns(signer.dns_name.clone()),
            None => ClientId::RedirectUri(response_uri.to_owned()),
        }
    }

    fn ttl(&self) -> Duration {
        Duration::from_secs(self.settings.request_ttl_secs)
    }
}
