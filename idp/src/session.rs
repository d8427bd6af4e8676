//! The seam between the authorization endpoint and user authentication.
//!
//! The authorization endpoint validates the request, then asks an [`Authenticator`] for an
//! [`AuthenticatedSession`]. Passkeys (AAL2) and mDL proofing (IAL2) implement this trait in
//! their own modules; the shipped server without them cannot log anyone in, and answers
//! `temporarily_unavailable`. Tests plug in a test-only authenticator from the `tests` crate,
//! so none is ever compiled into the release binary.

use async_trait::async_trait;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::app::AppState;

/// Identity assurance per NIST SP 800-63A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityAssurance {
    Ial1,
    Ial2,
}

/// The credential a session was established with (for the log and for revocation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRef {
    /// `passkey`, `mdl`, …
    pub kind: String,
    /// Opaque identifier of the credential (never personal data).
    pub id: String,
}

/// A person authenticated for this authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatedSession {
    /// Stable internal subject identifier (the `sub` claim).
    pub subject: String,
    /// When the person last actively authenticated (Unix seconds).
    pub auth_time: i64,
    /// Authentication context class (`phr`, `phrh`, …).
    pub acr: Option<String>,
    /// RFC 8176 authentication method references.
    pub amr: Vec<String>,
    pub identity_assurance: IdentityAssurance,
    pub credential: CredentialRef,
}

/// What the authorization endpoint tells the authenticator about the request.
#[derive(Debug, Clone)]
pub struct AuthenticationRequest<'a> {
    /// What the client asks for (client, scopes, purpose of use, patient context), for the
    /// consent decision.
    pub authorization: &'a crate::oauth::request::AuthorizationRequest,
    /// `prompt=consent`: ask the person again even if they approved the client before.
    pub force_consent: bool,
    /// Identifier of the pending authorization; a login page resumes it with
    /// [`crate::oauth::authorize::resume`].
    pub interaction: &'a str,
    pub login_hint: Option<&'a str>,
    /// `prompt=login`: the person must authenticate again whatever session exists.
    pub force_login: bool,
    /// `prompt=none`: no page may be shown.
    pub no_interaction: bool,
    pub max_age: Option<i64>,
    pub acr_values: &'a [String],
    pub now: i64,
}

/// An authenticator's answer.
pub enum Authentication {
    /// The person is authenticated well enough for the request.
    Authenticated(AuthenticatedSession),
    /// A page must be shown (login, step-up); the response is sent as is.
    Interaction(Response),
    /// The person is signed in but must approve the client first (the consent page).
    ConsentRequired(Response),
    /// No way to authenticate anyone is configured.
    Unavailable,
}

#[async_trait]
pub trait Authenticator: Send + Sync {
    async fn authenticate(
        &self,
        state: &AppState,
        request: &AuthenticationRequest<'_>,
        headers: &HeaderMap,
    ) -> Authentication;
}

/// The authenticator of a server with no login method configured.
pub struct NoAuthenticator;

#[async_trait]
impl Authenticator for NoAuthenticator {
    async fn authenticate(
        &self,
        _: &AppState,
        _: &AuthenticationRequest<'_>,
        _: &HeaderMap,
    ) -> Authentication {
        Authentication::Unavailable
    }
}
