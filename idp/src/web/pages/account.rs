//! `/account`: the signed-in person's passkeys — list, name, revoke, add — and sign-out.
//! Every change is logged.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::when;
use crate::app::AppState;
use crate::clock;
use crate::oauth::issuance;
use crate::passkey::PasskeyError;
use crate::passkey::register::passkey_name_of;
use crate::session::IdentityAssurance;
use crate::store::accounts::{RevocationOutcome, StoredPasskey, assurance_str};
use crate::tlog::{Event, EventKind, NO_CLIENT};
use crate::web::authenticator::see_other;
use crate::web::html::{escape, message, page};
use crate::web::session::{self, BrowserSession};

pub async fn show(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(browser) = session::current(&app, &headers).await else {
        return see_other("/login");
    };
    let subject = &browser.session.subject;
    let (account, passkeys) = match tokio::try_join!(
        app.store.accounts.account(subject),
        app.store.accounts.passkeys(subject)
    ) {
        Ok((Some(account), passkeys)) => (account, passkeys),
        Ok((None, _)) => return see_other("/login"),
        Err(e) => {
            tracing::error!(error = %e, "reading an account failed");
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Your account is unavailable right now. Try again in a moment.",
            );
        }
    };
    let npi = account
        .npi
        .as_deref()
        .map(|npi| format!(", NPI {}", escape(npi)))
        .unwrap_or_default();
    let rows: String = passkeys.iter().map(|p| passkey_row(p, &browser)).collect();
    let body = format!(
        "<p>Signed in as <strong>{name}</strong> ({kind}{npi}). Identity assurance: {ial}.</p>\n\
         <h2>Your passkeys</h2>\n\
         <table>\n<thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Added</th>\
         <th scope=\"col\">Last used</th><th scope=\"col\">Kind</th><th scope=\"col\">Status</th>\
         <th scope=\"col\">Change</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n\
         <form id=\"passkey-add\">\n<p><label for=\"new-passkey-name\">Name for a new passkey</label>\n\
         <input id=\"new-passkey-name\" name=\"name\" maxlength=\"64\">\n\
         <button type=\"submit\">Add a passkey</button></p>\n</form>\n\
         <p id=\"status\" role=\"status\" aria-live=\"polite\"></p>\n\
         {proofing}\n\
         <h2>Your records</h2>\n\
         <p><a href=\"/account/privacy\">Privacy choices: who may see your records</a> · \
         <a href=\"/account/disclosures\">Who asked for your records</a></p>\n\
         <form method=\"post\" action=\"/logout\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <p><button type=\"submit\">Sign out</button></p>\n</form>",
        name = escape(&account.display_name),
        kind = account.kind.as_str(),
        ial = assurance_str(account.identity_assurance).to_uppercase(),
        csrf = escape(&browser.csrf),
        proofing = match account.identity_assurance {
            IdentityAssurance::Ial1 => super::proofing::section(super::proofing::Mode::Link, ""),
            IdentityAssurance::Ial2 => String::new(),
        },
    );
    page("Your account", &body, &[])
}

fn passkey_row(p: &StoredPasskey, browser: &BrowserSession) -> String {
    let status = match (p.revoked_at, p.flagged_at) {
        (Some(at), _) => format!("revoked {}", when(at)),
        (None, Some(_)) => "blocked (counter went backwards)".to_owned(),
        (None, None) if browser.session.credential.id == p.credential_id => {
            "active (this sign-in)".to_owned()
        }
        (None, None) => "active".to_owned(),
    };
    let kind = if p.backup_eligible {
        "synced"
    } else {
        "this device only"
    };
    let actions = if p.revoked_at.is_none() {
        let id = escape(&p.credential_id);
        let csrf = escape(&browser.csrf);
        let label = escape(&p.name);
        format!(
            "<form method=\"post\" action=\"/account/passkeys/{id}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"name-{id}\">New name for {label}</label> \
             <input id=\"name-{id}\" name=\"name\" maxlength=\"64\" value=\"{label}\"> \
             <button type=\"submit\" name=\"action\" value=\"rename\">Rename</button> \
             <button type=\"submit\" name=\"action\" value=\"revoke\">Revoke</button></form>"
        )
    } else {
        String::new()
    };
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{kind}</td><td>{status}</td><td>{actions}</td></tr>\n",
        escape(&p.name),
        when(p.created_at),
        p.last_used_at.map(when).unwrap_or_else(|| "never".into()),
    )
}

