//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).
//! Off unless an initial access token is configured; each registration gets its own
//! registration access token for later reads, updates and deletion.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{random_token, same_secret, sha256_hex};
use crate::app::AppState;
use crate::clock;
use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::jose::PublicKey;
use crate::store::StoreResult;
use crate::store::model::{ClientAuthMethod, ClientRecord, ClientSource};
use crate::tlog::{Event, EventKind};

/// Client metadata as registrants send it (RFC 7591 §2); unknown members are ignored.
#[derive(Debug, Deserialize)]
struct ClientMetadata {
    client_id: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    client_name: Option<String>,
    scope: Option<String>,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    software_statement: Option<String>,
    id_token_signed_response_alg: Option<String>,
    #[serde(default)]
    dpop_bound_access_tokens: bool,
    #[serde(default)]
    require_pushed_authorization_requests: bool,
}

/// RFC 7591 §3.2.1 / RFC 7592 §3 response.
#[derive(Debug, Serialize)]
struct ClientInformation {
    client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<i64>,
    client_id_issued_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_access_token: Option<String>,
    registration_client_uri: String,
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: &'static str,
    grant_types: Vec<String>,
    response_types: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token_signed_response_alg: Option<String>,
    dpop_bound_access_tokens: bool,
    require_pushed_authorization_requests: bool,
}

/// Store a new or changed client, drop any cached copy, and log the change.
pub(crate) async fn save_client(
    state: &AppState,
    record: &ClientRecord,
    action: &str,
) -> OAuthResult<()> {
    state
        .store
        .clients
        .upsert(record)
        .await
        .map_err(OAuthError::server_error)?;
    state.clients.forget(&record.client_id);
    log_change(state, &record.client_id, action).await
}

/// Log the removal of a client, then end its tokens and delete it. Logged first: when a
/// later step fails the client is still there and a retry logs and removes it again, rather
/// than a removal going unlogged.
pub(crate) async fn remove_client(
    state: &AppState,
    client_id: &str,
    action: &str,
) -> OAuthResult<()> {
    log_change(state, client_id, action).await?;
    delete_client_and_tokens(state, client_id)
        .await
        .map_err(OAuthError::server_error)?;
    Ok(())
}

/// Revoke everything issued to a client (its grants, so its refresh tokens, and its access
/// tokens: introspection answers inactive and refresh fails), then delete it and drop any
/// cached copy. Tokens first, so a failure in between leaves no deleted client with live
/// tokens. Returns whether a client record was deleted.
pub(crate) async fn delete_client_and_tokens(
    state: &AppState,
    client_id: &str,
) -> StoreResult<bool> {
    state
        .store
        .tokens
        .revoke_client(client_id, clock::now())
        .await?;
    let deleted = state.store.clients.delete(client_id).await?;
    state.clients.forget(client_id);
    Ok(deleted)
}

/// Every change to a client is an administrative event in the log.
async fn log_change(state: &AppState, client_id: &str, action: &str) -> OAuthResult<()> {
    let event = Event::new(EventKind::AdminClient, client_id)
        .with_record(serde_json::json!({ "action": action }));
    super::issuance::log_event(state, event).await
}

fn invalid_metadata(text: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, text)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn unauthorized(text: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, text).with_challenge(crate::error::Challenge::Bearer)
}

/// RFC 8252 / RFC 9700 §2.1: https, loopback http for native apps, or a private-use scheme.
pub(crate) fn check_redirect_uri(uri: &str) -> OAuthResult<()> {
    let url = url::Url::parse(uri).map_err(|_| {
        OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            format!("{uri} is not an absolute URL"),
        )
    })?;
    if url.fragment().is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            "redirect URIs cannot have a fragment",
        ));
    }
    let ok = match url.scheme() {
        "https" => true,
        "http" => matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
        "javascript" | "data" | "file" | "vbscript" => false,
        scheme => scheme.contains('.'),
    };
    if ok {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            format!("{uri} is not an allowed redirect URI"),
        ))
    }
}

const SUPPORTED_GRANTS: [&str; 4] = super::token::GRANT_TYPES;

