//! Token introspection (RFC 7662) for resource servers, which authenticate as clients.
//!
//! A client learns about a token only when it may know about it (RFC 7662 §4): the token was
//! issued to it, or it is a configured resource server (`resource_audiences`) for the
//! access token's audience. Clients register themselves (RFC 7591, UDAP), so anything else
//! answers `{"active": false}`, exactly as for a token that is unknown.

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
use crate::store::model::{ClientSource, TokenContext};

/// A token, as far as deciding who may learn about it goes.
#[derive(Debug, Clone, Copy)]
enum About<'a> {
    Access {
        client_id: &'a str,
        audience: &'a str,
    },
    Refresh {
        client_id: &'a str,
    },
}

/// Whether the caller (`caller`, a resource server for the audiences `serves`) may learn
/// about `token`: its own tokens always; another client's access token when it serves the
/// token's audience; another client's refresh token never.
fn may_know(caller: &str, serves: &[String], token: About<'_>) -> bool {
    match token {
        About::Access {
            client_id,
            audience,
        } => client_id == caller || serves.iter().any(|a| a == audience),
        About::Refresh { client_id } => client_id == caller,
    }
}

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
        Err(e) => e.in_realm(&state.config.issuer).into_response(),
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
    // Only configured clients serve audiences: a registered client named like one does not.
    let serves: &[String] = match client.client.record.source {
        ClientSource::Config => state.config.resource_audiences(client.id()),
        ClientSource::Dynamic | ClientSource::Udap => &[],
    };
    let token = params.require("token")?;
    if let Some(active) = active_access_token(state, token).await? {
        let r = active.stored.record;
        let about = About::Access {
            client_id: &r.client_id,
            audience: &r.audience,
        };
        if !may_know(client.id(), serves, about) {
            return Ok(Introspection::default());
        }
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
        Some(r)
            if !r.used
                && !r.revoked
                && r.record.expires_at > clock::now()
                && may_know(
                    client.id(),
                    serves,
                    About::Refresh {
                        client_id: &r.record.client_id,
                    },
                ) =>
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    const FHIR: &str = "https://fhir.example.org";

    fn access<'a>(client_id: &'a str, audience: &'a str) -> About<'a> {
        About::Access {
            client_id,
            audience,
        }
    }

    #[test]
    fn a_client_may_know_its_own_tokens() {
        assert!(may_know("app", &[], access("app", FHIR)));
        assert!(may_know("app", &[], About::Refresh { client_id: "app" }));
    }

    #[test]
    fn another_client_may_not_know_a_token() {
        assert!(!may_know("other", &[], access("app", FHIR)));
        assert!(!may_know("other", &[], About::Refresh { client_id: "app" }));
    }

    #[test]
    fn a_resource_server_may_know_access_tokens_for_its_audiences_only() {
        let serves = ["https://other.example.org".to_owned(), FHIR.to_owned()];
        assert!(may_know("rs", &serves, access("app", FHIR)));
        assert!(!may_know(
            "rs",
            &serves,
            access("app", "https://elsewhere.example")
        ));
        assert!(!may_know(
            "rs",
            &serves,
            access("app", "https://fhir.example.org/")
        ));
        // Refresh tokens are only ever their client's business.
        assert!(!may_know(
            "rs",
            &serves,
            About::Refresh { client_id: "app" }
        ));
    }
}
