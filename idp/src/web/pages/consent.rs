//! `/interaction/{id}`: after sign-in, the person approves (or declines) what the client
//! asks for; then the pending authorization is resumed and the browser goes back to the
//! client with a code (or with `access_denied`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::login::client_name;
use crate::app::AppState;
use crate::clock;
use crate::ephemeral::keys;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::authorize;
use crate::oauth::request::AuthorizationRequest;
use crate::session::AuthenticatedSession;
use crate::web::authenticator::{approval_for, consented, see_other};
use crate::web::html::{escape, message, page};
use crate::web::session::{self, BrowserSession};

/// The pending request and the session bound to it, if this browser may act on it.
struct Ready {
    request: AuthorizationRequest,
    browser: BrowserSession,
    signed_in: AuthenticatedSession,
}

enum Interaction {
    Ready(Box<Ready>),
    /// Not (or no longer) signed in for it: back to the login page.
    SignIn,
    Expired,
}

async fn interaction(app: &AppState, headers: &HeaderMap, id: &str) -> Interaction {
    let Ok(Some(request)) = authorize::pending(app, id).await else {
        return Interaction::Expired;
    };
    let Some(browser) = session::current(app, headers).await else {
        return Interaction::SignIn;
    };
    let signed_in = match app.ephemeral.get(&keys::interaction_session(id)).await {
        Ok(Some(value)) => serde_json::from_slice::<AuthenticatedSession>(&value).ok(),
        _ => None,
    };
    match signed_in {
        Some(signed_in) if signed_in.subject == browser.session.subject => {
            Interaction::Ready(Box::new(Ready {
                request,
                browser,
                signed_in,
            }))
        }
        _ => Interaction::SignIn,
    }
}

fn expired() -> Response {
    message(
        StatusCode::GONE,
        "Request expired",
        "This sign-in request has expired. Go back to the application and start again.",
    )
}

pub async fn show(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (request, browser, signed_in) = match interaction(&app, &headers, &id).await {
        Interaction::Ready(ready) => (ready.request, ready.browser, ready.signed_in),
        Interaction::SignIn => return see_other(&format!("/login?interaction={id}")),
        Interaction::Expired => return expired(),
    };
    let force = request.prompt.iter().any(|p| p == "consent");
    match consented(&app, &signed_in.subject, &request).await {
        Ok(true) if !force => return complete(&app, &id, signed_in).await,
        Ok(_) => {}
        Err(page) => return page,
    }
    consent_page(&app, &id, &request, &browser).await
}

