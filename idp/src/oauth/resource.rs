//! Checking an access token we issued: signature against our own key ring, the RFC 9068
//! header and claims, then its stored state (revocation, grant revocation).

use serde_json::{Map, Value};

use crate::app::AppState;
use crate::clock;
use crate::error::{OAuthError, OAuthResult};
use crate::jose::{Jws, PublicKey};
use crate::store::model::AccessTokenState;

/// An access token that is ours, unexpired and not revoked.
pub struct ActiveAccessToken {
    pub claims: Map<String, Value>,
    pub stored: AccessTokenState,
}

impl ActiveAccessToken {
    pub fn cnf_jkt(&self) -> Option<&str> {
        self.stored.record.cnf_jkt.as_deref()
    }
}

/// `Ok(None)` for anything that is not an active access token of this server.
pub async fn active_access_token(
    state: &AppState,
    token: &str,
) -> OAuthResult<Option<ActiveAccessToken>> {
    let Ok(jws) = Jws::parse(token) else {
        return Ok(None);
    };
    if jws.header_str("typ") != Some("at+jwt") {
        return Ok(None);
    }
    let ring = state.keys.ring();
    let Some(jwk) = jws.header_str("kid").and_then(|kid| ring.public_jwk(kid)) else {
        return Ok(None);
    };
    let Ok(key) = PublicKey::from_jwk(jwk) else {
        return Ok(None);
    };
    if jws.verify(&key).is_err() || jws.claim_str("iss") != Some(state.config.issuer.as_str()) {
        return Ok(None);
    }
    if jws.claim_i64("exp").is_none_or(|exp| exp <= clock::now()) {
        return Ok(None);
    }
    let Some(jti) = jws.claim_str("jti") else {
        return Ok(None);
    };
    let stored = state
        .store
        .tokens
        .access_token(jti)
        .await
        .map_err(OAuthError::server_error)?;
    Ok(stored
        .filter(|s| !s.revoked)
        .map(|stored| ActiveAccessToken {
            claims: jws.claims,
            stored,
        }))
}
