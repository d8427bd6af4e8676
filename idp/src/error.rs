//! The one error type every OAuth endpoint returns, mapped straight to the RFC 6749 §5.2
//! JSON body, the HTTP status, and (for protected resources) `WWW-Authenticate`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::jose::VerifyAlg;

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

/// How a 401 challenges the caller (RFC 6749 §5.2, RFC 6750 §3, RFC 9449 §7.1). A 401
/// always carries one (RFC 9110 §15.5.2): without an explicit one, `invalid_client` is
/// challenged with `Basic` and anything else with `Bearer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// Client authentication at the token, PAR, introspection and revocation endpoints.
    Basic,
    /// A protected resource refusing a Bearer token (with the error).
    Bearer,
    /// A protected resource refusing a DPoP-bound token or its proof (with the error).
    DPoP,
    /// A protected resource asked without any token: both schemes it accepts are offered,
    /// without an error (RFC 6750 §3.1, RFC 9449 §7.1).
    BearerOrDPoP,
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
    /// The protection space a challenge names (`realm`): the issuer. Required by `Basic`
    /// (RFC 7617), where it falls back to [`DEFAULT_REALM`]; optional elsewhere.
    pub realm: Option<String>,
}

/// The `Basic` realm of an error whose endpoint did not name one.
pub const DEFAULT_REALM: &str = "glassgate";

/// Longest `error_description` repeated in a challenge (the body has it whole).
const MAX_CHALLENGE_DESCRIPTION: usize = 200;

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
            realm: None,
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
    /// Names the protection space of the challenge (the issuer).
    pub fn in_realm(mut self, realm: &str) -> Self {
        self.realm = Some(realm.to_owned());
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

/// A challenge's quoted-string value: visible ASCII and space only (a header value cannot
/// carry control characters, and `"` and `\` would end or escape the string), cut to `max`.
fn quoted(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| (c.is_ascii_graphic() || *c == ' ') && *c != '"' && *c != '\\')
        .take(max)
        .collect()
}

impl OAuthError {
    /// The challenge this response carries: the one set, or for a 401 without one, the
    /// scheme its error belongs to (`invalid_client`: the client's HTTP authentication).
    fn challenge(&self) -> Option<Challenge> {
        self.challenge.clone().or_else(|| {
            (self.status == StatusCode::UNAUTHORIZED).then_some(
                if self.code == ErrorCode::InvalidClient {
                    Challenge::Basic
                } else {
                    Challenge::Bearer
                },
            )
        })
    }

