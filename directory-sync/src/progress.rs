//! Counters an ingest updates as it streams; the CLI draws them (bar or plain lines).

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Inner {
    stage: Mutex<String>,
    bytes: AtomicU64,
    total_bytes: AtomicU64,
    rows: AtomicU64,
}

/// Shared, cheap to clone; all updates are relaxed atomics.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    inner: Arc<Inner>,
}

/// A snapshot for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressView {
    pub stage: String,
    pub bytes: u64,
    pub total_bytes: u64,
    pub rows: u64,
}

impl Progress {
    /// Start a new stage (a file): counters restart.
    pub fn stage(&self, name: &str, total_bytes: u64) {
        if let Ok(mut s) = self.inner.stage.lock() {
            *s = name.to_owned();
        }
        self.inner.bytes.store(0, Ordering::Relaxed);
        self.inner.rows.store(0, Ordering::Relaxed);
        self.inner.total_bytes.store(total_bytes, Ordering::Relaxed);
    }

    pub fn add_bytes(&self, n: u64) {
        self.inner.bytes.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_rows(&self, n: u64) {
        self.inner.rows.fetch_add(n, Ordering::Relaxed);
    }

    pub fn view(&self) -> ProgressView {
        ProgressView {
            stage: self
                .inner
                .stage
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default(),
            bytes: self.inner.bytes.load(Ordering::Relaxed),
            total_bytes: self.inner.total_bytes.load(Ordering::Relaxed),
            rows: self.inner.rows.load(Ordering::Relaxed),
        }
    }
}

/// Counts the bytes read through it (the compressed bytes, for a zstd file).
pub struct CountingReader<R> {
    inner: R,
    progress: Progress,
}

impl<R> CountingReader<R> {
    pub fn new(inner: R, progress: Progress) -> Self {
        Self { inner, progress }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add_bytes(n as u64);
        Ok(n)
    }
}
