//! The test wallet's OpenID4VP side: read a request object, build the transcript the
//! wallet signs, and answer with `direct_post`, `direct_post.jwt` or a DC API result.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::issuer::Credential;
use super::pki::PkiError;
use crate::dcql::{CREDENTIAL_QUERY_ID, requested_from_query};
use crate::transcript::{self, SessionTranscript, jwk_thumbprint};

/// A form POST the wallet sends to `response_uri`.
#[derive(Debug, Clone)]
pub struct WalletPost {
    pub response_uri: String,
    /// `application/x-www-form-urlencoded` body.
    pub form_body: String,
}

fn err(s: impl Into<String>) -> PkiError {
    PkiError(s.into())
}

/// Decodes the claims of a compact JWS request object (the test wallet does not verify
/// the signature; production wallets do).
pub fn request_object_claims(jws: &str) -> Result<Value, PkiError> {
    let payload = jws
        .split('.')
        .nth(1)
        .ok_or_else(|| err("not a compact JWS"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| err(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))
}

fn str_claim<'a>(claims: &'a Value, name: &str) -> Result<&'a str, PkiError> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| err(format!("request lacks {name}")))
}

fn encryption_jwk(claims: &Value) -> Option<&Value> {
    claims
        .get("client_metadata")?
        .get("jwks")?
        .get("keys")?
        .as_array()?
        .first()
}

/// The transcript a wallet computes from request object claims (OpenID4VP 1.0 B.2.6.1).
pub fn transcript_for_claims(claims: &Value) -> Result<SessionTranscript, PkiError> {
    let encrypted = str_claim(claims, "response_mode")? == "direct_post.jwt";
    let tp = if encrypted {
        Some(
            encryption_jwk(claims)
                .and_then(jwk_thumbprint)
                .ok_or_else(|| err("no EC encryption key"))?,
        )
    } else {
        None
    };
    Ok(transcript::oid4vp(
        str_claim(claims, "client_id")?,
        str_claim(claims, "nonce")?,
        tp.as_ref().map(|t| t.as_slice()),
        str_claim(claims, "response_uri")?,
    ))
}

/// The `vp_token` value for one DeviceResponse.
pub fn vp_token(device_response: &[u8]) -> Value {
    json!({ CREDENTIAL_QUERY_ID: [URL_SAFE_NO_PAD.encode(device_response)] })
}

/// Encrypts a JSON payload to the verifier's JWK (ECDH-ES, `enc`).
pub fn encrypt_to(jwk: &Value, payload: &Value, enc: &str) -> Result<String, PkiError> {
    use josekit::jwe::{ECDH_ES, JweHeader};
    let key = josekit::jwk::Jwk::from_bytes(jwk.to_string()).map_err(|e| err(e.to_string()))?;
    let encrypter = ECDH_ES
        .encrypter_from_jwk(&key)
        .map_err(|e| err(e.to_string()))?;
    let mut header = JweHeader::new();
    header.set_content_encryption(enc);
    if let Some(kid) = jwk.get("kid").and_then(Value::as_str) {
        header.set_key_id(kid);
    }
    josekit::jwe::serialize_compact(payload.to_string().as_bytes(), &header, &encrypter)
        .map_err(|e| err(e.to_string()))
}

/// Answers request object claims with `cred`, disclosing what the DCQL query asks for.
/// Returns the form POST (encrypted for `direct_post.jwt`).
pub fn answer(cred: &Credential, claims: &Value) -> Result<WalletPost, PkiError> {
    let requested = claims
        .get("dcql_query")
        .and_then(requested_from_query)
        .ok_or_else(|| err("no usable dcql_query"))?;
    let t = transcript_for_claims(claims)?;
    let response = super::holder::present(cred, Some(&requested), &t)?.encode();
    answer_with(claims, &response)
}

/// Wraps an already-built DeviceResponse (possibly forged) as the form POST for `claims`.
pub fn answer_with(claims: &Value, device_response: &[u8]) -> Result<WalletPost, PkiError> {
    let state = str_claim(claims, "state")?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    if str_claim(claims, "response_mode")? == "direct_post.jwt" {
        let jwk = encryption_jwk(claims).ok_or_else(|| err("no encryption key"))?;
        let payload = json!({ "vp_token": vp_token(device_response), "state": state });
        form.append_pair("response", &encrypt_to(jwk, &payload, "A128GCM")?);
    } else {
        form.append_pair("vp_token", &vp_token(device_response).to_string());
        form.append_pair("state", state);
    }
    Ok(WalletPost {
        response_uri: str_claim(claims, "response_uri")?.to_owned(),
        form_body: form.finish(),
    })
}

