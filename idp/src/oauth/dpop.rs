//! DPoP (RFC 9449): proof validation (§4.3), server nonces (§8) and the `jkt` binding.
//!
//! Nonces are stateless: a time window and an HMAC under a key every replica derives from
//! the shared key-encryption key, so any replica accepts a nonce another one issued.

use std::time::Duration;

use aws_lc_rs::hmac;
use axum::http::{HeaderMap, HeaderValue};

use crate::clock;
use crate::ephemeral::{EphemeralStore, keys};
use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::jose::{Jws, PublicKey, b64, unb64};

/// A verified proof: the thumbprint of the key it was signed with.
#[derive(Debug, Clone)]
pub struct DpopProof {
    pub jkt: String,
}

pub struct DpopVerifier {
    nonce_key: hmac::Key,
    pub nonce_required: bool,
    window: i64,
    max_age: i64,
}

/// What the proof must match.
pub struct Expected<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// The access token presented with the proof (resource requests): checked against `ath`.
    pub access_token: Option<&'a str>,
    pub require_nonce: bool,
}

impl DpopVerifier {
    pub fn new(nonce_secret: &[u8], settings: &crate::config::DpopSettings) -> Self {
        Self {
            nonce_key: hmac::Key::new(hmac::HMAC_SHA256, nonce_secret),
            nonce_required: settings.nonce_required,
            window: settings.nonce_window_secs.max(10),
            max_age: settings.max_proof_age_secs.max(5),
        }
    }

    fn nonce_for(&self, window: i64) -> String {
        let counter = window.to_be_bytes();
        let tag = hmac::sign(&self.nonce_key, &counter);
        let mut raw = counter.to_vec();
        raw.extend_from_slice(tag.as_ref().get(..16).unwrap_or_default());
        b64(&raw)
    }

    /// The nonce to hand out now (`DPoP-Nonce` header).
    pub fn current_nonce(&self) -> String {
        self.nonce_for(clock::now() / self.window)
    }

    /// Offer the current nonce on the `response` to a `request` that carried a DPoP proof
    /// (§8), unless the response names one already.
    pub fn offer_nonce(&self, request: &HeaderMap, response: &mut HeaderMap) {
        if request.contains_key("dpop")
            && !response.contains_key("dpop-nonce")
            && let Ok(nonce) = HeaderValue::from_str(&self.current_nonce())
        {
            response.insert("dpop-nonce", nonce);
        }
    }

    fn nonce_is_valid(&self, nonce: &str) -> bool {
        let Ok(raw) = unb64(nonce) else { return false };
        let Some(counter) = raw.get(..8).and_then(|c| <[u8; 8]>::try_from(c).ok()) else {
            return false;
        };
        let window = i64::from_be_bytes(counter);
        let current = clock::now() / self.window;
        (window == current || window == current - 1)
            && super::same_secret(&self.nonce_for(window), nonce)
    }

    fn refuse(&self, description: impl Into<String>) -> OAuthError {
        OAuthError::invalid_dpop_proof(description)
    }

    /// Validate the `DPoP` header of a request, if any. `Ok(None)` when no proof was sent.
    pub async fn check(
        &self,
        headers: &HeaderMap,
        expected: &Expected<'_>,
        replay: &dyn EphemeralStore,
    ) -> OAuthResult<Option<DpopProof>> {
        let mut values = headers.get_all("dpop").iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(self.refuse("more than one DPoP header"));
        }
        let proof = value
            .to_str()
            .map_err(|_| self.refuse("DPoP header is not ASCII"))?;
        let jws = Jws::parse(proof).map_err(|e| self.refuse(format!("DPoP proof: {e}")))?;
        if jws.header_str("typ") != Some("dpop+jwt") {
            return Err(self.refuse("DPoP proof typ must be dpop+jwt"));
        }
        let jwk = jws
            .header
            .get("jwk")
            .ok_or_else(|| self.refuse("DPoP proof has no jwk header"))?;
        let key =
            PublicKey::from_jwk(jwk).map_err(|e| self.refuse(format!("DPoP proof jwk: {e}")))?;
        jws.verify(&key)
            .map_err(|e| self.refuse(format!("DPoP proof: {e}")))?;

