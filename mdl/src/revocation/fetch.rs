//! HTTP fetching of revocation data, bounded: which URLs one presentation may cause to be
//! fetched (only from an authenticated issuer, at most [`MAX_URLS_PER_PRESENTATION`]), how
//! much is read (streamed up to [`MAX_FETCH_LEN`], no redirects), and how much is kept
//! ([`MAX_CACHED`] entries per cache, oldest evicted).

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use time::OffsetDateTime;

use crate::mso::MsoStatus;
use crate::x509::chain::ValidatedChain;

/// Largest CRL or status list fetched.
pub const MAX_FETCH_LEN: usize = 8 << 20;

/// Most URLs one presentation may cause to be fetched (CRLs and status list together):
/// a certificate may list many distribution points, each an outbound request.
pub const MAX_URLS_PER_PRESENTATION: usize = 4;

/// Most entries in each cache (CRLs, status lists); the oldest fetch is evicted first.
pub const MAX_CACHED: usize = 256;

/// The HTTP client. Redirects are not followed: a trusted issuer's URL redirecting
/// elsewhere would let the target choose where we connect.
pub fn client(timeout: StdDuration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

/// GETs `url`, reading at most `limit` bytes: a larger (or unannounced) body is refused
/// as soon as it passes the limit, never buffered whole.
pub async fn get(client: &reqwest::Client, url: &str, limit: usize) -> Result<Vec<u8>, String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("unsupported URL scheme: {url}"));
    }
    let mut resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let too_large = || format!("response larger than {limit} bytes");
    if resp.content_length().is_some_and(|l| l > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What one presentation may have fetched: URLs from its validated chain and signed MSO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchPlan {
    pub crls: Vec<String>,
    pub status_list: Option<String>,
}

/// The CRL URLs that answer for `chain`'s DS: its own distribution points, else the IACA's.
pub fn crl_urls(chain: &ValidatedChain) -> &[String] {
    if chain.ds.crl_urls.is_empty() {
        &chain.anchor.info.crl_urls
    } else {
        &chain.ds.crl_urls
    }
}

/// The plan for an authenticated presentation: `chain` must have validated to a trust
/// anchor and `status` come from an MSO whose signature verified. The status list, when
/// present, takes one of the [`MAX_URLS_PER_PRESENTATION`] slots; CRLs the rest.
pub fn plan(chain: &ValidatedChain, status: Option<&MsoStatus>) -> FetchPlan {
    let status_list = match status {
        Some(MsoStatus::StatusList { uri, .. }) => Some(uri.clone()),
        _ => None,
    };
    let room = MAX_URLS_PER_PRESENTATION - usize::from(status_list.is_some());
    let mut crls: Vec<String> = Vec::new();
    for url in crl_urls(chain) {
        if crls.len() == room {
            break;
        }
        if !crls.contains(url) {
            crls.push(url.clone());
        }
    }
    FetchPlan { crls, status_list }
}

/// Inserts into a cache of at most [`MAX_CACHED`] entries, evicting the entry with the
/// oldest `fetched_at` when a new key would exceed it.
pub fn insert_bounded<V>(
    map: &mut HashMap<String, V>,
    key: String,
    value: V,
    fetched_at: impl Fn(&V) -> OffsetDateTime,
) {
    if !map.contains_key(&key) {
        while map.len() >= MAX_CACHED {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, v)| fetched_at(v))
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            map.remove(&oldest);
        }
    }
    map.insert(key, value);
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Answers every connection with `response` and counts the connections.
    fn server(response: Vec<u8>) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf);
                let _ = s.write_all(&response);
            }
        });
        (base, hits)
    }

    fn fetch(url: &str, limit: usize) -> Result<Vec<u8>, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let c = client(StdDuration::from_secs(5)).unwrap();
        rt.block_on(get(&c, url, limit))
    }

    #[test]
    fn body_within_limit_is_returned() {
        let (base, _) = server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".to_vec(),
        );
        assert_eq!(fetch(&format!("{base}/x"), 5).unwrap(), b"hello");
    }

    #[test]
    fn unannounced_large_body_is_cut_off() {
        // No Content-Length: only the streamed count can stop it.
        let mut resp = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        resp.extend(vec![b'a'; 64 * 1024]);
        let (base, _) = server(resp);
        let err = fetch(&format!("{base}/x"), 1024).unwrap_err();
        assert!(err.contains("larger than 1024"), "{err}");
    }

    #[test]
    fn announced_large_body_is_refused() {
        let (base, _) = server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 999999\r\nConnection: close\r\n\r\n".to_vec(),
        );
        let err = fetch(&format!("{base}/x"), 1024).unwrap_err();
        assert!(err.contains("larger than 1024"), "{err}");
    }

    #[test]
    fn redirects_are_not_followed() {
        let (target, target_hits) =
            server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".to_vec());
        let (base, _) = server(
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {target}/internal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .into_bytes(),
        );
        let err = fetch(&format!("{base}/crl"), 1024).unwrap_err();
        assert!(err.contains("302"), "{err}");
        assert_eq!(target_hits.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn non_http_schemes_are_refused() {
        assert!(
            fetch("file:///etc/passwd", 1024)
                .unwrap_err()
                .contains("scheme")
        );
    }

    #[test]
    fn cache_is_bounded_and_evicts_the_oldest() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut map: HashMap<String, OffsetDateTime> = HashMap::new();
        for i in 0..MAX_CACHED + 10 {
            let at = t0 + time::Duration::seconds(i as i64);
            insert_bounded(&mut map, format!("u{i}"), at, |v| *v);
        }
        assert_eq!(map.len(), MAX_CACHED);
        assert!(!map.contains_key("u0") && !map.contains_key("u9"));
        assert!(map.contains_key("u10"));
        // Replacing an existing key evicts nothing.
        insert_bounded(&mut map, "u10".into(), t0, |v| *v);
        assert_eq!(map.len(), MAX_CACHED);
        assert!(map.contains_key("u11"));
    }
}
