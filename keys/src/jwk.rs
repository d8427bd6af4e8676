//! Public JWK construction and RFC 7638 thumbprints. The thumbprint is the `kid`, so a key's id
//! is bound to its material and a swapped record is detectable.

use std::collections::BTreeMap;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::{Algorithm, KeyError};

/// Public JWK of a P-256 key from its uncompressed SEC1 point (0x04 || x || y).
pub(crate) fn ec_p256(point: &[u8]) -> Result<Value, KeyError> {
    match point {
        [0x04, rest @ ..] if rest.len() == 64 => Ok(json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&rest[..32]),
            "y": URL_SAFE_NO_PAD.encode(&rest[32..]),
        })),
        _ => Err(KeyError::crypto("unexpected P-256 public key encoding")),
    }
}

/// Public JWK of an RSA key from big-endian modulus and exponent.
pub(crate) fn rsa(n: &[u8], e: &[u8]) -> Value {
    json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(n),
        "e": URL_SAFE_NO_PAD.encode(e),
    })
}

/// Public JWK of an Ed25519 key (RFC 8037).
pub(crate) fn ed25519(public: &[u8]) -> Value {
    json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(public) })
}

/// Adds the members a published JWK carries besides the key itself, computing the kid.
pub(crate) fn finish(mut jwk: Value, alg: Algorithm) -> Result<(String, Value), KeyError> {
    let kid = jwk_thumbprint(&jwk)?;
    if let Value::Object(map) = &mut jwk {
        map.insert("kid".into(), Value::String(kid.clone()));
        map.insert("alg".into(), Value::String(alg.jose_name().into()));
        map.insert("use".into(), Value::String("sig".into()));
    }
    Ok((kid, jwk))
}

/// RFC 7638 JWK thumbprint: base64url (no padding) of SHA-256 over the required members in
/// lexicographic order with no whitespace. Used for `kid` and for DPoP `jkt`.
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, KeyError> {
    let member = |name: &str| -> Result<&str, KeyError> {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| KeyError::Encoding(format!("JWK lacks string member {name:?}")))
    };
    let required: &[&str] = match member("kty")? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        other => return Err(KeyError::Encoding(format!("unsupported JWK kty {other:?}"))),
    };
    let mut canonical = BTreeMap::new();
    for name in required {
        canonical.insert(*name, member(name)?);
    }
    // BTreeMap serialises in key order, compact, with JSON string escaping: exactly RFC 7638 §3.
    let text = serde_json::to_string(&canonical).map_err(|e| KeyError::Encoding(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(digest(&SHA256, text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_section_3_1_example() {
        // RFC 7638 §3.1: example RSA JWK and its thumbprint.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            jwk_thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn optional_members_do_not_change_thumbprint() {
        let bare = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let mut full = bare.clone();
        full["kid"] = json!("x");
        full["use"] = json!("sig");
        assert_eq!(
            jwk_thumbprint(&bare).unwrap(),
            jwk_thumbprint(&full).unwrap()
        );
    }

    #[test]
    fn malformed_jwks_are_errors() {
        for bad in [
            json!({}),
            json!({"kty": "oct", "k": "AA"}),
            json!({"kty": "EC", "crv": "P-256", "x": "AA"}),
            json!({"kty": "RSA", "n": 5, "e": "AQAB"}),
            json!("not an object"),
        ] {
            assert!(
                matches!(jwk_thumbprint(&bad), Err(KeyError::Encoding(_))),
                "{bad}"
            );
        }
    }
}
