//! Decoding wallet answers into DeviceResponse bytes: `direct_post` forms, `direct_post.jwt`
//! (a JWE, ECDH-ES with our ephemeral P-256 key, A128GCM or A256GCM), and the Digital
//! Credentials API result (`{"protocol": …, "data": {…}}`).

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::dcql::CREDENTIAL_QUERY_ID;
use crate::request::EphemeralKey;

/// Largest form or JWE accepted.
pub const MAX_RESPONSE_LEN: usize = 2 << 20;

/// Why a wallet answer could not be decoded (before any mdoc verification).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    #[error("missing parameter {0}")]
    MissingParameter(&'static str),
    #[error("parameter {0} given twice")]
    DuplicateParameter(String),
    #[error("wallet returned an error: {0}")]
    WalletError(String),
    #[error("the response is not encrypted but the request asked for direct_post.jwt")]
    NotEncrypted,
    #[error("the response is encrypted but no decryption key is configured")]
    NoDecryptionKey,
    #[error("JWE rejected: {0}")]
    Jwe(String),
    #[error("JWE rejected: compressed (\"zip\"), which OpenID4VP responses never are")]
    JweCompressed,
    #[error("state does not match the request")]
    StateMismatch,
    #[error("vp_token malformed: {0}")]
    VpToken(String),
    #[error("DeviceResponse is not base64url")]
    Base64,
    #[error("unsupported Digital Credentials API protocol {0:?}")]
    Protocol(String),
}

/// The decoded answer.
#[derive(Debug, Clone)]
pub struct WalletResponse {
    /// The DeviceResponse CBOR bytes of our credential query.
    pub device_response: Vec<u8>,
    pub state: Option<String>,
    /// Whether it arrived encrypted.
    pub encrypted: bool,
}

fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ResponseError> {
    if body.len() > MAX_RESPONSE_LEN {
        return Err(ResponseError::TooLarge(MAX_RESPONSE_LEN));
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(body) {
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(ResponseError::DuplicateParameter(k.into_owned()));
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Decodes a `direct_post` or `direct_post.jwt` form body. With `key` set, the form must
/// carry `response` (a JWE); without it, `vp_token` and `state` in clear.
/// `expected_state` is compared with the returned `state`.
pub fn decode_form(
    body: &[u8],
    key: Option<&EphemeralKey>,
    expected_state: &str,
) -> Result<WalletResponse, ResponseError> {
    let pairs = form_pairs(body)?;
    if let Some(err) = param(&pairs, "error") {
        let desc = param(&pairs, "error_description").unwrap_or_default();
        return Err(ResponseError::WalletError(
            format!("{err} {desc}").trim().to_owned(),
        ));
    }
    let (payload, encrypted) = match (param(&pairs, "response"), key) {
        (Some(jwe), Some(k)) => (decrypt(jwe, k)?, true),
        (Some(_), None) => return Err(ResponseError::NoDecryptionKey),
        (None, Some(_)) => return Err(ResponseError::NotEncrypted),
        (None, None) => {
            let vp =
                param(&pairs, "vp_token").ok_or(ResponseError::MissingParameter("vp_token"))?;
            let vp: Value =
                serde_json::from_str(vp).map_err(|e| ResponseError::VpToken(e.to_string()))?;
            let mut obj = serde_json::Map::new();
            obj.insert("vp_token".into(), vp);
            if let Some(s) = param(&pairs, "state") {
                obj.insert("state".into(), Value::String(s.to_owned()));
            }
            (Value::Object(obj), false)
        }
    };
    let state = payload
        .get("state")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if state.as_deref() != Some(expected_state) {
        return Err(ResponseError::StateMismatch);
    }
    let vp = payload
        .get("vp_token")
        .ok_or(ResponseError::MissingParameter("vp_token"))?;
    Ok(WalletResponse {
        device_response: device_response_from_vp_token(vp)?,
        state,
        encrypted,
    })
}

/// The protected header of a compact JWE, read before any decryption.
fn protected_header(jwe: &str) -> Result<serde_json::Map<String, Value>, ResponseError> {
    let b64 = jwe.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| ResponseError::Jwe("protected header is not base64url".into()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(header)) => Ok(header),
        _ => Err(ResponseError::Jwe(
            "protected header is not a JSON object".into(),
        )),
    }
}

/// Decrypts a compact JWE (ECDH-ES, A128GCM/A256GCM) and parses its JSON payload.
pub fn decrypt(jwe: &str, key: &EphemeralKey) -> Result<Value, ResponseError> {
    use josekit::jwe::ECDH_ES;
    if jwe.len() > MAX_RESPONSE_LEN {
        return Err(ResponseError::TooLarge(MAX_RESPONSE_LEN));
    }
    // josekit inflates "zip":"DEF" without a size limit (a decompression bomb); OpenID4VP
    // never compresses, so refuse before decrypting.
    if protected_header(jwe)?.contains_key("zip") {
        return Err(ResponseError::JweCompressed);
    }
    let decrypter = ECDH_ES
        .decrypter_from_der(&key.pkcs8)
        .map_err(|e| ResponseError::Jwe(e.to_string()))?;
    let (payload, header) = josekit::jwe::deserialize_compact(jwe, &decrypter)
        .map_err(|e| ResponseError::Jwe(e.to_string()))?;
    if header.algorithm() != Some("ECDH-ES") {
        return Err(ResponseError::Jwe("alg must be ECDH-ES".into()));
    }
    match header.content_encryption() {
        Some("A128GCM" | "A256GCM") => {}
        other => return Err(ResponseError::Jwe(format!("enc {other:?} not allowed"))),
    }
    serde_json::from_slice(&payload).map_err(|e| ResponseError::Jwe(format!("payload: {e}")))
}

/// `vp_token` per DCQL: `{"mdl": ["<base64url DeviceResponse>"]}`; exactly one presentation.
pub fn device_response_from_vp_token(vp: &Value) -> Result<Vec<u8>, ResponseError> {
    let obj = vp
        .as_object()
        .ok_or_else(|| ResponseError::VpToken("not an object".into()))?;
    if obj.len() != 1 {
        return Err(ResponseError::VpToken(format!(
            "{} credential answers, expected 1",
            obj.len()
        )));
    }
    let entry = obj
        .get(CREDENTIAL_QUERY_ID)
        .ok_or_else(|| ResponseError::VpToken(format!("no answer for {CREDENTIAL_QUERY_ID:?}")))?;
    let b64 = match entry {
        Value::Array(a) if a.len() == 1 => a[0].as_str(),
        Value::Array(a) => {
            return Err(ResponseError::VpToken(format!(
                "{} presentations, expected 1",
                a.len()
            )));
        }
        _ => None,
    }
    .ok_or_else(|| ResponseError::VpToken("presentation is not a string".into()))?;
    decode_b64url(b64)
}

/// base64url with or without padding.
pub fn decode_b64url(s: &str) -> Result<Vec<u8>, ResponseError> {
    let s = s.trim();
    if s.ends_with('=') {
        URL_SAFE.decode(s)
    } else {
        URL_SAFE_NO_PAD.decode(s)
    }
    .map_err(|_| ResponseError::Base64)
}

/// Decodes a Digital Credentials API result: `{"protocol": "openid4vp-v1-unsigned" |
/// "openid4vp-v1-signed" | "openid4vp-v1-multisigned", "data": {"vp_token": …}}` or, for
/// `dc_api.jwt`, `"data": {"response": "<JWE>"}`. There is no `state` on the DC API.
pub fn decode_dc_api(
    result: &Value,
    key: Option<&EphemeralKey>,
) -> Result<WalletResponse, ResponseError> {
    let protocol = result
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !matches!(
        protocol,
        "openid4vp-v1-unsigned" | "openid4vp-v1-signed" | "openid4vp-v1-multisigned"
    ) {
        return Err(ResponseError::Protocol(protocol.to_owned()));
    }
    let data = result
        .get("data")
        .ok_or(ResponseError::MissingParameter("data"))?;
    let (payload, encrypted) = match (data.get("response").and_then(Value::as_str), key) {
        (Some(jwe), Some(k)) => (decrypt(jwe, k)?, true),
        (Some(_), None) => return Err(ResponseError::NoDecryptionKey),
        (None, Some(_)) => return Err(ResponseError::NotEncrypted),
        (None, None) => (data.clone(), false),
    };
    let vp = payload
        .get("vp_token")
        .ok_or(ResponseError::MissingParameter("vp_token"))?;
    Ok(WalletResponse {
        device_response: device_response_from_vp_token(vp)?,
        state: None,
        encrypted,
    })
}
