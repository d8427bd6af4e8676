//! Where an input comes from: a local path or an HTTP(S) URL. URLs are downloaded to a work
//! directory with redirects followed and interrupted transfers resumed with `Range`. The NPD's
//! links 302 to pre-signed URLs that expire after an hour (npd.md §1.2), so every attempt,
//! including a resume, starts again from the original URL and gets a fresh link.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{StatusCode, Url, header};
use tokio::io::AsyncWriteExt;

use crate::error::{DirectoryError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Local(PathBuf),
    Remote(Url),
}

/// Download settings.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    /// Attempts per file (first request, resumes and re-requests included).
    pub attempts: u32,
    /// Pause before attempt n is `n × backoff`.
    pub backoff: Duration,
}

impl Http {
    pub fn new() -> Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "glassgate-directory-sync/",
                env!("CARGO_PKG_VERSION")
            ))
            .redirect(reqwest::redirect::Policy::limited(10))
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| DirectoryError::State(format!("HTTP client: {e}")))?;
        Ok(Self {
            client,
            attempts: 8,
            backoff: Duration::from_millis(500),
        })
    }
}

/// A source made readable as a local file.
#[derive(Debug)]
pub struct Local {
    pub path: PathBuf,
    /// Downloaded into the work directory: delete after use.
    pub temporary: bool,
}

