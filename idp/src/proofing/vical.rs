//! The AAMVA VICAL as a source of mDL trust anchors: verified against the pinned DTS root,
//! `vicalIssueID` never going backwards, refreshed at `nextUpdate`, the last good copy kept
//! on disk, and an alarm in the application log when it goes stale.

use std::time::Duration;

use glassgate_mdl::TrustStore;
use glassgate_mdl::time::OffsetDateTime;
use glassgate_mdl::trust::vical::VicalLoader;

use crate::app::StartError;
use crate::config::Config;

/// After a failed fetch, try again this soon.
const RETRY: Duration = Duration::from_secs(300);
/// Refresh at least this often, and not more often than `MIN_WAIT`.
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);
const MIN_WAIT: Duration = Duration::from_secs(60);

pub(super) struct Vical {
    loader: VicalLoader,
    url: String,
}

impl Vical {
    pub fn configure(config: &Config) -> Result<Option<Self>, StartError> {
        let (Some(url), Some(root)) = (&config.mdl.vical_url, &config.mdl.vical_root) else {
            return Ok(None);
        };
        let bytes = std::fs::read(root)
            .map_err(|e| StartError::Config(format!("mdl.vical_root {}: {e}", root.display())))?;
        let root_der = glassgate_mdl::x509::pem_certificates(&bytes)
            .map_err(|e| StartError::Config(format!("mdl.vical_root: {e}")))?
            .into_iter()
            .next()
            .ok_or_else(|| StartError::Config("mdl.vical_root holds no CERTIFICATE".into()))?;
        Ok(Some(Self {
            loader: VicalLoader::new(root_der, Some(config.data_dir.join("vical.cbor"))),
            url: url.clone(),
        }))
    }

    /// At start: the last good copy, so a restart while the list is unreachable keeps its anchors.
    pub fn load_cached(&self, trust: &TrustStore) {
        match self.loader.load_cached(trust, OffsetDateTime::now_utc()) {
            Ok(Some(meta)) => tracing::info!(issue_id = ?meta.issue_id, "cached VICAL installed"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "the cached VICAL was refused"),
        }
    }

    /// Fetch now, then again at each `nextUpdate` (or sooner after a failure), forever.
    pub async fn keep_current(&self, trust: &TrustStore) {
        loop {
            let wait = match self.loader.refresh(trust, &self.url).await {
                Ok(meta) => {
                    tracing::info!(issue_id = ?meta.issue_id, "VICAL installed");
                    self.until_next_refresh()
                }
                Err(e) => {
                    tracing::warn!(error = %e, url = %self.url, "VICAL refresh failed; keeping the last good list");
                    RETRY
                }
            };
            if let Some(alarm) = self.loader.alarm(OffsetDateTime::now_utc()) {
                tracing::error!(alarm = %alarm, "mDL trust list alarm");
            }
            tokio::time::sleep(wait).await;
        }
    }

    fn until_next_refresh(&self) -> Duration {
        let Some(at) = self.loader.next_refresh_at() else {
            return RETRY;
        };
        let seconds = (at - OffsetDateTime::now_utc()).whole_seconds();
        Duration::from_secs(u64::try_from(seconds).unwrap_or(0)).clamp(MIN_WAIT, MAX_WAIT)
    }
}
