//! Why a proofing step was refused, with a stable code for the pages, the wallet's error
//! response and the log's refusal class.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ProofingError {
    #[error("this identity check has expired or was already answered; start again")]
    UnknownTransaction,
    #[error("the wallet's response is malformed: {0}")]
    BadResponse(String),
    #[error("the licence was not accepted: {description}")]
    Refused { code: String, description: String },
    /// A presentation over the cross-device channel (QR code, or the wallet link) whose
    /// licence already has an account: nothing binds the wallet's answer to the browser that
    /// showed the code, so it may not recover that account.
    #[error(
        "this licence already has an account here, and an account can only be recovered with \
         the wallet on the device you are signing in on, never by scanning a QR code or \
         following a link (someone else may have sent it to you). To recover the account, \
         choose \"Use a licence stored in this browser's wallet\" on this device, or sign in \
         with a passkey you still have. Nothing was changed"
    )]
    RecoveryNeedsOriginBoundChannel,
    /// A cross-device presentation spent on linking a licence to a signed-in account.
    #[error(
        "a licence is linked to your account only with the wallet on this device, never by \
         scanning a QR code or following a link (someone else may have sent it to you). \
         Choose \"Use a licence stored in this browser's wallet\" on this device. Nothing \
         was changed"
    )]
    LinkNeedsOriginBoundChannel,
    #[error("{0}")]
    Invalid(String),
    #[error("internal error")]
    Internal(String),
}

impl ProofingError {
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    pub fn code(&self) -> String {
        match self {
            Self::UnknownTransaction => "transaction_unknown".into(),
            Self::BadResponse(_) => "bad_response".into(),
            Self::Refused { code, .. } => code.clone(),
            Self::RecoveryNeedsOriginBoundChannel => "recovery_needs_origin_bound_channel".into(),
            Self::LinkNeedsOriginBoundChannel => "link_needs_origin_bound_channel".into(),
            Self::Invalid(_) => "invalid_request".into(),
            Self::Internal(_) => "server_error".into(),
        }
    }
}

impl From<crate::ephemeral::EphemeralError> for ProofingError {
    fn from(e: crate::ephemeral::EphemeralError) -> Self {
        Self::internal(e)
    }
}

/// OpenID4VP error responses use the OAuth error format: `error` and `error_description`.
impl IntoResponse for ProofingError {
    fn into_response(self) -> Response {
        let (status, error) = match &self {
            Self::UnknownTransaction => (StatusCode::NOT_FOUND, "invalid_request"),
            Self::BadResponse(_) | Self::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::Refused { .. }
            | Self::RecoveryNeedsOriginBoundChannel
            | Self::LinkNeedsOriginBoundChannel => (StatusCode::BAD_REQUEST, "access_denied"),
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "identity proofing failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
        };
        let body =
            json!({ "error": error, "error_description": self.to_string(), "reason": self.code() });
        (status, [("cache-control", "no-store")], Json(body)).into_response()
    }
}
