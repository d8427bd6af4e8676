//! `POST /udap/register`: UDAP trusted dynamic client registration. The software statement
//! is a JWT signed with the member's private key, its certificate chain in `x5c`, which must
//! end at one of the community's anchors; its `iss` is the certificate's URI SAN. The same
//! `iss` registering again modifies its client (200, same `client_id`); an empty
//! `grant_types` cancels it. Every change is logged.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{client_id_for, x509};
use crate::app::AppState;
use crate::clock;
use crate::ephemeral::keys;
use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::jose::Jws;
use crate::oauth::client_auth::ASSERTION_ALGS;
use crate::oauth::registration::{check_redirect_uri, remove_client, save_client};
use crate::store::model::{ClientAuthMethod, ClientRecord, ClientSource};

/// The IG: a software statement's `exp` is at most five minutes after its `iat`.
const MAX_STATEMENT_LIFETIME: i64 = 300;
const CLOCK_SKEW: i64 = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationRequest {
    software_statement: String,
    /// Certification JWTs. We support none, and the FAST/UDAP registration spec says an
    /// authorization server SHALL ignore unsupported certifications (TEFCA Facilitated FHIR
    /// clients send them), so they are only type-checked, never refused or evaluated.
    #[serde(default, rename = "certifications")]
    _certifications: Vec<String>,
    udap: String,
}

/// The registrant's claims, from the verified software statement.
#[derive(Deserialize)]
struct Statement {
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    response_types: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    scope: Option<String>,
}

#[derive(Serialize)]
struct Registered {
    client_id: String,
    software_statement: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_name: Option<String>,
    grant_types: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    response_types: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

fn invalid_statement(text: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidSoftwareStatement, text)
}

fn invalid_metadata(text: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, text)
}

