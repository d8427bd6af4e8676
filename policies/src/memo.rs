//! Decision memo: a decision is a pure function of the policy set and the question, so an
//! identical question (same stage, person, client, purpose, scopes, patient, consent) gets
//! the outcome evaluated the first time, under a fresh decision id. Backends asking for the
//! same token every few minutes, and every replica's steady stream of identical requests,
//! then cost a hash lookup instead of one Cedar evaluation per candidate scope. Questions
//! are keyed as the policies of their slice see them ([`crate::observed`]): identifiers no
//! policy can tell apart are numbered, what no policy reads is left out, so questions that
//! differ only there are one question.
//!
//! The clock is the one input left out of the key, so requests whose answer can depend on
//! it are never memoized: requests with claim records (claim dates are compared with the
//! time), and every request under a policy set where a policy reads `context.now` other
//! than through a claim date.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use cedar_policy::PolicySet;
use serde::Serialize;

use crate::decision::Outcome;
use crate::observed::Observed;
use crate::request::AccessRequest;

/// Entries kept; the memo is emptied when full (questions repeat, or they do not).
const CAPACITY: usize = 16_384;

type Answer = Arc<(Outcome, BTreeSet<String>)>;

pub(crate) struct Memo {
    enabled: bool,
    entries: Mutex<HashMap<Vec<u8>, Answer>>,
}

/// The question without its clock.
#[derive(Serialize)]
struct Key<'a> {
    stage: &'a crate::request::Stage,
    person: &'a Option<crate::request::Person>,
    client: &'a crate::request::ClientInfo,
    purpose: &'a crate::purpose::PurposeOfUse,
    scopes: &'a crate::scopes::ScopeSet,
    patient_context: &'a Option<String>,
    consent: &'a Option<crate::consent::ConsentRestrictions>,
}

impl Memo {
    /// Enabled unless a policy of `set` reads the clock outside a claim-date rule.
    pub(crate) fn for_policies(set: &PolicySet) -> Memo {
        let reads_clock = set.policies().any(|p| {
            let text = p.to_string();
            text.contains("context.now") && !text.contains("claim_date")
        });
        Memo {
            enabled: !reads_clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The key of a question whose answer does not depend on the time, if memoizing, as the
    /// policies that decide it observe it.
    pub(crate) fn key(&self, request: &AccessRequest, observed: &Observed) -> Option<Vec<u8>> {
        if !self.enabled || !request.claims.is_empty() {
            return None;
        }
        let request = observed.canonical(request);
        serde_json::to_vec(&Key {
            stage: &request.stage,
            person: &request.person,
            client: &request.client,
            purpose: &request.purpose,
            scopes: &request.scopes,
            patient_context: &request.patient_context,
            consent: &request.consent,
        })
        .ok()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<Answer> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(key).cloned()
    }

    pub(crate) fn put(&self, key: Vec<u8>, outcome: Outcome, policies: BTreeSet<String>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, Arc::new((outcome, policies)));
    }
}
