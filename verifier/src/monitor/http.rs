//! A blocking HTTP(S) [`Fetch`] implementation over `ureq`.

use super::{Fetch, FetchError};
use std::time::Duration;

/// Largest response accepted: a full entry bundle of maximal entries.
pub const MAX_RESPONSE_BYTES: u64 = 256 * (2 + 65_535);

/// Fetches tlog-tiles resources below a log prefix URL.
pub struct HttpFetcher {
    prefix: String,
    agent: ureq::Agent,
}

impl HttpFetcher {
    /// A fetcher for the log at `prefix` (e.g. `https://log.example/log/`;
    /// a missing final `/` is added). `timeout` bounds each request.
    pub fn new(prefix: &str, timeout: Duration) -> Self {
        let mut prefix = prefix.to_owned();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("glassgate-verifier/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { prefix, agent }
    }
}

impl Fetch for HttpFetcher {
    fn fetch(&self, path: &str) -> Result<Vec<u8>, FetchError> {
        let url = format!("{}{path}", self.prefix);
        let failed = |message: String| FetchError::Failed {
            path: url.clone(),
            message,
        };
        let mut resp = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| failed(e.to_string()))?;
        let status = resp.status().as_u16();
        if status == 404 {
            return Err(FetchError::NotFound(url));
        }
        if status != 200 {
            return Err(failed(format!("HTTP status {status}")));
        }
        resp.body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| failed(e.to_string()))
    }
}
