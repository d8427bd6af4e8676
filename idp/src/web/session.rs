//! Signed-in browsers. The cookie holds only a random id; the session itself lives in the
//! ephemeral store (shared by replicas) under the id's hash, with its CSRF token.
//!
//! Cookie: `__Host-` prefix (host-only, `Path=/`, `Secure`), `HttpOnly`, and `SameSite=Lax`
//! rather than `Strict`: a relying party sends the person to `/authorize` by a cross-site
//! top-level navigation, and single sign-on needs the cookie on exactly that request.
//! State-changing requests never rely on it alone (CSRF token or JSON-only with an `Origin`
//! check).

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::ephemeral::keys;
use crate::oauth::{random_token, same_secret, sha256_hex};
use crate::session::AuthenticatedSession;

pub const COOKIE: &str = "__Host-glassgate-session";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrowserSession {
    pub session: AuthenticatedSession,
    /// Synchronizer token for the forms of this session.
    pub csrf: String,
}

impl BrowserSession {
    pub fn csrf_matches(&self, presented: &str) -> bool {
        same_secret(&self.csrf, presented)
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The browser's session, if it has a live one whose credential is still usable.
pub async fn current(app: &AppState, headers: &HeaderMap) -> Option<BrowserSession> {
    let id = cookie_value(headers)?;
    let stored = app
        .ephemeral
        .get(&keys::browser_session(&sha256_hex(id)))
        .await
        .ok()??;
    let session: BrowserSession = serde_json::from_slice(&stored).ok()?;
    // A revoked or blocked passkey ends the sessions it opened.
    if session.session.credential.kind == "passkey" {
        let passkey = app
            .store
            .accounts
            .passkey(&session.session.credential.id)
            .await
            .ok()??;
        if !passkey.usable() {
            return None;
        }
    }
    Some(session)
}

/// Start a session for `session`; returns the `Set-Cookie` value.
pub async fn establish(
    app: &AppState,
    session: AuthenticatedSession,
) -> Result<HeaderValue, String> {
    let id = random_token().map_err(|e| e.description)?;
    let csrf = random_token().map_err(|e| e.description)?;
    let value = serde_json::to_vec(&BrowserSession { session, csrf }).map_err(|e| e.to_string())?;
    let ttl = Duration::from_secs(app.config.web.session_ttl_secs);
    app.ephemeral
        .put(&keys::browser_session(&sha256_hex(&id)), &value, ttl)
        .await
        .map_err(|e| e.to_string())?;
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        ttl.as_secs()
    ))
    .map_err(|e| e.to_string())
}

/// End the browser's session; returns the `Set-Cookie` value that clears the cookie.
pub async fn end(app: &AppState, headers: &HeaderMap) -> HeaderValue {
    if let Some(id) = cookie_value(headers) {
        let _ = app
            .ephemeral
            .take(&keys::browser_session(&sha256_hex(id)))
            .await;
    }
    HeaderValue::from_static(
        "__Host-glassgate-session=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
    )
}

/// Cross-site request forgery defence for JSON endpoints: browsers send `Origin` on every
/// `fetch` POST, and a cross-origin page cannot send `application/json` without a CORS
/// preflight, which this server never grants.
pub fn same_origin_json(app: &AppState, headers: &HeaderMap) -> bool {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    json && origin_allowed(app, headers)
}

/// A page form posted by a signed-in person from this site: their session and the parsed
/// form, or the response to send instead (sign in first, an incomplete form, or a form
/// from elsewhere: wrong `Origin` or CSRF token). `csrf` reads the form's token.
pub async fn signed_in_form<T: serde::de::DeserializeOwned>(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    csrf: impl Fn(&T) -> &str,
) -> Result<(BrowserSession, T), axum::response::Response> {
    use crate::web::html::message;
    use axum::http::StatusCode;
    let Some(browser) = current(app, headers).await else {
        return Err(crate::web::authenticator::see_other("/login"));
    };
    let Ok(form) = serde_urlencoded::from_bytes::<T>(body) else {
        return Err(message(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form was incomplete.",
        ));
    };
    if !origin_allowed(app, headers) || !browser.csrf_matches(csrf(&form)) {
        return Err(message(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was not sent from this site. Go back and try again.",
        ));
    }
    Ok((browser, form))
}

/// `Origin`, when present, must be the issuer's own.
pub fn origin_allowed(app: &AppState, headers: &HeaderMap) -> bool {
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => url::Url::parse(&app.config.issuer)
            .map(|issuer| issuer.origin().ascii_serialization() == origin)
            .unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-glassgate-session=abc; b=2"),
        );
        assert_eq!(cookie_value(&headers), Some("abc"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("glassgate-session=x"),
        );
        assert_eq!(cookie_value(&headers), None);
    }
}
