//! OpenID4VP 1.0 authorization requests for an mDL: the ephemeral response-encryption key,
//! the request object claims (signed with an x5c chain, `x509_san_dns` client identifier),
//! the wallet invocation URL, the DC API request, and the transcript the request implies.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::claims::RequestedElements;
use crate::transcript::{self, SessionTranscript, ec_jwk_thumbprint};

/// Errors building or signing a request.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("key: {0}")]
    Key(String),
    #[error("signing: {0}")]
    Signing(String),
}

/// How the wallet returns the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// `direct_post`: a form POST with `vp_token` and `state` in clear (TLS only).
    DirectPost,
    /// `direct_post.jwt`: the form carries `response`, a JWE to our ephemeral key.
    DirectPostJwt,
}

impl ResponseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectPost => "direct_post",
            Self::DirectPostJwt => "direct_post.jwt",
        }
    }
}

/// The client identifier with its prefix (OpenID4VP 1.0 §5.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientId {
    /// `x509_san_dns:<dns name>`: the request object is signed by a certificate with that SAN.
    X509SanDns(String),
    /// `redirect_uri:<uri>`: unsigned requests, development only.
    RedirectUri(String),
}

impl ClientId {
    /// The `client_id` parameter value, prefix included.
    pub fn value(&self) -> String {
        match self {
            Self::X509SanDns(dns) => format!("x509_san_dns:{dns}"),
            Self::RedirectUri(uri) => format!("redirect_uri:{uri}"),
        }
    }
}

/// An ephemeral P-256 ECDH-ES key for `direct_post.jwt` (one per request).
#[derive(Clone)]
pub struct EphemeralKey {
    /// PKCS#8 private key (keep server-side with the request state).
    pub pkcs8: Vec<u8>,
    pub kid: String,
    x: String,
    y: String,
}

impl std::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EphemeralKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl EphemeralKey {
    /// Generates a fresh key.
    pub fn generate() -> Result<Self, RequestError> {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|e| RequestError::Key(e.to_string()))?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Restores a key from its PKCS#8 (e.g. from the request state store).
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, RequestError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map_err(|e| RequestError::Key(e.to_string()))?;
        let point = pair.public_key().as_ref();
        if point.len() != 65 {
            return Err(RequestError::Key("not an uncompressed P-256 point".into()));
        }
        let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
        let y = URL_SAFE_NO_PAD.encode(&point[33..]);
        let tp = ec_jwk_thumbprint("P-256", &x, &y);
        Ok(Self {
            pkcs8: pkcs8.to_vec(),
            kid: URL_SAFE_NO_PAD.encode(&tp[..12]),
            x,
            y,
        })
    }

    /// The public JWK published in `client_metadata.jwks`.
    pub fn public_jwk(&self) -> Value {
        json!({ "kty": "EC", "crv": "P-256", "x": self.x, "y": self.y, "use": "enc", "alg": "ECDH-ES", "kid": self.kid })
    }

    /// RFC 7638 thumbprint (goes into the SessionTranscript for encrypted responses).
    pub fn thumbprint(&self) -> [u8; 32] {
        ec_jwk_thumbprint("P-256", &self.x, &self.y)
    }
}

/// Everything that defines one presentation request (keep it as the server-side state).
#[derive(Debug, Clone)]
pub struct RequestParams {
    pub client_id: ClientId,
    pub response_mode: ResponseMode,
    /// Where the wallet POSTs (`response_uri`).
    pub response_uri: String,
    pub nonce: String,
    pub state: String,
    pub requested: RequestedElements,
    /// Present for `direct_post.jwt`.
    pub encryption_key: Option<EphemeralKey>,
}

/// `vp_formats_supported` for mso_mdoc: ES256, ES384, ES512 issuer and device signatures.
pub fn vp_formats_supported() -> Value {
    json!({ "mso_mdoc": { "issuerauth_alg_values": [-7, -35, -36], "deviceauth_alg_values": [-7, -35, -36] } })
}

impl RequestParams {
    /// `client_metadata` (encryption key and supported formats).
    pub fn client_metadata(&self) -> Value {
        let mut m = json!({ "vp_formats_supported": vp_formats_supported() });
        if let Some(k) = &self.encryption_key {
            m["jwks"] = json!({ "keys": [k.public_jwk()] });
            m["encrypted_response_enc_values_supported"] = json!(["A128GCM", "A256GCM"]);
        }
        m
    }

