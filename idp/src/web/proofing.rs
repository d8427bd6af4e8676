//! HTTP endpoints of mDL identity proofing. The page calls `start`, `status`, `digital`
//! (JSON, same origin); the wallet calls `request` and `response` (OpenID4VP 1.0).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::session;
use crate::app::AppState;
use crate::proofing::ProofingError;
use crate::proofing::presentation::Spend;

/// The browser's handle on a request it started.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofTicket {
    pub transaction: String,
    pub poll: String,
}

impl ProofTicket {
    /// Spends the verified proof (once) on linking it to the signed-in account. Only a proof
    /// over the Digital Credentials API (bound to this browser's origin) is accepted: a
    /// cross-device one is refused (`link_needs_origin_bound_channel`), since a relayed QR
    /// code would attach someone else's identity to this account. A missing, refused,
    /// expired or already spent proof is `identity_proof_unknown`.
    pub async fn spend(
        &self,
        app: &AppState,
    ) -> Result<crate::proofing::presentation::ProvenIdentity, crate::passkey::PasskeyError> {
        self.spend_on(app, Spend::Link).await
    }

    /// Spends the verified proof (once) on a passkey enrollment: a new account from either
    /// channel, recovery of an existing account only from the Digital Credentials API (a
    /// cross-device proof is refused: `recovery_needs_origin_bound_channel`).
    pub async fn spend_for_enrollment(
        &self,
        app: &AppState,
    ) -> Result<crate::proofing::presentation::ProvenIdentity, crate::passkey::PasskeyError> {
        self.spend_on(app, Spend::Enrollment).await
    }

    async fn spend_on(
        &self,
        app: &AppState,
        spend: Spend,
    ) -> Result<crate::proofing::presentation::ProvenIdentity, crate::passkey::PasskeyError> {
        use crate::passkey::PasskeyError;
        app.proofing
            .take_verified(app, &self.transaction, &self.poll, spend)
            .await
            .map_err(|e| match e {
                ProofingError::Internal(d) => PasskeyError::Internal(d),
                e @ (ProofingError::RecoveryNeedsOriginBoundChannel
                | ProofingError::LinkNeedsOriginBoundChannel) => {
                    PasskeyError::Invalid(e.to_string())
                }
                _ => PasskeyError::IdentityProofUnknown,
            })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DigitalCredential {
    transaction: String,
    poll: String,
    /// What `navigator.credentials.get` returned: `{protocol, data}`.
    credential: Value,
}

fn parse<T: DeserializeOwned>(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ProofingError> {
    if !session::same_origin_json(app, headers) {
        return Err(ProofingError::Invalid(
            "send application/json from this site".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| ProofingError::Invalid(e.to_string()))
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn start(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !session::origin_allowed(&app, &headers) {
        return ProofingError::Invalid("cross-site request".into()).into_response();
    }
    match app.proofing.start(app.ephemeral.as_ref()).await {
        Ok(started) => no_store(Json(started).into_response()),
        Err(e) => e.into_response(),
    }
}

pub async fn status(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let outcome = async {
        let ticket: ProofTicket = parse(&app, &headers, &body)?;
        app.proofing
            .status(&app, &ticket.transaction, &ticket.poll)
            .await
    };
    match outcome.await {
        Ok(status) => no_store(Json(status).into_response()),
        Err(e) => e.into_response(),
    }
}

pub async fn digital(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let request: DigitalCredential = parse(&app, &headers, &body)?;
        app.proofing
            .accept_digital_credential(
                &app,
                &request.transaction,
                &request.poll,
                &request.credential,
            )
            .await
    };
    match outcome.await {
        Ok(()) => no_store(Json(json!({})).into_response()),
        Err(e) => e.into_response(),
    }
}

/// The request object by `request_uri` (OpenID4VP 1.0 §5.10, JAR RFC 9101).
pub async fn request_object(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match app
        .proofing
        .request_object(app.ephemeral.as_ref(), &id)
        .await
    {
        Ok(jwt) => no_store(
            (
                [(header::CONTENT_TYPE, "application/oauth-authz-req+jwt")],
                jwt,
            )
                .into_response(),
        ),
        Err(e) => e.into_response(),
    }
}

pub async fn qr_code(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match app.proofing.qr_code(app.ephemeral.as_ref(), &id).await {
        Ok(svg) => no_store(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()),
        Err(e) => e.into_response(),
    }
}

/// The wallet's `direct_post` / `direct_post.jwt` (OpenID4VP 1.0 §8.2).
pub async fn response(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return ProofingError::Invalid("send application/x-www-form-urlencoded".into())
            .into_response();
    }
    match app.proofing.accept_direct_post(&app, &id, &body).await {
        Ok(()) => no_store(Json(json!({})).into_response()),
        Err(e) => e.into_response(),
    }
}