/// Answers a Digital Credentials API request (`data` of an `openid4vp-v1-unsigned`
/// request) from `origin`: returns the `{"protocol", "data"}` credential result.
pub fn answer_dc_api(cred: &Credential, data: &Value, origin: &str) -> Result<Value, PkiError> {
    let requested = data
        .get("dcql_query")
        .and_then(requested_from_query)
        .ok_or_else(|| err("no usable dcql_query"))?;
    let nonce = str_claim(data, "nonce")?;
    let encrypted = str_claim(data, "response_mode")? == "dc_api.jwt";
    let jwk = encryption_jwk(data);
    let tp = if encrypted {
        jwk.and_then(jwk_thumbprint)
    } else {
        None
    };
    let t = transcript::oid4vp_dc_api(origin, nonce, tp.as_ref().map(|t| t.as_slice()));
    let response = super::holder::present(cred, Some(&requested), &t)?.encode();
    let payload = json!({ "vp_token": vp_token(&response) });
    let data = match (encrypted, jwk) {
        (true, Some(jwk)) => json!({ "response": encrypt_to(jwk, &payload, "A128GCM")? }),
        (true, None) => return Err(err("dc_api.jwt without a key")),
        _ => payload,
    };
    Ok(json!({ "protocol": "openid4vp-v1-unsigned", "data": data }))
}

/// Verifies a request object like a wallet does: ES256 by `x5c[0]`, whose DNS SAN matches
/// the `x509_san_dns:` client_id. Returns the claims.
pub fn verify_request_object(jws: &str) -> Result<Value, PkiError> {
    use base64::engine::general_purpose::STANDARD;
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    let parts: Vec<&str> = jws.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(err("not a compact JWS"));
    };
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|e| err(e.to_string()))?)
            .map_err(|e| err(e.to_string()))?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(err("request object alg must be ES256"));
    }
    let x5c = header
        .get("x5c")
        .and_then(|x| x.get(0))
        .and_then(Value::as_str)
        .ok_or_else(|| err("no x5c"))?;
    let der = STANDARD.decode(x5c).map_err(|e| err(e.to_string()))?;
    let cert = crate::x509::parse(&der).map_err(err)?;
    let key = crate::x509::public_key(&cert).map_err(err)?;
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|e| err(e.to_string()))?;
    crate::crypto::verify_cose(
        crate::crypto::CoseAlg::Es256,
        &key,
        format!("{h}.{p}").as_bytes(),
        &sig,
        crate::Refusal::AlgorithmKeyMismatch,
        crate::Refusal::IssuerSignatureInvalid,
    )
    .map_err(|e| err(format!("request object signature: {e}")))?;
    let claims = request_object_claims(jws)?;
    let client_id = str_claim(&claims, "client_id")?;
    if let Some(dns) = client_id.strip_prefix("x509_san_dns:") {
        let san_ok = cert
            .extensions()
            .iter()
            .any(|e| match e.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => san
                    .general_names
                    .iter()
                    .any(|n| matches!(n, GeneralName::DNSName(d) if *d == dns)),
                _ => false,
            });
        if !san_ok {
            return Err(err("certificate SAN does not match the client_id"));
        }
    }
    Ok(claims)
}

/// Drives the cross-device flow like a phone that scanned the QR code: parses the
/// invocation URL (`…?client_id=…&request_uri=…`), fetches and verifies the request object,
/// answers it with `cred`, and POSTs to `response_uri`. Returns the verifier's reply body.
pub async fn follow_invocation(
    cred: &Credential,
    invocation_url: &str,
    client: &reqwest::Client,
) -> Result<String, PkiError> {
    let query = invocation_url
        .split_once('?')
        .map(|(_, q)| q)
        .ok_or_else(|| err("no query"))?;
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let client_id = get("client_id").ok_or_else(|| err("no client_id"))?;
    let request_uri = get("request_uri").ok_or_else(|| err("no request_uri"))?;
    let jws = client
        .get(&request_uri)
        .header("accept", "application/oauth-authz-req+jwt")
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| err(e.to_string()))?
        .text()
        .await
        .map_err(|e| err(e.to_string()))?;
    let claims = if client_id.starts_with("x509_san_dns:") {
        verify_request_object(jws.trim())?
    } else {
        request_object_claims(jws.trim())?
    };
    if str_claim(&claims, "client_id")? != client_id {
        return Err(err(
            "client_id of the request object differs from the invocation",
        ));
    }
    let post = answer(cred, &claims)?;
    client
        .post(&post.response_uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(post.form_body)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| err(e.to_string()))?
        .text()
        .await
        .map_err(|e| err(e.to_string()))
}
