//! A test-only implementation of the authentication seam: the `login_hint` names the
//! subject to sign in. Without a hint it asks for interaction, like a login page would.

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
            Some(subject) => Authentication::Authenticated(AuthenticatedSession {
                subject: subject.to_owned(),
                auth_time: request.now,
                acr: Some("phr".into()),
                amr: vec!["hwk".into(), "user".into(), "mfa".into()],
                identity_assurance: IdentityAssurance::Ial1,
                credential: CredentialRef {
                    kind: "test".into(),
                    id: "test-credential".into(),
                },
            }),
            None => Authentication::Interaction(
                (StatusCode::UNAUTHORIZED, "test login page: send login_hint").into_response(),
            ),
        }
    }
}
