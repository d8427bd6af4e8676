//! A blocking HTTP(S) [`Fetch`] implementation over `ureq`.
//!
//! tlog-tiles: entry bundles SHOULD be compressed at the HTTP layer, and clients SHOULD
//! accept `gzip` and `identity`. `ureq`'s default `gzip` feature (already built, no other
//! dependency) decodes a gzip response whatever was asked, so every request says both.

use super::{Fetch, FetchError};
use std::io::Read;
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
            .accept_encoding("gzip, identity")
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
        // `limit` bounds the bytes received; the bytes decoded from them are bounded here,
        // or a small gzip body could inflate without end.
        let mut body = Vec::new();
        resp.body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .reader()
            .take(MAX_RESPONSE_BYTES + 1)
            .read_to_end(&mut body)
            .map_err(|e| failed(e.to_string()))?;
        if u64::try_from(body.len()).unwrap_or(u64::MAX) > MAX_RESPONSE_BYTES {
            return Err(failed(format!(
                "the response is larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `data` gzip-compressed.
    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Serve `body` with `Content-Encoding: gzip` to one request; the request's
    /// `Accept-Encoding` comes back through the handle.
    fn serve_gzip(body: Vec<u8>) -> (String, std::thread::JoinHandle<Option<String>>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}/log/", server.server_addr().to_ip().unwrap());
        let thread = std::thread::spawn(move || {
            let request = server.recv().ok()?;
            let accept = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("accept-encoding"))
                .map(|h| h.value.to_string());
            let header = tiny_http::Header::from_bytes("content-encoding", "gzip").ok()?;
            let _ = request.respond(tiny_http::Response::from_data(body).with_header(header));
            accept
        });
        (url, thread)
    }

    #[test]
    fn gzip_encoded_bundles_are_decoded_and_both_codings_asked_for() {
        let bundle: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (url, server) = serve_gzip(gzip(&bundle));
        let fetched = HttpFetcher::new(&url, Duration::from_secs(10))
            .fetch("tile/entries/000")
            .unwrap();
        assert_eq!(fetched, bundle);
        assert_eq!(server.join().unwrap().as_deref(), Some("gzip, identity"));
    }

    #[test]
    fn a_response_that_inflates_past_the_limit_is_refused() {
        let inflated = usize::try_from(MAX_RESPONSE_BYTES + 1024).unwrap();
        let bomb = gzip(&vec![0; inflated]);
        assert!((bomb.len() as u64) < MAX_RESPONSE_BYTES / 100);
        let (url, server) = serve_gzip(bomb);
        let error = HttpFetcher::new(&url, Duration::from_secs(30))
            .fetch("tile/entries/000")
            .unwrap_err();
        assert!(error.to_string().contains("larger than"), "{error}");
        let _ = server.join();
    }

    #[test]
    fn a_response_that_inflates_to_the_limit_is_accepted() {
        let inflated = usize::try_from(MAX_RESPONSE_BYTES).unwrap();
        let (url, server) = serve_gzip(gzip(&vec![0; inflated]));
        let fetched = HttpFetcher::new(&url, Duration::from_secs(30))
            .fetch("tile/entries/000")
            .unwrap();
        assert_eq!(fetched.len(), inflated);
        let _ = server.join();
    }
}
