//! AAMVA VICAL (ISO 18013-5 Annex C): a COSE_Sign1 over a CBOR list of IACA certificates.
//!
//! Verification: the x5chain in the COSE header must lead from the signer (EKU
//! 1.0.18013.5.1.8) to the pinned DTS root; the COSE signature must verify with the signer
//! key; `vicalIssueID` must never go backwards. The loader keeps the last good VICAL on
//! disk, refreshes at `nextUpdate`, and raises an alarm when the list is stale.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::{Anchor, SourceGroup, TrustSource, TrustStore};
use crate::cbor::{self, Raw};
use crate::crypto::CoseAlg;
use crate::error::Refusal;
use crate::issuer_auth::{parse_sign1, x5chain};
use crate::mso::tdate;
use crate::x509::{self, profile};

/// Why a VICAL was not installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VicalError {
    #[error("VICAL malformed: {0}")]
    Malformed(String),
    #[error("VICAL signer chain: {0}")]
    Chain(String),
    #[error("VICAL signer lacks EKU 1.0.18013.5.1.8")]
    SignerEku,
    #[error("VICAL signature does not verify")]
    Signature,
    #[error("vicalIssueID went backwards ({got} < {current})")]
    NotMonotonic { current: u64, got: u64 },
    #[error("VICAL fetch failed: {0}")]
    Fetch(String),
}

/// Facts about an installed VICAL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VicalMeta {
    pub provider: String,
    pub issue_id: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub date: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
    pub anchors: usize,
    /// Entries skipped (unparseable or expired), with reasons.
    pub skipped: Vec<String>,
}

/// A verified VICAL and the anchors it admits.
#[derive(Debug, Clone)]
pub struct VerifiedVical {
    pub meta: VicalMeta,
    pub anchors: Vec<Anchor>,
}

fn malformed(e: impl ToString) -> VicalError {
    VicalError::Malformed(e.to_string())
}

/// Checks that x5chain leads from the signer to the pinned root (each valid at `now`).
fn check_chain(chain: &[Vec<u8>], root_der: &[u8], now: OffsetDateTime) -> Result<(), VicalError> {
    let root = x509::parse(root_der).map_err(VicalError::Chain)?;
    let root_key = x509::public_key(&root).map_err(VicalError::Chain)?;
    let certs: Vec<_> = chain
        .iter()
        .filter(|d| d.as_slice() != root_der)
        .map(|d| x509::parse(d).map_err(VicalError::Chain))
        .collect::<Result<_, _>>()?;
    let signer = certs
        .first()
        .ok_or_else(|| VicalError::Chain("empty x5chain".into()))?;
    for (i, cert) in certs.iter().enumerate() {
        let v = cert.validity();
        if now < v.not_before.to_datetime() || now > v.not_after.to_datetime() {
            return Err(VicalError::Chain(format!("certificate {i} not valid now")));
        }
        let issuer_key = match certs.get(i + 1) {
            Some(next) => {
                if !matches!(next.basic_constraints(), Ok(Some(bc)) if bc.value.ca) {
                    return Err(VicalError::Chain(format!(
                        "certificate {} is not a CA",
                        i + 1
                    )));
                }
                x509::public_key(next).map_err(VicalError::Chain)?
            }
            None => {
                if cert.issuer().as_raw() != root.subject().as_raw() {
                    return Err(VicalError::Chain(
                        "chain does not end at the pinned root".into(),
                    ));
                }
                root_key.clone()
            }
        };
        if !x509::signed_by(cert, &issuer_key) {
            return Err(VicalError::Chain(format!(
                "certificate {i} signature invalid"
            )));
        }
    }
    let rv = root.validity();
    if now < rv.not_before.to_datetime() || now > rv.not_after.to_datetime() {
        return Err(VicalError::Chain("pinned root not valid now".into()));
    }
    match profile::eku(signer) {
        Some((_, ekus)) if ekus.iter().any(|e| e == profile::EKU_VICAL_SIGNER) => Ok(()),
        _ => Err(VicalError::SignerEku),
    }
}

