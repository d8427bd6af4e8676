//! Where a purpose of use arrives: our RFC 9396 `authorization_details` type, and the UDAP
//! `hl7-b2b` authorization extension of a B2B client assertion.
//!
//! The RAR type (specified in `docs/purpose-of-use.md`):
//!
//! ```json
//! [{"type": "purpose_of_use",
//!   "purpose_of_use": {"system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-TREAT"}}]
//! ```
//!
//! `purpose_of_use` is one coding (`system` + `code`), either TEFCA XP or HL7 v3 ActReason.
//! `locations` (RFC 9396 common field) is allowed and ignored here; any other member is
//! refused, as are two entries of this type.

use crate::purpose::{PurposeError, PurposeOfUse, combine};
use serde_json::{Map, Value};

/// The `type` value of our authorization details object.
pub const PURPOSE_OF_USE_TYPE: &str = "purpose_of_use";

/// Members our type accepts.
const ALLOWED_MEMBERS: [&str; 3] = ["type", "purpose_of_use", "locations"];

/// The `type` value of the patient context entry: `{"type": "patient_context", "patient":
/// "<id>"}` names the patient a clinician's or a backend's request is about, so that the
/// patient's consent restrictions apply and the token carries the SMART `patient` context.
pub const PATIENT_CONTEXT_TYPE: &str = "patient_context";

/// Longest patient identifier accepted.
const MAX_PATIENT_ID: usize = 255;

/// An `authorization_details` value read once: its entries, each an object with a string
/// `type`. A request's purpose and its patient context are both read from it.
#[derive(Debug, Default)]
pub struct AuthorizationDetails {
    entries: Vec<Map<String, Value>>,
}

impl AuthorizationDetails {
    /// Reads the form parameter's text (a JSON array).
    pub fn from_text(text: &str) -> Result<Self, PurposeError> {
        let parsed = serde_json::from_str::<Value>(text).map_err(|e| {
            PurposeError::Malformed(format!("authorization_details is not JSON: {e}"))
        })?;
        Self::from_value(parsed)
    }

    /// Reads an `authorization_details` value: the parsed JSON array, or the form
    /// parameter's string; no entries when `Null`.
    pub fn read(details: &Value) -> Result<Self, PurposeError> {
        match details {
            Value::String(text) => Self::from_text(text),
            Value::Null => Ok(Self::default()),
            other => Self::from_value(other.clone()),
        }
    }

    fn from_value(details: Value) -> Result<Self, PurposeError> {
        let Value::Array(entries) = details else {
            return Err(PurposeError::Malformed(
                "authorization_details must be a JSON array".to_owned(),
            ));
        };
        let entries = entries
            .into_iter()
            .map(|entry| match entry {
                Value::Object(object) if matches!(object.get("type"), Some(Value::String(_))) => {
                    Ok(object)
                }
                Value::Object(_) => Err(PurposeError::Malformed(
                    "an authorization_details entry has no string \"type\"".to_owned(),
                )),
                _ => Err(PurposeError::Malformed(
                    "each authorization_details entry must be an object".to_owned(),
                )),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    fn of_type<'a>(&'a self, wanted: &'a str) -> impl Iterator<Item = &'a Map<String, Value>> {
        self.entries
            .iter()
            .filter(move |e| e.get("type").and_then(Value::as_str) == Some(wanted))
    }

    /// The purpose of use: exactly one entry of our type, naming one coding. Entries of
    /// other types are not read here; the server refuses types it does not understand
    /// (RFC 9396 §5).
    pub fn purpose(&self) -> Result<PurposeOfUse, PurposeError> {
        let ours: Vec<&Map<String, Value>> = self.of_type(PURPOSE_OF_USE_TYPE).collect();
        let object = match ours.as_slice() {
            [] => return Err(PurposeError::Absent),
            [object] => *object,
            several => {
                return Err(PurposeError::MultiplePurposes {
                    count: several.len(),
                });
            }
        };
        only_members(
            object,
            &ALLOWED_MEMBERS,
            &format!("a {PURPOSE_OF_USE_TYPE} entry"),
        )?;
        match object.get("purpose_of_use") {
            None | Some(Value::Null) => Err(PurposeError::Absent),
            Some(Value::Array(codings)) if codings.len() > 1 => {
                Err(PurposeError::MultiplePurposes {
                    count: codings.len(),
                })
            }
            Some(Value::Array(_)) => Err(PurposeError::Malformed(
                "purpose_of_use is one {system, code} object, not an array".to_owned(),
            )),
            Some(coding) => parse_coding(coding),
        }
    }

    /// The optional patient context. At most one entry; `patient` is 1 to 255 visible
    /// ASCII characters (the patient's identifier at this broker, their `sub`).
    pub fn patient(&self) -> Result<Option<String>, PurposeError> {
        let mut ours = self.of_type(PATIENT_CONTEXT_TYPE);
        let Some(object) = ours.next() else {
            return Ok(None);
        };
        if ours.next().is_some() {
            return Err(PurposeError::Malformed(format!(
                "at most one {PATIENT_CONTEXT_TYPE} entry"
            )));
        }
        only_members(
            object,
            &["type", "patient", "locations"],
            &format!("a {PATIENT_CONTEXT_TYPE} entry"),
        )?;
        match object.get("patient") {
            Some(Value::String(p))
                if (1..=MAX_PATIENT_ID).contains(&p.len())
                    && p.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Ok(Some(p.clone()))
            }
            _ => Err(PurposeError::Malformed(format!(
                "{PATIENT_CONTEXT_TYPE}.patient must be the patient's identifier \
                 (1 to {MAX_PATIENT_ID} visible ASCII characters)"
            ))),
        }
    }
}

/// Refuses any member of `object` outside `allowed`, naming it and `place`.
fn only_members(
    object: &Map<String, Value>,
    allowed: &[&str],
    place: &str,
) -> Result<(), PurposeError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(PurposeError::Malformed(format!(
            "unknown member {extra:?} in {place}"
        ))),
        None => Ok(()),
    }
}

