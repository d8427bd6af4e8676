//! The ordered verification pipeline (mdl.md §2.4; ISO 18013-5 §9.3.1 and §9.1.3).
//!
//! 0. DeviceResponse: version "1.0", status 0, no documentErrors, exactly one document,
//!    docType the requested one.
//!
//! 1–2. DS certificate from x5chain[0], chained to a trusted IACA under Annex B.
//! 3. issuerAuth signature with the DS key.
//! 4. MSO version, digest algorithm, docType.
//! 5. Every disclosed item's digest (raw tag-24 bytes, constant-time), no duplicates.
//! 6. validityInfo against the DS validity and now.
//! 7. issuing_country / issuing_jurisdiction against the DS subject.
//! 8. Device signature over the transcript we built.
//! 9. Revocation (DS CRL, MSO status list).
//! 10. Only requested elements.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::claims::{DisclosedElements, MDL_NAMESPACE, RequestedElements};
use crate::crypto::{CoseAlg, DigestAlg};
use crate::error::Refusal;
use crate::mso::ValidityInfo;
use crate::revocation::{
    CredentialStatus, DsStatus, RevocationChecker, RevocationOutcome, RevocationPolicy,
};
use crate::transcript::SessionTranscript;
use crate::trust::{TrustSource, TrustStore};
use crate::x509::chain::{self, ValidatedChain};
use crate::{device_auth, device_response, digests, issuer_auth, mso, validity};

/// Tunables. The defaults are the production settings.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Clock skew tolerated on validity windows.
    pub skew: Duration,
    pub revocation: RevocationPolicy,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            skew: Duration::minutes(5),
            revocation: RevocationPolicy::default(),
        }
    }
}

/// Everything the verifier needs besides the trust store and the revocation checker.
#[derive(Debug, Clone, Copy)]
pub struct VerifyRequest<'a> {
    /// The DeviceResponse CBOR bytes (already base64url-decoded).
    pub device_response: &'a [u8],
    /// The transcript built from *our* request state.
    pub transcript: &'a SessionTranscript,
    /// What our DCQL query asked for.
    pub requested: &'a RequestedElements,
    pub now: OffsetDateTime,
}

/// The issuing authority as established by the trust store.
#[derive(Debug, Clone, Serialize)]
pub struct IssuerInfo {
    /// IACA subject (RFC 4514 string).
    pub iaca_subject: String,
    pub iaca_fingerprint: String,
    pub country: Option<String>,
    pub state: Option<String>,
    /// Which trust source admitted the IACA.
    pub trust_source: TrustSource,
}

/// The document signer certificate.
#[derive(Debug, Clone, Serialize)]
pub struct DsInfo {
    pub subject: String,
    pub serial_hex: String,
    pub fingerprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub signature_algorithm: CoseAlg,
}

/// A presentation that passed every check.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedPresentation {
    pub doc_type: String,
    #[serde(skip)]
    pub elements: DisclosedElements,
    pub issuer: IssuerInfo,
    pub document_signer: DsInfo,
    pub validity: ValidityInfo,
    pub digest_algorithm: DigestAlg,
    pub revocation: RevocationOutcome,
    #[serde(with = "time::serde::rfc3339")]
    pub verified_at: OffsetDateTime,
}

impl VerifiedPresentation {
    /// JSON view for the CLI and logs (`redact_document_number` for logs).
    pub fn to_json(&self, redact_document_number: bool) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "elements".into(),
                self.elements.to_json(redact_document_number),
            );
        }
        v
    }
}

/// Runs the full pipeline. Returns the first refusal encountered, in the order above.
pub fn verify(
    req: &VerifyRequest<'_>,
    trust: &TrustStore,
    revocation: &dyn RevocationChecker,
    opts: &VerifyOptions,
) -> Result<VerifiedPresentation, Refusal> {
    let authenticated = authenticate(req, trust)?;
    verify_authenticated(req, authenticated, revocation, opts)
}

