//! A patient's consent restrictions as stored: one current version per patient, replaced
//! whole on every change (compare-and-swap on its reference), together with the log entry
//! that records the change.
//!
//! A token about a patient carries the version it was decided under (`consent_reference`).
//! It stays active only while that version is current, or was left by lifting restrictions
//! only: adding a restriction ends every token decided earlier, whatever it was for, so no
//! token outlives a restriction that might forbid it. Refreshing is decided again under the
//! current version.

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
    /// Earlier versions this one was reached from by lifting restrictions only, newest
    /// last: what tokens decided under them allow, this version allows too.
    pub loosened_from: Vec<String>,
}

/// How many loosened-from versions are kept. Dropping the oldest ends its tokens early,
/// which fails closed.
const LOOSENED_FROM_KEPT: usize = 32;

impl ConsentRecord {
    /// The version after `previous` (`None`: the patient's first). A version that adds a
    /// restriction honours no earlier one; one that only lifts restrictions honours
    /// `previous` and everything `previous` honoured.
    pub fn after(
        previous: Option<&ConsentRecord>,
        reference: String,
        restrictions: ConsentRestrictions,
        updated_at: i64,
        tightened: bool,
    ) -> ConsentRecord {
        let mut loosened_from = Vec::new();
        if let (Some(previous), false) = (previous, tightened) {
            loosened_from.extend(previous.loosened_from.iter().cloned());
            loosened_from.push(previous.reference.clone());
            let excess = loosened_from.len().saturating_sub(LOOSENED_FROM_KEPT);
            loosened_from.drain(..excess);
        }
        ConsentRecord {
            reference,
            restrictions,
            updated_at,
            loosened_from,
        }
    }

    /// Whether a token decided under `reference` is still allowed by this version. `None`
    /// (decided before the patient recorded any consent) never is: a patient's first
    /// version always adds a restriction.
    pub fn honours(&self, reference: Option<&str>) -> bool {
        reference.is_some_and(|r| r == self.reference || self.loosened_from.iter().any(|l| l == r))
    }

    pub fn loosened_from_json(&self) -> String {
        serde_json::to_string(&self.loosened_from).unwrap_or_else(|_| "[]".into())
    }

    pub fn restrictions_json(&self) -> String {
        serde_json::to_string(&self.restrictions).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_row(
        reference: String,
        restrictions: &str,
        updated_at: i64,
        loosened_from: &str,
    ) -> StoreResult<ConsentRecord> {
        let corrupt = |_| super::StoreError::Corrupt("a stored consent".into());
        Ok(ConsentRecord {
            reference,
            restrictions: serde_json::from_str(restrictions).map_err(corrupt)?,
            updated_at,
            loosened_from: serde_json::from_str(loosened_from).map_err(corrupt)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn version(
        previous: Option<&ConsentRecord>,
        reference: &str,
        tightened: bool,
    ) -> ConsentRecord {
        ConsentRecord::after(
            previous,
            reference.to_owned(),
            ConsentRestrictions::default(),
            0,
            tightened,
        )
    }

    #[test]
    fn adding_a_restriction_ends_every_earlier_version_and_lifting_one_ends_none() {
        // First restriction: tokens decided before any consent end.
        let first = version(None, "a", true);
        assert!(first.honours(Some("a")));
        assert!(!first.honours(None));
        // Lifting keeps what was allowed allowed.
        let second = version(Some(&first), "b", false);
        assert!(second.honours(Some("a")) && second.honours(Some("b")));
        let third = version(Some(&second), "c", false);
        assert_eq!(third.loosened_from, ["a", "b"]);
        assert!(!third.honours(Some("unknown")) && !third.honours(None));
        // Adding again ends all of them.
        let fourth = version(Some(&third), "d", true);
        assert!(fourth.loosened_from.is_empty());
        for earlier in ["a", "b", "c"] {
            assert!(!fourth.honours(Some(earlier)), "{earlier}");
        }
        assert!(fourth.honours(Some("d")));
    }

    #[test]
    fn only_the_newest_loosened_versions_are_kept() {
        let mut current = version(None, "v0", true);
        for n in 1..=LOOSENED_FROM_KEPT + 5 {
            current = version(Some(&current), &format!("v{n}"), false);
        }
        assert_eq!(current.loosened_from.len(), LOOSENED_FROM_KEPT);
        assert!(
            !current.honours(Some("v0")),
            "the oldest fall out: fails closed"
        );
        let newest = format!("v{}", LOOSENED_FROM_KEPT + 4);
        assert_eq!(current.loosened_from.last(), Some(&newest));
        assert!(current.honours(Some(&newest)));
    }

    #[test]
    fn a_stored_version_reads_back_and_a_corrupt_one_is_refused() {
        let first = version(None, "a", true);
        let second = version(Some(&first), "b", false);
        let read = ConsentRecord::from_row(
            "b".into(),
            &second.restrictions_json(),
            0,
            &second.loosened_from_json(),
        )
        .unwrap();
        assert_eq!(read, second);
        assert!(ConsentRecord::from_row("b".into(), "{}", 0, "not json").is_err());
        assert!(ConsentRecord::from_row("b".into(), "[1]", 0, "[]").is_err());
    }
}
