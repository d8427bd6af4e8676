//! Purpose of use: every authorization and token request names exactly one (TEFCA exchange
//! purpose or HL7 PurposeOfUse) in an RFC 9396 `authorization_details` entry of type
//! `purpose_of_use` (see docs/purpose-of-use.md). The token carries it in both code systems
//! and serves that purpose only; a new purpose needs a new authorization.

use glassgate_policies::authorization_details::{PATIENT_CONTEXT_TYPE, PURPOSE_OF_USE_TYPE};
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

/// The `authorization_details` types this server understands (docs/purpose-of-use.md).
pub const KNOWN_TYPES: [&str; 2] = [PURPOSE_OF_USE_TYPE, PATIENT_CONTEXT_TYPE];

/// Longest `error_description` a refusal of `authorization_details` carries: the parameter
/// is client input of up to the body limit, and is never echoed whole.
const MAX_DESCRIPTION: usize = 200;
/// Longest unknown `type` value named in a refusal.
const MAX_TYPE_SHOWN: usize = 48;

/// The request's `authorization_details` form parameter, read once (no entries when absent).
/// Every entry must be of a type we understand: RFC 9396 §5 has the AS refuse a request
/// with an unknown type (`invalid_authorization_details`) rather than ignore it, since the
/// client would otherwise believe the token carries authorization it was never given.
pub fn details(params: &Params) -> OAuthResult<AuthorizationDetails> {
    let Some(text) = params.get("authorization_details") else {
        return Ok(AuthorizationDetails::default());
    };
    let details = AuthorizationDetails::from_text(text).map_err(refusal)?;
    if let Some(unknown) = unknown_type(text) {
        return Err(OAuthError::new(
            ErrorCode::InvalidAuthorizationDetails,
            format!(
                "authorization_details type {} is not supported (supported: {})",
                shown(&unknown, MAX_TYPE_SHOWN),
                KNOWN_TYPES.join(", ")
            ),
        ));
    }
    Ok(details)
}

/// The first entry type of `text` (an `authorization_details` value that
/// [`AuthorizationDetails::from_text`] accepted: an array of objects with a string `type`)
/// that is not one of [`KNOWN_TYPES`]. Read as that reader reads it (a repeated member: the
/// last one), and failing closed on anything it would not have accepted.
fn unknown_type(text: &str) -> Option<String> {
    let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(text) else {
        return Some(String::new());
    };
    entries.iter().find_map(|entry| match entry.get("type") {
        Some(Value::String(kind)) if KNOWN_TYPES.contains(&kind.as_str()) => None,
        Some(Value::String(kind)) => Some(kind.clone()),
        _ => Some(String::new()),
    })
}