async fn consent_page(
    app: &AppState,
    id: &str,
    request: &AuthorizationRequest,
    browser: &BrowserSession,
) -> Response {
    let client = client_name(app, &request.client_id).await;
    let scopes: String = request
        .scope
        .split_whitespace()
        .map(|s| format!("<li>{}</li>\n", escape(&describe_scope(s))))
        .collect();
    // The approval is remembered for this purpose and this patient only: say both.
    let about = match &request.patient {
        Some(patient) => format!(
            "<p>About the patient record <strong>{}</strong> only.</p>\n",
            escape(patient)
        ),
        None => String::new(),
    };
    let body = format!(
        "<p><strong>{client}</strong> asks to:</p>\n<ul>\n{scopes}</ul>\n\
         <p>Why: <strong>{purpose}</strong> <span>({code})</span>. The access is for this \
         purpose only.</p>\n{about}\
         <form method=\"post\" action=\"/interaction/{id}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <p><button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p>\n\
         </form>",
        client = escape(&client),
        purpose = escape(request.purpose.exchange().display()),
        code = escape(request.purpose.exchange().code()),
        id = escape(id),
        csrf = escape(&browser.csrf),
    );
    // The form's answer redirects to the client: CSP form-action must allow its origin.
    let target = url::Url::parse(&request.redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    page(&format!("Allow {client}?"), &body, &[target.as_str()])
}

#[derive(Deserialize)]
struct Decision {
    csrf: String,
    decision: String,
}

pub async fn decide(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<Decision>(&body) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form was incomplete.",
        );
    };
    let (request, browser, signed_in) = match interaction(&app, &headers, &id).await {
        Interaction::Ready(ready) => (ready.request, ready.browser, ready.signed_in),
        Interaction::SignIn => return see_other(&format!("/login?interaction={id}")),
        Interaction::Expired => return expired(),
    };
    if !session::origin_allowed(&app, &headers) || !browser.csrf_matches(&form.csrf) {
        return message(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was not sent from this site. Go back and try again.",
        );
    }
    match form.decision.as_str() {
        "allow" => {
            if let Err(e) = app
                .store
                .accounts
                .grant_consent(
                    &approval_for(&signed_in.subject, &request),
                    &request.scope,
                    clock::now(),
                )
                .await
            {
                tracing::error!(error = %e, "recording consent failed");
                return message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Your answer could not be recorded. Try again in a moment.",
                );
            }
            complete(&app, &id, signed_in).await
        }
        "deny" => {
            let _ = app.ephemeral.take(&keys::interaction_session(&id)).await;
            let error = OAuthError::new(ErrorCode::AccessDenied, "the person declined the request");
            authorize::refuse_pending(&app, &id, error)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        }
        _ => message(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "Choose Allow or Deny.",
        ),
    }
}

/// Issue the code: the session marker is used once.
async fn complete(app: &AppState, id: &str, signed_in: AuthenticatedSession) -> Response {
    match app.ephemeral.take(&keys::interaction_session(id)).await {
        Ok(Some(_)) => {}
        _ => return expired(),
    }
    authorize::resume(app, id, signed_in)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Scopes in plain words; unknown ones are shown as they are.
pub fn describe_scope(scope: &str) -> String {
    let fixed = match scope {
        "openid" => Some("Confirm who you are"),
        "profile" => Some("See your name"),
        "email" => Some("See your email address"),
        "fhirUser" => Some("Know which person record is yours"),
        "offline_access" => Some("Keep access when you are not using the application"),
        "online_access" => Some("Keep access while you are using the application"),
        "launch" | "launch/patient" => Some("Know which patient record is open"),
        _ => None,
    };
    if let Some(text) = fixed {
        return text.to_owned();
    }
    let Some((context, rest)) = scope.split_once('/') else {
        return scope.to_owned();
    };
    let (resource, permissions) = rest.split_once('.').unwrap_or((rest, ""));
    let whose = match context {
        "patient" => "your",
        "user" => "the",
        "system" => "all",
        _ => return scope.to_owned(),
    };
    let what = if resource == "*" {
        "health records".to_owned()
    } else {
        format!("{resource} records")
    };
    let permissions = permissions.split('?').next().unwrap_or_default();
    let verbs: Vec<&str> = permissions
        .chars()
        .filter_map(|c| match c {
            'c' => Some("create"),
            'r' | 's' => Some("read"),
            'u' => Some("update"),
            'd' => Some("delete"),
            _ => None,
        })
        .fold(Vec::new(), |mut v, verb| {
            if !v.contains(&verb) {
                v.push(verb);
            }
            v
        });
    let verbs = if verbs.is_empty() {
        "use".to_owned()
    } else {
        verbs.join(", ")
    };
    let mut text = format!("{verbs} {whose} {what}");
    if context == "user" {
        text.push_str(" you are allowed to see");
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::describe_scope;

    #[test]
    fn scopes_in_plain_words() {
        assert_eq!(describe_scope("openid"), "Confirm who you are");
        assert_eq!(describe_scope("patient/*.rs"), "Read your health records");
        assert_eq!(
            describe_scope("user/Observation.rs?category=laboratory"),
            "Read the Observation records you are allowed to see"
        );
        assert_eq!(describe_scope("weird"), "weird");
    }
}
