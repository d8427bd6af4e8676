//! The JSON endpoints the pages' script calls around `navigator.credentials.create/get`.
//! Wire types here; the ceremonies themselves are in `crate::passkey`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::authenticator::remember;
use super::session;
use crate::app::AppState;
use crate::oauth::authorize;
use crate::passkey::{PasskeyError, login, register};
use crate::session::AuthenticatedSession;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginFinish {
    ceremony: String,
    credential: PublicKeyCredential,
    #[serde(default)]
    interaction: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RegisterStart {
    #[serde(default)]
    invitation: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    /// A verified mDL presentation (patient enrollment, or recovery of the same identity over
    /// the Digital Credentials API).
    #[serde(default)]
    identity_proof: Option<super::ProofTicket>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterFinish {
    ceremony: String,
    credential: RegisterPublicKeyCredential,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    interaction: Option<String>,
}

fn parse<T: DeserializeOwned>(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, PasskeyError> {
    if !session::same_origin_json(app, headers) {
        return Err(PasskeyError::Invalid(
            "send application/json from this site".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| PasskeyError::Malformed(e.to_string()))
}

pub async fn login_start(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !session::origin_allowed(&app, &headers) {
        return PasskeyError::Invalid("cross-site request".into()).into_response();
    }
    match login::start(&app).await {
        Ok((ceremony, options)) => no_store(json!({ "ceremony": ceremony, "options": options })),
        Err(e) => e.into_response(),
    }
}

pub async fn login_finish(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let request: LoginFinish = parse(&app, &headers, &body)?;
        let signed_in = login::finish(&app, &request.ceremony, &request.credential).await?;
        signed_in_response(&app, signed_in, request.interaction.as_deref()).await
    };
    outcome.await.unwrap_or_else(IntoResponse::into_response)
}

pub async fn register_start(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let request: RegisterStart = if body.is_empty() {
            if !session::origin_allowed(&app, &headers) {
                return Err(PasskeyError::Invalid("cross-site request".into()));
            }
            RegisterStart::default()
        } else {
            parse(&app, &headers, &body)?
        };
        let (ceremony, options) = match (request.invitation, request.identity_proof) {
            (Some(token), None) => {
                let name = request.display_name.unwrap_or_default();
                register::start_invitation(&app, &token, &name).await?
            }
            (Some(_), Some(_)) => {
                return Err(PasskeyError::Invalid(
                    "give an invitation or an identity proof, not both".into(),
                ));
            }
            (None, Some(proof)) => {
                // A cross-device proof of a licence that has an account is refused here:
                // only the origin-bound Digital Credentials API recovers.
                let identity = proof.spend_for_enrollment(&app).await?;
                let may_recover = identity.channel.origin_bound();
                register::start_proofed(
                    &app,
                    &identity.display_name,
                    &identity.commitment,
                    identity.verified_claims,
                    may_recover,
                )
                .await?
            }
            (None, None) => {
                let browser = session::current(&app, &headers)
                    .await
                    .ok_or(PasskeyError::NotSignedIn)?;
                register::start_additional(&app, &browser.session.subject).await?
            }
        };
        Ok(no_store(
            json!({ "ceremony": ceremony, "options": options }),
        ))
    };
    match outcome.await {
        Ok(response) => response,
        Err(e) => {
            register::log_refusal(&app, &e).await;
            e.into_response()
        }
    }
}

pub async fn register_finish(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let request: RegisterFinish = parse(&app, &headers, &body)?;
        let signed_in = session::current(&app, &headers)
            .await
            .map(|b| b.session.subject);
        let registered = register::finish(
            &app,
            &request.ceremony,
            &request.credential,
            request.name.as_deref().unwrap_or_default(),
            signed_in.as_deref(),
        )
        .await?;
        if signed_in.as_deref() == Some(registered.session.subject.as_str()) {
            // Adding a passkey keeps the current session.
            return Ok(no_store(json!({ "next": "/account" })));
        }
        signed_in_response(&app, registered.session, request.interaction.as_deref()).await
    };
    outcome.await.unwrap_or_else(IntoResponse::into_response)
}

/// Open the browser session and say where to go next: the pending authorization, if any.
async fn signed_in_response(
    app: &AppState,
    signed_in: AuthenticatedSession,
    interaction: Option<&str>,
) -> Result<Response, PasskeyError> {
    let mut next = "/account".to_owned();
    if let Some(interaction) = interaction
        && authorize::pending(app, interaction)
            .await
            .map_err(|e| PasskeyError::internal(e.description))?
            .is_some()
    {
        remember(app, interaction, &signed_in)
            .await
            .map_err(|_| PasskeyError::internal("cannot bind the session to the request"))?;
        next = format!("/interaction/{interaction}");
    }
    let cookie = session::establish(app, signed_in)
        .await
        .map_err(PasskeyError::internal)?;
    let mut response = no_store(json!({ "next": next }));
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

fn no_store(body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
