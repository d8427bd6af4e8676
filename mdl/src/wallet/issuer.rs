//! Test mDL issuer: IssuerSignedItems, the MSO and issuerAuth, with forgery hooks.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _};
use ciborium::Value;
use time::OffsetDateTime;

use super::pki::{KeyAlg, PkiError, TestDs};
use crate::cbor::{tag24, to_vec, write_bytes, write_head, write_text};
use crate::crypto::DigestAlg;

/// A holder's device key (private), P-256 or P-384.
#[derive(Debug, Clone)]
pub struct DeviceKey {
    pub alg: KeyAlg,
    pub pkcs8: Vec<u8>,
}

impl DeviceKey {
    /// Generates a fresh key.
    pub fn generate(alg: KeyAlg) -> Result<Self, PkiError> {
        let doc = EcdsaKeyPair::generate_pkcs8(alg.cose_signing(), &SystemRandom::new())
            .map_err(|e| PkiError(e.to_string()))?;
        Ok(Self {
            alg,
            pkcs8: doc.as_ref().to_vec(),
        })
    }

    fn pair(&self) -> Result<EcdsaKeyPair, PkiError> {
        EcdsaKeyPair::from_pkcs8(self.alg.cose_signing(), &self.pkcs8)
            .map_err(|e| PkiError(e.to_string()))
    }

    /// COSE_Key `{1: 2, -1: crv, -2: x, -3: y}`.
    pub fn cose_key(&self) -> Result<Vec<u8>, PkiError> {
        let pair = self.pair()?;
        let point = pair.public_key().as_ref();
        let n = (point.len() - 1) / 2;
        let mut out = vec![0xa4, 0x01, 0x02, 0x20];
        out.push(match self.alg {
            KeyAlg::P256 => 0x01,
            KeyAlg::P384 => 0x02,
        });
        out.push(0x21);
        write_bytes(&mut out, &point[1..1 + n]);
        out.push(0x22);
        write_bytes(&mut out, &point[1 + n..]);
        Ok(out)
    }

    /// Fixed-length (r‖s) ECDSA signature.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, PkiError> {
        sign_fixed(self.alg, &self.pkcs8, msg)
    }
}

/// r‖s ECDSA over `msg` with a PKCS#8 key.
pub fn sign_fixed(alg: KeyAlg, pkcs8: &[u8], msg: &[u8]) -> Result<Vec<u8>, PkiError> {
    let pair =
        EcdsaKeyPair::from_pkcs8(alg.cose_signing(), pkcs8).map_err(|e| PkiError(e.to_string()))?;
    let sig = pair
        .sign(&SystemRandom::new(), msg)
        .map_err(|e| PkiError(e.to_string()))?;
    Ok(sig.as_ref().to_vec())
}

/// Where issuerAuth carries the DS certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum X5ChainMode {
    /// Unprotected header, a single bstr (ISO 18013-5 practice).
    #[default]
    Unprotected,
    /// Unprotected header, an array `[ds]`.
    UnprotectedArray,
    /// Protected header.
    Protected,
    /// No x5chain at all.
    Missing,
}

/// Forgery hooks for negative tests. `Default` produces a conforming credential.
#[derive(Debug, Clone, Default)]
pub struct IssueForge {
    pub mso_doc_type: Option<String>,
    pub mso_version: Option<String>,
    pub digest_algorithm_name: Option<String>,
    /// Leave this element's digest out of the MSO.
    pub omit_digest_for: Option<String>,
    /// Give the second item the first item's digestID.
    pub duplicate_digest_id: bool,
    /// 8-byte random salts instead of 32.
    pub short_random: bool,
    pub x5chain: X5ChainMode,
    /// Wrap issuerAuth in COSE tag 18.
    pub tag18: bool,
    /// Encode items with non-preferred (1-byte) length headers for short strings.
    pub non_preferred_lengths: bool,
    /// Flip a bit of the issuer signature.
    pub corrupt_signature: bool,
    /// Sign with this (other) DS key while still sending the DS certificate.
    pub signing_key_override: Option<TestDs>,
    /// Put an MSO `status` map (raw CBOR) in the MSO.
    pub status: Option<Vec<u8>>,
}

/// What to issue.
#[derive(Debug, Clone)]
pub struct IssueSpec {
    pub doc_type: String,
    /// `(namespace, element, value)`.
    pub elements: Vec<(String, String, Value)>,
    pub signed: OffsetDateTime,
    pub valid_from: OffsetDateTime,
    pub valid_until: OffsetDateTime,
    pub digest: DigestAlg,
    pub forge: IssueForge,
}

/// `(element identifier, IssuerSignedItemBytes)`.
pub type IssuedItem = (String, Vec<u8>);
/// `(digestID, digest)`.
type DigestEntry = (u64, Vec<u8>);

/// An issued credential as the wallet stores it.
#[derive(Debug, Clone)]
pub struct Credential {
    pub doc_type: String,
    /// Namespace → `(element identifier, IssuerSignedItemBytes)`.
    pub name_spaces: Vec<(String, Vec<IssuedItem>)>,
    pub issuer_auth: Vec<u8>,
    pub device_key: DeviceKey,
}

