//! `GET /enroll?invitation=…`: a clinician redeems an invitation by registering a passkey.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppState;
use crate::clock;
use crate::oauth::sha256_hex;
use crate::web::html::{escape, message, page};

#[derive(Deserialize)]
pub struct EnrollQuery {
    invitation: String,
}

pub async fn show(State(app): State<Arc<AppState>>, Query(q): Query<EnrollQuery>) -> Response {
    let invitation = match app
        .store
        .accounts
        .invitation(&sha256_hex(&q.invitation))
        .await
    {
        Ok(Some(invitation)) => invitation,
        Ok(None) => {
            return message(
                StatusCode::NOT_FOUND,
                "Invitation not valid",
                "This invitation link is not valid. Ask your administrator for a new one.",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "reading an invitation failed");
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Enrollment is unavailable right now. Try again in a moment.",
            );
        }
    };
    if invitation.redeemed_at.is_some() {
        return message(
            StatusCode::GONE,
            "Invitation already used",
            "This invitation was already used. Sign in with your passkey, or ask your \
             administrator for a new invitation.",
        );
    }
    if invitation.expires_at <= clock::now() {
        return message(
            StatusCode::GONE,
            "Invitation expired",
            "This invitation has expired. Ask your administrator for a new one.",
        );
    }
    let body = format!(
        "<p>You are invited to sign in to health networks as the clinician with NPI \
         <strong>{npi}</strong>. Create a passkey on this device: no password is involved.</p>\n\
         <form id=\"passkey-enroll\" data-invitation=\"{token}\">\n\
         <p><label for=\"display-name\">Your name</label>\n\
         <input id=\"display-name\" name=\"display_name\" required maxlength=\"100\" \
         autocomplete=\"name\"></p>\n\
         <p><label for=\"passkey-name\">Name for this passkey (optional)</label>\n\
         <input id=\"passkey-name\" name=\"name\" maxlength=\"64\" \
         placeholder=\"e.g. clinic laptop\"></p>\n\
         <p><button type=\"submit\">Create a passkey</button></p>\n\
         </form>\n\
         <p id=\"status\" role=\"status\" aria-live=\"polite\"></p>\n\
         <noscript><p>Creating a passkey needs JavaScript.</p></noscript>",
        npi = escape(&invitation.npi),
        token = escape(&q.invitation),
    );
    page("Create your passkey", &body, &[])
}
