//! Identity proofing output: OpenID Connect for Identity Assurance `verified_claims`
//! (trust framework `nist_800_63A`, level `ial2`) and a keyed commitment of the licence
//! number, so the same licence maps to the same person without storing the number.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::claims::{DisclosedElements, IDENTITY_ELEMENTS, MDL_NAMESPACE};
use crate::trust::TrustSource;
use crate::verify::VerifiedPresentation;

/// Why a verified presentation cannot prove an identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("required element {0} not disclosed")]
    MissingElement(&'static str),
    #[error("required element {0} is not text")]
    NotText(&'static str),
    #[error("commitment key must be at least 32 bytes")]
    WeakKey,
}

/// Every element of [`IDENTITY_ELEMENTS`] must be disclosed: the commitment hashes some of
/// them, so a licence presented with and without one would otherwise commit (and enroll)
/// twice. Wallets may withhold optional elements; such a presentation proves no identity.
pub fn require_identity_elements(e: &DisclosedElements) -> Result<(), IdentityError> {
    for &name in IDENTITY_ELEMENTS {
        if e.get(MDL_NAMESPACE, name).is_none() {
            return Err(IdentityError::MissingElement(name));
        }
    }
    Ok(())
}

/// A text element the commitment depends on.
fn committed_text<'a>(
    e: &'a DisclosedElements,
    name: &'static str,
) -> Result<&'a str, IdentityError> {
    e.get(MDL_NAMESPACE, name)
        .ok_or(IdentityError::MissingElement(name))?
        .as_text()
        .ok_or(IdentityError::NotText(name))
}

/// Domain separation for the document-number commitment.
const COMMITMENT_CONTEXT: &[u8] = b"glassgate/mdl/document-number/v1";

/// HMAC-SHA256 commitment (base64url) of the licence number, scoped by doc type, issuing
/// country and jurisdiction. `key` is a server secret (≥ 32 bytes); rotate only with a
/// re-proofing plan, since commitments under a new key do not match old ones. Refuses a
/// presentation missing any of [`IDENTITY_ELEMENTS`] (see [`require_identity_elements`]).
pub fn document_commitment(key: &[u8], vp: &VerifiedPresentation) -> Result<String, IdentityError> {
    if key.len() < 32 {
        return Err(IdentityError::WeakKey);
    }
    let e = &vp.elements;
    require_identity_elements(e)?;
    let country = committed_text(e, "issuing_country")?;
    let jurisdiction = committed_text(e, "issuing_jurisdiction")?;
    let number = committed_text(e, "document_number")?;
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&k);
    for part in [
        COMMITMENT_CONTEXT,
        vp.doc_type.as_bytes(),
        country.as_bytes(),
        jurisdiction.as_bytes(),
        number.as_bytes(),
    ] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    Ok(URL_SAFE_NO_PAD.encode(ctx.sign().as_ref()))
}

/// What the account layer stores and logs after a successful proofing. Holds no licence
/// number in clear; `Debug` and `Serialize` are safe to log.
#[derive(Debug, Clone, Serialize)]
pub struct ProofingRecord {
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`.
    pub birthdate: String,
    pub document_commitment: String,
    pub doc_type: String,
    pub issuing_country: Option<String>,
    pub issuing_jurisdiction: Option<String>,
    pub iaca_subject: String,
    pub trust_source: TrustSource,
    pub verified_at: String,
    /// The OIDC `verified_claims` object.
    pub verified_claims: Value,
}

/// Builds the proofing record (names, birth date, commitment, `verified_claims`).
pub fn proofing_record(
    vp: &VerifiedPresentation,
    commitment_key: &[u8],
) -> Result<ProofingRecord, IdentityError> {
    let e = &vp.elements;
    require_identity_elements(e)?;
    let given = e
        .given_name()
        .ok_or(IdentityError::MissingElement("given_name"))?;
    let family = e
        .family_name()
        .ok_or(IdentityError::MissingElement("family_name"))?;
    let birth = e
        .birth_date()
        .ok_or(IdentityError::MissingElement("birth_date"))?;
    let commitment = document_commitment(commitment_key, vp)?;
    Ok(ProofingRecord {
        given_name: given.to_owned(),
        family_name: family.to_owned(),
        birthdate: birth.to_string(),
        document_commitment: commitment,
        doc_type: vp.doc_type.clone(),
        issuing_country: e.issuing_country().map(str::to_owned),
        issuing_jurisdiction: e.issuing_jurisdiction().map(str::to_owned),
        iaca_subject: vp.issuer.iaca_subject.clone(),
        trust_source: vp.issuer.trust_source.clone(),
        verified_at: vp.verified_at.format(&Rfc3339).unwrap_or_default(),
        verified_claims: verified_claims(vp),
    })
}

/// `verified_claims` (OpenID Connect for Identity Assurance 1.0): an mDL is a
/// `document` of type `driving_permit`, validated cryptographically (`vcrypt`).
pub fn verified_claims(vp: &VerifiedPresentation) -> Value {
    let e = &vp.elements;
    let time = vp.verified_at.format(&Rfc3339).unwrap_or_default();
    let issuer_name = e
        .issuing_authority()
        .map(str::to_owned)
        .unwrap_or_else(|| vp.issuer.iaca_subject.clone());
    let mut issuer = json!({ "name": issuer_name });
    if let Some(c) = e.issuing_country().or(vp.issuer.country.as_deref()) {
        issuer["country_code"] = json!(c);
    }
    if let Some(j) = e.issuing_jurisdiction() {
        issuer["jurisdiction"] = json!(j);
    }
    let mut claims = serde_json::Map::new();
    if let Some(v) = e.given_name() {
        claims.insert("given_name".into(), json!(v));
    }
    if let Some(v) = e.family_name() {
        claims.insert("family_name".into(), json!(v));
    }
    if let Some(v) = e.birth_date() {
        claims.insert("birthdate".into(), json!(v.to_string()));
    }
    json!({
        "verification": {
            "trust_framework": "nist_800_63A",
            "assurance_level": "ial2",
            "time": time,
            "evidence": [{
                "type": "document",
                "check_details": [{ "check_method": "vcrypt", "time": time }],
                "time": time,
                "document_details": {
                    "type": "driving_permit",
                    "doc_type": vp.doc_type,
                    "issuer": issuer,
                }
            }]
        },
        "claims": Value::Object(claims),
    })
}