    /// The request object claims (OpenID4VP 1.0 §5, JAR RFC 9101).
    pub fn claims(&self, issued_at: time::OffsetDateTime) -> Value {
        let iat = issued_at.unix_timestamp();
        json!({
            "iss": self.client_id.value(),
            "aud": "https://self-issued.me/v2",
            "iat": iat,
            "exp": iat + 300,
            "client_id": self.client_id.value(),
            "response_type": "vp_token",
            "response_mode": self.response_mode.as_str(),
            "response_uri": self.response_uri,
            "nonce": self.nonce,
            "state": self.state,
            "dcql_query": crate::dcql::query(&self.requested),
            "client_metadata": self.client_metadata(),
        })
    }

    /// The SessionTranscript a correct wallet signs for this request.
    pub fn transcript(&self) -> SessionTranscript {
        let tp = self.encryption_key.as_ref().map(EphemeralKey::thumbprint);
        transcript::oid4vp(
            &self.client_id.value(),
            &self.nonce,
            tp.as_ref().map(|t| t.as_slice()),
            &self.response_uri,
        )
    }

    /// The wallet invocation URL (`openid4vp://?client_id=…&request_uri=…`), for the QR code
    /// or a same-device link. `scheme` e.g. `openid4vp://` or `mdoc-openid4vp://`.
    pub fn invocation_url(&self, scheme: &str, request_uri: &str) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("client_id", &self.client_id.value());
        s.append_pair("request_uri", request_uri);
        format!("{scheme}?{}", s.finish())
    }

    /// The `digital` member for `navigator.credentials.get` (OpenID4VP 1.0 Appendix A,
    /// unsigned request). The transcript is then [`transcript::oid4vp_dc_api`] with the
    /// page's origin.
    pub fn dc_api_request(&self) -> Value {
        let mode = if self.encryption_key.is_some() {
            "dc_api.jwt"
        } else {
            "dc_api"
        };
        json!({
            "requests": [{
                "protocol": "openid4vp-v1-unsigned",
                "data": {
                    "response_type": "vp_token",
                    "response_mode": mode,
                    "nonce": self.nonce,
                    "dcql_query": crate::dcql::query(&self.requested),
                    "client_metadata": self.client_metadata(),
                }
            }]
        })
    }
}

impl RequestParams {
    /// Claims of a signed DC API request (`openid4vp-v1-signed`): sign them with
    /// [`sign_request_object`] and send `{"protocol": "openid4vp-v1-signed", "data":
    /// {"request": <jws>}}`. The transcript is still [`transcript::oid4vp_dc_api`] with the
    /// page's origin.
    pub fn dc_api_signed_claims(
        &self,
        expected_origins: &[String],
        issued_at: time::OffsetDateTime,
    ) -> Value {
        let iat = issued_at.unix_timestamp();
        let mode = if self.encryption_key.is_some() {
            "dc_api.jwt"
        } else {
            "dc_api"
        };
        json!({
            "iat": iat,
            "exp": iat + 300,
            "client_id": self.client_id.value(),
            "expected_origins": expected_origins,
            "response_type": "vp_token",
            "response_mode": mode,
            "nonce": self.nonce,
            "dcql_query": crate::dcql::query(&self.requested),
            "client_metadata": self.client_metadata(),
        })
    }
}

/// Signs request object claims as a compact JWS (ES256, `typ: oauth-authz-req+jwt`, `x5c`).
/// `signing_key_pkcs8` is a P-256 PKCS#8 key whose certificate is `x5c[0]`.
pub fn sign_request_object(
    claims: &Value,
    signing_key_pkcs8: &[u8],
    x5c: &[Vec<u8>],
) -> Result<String, RequestError> {
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, signing_key_pkcs8)
        .map_err(|e| RequestError::Key(e.to_string()))?;
    let header = json!({
        "alg": "ES256",
        "typ": "oauth-authz-req+jwt",
        "x5c": x5c.iter().map(|c| STANDARD.encode(c)).collect::<Vec<_>>(),
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = pair
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .map_err(|e| RequestError::Signing(e.to_string()))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(sig.as_ref())
    ))
}

/// A development certificate for `x509_san_dns:<dns_name>`: self-signed P-256 with the DNS
/// SAN. Returns `(certificate DER, PKCS#8 key)`. Never for production.
#[cfg(feature = "dev-cert")]
pub fn dev_certificate(dns_name: &str) -> Result<(Vec<u8>, Vec<u8>), RequestError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| RequestError::Key(e.to_string()))?;
    let mut params = rcgen::CertificateParams::new(vec![dns_name.to_owned()])
        .map_err(|e| RequestError::Key(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, dns_name);
    let cert = params
        .self_signed(&key)
        .map_err(|e| RequestError::Signing(e.to_string()))?;
    Ok((cert.der().to_vec(), key.serialize_der()))
}
