//! DS revocation via the IACA's CRL (RFC 5280), fetched over HTTP from the DS (or IACA)
//! cRLDistributionPoints, cached, verified against the IACA key once per anchor, and
//! refreshed at `nextUpdate` (last good CRL kept on fetch failure). Nothing is fetched for a
//! presentation until its issuer is authenticated (see [`HttpRevocation::verify`]).

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

pub use super::fetch::MAX_FETCH_LEN;
use super::fetch::{self, FetchPlan};
use super::{CredentialStatus, DsStatus, RevocationChecker, status_list};
use crate::crypto::{CertSigAlg, PublicKey};
use crate::mso::MsoStatus;
use crate::x509::chain::ValidatedChain;

/// A verified CRL.
#[derive(Debug, Clone)]
pub struct VerifiedCrl {
    pub revoked_serials: HashSet<Vec<u8>>,
    pub this_update: OffsetDateTime,
    pub next_update: Option<OffsetDateTime>,
}

fn strip_zero(s: &[u8]) -> Vec<u8> {
    match s {
        [0, rest @ ..] if !rest.is_empty() => rest.to_vec(),
        all => all.to_vec(),
    }
}

/// Parses a DER CRL and checks it was issued and signed by the IACA (`issuer_subject_der`,
/// `issuer_key`).
pub fn verify_crl(
    der: &[u8],
    issuer_subject_der: &[u8],
    issuer_key: &PublicKey,
) -> Result<VerifiedCrl, String> {
    let (rest, crl) = CertificateRevocationList::from_der(der).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err("trailing bytes after the CRL".into());
    }
    if crl.issuer().as_raw() != issuer_subject_der {
        return Err("CRL issuer is not the IACA".into());
    }
    let alg = CertSigAlg::from_oid(&crl.signature_algorithm.algorithm.to_id_string())
        .ok_or("unsupported CRL signature algorithm")?;
    if !crate::crypto::verify_x509(
        alg,
        issuer_key,
        crl.tbs_cert_list.as_ref(),
        &crl.signature_value.data,
    ) {
        return Err("CRL signature does not verify with the IACA key".into());
    }
    Ok(VerifiedCrl {
        revoked_serials: crl
            .iter_revoked_certificates()
            .map(|r| strip_zero(r.raw_serial()))
            .collect(),
        this_update: crl.last_update().to_datetime(),
        next_update: crl.next_update().map(|t| t.to_datetime()),
    })
}

#[derive(Debug)]
struct CrlEntry {
    der: Vec<u8>,
    fetched_at: OffsetDateTime,
    /// Verification result memoised per IACA fingerprint.
    verified: Option<(String, Result<VerifiedCrl, String>)>,
}

/// Fetches and caches CRLs and status lists over HTTP (each cache bounded by
/// [`fetch::MAX_CACHED`]).
#[derive(Debug)]
pub struct HttpRevocation {
    client: reqwest::Client,
    crls: RwLock<HashMap<String, CrlEntry>>,
    pub(crate) status_lists: RwLock<HashMap<String, status_list::Cached>>,
    /// Refetch at least this often even if `nextUpdate` is later.
    pub max_age: Duration,
    /// Clock skew tolerated on `thisUpdate`/`nextUpdate`.
    pub skew: Duration,
}

