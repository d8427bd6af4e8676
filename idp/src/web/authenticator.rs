//! The shipped implementation of the authentication seam: a browser session opened with a
//! passkey, or the login page when there is none (or it is too old, too weak, or
//! `prompt=login`). A signed-in person who has not approved the client, for the request's
//! purpose of use and patient context, sees the consent page.

use std::time::Duration;

use async_trait::async_trait;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::session;
use crate::app::AppState;
use crate::ephemeral::keys;
use crate::oauth::request::AuthorizationRequest;
use crate::passkey::acr_satisfies;
use crate::session::{AuthenticatedSession, Authentication, AuthenticationRequest, Authenticator};
use crate::store::accounts::ConsentFor;

/// How long the login and consent pages have to finish (the pending request lives as long).
pub const INTERACTION_TTL: Duration = Duration::from_secs(600);

pub struct BrowserAuthenticator;

#[async_trait]
impl Authenticator for BrowserAuthenticator {
    async fn authenticate(
        &self,
        app: &AppState,
        request: &AuthenticationRequest<'_>,
        headers: &HeaderMap,
    ) -> Authentication {
        if app.passkeys.is_none() {
            return Authentication::Unavailable;
        }
        let Some(browser) = session::current(app, headers).await else {
            return Authentication::Interaction(login_page(request.interaction));
        };
        let s = browser.session;
        let too_old =
            crate::oauth::authorize::older_than(s.auth_time, request.max_age, request.now);
        if request.force_login || too_old || !acr_satisfies(s.acr.as_deref(), request.acr_values) {
            return Authentication::Interaction(login_page(request.interaction));
        }
        match consented(app, &s.subject, request.authorization).await {
            Ok(true) if !request.force_consent => Authentication::Authenticated(s),
            Ok(_) => match remember(app, request.interaction, &s).await {
                Ok(()) => Authentication::ConsentRequired(see_other(&format!(
                    "/interaction/{}",
                    request.interaction
                ))),
                Err(e) => Authentication::Interaction(e),
            },
            Err(e) => Authentication::Interaction(e),
        }
    }
}

/// What an approval of `request` by `subject` is remembered for: the client, the purpose of
/// use and the patient context.
pub fn approval_for<'a>(subject: &'a str, request: &'a AuthorizationRequest) -> ConsentFor<'a> {
    ConsentFor {
        subject,
        client_id: &request.client_id,
        purpose: request.purpose.exchange().code(),
        patient: request.patient.as_deref(),
    }
}

/// Whether the person already approved every scope the client asks for, for the same
/// purpose of use and the same patient context (or none, both times).
pub async fn consented(
    app: &AppState,
    subject: &str,
    request: &AuthorizationRequest,
) -> Result<bool, Response> {
    let approved = app
        .store
        .accounts
        .consent(&approval_for(subject, request))
        .await
        .map_err(|e| server_error(&e.to_string()))?;
    Ok(approved.is_some_and(|approved| {
        let approved: Vec<&str> = approved.split_whitespace().collect();
        request
            .scope
            .split_whitespace()
            .all(|s| approved.contains(&s))
    }))
}

/// Bind the session to the pending authorization: only this browser, signed in as this
/// person, can finish it.
pub async fn remember(
    app: &AppState,
    interaction: &str,
    session: &AuthenticatedSession,
) -> Result<(), Response> {
    let value = serde_json::to_vec(session).map_err(|e| server_error(&e.to_string()))?;
    app.ephemeral
        .put(
            &keys::interaction_session(interaction),
            &value,
            INTERACTION_TTL,
        )
        .await
        .map_err(|e| server_error(&e.to_string()))
}

fn login_page(interaction: &str) -> Response {
    see_other(&format!("/login?interaction={interaction}"))
}

pub fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

fn server_error(detail: &str) -> Response {
    tracing::error!(error = %detail, "authentication failed");
    super::html::message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Sign-in is unavailable right now. Try again in a moment.",
    )
}
