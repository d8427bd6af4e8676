//! Purpose of use: every authorization and token request names exactly one (TEFCA exchange
//! purpose or HL7 PurposeOfUse) in an RFC 9396 `authorization_details` entry of type
//! `purpose_of_use` (see docs/purpose-of-use.md). The token carries it in both code systems
//! and serves that purpose only; a new purpose needs a new authorization.

use glassgate_policies::{AuthorizationDetails, PurposeError, PurposeOfUse, purpose_from_hl7_b2b};
use serde::Serialize;
use serde_json::Value;

use super::params::Params;
use crate::error::{ErrorCode, OAuthError, OAuthResult};

/// What a request names in its `authorization_details`: one purpose of use and, optionally,
/// the patient it is about.
#[derive(Debug)]
pub struct Requested {
    pub purpose: PurposeOfUse,
    pub patient: Option<String>,
}

/// The request's `authorization_details` form parameter, read once (no entries when absent).
pub fn details(params: &Params) -> OAuthResult<AuthorizationDetails> {
    params
        .get("authorization_details")
        .map_or(
            Ok(AuthorizationDetails::default()),
            AuthorizationDetails::from_text,
        )
        .map_err(refusal)
}

/// The purpose a request names; `invalid_request` when it names none,
/// `invalid_authorization_details` when it names one we cannot accept.
pub fn from_params(params: &Params) -> OAuthResult<PurposeOfUse> {
    details(params)?.purpose().map_err(refusal)
}

/// The purpose (required) and the patient context of an authorization request.
pub fn requested(params: &Params) -> OAuthResult<Requested> {
    requested_by_client(params, None)
}

/// A client's own request: the purpose in its `authorization_details` entry, or in the UDAP
/// `hl7-b2b` extension of its client assertion (when both are sent they must agree), and
/// the patient context.
pub fn requested_by_client(params: &Params, b2b: Option<&Value>) -> OAuthResult<Requested> {
    let attested = b2b
        .map(|extension| purpose_from_hl7_b2b(extension).map_err(refusal))
        .transpose()?;
    let details = details(params)?;
    let purpose = match attested {
        None => details.purpose().map_err(refusal)?,
        Some(attested) if !params.contains("authorization_details") => attested,
        // Agreeing codings may come from the two code systems (XP `T-TREAT`, HL7 `TREAT`).
        Some(attested) if details.purpose().map_err(refusal)?.exchange() == attested.exchange() => {
            attested
        }
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidAuthorizationDetails,
                "the hl7-b2b extension and authorization_details name different purposes",
            ));
        }
    };
    Ok(Requested {
        purpose,
        patient: details.patient().map_err(refusal)?,
    })
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
pub fn authorization_details(purpose: &PurposeOfUse) -> [PurposeDetail; 1] {
    let [attested, _] = purpose.codings();
    [PurposeDetail {
        kind: glassgate_policies::authorization_details::PURPOSE_OF_USE_TYPE,
        purpose_of_use: AttestedCoding {
            system: attested.system,
            code: attested.code,
        },
    }]
}

/// One `authorization_details` entry of our type, as responses carry it.
#[derive(Debug, Serialize)]
pub struct PurposeDetail {
    #[serde(rename = "type")]
    kind: &'static str,
    purpose_of_use: AttestedCoding,
}

#[derive(Debug, Serialize)]
struct AttestedCoding {
    system: &'static str,
    code: &'static str,
}

/// The exchange purpose code a log entry publishes (e.g. `T-TREAT`).
pub fn log_code(purpose: &PurposeOfUse) -> &'static str {
    purpose.exchange().code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TREATMENT_FOR_P1: &str = r#"[{"type":"purpose_of_use","purpose_of_use":{"system":"urn:oid:2.16.840.1.113883.3.7204.1.5.2.1","code":"T-TREAT"}},{"type":"patient_context","patient":"p-1"}]"#;

    fn form(details: Option<&str>) -> Params {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if let Some(details) = details {
            form.append_pair("authorization_details", details);
        }
        Params::parse(form.finish().as_bytes()).unwrap()
    }

    fn b2b(coding: &str) -> Value {
        json!({ "purpose_of_use": [coding] })
    }

    #[test]
    fn a_client_names_its_purpose_in_either_place_and_both_must_agree() {
        let asked = requested_by_client(&form(Some(TREATMENT_FOR_P1)), None).unwrap();
        assert_eq!(log_code(&asked.purpose), "T-TREAT");
        assert_eq!(asked.patient.as_deref(), Some("p-1"));

        let treat = b2b("urn:oid:2.16.840.1.113883.5.8#TREAT");
        let alone = requested_by_client(&form(None), Some(&treat)).unwrap();
        assert_eq!(log_code(&alone.purpose), "T-TREAT");
        assert_eq!(alone.patient, None);
        // T-TREAT (XP) in authorization_details and TREAT (HL7) in hl7-b2b: one purpose.
        let both = requested_by_client(&form(Some(TREATMENT_FOR_P1)), Some(&treat)).unwrap();
        assert_eq!(both.purpose, alone.purpose);

        let payment = b2b("urn:oid:2.16.840.1.113883.5.8#HPAYMT");
        let refused = requested_by_client(&form(Some(TREATMENT_FOR_P1)), Some(&payment));
        assert_eq!(
            refused.unwrap_err().code,
            ErrorCode::InvalidAuthorizationDetails
        );
        let refused = requested_by_client(&form(None), None).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidRequest);
        let refused = requested_by_client(&form(Some("not json")), Some(&treat)).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidAuthorizationDetails);
    }

    #[test]
    fn the_response_entry_names_the_attested_coding() {
        let purpose = requested(&form(Some(TREATMENT_FOR_P1))).unwrap().purpose;
        assert_eq!(
            serde_json::to_value(authorization_details(&purpose)).unwrap(),
            json!([{ "type": "purpose_of_use", "purpose_of_use": {
                "system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-TREAT" } }])
        );
    }
}
