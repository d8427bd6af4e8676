//! A test-only implementation of the authentication seam: the `login_hint` names the
//! subject to sign in. Without a hint it asks for interaction, like a login page would.
//!
//! The hint may carry assurance after the subject: `alice` is IAL1 at AAL2 (a passkey with
//! user verification), `alice;ial2` is proofed at IAL2, `alice;ial2;aal1` signed in at AAL1.

use async_trait::async_trait;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use glassgate_idp::app::AppState;
use glassgate_idp::session::{
    AuthenticatedSession, Authentication, AuthenticationRequest, Authenticator, CredentialRef,
    IdentityAssurance,
};

pub struct TestAuthenticator;

#[async_trait]
impl Authenticator for TestAuthenticator {
    async fn authenticate(
        &self,
        _: &AppState,
        request: &AuthenticationRequest<'_>,
        _: &HeaderMap,
    ) -> Authentication {
        match request.login_hint {
            Some(hint) => Authentication::Authenticated(session(hint, request.now)),
            None => Authentication::Interaction(
                (StatusCode::UNAUTHORIZED, "test login page: send login_hint").into_response(),
            ),
        }
    }
}

/// The session a login hint stands for (see the module comment).
fn session(hint: &str, now: i64) -> AuthenticatedSession {
    let mut parts = hint.split(';');
    let subject = parts.next().unwrap_or_default().to_owned();
    let flags: Vec<&str> = parts.collect();
    let (acr, amr) = if flags.contains(&"aal1") {
        (None, vec!["pwd".to_owned()])
    } else {
        (
            Some("phr".to_owned()),
            vec!["hwk".to_owned(), "user".to_owned(), "mfa".to_owned()],
        )
    };
    AuthenticatedSession {
        subject,
        auth_time: now,
        acr,
        amr,
        identity_assurance: if flags.contains(&"ial2") {
            IdentityAssurance::Ial2
        } else {
            IdentityAssurance::Ial1
        },
        credential: CredentialRef {
            kind: "test".into(),
            id: "test-credential".into(),
        },
    }
}