/// Verifies a signed VICAL against the pinned DTS root and extracts its anchors.
pub fn verify(
    bytes: &[u8],
    root_der: &[u8],
    now: OffsetDateTime,
) -> Result<VerifiedVical, VicalError> {
    let raw = cbor::decode_one(bytes, "SignedVical").map_err(malformed)?;
    let sign1 = parse_sign1(raw, Refusal::IssuerAuthMalformed).map_err(malformed)?;
    let chain = x5chain(&sign1).map_err(malformed)?;
    check_chain(&chain, root_der, now)?;
    let signer = x509::parse(&chain[0]).map_err(VicalError::Chain)?;
    let key = x509::public_key(&signer).map_err(VicalError::Chain)?;
    let alg = sign1
        .protected
        .header
        .alg
        .as_ref()
        .ok_or_else(|| malformed("no alg"))?;
    let alg = CoseAlg::from_cose(alg).map_err(malformed)?;
    crate::crypto::verify_cose(
        alg,
        &key,
        &sign1.tbs_data(b""),
        &sign1.signature,
        Refusal::AlgorithmKeyMismatch,
        Refusal::IssuerSignatureInvalid,
    )
    .map_err(|_| VicalError::Signature)?;

    let payload = sign1
        .payload
        .as_deref()
        .ok_or_else(|| malformed("no payload"))?;
    parse_payload(payload, now)
}

fn parse_payload(payload: &[u8], now: OffsetDateTime) -> Result<VerifiedVical, VicalError> {
    let m = cbor::decode_one(payload, "VICAL")
        .and_then(|r| r.map("VICAL"))
        .map_err(malformed)?;
    let provider = cbor::text_field(&m, "vicalProvider").map_err(malformed)?;
    let date = tdate(cbor::require(&m, "date").map_err(malformed)?, "date").map_err(malformed)?;
    let issue_id = cbor::get(&m, "vicalIssueID").and_then(|r| r.uint());
    let next_update = match cbor::get(&m, "nextUpdate") {
        Some(r) => Some(tdate(r, "nextUpdate").map_err(malformed)?),
        None => None,
    };
    let source = TrustSource::Vical {
        provider: provider.clone(),
        issue_id,
        date: date.format(&Rfc3339).unwrap_or_default(),
    };
    let mut anchors = Vec::new();
    let mut skipped = Vec::new();
    let infos = cbor::require(&m, "certificateInfos")
        .and_then(|r| r.array("certificateInfos"))
        .map_err(malformed)?;
    for (i, info) in infos.into_iter().enumerate() {
        match anchor_from_info(info, &source, now) {
            Ok(a) => anchors.push(a),
            Err(e) => skipped.push(format!("entry {i}: {e}")),
        }
    }
    let meta = VicalMeta {
        provider,
        issue_id,
        date,
        next_update,
        anchors: anchors.len(),
        skipped,
    };
    Ok(VerifiedVical { meta, anchors })
}

fn anchor_from_info(
    info: Raw<'_>,
    source: &TrustSource,
    now: OffsetDateTime,
) -> Result<Anchor, String> {
    let e = info.map("CertificateInfo").map_err(|e| e.to_string())?;
    let der = cbor::require(&e, "certificate")
        .ok()
        .and_then(|c| c.byte_string())
        .ok_or("no certificate")?;
    let doc_types = match cbor::get(&e, "docType") {
        Some(d) => d
            .array("docType")
            .map_err(|e| e.to_string())?
            .iter()
            .filter_map(|t| t.text().map(|s| s.into_owned()))
            .collect(),
        None => Vec::new(),
    };
    let anchor = Anchor::from_der(&der, source.clone(), doc_types)?;
    if now > anchor.info.not_after {
        return Err(format!("{} expired", anchor.info.subject));
    }
    Ok(anchor)
}

/// Keeps the VICAL group of a trust store current.
#[derive(Debug)]
pub struct VicalLoader {
    root_der: Vec<u8>,
    /// Where the last good VICAL is kept (survives restarts).
    cache_path: Option<PathBuf>,
    current: Mutex<Option<VicalMeta>>,
    last_error: Mutex<Option<String>>,
    /// How long past `nextUpdate` before [`VicalLoader::alarm`] fires.
    pub grace: Duration,
}