#[derive(Deserialize)]
struct PasskeyChange {
    csrf: String,
    action: String,
    #[serde(default)]
    name: String,
}

pub async fn change_passkey(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(credential_id): Path<String>,
    body: Bytes,
) -> Response {
    let (browser, form) =
        match session::signed_in_form(&app, &headers, &body, |f: &PasskeyChange| &f.csrf).await {
            Ok(signed_in) => signed_in,
            Err(response) => return response,
        };
    let subject = &browser.session.subject;
    let now = clock::now();
    let outcome = match form.action.as_str() {
        "rename" => {
            let name = match passkey_name_of(&form.name) {
                Ok(name) => name,
                Err(e) => {
                    return message(StatusCode::BAD_REQUEST, "Name not accepted", &e.to_string());
                }
            };
            match app
                .store
                .accounts
                .rename(subject, &credential_id, &name)
                .await
            {
                Ok(true) => Ok("renamed"),
                Ok(false) => Err((StatusCode::NOT_FOUND, "No such passkey on your account.")),
                Err(e) => return failed(&e.to_string()),
            }
        }
        "revoke" => match app
            .store
            .accounts
            .revoke(subject, &credential_id, now)
            .await
        {
            Ok(RevocationOutcome::Revoked) => Ok("revoked"),
            Ok(RevocationOutcome::NotFound) => {
                Err((StatusCode::NOT_FOUND, "No such passkey on your account."))
            }
            Ok(RevocationOutcome::LastPasskey) => Err((
                StatusCode::CONFLICT,
                "This is your only working passkey: add another one before revoking it.",
            )),
            Err(e) => return failed(&e.to_string()),
        },
        _ => Err((StatusCode::BAD_REQUEST, "Choose Rename or Revoke.")),
    };
    match outcome {
        Ok(action) => {
            let event = Event::new(EventKind::CredentialPasskey, NO_CLIENT)
                .with_subject(subject)
                .with_record(json!({ "action": action, "credential": credential_id }));
            if let Err(e) = issuance::log_event(&app, event).await {
                return failed(&e.description);
            }
            see_other("/account")
        }
        Err((status, text)) => message(status, "Not changed", text),
    }
}

#[derive(Deserialize)]
struct SignOut {
    csrf: String,
}

pub async fn logout(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let valid = match (
        session::current(&app, &headers).await,
        serde_urlencoded::from_bytes::<SignOut>(&body),
    ) {
        (Some(browser), Ok(form)) => browser.csrf_matches(&form.csrf),
        _ => false,
    };
    if !valid || !session::origin_allowed(&app, &headers) {
        return message(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was not sent from this site.",
        );
    }
    let cookie = session::end(&app, &headers).await;
    let mut response = message(StatusCode::OK, "Signed out", "You are signed out.");
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response.into_response()
}

fn failed(detail: &str) -> Response {
    tracing::error!(error = %detail, "changing a passkey failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The change could not be made. Try again in a moment.",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkIdentity {
    identity_proof: crate::web::ProofTicket,
}

/// `POST /account/identity`: a signed-in person (a clinician invited at IAL1, say) attaches
/// a verified mDL proof to their account, which becomes IAL2. A licence already proving
/// another account is refused.
pub async fn link_identity(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let browser = session::current(&app, &headers)
            .await
            .ok_or(PasskeyError::NotSignedIn)?;
        if !session::same_origin_json(&app, &headers) {
            return Err(PasskeyError::Invalid(
                "send application/json from this site".into(),
            ));
        }
        let request: LinkIdentity =
            serde_json::from_slice(&body).map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let identity = request.identity_proof.spend(&app).await?;
        let subject = &browser.session.subject;
        if let Some(other) = app
            .store
            .accounts
            .account_by_commitment(&identity.commitment)
            .await?
            && &other.subject != subject
        {
            return Err(PasskeyError::IdentityOfAnotherAccount);
        }
        app.store
            .accounts
            .record_proofing(
                subject,
                &identity.commitment,
                &identity.verified_claims,
                clock::now(),
            )
            .await?;
        let event = Event::new(EventKind::CredentialMdl, NO_CLIENT)
            .with_subject(subject)
            .with_ial("ial2")
            .with_record(json!({ "action": "linked" }));
        issuance::log_event(&app, event)
            .await
            .map_err(|e| PasskeyError::internal(e.description))?;
        Ok(())
    };
    match outcome.await {
        Ok(()) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({ "next": "/account" })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
