//! `/account/privacy`: a signed-in patient's consent restrictions — no disclosure for a
//! purpose, to an organisation, or of a sensitive data category. Each change replaces the
//! stored consent under a new reference (what tokens carry as `consent_reference`) in the
//! same transaction as its log entry, and the next policy decision honours it. Adding a
//! restriction also ends the access tokens about the patient decided before it (see
//! `store::consents`); lifting one ends nothing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use glassgate_policies::{ConsentRestrictions, DataCategory, ExchangePurpose};
use serde::Deserialize;
use serde_json::json;

use super::when;
use crate::app::AppState;
use crate::clock;
use crate::oauth::random_token;
use crate::store::consents::ConsentRecord;
use crate::tlog::{Event, EventKind, NO_CLIENT};
use crate::web::authenticator::see_other;
use crate::web::html::{escape, message, page};
use crate::web::session;

/// One restriction, as the form names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Restriction {
    Purpose(ExchangePurpose),
    Recipient(String),
    Category(DataCategory),
}

impl Restriction {
    fn kind(&self) -> &'static str {
        match self {
            Self::Purpose(_) => "purpose",
            Self::Recipient(_) => "recipient",
            Self::Category(_) => "category",
        }
    }

    fn value(&self) -> &str {
        match self {
            Self::Purpose(p) => p.code(),
            Self::Recipient(org) => org,
            Self::Category(c) => c.label(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Purpose(p) => format!("No sharing for {} ({})", p.display(), p.code()),
            Self::Recipient(org) => format!("No sharing with the organisation {org}"),
            Self::Category(c) => format!("Never share {}", c.display()),
        }
    }

    fn all_of(restrictions: &ConsentRestrictions) -> Vec<Restriction> {
        let purposes = restrictions.purposes.iter().copied().map(Self::Purpose);
        let recipients = restrictions
            .recipient_organisations
            .iter()
            .cloned()
            .map(Self::Recipient);
        let categories = restrictions
            .data_categories
            .iter()
            .copied()
            .map(Self::Category);
        purposes.chain(recipients).chain(categories).collect()
    }

    fn is_in(&self, restrictions: &ConsentRestrictions) -> bool {
        match self {
            Self::Purpose(p) => restrictions.purposes.contains(p),
            Self::Recipient(org) => restrictions.recipient_organisations.contains(org),
            Self::Category(c) => restrictions.data_categories.contains(c),
        }
    }

    fn add_to(self, restrictions: &mut ConsentRestrictions) {
        match self {
            Self::Purpose(p) => restrictions.purposes.push(p),
            Self::Recipient(org) => restrictions.recipient_organisations.push(org),
            Self::Category(c) => restrictions.data_categories.push(c),
        }
    }

    fn remove_from(&self, restrictions: &mut ConsentRestrictions) {
        match self {
            Self::Purpose(p) => restrictions.purposes.retain(|x| x != p),
            Self::Recipient(org) => restrictions.recipient_organisations.retain(|x| x != org),
            Self::Category(c) => restrictions.data_categories.retain(|x| x != c),
        }
    }
}

#[derive(Deserialize)]
struct ChangeForm {
    csrf: String,
    action: String,
    kind: String,
    value: String,
}

/// Reads a restriction from the form; recipients must be organisations the broker knows.
fn restriction_of(app: &AppState, kind: &str, value: &str) -> Result<Restriction, String> {
    match kind {
        "purpose" => ExchangePurpose::from_code(value)
            .map(Restriction::Purpose)
            .ok_or_else(|| format!("{value:?} is not a TEFCA exchange purpose code")),
        "recipient" => app
            .policy
            .organisations()
            .iter()
            .find(|o| o.id == value)
            .map(|o| Restriction::Recipient(o.id.clone()))
            .ok_or_else(|| format!("{value:?} is not an organisation known here")),
        "category" => DataCategory::from_label(value)
            .map(Restriction::Category)
            .ok_or_else(|| format!("{value:?} is not a data category")),
        _ => Err("choose a purpose, an organisation or a data category".to_owned()),
    }
}

