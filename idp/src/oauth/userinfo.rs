//! The UserInfo endpoint (OIDC Core §5.3), a protected resource: Bearer (RFC 6750) or
//! DPoP-bound (RFC 9449 §7) access tokens carrying the `openid` scope.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::dpop::Expected;
use super::resource::active_access_token;
use super::scope;
use crate::app::AppState;
use crate::error::{Challenge, ErrorCode, OAuthError, OAuthResult};

pub async fn userinfo(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    match handle(&state, &method, &headers).await {
        Ok(claims) => ([(header::CACHE_CONTROL, "no-store")], Json(claims)).into_response(),
        Err(e) => e.in_realm(&state.config.issuer).into_response(),
    }
}

async fn handle(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> OAuthResult<serde_json::Value> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (challenge, token) = if let Some(t) = authorization.strip_prefix("Bearer ") {
        (Challenge::Bearer, t.trim())
    } else if let Some(t) = authorization.strip_prefix("DPoP ") {
        (Challenge::DPoP, t.trim())
    } else {
        // No credentials (or a scheme we do not take): offer both, with no error code.
        return Err(
            OAuthError::new(ErrorCode::InvalidRequest, "an access token is required")
                .with_status(StatusCode::UNAUTHORIZED)
                .with_challenge(Challenge::BearerOrDPoP),
        );
    };
    let invalid = |text: &str| {
        OAuthError::new(ErrorCode::InvalidToken, text).with_challenge(challenge.clone())
    };
    let active = active_access_token(state, token)
        .await?
        .ok_or_else(|| invalid("the access token is invalid, expired or revoked"))?;
    match (active.cnf_jkt(), &challenge) {
        (Some(jkt), Challenge::DPoP) => {
            let url = state.config.endpoint("/userinfo");
            let expected = Expected {
                method: method.as_str(),
                url: &url,
                access_token: Some(token),
                require_nonce: false,
            };
            let proof = state
                .dpop
                .check(headers, &expected, state.ephemeral.as_ref())
                .await
                .map_err(|e| match e.code {
                    // RFC 9449 §7.1, §9: a bad proof, or one without the nonce, is a 401
                    // challenge; anything else (a failing replay store) stays what it is.
                    ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce => e
                        .with_status(StatusCode::UNAUTHORIZED)
                        .with_challenge(Challenge::DPoP),
                    _ => e,
                })?
                .ok_or_else(|| invalid("a DPoP proof is required with a DPoP-bound token"))?;
            if proof.jkt != jkt {
                return Err(invalid(
                    "the DPoP proof key does not match the token binding",
                ));
            }
        }
        (Some(_), _) => {
            return Err(invalid(
                "a DPoP-bound token must be sent with the DPoP scheme",
            ));
        }
        (None, Challenge::DPoP) => return Err(invalid("the token is not DPoP-bound")),
        (None, _) => {}
    }
    if !scope::contains(&active.stored.record.scope, "openid") {
        return Err(
            OAuthError::new(ErrorCode::AccessDenied, "the token lacks the openid scope")
                .with_challenge(challenge),
        );
    }
    let record = &active.stored.record;
    let mut claims = json!({ "sub": record.subject });
    let person = super::clinician::check(state, &record.subject).await?;
    if let Some(verified) =
        super::clinician::verified_claims_for(&record.scope, person.verified_claims.as_ref())
    {
        claims["verified_claims"] = verified;
    }
    Ok(claims)
}
