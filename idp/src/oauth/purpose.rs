//! Purpose of use: every authorization and token request names exactly one (TEFCA exchange
//! purpose or HL7 PurposeOfUse) in an RFC 9396 `authorization_details` entry of type
//! `purpose_of_use` (see docs/purpose-of-use.md). The token carries it in both code systems
//! and serves that purpose only; a new purpose needs a new authorization.

use glassgate_policies::{
    PurposeError, PurposeOfUse, patient_from_authorization_details,
    purpose_from_authorization_details, purpose_from_hl7_b2b,
};
use serde_json::{Value, json};

use super::params::Params;
use crate::error::{ErrorCode, OAuthError, OAuthResult};

/// The purpose a request names; `invalid_request` when it names none,
/// `invalid_authorization_details` when it names one we cannot accept.
pub fn from_params(params: &Params) -> OAuthResult<PurposeOfUse> {
    purpose_from_authorization_details(&details_of(params)).map_err(refusal)
}

/// The `authorization_details` form parameter, as the policies crate's readers take it.
fn details_of(params: &Params) -> Value {
    params
        .get("authorization_details")
        .map_or(Value::Null, |d| Value::String(d.to_owned()))
}

/// The purpose of a client's own request: its `authorization_details` entry, or the UDAP
/// `hl7-b2b` extension of its client assertion. When both are sent they must agree.
pub fn for_client(params: &Params, b2b: Option<&Value>) -> OAuthResult<PurposeOfUse> {
    let Some(extension) = b2b else {
        return from_params(params);
    };
    let attested = purpose_from_hl7_b2b(extension).map_err(refusal)?;
    if !params.contains("authorization_details") {
        return Ok(attested);
    }
    if from_params(params)? == attested {
        Ok(attested)
    } else {
        Err(OAuthError::new(
            ErrorCode::InvalidAuthorizationDetails,
            "the hl7-b2b extension and authorization_details name different purposes",
        ))
    }
}

/// The patient a request names in a `patient_context` entry, if any.
pub fn patient_from_params(params: &Params) -> OAuthResult<Option<String>> {
    patient_from_authorization_details(&details_of(params)).map_err(refusal)
}

/// The purpose a request may optionally name (refresh): `None` when absent.
pub fn optional_from_params(params: &Params) -> OAuthResult<Option<PurposeOfUse>> {
    match from_params(params) {
        Ok(purpose) => Ok(Some(purpose)),
        Err(_) if !params.contains("authorization_details") => Ok(None),
        Err(e) => Err(e),
    }
}

fn refusal(error: PurposeError) -> OAuthError {
    match error {
        PurposeError::Absent => OAuthError::invalid_request(
            "purpose of use is required: send authorization_details \
             [{\"type\":\"purpose_of_use\",\"purpose_of_use\":{\"system\":…,\"code\":…}}]",
        ),
        other => OAuthError::new(ErrorCode::InvalidAuthorizationDetails, other.to_string()),
    }
}

/// Stored form (grants, access tokens): the claim array as JSON.
pub fn to_stored(purpose: &PurposeOfUse) -> String {
    serde_json::to_string(purpose).unwrap_or_default()
}

/// Reads the stored form back; `None` for rows issued before purposes were required.
pub fn from_stored(stored: Option<&str>) -> Option<PurposeOfUse> {
    stored.and_then(|s| serde_json::from_str(s).ok())
}

/// The `authorization_details` a token response and introspection return (RFC 9396 §7):
/// our entry, with the purpose in the code system the client attested.
pub fn authorization_details(purpose: &PurposeOfUse) -> Value {
    let attested = purpose.to_claim().into_iter().next();
    json!([{
        "type": glassgate_policies::authorization_details::PURPOSE_OF_USE_TYPE,
        "purpose_of_use": attested.map(|c| json!({ "system": c.system, "code": c.code })),
    }])
}

/// The exchange purpose code a log entry publishes (e.g. `T-TREAT`).
pub fn log_code(purpose: &PurposeOfUse) -> &'static str {
    purpose.exchange().code()
}
