//! A patient's consent restrictions as stored: one current version per patient, replaced
//! whole on every change (compare-and-swap on its reference), together with the log entry
//! that records the change.

use async_trait::async_trait;
use glassgate_policies::ConsentRestrictions;

use super::StoreResult;
use super::model::PendingEntry;

/// The restrictions a patient has in force, and the reference naming this version (what
/// tokens decided under it carry as `consent_reference`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub reference: String,
    pub restrictions: ConsentRestrictions,
    pub updated_at: i64,
}

impl ConsentRecord {
    pub fn restrictions_json(&self) -> String {
        serde_json::to_string(&self.restrictions).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_row(
        reference: String,
        restrictions: &str,
        updated_at: i64,
    ) -> StoreResult<ConsentRecord> {
        Ok(ConsentRecord {
            reference,
            restrictions: serde_json::from_str(restrictions)
                .map_err(|_| super::StoreError::Corrupt("a stored consent".into()))?,
            updated_at,
        })
    }
}

#[async_trait]
pub trait ConsentRepository: Send + Sync {
    /// The patient's current consent, `None` when they never recorded one.
    async fn consent(&self, patient: &str) -> StoreResult<Option<ConsentRecord>>;
    /// Replace the patient's consent with `next` if the stored version is still
    /// `expected` (`None`: none stored yet), sequencing `log` in the same transaction.
    /// `false` when another change came first (nothing is written then).
    async fn replace(
        &self,
        patient: &str,
        expected: Option<&str>,
        next: &ConsentRecord,
        log: &PendingEntry,
    ) -> StoreResult<bool>;
}
