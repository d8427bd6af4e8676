//! Identity proofing output: OpenID Connect for Identity Assurance `verified_claims`
//! (trust framework `nist_800_63A`, level `ial2`) and a keyed commitment of the licence
//! number, so the same licence maps to the same person without storing the number.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

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
    #[error("required element {0} is not a full-date")]
    NotDate(&'static str),
    /// The licence's own `expiry_date` is before the verification date (UTC). Carries no
    /// date: the message reaches the wallet and the page.
    #[error("the licence has expired (its expiry date is before today)")]
    Expired,
    #[error("commitment key must be at least 32 bytes")]
    WeakKey,
}

impl IdentityError {
    /// Stable refusal class, for the wallet's error response, the page and the log:
    /// `licence_expired` for expired evidence, else `identity_incomplete` (a required
    /// element withheld or malformed).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Expired => "licence_expired",
            Self::MissingElement(_) | Self::NotText(_) | Self::NotDate(_) | Self::WeakKey => {
                "identity_incomplete"
            }
        }
    }
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

/// The licence must be unexpired at `now` (NIST SP 800-63A: IAL2 evidence is unexpired).
/// `expiry_date` is a date without a time zone; it is compared with the UTC date of `now`,
/// and a licence expiring today is still valid today. Missing or malformed, it proves no
/// identity.
pub fn require_unexpired(e: &DisclosedElements, now: OffsetDateTime) -> Result<(), IdentityError> {
    const ELEMENT: &str = "expiry_date";
    if e.get(MDL_NAMESPACE, ELEMENT).is_none() {
        return Err(IdentityError::MissingElement(ELEMENT));
    }
    let expiry = e.expiry_date().ok_or(IdentityError::NotDate(ELEMENT))?;
    if expiry < now.to_offset(UtcOffset::UTC).date() {
        return Err(IdentityError::Expired);
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

/// Builds the proofing record (names, birth date, commitment, `verified_claims`). Refuses a
/// presentation missing any of [`IDENTITY_ELEMENTS`], or of a licence expired at the
/// verification time ([`require_unexpired`]).
pub fn proofing_record(
    vp: &VerifiedPresentation,
    commitment_key: &[u8],
) -> Result<ProofingRecord, IdentityError> {
    let e = &vp.elements;
    require_identity_elements(e)?;
    require_unexpired(e, vp.verified_at)?;
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

#[cfg(test)]
mod tests {
    use ciborium::Value as Cbor;
    use time::macros::{date, datetime};

    use super::*;

    fn with_expiry(value: Option<Cbor>) -> DisclosedElements {
        let mut e = DisclosedElements::default();
        e.insert(
            MDL_NAMESPACE,
            "given_name".into(),
            Cbor::Text("Jane".into()),
        );
        if let Some(v) = value {
            e.insert(MDL_NAMESPACE, "expiry_date".into(), v);
        }
        e
    }

    fn full_date(s: &str) -> Option<Cbor> {
        Some(Cbor::Tag(1004, Box::new(Cbor::Text(s.into()))))
    }

    const NOW: OffsetDateTime = datetime!(2030-06-15 12:00 UTC);

    #[test]
    fn a_missing_expiry_date_proves_no_identity() {
        let err = require_unexpired(&with_expiry(None), NOW).unwrap_err();
        assert_eq!(err, IdentityError::MissingElement("expiry_date"));
        assert_eq!(err.code(), "identity_incomplete");
        assert!(IDENTITY_ELEMENTS.contains(&"expiry_date"));
        let err = require_identity_elements(&with_expiry(None)).unwrap_err();
        assert_eq!(err.code(), "identity_incomplete");
    }

    #[test]
    fn a_malformed_expiry_date_proves_no_identity() {
        for bad in [
            Some(Cbor::Text("15/06/2030".into())),
            Some(Cbor::Integer(20300615.into())),
        ] {
            let err = require_unexpired(&with_expiry(bad), NOW).unwrap_err();
            assert_eq!(err, IdentityError::NotDate("expiry_date"));
            assert_eq!(err.code(), "identity_incomplete");
        }
    }

    #[test]
    fn a_past_expiry_date_is_refused() {
        for past in ["2030-06-14", "2020-01-01"] {
            let err = require_unexpired(&with_expiry(full_date(past)), NOW).unwrap_err();
            assert_eq!(err, IdentityError::Expired);
            assert_eq!(err.code(), "licence_expired");
            assert!(!err.to_string().contains(past), "no date in the message");
        }
        // A plain tstr full-date is read the same way.
        let plain = Some(Cbor::Text("2030-06-14".into()));
        assert_eq!(
            require_unexpired(&with_expiry(plain), NOW),
            Err(IdentityError::Expired)
        );
    }

    #[test]
    fn a_licence_expiring_today_is_valid_all_day() {
        let e = with_expiry(full_date("2030-06-15"));
        for now in [
            datetime!(2030-06-15 00:00 UTC),
            NOW,
            datetime!(2030-06-15 23:59:59 UTC),
        ] {
            assert_eq!(require_unexpired(&e, now), Ok(()), "{now}");
        }
        assert_eq!(
            require_unexpired(&e, datetime!(2030-06-16 00:00 UTC)),
            Err(IdentityError::Expired)
        );
    }

    #[test]
    fn a_future_expiry_date_is_valid() {
        for future in ["2030-06-16", "2032-03-01"] {
            assert_eq!(
                require_unexpired(&with_expiry(full_date(future)), NOW),
                Ok(())
            );
        }
    }

    #[test]
    fn dates_are_compared_in_utc() {
        let e = with_expiry(full_date("2030-06-15"));
        // 2030-06-15 21:00 in New York is already 2030-06-16 in UTC: expired.
        let late = datetime!(2030-06-15 21:00 -4);
        assert_eq!(late.date(), date!(2030 - 06 - 15));
        assert_eq!(require_unexpired(&e, late), Err(IdentityError::Expired));
        // 2030-06-16 02:00 in Tokyo is still 2030-06-15 in UTC: valid.
        let early = datetime!(2030-06-16 02:00 +9);
        assert_eq!(early.date(), date!(2030 - 06 - 16));
        assert_eq!(require_unexpired(&e, early), Ok(()));
    }
}

/// The whole path with the test wallet: an issued licence, verified, then proofed.
#[cfg(test)]
#[cfg(feature = "test-wallet")]
mod proofing_tests {
    use time::{Date, Duration};

    use super::*;
    use crate::revocation::NoRevocationCheck;
    use crate::wallet::{self, DeviceKey, IacaOptions, IssueSpec, KeyAlg};
    use crate::{Anchor, RequestedElements, TrustStore, VerifyOptions, VerifyRequest, transcript};

    const KEY: [u8; 32] = [42u8; 32];

    /// Issues `spec`, presents what identity proofing asks for and verifies it at `now`.
    fn verified(spec: &IssueSpec, now: OffsetDateTime) -> VerifiedPresentation {
        let options = IacaOptions::new(KeyAlg::P256);
        let iaca = wallet::make_iaca(&options).unwrap();
        let ds = wallet::make_ds(&iaca, &wallet::DsOptions::new(KeyAlg::P256, &options)).unwrap();
        let anchor = Anchor::from_der(
            &iaca.cert_der,
            TrustSource::Static {
                label: "test".into(),
            },
            Vec::new(),
        )
        .unwrap();
        let trust = TrustStore::from_anchors(vec![anchor]);
        let cred = wallet::issue(&ds, DeviceKey::generate(KeyAlg::P256).unwrap(), spec).unwrap();
        let t = transcript::oid4vp("x509_san_dns:glassgate.example", "n", None, "https://r");
        let requested = RequestedElements::mdl_identity();
        let bytes = wallet::present(&cred, Some(&requested), &t)
            .unwrap()
            .encode();
        let req = VerifyRequest {
            device_response: &bytes,
            transcript: &t,
            requested: &requested,
            now,
        };
        crate::verify(&req, &trust, &NoRevocationCheck, &VerifyOptions::default()).unwrap()
    }

    #[test]
    fn proofing_refuses_an_expired_licence_and_accepts_a_valid_one() {
        let now = OffsetDateTime::now_utc();
        let today = now.to_offset(UtcOffset::UTC).date();
        let yesterday = today - Duration::days(1);
        let cases: [(Option<Date>, Result<(), IdentityError>); 4] = [
            (Some(yesterday), Err(IdentityError::Expired)),
            (Some(today), Ok(())),
            (Some(today + Duration::days(400)), Ok(())),
            (None, Err(IdentityError::MissingElement("expiry_date"))),
        ];
        for (expiry, expected) in cases {
            let spec = match expiry {
                Some(d) => IssueSpec::sample_mdl().with_expiry_date(d),
                None => IssueSpec::sample_mdl().without_mdl_element("expiry_date"),
            };
            // The MSO is valid: only the licence's own expiry decides.
            let vp = verified(&spec, now);
            assert_eq!(
                proofing_record(&vp, &KEY).map(|_| ()),
                expected,
                "{expiry:?}"
            );
        }
    }
}