fn text_np(out: &mut Vec<u8>, s: &str, non_preferred: bool) {
    if non_preferred && s.len() < 24 {
        out.extend_from_slice(&[0x78, s.len() as u8]);
        out.extend_from_slice(s.as_bytes());
    } else {
        write_text(out, s);
    }
}

fn item_bytes(id: u64, random: &[u8], element: &str, value: &Value, np: bool) -> Vec<u8> {
    let mut m = vec![0xa4];
    text_np(&mut m, "digestID", np);
    write_head(&mut m, 0, id);
    text_np(&mut m, "random", np);
    write_bytes(&mut m, random);
    text_np(&mut m, "elementIdentifier", np);
    text_np(&mut m, element, np);
    text_np(&mut m, "elementValue", np);
    m.extend_from_slice(&to_vec(value));
    tag24(&m)
}

fn tdate(t: OffsetDateTime) -> Value {
    let s = t
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    Value::Tag(0, Box::new(Value::Text(s)))
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// Issues a credential signed by `ds` for `device_key`.
pub fn issue(ds: &TestDs, device_key: DeviceKey, spec: &IssueSpec) -> Result<Credential, PkiError> {
    let f = &spec.forge;
    let rng = SystemRandom::new();
    let mut name_spaces: Vec<(String, Vec<IssuedItem>)> = Vec::new();
    let mut digests: Vec<(String, Vec<DigestEntry>)> = Vec::new();
    let mut next_id = 0u64;
    for (ns, element, value) in &spec.elements {
        let mut random = vec![0u8; if f.short_random { 8 } else { 32 }];
        rng.fill(&mut random).map_err(|e| PkiError(e.to_string()))?;
        let id = if f.duplicate_digest_id && next_id == 1 {
            0
        } else {
            next_id
        };
        next_id += 1;
        let bytes = item_bytes(id, &random, element, value, f.non_preferred_lengths);
        let digest = spec.digest.digest(&bytes).as_ref().to_vec();
        let slot = match name_spaces.iter().position(|(n, _)| n == ns) {
            Some(i) => i,
            None => {
                name_spaces.push((ns.clone(), Vec::new()));
                digests.push((ns.clone(), Vec::new()));
                name_spaces.len() - 1
            }
        };
        name_spaces[slot].1.push((element.clone(), bytes));
        let omit = f.omit_digest_for.as_deref() == Some(element.as_str());
        if !omit && !digests[slot].1.iter().any(|(i, _)| *i == id) {
            digests[slot].1.push((id, digest));
        }
    }
    // A decoy digest, as real issuers add to hide the element count.
    if let Some(first) = digests.first_mut() {
        let mut decoy = vec![0u8; 32];
        rng.fill(&mut decoy).map_err(|e| PkiError(e.to_string()))?;
        first.1.push((next_id + 7, decoy));
    }

    let value_digests = Value::Map(
        digests
            .into_iter()
            .map(|(ns, ids)| {
                let m = ids
                    .into_iter()
                    .map(|(i, d)| (Value::Integer(i.into()), Value::Bytes(d)))
                    .collect();
                (text(&ns), Value::Map(m))
            })
            .collect(),
    );
    let device_cose: Value = ciborium::from_reader(device_key.cose_key()?.as_slice())
        .map_err(|e| PkiError(e.to_string()))?;
    let digest_name = match spec.digest {
        DigestAlg::Sha256 => "SHA-256",
        DigestAlg::Sha384 => "SHA-384",
        DigestAlg::Sha512 => "SHA-512",
    };
    let mut mso = vec![
        (
            text("version"),
            text(f.mso_version.as_deref().unwrap_or("1.0")),
        ),
        (
            text("digestAlgorithm"),
            text(f.digest_algorithm_name.as_deref().unwrap_or(digest_name)),
        ),
        (text("valueDigests"), value_digests),
        (
            text("deviceKeyInfo"),
            Value::Map(vec![(text("deviceKey"), device_cose)]),
        ),
        (
            text("docType"),
            text(f.mso_doc_type.as_deref().unwrap_or(&spec.doc_type)),
        ),
        (
            text("validityInfo"),
            Value::Map(vec![
                (text("signed"), tdate(spec.signed)),
                (text("validFrom"), tdate(spec.valid_from)),
                (text("validUntil"), tdate(spec.valid_until)),
            ]),
        ),
    ];
    if let Some(status) = &f.status {
        let v: Value =
            ciborium::from_reader(status.as_slice()).map_err(|e| PkiError(e.to_string()))?;
        mso.push((text("status"), v));
    }
    let payload = tag24(&to_vec(&Value::Map(mso)));
    let signer = f.signing_key_override.as_ref().unwrap_or(ds);
    let issuer_auth = sign1(ds.alg, signer, &ds.cert_der, &payload, f)?;
    Ok(Credential {
        doc_type: spec.doc_type.clone(),
        name_spaces,
        issuer_auth,
        device_key,
    })
}

fn sign1(
    alg: KeyAlg,
    signer: &TestDs,
    cert: &[u8],
    payload: &[u8],
    f: &IssueForge,
) -> Result<Vec<u8>, PkiError> {
    let mut protected = vec![0xa1, 0x01];
    let mut unprotected = vec![0xa0];
    let alg_byte = match alg {
        KeyAlg::P256 => 0x26,
        KeyAlg::P384 => 0x38,
    };
    match f.x5chain {
        X5ChainMode::Protected => {
            protected = vec![0xa2, 0x01];
            push_alg(&mut protected, alg_byte);
            protected.extend_from_slice(&[0x18, 0x21]);
            write_bytes(&mut protected, cert);
        }
        mode => {
            push_alg(&mut protected, alg_byte);
            match mode {
                X5ChainMode::Unprotected => {
                    unprotected = vec![0xa1, 0x18, 0x21];
                    write_bytes(&mut unprotected, cert);
                }
                X5ChainMode::UnprotectedArray => {
                    unprotected = vec![0xa1, 0x18, 0x21, 0x81];
                    write_bytes(&mut unprotected, cert);
                }
                _ => {}
            }
        }
    }
    let mut tbs = vec![0x84];
    write_text(&mut tbs, "Signature1");
    write_bytes(&mut tbs, &protected);
    write_bytes(&mut tbs, &[]);
    write_bytes(&mut tbs, payload);
    let mut sig = sign_fixed(signer.alg, &signer.key_pkcs8, &tbs)?;
    if f.corrupt_signature
        && let Some(b) = sig.last_mut()
    {
        *b ^= 1;
    }
    let mut out = Vec::new();
    if f.tag18 {
        out.push(0xd2);
    }
    out.push(0x84);
    write_bytes(&mut out, &protected);
    out.extend_from_slice(&unprotected);
    write_bytes(&mut out, payload);
    write_bytes(&mut out, &sig);
    Ok(out)
}

/// COSE alg -7 is `0x26`, -35 is `0x38 0x22`.
fn push_alg(out: &mut Vec<u8>, alg_byte: u8) {
    if alg_byte == 0x38 {
        out.extend_from_slice(&[0x38, 0x22]);
    } else {
        out.push(alg_byte);
    }
}

/// Ten typical mDL elements for Jane Doe (identity elements first).
pub fn sample_mdl_elements() -> Vec<(String, String, Value)> {
    let ns = crate::claims::MDL_NAMESPACE;
    let date = |s: &str| Value::Tag(1004, Box::new(text(s)));
    [
        ("family_name", text("Doe")),
        ("given_name", text("Jane")),
        ("birth_date", date("1990-01-15")),
        ("document_number", text("D1234567")),
        ("issuing_country", text("US")),
        ("issuing_jurisdiction", text("US-CA")),
        ("issue_date", date("2024-03-01")),
        ("expiry_date", date("2032-03-01")),
        ("issuing_authority", text("California DMV")),
        ("age_over_18", Value::Bool(true)),
    ]
    .into_iter()
    .map(|(e, v)| (ns.to_owned(), e.to_owned(), v))
    .collect()
}

impl IssueSpec {
    /// A conforming mDL with [`sample_mdl_elements`], signed now, valid for a year.
    pub fn sample_mdl() -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            doc_type: crate::claims::MDL_DOCTYPE.to_owned(),
            elements: sample_mdl_elements(),
            signed: now - time::Duration::hours(1),
            valid_from: now - time::Duration::hours(1),
            valid_until: now + time::Duration::days(365),
            digest: DigestAlg::Sha256,
            forge: IssueForge::default(),
        }
    }

    /// Sets an mDL element (replacing it, or appending it when absent).
    pub fn with_mdl_element(mut self, element: &str, value: Value) -> Self {
        let ns = crate::claims::MDL_NAMESPACE;
        match self
            .elements
            .iter_mut()
            .find(|(n, e, _)| n == ns && e == element)
        {
            Some((_, _, v)) => *v = value,
            None => self
                .elements
                .push((ns.to_owned(), element.to_owned(), value)),
        }
        self
    }

    /// Leaves an mDL element out of the credential.
    pub fn without_mdl_element(mut self, element: &str) -> Self {
        let ns = crate::claims::MDL_NAMESPACE;
        self.elements.retain(|(n, e, _)| !(n == ns && e == element));
        self
    }

    /// Sets the licence's own `expiry_date` (a past one issues an expired licence; the MSO
    /// validity is left as it is).
    pub fn with_expiry_date(self, date: time::Date) -> Self {
        self.with_mdl_element("expiry_date", full_date(date))
    }
}

/// A `full-date` element value (`#6.1004(tstr)`).
pub fn full_date(date: time::Date) -> Value {
    let s = format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    );
    Value::Tag(1004, Box::new(Value::Text(s)))
}
