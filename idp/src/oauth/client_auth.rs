//! Client authentication at the token, PAR, introspection and revocation endpoints:
//! `private_key_jwt` (RFC 7523 §2.2), `client_secret_basic` / `client_secret_post`
//! (RFC 6749 §2.3.1), or none for public clients (which must then use PKCE).

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::clients::Client;
use super::params::Params;
use super::{same_secret, sha256_hex};
use crate::app::AppState;
use crate::clock;
use crate::ephemeral::keys;
use crate::error::{Challenge, OAuthError, OAuthResult};
use crate::jose::{Jws, PreparedKey, VerifyAlg};
use crate::store::model::{ClientAuthMethod, ClientSource};

pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Algorithms accepted for client assertions (SMART asymmetric auth needs RS384 or ES384).
pub const ASSERTION_ALGS: [&str; 4] = ["ES256", "ES384", "RS256", "RS384"];
/// How far ahead a client assertion's `exp` may be (SMART Backend Services: five minutes).
const MAX_ASSERTION_LIFETIME: i64 = 300;
/// Tolerated clock difference with clients.
const CLOCK_SKEW: i64 = 10;

/// A client that proved its identity (or a public client that named itself).
pub struct AuthenticatedClient {
    pub client: Arc<Client>,
    pub method: ClientAuthMethod,
    /// The UDAP `hl7-b2b` authorization extension of a member's client assertion.
    pub b2b: Option<Value>,
}

impl AuthenticatedClient {
    pub fn id(&self) -> &str {
        self.client.id()
    }
    pub fn is_public(&self) -> bool {
        self.method == ClientAuthMethod::None
    }
}

fn failed(description: impl Into<String>, basic: bool) -> OAuthError {
    let error = OAuthError::invalid_client(description);
    if basic {
        error.with_challenge(Challenge::Basic)
    } else {
        error
    }
}

/// Authenticate the client of a request to an endpoint whose URL is `endpoint`.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> OAuthResult<AuthenticatedClient> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let assertion = params.get("client_assertion");
    let post_secret = params.get("client_secret");
    let methods = usize::from(basic.is_some())
        + usize::from(assertion.is_some())
        + usize::from(post_secret.is_some());
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "more than one client authentication method was used",
        ));
    }
    if let Some(credentials) = basic {
        return secret_basic(state, credentials, params).await;
    }
    if let Some(assertion) = assertion {
        return private_key_jwt(state, assertion, params, endpoint).await;
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(|| failed("client authentication is required", false))?;
    let client = lookup(state, client_id, false).await?;
    match (post_secret, client.record.auth_method) {
        (Some(secret), ClientAuthMethod::ClientSecretPost) => {
            check_secret(&client, secret, false)?;
            Ok(AuthenticatedClient {
                client,
                method: ClientAuthMethod::ClientSecretPost,
                b2b: None,
            })
        }
        (None, ClientAuthMethod::None) => Ok(AuthenticatedClient {
            client,
            method: ClientAuthMethod::None,
            b2b: None,
        }),
        (_, registered) => Err(failed(
            format!("this client must authenticate with {}", registered.as_str()),
            false,
        )),
    }
}

async fn lookup(state: &AppState, client_id: &str, basic: bool) -> OAuthResult<Arc<Client>> {
    state
        .clients
        .get(client_id)
        .await?
        .ok_or_else(|| failed("unknown client", basic))
}

fn check_secret(client: &Client, secret: &str, basic: bool) -> OAuthResult<()> {
    match &client.record.client_secret_hash {
        Some(hash) if same_secret(hash, &sha256_hex(secret)) => Ok(()),
        _ => Err(failed("client authentication failed", basic)),
    }
}

async fn secret_basic(
    state: &AppState,
    credentials: &str,
    params: &Params,
) -> OAuthResult<AuthenticatedClient> {
    let decoded = STANDARD
        .decode(credentials.trim())
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .ok_or_else(|| failed("malformed Basic credentials", true))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| failed("malformed Basic credentials", true))?;
    // RFC 6749 §2.3.1: both halves are form-urlencoded before base64.
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    let (id, secret) = (
        decode(id).unwrap_or_default(),
        decode(secret).unwrap_or_default(),
    );
    if params.get("client_id").is_some_and(|c| c != id) {
        return Err(OAuthError::invalid_request(
            "client_id differs from the authenticated client",
        ));
    }
    let client = lookup(state, &id, true).await?;
    if client.record.auth_method != ClientAuthMethod::ClientSecretBasic {
        return Err(failed(
            format!(
                "this client must authenticate with {}",
                client.record.auth_method.as_str()
            ),
            true,
        ));
    }
    check_secret(&client, &secret, true)?;
    Ok(AuthenticatedClient {
        client,
        method: ClientAuthMethod::ClientSecretBasic,
        b2b: None,
    })
}

fn audience_matches(aud: Option<&Value>, accepted: &[&str]) -> bool {
    match aud {
        Some(Value::String(a)) => accepted.contains(&a.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| accepted.contains(&a)),
        _ => false,
    }
}

/// Check a client assertion's `exp`, `nbf` and `iat` against `now`; returns how long its
/// `jti` must be remembered. Arithmetic is saturating: the claims are the client's, and an
/// overflow must not turn an absurd time into an accepted one (nor panic).
fn lifetime(jws: &Jws, now: i64) -> OAuthResult<Duration> {
    let exp = jws
        .claim_i64("exp")
        .ok_or_else(|| failed("client assertion has no exp", false))?;
    if exp.saturating_add(CLOCK_SKEW) < now {
        return Err(failed("client assertion has expired", false));
    }
    let latest = now.saturating_add(MAX_ASSERTION_LIFETIME + CLOCK_SKEW);
    if exp > latest {
        return Err(failed(
            "client assertion exp is more than 5 minutes ahead",
            false,
        ));
    }
    let not_yet = |claim| {
        jws.claim_i64(claim)
            .is_some_and(|t| t > now.saturating_add(CLOCK_SKEW))
    };
    if not_yet("nbf") || not_yet("iat") {
        return Err(failed("client assertion is not valid yet", false));
    }
    let remaining = exp.saturating_sub(now).saturating_add(CLOCK_SKEW);
    Ok(Duration::from_secs(
        u64::try_from(remaining).unwrap_or(1).max(1),
    ))
}

