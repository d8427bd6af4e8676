//! Certificates for UDAP: a community's anchors, and the `x5c` chains that software
//! statements and client assertions carry (leaf first), validated up to an anchor. RSA and
//! ECDSA (P-256, P-384), the algorithms UDAP communities use.

use std::path::Path;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey as SpkiKey;

use crate::jose::PublicKey;

/// Longest chain followed (leaf, intermediates, anchor).
const MAX_DEPTH: usize = 5;

/// Why a chain was not accepted; the text is safe to return to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("x5c must be a non-empty array of base64 DER certificates")]
    Malformed,
    #[error("a certificate in x5c does not parse: {0}")]
    Certificate(String),
    #[error("the certificate is outside its validity period")]
    Expired,
    #[error("the chain does not end at a trust anchor of this community")]
    Untrusted,
    #[error("the leaf certificate has no URI subject alternative name")]
    NoUri,
    #[error("unsupported key or signature algorithm")]
    Algorithm,
}

/// A trust anchor: its subject (DER) and key.
#[derive(Debug, Clone)]
pub struct Anchor {
    subject: Vec<u8>,
    key: PublicKey,
    not_before: i64,
    not_after: i64,
}

/// A chain that ends at an anchor: what the leaf says and its key.
#[derive(Debug, Clone)]
pub struct ValidatedLeaf {
    pub uris: Vec<String>,
    pub key: PublicKey,
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, ChainError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(ChainError::Certificate("trailing bytes".into())),
        Err(e) => Err(ChainError::Certificate(e.to_string())),
    }
}

/// The certificate's subject key, as a JOSE verification key.
fn key_of(cert: &X509Certificate<'_>) -> Result<PublicKey, ChainError> {
    let spki = cert.public_key();
    match spki.parsed().map_err(|_| ChainError::Algorithm)? {
        SpkiKey::RSA(rsa) => Ok(PublicKey::Rsa {
            n: rsa.modulus.to_vec(),
            e: rsa.exponent.to_vec(),
        }),
        SpkiKey::EC(point) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => Ok(PublicKey::P256(point.data().to_vec())),
                Some("1.3.132.0.34") => Ok(PublicKey::P384(point.data().to_vec())),
                _ => Err(ChainError::Algorithm),
            }
        }
        _ => Err(ChainError::Algorithm),
    }
}

/// Is `cert` signed by `issuer`? (Certificate signatures: PKCS#1 v1.5 or DER ECDSA.)
fn signed_by(cert: &X509Certificate<'_>, issuer: &PublicKey) -> bool {
    let tbs = cert.tbs_certificate.as_ref();
    let sig = cert.signature_value.data.as_ref();
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    let rsa = |params: &'static signature::RsaParameters, n: &[u8], e: &[u8]| {
        RsaPublicKeyComponents { n, e }
            .verify(params, tbs, sig)
            .is_ok()
    };
    let ec = |alg: &'static signature::EcdsaVerificationAlgorithm, point: &[u8]| {
        UnparsedPublicKey::new(alg, point).verify(tbs, sig).is_ok()
    };
    match (oid.as_str(), issuer) {
        ("1.2.840.113549.1.1.11", PublicKey::Rsa { n, e }) => {
            rsa(&signature::RSA_PKCS1_2048_8192_SHA256, n, e)
        }
        ("1.2.840.113549.1.1.12", PublicKey::Rsa { n, e }) => {
            rsa(&signature::RSA_PKCS1_2048_8192_SHA384, n, e)
        }
        ("1.2.840.10045.4.3.2", PublicKey::P256(p)) => ec(&signature::ECDSA_P256_SHA256_ASN1, p),
        ("1.2.840.10045.4.3.3", PublicKey::P256(p)) => ec(&signature::ECDSA_P256_SHA384_ASN1, p),
        ("1.2.840.10045.4.3.2", PublicKey::P384(p)) => ec(&signature::ECDSA_P384_SHA256_ASN1, p),
        ("1.2.840.10045.4.3.3", PublicKey::P384(p)) => ec(&signature::ECDSA_P384_SHA384_ASN1, p),
        _ => false,
    }
}

fn valid_at(cert: &X509Certificate<'_>, now: i64) -> bool {
    let v = cert.validity();
    v.not_before.timestamp() <= now && now <= v.not_after.timestamp()
}

