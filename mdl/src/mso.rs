//! The Mobile Security Object (ISO 18013-5 §9.1.2.4): digests, device key, validity, status.

use std::collections::BTreeMap;

use coset::CborSerializable;
use time::OffsetDateTime;

use crate::cbor::{self, Raw};
use crate::crypto::{Curve, DigestAlg, PublicKey};
use crate::error::Refusal;

/// Decoded MSO.
#[derive(Debug, Clone)]
pub struct Mso {
    pub version: String,
    pub digest_algorithm: DigestAlg,
    /// Namespace → digestID → digest.
    pub value_digests: BTreeMap<String, BTreeMap<u64, Vec<u8>>>,
    pub device_key: PublicKey,
    pub doc_type: String,
    pub validity: ValidityInfo,
    pub status: Option<MsoStatus>,
}

/// `ValidityInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ValidityInfo {
    #[serde(with = "time::serde::rfc3339")]
    pub signed: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_until: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expected_update: Option<OffsetDateTime>,
}

/// MSO `status` (18013-5 2nd ed. §12.3.6; IETF Token Status List).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsoStatus {
    StatusList {
        idx: u64,
        uri: String,
        certificate: Option<Vec<u8>>,
    },
    IdentifierList {
        id: Vec<u8>,
        uri: String,
        certificate: Option<Vec<u8>>,
    },
}

fn malformed(what: &str) -> Refusal {
    Refusal::MsoMalformed(what.to_owned())
}

/// Parses a `tdate` (`#6.0(tstr)`, RFC 3339).
pub fn tdate(raw: Raw<'_>, what: &'static str) -> Result<OffsetDateTime, Refusal> {
    match raw.tag() {
        Some((0, inner)) => {
            let s = inner.text().ok_or_else(|| malformed(what))?;
            OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339)
                .map_err(|_| malformed(what))
        }
        _ => Err(malformed(what)),
    }
}

/// Decodes the MSO from `MobileSecurityObjectBytes` content (the bytes inside tag 24).
pub fn parse(mso_bytes: &[u8]) -> Result<Mso, Refusal> {
    let m = cbor::decode_one(mso_bytes, "MobileSecurityObject")?.map("MobileSecurityObject")?;
    let version = cbor::text_field(&m, "version")?;
    let alg_name = cbor::text_field(&m, "digestAlgorithm")?;
    let digest_algorithm =
        DigestAlg::from_name(&alg_name).ok_or(Refusal::DigestAlgorithm(alg_name))?;
    let doc_type = cbor::text_field(&m, "docType")?;

    let mut value_digests = BTreeMap::new();
    for (ns, digests) in cbor::require(&m, "valueDigests")?.map("valueDigests")? {
        let ns = ns
            .text()
            .ok_or_else(|| malformed("valueDigests namespace"))?
            .into_owned();
        let mut ids = BTreeMap::new();
        for (id, d) in digests.map("DigestIDs")? {
            let id = id.uint().ok_or_else(|| malformed("digestID"))?;
            let d = d
                .byte_string()
                .ok_or_else(|| malformed("digest"))?
                .into_owned();
            ids.insert(id, d);
        }
        value_digests.insert(ns, ids);
    }

    let dki = cbor::require(&m, "deviceKeyInfo")?.map("DeviceKeyInfo")?;
    let device_key = cose_key(cbor::require(&dki, "deviceKey")?)?;

    let v = cbor::require(&m, "validityInfo")?.map("ValidityInfo")?;
    let validity = ValidityInfo {
        signed: tdate(cbor::require(&v, "signed")?, "signed")?,
        valid_from: tdate(cbor::require(&v, "validFrom")?, "validFrom")?,
        valid_until: tdate(cbor::require(&v, "validUntil")?, "validUntil")?,
        expected_update: match cbor::get(&v, "expectedUpdate") {
            Some(r) => Some(tdate(r, "expectedUpdate")?),
            None => None,
        },
    };
    let status = match cbor::get(&m, "status") {
        Some(s) => parse_status(s)?,
        None => None,
    };
    Ok(Mso {
        version,
        digest_algorithm,
        value_digests,
        device_key,
        doc_type,
        validity,
        status,
    })
}

