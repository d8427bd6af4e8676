//! Why a ceremony was refused: one variant per cause, each with a stable code that the pages,
//! the tests and the log's refusal class use.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use webauthn_rs::prelude::WebauthnError;

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("the sign-in or enrollment has expired or was already used; start again")]
    CeremonyUnknown,
    #[error("this passkey is not registered here")]
    UnknownCredential,
    #[error("this passkey was revoked")]
    RevokedCredential,
    #[error("this passkey is blocked: its signature counter went backwards (a possible copy)")]
    FlaggedCredential,
    #[error("the signature counter went backwards: the passkey is now blocked")]
    CounterRegression,
    #[error("the authenticator did not verify the person (user verification is required)")]
    UserNotVerified,
    #[error("the response was made for another web origin")]
    OriginMismatch,
    #[error("the response was made for another relying party")]
    RpIdMismatch,
    #[error("the response does not answer this ceremony's challenge")]
    ChallengeMismatch,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the authenticator response is malformed: {0}")]
    Malformed(String),
    #[error("the invitation is not valid")]
    InvitationUnknown,
    #[error("the invitation was already used")]
    InvitationUsed,
    #[error("the invitation has expired")]
    InvitationExpired,
    #[error("an account already exists for this person")]
    AccountExists,
    #[error("this passkey is already registered")]
    CredentialExists,
    #[error("sign in first")]
    NotSignedIn,
    #[error("the identity check has expired or was already used; verify your licence again")]
    IdentityProofUnknown,
    #[error("this licence already belongs to another account")]
    IdentityOfAnotherAccount,
    #[error("{0}")]
    Invalid(String),
    #[error("passkeys are not available on this server (its issuer is not a domain name)")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl PasskeyError {
    /// Stable code: JSON `error` member and the log's refusal class.
    pub fn code(&self) -> &'static str {
        match self {
            Self::CeremonyUnknown => "ceremony_unknown",
            Self::UnknownCredential => "unknown_credential",
            Self::RevokedCredential => "revoked_credential",
            Self::FlaggedCredential => "flagged_credential",
            Self::CounterRegression => "counter_regression",
            Self::UserNotVerified => "user_not_verified",
            Self::OriginMismatch => "origin_mismatch",
            Self::RpIdMismatch => "rp_id_mismatch",
            Self::ChallengeMismatch => "challenge_mismatch",
            Self::BadSignature => "bad_signature",
            Self::Malformed(_) => "malformed_credential",
            Self::InvitationUnknown => "invitation_unknown",
            Self::InvitationUsed => "invitation_used",
            Self::InvitationExpired => "invitation_expired",
            Self::AccountExists => "account_exists",
            Self::CredentialExists => "credential_exists",
            Self::NotSignedIn => "not_signed_in",
            Self::IdentityProofUnknown => "identity_proof_unknown",
            Self::IdentityOfAnotherAccount => "identity_of_another_account",
            Self::Invalid(_) => "invalid_request",
            Self::Unavailable => "temporarily_unavailable",
            Self::Internal(_) => "server_error",
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotSignedIn => StatusCode::UNAUTHORIZED,
            Self::AccountExists
            | Self::CredentialExists
            | Self::InvitationUsed
            | Self::IdentityOfAnotherAccount => StatusCode::CONFLICT,
            Self::Malformed(_) | Self::Invalid(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

impl From<WebauthnError> for PasskeyError {
    fn from(e: WebauthnError) -> Self {
        match e {
            WebauthnError::InvalidRPOrigin => Self::OriginMismatch,
            WebauthnError::InvalidRPIDHash => Self::RpIdMismatch,
            WebauthnError::UserNotVerified => Self::UserNotVerified,
            WebauthnError::MismatchedChallenge => Self::ChallengeMismatch,
            WebauthnError::CredentialPossibleCompromise => Self::CounterRegression,
            WebauthnError::AuthenticationFailure => Self::BadSignature,
            WebauthnError::CredentialNotFound | WebauthnError::InvalidUserUniqueId => {
                Self::UnknownCredential
            }
            other => Self::Malformed(other.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for PasskeyError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::ephemeral::EphemeralError> for PasskeyError {
    fn from(e: crate::ephemeral::EphemeralError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for PasskeyError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "passkey ceremony failed");
        }
        let body = json!({ "error": self.code(), "error_description": self.to_string() });
        (
            self.status(),
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            Json(body),
        )
            .into_response()
    }
}