    /// The `WWW-Authenticate` values of `challenge` (one per scheme offered).
    fn challenge_values(&self, challenge: &Challenge) -> Vec<String> {
        let realm = self.realm.as_deref().map(|r| quoted(r, usize::MAX));
        let mut params: Vec<String> = Vec::new();
        if let Some(realm) = &realm {
            params.push(format!("realm=\"{realm}\""));
        }
        let algs = format!("algs=\"{}\"", VerifyAlg::ALL_NAMES.join(" "));
        // RFC 6750 §3.1 names a refused scope `insufficient_scope`.
        let error = match self.code {
            ErrorCode::AccessDenied => "insufficient_scope",
            code => code.as_str(),
        };
        let mut error_params = vec![format!("error=\"{error}\"")];
        let description = quoted(&self.description, MAX_CHALLENGE_DESCRIPTION);
        if !description.is_empty() {
            error_params.push(format!("error_description=\"{description}\""));
        }
        let value = |scheme: &str, params: &[String]| {
            if params.is_empty() {
                scheme.to_owned()
            } else {
                format!("{scheme} {}", params.join(", "))
            }
        };
        match challenge {
            Challenge::Basic => {
                let realm = realm.unwrap_or_else(|| DEFAULT_REALM.to_owned());
                vec![format!("Basic realm=\"{realm}\"")]
            }
            Challenge::Bearer => {
                params.extend(error_params);
                vec![value("Bearer", &params)]
            }
            Challenge::DPoP => {
                params.push(algs);
                params.extend(error_params);
                vec![value("DPoP", &params)]
            }
            Challenge::BearerOrDPoP => {
                let bearer = value("Bearer", &params);
                params.push(algs);
                vec![bearer, value("DPoP", &params)]
            }
        }
    }
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
        if let Some(challenge) = self.challenge() {
            for value in self.challenge_values(&challenge) {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.append(header::WWW_AUTHENTICATE, v);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn challenges(error: OAuthError) -> (StatusCode, Vec<String>) {
        let response = error.into_response();
        let values = response
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        (response.status(), values)
    }

    #[test]
    fn every_401_carries_a_challenge() {
        let issuer = "https://idp.example";
        // invalid_client: Basic, whichever way the client authenticated.
        for error in [
            OAuthError::invalid_client("unknown client"),
            OAuthError::invalid_client("unknown client").with_challenge(Challenge::Basic),
        ] {
            assert_eq!(
                challenges(error.in_realm(issuer)),
                (
                    StatusCode::UNAUTHORIZED,
                    vec![r#"Basic realm="https://idp.example""#.to_owned()]
                )
            );
        }
        assert_eq!(
            challenges(OAuthError::invalid_client("x")).1,
            vec![r#"Basic realm="glassgate""#.to_owned()]
        );
        // A 401 invalid_token without an explicit challenge is a Bearer one.
        assert_eq!(
            challenges(OAuthError::new(ErrorCode::InvalidToken, "expired")).1,
            vec![r#"Bearer error="invalid_token", error_description="expired""#.to_owned()]
        );
        assert_eq!(
            challenges(
                OAuthError::new(ErrorCode::InvalidDpopProof, "bad ath")
                    .with_status(StatusCode::UNAUTHORIZED)
                    .with_challenge(Challenge::DPoP)
                    .in_realm(issuer)
            )
            .1,
            vec![
                r#"DPoP realm="https://idp.example", algs="ES256 ES384 RS256 RS384 PS256 EdDSA", error="invalid_dpop_proof", error_description="bad ath""#
                    .to_owned()
            ]
        );
        // No token at all: both schemes, no error code (RFC 6750 §3.1).
        assert_eq!(
            challenges(
                OAuthError::invalid_request("an access token is required")
                    .with_status(StatusCode::UNAUTHORIZED)
                    .with_challenge(Challenge::BearerOrDPoP)
                    .in_realm(issuer)
            )
            .1,
            vec![
                r#"Bearer realm="https://idp.example""#.to_owned(),
                r#"DPoP realm="https://idp.example", algs="ES256 ES384 RS256 RS384 PS256 EdDSA""#
                    .to_owned()
            ]
        );
        // Other statuses carry none unless asked.
        assert!(challenges(OAuthError::invalid_request("x")).1.is_empty());
    }

    #[test]
    fn a_description_cannot_drop_or_break_the_challenge() {
        let text = format!("é\"\\\r\nbad{}", "x".repeat(1000));
        let (status, values) = challenges(
            OAuthError::new(ErrorCode::InvalidToken, text).with_challenge(Challenge::Bearer),
        );
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let [value] = values.as_slice() else {
            panic!("{values:?}")
        };
        assert!(
            value.starts_with(r#"Bearer error="invalid_token", error_description="bad"#),
            "{value}"
        );
        assert_eq!(
            value.len(),
            r#"Bearer error="invalid_token", error_description="""#.len() + 200
        );
        // 403 for a missing scope: RFC 6750's error name in the challenge.
        let (_, values) = challenges(
            OAuthError::new(ErrorCode::AccessDenied, "no openid").with_challenge(Challenge::Bearer),
        );
        assert_eq!(
            values,
            vec![r#"Bearer error="insufficient_scope", error_description="no openid""#.to_owned()]
        );
    }
}
