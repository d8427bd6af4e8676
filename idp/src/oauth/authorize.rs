//! The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2): validate the request (or
//! fetch the pushed one), ask the authenticator for a session, and answer with a code.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::params::Params;
use super::request::{self, AuthorizationRequest, Redirected, RequestError};
use super::{issuance, random_token, sha256_hex};
use crate::app::AppState;
use crate::clock;
use crate::ephemeral::keys;
use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::session::{AuthenticatedSession, Authentication, AuthenticationRequest};
use crate::tlog::{Event, EventKind, NO_CLIENT};
use serde_json::json;

pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a person has to complete a login page before the pending request is dropped.
const INTERACTION_TTL: Duration = Duration::from_secs(600);
/// Whether a session that authenticated at `auth_time` is older than `max_age` at `now`.
/// Saturating: `max_age` is the client's, and an overflow must not panic or wrap.
pub fn older_than(auth_time: i64, max_age: Option<i64>, now: i64) -> bool {
    max_age.is_some_and(|max_age| auth_time.saturating_add(max_age) < now)
}

/// What an authorization code stands for, kept in the ephemeral store under the code's hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub request: AuthorizationRequest,
    pub session: AuthenticatedSession,
    pub grant_id: String,
    pub issued_at: i64,
}

pub async fn authorize_get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    respond(
        &state,
        authorize(&state, &headers, query.unwrap_or_default().as_bytes()).await,
    )
    .await
}

pub async fn authorize_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match Params::from_form(&headers, &body) {
        Ok(p) => p,
        Err(e) => return direct(e),
    };
    respond(&state, authorize_params(&state, &headers, params).await).await
}

async fn respond(app: &AppState, outcome: Result<Response, RequestError>) -> Response {
    match outcome {
        Ok(response) => response,
        Err(RequestError::Direct(error)) => {
            log_refusal(app, NO_CLIENT, &error).await;
            direct(error)
        }
        Err(RequestError::Redirect(r)) => {
            log_refusal(app, &r.client_id, &r.error).await;
            redirect_error(&r.redirect_uri, &r.error, r.state.as_deref(), Some(app))
        }
    }
}

/// An error the user agent sees because the client cannot be trusted with it.
fn direct(error: OAuthError) -> Response {
    error.into_response()
}

async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    query: &[u8],
) -> Result<Response, RequestError> {
    let params = Params::parse(query).map_err(RequestError::Direct)?;
    authorize_params(state, headers, params).await
}

async fn authorize_params(
    state: &AppState,
    headers: &HeaderMap,
    params: Params,
) -> Result<Response, RequestError> {
    let client_id = params.require("client_id").map_err(RequestError::Direct)?;
    let client = state
        .clients
        .get(client_id)
        .await
        .map_err(RequestError::Direct)?
        .ok_or_else(|| RequestError::Direct(OAuthError::invalid_request("unknown client_id")))?;
    let request = match params.get("request_uri") {
        Some(uri) => pushed_request(state, client_id, uri)
            .await
            .map_err(RequestError::Direct)?,
        None => {
            let request = request::validate(&client, &params)?;
            if client.record.require_par {
                return Err(RequestError::Redirect(Box::new(Redirected {
                    error: OAuthError::invalid_request(
                        "this client must push its request to the PAR endpoint",
                    ),
                    redirect_uri: request.redirect_uri,
                    state: request.state,
                    client_id: request.client_id,
                })));
            }
            request
        }
    };
    Ok(continue_with(state, headers, request).await)
}

/// RFC 9126 §4: a pushed request is used once, by the client that pushed it.
async fn pushed_request(
    state: &AppState,
    client_id: &str,
    uri: &str,
) -> OAuthResult<AuthorizationRequest> {
    let invalid = || {
        OAuthError::new(
            ErrorCode::InvalidRequestUri,
            "request_uri is invalid, expired or already used",
        )
    };
    let id = uri.strip_prefix(REQUEST_URI_PREFIX).ok_or_else(invalid)?;
    let stored = state
        .ephemeral
        .take(&keys::pushed_request(id))
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(invalid)?;
    let request: AuthorizationRequest =
        serde_json::from_slice(&stored).map_err(OAuthError::server_error)?;
    if request.client_id != client_id {
        return Err(invalid());
    }
    Ok(request)
}