/// A presentation through steps 0–4: its DS chains to a trust anchor and its MSO carries
/// that DS's valid signature. Only from here may anything it names (revocation URLs) be
/// acted on.
#[derive(Debug)]
pub(crate) struct Authenticated<'a> {
    doc: device_response::Document<'a>,
    issuer_alg: CoseAlg,
    pub(crate) chain: ValidatedChain,
    pub(crate) mso: mso::Mso,
}

/// Steps 0–4.
pub(crate) fn authenticate<'a>(
    req: &VerifyRequest<'a>,
    trust: &TrustStore,
) -> Result<Authenticated<'a>, Refusal> {
    // 0. DeviceResponse framing.
    let response = device_response::parse(req.device_response)?;
    if response.version != "1.0" {
        return Err(Refusal::ResponseVersion(response.version));
    }
    if response.status != 0 {
        return Err(Refusal::ResponseStatus(response.status));
    }
    if response.has_document_errors {
        return Err(Refusal::DocumentErrors);
    }
    let mut documents = response.documents;
    if documents.len() > 1 {
        return Err(Refusal::MultipleDocuments(documents.len()));
    }
    let doc = documents.pop().ok_or(Refusal::NoDocument)?;
    if doc.doc_type != req.requested.doc_type {
        return Err(Refusal::DocTypeNotRequested {
            got: doc.doc_type.clone(),
            expected: req.requested.doc_type.clone(),
        });
    }

    // 1–2. Document signer and chain.
    let ia = issuer_auth::parse(doc.issuer_signed.issuer_auth)?;
    let ds_der = ia.x5chain.first().ok_or(Refusal::MissingX5Chain)?;
    let chain = chain::validate_cached(ds_der, trust, &doc.doc_type, req.now)?;

    // 3. issuerAuth signature.
    issuer_auth::verify_signature(&ia, &chain.ds.public_key)?;

    // 4. MSO.
    let mso = mso::parse(&ia.mso_bytes)?;
    if mso.version != "1.0" {
        return Err(Refusal::MsoVersion(mso.version));
    }
    if mso.doc_type != doc.doc_type {
        return Err(Refusal::MsoDocTypeMismatch {
            mso: mso.doc_type,
            document: doc.doc_type.clone(),
        });
    }
    Ok(Authenticated {
        doc,
        issuer_alg: ia.alg,
        chain,
        mso,
    })
}

/// Steps 5–10 of a presentation [`authenticate`] accepted.
pub(crate) fn verify_authenticated(
    req: &VerifyRequest<'_>,
    authenticated: Authenticated<'_>,
    revocation: &dyn RevocationChecker,
    opts: &VerifyOptions,
) -> Result<VerifiedPresentation, Refusal> {
    let Authenticated {
        doc,
        issuer_alg,
        chain,
        mso,
    } = authenticated;

    // 5. Digests.
    let items = digests::verify_items(&doc.issuer_signed.name_spaces, &mso)?;

    // 6. Validity.
    validity::check(
        &mso.validity,
        chain.ds.not_before,
        chain.ds.not_after,
        req.now,
        opts.skew,
    )?;

    // 10 (binding, checked before values are used). Only requested elements.
    let mut elements = DisclosedElements::default();
    for (ns, list) in &items {
        for item in list {
            if !req.requested.contains(ns, &item.element_identifier) {
                return Err(Refusal::ElementNotRequested {
                    namespace: ns.clone(),
                    element: item.element_identifier.clone(),
                });
            }
            let value = crate::cbor::to_value(item.element_value)
                .map_err(|e| Refusal::ItemMalformed(e.to_string()))?;
            elements.insert(ns, item.element_identifier.clone(), value);
        }
    }

    // 7. mDL data rules.
    check_issuing_authority(&elements, &chain)?;

    // 8. Device authentication.
    device_auth::verify(
        &doc.device_signed,
        &mso.device_key,
        req.transcript,
        &doc.doc_type,
    )?;

    // 9. Revocation.
    let outcome = check_revocation(revocation, &mso.status, &chain, req.now, opts.revocation)?;

    Ok(VerifiedPresentation {
        doc_type: doc.doc_type.clone(),
        elements,
        issuer: IssuerInfo {
            iaca_subject: chain.anchor.info.subject.clone(),
            iaca_fingerprint: chain.anchor.info.fingerprint.clone(),
            country: chain.anchor.info.country.clone(),
            state: chain.anchor.info.state.clone(),
            trust_source: chain.anchor.source.clone(),
        },
        document_signer: DsInfo {
            subject: chain.ds.subject.clone(),
            serial_hex: hex::encode(&chain.ds.serial),
            fingerprint: chain.ds.fingerprint.clone(),
            not_before: chain.ds.not_before,
            not_after: chain.ds.not_after,
            signature_algorithm: issuer_alg,
        },
        validity: mso.validity,
        digest_algorithm: mso.digest_algorithm,
        revocation: outcome,
        verified_at: req.now,
    })
}