impl Local {
    pub fn cleanup(self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Source {
    pub fn parse(s: &str) -> Result<Self> {
        if s.starts_with("http://") || s.starts_with("https://") {
            Url::parse(s)
                .map(Source::Remote)
                .map_err(|e| DirectoryError::source(s, format!("not a URL: {e}")))
        } else {
            Ok(Source::Local(PathBuf::from(s)))
        }
    }

    /// A file beside this one (files listed in a manifest).
    pub fn sibling(&self, name: &str) -> Result<Self> {
        match self {
            Source::Local(p) => Ok(Source::Local(
                p.parent().unwrap_or(Path::new(".")).join(name),
            )),
            Source::Remote(u) => u
                .join(name)
                .map(Source::Remote)
                .map_err(|e| DirectoryError::source(u.as_str(), e)),
        }
    }

    /// For reports: the path, or the URL without its query (pre-signed URLs carry secrets).
    pub fn display(&self) -> String {
        match self {
            Source::Local(p) => p.display().to_string(),
            Source::Remote(u) => {
                let mut u = u.clone();
                u.set_query(None);
                u.set_fragment(None);
                u.to_string()
            }
        }
    }

    /// The last path segment.
    pub fn file_name(&self) -> String {
        match self {
            Source::Local(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Source::Remote(u) => u
                .path_segments()
                .and_then(|mut s| s.next_back())
                .unwrap_or("")
                .to_owned(),
        }
    }

    /// Read a small document (a manifest) fully, at most `max` bytes.
    pub async fn read_small(&self, http: &Http, work_dir: &Path, max: u64) -> Result<Vec<u8>> {
        let local = self.materialize(http, work_dir, None).await?;
        let len = std::fs::metadata(&local.path)
            .map_err(|e| DirectoryError::source(self.display(), e))?
            .len();
        if len > max {
            local.cleanup();
            return Err(DirectoryError::format(
                self.display(),
                format!("{len} bytes, more than the {max} expected"),
            ));
        }
        let bytes =
            std::fs::read(&local.path).map_err(|e| DirectoryError::source(self.display(), e));
        local.cleanup();
        bytes
    }

    /// A local path to read: the file itself, or a download of it in `work_dir`.
    pub async fn materialize(
        &self,
        http: &Http,
        work_dir: &Path,
        expected: Option<u64>,
    ) -> Result<Local> {
        match self {
            Source::Local(p) => {
                let meta =
                    std::fs::metadata(p).map_err(|e| DirectoryError::source(self.display(), e))?;
                if let Some(n) = expected
                    && meta.len() != n
                {
                    return Err(DirectoryError::format(
                        self.display(),
                        format!("{} bytes, the manifest says {n}", meta.len()),
                    ));
                }
                Ok(Local {
                    path: p.clone(),
                    temporary: false,
                })
            }
            Source::Remote(url) => {
                let path = download(http, url, work_dir, expected).await?;
                Ok(Local {
                    path,
                    temporary: true,
                })
            }
        }
    }
}

fn safe_file_name(url: &Url) -> String {
    let name: String = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("download")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        format!("download{name}")
    } else {
        name
    }
}

/// `bytes START-END/TOTAL` → (START, TOTAL).
fn content_range(resp: &reqwest::Response) -> Option<(u64, Option<u64>)> {
    let v = resp.headers().get(header::CONTENT_RANGE)?.to_str().ok()?;
    let rest = v.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let total = total.parse().ok();
    if range == "*" {
        return Some((u64::MAX, total));
    }
    let start = range.split_once('-')?.0.parse().ok()?;
    Some((start, total))
}

/// Download `url` to `<work_dir>/<name>`, resuming a `.part` file left by an earlier attempt
/// (or an earlier run).
pub async fn download(
    http: &Http,
    url: &Url,
    work_dir: &Path,
    expected: Option<u64>,
) -> Result<PathBuf> {
    let shown = Source::Remote(url.clone()).display();
    let err = |m: String| DirectoryError::source(shown.clone(), m);
    tokio::fs::create_dir_all(work_dir)
        .await
        .map_err(|e| err(format!("work directory: {e}")))?;
    let name = safe_file_name(url);
    let done = work_dir.join(&name);
    let part = work_dir.join(format!("{name}.part"));
    let mut have = tokio::fs::metadata(&part)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let mut last_problem = String::from("no attempt made");
    let mut completed = false;
    for attempt in 1..=http.attempts.max(1) {
        if attempt > 1 {
            tokio::time::sleep(http.backoff * (attempt - 1)).await;
            tracing::info!(url = %shown, attempt, have, problem = %last_problem, "retrying download");
        }
        if expected.is_some_and(|n| have == n) && have > 0 {
            completed = true;
            break;
        }
        let mut request = http.client.get(url.clone());
        if have > 0 {
            request = request.header(header::RANGE, format!("bytes={have}-"));
        }
        let resp = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                last_problem = format!("request failed: {e}");
                continue;
            }
        };
        let status = resp.status();
        let append = match status {
            StatusCode::PARTIAL_CONTENT => match content_range(&resp) {
                Some((start, _)) if start == have => true,
                _ => {
                    last_problem = "unexpected Content-Range; restarting".into();
                    have = 0;
                    let _ = tokio::fs::remove_file(&part).await;
                    continue;
                }
            },
            StatusCode::OK => false,
            StatusCode::RANGE_NOT_SATISFIABLE => {
                if content_range(&resp).and_then(|(_, total)| total) == Some(have) {
                    completed = true;
                    break;
                }
                last_problem = "range not satisfiable; restarting".into();
                have = 0;
                let _ = tokio::fs::remove_file(&part).await;
                continue;
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::GONE => {
                // An expired pre-signed link: the next attempt asks the original URL again.
                last_problem = format!("HTTP {status} (expired link?)");
                continue;
            }
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                last_problem = format!("HTTP {s}");
                continue;
            }
            s => return Err(err(format!("HTTP {s}"))),
        };
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&part)
            .await
            .map_err(|e| err(format!("{}: {e}", part.display())))?;
        if !append {
            have = 0;
        }
        let mut body = resp.bytes_stream();
        let mut broken = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) => {
                    file.write_all(&bytes)
                        .await
                        .map_err(|e| err(format!("{}: {e}", part.display())))?;
                    have += bytes.len() as u64;
                    if expected.is_some_and(|n| have > n) {
                        return Err(err(format!("more than the {} bytes expected", have)));
                    }
                }
                Err(e) => {
                    broken = Some(format!("transfer interrupted at {have} bytes: {e}"));
                    break;
                }
            }
        }
        file.flush().await.map_err(|e| err(e.to_string()))?;
        file.sync_all().await.map_err(|e| err(e.to_string()))?;
        if let Some(problem) = broken {
            last_problem = problem;
            continue;
        }
        match expected {
            Some(n) if have < n => {
                last_problem = format!("connection closed at {have} of {n} bytes");
                continue;
            }
            _ => {
                completed = true;
                break;
            }
        }
    }
    if !completed || expected.is_some_and(|n| have != n) {
        return Err(err(format!(
            "gave up after {} attempts: {last_problem}",
            http.attempts
        )));
    }
    tokio::fs::rename(&part, &done)
        .await
        .map_err(|e| err(format!("{}: {e}", done.display())))?;
    Ok(done)
}
