//! `ActiveClinicians`: the check the idp runs at every clinician token issuance, with an
//! in-process cache. The single-row release pointer is re-read at most once per
//! `refresh_every` (1 s by default), so every replica sees a swap within that time; the cache
//! is emptied when the pointer's generation or the UTC day changes.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use time::Date;

use crate::error::Result;
use crate::npi::Npi;
use crate::predicate::{Reason, decide};
use crate::store::{Pointer, Store};

/// The NPD FHIR base: a clinician's `fhirUser` is `<base>/Practitioner/<id>`.
pub const NPD_FHIR_BASE: &str = "https://directory.cms.gov/fhir";

/// The answer for one NPI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub npi: Arc<str>,
    pub active: bool,
    /// Why not, when not active.
    pub reason: Option<Reason>,
    /// The NPD release the answer comes from (`<stamp>#<id>`), for the log entry.
    pub release: Option<Arc<str>>,
    /// The NPD Practitioner URL: the clinician's `fhirUser`.
    pub fhir_user: Option<Arc<str>>,
    /// A human explanation (for the CLI and operators; not for OAuth clients).
    pub why: Arc<str>,
    /// The pointer generation the answer was computed under.
    pub generation: i64,
}

struct State {
    pointer: Option<Pointer>,
    checked: Option<Instant>,
    day: Date,
    answers: HashMap<u64, Answer>,
}

struct Inner {
    store: Store,
    fhir_base: String,
    refresh_every: Duration,
    capacity: usize,
    state: RwLock<State>,
    refreshing: tokio::sync::Mutex<()>,
}

/// Cheap to clone; share one per process.
#[derive(Clone)]
pub struct ActiveClinicians {
    inner: Arc<Inner>,
}

impl ActiveClinicians {
    pub fn new(store: Store) -> Self {
        Self::with_options(store, NPD_FHIR_BASE, Duration::from_secs(1), 1_000_000)
    }

    /// `fhir_base` without trailing slash; `capacity` answers at most are kept.
    pub fn with_options(
        store: Store,
        fhir_base: &str,
        refresh_every: Duration,
        capacity: usize,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                fhir_base: fhir_base.trim_end_matches('/').to_owned(),
                refresh_every,
                capacity: capacity.max(1),
                state: RwLock::new(State {
                    pointer: None,
                    checked: None,
                    day: crate::date::today(),
                    answers: HashMap::new(),
                }),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Is the clinician with this NPI active? Errors only when the store cannot be read
    /// (the caller should then refuse: fail closed).
    pub async fn check(&self, npi: &str) -> Result<Answer> {
        let parsed = Npi::parse(npi);
        if let Ok(n) = parsed
            && let Some(hit) = self.cached(n)
        {
            return Ok(hit);
        }
        let pointer = self.pointer().await?;
        if let Ok(n) = parsed
            && let Some(hit) = self.cached(n)
        {
            return Ok(hit);
        }
        let release: Option<Arc<str>> = pointer.npd.as_ref().map(|r| Arc::from(r.to_string()));
        let answer = |reason: Option<Reason>, why: String, resource: Option<String>| Answer {
            npi: Arc::from(npi),
            active: reason.is_none(),
            reason,
            release: release.clone(),
            fhir_user: resource
                .map(|id| Arc::from(format!("{}/Practitioner/{id}", self.inner.fhir_base))),
            why: Arc::from(why),
            generation: pointer.generation,
        };
        let npi_value = match parsed {
            Ok(n) => n,
            Err(e) => {
                return Ok(answer(
                    Some(Reason::InvalidNpi),
                    format!("{npi:?} is not an NPI: {e}"),
                    None,
                ));
            }
        };
        if pointer.npd.is_none() {
            return Ok(answer(
                Some(Reason::NoCurrentRelease),
                "no NPD release has been ingested".into(),
                None,
            ));
        }
        let facts = self.inner.store.lookup(&pointer, npi_value).await?;
        let verdict = decide(&pointer, &facts, crate::date::today());
        let result = answer(verdict.reason, verdict.why, verdict.resource_id);
        if let Ok(mut state) = self.inner.state.write()
            && state.pointer.as_ref().map(|p| p.generation) == Some(pointer.generation)
        {
            if state.answers.len() >= self.inner.capacity {
                state.answers.clear();
            }
            state.answers.insert(npi_value.get(), result.clone());
        }
        Ok(result)
    }

    /// A cached answer, if the pointer was checked recently enough.
    fn cached(&self, npi: Npi) -> Option<Answer> {
        let state = self.inner.state.read().ok()?;
        let fresh = state
            .checked
            .is_some_and(|t| t.elapsed() < self.inner.refresh_every);
        if !fresh {
            return None;
        }
        state.answers.get(&npi.get()).cloned()
    }

    /// The current pointer, re-read from the store at most once per `refresh_every`.
    pub async fn pointer(&self) -> Result<Pointer> {
        if let Ok(state) = self.inner.state.read()
            && let (Some(p), Some(t)) = (&state.pointer, state.checked)
            && t.elapsed() < self.inner.refresh_every
        {
            return Ok(p.clone());
        }
        let _one = self.inner.refreshing.lock().await;
        if let Ok(state) = self.inner.state.read()
            && let (Some(p), Some(t)) = (&state.pointer, state.checked)
            && t.elapsed() < self.inner.refresh_every
        {
            return Ok(p.clone());
        }
        let pointer = self.inner.store.pointer().await?;
        let today = crate::date::today();
        if let Ok(mut state) = self.inner.state.write() {
            let changed = state.pointer.as_ref().map(|p| p.generation) != Some(pointer.generation)
                || state.day != today;
            if changed {
                state.answers.clear();
                state.day = today;
            }
            state.pointer = Some(pointer.clone());
            state.checked = Some(Instant::now());
        }
        Ok(pointer)
    }

    /// Forget the pointer and every answer (the next check reads the store).
    pub fn invalidate(&self) {
        if let Ok(mut state) = self.inner.state.write() {
            state.pointer = None;
            state.checked = None;
            state.answers.clear();
        }
    }

    /// Answers currently cached.
    pub fn cached_answers(&self) -> usize {
        self.inner
            .state
            .read()
            .map(|s| s.answers.len())
            .unwrap_or(0)
    }
}
