//! Claims payers have on record (imported by the operator), read when a payer's request
//! names a patient: the encounters of recent claims are what policy may let it see.

use async_trait::async_trait;

use super::StoreResult;
use super::model::PendingEntry;

/// One claim: which payer holds it, about which patient and encounter, and its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClaim {
    /// The payer's organisation id (as clients are configured with).
    pub payer: String,
    pub claim_id: String,
    /// The patient's identifier here (their `sub`).
    pub patient: String,
    /// FHIR Encounter id the claim is for.
    pub encounter: String,
    /// Unix seconds (the claim's service or submission date, as the network defines it).
    pub claim_date: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedClaims {
    pub inserted: u64,
    pub replaced: u64,
}

#[async_trait]
pub trait ClaimRepository: Send + Sync {
    /// The payer's claims about `patient` dated `since` or later, newest first.
    async fn claims(&self, payer: &str, patient: &str, since: i64)
    -> StoreResult<Vec<StoredClaim>>;
    /// Insert or replace (by payer and claim id) all of `claims` and sequence `log`, in one
    /// transaction: all or nothing.
    async fn import(
        &self,
        claims: &[StoredClaim],
        log: &PendingEntry,
    ) -> StoreResult<ImportedClaims>;
}
