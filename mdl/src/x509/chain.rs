//! DS → IACA validation (ISO 18013-5 §9.3.3 and Annex B.1.1: the DS is issued directly by
//! the IACA; intermediates in x5chain are ignored, the anchor comes only from the trust store).

use std::sync::Arc;

use time::OffsetDateTime;

use super::{CertInfo, profile};
use crate::error::Refusal;
use crate::trust::{Anchor, AnchorSet};

/// A document signer that chains to a trusted IACA.
#[derive(Debug, Clone)]
pub struct ValidatedChain {
    pub ds: CertInfo,
    pub anchor: Arc<Anchor>,
}

/// Validates the DS certificate against the anchors at `now` for `doc_type`.
pub fn validate(
    ds_der: &[u8],
    anchors: &AnchorSet,
    doc_type: &str,
    now: OffsetDateTime,
) -> Result<ValidatedChain, Refusal> {
    let cert = super::parse(ds_der).map_err(Refusal::DsCertMalformed)?;
    let ds = super::info(&cert).map_err(Refusal::DsCertMalformed)?;

    let mut candidates = anchors
        .by_subject(&ds.issuer_der)
        .filter(|a| a.accepts_doc_type(doc_type))
        .filter(|a| match (&ds.aki, &a.info.ski) {
            (Some(aki), Some(ski)) => aki == ski,
            _ => true,
        })
        .peekable();
    if candidates.peek().is_none() {
        return Err(Refusal::UntrustedIssuer);
    }
    let anchor = candidates
        .find(|a| super::signed_by(&cert, &a.info.public_key))
        .cloned()
        .ok_or(Refusal::ChainSignatureInvalid)?;
    drop(candidates);

    if let Err(v) = &anchor.profile {
        return Err(Refusal::IacaProfile(v.clone()));
    }
    if now < anchor.info.not_before || now > anchor.info.not_after {
        return Err(Refusal::IacaNotValidAt);
    }
    profile::check_ds(&cert, &ds, &anchor.info).map_err(Refusal::DsProfile)?;
    if now < ds.not_before || now > ds.not_after {
        return Err(Refusal::DsNotValidAt);
    }
    Ok(ValidatedChain { ds, anchor })
}

/// Most entries kept; the cache is emptied when full (document signers are few).
const CACHE_CAPACITY: usize = 4096;

/// Time-independent results of [`validate`] (parse, anchor match, IACA and DS profile,
/// signature) per DS certificate and docType, keyed by a SHA-256 over both.
#[derive(Debug, Default)]
pub struct ChainCache {
    entries:
        std::sync::RwLock<std::collections::HashMap<[u8; 32], Result<ValidatedChain, Refusal>>>,
}

impl ChainCache {
    pub(crate) fn clear(&self) {
        match self.entries.write() {
            Ok(mut e) => e.clear(),
            Err(p) => p.into_inner().clear(),
        }
    }
}

fn time_checks(chain: &ValidatedChain, now: OffsetDateTime) -> Result<(), Refusal> {
    if now < chain.anchor.info.not_before || now > chain.anchor.info.not_after {
        return Err(Refusal::IacaNotValidAt);
    }
    if now < chain.ds.not_before || now > chain.ds.not_after {
        return Err(Refusal::DsNotValidAt);
    }
    Ok(())
}

/// [`validate`] with the store's cache: a DS seen before skips parsing and the certificate
/// signature check; validity at `now` and the docType filter are always re-checked.
pub fn validate_cached(
    ds_der: &[u8],
    trust: &crate::trust::TrustStore,
    doc_type: &str,
    now: OffsetDateTime,
) -> Result<ValidatedChain, Refusal> {
    let key = {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(doc_type.as_bytes());
        ctx.update(&[0]);
        ctx.update(ds_der);
        let mut k = [0u8; 32];
        k.copy_from_slice(ctx.finish().as_ref());
        k
    };
    let cached = trust
        .chain_cache
        .entries
        .read()
        .ok()
        .and_then(|e| e.get(&key).cloned());
    let outcome = match cached {
        Some(r) => r,
        None => {
            // Validate ignoring time, then cache the time-independent outcome.
            let anchors = trust.snapshot();
            let r = match validate(ds_der, &anchors, doc_type, now) {
                Err(e @ (Refusal::IacaNotValidAt | Refusal::DsNotValidAt)) => return Err(e),
                r => r,
            };
            if let Ok(mut e) = trust.chain_cache.entries.write() {
                if e.len() >= CACHE_CAPACITY {
                    e.clear();
                }
                e.insert(key, r.clone());
            }
            r
        }
    };
    let chain = outcome?;
    if !chain.anchor.accepts_doc_type(doc_type) {
        return Err(Refusal::UntrustedIssuer);
    }
    time_checks(&chain, now)?;
    Ok(chain)
}
