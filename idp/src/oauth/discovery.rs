//! Discovery (OIDC Discovery 1.0 §3, RFC 8414 §2) and the JWKS.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::client_auth::ASSERTION_ALGS;
use super::token::GRANT_TYPES;
use crate::app::AppState;
use crate::jose::VerifyAlg;

pub fn metadata(state: &AppState) -> Value {
    let c = &state.config;
    let signing: Vec<&str> = state
        .keys
        .algorithms()
        .iter()
        .map(|a| a.jose_name())
        .collect();
    let mut doc = json!({
        "issuer": c.issuer,
        "authorization_endpoint": c.endpoint("/authorize"),
        "token_endpoint": c.endpoint("/token"),
        "jwks_uri": c.endpoint("/jwks"),
        "userinfo_endpoint": c.endpoint("/userinfo"),
        "pushed_authorization_request_endpoint": c.endpoint("/par"),
        "require_pushed_authorization_requests": false,
        "introspection_endpoint": c.endpoint("/introspect"),
        "revocation_endpoint": c.endpoint("/revoke"),
        "scopes_supported": ["openid", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GRANT_TYPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": signing,
        "token_endpoint_auth_methods_supported":
            ["private_key_jwt", "client_secret_basic", "client_secret_post", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported":
            ["private_key_jwt", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported":
            ["private_key_jwt", "client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": VerifyAlg::ALL_NAMES,
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "acr_values_supported": ["phr", "phrh"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "fhirUser", "verified_claims"],
        "authorization_details_types_supported": [
            glassgate_policies::authorization_details::PURPOSE_OF_USE_TYPE,
            glassgate_policies::authorization_details::PATIENT_CONTEXT_TYPE,
        ],
        // OpenID Connect for Identity Assurance: IAL2 from a mobile driving licence.
        "verified_claims_supported": true,
        "trust_frameworks_supported": ["nist_800_63A"],
        "evidence_supported": ["document"],
        "documents_supported": ["driving_permit"],
        "claims_in_verified_claims_supported": ["given_name", "family_name", "birthdate"],
    });
    // Where auditors find the log and the key its checkpoints are signed with.
    doc["transparency_log"] = json!({
        "origin": state.log.origin,
        "url": state.log.url,
        "vkey": state.log.vkey(),
    });
    if c.initial_access_token.is_some() {
        doc["registration_endpoint"] = json!(c.endpoint("/register"));
    }
    doc
}

pub async fn openid_configuration(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(metadata(&state)),
    )
        .into_response()
}

/// Every key that may still verify a token; short cache so relying parties see a new key
/// well before it signs anything (keys are staged as `next` for a whole rotation period).
pub async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    let ring = state.keys.ring();
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(ring.jwks().clone()),
    )
        .into_response()
}
