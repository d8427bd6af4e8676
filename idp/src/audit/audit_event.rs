//! One log entry about a patient as a FHIR R4 AuditEvent, following IHE Basic Audit Log
//! Patterns (BALP). Glassgate authorizes disclosures rather than making them, so an
//! authorization or token decision about a patient is shaped as BALP's "Privacy
//! Disclosure at Source" (type DICOM 110106 Export, subtype ISO 21089 `disclose`), with the
//! recipient organisation, application and clinician as agents and the patient as entity;
//! other events (sign-ins, identity proofing, consent changes) are plain AuditEvents.
//! Every resource carries its log entry and inclusion proof, so an auditor can check it
//! against the public log.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_policies::ExchangePurpose;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::tlog::NO_CLIENT;
use crate::tlog::disclosures::Disclosure;

const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const PRIVACY_DISCLOSURE_SOURCE: &str =
    "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PrivacyDisclosure.Source";
const LIFECYCLE: &str = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const SECURITY_ROLE: &str = "http://terminology.hl7.org/CodeSystem/extra-security-role-type";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";
const TEFCA_XP: &str = "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1";
const HL7_POU: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
/// Our own code system for the log's event types.
const EVENT_SYSTEM: &str = "urn:glassgate:log-event";

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

/// Is the entry a decision about access to the patient's records, or an export of them?
fn is_disclosure(event: &str) -> bool {
    matches!(
        event,
        "token.issued"
            | "token.refused"
            | "authorization.granted"
            | "authorization.refused"
            | "audit.exported"
    )
}

/// RFC 3339 from Unix seconds (entries keep minutes only).
fn instant(unix: i64) -> String {
    use glassgate_mdl::time;
    let at =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

pub fn from_disclosure(state: &AppState, patient: &str, d: &Disclosure) -> Value {
    let e = &d.entry;
    let issuer = &state.config.issuer;
    let disclosure = is_disclosure(&e.event);
    let (kind, subtype) = if disclosure {
        (
            coding(DCM, "110106", "Export"),
            vec![
                coding(LIFECYCLE, "disclose", "Disclose Record Lifecycle Event"),
                coding(EVENT_SYSTEM, &e.event, &e.event),
            ],
        )
    } else if e.event.starts_with("credential.") {
        (
            coding(DCM, "110114", "User Authentication"),
            vec![coding(EVENT_SYSTEM, &e.event, &e.event)],
        )
    } else {
        (
            coding(DCM, "110100", "Application Activity"),
            vec![coding(EVENT_SYSTEM, &e.event, &e.event)],
        )
    };
    let mut agents = vec![json!({
        "type": { "coding": [coding(DCM, "110153", "Source Role ID")] },
        "who": { "identifier": { "value": issuer }, "display": "Glassgate" },
        "requestor": false,
    })];
    if e.client != NO_CLIENT {
        agents.push(json!({
            "type": { "coding": [coding(DCM, "110152", "Destination Role ID")] },
            "who": { "identifier": { "system": format!("{issuer}/clients"), "value": e.client } },
            "requestor": e.npi.is_none(),
        }));
    }
    if let Some(org) = &e.org {
        agents.push(json!({
            "type": { "coding": [coding(PARTICIPATION, "IRCP", "information recipient")] },
            "who": { "identifier": { "system": format!("{issuer}/organisations"), "value": org } },
            "requestor": false,
        }));
    }
    if let Some(npi) = &e.npi {
        agents.push(json!({
            "type": { "coding": [coding(SECURITY_ROLE, "humanuser", "human user")] },
            "who": { "identifier": { "system": NPI_SYSTEM, "value": npi } },
            "requestor": true,
        }));
    }
    let mut details =
        vec![json!({ "type": "log-entry", "valueBase64Binary": STANDARD.encode(&d.bytes) })];
    if let Some(proof) = &d.proof {
        details.push(json!({
            "type": "tlog-proof",
            "valueBase64Binary": STANDARD.encode(proof.to_text()),
        }));
    }
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": d.index.to_string(),
        "type": kind,
        "subtype": subtype,
        "action": "E",
        "recorded": instant(e.time),
        "outcome": if e.refusal.is_some() { "4" } else { "0" },
        "agent": agents,
        "source": {
            "site": issuer,
            "observer": { "identifier": { "value": issuer }, "display": "Glassgate" },
            "type": [coding(
                "http://terminology.hl7.org/CodeSystem/security-source-type",
                "4",
                "Application Server",
            )],
        },
        "entity": [
            {
                "what": { "identifier": { "system": issuer, "value": patient } },
                "type": coding(ENTITY_TYPE, "1", "Person"),
                "role": coding(OBJECT_ROLE, "1", "Patient"),
            },
            {
                "what": { "identifier": { "system": state.log.origin, "value": d.index.to_string() } },
                "type": coding(ENTITY_TYPE, "2", "System Object"),
                "description": "entry of the verifiable issuance log",
                "detail": details,
            },
        ],
    });
    if let Some(object) = event.as_object_mut() {
        if disclosure {
            object.insert(
                "meta".into(),
                json!({ "profile": [PRIVACY_DISCLOSURE_SOURCE] }),
            );
        }
        if let Some(refusal) = &e.refusal {
            object.insert("outcomeDesc".into(), Value::from(refusal.as_str()));
        }
        if let Some(purpose) = e.purpose.as_deref().and_then(ExchangePurpose::from_code) {
            let hl7 = purpose.hl7();
            object.insert(
                "purposeOfEvent".into(),
                json!([{ "coding": [
                    coding(TEFCA_XP, purpose.code(), purpose.display()),
                    coding(HL7_POU, hl7.code(), hl7.display()),
                ] }]),
            );
        }
    }
    event
}
