//! OAuth 2.0 / OpenID Connect endpoints, one module per protocol step.

pub mod authorize;
pub mod client_auth;
pub mod clients;
pub mod clinician;
pub mod discovery;
pub mod dpop;
pub mod introspect;
pub mod issuance;
pub mod par;
pub mod params;
pub mod pkce;
pub mod policy;
pub mod purpose;
pub mod registration;
pub mod request;
pub mod resource;
pub mod revoke;
pub mod scope;
pub mod smart;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

/// Every OAuth/OIDC route, relative to the issuer.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/smart-configuration",
            get(smart::smart_configuration),
        )
        .route("/jwks", get(discovery::jwks))
        .route(
            "/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/par", post(par::push))
        .route("/token", post(token::token))
        .route("/introspect", post(introspect::introspect))
        .route("/revoke", post(revoke::revoke))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/register", post(registration::register))
        .route(
            "/register/{client_id}",
            get(registration::read)
                .put(registration::update)
                .delete(registration::delete),
        )
}

/// 256 bits from the system CSPRNG, base64url: codes, refresh tokens, ids.
pub fn random_token() -> Result<String, crate::error::OAuthError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| crate::error::OAuthError::server_error("CSPRNG failure"))?;
    Ok(crate::jose::b64(&bytes))
}

/// An access token's `jti`: the issue time in milliseconds (12 hex digits) then 128 bits from
/// the system CSPRNG, base64url. Ids that sort by time are inserted at the right edge of the
/// token table's key index, where a random key would touch (and log) a random page each time.
pub fn token_id() -> Result<String, crate::error::OAuthError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| crate::error::OAuthError::server_error("CSPRNG failure"))?;
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Ok(format!("{millis:012x}{}", crate::jose::b64(&bytes)))
}

/// Hex SHA-256, the at-rest form of codes, refresh tokens and secrets.
pub fn sha256_hex(value: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time comparison of two secrets' hashes (or any two strings).
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::token_id;

    #[test]
    fn token_ids_sort_by_issue_time_and_differ() {
        let first = token_id().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = token_id().unwrap();
        assert_eq!(first.len(), 12 + 22);
        assert!(first < second, "{first} then {second}");
        assert_ne!(first[12..], second[12..]);
        assert!(first[..12].bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