/// Turn registrant metadata into a client record (new or replacing `existing`).
fn to_record(
    state: &AppState,
    m: ClientMetadata,
    client_id: String,
    existing: Option<&ClientRecord>,
) -> OAuthResult<(ClientRecord, Option<String>)> {
    if m.software_statement.is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidSoftwareStatement,
            "software statements are not accepted at this endpoint",
        ));
    }
    if m.jwks_uri.is_some() {
        return Err(invalid_metadata(
            "jwks_uri is not supported; register the keys by value in jwks",
        ));
    }
    let method_name = m
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic");
    let method = ClientAuthMethod::parse(method_name).ok_or_else(|| {
        invalid_metadata(format!(
            "token_endpoint_auth_method {method_name} is not supported"
        ))
    })?;
    let grant_types = m
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    if grant_types.is_empty() {
        return Err(invalid_metadata("grant_types cannot be empty"));
    }
    if let Some(g) = grant_types
        .iter()
        .find(|g| !SUPPORTED_GRANTS.contains(&g.as_str()))
    {
        return Err(invalid_metadata(format!("grant type {g} is not supported")));
    }
    let code_flow = grant_types.iter().any(|g| g == "authorization_code");
    let response_types = m.response_types.unwrap_or_else(|| {
        if code_flow {
            vec!["code".to_owned()]
        } else {
            Vec::new()
        }
    });
    if response_types.iter().any(|r| r != "code") || (code_flow && response_types.is_empty()) {
        return Err(invalid_metadata(
            "response_types must be [\"code\"] with the authorization_code grant",
        ));
    }
    if code_flow && m.redirect_uris.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            "redirect_uris are required for the authorization_code grant",
        ));
    }
    m.redirect_uris
        .iter()
        .try_for_each(|u| check_redirect_uri(u))?;
    if method == ClientAuthMethod::None && grant_types.iter().any(|g| g == "client_credentials") {
        return Err(invalid_metadata(
            "public clients cannot use client_credentials",
        ));
    }
    let jwks = match (&m.jwks, method) {
        (Some(jwks), _) => {
            let keys = jwks
                .get("keys")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid_metadata("jwks must be a JWK set"))?;
            if keys.is_empty() || keys.iter().any(|k| PublicKey::from_jwk(k).is_err()) {
                return Err(invalid_metadata("jwks must hold only usable public keys"));
            }
            Some(jwks.to_string())
        }
        (None, ClientAuthMethod::PrivateKeyJwt) => {
            return Err(invalid_metadata("private_key_jwt needs jwks"));
        }
        (None, _) => None,
    };
    if let Some(alg) = &m.id_token_signed_response_alg
        && !state.keys.algorithms().iter().any(|a| a.jose_name() == alg)
    {
        return Err(invalid_metadata(format!(
            "id_token_signed_response_alg {alg} is not supported"
        )));
    }
    if m.client_name.as_ref().is_some_and(|n| n.len() > 200)
        || m.scope.as_ref().is_some_and(|s| s.len() > 2000)
    {
        return Err(invalid_metadata("client_name or scope is too long"));
    }
    let now = clock::now();
    let needs_secret = matches!(
        method,
        ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
    );
    let (secret, secret_hash) = match existing {
        Some(e) if needs_secret && e.client_secret_hash.is_some() => {
            (None, e.client_secret_hash.clone())
        }
        _ if needs_secret => {
            let secret = random_token()?;
            let hash = sha256_hex(&secret);
            (Some(secret), Some(hash))
        }
        _ => (None, None),
    };
    let record = ClientRecord {
        client_id,
        client_secret_hash: secret_hash,
        client_name: m.client_name,
        auth_method: method,
        redirect_uris: m.redirect_uris,
        grant_types,
        scope: m.scope,
        jwks,
        require_par: m.require_pushed_authorization_requests,
        dpop_bound: m.dpop_bound_access_tokens,
        id_token_alg: m.id_token_signed_response_alg,
        registration_token_hash: existing.and_then(|e| e.registration_token_hash.clone()),
        source: ClientSource::Dynamic,
        created_at: existing.map_or(now, |e| e.created_at),
        updated_at: now,
    };
    Ok((record, secret))
}

