//! `GET /login?interaction=…`: sign in with a passkey, from the account picker (modal) or
//! from the browser's autofill (conditional UI).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppState;
use crate::oauth::authorize;
use crate::web::html::{escape, message, page};

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    interaction: Option<String>,
}

pub async fn show(State(app): State<Arc<AppState>>, Query(q): Query<LoginQuery>) -> Response {
    let mut intro = "<p>Sign in to manage your account.</p>".to_owned();
    if let Some(interaction) = &q.interaction {
        let Ok(Some(request)) = authorize::pending(&app, interaction).await else {
            return message(
                StatusCode::GONE,
                "Sign-in expired",
                "This sign-in request has expired. Go back to the application and start again.",
            );
        };
        let client = client_name(&app, &request.client_id).await;
        intro = format!(
            "<p>Sign in to continue to <strong>{}</strong>.</p>",
            escape(&client)
        );
    }
    let body = format!(
        "{intro}\n\
         <form id=\"passkey-login\" data-interaction=\"{}\">\n\
         <p><label for=\"username\">Account</label>\n\
         <input id=\"username\" name=\"username\" autocomplete=\"username webauthn\" \
         aria-describedby=\"username-help\">\n\
         <span id=\"username-help\">Your browser offers your passkey here.</span></p>\n\
         <p><button type=\"submit\">Sign in with a passkey</button></p>\n\
         </form>\n\
         <p id=\"status\" role=\"status\" aria-live=\"polite\"></p>\n\
         <noscript><p>Signing in with a passkey needs JavaScript.</p></noscript>\n\
         <p>Clinicians: no passkey yet? Use the enrollment link you were given.</p>\n\
         {}",
        escape(q.interaction.as_deref().unwrap_or_default()),
        super::proofing::section(
            super::proofing::Mode::Enroll,
            q.interaction.as_deref().unwrap_or_default()
        ),
    );
    page("Sign in", &body, &[])
}

/// The name a person recognises: the registered client name, else its id.
pub async fn client_name(app: &AppState, client_id: &str) -> String {
    match app.clients.get(client_id).await {
        Ok(Some(client)) => client
            .record
            .client_name
            .clone()
            .unwrap_or_else(|| client_id.to_owned()),
        _ => client_id.to_owned(),
    }
}