/// Authenticate the person for a validated request and answer.
async fn continue_with(
    state: &AppState,
    headers: &HeaderMap,
    request: AuthorizationRequest,
) -> Response {
    let interaction = match random_token() {
        Ok(id) => id,
        Err(e) => return refuse(state, &request, e).await,
    };
    let pending = serde_json::to_vec(&request).unwrap_or_default();
    if let Err(e) = state
        .ephemeral
        .put(
            &keys::pending_authorization(&interaction),
            &pending,
            INTERACTION_TTL,
        )
        .await
    {
        return refuse(state, &request, OAuthError::server_error(e)).await;
    }
    let no_interaction = request.prompt.iter().any(|p| p == "none");
    let auth_request = AuthenticationRequest {
        authorization: &request,
        force_consent: request.prompt.iter().any(|p| p == "consent"),
        interaction: &interaction,
        login_hint: request.login_hint.as_deref(),
        force_login: request.prompt.iter().any(|p| p == "login"),
        no_interaction,
        max_age: request.max_age,
        acr_values: &request.acr_values,
        now: clock::now(),
    };
    let outcome = state
        .authenticator
        .authenticate(state, &auth_request, headers)
        .await;
    let error = match outcome {
        Authentication::Authenticated(session) => {
            let _ = state
                .ephemeral
                .take(&keys::pending_authorization(&interaction))
                .await;
            return issue_code(state, request, session).await;
        }
        Authentication::Interaction(page) | Authentication::ConsentRequired(page)
            if !no_interaction =>
        {
            return page;
        }
        Authentication::ConsentRequired(_) => OAuthError::new(
            ErrorCode::ConsentRequired,
            "the person has not approved this client and prompt=none was given",
        ),
        Authentication::Interaction(_) => OAuthError::new(
            ErrorCode::LoginRequired,
            "the person must sign in and prompt=none was given",
        ),
        Authentication::Unavailable if no_interaction => {
            OAuthError::new(ErrorCode::LoginRequired, "no session")
        }
        Authentication::Unavailable => OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "no sign-in method is configured on this server",
        ),
    };
    // Refused here, so nothing will resume it: drop what was kept for the interaction now,
    // rather than for its whole TTL.
    forget(state, &interaction).await;
    refuse(state, &request, error).await
}

/// Delete a refused interaction's pending request and any session bound to it.
async fn forget(state: &AppState, interaction: &str) {
    for key in [
        keys::pending_authorization(interaction),
        keys::interaction_session(interaction),
    ] {
        if let Err(e) = state.ephemeral.take(&key).await {
            tracing::warn!(error = %e, "dropping a refused authorization's state failed");
        }
    }
}

/// The pending authorization request of an interaction, without consuming it.
pub async fn pending(
    state: &AppState,
    interaction: &str,
) -> OAuthResult<Option<AuthorizationRequest>> {
    let Some(stored) = state
        .ephemeral
        .get(&keys::pending_authorization(interaction))
        .await
        .map_err(OAuthError::server_error)?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&stored)
        .map(Some)
        .map_err(OAuthError::server_error)
}

/// End a pending authorization with an error sent to the client (the person declined).
pub async fn refuse_pending(
    state: &AppState,
    interaction: &str,
    error: OAuthError,
) -> OAuthResult<Response> {
    let stored = state
        .ephemeral
        .take(&keys::pending_authorization(interaction))
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(|| {
            OAuthError::invalid_request("the authorization request expired; start again")
        })?;
    let request: AuthorizationRequest =
        serde_json::from_slice(&stored).map_err(OAuthError::server_error)?;
    Ok(refuse(state, &request, error).await)
}

/// Resume a pending authorization once a login page has authenticated the person.
pub async fn resume(
    state: &AppState,
    interaction: &str,
    session: AuthenticatedSession,
) -> OAuthResult<Response> {
    let stored = state
        .ephemeral
        .take(&keys::pending_authorization(interaction))
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(|| {
            OAuthError::invalid_request("the authorization request expired; start again")
        })?;
    let request: AuthorizationRequest =
        serde_json::from_slice(&stored).map_err(OAuthError::server_error)?;
    Ok(issue_code(state, request, session).await)
}