fn parse_status(raw: Raw<'_>) -> Result<Option<MsoStatus>, Refusal> {
    let s = raw.map("status")?;
    let cert = |e: &[(Raw<'_>, Raw<'_>)]| {
        cbor::get(e, "certificate")
            .and_then(|c| c.byte_string())
            .map(|c| c.into_owned())
    };
    if let Some(sl) = cbor::get(&s, "status_list") {
        let e = sl.map("status_list")?;
        let idx = cbor::require(&e, "idx")?
            .uint()
            .ok_or_else(|| malformed("status_list idx"))?;
        let uri = cbor::text_field(&e, "uri")?;
        return Ok(Some(MsoStatus::StatusList {
            idx,
            uri,
            certificate: cert(&e),
        }));
    }
    if let Some(il) = cbor::get(&s, "identifier_list") {
        let e = il.map("identifier_list")?;
        let id = cbor::require(&e, "id")?
            .byte_string()
            .ok_or_else(|| malformed("identifier_list id"))?
            .into_owned();
        let uri = cbor::text_field(&e, "uri")?;
        return Ok(Some(MsoStatus::IdentifierList {
            id,
            uri,
            certificate: cert(&e),
        }));
    }
    Ok(None)
}

/// Converts a COSE_Key (EC2 P-256/384/521 or OKP Ed25519) into a public key.
pub fn cose_key(raw: Raw<'_>) -> Result<PublicKey, Refusal> {
    use coset::iana::{Ec2KeyParameter as E, EllipticCurve as C, OkpKeyParameter as O};
    use coset::{KeyType, Label, RegisteredLabel};
    let bad = |why: &str| Refusal::DeviceKeyUnsupported(why.to_owned());
    let key = coset::CoseKey::from_slice(raw.bytes()).map_err(|e| bad(&e.to_string()))?;
    let param = |label: i64| {
        key.params
            .iter()
            .find(|(l, _)| *l == Label::Int(label))
            .map(|(_, v)| v)
    };
    let crv = param(-1)
        .and_then(|v| v.as_integer())
        .and_then(|i| i64::try_from(i).ok());
    match key.kty {
        KeyType::Assigned(coset::iana::KeyType::EC2) => {
            let (curve, len) = match crv {
                Some(c) if c == C::P_256 as i64 => (Curve::P256, 32),
                Some(c) if c == C::P_384 as i64 => (Curve::P384, 48),
                Some(c) if c == C::P_521 as i64 => (Curve::P521, 66),
                _ => return Err(bad("EC2 curve")),
            };
            let x = param(E::X as i64)
                .and_then(|v| v.as_bytes())
                .ok_or_else(|| bad("x"))?;
            let y = param(E::Y as i64)
                .and_then(|v| v.as_bytes())
                .ok_or_else(|| bad("y"))?;
            if x.len() != len || y.len() != len {
                return Err(bad("coordinate length"));
            }
            let mut bytes = Vec::with_capacity(1 + 2 * len);
            bytes.push(0x04);
            bytes.extend_from_slice(x);
            bytes.extend_from_slice(y);
            Ok(PublicKey { curve, bytes })
        }
        KeyType::Assigned(coset::iana::KeyType::OKP) if crv == Some(C::Ed25519 as i64) => {
            let x = param(O::X as i64)
                .and_then(|v| v.as_bytes())
                .ok_or_else(|| bad("x"))?;
            if x.len() != 32 {
                return Err(bad("Ed25519 key length"));
            }
            Ok(PublicKey {
                curve: Curve::Ed25519,
                bytes: x.clone(),
            })
        }
        RegisteredLabel::Assigned(_) | RegisteredLabel::Text(_) => Err(bad("key type")),
    }
}
