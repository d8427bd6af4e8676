//! Token introspection (RFC 7662) for resource servers, which authenticate as clients.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::params::Params;
use super::resource::active_access_token;
use super::{client_auth, sha256_hex};
use crate::app::AppState;
use crate::clock;
use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::store::model::TokenContext;

#[derive(Serialize, Default)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<serde_json::Value>,
    /// The purpose of use the token serves, in both code systems.
    #[serde(skip_serializing_if = "Option::is_none")]
    purpose_of_use: Option<glassgate_policies::PurposeOfUse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_details: Option<[crate::oauth::purpose::PurposeDetail; 1]>,
    /// SMART launch patient, consent honoured, RFC 8693 actor: what the JWT carries.
    #[serde(flatten)]
    context: TokenContext,
}

pub async fn introspect(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &headers, &body).await {
        Ok(answer) => ([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &[u8]) -> OAuthResult<Introspection> {
    let params = Params::from_form(headers, body)?;
    let client = client_auth::authenticate(
        state,
        headers,
        &params,
        &state.config.endpoint("/introspect"),
    )
    .await?;
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot introspect",
        ));
    }
    let token = params.require("token")?;
    if let Some(active) = active_access_token(state, token).await? {
        let r = active.stored.record;
        let purpose = super::purpose::from_stored(r.purpose.as_deref());
        return Ok(Introspection {
            context: r.context,
            authorization_details: purpose.as_ref().map(super::purpose::authorization_details),
            purpose_of_use: purpose,
            active: true,
            token_type: Some(if r.cnf_jkt.is_some() {
                "DPoP"
            } else {
                "Bearer"
            }),
            cnf: r.cnf_jkt.map(|jkt| serde_json::json!({ "jkt": jkt })),
            scope: Some(r.scope),
            client_id: Some(r.client_id),
            sub: Some(r.subject),
            exp: Some(r.expires_at),
            iat: Some(r.issued_at),
            iss: Some(state.config.issuer.clone()),
            aud: Some(r.audience),
            jti: Some(r.jti),
        });
    }
    let refresh = state
        .store
        .tokens
        .refresh_token(&sha256_hex(token))
        .await
        .map_err(OAuthError::server_error)?;
    match refresh {
        Some(r) if !r.used && !r.revoked && r.record.expires_at > clock::now() => {
            let purpose = super::purpose::from_stored(r.grant.purpose.as_deref());
            Ok(Introspection {
                active: true,
                authorization_details: purpose.as_ref().map(super::purpose::authorization_details),
                purpose_of_use: purpose,
                token_type: Some("refresh_token"),
                context: TokenContext {
                    patient: r.grant.patient,
                    ..TokenContext::default()
                },
                scope: Some(r.record.scope),
                client_id: Some(r.record.client_id),
                sub: Some(r.grant.subject),
                exp: Some(r.record.expires_at),
                iat: Some(r.record.issued_at),
                iss: Some(state.config.issuer.clone()),
                ..Introspection::default()
            })
        }
        _ => Ok(Introspection::default()),
    }
}