async fn issue_code(
    state: &AppState,
    request: AuthorizationRequest,
    session: AuthenticatedSession,
) -> Response {
    let now = clock::now();
    if older_than(session.auth_time, request.max_age, now) {
        let error = OAuthError::new(
            ErrorCode::LoginRequired,
            "the session is older than max_age",
        );
        return refuse(state, &request, error).await;
    }
    let permitted = match decide(state, &request, &session).await {
        Ok(permitted) => permitted,
        Err(error) => return refuse(state, &request, error).await,
    };
    let mut request = request;
    request.scope = permitted.scope.clone();
    let minted = async {
        let code = random_token()?;
        let grant_id = random_token()?;
        let event = Event::new(EventKind::AuthorizationGranted, &request.client_id)
            .with_subject(&session.subject)
            .with_assurance(session.acr.as_deref(), &session.amr)
            .with_purpose(super::purpose::log_code(&request.purpose))
            .with_record(json!({
                "scope": request.scope,
                "redirect_uri": request.redirect_uri,
                "grant_id": grant_id,
                "credential": session.credential,
                "auth_time": session.auth_time,
            }));
        issuance::log_event(state, permitted.logged(event)).await?;
        let grant = AuthorizationCode {
            request: request.clone(),
            session,
            grant_id,
            issued_at: now,
        };
        let value = serde_json::to_vec(&grant).map_err(OAuthError::server_error)?;
        let ttl = Duration::from_secs(
            u64::try_from(state.config.tokens.authorization_code_ttl).unwrap_or(60),
        );
        state
            .ephemeral
            .put(&keys::authorization_code(&sha256_hex(&code)), &value, ttl)
            .await
            .map_err(OAuthError::server_error)?;
        Ok::<_, OAuthError>(code)
    };
    match minted.await {
        Ok(code) => {
            let mut pairs = vec![("code", code.as_str())];
            if let Some(s) = request.state.as_deref() {
                pairs.push(("state", s));
            }
            pairs.push(("iss", state.config.issuer.as_str()));
            redirect_to(&request.redirect_uri, &pairs)
        }
        Err(e) => redirect_error(
            &request.redirect_uri,
            &e,
            request.state.as_deref(),
            Some(state),
        ),
    }
}

/// Policy at the authorization endpoint: the person as the directory and their account
/// describe them now, the purpose and scopes asked for.
async fn decide(
    state: &AppState,
    request: &AuthorizationRequest,
    session: &AuthenticatedSession,
) -> OAuthResult<super::policy::Permitted> {
    let person = super::clinician::check(state, &session.subject).await?;
    state
        .policy
        .decide(super::policy::Question {
            stage: glassgate_policies::Stage::Authorize,
            client_id: &request.client_id,
            purpose: &request.purpose,
            scope: &request.scope,
            asker: Some(super::policy::Asker {
                subject: &session.subject,
                acr: session.acr.as_deref(),
                session_ial: Some(session.identity_assurance),
                person: &person,
            }),
            patient: request.patient.as_deref(),
        })
        .await
}

/// Log a refused authorization, then send the error to the client's redirect URI.
async fn refuse(state: &AppState, request: &AuthorizationRequest, error: OAuthError) -> Response {
    log_refusal(state, &request.client_id, &error).await;
    redirect_error(
        &request.redirect_uri,
        &error,
        request.state.as_deref(),
        Some(state),
    )
}

/// The refusal class goes to the log; the client only when it is registered here.
async fn log_refusal(state: &AppState, client: &str, error: &OAuthError) {
    state
        .metrics
        .refused("authorize", error.code.as_str(), error.purpose(), None);
    if error.code == ErrorCode::ServerError {
        return;
    }
    let event = Event::new(EventKind::AuthorizationRefused, client)
        .with_refusal(error.code.as_str())
        .with_record(json!({ "error_description": error.description }));
    let event = state.policy.logged_refusal(event, client, error);
    if let Err(e) = issuance::log_event(state, event).await {
        tracing::error!(error = %e, "logging an authorization refusal failed");
    }
}

/// RFC 6749 §4.1.2.1 error redirect, with RFC 9207 `iss`.
fn redirect_error(
    redirect_uri: &str,
    error: &OAuthError,
    client_state: Option<&str>,
    state: Option<&AppState>,
) -> Response {
    let max_age = error.step_up().map(|s| s.max_age.to_string());
    let mut pairs = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description.as_str()),
    ];
    if let (Some(step_up), Some(max_age)) = (error.step_up(), &max_age) {
        pairs.push(("acr_values", step_up.acr_values.as_str()));
        pairs.push(("max_age", max_age.as_str()));
    }
    if let Some(s) = client_state {
        pairs.push(("state", s));
    }
    if let Some(app) = state {
        pairs.push(("iss", app.config.issuer.as_str()));
    }
    redirect_to(redirect_uri, &pairs)
}

fn redirect_to(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return OAuthError::invalid_request("registered redirect_uri is not a URL").into_response();
    };
    url.query_pairs_mut().extend_pairs(pairs.iter().copied());
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, url.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_age_saturates_instead_of_overflowing() {
        let now = clock::now();
        assert!(!older_than(now - 10, None, now));
        assert!(!older_than(now - 10, Some(10), now));
        assert!(older_than(now - 11, Some(10), now));
        // `auth_time + max_age` overflowed here (a panic in debug builds).
        assert!(!older_than(now, Some(i64::MAX), now));
        assert!(!older_than(i64::MAX, Some(i64::MAX), i64::MAX));
    }
}