/// `issuing_country` must equal the DS C; `issuing_jurisdiction` the DS ST (when both exist).
fn check_issuing_authority(
    elements: &DisclosedElements,
    chain: &ValidatedChain,
) -> Result<(), Refusal> {
    if let Some(c) = elements.get(MDL_NAMESPACE, "issuing_country") {
        let c = c.as_text().unwrap_or_default();
        let cert = chain.ds.country.clone().unwrap_or_default();
        if c != cert {
            return Err(Refusal::IssuingCountryMismatch {
                element: c.to_owned(),
                certificate: cert,
            });
        }
    }
    if let (Some(j), Some(st)) = (
        elements.get(MDL_NAMESPACE, "issuing_jurisdiction"),
        &chain.ds.state,
    ) {
        let j = j.as_text().unwrap_or_default();
        if !jurisdiction_matches(j, st) {
            return Err(Refusal::IssuingJurisdictionMismatch {
                element: j.to_owned(),
                certificate: st.clone(),
            });
        }
    }
    Ok(())
}

/// `US-AK` (ISO 3166-2) and `AK` (as Alaska writes its certificates) are the same.
fn jurisdiction_matches(element: &str, st: &str) -> bool {
    let strip = |s: &str| {
        s.rsplit_once('-')
            .map(|(_, r)| r.to_owned())
            .unwrap_or_else(|| s.to_owned())
    };
    element == st || strip(element) == strip(st)
}

fn check_revocation(
    checker: &dyn RevocationChecker,
    status: &Option<mso::MsoStatus>,
    chain: &ValidatedChain,
    now: OffsetDateTime,
    policy: RevocationPolicy,
) -> Result<RevocationOutcome, Refusal> {
    let ds = checker.ds_status(chain, now);
    match (&ds, policy) {
        (DsStatus::Revoked, _) => return Err(Refusal::DsRevoked),
        (DsStatus::Unknown(why), RevocationPolicy::RequireKnownGood) => {
            return Err(Refusal::RevocationUnavailable(why.clone()));
        }
        _ => {}
    }
    let credential = status
        .as_ref()
        .map(|s| checker.credential_status(s, chain, now));
    match (&credential, policy) {
        (Some(CredentialStatus::Invalid(v)), _) => return Err(Refusal::CredentialRevoked(*v)),
        (Some(CredentialStatus::Unknown(why)), RevocationPolicy::RequireKnownGood) => {
            return Err(Refusal::RevocationUnavailable(why.clone()));
        }
        _ => {}
    }
    Ok(RevocationOutcome { ds, credential })
}

#[cfg(test)]
mod tests {
    #[test]
    fn jurisdictions() {
        assert!(super::jurisdiction_matches("US-AK", "AK"));
        assert!(super::jurisdiction_matches("US-AK", "US-AK"));
        assert!(!super::jurisdiction_matches("US-CA", "US-AK"));
    }
}
