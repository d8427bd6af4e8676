//! Pushed authorization requests (RFC 9126): the client authenticates and pushes the whole
//! request; the browser then carries only an opaque, single-use `request_uri`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::authorize::REQUEST_URI_PREFIX;
use super::dpop::Expected;
use super::params::Params;
use super::request::{self, RequestError};
use super::{client_auth, random_token};
use crate::app::AppState;
use crate::ephemeral::keys;
use crate::error::{OAuthError, OAuthResult};

#[derive(Serialize)]
struct PushedResponse {
    request_uri: String,
    expires_in: i64,
}

pub async fn push(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut response = match push_request(&state, &headers, &body).await {
        Ok(response) => response,
        Err(e) => e.in_realm(&state.config.issuer).into_response(),
    };
    state.dpop.offer_nonce(&headers, response.headers_mut());
    response
}

async fn push_request(state: &AppState, headers: &HeaderMap, body: &[u8]) -> OAuthResult<Response> {
    let params = Params::from_form(headers, body)?;
    let endpoint = state.config.endpoint("/par");
    let client = client_auth::authenticate(state, headers, &params, &endpoint).await?;
    if params.contains("request_uri") {
        return Err(OAuthError::invalid_request("request_uri cannot be pushed"));
    }
    let mut request = request::validate(&client.client, &params).map_err(|e| match e {
        RequestError::Direct(e) => e,
        RequestError::Redirect(r) => r.error,
    })?;
    // RFC 9449 §10.1: a DPoP proof sent with the pushed request binds the code to its key
    // as `dpop_jkt` does; when both are present they must name the same key.
    let expected = Expected {
        method: "POST",
        url: &endpoint,
        access_token: None,
        require_nonce: state.dpop.nonce_required,
    };
    if let Some(proof) = state
        .dpop
        .check(headers, &expected, state.ephemeral.as_ref())
        .await?
    {
        if request
            .dpop_jkt
            .as_ref()
            .is_some_and(|jkt| *jkt != proof.jkt)
        {
            return Err(OAuthError::invalid_dpop_proof(
                "dpop_jkt names another key than the DPoP proof",
            ));
        }
        request.dpop_jkt = Some(proof.jkt);
    }
    let id = random_token()?;
    let ttl = state.config.tokens.par_ttl;
    let value = serde_json::to_vec(&request).map_err(OAuthError::server_error)?;
    state
        .ephemeral
        .put(
            &keys::pushed_request(&id),
            &value,
            Duration::from_secs(u64::try_from(ttl).unwrap_or(60)),
        )
        .await
        .map_err(OAuthError::server_error)?;
    let body = PushedResponse {
        request_uri: format!("{REQUEST_URI_PREFIX}{id}"),
        expires_in: ttl,
    };
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response())
}