/// Reads the optional patient context of an `authorization_details` value.
pub fn patient_from_authorization_details(details: &Value) -> Result<Option<String>, PurposeError> {
    AuthorizationDetails::read(details)?.patient()
}

/// Reads the purpose from an `authorization_details` value (the parsed JSON array, or the
/// form parameter's string).
pub fn purpose_from_authorization_details(details: &Value) -> Result<PurposeOfUse, PurposeError> {
    AuthorizationDetails::read(details)?.purpose()
}

fn parse_coding(coding: &Value) -> Result<PurposeOfUse, PurposeError> {
    let Value::Object(object) = coding else {
        return Err(PurposeError::Malformed(
            "purpose_of_use must be an object with system and code".to_owned(),
        ));
    };
    let field = |name: &str| match object.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        _ => Err(PurposeError::Malformed(format!(
            "purpose_of_use.{name} must be a non-empty string"
        ))),
    };
    only_members(object, &["system", "code", "display"], "purpose_of_use")?;
    PurposeOfUse::parse(field("system")?, field("code")?)
}

/// Reads the purpose from a UDAP `hl7-b2b` extension object (the value of
/// `extensions["hl7-b2b"]` in the client assertion). `purpose_of_use` is an array of
/// `system#code` strings; several entries must name one purpose (an XP code and its HL7
/// equivalent may both be given).
pub fn purpose_from_hl7_b2b(extension: &Value) -> Result<PurposeOfUse, PurposeError> {
    let Value::Object(object) = extension else {
        return Err(PurposeError::Malformed(
            "the hl7-b2b extension must be an object".to_owned(),
        ));
    };
    let codings = match object.get("purpose_of_use") {
        None | Some(Value::Null) => return Err(PurposeError::Absent),
        Some(Value::Array(codings)) => codings,
        Some(_) => {
            return Err(PurposeError::Malformed(
                "hl7-b2b purpose_of_use must be an array of strings".to_owned(),
            ));
        }
    };
    let mut purposes = codings.iter().map(|c| match c {
        Value::String(s) => PurposeOfUse::parse_coded_uri(s),
        _ => Err(PurposeError::Malformed(
            "hl7-b2b purpose_of_use entries must be strings".to_owned(),
        )),
    });
    let first = purposes.next().ok_or(PurposeError::Absent)??;
    let rest = purposes.collect::<Result<Vec<_>, _>>()?;
    combine(first, rest.into_iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::purpose::{ExchangePurpose, Hl7PurposeOfUse};
    use serde_json::json;

    fn rar(purpose: Value) -> Value {
        json!([{"type": "purpose_of_use", "purpose_of_use": purpose}])
    }

    #[test]
    fn reads_our_type() {
        let p = purpose_from_authorization_details(&rar(json!({
            "system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-TREAT"
        })))
        .unwrap();
        assert_eq!(p.exchange(), ExchangePurpose::Treatment);
        let p = purpose_from_authorization_details(&rar(json!({
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HPAYMT"
        })))
        .unwrap();
        assert_eq!(p.exchange(), ExchangePurpose::Payment);
    }

    #[test]
    fn reads_the_form_parameter_string_and_ignores_other_types() {
        let text = r#"[{"type":"payment_initiation","amount":1},
            {"type":"purpose_of_use","purpose_of_use":{"system":"urn:oid:2.16.840.1.113883.3.7204.1.5.2.1","code":"T-IAS"}}]"#;
        let p = purpose_from_authorization_details(&Value::String(text.to_owned())).unwrap();
        assert_eq!(p.exchange(), ExchangePurpose::IndividualAccessServices);
    }

    #[test]
    fn specific_errors() {
        assert_eq!(
            purpose_from_authorization_details(&Value::Null),
            Err(PurposeError::Absent)
        );
        assert_eq!(
            purpose_from_authorization_details(&json!([{"type": "other"}])),
            Err(PurposeError::Absent)
        );
        assert!(matches!(
            purpose_from_authorization_details(&rar(json!({
                "system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-HCO-QM"
            }))),
            Err(PurposeError::UnknownCode { .. })
        ));
        let two = json!([
            {"type": "purpose_of_use", "purpose_of_use": {"system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-TREAT"}},
            {"type": "purpose_of_use", "purpose_of_use": {"system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-PYMNT"}}
        ]);
        assert_eq!(
            purpose_from_authorization_details(&two),
            Err(PurposeError::MultiplePurposes { count: 2 })
        );
        assert!(matches!(
            purpose_from_authorization_details(&json!({"type": "purpose_of_use"})),
            Err(PurposeError::Malformed(_))
        ));
        assert!(matches!(
            purpose_from_authorization_details(&rar(json!({"code": "T-TREAT"}))),
            Err(PurposeError::Malformed(_))
        ));
        assert!(matches!(
            purpose_from_authorization_details(&json!([{"type": "purpose_of_use",
                "purpose_of_use": {"system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-TREAT"},
                "privileges": ["x"]}])),
            Err(PurposeError::Malformed(_))
        ));
    }

    #[test]
    fn one_reading_answers_purpose_and_patient() {
        let text = r#"[{"type":"purpose_of_use","purpose_of_use":{"system":"urn:oid:2.16.840.1.113883.3.7204.1.5.2.1","code":"T-TREAT"}},
            {"type":"patient_context","patient":"p-9"}]"#;
        let details = AuthorizationDetails::from_text(text).unwrap();
        assert_eq!(
            details.purpose().unwrap().exchange(),
            ExchangePurpose::Treatment
        );
        assert_eq!(details.patient(), Ok(Some("p-9".to_owned())));
        let none = AuthorizationDetails::default();
        assert_eq!(none.purpose(), Err(PurposeError::Absent));
        assert_eq!(none.patient(), Ok(None));
        for bad in ["{", "[1]", r#"[{"purpose_of_use":{}}]"#, r#"{"type":"x"}"#] {
            assert!(
                matches!(
                    AuthorizationDetails::from_text(bad),
                    Err(PurposeError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn patient_context() {
        let details = json!([
            {"type": "purpose_of_use", "purpose_of_use": {"system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-TREAT"}},
            {"type": "patient_context", "patient": "p-123"}
        ]);
        assert_eq!(
            patient_from_authorization_details(&details),
            Ok(Some("p-123".to_owned()))
        );
        // The purpose reader ignores the patient entry, and vice versa.
        assert!(purpose_from_authorization_details(&details).is_ok());
        assert_eq!(
            patient_from_authorization_details(&rar(json!({
                "system": "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1", "code": "T-TREAT"
            }))),
            Ok(None)
        );
        assert_eq!(patient_from_authorization_details(&Value::Null), Ok(None));
        for bad in [
            json!([{"type": "patient_context"}]),
            json!([{"type": "patient_context", "patient": ""}]),
            json!([{"type": "patient_context", "patient": "has space"}]),
            json!([{"type": "patient_context", "patient": 7}]),
            json!([{"type": "patient_context", "patient": "x".repeat(256)}]),
            json!([{"type": "patient_context", "patient": "a", "mrn": "b"}]),
            json!([{"type": "patient_context", "patient": "a"}, {"type": "patient_context", "patient": "b"}]),
            json!([{"patient": "a"}]),
            json!("not an array"),
        ] {
            assert!(
                matches!(
                    patient_from_authorization_details(&bad),
                    Err(PurposeError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn udap_hl7_b2b() {
        let ext = json!({
            "version": "1",
            "subject_id": "urn:oid:2.16.840.1.113883.4.6#1234567893",
            "organization_id": "https://example.org/org",
            "purpose_of_use": ["urn:oid:2.16.840.1.113883.5.8#TREAT"]
        });
        let p = purpose_from_hl7_b2b(&ext).unwrap();
        assert_eq!(p.hl7(), Hl7PurposeOfUse::Treat);
        assert_eq!(p.exchange(), ExchangePurpose::Treatment);

        let both = json!({"purpose_of_use": [
            "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1#T-GOVDTRM-SSD",
            "urn:oid:2.16.840.1.113883.5.8#COVERAGE"
        ]});
        let p = purpose_from_hl7_b2b(&both).unwrap();
        assert_eq!(p.exchange(), ExchangePurpose::SocialSecurityDetermination);

        assert_eq!(
            purpose_from_hl7_b2b(&json!({"purpose_of_use": []})),
            Err(PurposeError::Absent)
        );
        assert_eq!(
            purpose_from_hl7_b2b(&json!({"version": "1"})),
            Err(PurposeError::Absent)
        );
        assert!(matches!(
            purpose_from_hl7_b2b(&json!({"purpose_of_use": [
                "urn:oid:2.16.840.1.113883.5.8#TREAT", "urn:oid:2.16.840.1.113883.5.8#HPAYMT"
            ]})),
            Err(PurposeError::MultiplePurposes { .. })
        ));
        assert!(matches!(
            purpose_from_hl7_b2b(&json!({"purpose_of_use": ["TREAT"]})),
            Err(PurposeError::Malformed(_))
        ));
    }
}
