//! The auditors' export: `GET /audit/AuditEvent?patient=<id>[&_count=<n>]` returns the
//! log entries about a patient as FHIR R4 AuditEvent resources (IHE Basic Audit Log
//! Patterns) in a `searchset` Bundle, each carrying the entry and its inclusion proof.
//!
//! Access: a Bearer access token of this server, for a client whose organisation is of
//! kind `auditor`, with a `system/AuditEvent` read scope (granted by the shipped policy
//! `auditor-reads-audit-events` for health care operations). Errors are FHIR
//! OperationOutcome resources.
//!
//! Each export is itself a disclosure of the patient's history: it is logged
//! (`audit.exported`, about the patient, by the auditor's client and organisation) before
//! the Bundle is sent, and nothing is sent when it cannot be logged.

mod audit_event;

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use glassgate_policies::scopes::Audience;
use glassgate_policies::{OrganisationKind, ScopeSet};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::oauth::resource::active_access_token;
use crate::oauth::{issuance, purpose};
use crate::tlog::disclosures::MAX_LISTED;
use crate::tlog::{Event, EventKind};

const FHIR_JSON: &str = "application/fhir+json";

/// Entries returned when `_count` is absent.
const DEFAULT_COUNT: u32 = 100;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/audit/AuditEvent", get(search))
}

/// The search parameters: each at most once, no others.
#[derive(Default)]
struct SearchParams {
    patient: Option<String>,
    count: Option<String>,
}

impl SearchParams {
    fn parse(query: Option<&str>) -> Result<SearchParams, String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
            .map_err(|_| "the query string is malformed".to_owned())?;
        let mut params = SearchParams::default();
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "patient" => &mut params.patient,
                "_count" => &mut params.count,
                other => return Err(format!("unknown search parameter {other:?}")),
            };
            if slot.replace(value).is_some() {
                return Err(format!("the {name} parameter is repeated"));
            }
        }
        Ok(params)
    }
}

/// An OperationOutcome with one issue.
fn outcome(status: StatusCode, code: &str, diagnostics: &str) -> Response {
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "diagnostics": diagnostics }],
    });
    let mut response = (status, fhir(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    response
}

fn fhir(body: Value) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, FHIR_JSON),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
}

/// Who an export goes to: the auditor's client, its organisation, and the purpose its token
/// serves.
struct Auditor {
    client_id: String,
    organisation: String,
    purpose: Option<&'static str>,
}

/// The token must be ours, active, Bearer, an auditor organisation's, with an AuditEvent
/// read scope.
async fn authorise(state: &AppState, headers: &HeaderMap) -> Result<Auditor, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            outcome(
                StatusCode::UNAUTHORIZED,
                "login",
                "send an auditor's access token: Authorization: Bearer <token>",
            )
        })?;
    let active = active_access_token(state, token)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "checking an auditor's token failed");
            outcome(
                StatusCode::INTERNAL_SERVER_ERROR,
                "exception",
                "internal error",
            )
        })?
        .ok_or_else(|| {
            outcome(
                StatusCode::UNAUTHORIZED,
                "login",
                "the access token is not active",
            )
        })?;
    if active.cnf_jkt().is_some() {
        return Err(outcome(
            StatusCode::UNAUTHORIZED,
            "login",
            "DPoP-bound tokens are not accepted here; use a Bearer token",
        ));
    }
    let record = &active.stored.record;
    let organisation = state.policy.client(&record.client_id).organisation;
    let reads_audit_events = ScopeSet::parse(&record.scope).is_ok_and(|scopes| {
        scopes.resource_scopes().any(|s| {
            s.audience == Audience::System
                && s.resource_type.as_str() == "AuditEvent"
                && s.permissions
                    .contains(glassgate_policies::scopes::Permissions::READ)
        })
    });
    if organisation.kind != OrganisationKind::Auditor || !reads_audit_events {
        return Err(outcome(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only an auditor organisation's token with a system/AuditEvent read scope may export audit events",
        ));
    }
    Ok(Auditor {
        client_id: record.client_id.clone(),
        organisation: organisation.id,
        purpose: purpose::from_stored(record.purpose.as_deref()).map(|p| purpose::log_code(&p)),
    })
}

/// Log the export before it is sent: fail closed.
async fn log_export(
    state: &AppState,
    auditor: &Auditor,
    patient: &str,
    exported: usize,
) -> Result<(), Response> {
    let mut event = Event::new(EventKind::AuditExported, &auditor.client_id)
        .with_org(&auditor.organisation)
        .with_patient(Some(patient))
        .with_record(json!({ "audit_events": exported }));
    if let Some(code) = auditor.purpose {
        event = event.with_purpose(code);
    }
    // The cause is already in the application log (`OAuthError::server_error`).
    issuance::log_event(state, event).await.map_err(|_| {
        outcome(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            "internal error",
        )
    })
}

async fn search(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let auditor = match authorise(&state, &headers).await {
        Ok(auditor) => auditor,
        Err(refusal) => return refusal,
    };
    let params = match SearchParams::parse(query.as_deref()) {
        Ok(p) => p,
        Err(text) => return outcome(StatusCode::BAD_REQUEST, "value", &text),
    };
    let Some(patient) = params.patient.filter(|p| !p.is_empty()) else {
        return outcome(
            StatusCode::BAD_REQUEST,
            "required",
            "the patient search parameter is required (the patient's identifier here)",
        );
    };
    let count = match params.count.as_deref().map(str::parse::<u32>) {
        None => DEFAULT_COUNT,
        Some(Ok(n)) if (1..=MAX_LISTED).contains(&n) => n,
        Some(_) => {
            return outcome(
                StatusCode::BAD_REQUEST,
                "value",
                &format!("_count must be an integer from 1 to {MAX_LISTED}"),
            );
        }
    };
    let disclosures = match state.log.disclosures(&patient, count).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "reading audit events failed");
            return outcome(
                StatusCode::INTERNAL_SERVER_ERROR,
                "exception",
                "internal error",
            );
        }
    };
    let entries: Vec<Value> = disclosures
        .iter()
        .map(|d| {
            json!({
                "fullUrl": format!("{}/audit/AuditEvent/{}", state.config.issuer, d.index),
                "resource": audit_event::from_disclosure(&state, &patient, d),
                "search": { "mode": "match" },
            })
        })
        .collect();
    if let Err(failed) = log_export(&state, &auditor, &patient, entries.len()).await {
        return failed;
    }
    fhir(json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "entry": entries,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::SearchParams;

    #[test]
    fn search_parameters() {
        let p = SearchParams::parse(Some("patient=p-1&_count=5")).unwrap();
        assert_eq!(p.patient.as_deref(), Some("p-1"));
        assert_eq!(p.count.as_deref(), Some("5"));
        let p = SearchParams::parse(None).unwrap();
        assert!(p.patient.is_none() && p.count.is_none());
        for bad in ["patient=a&patient=b", "subject=a", "_count=1&_count=2"] {
            assert!(SearchParams::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
