//! Parser thread → bounded channel → loader: a parser runs on a blocking thread and hands
//! batches of rows to the store's bulk loader, at most [`CHANNEL_BATCHES`] batches in flight,
//! so memory stays bounded whatever the file size.

use tokio::sync::mpsc;

use crate::error::{DirectoryError, Result};
use crate::progress::Progress;
use crate::report::Summary;
use crate::store::{Rows, Store};

pub const BATCH_ROWS: usize = 8192;
pub const CHANNEL_BATCHES: usize = 4;

/// Where a parser's batches go.
pub type Sink<'a> = Box<dyn FnMut(Rows) -> Result<()> + Send + 'a>;

/// A sink that drops everything (parse-only runs: fuzzing, counting).
pub fn discard<'a>() -> Sink<'a> {
    Box::new(|_| Ok(()))
}

/// Collects rows of one table and sends them in batches.
pub struct Batcher<'a, T> {
    buf: Vec<T>,
    sink: Sink<'a>,
    wrap: fn(Vec<T>) -> Rows,
    progress: Progress,
}

impl<'a, T> Batcher<'a, T> {
    pub fn new(sink: Sink<'a>, wrap: fn(Vec<T>) -> Rows, progress: Progress) -> Self {
        Self {
            buf: Vec::with_capacity(BATCH_ROWS),
            sink,
            wrap,
            progress,
        }
    }

    pub fn push(&mut self, row: T) -> Result<()> {
        self.buf.push(row);
        if self.buf.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH_ROWS));
        self.progress.add_rows(batch.len() as u64);
        (self.sink)((self.wrap)(batch))
    }

    /// Send what is left.
    pub fn finish(mut self) -> Result<()> {
        self.flush()
    }
}

/// Run `parse` on a blocking thread feeding `store.load`; the loader's error wins (the
/// parser only sees that its channel closed).
pub async fn parse_and_load<F>(store: &Store, release: i64, parse: F) -> Result<(Summary, u64)>
where
    F: FnOnce(Sink<'static>) -> Result<Summary> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Rows>(CHANNEL_BATCHES);
    let sink: Sink<'static> = Box::new(move |rows| {
        tx.blocking_send(rows)
            .map_err(|_| DirectoryError::State("the loader stopped".into()))
    });
    let parser = tokio::task::spawn_blocking(move || parse(sink));
    let loaded = store.load(release, rx).await;
    let parsed = parser
        .await
        .map_err(|e| DirectoryError::State(format!("parser thread: {e}")))?;
    let loaded = loaded?;
    Ok((parsed?, loaded))
}

/// Run `parse` on a blocking thread keeping every batch (small files: weekly NPPES).
pub async fn parse_to_memory<F>(parse: F) -> Result<(Summary, Vec<Rows>)>
where
    F: for<'a> FnOnce(Sink<'a>) -> Result<Summary> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut batches = Vec::new();
        let summary = parse(Box::new(|rows| {
            batches.push(rows);
            Ok(())
        }))?;
        Ok((summary, batches))
    })
    .await
    .map_err(|e| DirectoryError::State(format!("parser thread: {e}")))?
}
