//! `GET /.well-known/udap` (UDAP Server Metadata): what UDAP workflows this server runs,
//! with the endpoints repeated in `signed_metadata`, a JWT signed RS256 under our
//! certificate (`x5c`), whose `iss` is the issuer and the certificate's URI SAN.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::AppState;
use crate::clock;
use crate::oauth::client_auth::ASSERTION_ALGS;
use crate::oauth::random_token;

/// How long signed metadata is valid (the IG allows up to a year).
const SIGNED_METADATA_TTL: i64 = 24 * 3600;

#[derive(Deserialize)]
pub struct MetadataQuery {
    community: Option<String>,
}

#[derive(Serialize)]
struct SignedMetadata<'a> {
    iss: &'a str,
    sub: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    authorization_endpoint: String,
    token_endpoint: String,
    registration_endpoint: String,
}

pub async fn udap_metadata(
    State(state): State<Arc<AppState>>,
    Query(query): Query<MetadataQuery>,
) -> Response {
    let Some(udap) = state.udap.as_ref() else {
        return (StatusCode::NOT_FOUND, "this server runs no UDAP workflow\n").into_response();
    };
    if !udap.serves(query.community.as_deref()) {
        // The IG: a community the server does not serve gets no metadata.
        return StatusCode::NO_CONTENT.into_response();
    }
    let c = &state.config;
    let now = clock::now();
    let jti = match random_token() {
        Ok(j) => j,
        Err(e) => return e.into_response(),
    };
    let signed = SignedMetadata {
        iss: &c.issuer,
        sub: &c.issuer,
        iat: now,
        exp: now + SIGNED_METADATA_TTL,
        jti,
        authorization_endpoint: c.endpoint("/authorize"),
        token_endpoint: c.endpoint("/token"),
        registration_endpoint: c.endpoint("/udap/register"),
    };
    let signed_metadata = match udap.sign(&signed) {
        Ok(jwt) => jwt,
        Err(e) => {
            tracing::error!(error = %e, "signing UDAP metadata failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let document = json!({
        "udap_versions_supported": ["1"],
        "udap_profiles_supported": ["udap_dcr", "udap_authn", "udap_authz", "udap_to"],
        "udap_authorization_extensions_supported": ["hl7-b2b"],
        "udap_authorization_extensions_required": [],
        "udap_certifications_supported": [],
        "udap_certifications_required": [],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "scopes_supported": ["openid", "udap", "fhirUser", "offline_access",
            "patient/*.rs", "user/*.rs", "system/*.rs"],
        "authorization_endpoint": signed.authorization_endpoint,
        "token_endpoint": signed.token_endpoint,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "registration_endpoint": signed.registration_endpoint,
        "registration_endpoint_jwt_signing_alg_values_supported": ASSERTION_ALGS,
        "signed_metadata": signed_metadata,
    });
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(document),
    )
        .into_response()
}
