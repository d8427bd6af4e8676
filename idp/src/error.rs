//! The one error type every OAuth endpoint returns, mapped straight to the RFC 6749 §5.2
//! JSON body, the HTTP status, and (for protected resources) `WWW-Authenticate`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Registered OAuth / OIDC / DPoP error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    InvalidToken,
    InvalidDpopProof,
    UseDpopNonce,
    InvalidRequestUri,
    InvalidRequestObject,
    LoginRequired,
    InteractionRequired,
    ConsentRequired,
    InvalidRedirectUri,
    InvalidClientMetadata,
    InvalidSoftwareStatement,
    /// RFC 7591 §3.2.2: the software statement is valid but not approved here (UDAP: its
    /// certificate does not chain to this community's anchors).
    UnapprovedSoftwareStatement,
    InsufficientUserAuthentication,
    InvalidAuthorizationDetails,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::LoginRequired => "login_required",
            Self::InteractionRequired => "interaction_required",
            Self::ConsentRequired => "consent_required",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidSoftwareStatement => "invalid_software_statement",
            Self::UnapprovedSoftwareStatement => "unapproved_software_statement",
            Self::InsufficientUserAuthentication => "insufficient_user_authentication",
            Self::InvalidAuthorizationDetails => "invalid_authorization_details",
        }
    }

    fn default_status(self) -> StatusCode {
        match self {
            Self::InvalidClient | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::AccessDenied | Self::InsufficientUserAuthentication => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// How a 401 challenges the caller (RFC 6750 §3, RFC 9449 §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer,
    DPoP,
}

/// An OAuth error response. Built with `OAuthError::new(code, description)`.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    pub status: StatusCode,
    pub challenge: Option<Challenge>,
    pub dpop_nonce: Option<String>,
    /// The policy decision behind a refusal (boxed: most errors have none).
    pub policy: Option<Box<PolicyRefusal>>,
    /// The patient the refused request was about (for the log's disclosure index): one a
    /// policy decision was asked about, or one our own stored token names. Never sent.
    pub patient: Option<String>,
}

/// Which policy decision refused, for which purpose (its exchange purpose code), and for a
/// step-up what to come back with. Only the step-up reaches the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefusal {
    pub decision_id: String,
    pub purpose: &'static str,
    /// RFC 9470 §3: what to authenticate with for `insufficient_user_authentication`.
    pub step_up: Option<StepUp>,
}

/// RFC 9470 step-up parameters: the `acr_values` (space-separated) and `max_age` a new
/// authorization request should carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepUp {
    pub acr_values: String,
    pub max_age: u32,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    error_description: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    step_up: Option<&'a StepUp>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            status: code.default_status(),
            challenge: None,
            dpop_nonce: None,
            policy: None,
            patient: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }
    pub fn invalid_dpop_proof(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidDpopProof, description)
    }
    /// An internal failure: the cause goes to the application log, the client sees a generic text.
    pub fn server_error(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error while serving an OAuth request");
        Self::new(ErrorCode::ServerError, "internal error")
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Some(challenge);
        self
    }
    pub fn with_dpop_nonce(mut self, nonce: String) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }
    /// Marks a refusal as a policy decision's (`step_up` for `insufficient_user_authentication`).
    pub fn decided_by_policy(
        mut self,
        decision_id: &str,
        purpose: &'static str,
        step_up: Option<StepUp>,
    ) -> Self {
        self.policy = Some(Box::new(PolicyRefusal {
            decision_id: decision_id.to_owned(),
            purpose,
            step_up,
        }));
        self
    }

    /// Records the patient the refused request was about.
    pub fn about_patient(mut self, patient: Option<String>) -> Self {
        self.patient = patient;
        self
    }

    /// RFC 9470 step-up parameters, when policy asked for a stronger authentication.
    pub fn step_up(&self) -> Option<&StepUp> {
        self.policy.as_ref().and_then(|p| p.step_up.as_ref())
    }

    /// The purpose of use a refusal was decided for, when policy decided it.
    pub fn purpose(&self) -> &'static str {
        self.policy
            .as_ref()
            .map_or(crate::metrics::NO_PURPOSE, |p| p.purpose)
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

/// `"` and `\` would break the quoted-string of a challenge; descriptions are ours, but be safe.
fn quoted(s: &str) -> String {
    s.chars().filter(|c| *c != '"' && *c != '\\').collect()
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.as_str(),
            error_description: &self.description,
            step_up: self.step_up(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = &self.challenge {
            let value = match challenge {
                Challenge::Basic => "Basic realm=\"glassgate\"".to_string(),
                Challenge::Bearer | Challenge::DPoP => {
                    let scheme = if *challenge == Challenge::Bearer {
                        "Bearer"
                    } else {
                        "DPoP algs=\"ES256 ES384 RS256 PS256 EdDSA\","
                    };
                    format!(
                        "{scheme} error=\"{}\", error_description=\"{}\"",
                        self.code.as_str(),
                        quoted(&self.description)
                    )
                }
            };
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(nonce) = &self.dpop_nonce
            && let Ok(v) = HeaderValue::from_str(nonce)
        {
            headers.insert("dpop-nonce", v);
        }
        response
    }
}

pub type OAuthResult<T> = Result<T, OAuthError>;