impl VicalLoader {
    /// A loader pinned to `root_der` (the AAMVA DTS Root CA).
    pub fn new(root_der: Vec<u8>, cache_path: Option<PathBuf>) -> Self {
        Self {
            root_der,
            cache_path,
            current: Mutex::new(None),
            last_error: Mutex::new(None),
            grace: Duration::hours(12),
        }
    }

    fn current(&self) -> Option<VicalMeta> {
        match self.current.lock() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_error(&self, e: Option<String>) {
        match self.last_error.lock() {
            Ok(mut g) => *g = e,
            Err(p) => *p.into_inner() = e,
        }
    }

    /// Verifies `bytes` and, if newer, swaps its anchors into `store` and writes the cache.
    pub fn install(
        &self,
        store: &TrustStore,
        bytes: &[u8],
        now: OffsetDateTime,
    ) -> Result<VicalMeta, VicalError> {
        let result = self.install_inner(store, bytes, now);
        self.set_error(result.as_ref().err().map(ToString::to_string));
        result
    }

    fn install_inner(
        &self,
        store: &TrustStore,
        bytes: &[u8],
        now: OffsetDateTime,
    ) -> Result<VicalMeta, VicalError> {
        let v = verify(bytes, &self.root_der, now)?;
        if let (Some(cur), Some(got)) = (self.current().and_then(|c| c.issue_id), v.meta.issue_id) {
            if got < cur {
                return Err(VicalError::NotMonotonic { current: cur, got });
            }
            if got == cur {
                return Ok(v.meta);
            }
        }
        store.replace(SourceGroup::Vical, v.anchors);
        if let Some(path) = &self.cache_path {
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, bytes)
                .and_then(|()| std::fs::rename(&tmp, path))
                .is_err()
            {
                tracing::warn!(path = %path.display(), "could not write the VICAL cache");
            }
        }
        match self.current.lock() {
            Ok(mut c) => *c = Some(v.meta.clone()),
            Err(p) => *p.into_inner() = Some(v.meta.clone()),
        }
        Ok(v.meta)
    }

    /// Installs the cached last good VICAL (at startup).
    pub fn load_cached(
        &self,
        store: &TrustStore,
        now: OffsetDateTime,
    ) -> Result<Option<VicalMeta>, VicalError> {
        let Some(path) = &self.cache_path else {
            return Ok(None);
        };
        match std::fs::read(path) {
            Ok(bytes) => self.install(store, &bytes, now).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Fetches `url` and installs it. On failure the last good VICAL stays in force.
    pub async fn refresh(&self, store: &TrustStore, url: &str) -> Result<VicalMeta, VicalError> {
        let fetched = async {
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(|e| e.to_string())?;
            let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
            if !resp.status().is_success() {
                return Err(format!("HTTP {}", resp.status()));
            }
            resp.bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| e.to_string())
        }
        .await;
        match fetched {
            Ok(bytes) => self.install(store, &bytes, OffsetDateTime::now_utc()),
            Err(e) => {
                self.set_error(Some(e.clone()));
                Err(VicalError::Fetch(e))
            }
        }
    }

    /// When to refresh next (`nextUpdate`, or one day after `date`).
    pub fn next_refresh_at(&self) -> Option<OffsetDateTime> {
        self.current()
            .map(|c| c.next_update.unwrap_or(c.date + Duration::days(1)))
    }

    /// An alarm message when no VICAL is installed, or it is past `nextUpdate` + grace.
    pub fn alarm(&self, now: OffsetDateTime) -> Option<String> {
        let last_error = match self.last_error.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        match self.next_refresh_at() {
            None => Some(format!(
                "no VICAL installed{}",
                last_error.map(|e| format!(": {e}")).unwrap_or_default()
            )),
            Some(t) if now > t + self.grace => Some(format!(
                "VICAL stale since {}{}",
                t.format(&Rfc3339).unwrap_or_default(),
                last_error
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default()
            )),
            Some(_) => None,
        }
    }
}