async fn private_key_jwt(
    state: &AppState,
    assertion: &str,
    params: &Params,
    endpoint: &str,
) -> OAuthResult<AuthenticatedClient> {
    if params.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION) {
        return Err(OAuthError::invalid_request(format!(
            "client_assertion_type must be {JWT_BEARER_ASSERTION}"
        )));
    }
    let jws = Jws::parse(assertion).map_err(|e| failed(format!("client assertion: {e}"), false))?;
    if !ASSERTION_ALGS.contains(&jws.header_str("alg").unwrap_or_default())
        || jws.alg == VerifyAlg::Ps256
    {
        return Err(failed("client assertion algorithm is not accepted", false));
    }
    let client_id = jws
        .claim_str("iss")
        .ok_or_else(|| failed("client assertion has no iss", false))?;
    if jws.claim_str("sub") != Some(client_id) {
        return Err(failed("client assertion sub must equal iss", false));
    }
    if params.get("client_id").is_some_and(|c| c != client_id) {
        return Err(OAuthError::invalid_request(
            "client_id differs from the assertion issuer",
        ));
    }
    let client = lookup(state, client_id, false).await?;
    if client.record.auth_method != ClientAuthMethod::PrivateKeyJwt {
        return Err(failed(
            format!(
                "this client must authenticate with {}",
                client.record.auth_method.as_str()
            ),
            false,
        ));
    }
    // A UDAP member proves itself with its certificate chain; others with a registered key.
    let udap_member = client.record.source == ClientSource::Udap;
    let member_key;
    let key = if udap_member {
        member_key = PreparedKey::new(
            crate::udap::assertion::member_key(state, &jws, client_id)
                .map_err(|e| failed(e, false))?,
        );
        &member_key
    } else {
        client
            .key(jws.header_str("kid"))
            .ok_or_else(|| failed("no registered key matches the client assertion", false))?
    };
    jws.verify(key)
        .map_err(|e| failed(format!("client assertion: {e}"), false))?;

    let issuer = state.config.issuer.as_str();
    let token_endpoint = state.config.endpoint("/token");
    if !audience_matches(jws.claims.get("aud"), &[issuer, &token_endpoint, endpoint]) {
        return Err(failed(
            "client assertion aud must be the issuer or the endpoint URL",
            false,
        ));
    }
    let ttl = lifetime(&jws, clock::now())?;
    let jti = jws
        .claim_str("jti")
        .ok_or_else(|| failed("client assertion has no jti", false))?;
    if jti.len() > 256 {
        return Err(failed("client assertion jti is too long", false));
    }
    let fresh = state
        .ephemeral
        .insert_new(&keys::client_assertion_jti(client_id, jti), b"1", ttl)
        .await
        .map_err(OAuthError::server_error)?;
    if !fresh {
        return Err(failed("client assertion jti was already used", false));
    }
    Ok(AuthenticatedClient {
        client,
        method: ClientAuthMethod::PrivateKeyJwt,
        b2b: udap_member
            .then(|| crate::udap::assertion::hl7_b2b(&jws))
            .flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    /// An (unsigned: only the claims matter here) assertion with `claims`.
    fn with_claims(claims: &Value) -> Jws {
        let part = |v: &Value| crate::jose::b64(v.to_string().as_bytes());
        let header = serde_json::json!({ "alg": "ES256", "typ": "JWT" });
        Jws::parse(&format!(
            "{}.{}.{}",
            part(&header),
            part(claims),
            crate::jose::b64(b"sig")
        ))
        .unwrap()
    }

    fn refusal(claims: &Value, now: i64) -> String {
        let error = lifetime(&with_claims(claims), now).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidClient, "{claims}");
        error.description
    }

    #[test]
    fn a_current_assertion_is_remembered_until_it_expires() {
        let now = clock::now();
        let ttl = lifetime(
            &with_claims(&serde_json::json!({ "exp": now + 60, "iat": now })),
            now,
        );
        assert_eq!(ttl.unwrap(), Duration::from_secs(70));
    }

    /// `exp + CLOCK_SKEW` overflowed for these (a panic in debug builds).
    #[test]
    fn absurd_times_are_refused_not_overflowed() {
        let now = clock::now();
        for exp in [i64::MAX, i64::MAX - CLOCK_SKEW + 1, i64::MAX - 1] {
            assert_eq!(
                refusal(&serde_json::json!({ "exp": exp }), now),
                "client assertion exp is more than 5 minutes ahead"
            );
        }
        assert_eq!(
            refusal(&serde_json::json!({ "exp": i64::MIN }), now),
            "client assertion has expired"
        );
        // And a server clock at the edge does not overflow either.
        for (claims, at) in [
            (serde_json::json!({ "exp": i64::MAX }), i64::MAX),
            (
                serde_json::json!({ "exp": i64::MIN, "nbf": i64::MAX }),
                i64::MIN,
            ),
        ] {
            let _ = lifetime(&with_claims(&claims), at);
        }
        assert_eq!(
            refusal(
                &serde_json::json!({ "exp": now + 60, "nbf": i64::MAX }),
                now
            ),
            "client assertion is not valid yet"
        );
    }
}