/// `text` quoted and escaped (control characters included) for an `error_description`,
/// cut to `max` characters.
fn shown(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// `description` cut to [`MAX_DESCRIPTION`] characters.
fn bounded(description: String) -> String {
    match description.char_indices().nth(MAX_DESCRIPTION) {
        Some((cut, _)) => format!("{}…", &description[..cut]),
        None => description,
    }
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

/// The purpose a request may optionally name (token exchange): `None` when absent.
pub fn optional_from_params(params: &Params) -> OAuthResult<Option<PurposeOfUse>> {
    match from_params(params) {
        Ok(purpose) => Ok(Some(purpose)),
        Err(_) if !params.contains("authorization_details") => Ok(None),
        Err(e) => Err(e),
    }
}

/// RFC 9396 §6.1: a token request redeeming a grant (`redeemed`: "an authorization code",
/// "a refresh token") may send `authorization_details` again, but only to repeat what was
/// authorized: the same purpose of use, and no patient context other than the grant's.
/// Another purpose or patient needs a new authorization.
pub fn repeats_grant(
    params: &Params,
    redeemed: &str,
    purpose: &PurposeOfUse,
    patient: Option<&str>,
) -> OAuthResult<()> {
    if !params.contains("authorization_details") {
        return Ok(());
    }
    let asked = requested(params)?;
    if asked.purpose != *purpose {
        return Err(OAuthError::new(
            ErrorCode::InvalidAuthorizationDetails,
            format!(
                "{redeemed} serves the purpose it was authorized for; authorize again for another purpose"
            ),
        ));
    }
    if asked.patient.is_some() && asked.patient.as_deref() != patient {
        return Err(OAuthError::new(
            ErrorCode::InvalidAuthorizationDetails,
            format!(
                "{redeemed} serves the patient context it was authorized for; authorize again for another patient"
            ),
        ));
    }
    Ok(())
}

fn refusal(error: PurposeError) -> OAuthError {
    match error {
        PurposeError::Absent => OAuthError::invalid_request(
            "purpose of use is required: send authorization_details \
             [{\"type\":\"purpose_of_use\",\"purpose_of_use\":{\"system\":…,\"code\":…}}]",
        ),
        other => OAuthError::new(
            ErrorCode::InvalidAuthorizationDetails,
            bounded(other.to_string()),
        ),
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
        kind: PURPOSE_OF_USE_TYPE,
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

    const TREATMENT: &str = r#"{"type":"purpose_of_use","purpose_of_use":{"system":"urn:oid:2.16.840.1.113883.3.7204.1.5.2.1","code":"T-TREAT"}}"#;

    #[test]
    fn an_entry_of_a_type_we_do_not_understand_is_refused_wherever_details_are_read() {
        let unknown = format!(r#"[{TREATMENT},{{"type":"payment_initiation","amount":1}}]"#);
        let alone = r#"[{"type":"payment_initiation","amount":1}]"#;
        let treat = b2b("urn:oid:2.16.840.1.113883.5.8#TREAT");
        for text in [unknown.as_str(), alone] {
            let params = form(Some(text));
            let refusals = [
                details(&params).unwrap_err(),
                from_params(&params).unwrap_err(),
                requested(&params).unwrap_err(),
                requested_by_client(&params, None).unwrap_err(),
                requested_by_client(&params, Some(&treat)).unwrap_err(),
                optional_from_params(&params).unwrap_err(),
            ];
            for refused in refusals {
                assert_eq!(
                    refused.code,
                    ErrorCode::InvalidAuthorizationDetails,
                    "{text}"
                );
                assert_eq!(
                    refused.description,
                    "authorization_details type \"payment_initiation\" is not supported \
                     (supported: purpose_of_use, patient_context)"
                );
            }
        }
        // Our two types, in either order, are what we understand.
        let both = format!(r#"[{{"type":"patient_context","patient":"p-1"}},{TREATMENT}]"#);
        let asked = requested(&form(Some(&both))).unwrap();
        assert_eq!(asked.patient.as_deref(), Some("p-1"));
        // The type is matched exactly, and a type that is not a string stays malformed.
        for text in [
            format!(r#"[{TREATMENT},{{"type":"Patient_Context","patient":"p-1"}}]"#),
            format!(r#"[{TREATMENT},{{"type":"purpose_of_use "}}]"#),
            format!(r#"[{TREATMENT},{{"type":7}}]"#),
        ] {
            let refused = requested(&form(Some(&text))).unwrap_err();
            assert_eq!(
                refused.code,
                ErrorCode::InvalidAuthorizationDetails,
                "{text}"
            );
        }
        // A repeated member is read as the entries' reader reads it: the last one.
        let repeated = format!(
            r#"[{TREATMENT},{{"type":"patient_context","type":"payment_initiation","patient":"p"}}]"#
        );
        let refused = requested(&form(Some(&repeated))).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidAuthorizationDetails);
        assert!(refused.description.contains("payment_initiation"));
        let repeated = format!(
            r#"[{TREATMENT},{{"type":"payment_initiation","type":"patient_context","patient":"p"}}]"#
        );
        assert_eq!(
            requested(&form(Some(&repeated)))
                .unwrap()
                .patient
                .as_deref(),
            Some("p")
        );
        // Without the parameter nothing is refused that was accepted before.
        assert!(optional_from_params(&form(None)).unwrap().is_none());
    }

    #[test]
    fn a_refusal_never_echoes_a_huge_value() {
        let long_type = format!(r#"[{TREATMENT},{{"type":"{}\n"}}]"#, "x".repeat(15_000));
        let refused = requested(&form(Some(&long_type))).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidAuthorizationDetails);
        assert!(
            refused.description.starts_with(&format!(
                "authorization_details type \"{}\"…",
                "x".repeat(48)
            )),
            "{}",
            refused.description
        );
        assert!(refused.description.len() < 200, "{}", refused.description);
        let long_code = format!(
            r#"[{{"type":"purpose_of_use","purpose_of_use":{{"system":"urn:oid:2.16.840.1.113883.3.7204.1.5.2.1","code":"{}"}}}}]"#,
            "é".repeat(7_000)
        );
        let refused = requested(&form(Some(&long_code))).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidAuthorizationDetails);
        assert_eq!(refused.description.chars().count(), MAX_DESCRIPTION + 1);
        assert!(refused.description.ends_with('…'));
        assert_eq!(shown("a\"b\n", 10), r#""a\"b\n""#);
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

    #[test]
    fn a_redeemed_grant_may_repeat_its_purpose_and_patient_but_not_change_them() {
        let treat_p1 = requested(&form(Some(TREATMENT_FOR_P1))).unwrap();
        let purpose = treat_p1.purpose;
        let code = "an authorization code";
        // Nothing sent, the same purpose and patient, or the purpose alone: accepted.
        repeats_grant(&form(None), code, &purpose, Some("p-1")).unwrap();
        repeats_grant(&form(Some(TREATMENT_FOR_P1)), code, &purpose, Some("p-1")).unwrap();
        let purpose_only = r#"[{"type":"purpose_of_use","purpose_of_use":{"system":"urn:oid:2.16.840.1.113883.3.7204.1.5.2.1","code":"T-TREAT"}}]"#;
        repeats_grant(&form(Some(purpose_only)), code, &purpose, Some("p-1")).unwrap();
        repeats_grant(&form(Some(purpose_only)), code, &purpose, None).unwrap();
        // Another patient, a patient on a grant without one, another purpose: refused.
        for (details, patient) in [
            (TREATMENT_FOR_P1.replace("p-1", "p-2"), Some("p-1")),
            (TREATMENT_FOR_P1.to_owned(), None),
            (TREATMENT_FOR_P1.replace("T-TREAT", "T-PYMNT"), Some("p-1")),
        ] {
            let refused =
                repeats_grant(&form(Some(&details)), code, &purpose, patient).unwrap_err();
            assert_eq!(
                refused.code,
                ErrorCode::InvalidAuthorizationDetails,
                "{details}"
            );
            assert!(
                refused.description.starts_with(code),
                "{}",
                refused.description
            );
        }
        // Unknown types are refused here too (RFC 9396 §5).
        let unknown = TREATMENT_FOR_P1.replace("patient_context", "payment_initiation");
        let refused =
            repeats_grant(&form(Some(&unknown)), code, &purpose, Some("p-1")).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidAuthorizationDetails);
    }
}
