//! SMART App Launch 2.x discovery (`/.well-known/smart-configuration`, SMART App Launch
//! §Conformance): where the endpoints are, which scopes and client types this server
//! supports, and its capabilities. Only what the server really does is listed: no EHR launch
//! (Glassgate is not an EHR), no encounter context. The patient context of a standalone
//! launch (`launch/patient`) is the signed-in patient, or the patient a clinician's request
//! names (`patient_context` authorization details); it comes back as `patient`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::client_auth::ASSERTION_ALGS;
use super::token::GRANT_TYPES;
use crate::app::AppState;

/// What a SMART client may ask for: sign-in scopes and the three audiences' wildcard reads
/// (any narrower SMART v2 or v1 scope is accepted too; policy decides what is granted).
const SCOPES: [&str; 10] = [
    "openid",
    "fhirUser",
    "profile",
    "offline_access",
    "launch/patient",
    "patient/*.rs",
    "user/*.rs",
    "system/*.rs",
    "patient/*.read",
    "user/*.read",
];

const CAPABILITIES: [&str; 12] = [
    "launch-standalone",
    "context-standalone-patient",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "sso-openid-connect",
    "permission-offline",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
];

pub fn configuration(state: &AppState) -> Value {
    let c = &state.config;
    let mut doc = json!({
        "issuer": c.issuer,
        "jwks_uri": c.endpoint("/jwks"),
        "authorization_endpoint": c.endpoint("/authorize"),
        "token_endpoint": c.endpoint("/token"),
        "grant_types_supported": GRANT_TYPES,
        "token_endpoint_auth_methods_supported":
            ["private_key_jwt", "client_secret_basic", "client_secret_post", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "introspection_endpoint": c.endpoint("/introspect"),
        "revocation_endpoint": c.endpoint("/revoke"),
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES,
    });
    if c.initial_access_token.is_some() {
        doc["registration_endpoint"] = json!(c.endpoint("/register"));
    }
    doc
}

pub async fn smart_configuration(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(configuration(&state)),
    )
        .into_response()
}
