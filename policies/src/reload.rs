//! Policies that reload on change: a new set is validated strictly and swapped in
//! atomically; on any error the last good set stays in force and the error is returned (and
//! logged by the poller).

use crate::decision::Decision;
use crate::engine::{PolicyEngine, StepUpSettings};
use crate::error::PolicyError;
use crate::loader::policy_files;
use crate::request::AccessRequest;
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// What changed on disk, as seen by the poller: (file, modification time, length).
type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// The current policy engine, swappable while requests are being decided.
pub struct ReloadingPolicies {
    /// `None`: the shipped set, which never changes while the server runs.
    dir: Option<PathBuf>,
    step_up: StepUpSettings,
    current: ArcSwap<PolicyEngine>,
    seen: Mutex<Fingerprint>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The files hash to the version in force; nothing was swapped.
    Unchanged { version: String },
    /// A new set is in force.
    Swapped { from: String, to: String },
}

impl ReloadingPolicies {
    /// Loads `dir`; fails (closed) if the initial set does not load.
    pub fn load(dir: impl AsRef<Path>, step_up: StepUpSettings) -> Result<Self, PolicyError> {
        let dir = dir.as_ref().to_owned();
        let seen = fingerprint(&dir).unwrap_or_default();
        let engine = PolicyEngine::load(&dir)?.with_step_up(step_up.clone());
        Ok(ReloadingPolicies {
            dir: Some(dir),
            step_up,
            current: ArcSwap::from_pointee(engine),
            seen: Mutex::new(seen),
        })
    }

    /// The shipped set (see [`PolicyEngine::shipped`]); reloading it changes nothing.
    pub fn shipped(step_up: StepUpSettings) -> Result<Self, PolicyError> {
        let engine = PolicyEngine::shipped()?.with_step_up(step_up.clone());
        Ok(ReloadingPolicies {
            dir: None,
            step_up,
            current: ArcSwap::from_pointee(engine),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The engine in force (cheap; hold it for the length of one request).
    pub fn current(&self) -> Arc<PolicyEngine> {
        self.current.load_full()
    }

    /// Decides with the engine in force.
    pub fn decide(&self, request: &AccessRequest) -> Decision {
        self.current.load().decide(request)
    }

    /// The version in force.
    pub fn version(&self) -> String {
        self.current.load().version().to_owned()
    }

    /// Loads the directory again. On success the new set replaces the old one atomically;
    /// on error the old set stays in force and the error is returned.
    pub fn reload(&self) -> Result<Reloaded, PolicyError> {
        let from = self.version();
        let Some(dir) = &self.dir else {
            return Ok(Reloaded::Unchanged { version: from });
        };
        let engine = PolicyEngine::load(dir)?.with_step_up(self.step_up.clone());
        if engine.version() == from {
            return Ok(Reloaded::Unchanged { version: from });
        }
        let to = engine.version().to_owned();
        self.current.store(Arc::new(engine));
        tracing::info!(%from, %to, "policy set reloaded");
        Ok(Reloaded::Swapped { from, to })
    }

    /// Reloads if any file's modification time or length changed since the last look (or
    /// files were added or removed). `Ok(None)` when nothing changed.
    pub fn reload_if_changed(&self) -> Result<Option<Reloaded>, PolicyError> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let now = fingerprint(dir)?;
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if *seen == now {
                return Ok(None);
            }
            *seen = now;
        }
        self.reload().map(Some)
    }

    /// Polls the directory every `every` in a tokio task and reloads on change; errors are
    /// logged and the last good set stays in force. `on_swap` hears of each new set in force
    /// (the versions from and to), for the caller's audit trail. Abort the handle to stop.
    pub fn spawn_polling(
        self: Arc<Self>,
        every: Duration,
        on_swap: impl Fn(&str, &str) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let this = Arc::clone(&self);
                let result = tokio::task::spawn_blocking(move || this.reload_if_changed()).await;
                match result {
                    Ok(Ok(Some(Reloaded::Swapped { from, to }))) => on_swap(&from, &to),
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => tracing::error!(
                        %error,
                        version = %self.version(),
                        "policy reload failed; keeping the last good set"
                    ),
                    Err(error) => tracing::error!(%error, "policy reload task failed"),
                }
            }
        })
    }
}

fn fingerprint(dir: &Path) -> Result<Fingerprint, PolicyError> {
    policy_files(dir)?
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).map_err(|source| PolicyError::Io {
                path: path.clone(),
                source,
            })?;
            Ok((path, meta.modified().ok(), meta.len()))
        })
        .collect()
}
