//! `/account/disclosures`: the signed-in person's accounting of disclosures — every log
//! entry about them (who: organisation, client, clinician NPI; when; why: the purpose;
//! and the outcome), each with the inclusion proof that the auditor's verifier checks.
//! `/account/disclosures.json` is the same list as a download, with the entries' bytes.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_policies::ExchangePurpose;
use glassgate_verifier::entry::LogEntry;
use serde::Serialize;

use super::when;
use crate::app::AppState;
use crate::tlog::disclosures::{Disclosure, MAX_LISTED};
use crate::web::authenticator::see_other;
use crate::web::html::{escape, message, page};
use crate::web::session;

/// What happened, in words.
fn what(entry: &LogEntry) -> &'static str {
    match entry.event.as_str() {
        "token.issued" => "Access granted",
        "token.refused" => "Access refused",
        "authorization.granted" => "Authorization granted",
        "authorization.refused" => "Authorization refused",
        "credential.passkey" => "Passkey sign-in or change",
        "credential.mdl" => "Identity verified with a mobile driver's licence",
        "consent.changed" => "Your privacy choices changed",
        "audit.exported" => "This history exported to an auditor",
        _ => "Administrative change",
    }
}

/// The purpose, in words.
fn why(entry: &LogEntry) -> String {
    match entry.purpose.as_deref() {
        Some(code) => match ExchangePurpose::from_code(code) {
            Some(p) => format!("{} ({code})", p.display()),
            None => code.to_owned(),
        },
        None => String::new(),
    }
}

/// One entry of the download.
#[derive(Serialize)]
struct DownloadedEntry<'a> {
    index: u64,
    /// The entry's bytes, base64: its RFC 6962 leaf hash is what the proof proves.
    entry: String,
    event: &'a str,
    time: i64,
    client: &'a str,
    organisation: Option<&'a str>,
    npi: Option<&'a str>,
    purpose: Option<&'a str>,
    refusal: Option<&'a str>,
    /// The c2sp.org/tlog-proof@v1 document; `null` until the entry is integrated.
    proof: Option<String>,
}

#[derive(Serialize)]
struct Download<'a> {
    /// Where to verify: the log's origin, verifier key and read API.
    log: LogIdentity<'a>,
    entries: Vec<DownloadedEntry<'a>>,
}

#[derive(Serialize)]
struct LogIdentity<'a> {
    origin: &'a str,
    vkey: String,
    url: &'a str,
}

async fn listed(app: &AppState, headers: &HeaderMap) -> Result<Vec<Disclosure>, Response> {
    let Some(browser) = session::current(app, headers).await else {
        return Err(see_other("/login"));
    };
    app.log
        .disclosures(&browser.session.subject, MAX_LISTED)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reading disclosures failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Your disclosures could not be read right now. Try again in a moment.",
            )
        })
}

pub async fn show(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let disclosures = match listed(&app, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let rows: String = disclosures
        .iter()
        .map(|d| {
            let e = &d.entry;
            let who = [
                e.org
                    .as_deref()
                    .map(|o| format!("organisation {}", escape(o))),
                (e.client != crate::tlog::NO_CLIENT)
                    .then(|| format!("application {}", escape(&e.client))),
                e.npi
                    .as_deref()
                    .map(|n| format!("clinician NPI {}", escape(n))),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
            let outcome = e
                .refusal
                .as_deref()
                .map(|r| format!("refused ({})", escape(r)))
                .unwrap_or_else(|| "done".to_owned());
            let proof = if d.proof.is_some() {
                format!(
                    "<a href=\"{}proof/index/{}\">proof</a>",
                    escape(&app.log.url),
                    d.index
                )
            } else {
                "pending (a few seconds)".to_owned()
            };
            format!(
                "<tr data-index=\"{index}\"><td>{when}</td><td>{what}</td><td>{who}</td>\
                 <td>{why}</td><td>{outcome}</td><td>{proof}</td></tr>\n",
                index = d.index,
                when = when(e.time),
                what = what(e),
                why = escape(&why(e)),
            )
        })
        .collect();
    let body = format!(
        "<p>Every request about you that reached Glassgate, newest first, as recorded in its \
         public verifiable log. The log publishes no names: each proof shows that the entry \
         is in the log that anyone can audit.</p>\n\
         <p><a href=\"/account/disclosures.json\" download>Download this list with its proofs</a> · \
         <a href=\"/account/privacy\">Your privacy choices</a> · <a href=\"/account\">Your account</a></p>\n\
         <table id=\"disclosures\">\n<thead><tr><th scope=\"col\">When</th><th scope=\"col\">What</th>\
         <th scope=\"col\">Who</th><th scope=\"col\">Why</th><th scope=\"col\">Outcome</th>\
         <th scope=\"col\">Proof</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>"
    );
    page("Who asked for your records", &body, &[])
}

pub async fn download(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let disclosures = match listed(&app, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let entries = disclosures
        .iter()
        .map(|d| DownloadedEntry {
            index: d.index,
            entry: STANDARD.encode(&d.bytes),
            event: &d.entry.event,
            time: d.entry.time,
            client: &d.entry.client,
            organisation: d.entry.org.as_deref(),
            npi: d.entry.npi.as_deref(),
            purpose: d.entry.purpose.as_deref(),
            refusal: d.entry.refusal.as_deref(),
            proof: d.proof.as_ref().map(|p| p.to_text()),
        })
        .collect();
    let document = Download {
        log: LogIdentity {
            origin: &app.log.origin,
            vkey: app.log.vkey(),
            url: &app.log.url,
        },
        entries,
    };
    let mut response = Json(document).into_response();
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"disclosures.json\""),
    );
    response
}
