//! The token endpoint (RFC 6749 §3.2): authenticate the client, check the DPoP proof, and
//! dispatch to the grant. Every grant ends in [`super::issuance::IssuanceWriter::commit`].

mod authorization_code;
mod client_credentials;
pub mod exchange;
mod refresh;

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::dpop::{DpopProof, Expected};
use super::params::Params;
use super::{client_auth, issuance};
use crate::app::AppState;
use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::tlog::{Event, EventKind, NO_CLIENT};

pub const GRANT_TYPES: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    exchange::GRANT_TYPE,
];

/// RFC 6749 §5.1 successful response.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// SMART App Launch: the launch patient (the patient the token is about).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    /// RFC 8693 §2.2.1: what a token exchange issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
    /// RFC 9396 §7: the purpose of use the tokens serve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<[crate::oauth::purpose::PurposeDetail; 1]>,
    /// Index of the log entry recording this issuance (sent as a header, not in the body).
    #[serde(skip)]
    pub log_index: Option<u64>,
    /// For metrics: the grant and the exchange purpose code.
    #[serde(skip)]
    pub grant_type: &'static str,
    #[serde(skip)]
    pub purpose: &'static str,
}

/// Where the log entry of an issuance is: `GET <log prefix>proof/index/<this>` once integrated.
pub const LOG_INDEX_HEADER: &str = "glassgate-log-index";

pub fn log_index(outcome: crate::store::model::IssuanceOutcome) -> Option<u64> {
    match outcome {
        crate::store::model::IssuanceOutcome::Committed { log_index } => log_index,
        crate::store::model::IssuanceOutcome::RefreshAlreadyUsed => None,
    }
}

pub fn token_type(dpop: Option<&DpopProof>) -> &'static str {
    if dpop.is_some() { "DPoP" } else { "Bearer" }
}

/// An access token alone (no grant, refresh or ID token), committed with its log entry;
/// `grant_type` names it in the log.
struct AccessOnly {
    access_token: String,
    expires_in: i64,
    log_index: Option<u64>,
}

async fn issue_access_only(
    state: &AppState,
    who: &issuance::TokenSubject<'_>,
    grant_type: &str,
    decision: &super::policy::Permitted,
) -> OAuthResult<AccessOnly> {
    let (access_token, record) = issuance::access_token(state, who)?;
    let expires_in = record.expires_at - record.issued_at;
    let entry = issuance::issued_entry(
        state,
        issuance::Issued {
            grant_type,
            access: &record,
            grant: None,
            refresh: None,
            id_token: None,
            clinician: None,
            decision,
            purpose: who.purpose,
        },
    )?;
    let outcome = state
        .issuance
        .commit(crate::store::model::Issuance {
            at: crate::clock::now(),
            access_tokens: vec![record],
            log: vec![entry],
            ..Default::default()
        })
        .await?;
    Ok(AccessOnly {
        access_token,
        expires_in,
        log_index: log_index(outcome),
    })
}

pub async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let mut client = None;
    let mut response = match handle(&state, &headers, &body, &mut client).await {
        Ok(tokens) => {
            let index = tokens.log_index;
            state
                .metrics
                .issued(tokens.grant_type, tokens.purpose, started.elapsed());
            if let Some(index) = index {
                state.metrics.committed(index);
            }
            let mut response = Json(tokens).into_response();
            if let Some(value) = index.and_then(|i| HeaderValue::from_str(&i.to_string()).ok()) {
                response.headers_mut().insert(LOG_INDEX_HEADER, value);
            }
            response
        }
        Err(e) => {
            state.metrics.refused(
                "token",
                e.code.as_str(),
                e.purpose(),
                Some(started.elapsed()),
            );
            refused(&state, e, client.as_deref())
                .await
                .in_realm(&state.config.issuer)
                .into_response()
        }
    };
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    state.dpop.offer_nonce(&headers, out);
    response
}

/// Log a refusal (its class only; the client when it authenticated) and pass the error on.
async fn refused(state: &AppState, error: OAuthError, client: Option<&str>) -> OAuthError {
    if error.code == ErrorCode::ServerError {
        return error;
    }
    let client = client.unwrap_or(NO_CLIENT);
    let event = Event::new(EventKind::TokenRefused, client)
        .with_refusal(error.code.as_str())
        .with_record(serde_json::json!({ "error_description": error.description }));
    let event = state.policy.logged_refusal(event, client, &error);
    match issuance::log_event(state, event).await {
        Ok(()) => error,
        Err(log_failure) => log_failure,
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    authenticated: &mut Option<String>,
) -> OAuthResult<TokenResponse> {
    let params = Params::from_form(headers, body)?;
    let grant_type = params.require("grant_type")?;
    if !GRANT_TYPES.contains(&grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {grant_type} is not supported"),
        ));
    }
    let endpoint = state.config.endpoint("/token");
    let client = client_auth::authenticate(state, headers, &params, &endpoint).await?;
    *authenticated = Some(client.id().to_owned());
    if !client.client.record.allows_grant(grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {grant_type} grant"),
        ));
    }
    let expected = Expected {
        method: "POST",
        url: &endpoint,
        access_token: None,
        require_nonce: state.dpop.nonce_required,
    };
    let dpop = state
        .dpop
        .check(headers, &expected, state.ephemeral.as_ref())
        .await?;
    if client.client.record.dpop_bound && dpop.is_none() {
        return Err(OAuthError::invalid_dpop_proof(
            "this client's tokens must be DPoP-bound: send a DPoP proof",
        ));
    }
    match grant_type {
        "authorization_code" => {
            authorization_code::exchange(state, &client, &params, dpop.as_ref()).await
        }
        "refresh_token" => refresh::exchange(state, &client, &params, dpop.as_ref()).await,
        exchange::GRANT_TYPE => exchange::exchange(state, &client, &params, dpop.as_ref()).await,
        _ => client_credentials::exchange(state, &client, &params, dpop.as_ref()).await,
    }
}
