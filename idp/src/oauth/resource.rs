//! Checking an access token we issued: signature against our own key ring, the RFC 9068
//! header and claims, then its stored state (revocation, grant revocation) and, for a token
//! about a patient, whether the patient's consent still allows it.

use serde_json::{Map, Value};

use crate::app::AppState;
use crate::clock;
use crate::error::{OAuthError, OAuthResult};
use crate::jose::{Jws, PublicKey};
use crate::store::model::{AccessTokenState, TokenContext};

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

/// What a presented access token is to this server.
pub enum Standing {
    Active(Box<ActiveAccessToken>),
    /// Ours, unexpired and not revoked, but the patient it is about has added a consent
    /// restriction since it was decided.
    EndedByConsent {
        patient: String,
    },
    /// Anything else: malformed, not ours, expired or revoked.
    Inactive,
}

/// `Ok(None)` for anything that is not an active access token of this server.
pub async fn active_access_token(
    state: &AppState,
    token: &str,
) -> OAuthResult<Option<ActiveAccessToken>> {
    Ok(match standing(state, token).await? {
        Standing::Active(active) => Some(*active),
        Standing::EndedByConsent { .. } | Standing::Inactive => None,
    })
}

/// Whether `token` is an active access token of ours, and if not, whether a consent change
/// ended it (the token exchange tells its client so, and logs the refusal for the patient).
pub async fn standing(state: &AppState, token: &str) -> OAuthResult<Standing> {
    let Some((jws, jti)) = verified(state, token) else {
        return Ok(Standing::Inactive);
    };
    let stored = state
        .store
        .tokens
        .access_token(&jti)
        .await
        .map_err(OAuthError::server_error)?;
    let Some(stored) = stored.filter(|s| !s.revoked) else {
        return Ok(Standing::Inactive);
    };
    if let Some(patient) = ended_by_consent(state, &stored.record.context).await? {
        return Ok(Standing::EndedByConsent { patient });
    }
    Ok(Standing::Active(Box::new(ActiveAccessToken {
        claims: jws.claims,
        stored,
    })))
}

/// The token's JWS and `jti` when it is an unexpired RFC 9068 token signed by our key ring
/// for this issuer.
fn verified(state: &AppState, token: &str) -> Option<(Jws, String)> {
    let jws = Jws::parse(token).ok()?;
    if jws.header_str("typ") != Some("at+jwt") {
        return None;
    }
    let ring = state.keys.ring();
    let jwk = jws.header_str("kid").and_then(|kid| ring.public_jwk(kid))?;
    let key = PublicKey::from_jwk(jwk).ok()?;
    if jws.verify(&key).is_err() || jws.claim_str("iss") != Some(state.config.issuer.as_str()) {
        return None;
    }
    if jws.claim_i64("exp").is_none_or(|exp| exp <= clock::now()) {
        return None;
    }
    let jti = jws.claim_str("jti")?.to_owned();
    Some((jws, jti))
}

/// The patient of a token about a patient who has added a restriction since its decision
/// (`store::consents`). Fails closed: without the patient's consent there is no answer.
async fn ended_by_consent(state: &AppState, context: &TokenContext) -> OAuthResult<Option<String>> {
    let Some(patient) = &context.patient else {
        return Ok(None);
    };
    let consent = state
        .store
        .consents
        .consent(patient)
        .await
        .map_err(OAuthError::server_error)?;
    let honoured = consent.is_none_or(|c| c.honours(context.consent_reference.as_deref()));
    Ok((!honoured).then(|| patient.clone()))
}
