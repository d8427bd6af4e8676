//! Passkeys at AAL2 (WebAuthn with `webauthn-rs`): discoverable credentials, user verification
//! required, ceremony state kept server-side and used once.
//!
//! `register` enrolls a passkey (clinician invitation, a signed-in person adding one, a
//! proofed patient); `login` verifies an assertion and yields an [`AuthenticatedSession`].
//! Both log their outcome, success or refusal, in the transparency log.
//!
//! [`AuthenticatedSession`]: crate::session::AuthenticatedSession

mod assurance;
mod ceremony;
mod error;
pub mod login;
pub mod register;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

pub use assurance::{AAL2_ACR, acr_satisfies, assurance};
pub use error::PasskeyError;

use crate::config::WebSettings;

/// The relying party: one per server, derived from the issuer URL.
pub struct Passkeys {
    webauthn: Webauthn,
    ceremony_ttl: Duration,
}

impl Passkeys {
    /// The RP ID is the issuer's host and the only accepted origin the issuer's origin: a
    /// passkey made here can only be exercised here (phishing resistance).
    pub fn new(issuer: &str, settings: &WebSettings) -> Result<Self, String> {
        let origin = Url::parse(issuer).map_err(|e| format!("issuer is not a URL: {e}"))?;
        let rp_id = origin
            .host_str()
            .ok_or("the issuer URL has no host")?
            .to_owned();
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|b| b.rp_name(&settings.rp_name).build())
            .map_err(|e| format!("passkeys cannot use the issuer {issuer}: {e}"))?;
        Ok(Self {
            webauthn,
            ceremony_ttl: Duration::from_secs(settings.ceremony_ttl_secs),
        })
    }
}

/// The server's relying party, or why passkeys are unavailable (an issuer that is an IP
/// address cannot be a WebAuthn relying party id; such a server serves machine clients only).
pub fn relying_party(app: &crate::app::AppState) -> Result<&Passkeys, PasskeyError> {
    app.passkeys.as_ref().ok_or(PasskeyError::Unavailable)
}

/// Credential ids as stored and shown: base64url without padding.
pub fn credential_id(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}