/// The URI subject alternative names of a certificate.
pub fn uris(cert_der: &[u8]) -> Result<Vec<String>, ChainError> {
    let cert = parse(cert_der)?;
    Ok(uris_of(&cert))
}

fn uris_of(cert: &X509Certificate<'_>) -> Vec<String> {
    match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::URI(u) => Some((*u).to_owned()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The DER certificates of a PEM file, or of every `.pem`/`.crt` file in a directory.
pub fn pem_certificates(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let files = if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pem" || x == "crt"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        out.extend(
            glassgate_mdl::x509::pem_certificates(&bytes)
                .map_err(|e| format!("{}: {e}", file.display()))?,
        );
    }
    Ok(out)
}

impl Anchor {
    pub fn from_der(der: &[u8]) -> Result<Anchor, ChainError> {
        let cert = parse(der)?;
        let v = cert.validity();
        Ok(Anchor {
            subject: cert.subject().as_raw().to_vec(),
            key: key_of(&cert)?,
            not_before: v.not_before.timestamp(),
            not_after: v.not_after.timestamp(),
        })
    }
}

/// Reads a JWS header's `x5c` (standard base64 DER, leaf first).
pub fn x5c_of(header: &serde_json::Map<String, Value>) -> Result<Vec<Vec<u8>>, ChainError> {
    let Some(Value::Array(items)) = header.get("x5c") else {
        return Err(ChainError::Malformed);
    };
    if items.is_empty() || items.len() > MAX_DEPTH {
        return Err(ChainError::Malformed);
    }
    items
        .iter()
        .map(|i| {
            i.as_str()
                .and_then(|s| STANDARD.decode(s).ok())
                .ok_or(ChainError::Malformed)
        })
        .collect()
}

/// Validates `chain` (leaf first) at `now`: each certificate is in its validity period and
/// signed by the next (intermediates must be CAs), and the last is signed by an anchor.
pub fn validate(
    chain: &[Vec<u8>],
    anchors: &[Anchor],
    now: i64,
) -> Result<ValidatedLeaf, ChainError> {
    let certs = chain
        .iter()
        .map(|der| parse(der))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = certs.first().ok_or(ChainError::Malformed)?;
    if certs.iter().any(|c| !valid_at(c, now)) {
        return Err(ChainError::Expired);
    }
    for pair in certs.windows(2) {
        let [child, parent] = pair else {
            return Err(ChainError::Malformed);
        };
        if !parent.is_ca() || !signed_by(child, &key_of(parent)?) {
            return Err(ChainError::Untrusted);
        }
    }
    let top = certs.last().ok_or(ChainError::Malformed)?;
    let anchored = anchors.iter().any(|a| {
        a.subject == top.issuer().as_raw()
            && a.not_before <= now
            && now <= a.not_after
            && signed_by(top, &a.key)
    });
    if !anchored {
        return Err(ChainError::Untrusted);
    }
    let uris = uris_of(leaf);
    if uris.is_empty() {
        return Err(ChainError::NoUri);
    }
    Ok(ValidatedLeaf {
        uris,
        key: key_of(leaf)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn header(value: Value) -> serde_json::Map<String, Value> {
        json!({ "x5c": value }).as_object().unwrap().clone()
    }

    #[test]
    fn x5c_must_be_base64_der_certificates() {
        for bad in [
            json!(null),
            json!([]),
            json!("MIIB"),
            json!([1]),
            json!(["not base64!"]),
            json!(["a", "b", "c", "d", "e", "f"]),
        ] {
            assert_eq!(
                x5c_of(&header(bad.clone())),
                Err(ChainError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(x5c_of(&serde_json::Map::new()), Err(ChainError::Malformed));
        let chain = x5c_of(&header(json!(["AAEC"]))).unwrap();
        assert_eq!(chain, vec![vec![0, 1, 2]]);
        // Bytes that are not a certificate are refused, never trusted.
        assert!(matches!(
            validate(&chain, &[], 0),
            Err(ChainError::Certificate(_))
        ));
        assert!(matches!(validate(&[], &[], 0), Err(ChainError::Malformed)));
        assert!(Anchor::from_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    }
}