impl HttpRevocation {
    /// A checker with a 10 s HTTP timeout and a 6 h maximum cache age.
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            client: fetch::client(StdDuration::from_secs(10))?,
            crls: RwLock::default(),
            status_lists: RwLock::default(),
            max_age: Duration::hours(6),
            skew: Duration::minutes(5),
        })
    }

    pub(crate) async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        fetch::get(&self.client, url, MAX_FETCH_LEN).await
    }

    fn due(&self, url: &str, now: OffsetDateTime) -> bool {
        let crls = match self.crls.read() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        match crls.get(url) {
            None => true,
            Some(e) => {
                let next = e
                    .verified
                    .as_ref()
                    .and_then(|(_, r)| r.as_ref().ok())
                    .and_then(|c| c.next_update);
                now - e.fetched_at > self.max_age || next.is_some_and(|n| now >= n)
            }
        }
    }

    /// Fetches the CRLs at `urls` that are missing or due. Failures keep the last good copy
    /// and are returned for logging/alarms. `urls` must come from validated certificates.
    async fn prefetch_crls(&self, urls: &[String]) -> Vec<(String, String)> {
        let now = OffsetDateTime::now_utc();
        let mut errors = Vec::new();
        for url in urls {
            if !self.due(url, now) {
                continue;
            }
            match self.get(url).await {
                Ok(der) => {
                    let mut crls = match self.crls.write() {
                        Ok(c) => c,
                        Err(p) => p.into_inner(),
                    };
                    fetch::insert_bounded(
                        &mut crls,
                        url.clone(),
                        CrlEntry {
                            der,
                            fetched_at: now,
                            verified: None,
                        },
                        |e| e.fetched_at,
                    );
                }
                Err(e) => errors.push((url.clone(), e)),
            }
        }
        errors
    }

    /// Refreshes every cached CRL that is due (call periodically).
    pub async fn refresh(&self) -> Vec<(String, String)> {
        let urls: Vec<String> = match self.crls.read() {
            Ok(c) => c.keys().cloned().collect(),
            Err(p) => p.into_inner().keys().cloned().collect(),
        };
        self.prefetch_crls(&urls).await
    }

    /// Fetches what `plan` names (the DS CRL and the MSO status list).
    async fn prefetch(&self, plan: &FetchPlan) -> Vec<(String, String)> {
        let mut errors = self.prefetch_crls(&plan.crls).await;
        if let Some(uri) = &plan.status_list
            && let Err(e) = self.prefetch_status_list(uri).await
        {
            errors.push((uri.clone(), e));
        }
        errors
    }

    /// The server's entry point: authenticates the issuer (chain to a trust anchor, MSO
    /// signature), only then fetches what revocation needs (cached; URLs taken from the
    /// validated certificates and the signed MSO, at most
    /// [`fetch::MAX_URLS_PER_PRESENTATION`]), then runs the rest of the pipeline with this
    /// checker. Fetch failures are returned for logging; they only refuse under
    /// [`super::RevocationPolicy::RequireKnownGood`].
    pub async fn verify(
        &self,
        req: &crate::verify::VerifyRequest<'_>,
        trust: &crate::trust::TrustStore,
        opts: &crate::verify::VerifyOptions,
    ) -> (
        Result<crate::verify::VerifiedPresentation, crate::error::Refusal>,
        Vec<(String, String)>,
    ) {
        // Unauthenticated input names no URL we connect to.
        let authenticated = match crate::verify::authenticate(req, trust) {
            Ok(a) => a,
            Err(refusal) => return (Err(refusal), Vec::new()),
        };
        let plan = fetch::plan(&authenticated.chain, authenticated.mso.status.as_ref());
        let fetch_errors = self.prefetch(&plan).await;
        (
            crate::verify::verify_authenticated(req, authenticated, self, opts),
            fetch_errors,
        )
    }

    fn crl_status(
        &self,
        url: &str,
        chain: &ValidatedChain,
        now: OffsetDateTime,
    ) -> Option<DsStatus> {
        let anchor_fp = &chain.anchor.info.fingerprint;
        {
            let crls = self.crls.read().ok()?;
            let e = crls.get(url)?;
            if let Some((fp, result)) = &e.verified
                && fp == anchor_fp
            {
                return Some(self.decide(result, chain, now));
            }
        }
        let mut crls = self.crls.write().ok()?;
        let e = crls.get_mut(url)?;
        let result = verify_crl(
            &e.der,
            &chain.anchor.info.subject_der,
            &chain.anchor.info.public_key,
        );
        let status = self.decide(&result, chain, now);
        e.verified = Some((anchor_fp.clone(), result));
        Some(status)
    }

    fn decide(
        &self,
        crl: &Result<VerifiedCrl, String>,
        chain: &ValidatedChain,
        now: OffsetDateTime,
    ) -> DsStatus {
        match crl {
            Err(e) => DsStatus::Unknown(format!("CRL rejected: {e}")),
            Ok(c) if c.revoked_serials.contains(&strip_zero(&chain.ds.serial)) => DsStatus::Revoked,
            Ok(c) if c.this_update > now + self.skew => {
                DsStatus::Unknown("CRL not yet valid".into())
            }
            Ok(c) if c.next_update.is_some_and(|n| n + self.skew < now) => {
                DsStatus::Unknown("CRL past nextUpdate".into())
            }
            Ok(_) => DsStatus::Good,
        }
    }
}

impl RevocationChecker for HttpRevocation {
    fn ds_status(&self, chain: &ValidatedChain, now: OffsetDateTime) -> DsStatus {
        let mut last = DsStatus::Unknown("no CRL fetched".into());
        for url in fetch::crl_urls(chain) {
            match self.crl_status(url, chain, now) {
                Some(s @ (DsStatus::Good | DsStatus::Revoked)) => return s,
                Some(s) => last = s,
                None => {}
            }
        }
        last
    }

    fn credential_status(
        &self,
        status: &MsoStatus,
        chain: &ValidatedChain,
        now: OffsetDateTime,
    ) -> CredentialStatus {
        status_list::credential_status(self, status, chain, now)
    }
}