pub async fn show(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(browser) = session::current(&app, &headers).await else {
        return see_other("/login");
    };
    let consent = match app.store.consents.consent(&browser.session.subject).await {
        Ok(c) => c,
        Err(e) => return failed(&e.to_string()),
    };
    let csrf = escape(&browser.csrf);
    let current = consent
        .as_ref()
        .map(|c| Restriction::all_of(&c.restrictions))
        .unwrap_or_default();
    let rows: String = current
        .iter()
        .map(|r| {
            format!(
                "<li>{text} <form class=\"inline\" method=\"post\" action=\"/account/privacy\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"kind\" value=\"{kind}\">\
                 <input type=\"hidden\" name=\"value\" value=\"{value}\">\
                 <button type=\"submit\" name=\"action\" value=\"remove\">Remove</button></form></li>\n",
                text = escape(&r.describe()),
                kind = r.kind(),
                value = escape(r.value()),
            )
        })
        .collect();
    let listed = if rows.is_empty() {
        "<p id=\"restrictions\">You have no restrictions: policy alone decides who may see your records.</p>".to_owned()
    } else {
        format!("<ul id=\"restrictions\">\n{rows}</ul>")
    };
    let reference = consent
        .as_ref()
        .map(|c| {
            format!(
                "<p>Consent reference <code id=\"consent-reference\">{}</code>, last changed {}. \
                 Every token issued about you names it.</p>",
                escape(&c.reference),
                when(c.updated_at)
            )
        })
        .unwrap_or_default();
    let option = |value: &str, text: &str| {
        format!(
            "<option value=\"{}\">{}</option>",
            escape(value),
            escape(text)
        )
    };
    let purposes: String = ExchangePurpose::ALL
        .iter()
        .map(|p| option(p.code(), &format!("{} ({})", p.display(), p.code())))
        .collect();
    let organisations: String = app
        .policy
        .organisations()
        .iter()
        .map(|o| option(&o.id, &format!("{} ({})", o.id, o.kind.as_str())))
        .collect();
    let categories: String = DataCategory::ALL
        .iter()
        .map(|c| option(c.label(), c.display()))
        .collect();
    let add_form = |kind: &str, label: &str, options: &str| {
        format!(
            "<form method=\"post\" action=\"/account/privacy\">\n\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
             <input type=\"hidden\" name=\"kind\" value=\"{kind}\">\n\
             <p><label for=\"add-{kind}\">{label}</label>\n\
             <select id=\"add-{kind}\" name=\"value\">{options}</select>\n\
             <button type=\"submit\" name=\"action\" value=\"add\">Restrict</button></p>\n</form>\n"
        )
    };
    let body = format!(
        "<p>Restrictions you set here apply at once to every request for your records, \
         whatever any other rule allows. Adding one also ends the access apps and \
         organisations were already given to your records: they must ask again, under your \
         new choices.</p>\n\
         <h2>Your restrictions</h2>\n{listed}\n{reference}\n\
         <h2>Add a restriction</h2>\n{purpose}{recipient}{category}\
         <p><a href=\"/account/disclosures\">Who has asked for your records</a> · \
         <a href=\"/account\">Your account</a></p>",
        purpose = add_form("purpose", "No sharing for this purpose", &purposes),
        recipient = add_form(
            "recipient",
            "No sharing with this organisation",
            &organisations
        ),
        category = add_form("category", "Never share this kind of record", &categories),
    );
    page("Your privacy choices", &body, &[])
}

pub async fn change(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let (browser, form) =
        match session::signed_in_form(&app, &headers, &body, |f: &ChangeForm| &f.csrf).await {
            Ok(signed_in) => signed_in,
            Err(response) => return response,
        };
    let restriction = match restriction_of(&app, &form.kind, &form.value) {
        Ok(r) => r,
        Err(text) => return message(StatusCode::BAD_REQUEST, "Not changed", &text),
    };
    let patient = &browser.session.subject;
    let stored = match app.store.consents.consent(patient).await {
        Ok(c) => c,
        Err(e) => return failed(&e.to_string()),
    };
    let mut restrictions = stored
        .as_ref()
        .map(|c| c.restrictions.clone())
        .unwrap_or_default();
    let present = restriction.is_in(&restrictions);
    let action = match (form.action.as_str(), present) {
        ("add", true) | ("remove", false) => return see_other("/account/privacy"),
        ("add", false) => {
            restriction.clone().add_to(&mut restrictions);
            "added"
        }
        ("remove", true) => {
            restriction.remove_from(&mut restrictions);
            "removed"
        }
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Not changed",
                "Choose Restrict or Remove.",
            );
        }
    };
    let reference = match random_token() {
        Ok(r) => format!("urn:glassgate:consent:{r}"),
        Err(e) => return failed(&e.description),
    };
    let tightened = action == "added";
    let next = ConsentRecord::after(
        stored.as_ref(),
        reference,
        restrictions,
        clock::now(),
        tightened,
    );
    let event = Event::new(EventKind::ConsentChanged, NO_CLIENT)
        .with_subject(patient)
        .with_record(json!({
            "action": action,
            "restriction": { "kind": restriction.kind(), "value": restriction.value() },
            "consent_reference": next.reference,
            "previous_reference": stored.as_ref().map(|c| &c.reference),
            "earlier_tokens": if tightened { "ended" } else { "still_active" },
            "restrictions": next.restrictions,
        }));
    let entry = match app.log.entry(event, &app.config.issuer) {
        Ok(e) => e,
        Err(e) => return failed(&e.to_string()),
    };
    let expected = stored.as_ref().map(|c| c.reference.as_str());
    match app
        .store
        .consents
        .replace(patient, expected, &next, &entry)
        .await
    {
        Ok(true) => see_other("/account/privacy"),
        Ok(false) => message(
            StatusCode::CONFLICT,
            "Not changed",
            "Your restrictions changed in another window meanwhile. Reload the page and try again.",
        ),
        Err(e) => failed(&e.to_string()),
    }
}

fn failed(detail: &str) -> Response {
    tracing::error!(error = %detail, "consent restrictions unavailable");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Your privacy choices could not be read or changed. Try again in a moment.",
    )
}
