//! `issuerAuth`: the issuer's COSE_Sign1 over `MobileSecurityObjectBytes` (ISO 18013-5 §9.1.2.4).

use coset::{CborSerializable, CoseSign1, Label};

use crate::cbor::{self, Raw};
use crate::crypto::{self, CoseAlg, PublicKey};
use crate::error::Refusal;

/// COSE header label of x5chain (RFC 9360).
const X5CHAIN: i64 = 33;
/// CBOR tag of COSE_Sign1.
pub const COSE_SIGN1_TAG: u64 = 18;

/// A parsed issuerAuth.
#[derive(Debug, Clone)]
pub struct IssuerAuth {
    pub sign1: CoseSign1,
    pub alg: CoseAlg,
    /// DER certificates; `[0]` is the document signer.
    pub x5chain: Vec<Vec<u8>>,
    /// The MSO bytes (content of the tag-24 payload).
    pub mso_bytes: Vec<u8>,
}

/// Parses a COSE_Sign1, tagged (18) or untagged. `malformed` builds the refusal.
pub fn parse_sign1(raw: Raw<'_>, malformed: fn(String) -> Refusal) -> Result<CoseSign1, Refusal> {
    let body = match raw.tag() {
        Some((COSE_SIGN1_TAG, inner)) => inner,
        Some((t, _)) => return Err(malformed(format!("unexpected tag {t}"))),
        None => raw,
    };
    CoseSign1::from_slice(body.bytes()).map_err(|e| malformed(e.to_string()))
}

fn x5chain_value(v: &ciborium::Value) -> Result<Vec<Vec<u8>>, Refusal> {
    let bad = || Refusal::IssuerAuthMalformed("x5chain is not a bstr or array of bstr".into());
    match v {
        ciborium::Value::Bytes(b) => Ok(vec![b.clone()]),
        ciborium::Value::Array(a) if !a.is_empty() => a
            .iter()
            .map(|c| c.as_bytes().cloned().ok_or_else(bad))
            .collect(),
        _ => Err(bad()),
    }
}

/// Finds the x5chain in the unprotected (ISO) or protected header.
pub fn x5chain(sign1: &CoseSign1) -> Result<Vec<Vec<u8>>, Refusal> {
    let find = |h: &coset::Header| {
        h.rest
            .iter()
            .find(|(l, _)| *l == Label::Int(X5CHAIN))
            .map(|(_, v)| v.clone())
    };
    match (find(&sign1.protected.header), find(&sign1.unprotected)) {
        (Some(_), Some(_)) => Err(Refusal::IssuerAuthMalformed(
            "x5chain in both headers".into(),
        )),
        (Some(v), None) | (None, Some(v)) => x5chain_value(&v),
        (None, None) => Err(Refusal::MissingX5Chain),
    }
}

/// Parses issuerAuth: algorithm (protected), x5chain, and the tag-24 MSO payload.
pub fn parse(raw: Raw<'_>) -> Result<IssuerAuth, Refusal> {
    let sign1 = parse_sign1(raw, Refusal::IssuerAuthMalformed)?;
    let alg = sign1
        .protected
        .header
        .alg
        .as_ref()
        .ok_or_else(|| Refusal::IssuerAuthMalformed("no alg in the protected header".into()))
        .and_then(CoseAlg::from_cose)?;
    let x5chain = x5chain(&sign1)?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or_else(|| Refusal::IssuerAuthMalformed("no payload".into()))?;
    let mso_bytes = cbor::decode_one(payload, "MobileSecurityObjectBytes")?
        .tag24("MobileSecurityObjectBytes")?
        .into_owned();
    Ok(IssuerAuth {
        sign1,
        alg,
        x5chain,
        mso_bytes,
    })
}

/// Verifies the COSE_Sign1 signature with the document signer key.
pub fn verify_signature(ia: &IssuerAuth, ds_key: &PublicKey) -> Result<(), Refusal> {
    let tbs = ia.sign1.tbs_data(b"");
    crypto::verify_cose(
        ia.alg,
        ds_key,
        &tbs,
        &ia.sign1.signature,
        Refusal::AlgorithmKeyMismatch,
        Refusal::IssuerSignatureInvalid,
    )
}
