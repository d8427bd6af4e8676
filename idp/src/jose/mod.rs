//! The small JWS layer (compact serialisation only) over aws-lc-rs: parse and verify what
//! clients send (client assertions, DPoP proofs), sign what we issue (tokens).
//!
//! Only asymmetric algorithms exist here: `none` and HMAC are refused at parse time, so
//! an attacker cannot "sign" with our published public key as an HMAC secret.

mod jwk;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use glassgate_keys::Signer;
use serde::Serialize;
use serde_json::{Map, Value};

pub use jwk::{PreparedKey, PublicKey, VerifyAlg, VerifyingKey, select, select_position};

/// Largest compact JWS we parse: generous for a client assertion with an `x5c` chain.
pub const MAX_JWS_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    #[error("JWS algorithm {0} is not accepted")]
    UnsupportedAlgorithm(String),
    #[error("unusable JWK: {0}")]
    BadKey(&'static str),
    #[error("JWS algorithm does not match the key")]
    KeyMismatch,
    #[error("JWS signature does not verify")]
    BadSignature,
    #[error("signing failed: {0}")]
    Signing(String),
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(s: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| JoseError::Malformed("bad base64url"))
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Jws {
    pub header: Map<String, Value>,
    pub alg: VerifyAlg,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jws {
    /// Parse `header.payload.signature`; the payload must be a JSON object.
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        if token.len() > MAX_JWS_LEN {
            return Err(JoseError::Malformed("too long"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed("not three dot-separated parts"));
        };
        let header: Map<String, Value> = serde_json::from_slice(&unb64(h)?)
            .map_err(|_| JoseError::Malformed("header is not a JSON object"))?;
        let alg_name = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JoseError::Malformed("header has no alg"))?;
        let alg = VerifyAlg::from_name(alg_name)
            .ok_or_else(|| JoseError::UnsupportedAlgorithm(alg_name.to_owned()))?;
        if header.contains_key("crit") {
            // We understand no critical extensions (RFC 7515 §4.1.11).
            return Err(JoseError::Malformed("unsupported crit header"));
        }
        let claims: Map<String, Value> = serde_json::from_slice(&unb64(p)?)
            .map_err(|_| JoseError::Malformed("payload is not a JSON object"))?;
        let signature = unb64(s)?;
        let signing_input_len = h.len() + 1 + p.len();
        Ok(Self {
            header,
            alg,
            claims,
            signing_input: token
                .get(..signing_input_len)
                .unwrap_or_default()
                .to_owned(),
            signature,
        })
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }

    pub fn verify(&self, key: &impl VerifyingKey) -> Result<(), JoseError> {
        key.verify(self.alg, self.signing_input.as_bytes(), &self.signature)
    }
}

/// Sign `claims` as a compact JWS with `signer`; `typ` names the token type (`at+jwt`, `JWT`).
pub fn sign(signer: &dyn Signer, typ: &str, claims: &impl Serialize) -> Result<String, JoseError> {
    #[derive(Serialize)]
    struct Header<'a> {
        alg: &'a str,
        typ: &'a str,
        kid: &'a str,
    }
    let header = Header {
        alg: signer.algorithm().jose_name(),
        typ,
        kid: signer.kid(),
    };
    let header = serde_json::to_vec(&header).map_err(|e| JoseError::Signing(e.to_string()))?;
    let payload = serde_json::to_vec(claims).map_err(|e| JoseError::Signing(e.to_string()))?;
    let mut token = String::with_capacity(header.len() * 2 + payload.len() * 2 + 100);
    token.push_str(&b64(&header));
    token.push('.');
    token.push_str(&b64(&payload));
    let signature = signer
        .sign(token.as_bytes())
        .map_err(|e| JoseError::Signing(e.to_string()))?;
    token.push('.');
    token.push_str(&b64(&signature));
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassgate_keys::{Algorithm, SoftwareSigner};
    use serde_json::json;

    fn signed(alg: Algorithm) -> (String, PublicKey) {
        let (signer, _) = SoftwareSigner::generate(alg).unwrap();
        let token = sign(&signer, "JWT", &json!({"sub": "x"})).unwrap();
        (token, PublicKey::from_jwk(signer.public_jwk()).unwrap())
    }

    #[test]
    fn round_trips_every_signing_algorithm() {
        for alg in [Algorithm::Es256, Algorithm::Rs256, Algorithm::EdDsa] {
            let (token, key) = signed(alg);
            let jws = Jws::parse(&token).unwrap();
            jws.verify(&key).unwrap();
            assert_eq!(jws.claim_str("sub"), Some("x"));
        }
    }

    #[test]
    fn a_prepared_key_verifies_as_the_key_it_was_made_from() {
        for alg in [Algorithm::Es256, Algorithm::Rs256, Algorithm::EdDsa] {
            let (token, key) = signed(alg);
            let (_, other) = signed(alg);
            let jws = Jws::parse(&token).unwrap();
            let prepared = PreparedKey::new(key.clone());
            jws.verify(&prepared).unwrap();
            assert_eq!(
                jws.verify(&PreparedKey::new(other)).unwrap_err(),
                JoseError::BadSignature
            );
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = b64(br#"{"sub":"y"}"#);
            parts[1] = &forged;
            let forged = Jws::parse(&parts.join(".")).unwrap();
            assert_eq!(
                forged.verify(&prepared).unwrap_err(),
                JoseError::BadSignature
            );
        }
        // Parsed for ES256, a P-256 key still refuses a token that claims another algorithm.
        let (_, p256) = signed(Algorithm::Es256);
        let (rsa_token, _) = signed(Algorithm::Rs256);
        assert_eq!(
            Jws::parse(&rsa_token)
                .unwrap()
                .verify(&PreparedKey::new(p256))
                .unwrap_err(),
            JoseError::KeyMismatch
        );
    }

    #[test]
    fn refuses_none_and_hmac() {
        let h = b64(br#"{"alg":"none"}"#);
        let p = b64(br#"{"sub":"x"}"#);
        assert_eq!(
            Jws::parse(&format!("{h}.{p}.")).unwrap_err(),
            JoseError::UnsupportedAlgorithm("none".into())
        );
        let h = b64(br#"{"alg":"HS256"}"#);
        assert!(matches!(
            Jws::parse(&format!("{h}.{p}.AAAA")),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn refuses_malformed_tokens() {
        for bad in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "!!.e30.AA",
            "e30.!!.AA",
            "W10.e30.AA",
            "e30.W10.AA",
        ] {
            assert!(Jws::parse(bad).is_err(), "{bad:?} must not parse");
        }
        assert_eq!(
            Jws::parse(&"a".repeat(MAX_JWS_LEN + 1)).unwrap_err(),
            JoseError::Malformed("too long")
        );
    }

    #[test]
    fn detects_tampering_and_wrong_keys() {
        let (token, key) = signed(Algorithm::Es256);
        let (_, other) = signed(Algorithm::Es256);
        let jws = Jws::parse(&token).unwrap();
        assert_eq!(jws.verify(&other).unwrap_err(), JoseError::BadSignature);
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64(br#"{"sub":"y"}"#);
        parts[1] = &forged;
        let jws = Jws::parse(&parts.join(".")).unwrap();
        assert_eq!(jws.verify(&key).unwrap_err(), JoseError::BadSignature);
        let (rsa_token, _) = signed(Algorithm::Rs256);
        assert_eq!(
            Jws::parse(&rsa_token).unwrap().verify(&key).unwrap_err(),
            JoseError::KeyMismatch
        );
    }
}