        if jws.claim_str("htm") != Some(expected.method) {
            return Err(self.refuse("DPoP proof htm does not match the request method"));
        }
        if !htu_matches(jws.claim_str("htu"), expected.url) {
            return Err(self.refuse("DPoP proof htu does not match the request URL"));
        }
        let now = clock::now();
        let iat = jws
            .claim_i64("iat")
            .ok_or_else(|| self.refuse("DPoP proof has no iat"))?;
        // abs_diff: `now - iat` overflows for an absurd iat, and the wrapped value passed.
        if now.abs_diff(iat) > self.max_age.unsigned_abs() {
            return Err(self.refuse("DPoP proof iat is outside the accepted window"));
        }
        let jti = jws
            .claim_str("jti")
            .ok_or_else(|| self.refuse("DPoP proof has no jti"))?;
        if jti.len() > 256 {
            return Err(self.refuse("DPoP proof jti is too long"));
        }
        match (expected.access_token, jws.claim_str("ath")) {
            (Some(token), Some(ath)) => {
                let digest =
                    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
                if !super::same_secret(&b64(digest.as_ref()), ath) {
                    return Err(self.refuse("DPoP proof ath does not match the access token"));
                }
            }
            (Some(_), None) => return Err(self.refuse("DPoP proof has no ath")),
            (None, _) => {}
        }
        if expected.require_nonce {
            let nonce_ok = jws
                .claim_str("nonce")
                .is_some_and(|n| self.nonce_is_valid(n));
            if !nonce_ok {
                return Err(OAuthError::new(
                    ErrorCode::UseDpopNonce,
                    "a fresh DPoP nonce is required",
                )
                .with_dpop_nonce(self.current_nonce()));
            }
        }
        let jkt = glassgate_keys::jwk_thumbprint(jwk).map_err(|_| self.refuse("DPoP proof jwk"))?;
        let ttl = Duration::from_secs(u64::try_from(self.max_age.saturating_mul(2)).unwrap_or(120));
        let fresh = replay
            .insert_new(&keys::dpop_jti(&jkt, jti), b"1", ttl)
            .await
            .map_err(OAuthError::server_error)?;
        if !fresh {
            return Err(self.refuse("DPoP proof was already used"));
        }
        Ok(Some(DpopProof { jkt }))
    }
}

/// RFC 9449 §4.3: compare without query and fragment, after normalisation (RFC 3986 §6).
fn htu_matches(htu: Option<&str>, expected: &str) -> bool {
    let Some(htu) = htu.and_then(|h| url::Url::parse(h).ok()) else {
        return false;
    };
    let Ok(expected) = url::Url::parse(expected) else {
        return false;
    };
    let strip = |mut u: url::Url| {
        u.set_query(None);
        u.set_fragment(None);
        u
    };
    strip(htu) == strip(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> DpopVerifier {
        DpopVerifier::new(
            b"0123456789abcdef0123456789abcdef",
            &crate::config::DpopSettings::default(),
        )
    }

    #[test]
    fn nonces_verify_and_forgeries_do_not() {
        let v = verifier();
        assert!(v.nonce_is_valid(&v.current_nonce()));
        assert!(!v.nonce_is_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        assert!(!v.nonce_is_valid("not base64!"));
        let other = DpopVerifier::new(
            b"another secret of thirty-two by.",
            &crate::config::DpopSettings::default(),
        );
        assert!(!v.nonce_is_valid(&other.current_nonce()));
    }

    /// A proof signed by a fresh key, for `POST https://as.example/token`, with `iat`.
    fn proof_at(iat: i64) -> HeaderMap {
        use glassgate_keys::{Algorithm, Signer, SoftwareSigner};
        let (signer, _) = SoftwareSigner::generate(Algorithm::Es256).unwrap();
        let header = serde_json::json!({
            "typ": "dpop+jwt", "alg": "ES256", "jwk": signer.public_jwk(),
        });
        let claims = serde_json::json!({
            "jti": "j1", "htm": "POST", "htu": "https://as.example/token", "iat": iat,
        });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = signer.sign(input.as_bytes()).unwrap();
        let mut headers = HeaderMap::new();
        let proof = format!("{input}.{}", b64(&signature));
        headers.insert("dpop", proof.parse().unwrap());
        headers
    }

    async fn check_at(iat: i64) -> OAuthResult<Option<DpopProof>> {
        let expected = Expected {
            method: "POST",
            url: "https://as.example/token",
            access_token: None,
            require_nonce: false,
        };
        let replay = crate::ephemeral::MemoryStore::new();
        verifier().check(&proof_at(iat), &expected, &replay).await
    }

    #[tokio::test]
    async fn iat_window_accepts_now_only() {
        assert!(check_at(clock::now()).await.unwrap().is_some());
        let stale = check_at(clock::now() - 3600).await.unwrap_err();
        assert_eq!(stale.code, ErrorCode::InvalidDpopProof);
    }

    /// `now - iat` once wrapped for these (release builds accepted them, debug ones panicked).
    #[tokio::test]
    async fn absurd_iat_is_refused_not_wrapped() {
        let now = clock::now();
        for iat in [i64::MIN + now, i64::MIN, i64::MAX, i64::MIN + now + 1] {
            let error = check_at(iat).await.unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidDpopProof, "iat {iat}");
            assert_eq!(
                error.description, "DPoP proof iat is outside the accepted window",
                "iat {iat}"
            );
        }
    }

    #[test]
    fn htu_ignores_query_and_fragment_only() {
        assert!(htu_matches(
            Some("https://as.example/token?x=1#f"),
            "https://as.example/token"
        ));
        assert!(htu_matches(
            Some("HTTPS://AS.example:443/token"),
            "https://as.example/token"
        ));
        assert!(!htu_matches(
            Some("https://as.example/other"),
            "https://as.example/token"
        ));
        assert!(!htu_matches(None, "https://as.example/token"));
    }
}
