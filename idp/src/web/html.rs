//! Server-rendered HTML: escaping and the page shell. Pages work without CSS or script
//! (forms post normally); the one script file only drives the WebAuthn calls.

use std::fmt::Write;

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

/// Escape text for an HTML text node or a double-quoted attribute.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A whole page. `body` is trusted markup built by the caller with [`escape`]d values.
/// `form_targets` are the origins a form on the page may end up at (CSP `form-action`).
pub fn page(title: &str, body: &str, form_targets: &[&str]) -> Response {
    let mut html = String::with_capacity(body.len() + 512);
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · Glassgate</title>\n\
         <link rel=\"stylesheet\" href=\"/assets/glassgate.css\">\n\
         <script src=\"/assets/glassgate.js\" defer></script>\n</head>\n<body>\n\
         <header><p class=\"brand\">Glassgate</p></header>\n<main id=\"main\">\n<h1>{}</h1>\n{}\n</main>\n\
         </body>\n</html>\n",
        escape(title),
        escape(title),
        body
    );
    let mut response = Html(html).into_response();
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'{}; frame-ancestors 'none'; base-uri 'none'",
        form_targets
            .iter()
            .map(|t| format!(" {t}"))
            .collect::<String>()
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: with no-referrer browsers send `Origin: null` on
    // form posts, and the forms rely on the Origin check.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A page that only says something went wrong, and what to do.
pub fn message(status: axum::http::StatusCode, title: &str, text: &str) -> Response {
    let mut response = page(
        title,
        &format!("<p role=\"alert\">{}</p>", escape(text)),
        &[],
    );
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
    }

    #[test]
    fn pages_carry_security_headers() {
        let r = page("Sign in", "<p>x</p>", &["https://rp.example"]);
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("form-action 'self' https://rp.example"));
    }
}
