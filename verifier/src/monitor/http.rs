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

    /// CRC-32 (IEEE), as in a gzip trailer.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

    /// `data` as a gzip member of stored (uncompressed) deflate blocks.
    fn gzip_stored(data: &[u8]) -> Vec<u8> {
        let mut out = GZIP_HEADER.to_vec();
        let mut chunks = data.chunks(0xffff).peekable();
        if chunks.peek().is_none() {
            out.extend([1, 0, 0, 0xff, 0xff]);
        }
        while let Some(chunk) = chunks.next() {
            out.push(u8::from(chunks.peek().is_none()));
            let len = u16::try_from(chunk.len()).unwrap();
            out.extend(len.to_le_bytes());
            out.extend((!len).to_le_bytes());
            out.extend(chunk);
        }
        out.extend(crc32(data).to_le_bytes());
        out.extend(u32::try_from(data.len()).unwrap().to_le_bytes());
        out
    }

    /// A gzip member of one fixed-Huffman block that inflates to `1 + 258 * matches` zero
    /// bytes from 13 bits a match; its trailer is zeros unless `trailer`.
    fn gzip_bomb(matches: usize, trailer: bool) -> Vec<u8> {
        let mut bits = (Vec::new(), 0u32, 0u32); // bytes, accumulator, bits in it
        let mut put = |value: u32, count: u32| {
            bits.1 |= value << bits.2;
            bits.2 += count;
            while bits.2 >= 8 {
                bits.0.push(bits.1 as u8);
                bits.1 >>= 8;
                bits.2 -= 8;
            }
        };
        // Huffman codes go most significant bit first.
        let code = |value: u32, count: u32| value.reverse_bits() >> (32 - count);
        put(1, 1); // final block
        put(1, 2); // fixed Huffman codes
        put(code(0x30, 8), 8); // literal 0
        for _ in 0..matches {
            put(code(0xc5, 8), 8); // length 258
            put(0, 5); // distance 1
        }
        put(0, 7); // end of block
        put(0, 7); // flush
        let mut out = GZIP_HEADER.to_vec();
        out.extend(bits.0);
        if trailer {
            let inflated = vec![0; 1 + 258 * matches];
            out.extend(crc32(&inflated).to_le_bytes());
            out.extend(u32::try_from(inflated.len()).unwrap().to_le_bytes());
        } else {
            out.extend([0; 8]);
        }
        out
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
        let (url, server) = serve_gzip(gzip_stored(&bundle));
        let fetched = HttpFetcher::new(&url, Duration::from_secs(10))
            .fetch("tile/entries/000")
            .unwrap();
        assert_eq!(fetched, bundle);
        assert_eq!(server.join().unwrap().as_deref(), Some("gzip, identity"));
    }

    #[test]
    fn a_response_that_inflates_past_the_limit_is_refused() {
        let matches = usize::try_from(MAX_RESPONSE_BYTES / 258 + 2).unwrap();
        let bomb = gzip_bomb(matches, false);
        assert!((bomb.len() as u64) < MAX_RESPONSE_BYTES / 100);
        let (url, server) = serve_gzip(bomb);
        let error = HttpFetcher::new(&url, Duration::from_secs(30))
            .fetch("tile/entries/000")
            .unwrap_err();
        assert!(error.to_string().contains("larger than"), "{error}");
        let _ = server.join();
    }

    #[test]
    fn the_bomb_inflates_as_intended_below_the_limit() {
        // The same construction, small and with its trailer: the stream is valid gzip.
        let (url, server) = serve_gzip(gzip_bomb(1000, true));
        let fetched = HttpFetcher::new(&url, Duration::from_secs(10))
            .fetch("tile/entries/000")
            .unwrap();
        assert_eq!(fetched, vec![0; 1 + 258 * 1000]);
        let _ = server.join();
    }
}