pub async fn register(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    match handle(&state, &body).await {
        Ok((status, registered)) => (
            status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(registered),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The software statement, verified: signature under a certificate of this community,
/// issuer, audience, lifetime, and a `jti` never seen before. Returns its `iss`.
async fn verified_statement(state: &AppState, token: &str) -> OAuthResult<(String, Jws)> {
    let udap = state
        .udap
        .as_ref()
        .ok_or_else(|| OAuthError::invalid_request("UDAP registration is not enabled here"))?;
    let jws =
        Jws::parse(token).map_err(|e| invalid_statement(format!("software_statement: {e}")))?;
    if !ASSERTION_ALGS.contains(&jws.header_str("alg").unwrap_or_default()) {
        return Err(invalid_statement(
            "software_statement algorithm is not accepted",
        ));
    }
    let chain = x509::x5c_of(&jws.header).map_err(|e| invalid_statement(e.to_string()))?;
    let now = clock::now();
    let leaf = x509::validate(&chain, udap.anchors(), now).map_err(|e| match e {
        x509::ChainError::Untrusted | x509::ChainError::Expired => {
            OAuthError::new(ErrorCode::UnapprovedSoftwareStatement, e.to_string())
        }
        other => invalid_statement(other.to_string()),
    })?;
    jws.verify(&leaf.key)
        .map_err(|e| invalid_statement(format!("software_statement signature: {e}")))?;
    let iss = jws
        .claim_str("iss")
        .ok_or_else(|| invalid_statement("software_statement has no iss"))?
        .to_owned();
    if !leaf.uris.contains(&iss) {
        return Err(invalid_statement(
            "software_statement iss must be a URI SAN of its certificate",
        ));
    }
    if jws.claim_str("sub") != Some(iss.as_str()) {
        return Err(invalid_statement("software_statement sub must equal iss"));
    }
    let endpoint = state.config.endpoint("/udap/register");
    let aud_ok = match jws.claims.get("aud") {
        Some(Value::String(a)) => *a == endpoint,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&endpoint)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid_statement(
            "software_statement aud must be the registration endpoint",
        ));
    }
    let (Some(iat), Some(exp)) = (jws.claim_i64("iat"), jws.claim_i64("exp")) else {
        return Err(invalid_statement("software_statement needs iat and exp"));
    };
    if exp + CLOCK_SKEW < now || iat > now + CLOCK_SKEW {
        return Err(invalid_statement(
            "software_statement is expired or not yet valid",
        ));
    }
    if exp - iat > MAX_STATEMENT_LIFETIME {
        return Err(invalid_statement(
            "software_statement exp must be at most 5 minutes after iat",
        ));
    }
    let jti = jws
        .claim_str("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| invalid_statement("software_statement needs a jti"))?;
    let ttl = Duration::from_secs(u64::try_from(exp - now + CLOCK_SKEW).unwrap_or(1).max(1));
    let fresh = state
        .ephemeral
        .insert_new(&keys::client_assertion_jti(&iss, jti), b"1", ttl)
        .await
        .map_err(OAuthError::server_error)?;
    if !fresh {
        return Err(invalid_statement("software_statement jti was already used"));
    }
    Ok((iss, jws))
}

/// The grant types a member may register: authorization code (with refresh) for apps and
/// Tiered OAuth data holders, or client credentials for B2B systems; never both.
fn check_grants(grants: &[String], statement: &Statement) -> OAuthResult<()> {
    const ALLOWED: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
    if let Some(other) = grants.iter().find(|g| !ALLOWED.contains(&g.as_str())) {
        return Err(invalid_metadata(format!(
            "grant type {other} cannot be registered"
        )));
    }
    let code = grants.iter().any(|g| g == "authorization_code");
    let credentials = grants.iter().any(|g| g == "client_credentials");
    if code == credentials {
        return Err(invalid_metadata(
            "grant_types must include authorization_code or client_credentials, not both",
        ));
    }
    if grants.iter().any(|g| g == "refresh_token") && !code {
        return Err(invalid_metadata(
            "refresh_token goes with authorization_code",
        ));
    }
    if code {
        if statement.redirect_uris.is_empty() {
            return Err(invalid_metadata(
                "redirect_uris are required for authorization_code",
            ));
        }
        statement
            .redirect_uris
            .iter()
            .try_for_each(|u| check_redirect_uri(u))?;
        if statement.response_types != ["code"] {
            return Err(invalid_metadata(
                "response_types must be [\"code\"] for authorization_code",
            ));
        }
    } else if !statement.redirect_uris.is_empty() || !statement.response_types.is_empty() {
        return Err(invalid_metadata(
            "client_credentials clients have no redirect_uris or response_types",
        ));
    }
    Ok(())
}

/// The registration request's envelope, before the software statement is looked at.
fn parse_request(body: &[u8]) -> OAuthResult<RegistrationRequest> {
    let request: RegistrationRequest = serde_json::from_slice(body)
        .map_err(|e| invalid_metadata(format!("registration request: {e}")))?;
    if request.udap != "1" {
        return Err(invalid_metadata("udap must be \"1\""));
    }
    Ok(request)
}

async fn handle(state: &AppState, body: &[u8]) -> OAuthResult<(StatusCode, Registered)> {
    let request = parse_request(body)?;
    let (iss, jws) = verified_statement(state, &request.software_statement).await?;
    let statement: Statement = serde_json::from_value(Value::Object(jws.claims.clone()))
        .map_err(|e| invalid_statement(format!("software_statement claims: {e}")))?;
    let client_id = client_id_for(&iss);
    let existing = state
        .store
        .clients
        .get(&client_id)
        .await
        .map_err(OAuthError::server_error)?;
    let grants = statement
        .grant_types
        .clone()
        .ok_or_else(|| invalid_metadata("grant_types is required"))?;
    if grants.is_empty() {
        // Cancellation by the same member.
        if existing.is_none() {
            return Err(invalid_metadata("no registration of this iss to cancel"));
        }
        remove_client(state, &client_id, "udap registration cancelled").await?;
        return Ok((
            StatusCode::OK,
            Registered {
                client_id,
                software_statement: request.software_statement,
                client_name: statement.client_name,
                grant_types: Vec::new(),
                response_types: Vec::new(),
                redirect_uris: Vec::new(),
                token_endpoint_auth_method: "private_key_jwt",
                scope: None,
            },
        ));
    }
    check_grants(&grants, &statement)?;
    if statement.token_endpoint_auth_method.as_deref() != Some("private_key_jwt") {
        return Err(invalid_metadata(
            "token_endpoint_auth_method must be private_key_jwt",
        ));
    }
    let client_name = statement
        .client_name
        .clone()
        .filter(|n| !n.trim().is_empty() && n.len() <= 200)
        .ok_or_else(|| invalid_metadata("client_name is required (at most 200 characters)"))?;
    let now = clock::now();
    let record = ClientRecord {
        client_id: client_id.clone(),
        client_secret_hash: None,
        client_name: Some(client_name.clone()),
        auth_method: ClientAuthMethod::PrivateKeyJwt,
        redirect_uris: statement.redirect_uris.clone(),
        grant_types: grants.clone(),
        scope: statement.scope.clone().filter(|s| !s.trim().is_empty()),
        jwks: None,
        require_par: false,
        dpop_bound: false,
        id_token_alg: None,
        registration_token_hash: None,
        source: ClientSource::Udap,
        created_at: existing.as_ref().map_or(now, |e| e.created_at),
        updated_at: now,
    };
    let (status, action) = match existing {
        Some(_) => (StatusCode::OK, "udap registration modified"),
        None => (StatusCode::CREATED, "udap registered"),
    };
    save_client(state, &record, action).await?;
    Ok((
        status,
        Registered {
            client_id,
            software_statement: request.software_statement,
            client_name: Some(client_name),
            response_types: statement.response_types,
            redirect_uris: record.redirect_uris,
            grant_types: grants,
            token_endpoint_auth_method: "private_key_jwt",
            scope: record.scope,
        },
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> OAuthResult<RegistrationRequest> {
        parse_request(&serde_json::to_vec(&body).unwrap())
    }

    #[test]
    fn unrecognised_certifications_are_ignored() {
        for certifications in [json!(["eyJhbGciOiJSUzI1NiJ9.e30.c2ln"]), json!([])] {
            let request = parse(json!({
                "software_statement": "eyJ.e30.sig",
                "certifications": certifications,
                "udap": "1",
            }));
            assert!(request.is_ok(), "{certifications}: {:?}", request.err());
        }
        assert!(parse(json!({ "software_statement": "eyJ.e30.sig", "udap": "1" })).is_ok());
    }

    #[test]
    fn a_malformed_envelope_is_invalid_client_metadata() {
        for body in [
            json!({ "software_statement": "s", "certifications": "eyJ.e30.sig", "udap": "1" }),
            json!({ "software_statement": "s", "certifications": [1], "udap": "1" }),
            json!({ "software_statement": "s", "udap": "2" }),
            json!({ "software_statement": "s", "udap": "1", "unknown": true }),
            json!({ "udap": "1" }),
        ] {
            let code = parse(body.clone()).err().map(|e| e.code);
            assert_eq!(code, Some(ErrorCode::InvalidClientMetadata), "{body}");
        }
    }
}
