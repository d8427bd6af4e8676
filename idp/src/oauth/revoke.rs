//! Token revocation (RFC 7009). Revoking a refresh token revokes its whole grant; an
//! unknown token, or another client's, gets the same 200 so nothing is disclosed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::params::Params;
use super::resource::active_access_token;
use super::{client_auth, sha256_hex};
use crate::app::AppState;
use crate::clock;
use crate::error::{ErrorCode, OAuthError, OAuthResult};

pub async fn revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &headers, &body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.in_realm(&state.config.issuer).into_response(),
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &[u8]) -> OAuthResult<()> {
    let params = Params::from_form(headers, body)?;
    let client =
        client_auth::authenticate(state, headers, &params, &state.config.endpoint("/revoke"))
            .await?;
    let token = params.require("token")?;
    match params.get("token_type_hint") {
        None | Some("access_token" | "refresh_token") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "unknown token_type_hint",
            ));
        }
    }
    let now = clock::now();
    if let Some(active) = active_access_token(state, token).await? {
        if active.stored.record.client_id == client.id() {
            state
                .store
                .tokens
                .revoke_access_token(&active.stored.record.jti, now)
                .await
                .map_err(OAuthError::server_error)?;
        }
        return Ok(());
    }
    let refresh = state
        .store
        .tokens
        .refresh_token(&sha256_hex(token))
        .await
        .map_err(OAuthError::server_error)?;
    if let Some(r) = refresh.filter(|r| r.record.client_id == client.id()) {
        state
            .store
            .tokens
            .revoke_grant(&r.record.grant_id, now)
            .await
            .map_err(OAuthError::server_error)?;
    }
    Ok(())
}