fn information(
    state: &AppState,
    c: &ClientRecord,
    secret: Option<String>,
    registration_token: Option<String>,
) -> ClientInformation {
    ClientInformation {
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        client_secret: secret,
        client_id_issued_at: c.created_at,
        registration_access_token: registration_token,
        registration_client_uri: state.config.endpoint(&format!("/register/{}", c.client_id)),
        redirect_uris: c.redirect_uris.clone(),
        token_endpoint_auth_method: c.auth_method.as_str(),
        response_types: if c.allows_grant("authorization_code") {
            vec!["code"]
        } else {
            Vec::new()
        },
        grant_types: c.grant_types.clone(),
        client_name: c.client_name.clone(),
        scope: c.scope.clone(),
        jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
        id_token_signed_response_alg: c.id_token_alg.clone(),
        dpop_bound_access_tokens: c.dpop_bound,
        require_pushed_authorization_requests: c.require_par,
        client_id: c.client_id.clone(),
    }
}

fn parse_metadata(headers: &HeaderMap, body: &[u8]) -> OAuthResult<ClientMetadata> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(OAuthError::invalid_request(
            "the body must be application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| invalid_metadata(format!("malformed client metadata: {e}")))
}

pub async fn register(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    into_response(create(&state, &headers, &body).await, StatusCode::CREATED)
}

fn into_response(outcome: OAuthResult<ClientInformation>, status: StatusCode) -> Response {
    match outcome {
        Ok(info) => (status, [(header::CACHE_CONTROL, "no-store")], Json(info)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn create(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> OAuthResult<ClientInformation> {
    let Some(expected) = state.config.initial_access_token.as_deref() else {
        return Err(
            OAuthError::new(ErrorCode::AccessDenied, "dynamic registration is disabled")
                .with_status(StatusCode::NOT_FOUND),
        );
    };
    match bearer(headers) {
        Some(t) if same_secret(&sha256_hex(t), &sha256_hex(expected)) => {}
        _ => return Err(unauthorized("a valid initial access token is required")),
    }
    let metadata = parse_metadata(headers, body)?;
    let client_id = random_token()?;
    let (mut record, secret) = to_record(state, metadata, client_id, None)?;
    let registration_token = random_token()?;
    record.registration_token_hash = Some(sha256_hex(&registration_token));
    save_client(state, &record, "registered").await?;
    tracing::info!(client = %record.client_id, "client registered dynamically");
    Ok(information(
        state,
        &record,
        secret,
        Some(registration_token),
    ))
}

/// RFC 7592 §2: the registration access token authorises access to its own client only.
async fn managed_client(
    state: &AppState,
    headers: &HeaderMap,
    client_id: &str,
) -> OAuthResult<ClientRecord> {
    let token =
        bearer(headers).ok_or_else(|| unauthorized("a registration access token is required"))?;
    let client = state
        .store
        .clients
        .get(client_id)
        .await
        .map_err(OAuthError::server_error)?;
    match client {
        Some(c)
            if c.registration_token_hash
                .as_deref()
                .is_some_and(|h| same_secret(h, &sha256_hex(token))) =>
        {
            Ok(c)
        }
        _ => Err(unauthorized(
            "the registration access token is not valid for this client",
        )),
    }
}

pub async fn read(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let outcome = managed_client(&state, &headers, &client_id)
        .await
        .map(|c| information(&state, &c, None, None));
    into_response(outcome, StatusCode::OK)
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let existing = managed_client(&state, &headers, &client_id).await?;
        let metadata = parse_metadata(&headers, &body)?;
        if metadata.client_id.as_deref() != Some(client_id.as_str()) {
            return Err(OAuthError::invalid_request(
                "the body must repeat the client_id",
            ));
        }
        let (record, secret) = to_record(&state, metadata, client_id.clone(), Some(&existing))?;
        save_client(&state, &record, "updated").await?;
        Ok(information(&state, &record, secret, None))
    };
    into_response(outcome.await, StatusCode::OK)
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let outcome = async {
        managed_client(&state, &headers, &client_id).await?;
        remove_client(&state, &client_id, "deleted").await?;
        Ok::<_, OAuthError>(())
    };
    match outcome.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
