//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636), validated
//! once whether it arrives at `/authorize` directly or pushed to `/par` first.

use serde::{Deserialize, Serialize};

use super::clients::Client;
use super::params::Params;
use super::{pkce, scope};
use crate::error::{ErrorCode, OAuthError};

/// A validated authorization request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub acr_values: Vec<String>,
    pub login_hint: Option<String>,
    /// RFC 9449 §10: the DPoP key the code will be bound to.
    pub dpop_jkt: Option<String>,
    /// The one purpose of use the tokens will serve (`authorization_details`).
    pub purpose: glassgate_policies::PurposeOfUse,
    /// The patient the request names (`patient_context` authorization details).
    #[serde(default)]
    pub patient: Option<String>,
}

/// Where errors of a request go: before the redirect URI is trusted they cannot be
/// redirected (RFC 6749 §4.1.2.1) and are shown to the user agent instead.
pub enum RequestError {
    /// Shown directly (unknown client, bad redirect URI).
    Direct(OAuthError),
    /// Sent back to the client's redirect URI.
    Redirect(Box<Redirected>),
}

/// An error for the client, with where to send it.
pub struct Redirected {
    pub error: OAuthError,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub client_id: String,
}

/// The redirect URI to use: the registered one named by the request (exact string match,
/// RFC 9700 §4.1.3), or the only one registered when the request names none.
pub fn redirect_uri(client: &Client, requested: Option<&str>) -> Result<String, OAuthError> {
    let registered = &client.record.redirect_uris;
    match requested {
        Some(uri) if registered.iter().any(|r| r == uri) => Ok(uri.to_owned()),
        Some(_) => Err(OAuthError::invalid_request(
            "redirect_uri does not match a registered redirect URI",
        )),
        None if registered.len() == 1 => Ok(registered.first().cloned().unwrap_or_default()),
        None => Err(OAuthError::invalid_request("redirect_uri is required")),
    }
}

const PROMPTS: [&str; 4] = ["none", "login", "consent", "select_account"];

/// The largest `max_age` accepted (seconds; about 136 years, the range of the step-up
/// `max_age` we send). Larger values mean nothing more and only risk overflow.
pub const MAX_AGE_LIMIT: i64 = u32::MAX as i64;

/// `max_age` (OIDC Core §3.1.2.1): whole seconds, from 0 to [`MAX_AGE_LIMIT`]. Checked here,
/// where both `/authorize` and `/par` validate, so a pushed request is refused when pushed.
fn parse_max_age(value: &str) -> Option<i64> {
    value
        .parse::<i64>()
        .ok()
        .filter(|age| (0..=MAX_AGE_LIMIT).contains(age))
}

/// Validate every parameter of an authorization request for `client`.
pub fn validate(client: &Client, params: &Params) -> Result<AuthorizationRequest, RequestError> {
    let redirect_uri =
        redirect_uri(client, params.get("redirect_uri")).map_err(RequestError::Direct)?;
    let state = params.get("state").map(str::to_owned);
    let redirect = |error: OAuthError| {
        RequestError::Redirect(Box::new(Redirected {
            error,
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            client_id: client.id().to_owned(),
        }))
    };
    if params.contains("request") {
        return Err(redirect(OAuthError::new(
            ErrorCode::InvalidRequestObject,
            "request objects are not supported; use PAR",
        )));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => {
            return Err(redirect(OAuthError::invalid_request(
                "missing parameter response_type",
            )));
        }
        Some(_) => {
            return Err(redirect(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )));
        }
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(redirect(OAuthError::invalid_request(
            "only response_mode=query is supported",
        )));
    }
    if !client.record.allows_grant("authorization_code") {
        return Err(redirect(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        )));
    }
    let code_challenge = pkce::check_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(redirect)?;
    let scope = scope::resolve(params.get("scope"), &client.record).map_err(redirect)?;
    let super::purpose::Requested { purpose, patient } =
        super::purpose::requested(params).map_err(redirect)?;
    let prompt: Vec<String> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    if prompt.iter().any(|p| !PROMPTS.contains(&p.as_str())) {
        return Err(redirect(OAuthError::invalid_request(
            "unknown prompt value",
        )));
    }
    if prompt.len() > 1 && prompt.iter().any(|p| p == "none") {
        return Err(redirect(OAuthError::invalid_request(
            "prompt=none cannot be combined",
        )));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => Some(parse_max_age(v).ok_or_else(|| {
            redirect(OAuthError::invalid_request(format!(
                "max_age must be a whole number of seconds from 0 to {MAX_AGE_LIMIT}"
            )))
        })?),
    };
    let nonce = params.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > 512) {
        return Err(redirect(OAuthError::invalid_request("nonce is too long")));
    }
    Ok(AuthorizationRequest {
        client_id: client.id().to_owned(),
        redirect_uri: redirect_uri.clone(),
        scope,
        state: state.clone(),
        nonce,
        code_challenge,
        prompt,
        max_age,
        acr_values: params
            .get("acr_values")
            .unwrap_or_default()
            .split(' ')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        login_hint: params.get("login_hint").map(str::to_owned),
        dpop_jkt: params.get("dpop_jkt").map(str::to_owned),
        purpose,
        patient,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_whole_seconds_up_to_the_limit() {
        for (value, parsed) in [("0", Some(0)), ("3600", Some(3600))] {
            assert_eq!(parse_max_age(value), parsed, "{value}");
        }
        assert_eq!(
            parse_max_age(&MAX_AGE_LIMIT.to_string()),
            Some(MAX_AGE_LIMIT)
        );
        let too_big = (MAX_AGE_LIMIT + 1).to_string();
        let max = i64::MAX.to_string();
        for bad in ["-1", "1.5", "", " 1", "1e3", too_big.as_str(), max.as_str()] {
            assert_eq!(parse_max_age(bad), None, "{bad:?}");
        }
    }
}
