//! Client-side JOSE for tests: client assertions, DPoP proofs, PKCE pairs, forgeries.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use glassgate_keys::{Algorithm, Signer, SoftwareSigner};
use serde_json::{Value, json};

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256_b64(value: &str) -> String {
    b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes()).as_ref())
}

pub fn now() -> i64 {
    glassgate_idp::clock::now()
}

pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    b64(&bytes)
}

/// A client's key pair.
pub struct TestKey {
    signer: SoftwareSigner,
}

impl TestKey {
    pub fn new(algorithm: Algorithm) -> Self {
        Self {
            signer: SoftwareSigner::generate(algorithm).unwrap().0,
        }
    }
    pub fn es256() -> Self {
        Self::new(Algorithm::Es256)
    }
    pub fn rs256() -> Self {
        Self::new(Algorithm::Rs256)
    }
    pub fn public_jwk(&self) -> Value {
        self.signer.public_jwk().clone()
    }
    pub fn kid(&self) -> &str {
        self.signer.kid()
    }
    pub fn alg(&self) -> &'static str {
        self.signer.algorithm().jose_name()
    }
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.public_jwk()] })
    }
    /// Sign arbitrary header and claims (the header's `alg` is set from the key).
    pub fn sign(&self, mut header: Value, claims: &Value) -> String {
        header["alg"] = json!(self.alg());
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self.signer.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64(&signature))
    }
}

/// RFC 7523 client assertion claims with sensible defaults; tests override members.
pub fn assertion_claims(client_id: &str, aud: &str) -> Value {
    let now = now();
    json!({ "iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60, "jti": random_id() })
}

pub fn assertion(key: &TestKey, claims: &Value) -> String {
    key.sign(json!({ "typ": "JWT", "kid": key.kid() }), claims)
}

/// An unsigned token (`alg: none`).
pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    )
}

/// An HS256 token keyed with `secret` (the classic "public key as HMAC secret" forgery).
pub fn hs256(claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// RFC 9449 §4.2 DPoP proof.
pub fn dpop_proof(
    key: &TestKey,
    htm: &str,
    htu: &str,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> String {
    let mut claims = json!({ "jti": random_id(), "htm": htm, "htu": htu, "iat": now() });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    if let Some(t) = access_token {
        claims["ath"] = json!(sha256_b64(t));
    }
    dpop_with_claims(key, &claims)
}

pub fn dpop_with_claims(key: &TestKey, claims: &Value) -> String {
    key.sign(
        json!({ "typ": "dpop+jwt", "jwk": key.public_jwk() }),
        claims,
    )
}

pub fn jwk_thumbprint(key: &TestKey) -> String {
    glassgate_keys::jwk_thumbprint(&key.public_jwk()).unwrap()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = format!("{}{}", random_id(), random_id());
    let challenge = sha256_b64(&verifier);
    (verifier, challenge)
}

/// Decode a JWT's claims without verifying (for assertions about what we received).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

impl TestKey {
    pub fn from_signer(signer: SoftwareSigner) -> Self {
        Self { signer }
    }
}
