//! Durable storage of directory releases: one trait, one implementation per backend
//! (`sqlite`, `postgres`), the same store (and the same embedded migrations) as the idp.

mod postgres;
pub mod rows;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::error::Result;
use crate::npi::Npi;
use crate::report::{Dataset, Summary};
pub use rows::*;

/// The single-row pointer: the current release of each dataset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pointer {
    /// Bumped at every swap or weekly update: caches compare it.
    pub generation: i64,
    pub npd: Option<ReleaseRef>,
    pub nppes: Option<i64>,
    pub deactivations: Option<i64>,
    pub nucc: Option<i64>,
}

/// A release's id and its label (e.g. the NPD manifest stamp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRef {
    pub id: i64,
    pub label: String,
}

impl std::fmt::Display for ReleaseRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.label, self.id)
    }
}

/// What the current releases say about one NPI.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub practitioner: Option<PractitionerFact>,
    /// Resource id of an NPD Organization with this NPI.
    pub organization: Option<String>,
    /// NUCC codes from PractitionerRoles of the practitioner.
    pub role_taxonomies: Vec<String>,
    pub nppes: Option<NppesFact>,
    /// Date on the Deactivated NPI Report (ISO).
    pub deactivation_report: Option<String>,
    /// Classification of every code above that NUCC knows: (code, individual).
    pub classified: Vec<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PractitionerFact {
    pub resource_id: String,
    pub active: Option<bool>,
    pub npi_end: Option<String>,
    pub taxonomies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NppesFact {
    pub entity_type: Option<i64>,
    pub primary_taxonomy: Option<String>,
    pub taxonomies: Vec<String>,
    pub deactivated: Option<String>,
    pub reactivated: Option<String>,
}

/// One release as listed by `status`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReleaseInfo {
    pub id: i64,
    pub dataset: Dataset,
    pub label: String,
    pub source: String,
    pub state: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    #[serde(skip)]
    pub summary: Option<Summary>,
}

/// Held while a sync runs: one sync at a time per store. Call [`SyncLock::release`]; a lock
/// merely dropped is released by the OS or the database when its file or session closes
/// (also when the process dies).
pub struct SyncLock {
    held: Held,
}

enum Held {
    Nothing,
    File(#[allow(dead_code)] std::fs::File),
    Session(Option<sqlx::PgConnection>),
}

impl SyncLock {
    pub(crate) fn none() -> Self {
        Self {
            held: Held::Nothing,
        }
    }

    pub(crate) fn file(file: std::fs::File) -> Self {
        Self {
            held: Held::File(file),
        }
    }

    pub(crate) fn session(conn: sqlx::PgConnection) -> Self {
        Self {
            held: Held::Session(Some(conn)),
        }
    }

    /// Release now (a PostgreSQL session lock is unlocked before its session closes, so the
    /// next sync never races the server noticing the disconnect).
    pub async fn release(mut self) {
        if let Held::Session(conn) = &mut self.held
            && let Some(conn) = conn.take()
        {
            postgres::release_lock(conn).await;
        }
    }
}

impl Drop for SyncLock {
    fn drop(&mut self) {
        if let Held::Session(conn) = &mut self.held
            && let Some(conn) = conn.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(postgres::release_lock(conn));
        }
    }
}

pub(crate) fn split_codes(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_owned).collect()
}

/// Release storage. Callers hold an `Arc<dyn DirectoryStore>` and never branch on the backend.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    fn backend(&self) -> &'static str;
    /// Take the sync lock, or [`crate::DirectoryError::Busy`].
    async fn lock(&self) -> Result<SyncLock>;
    /// Delete releases left `building` by an interrupted sync (call under the lock).
    async fn collect_abandoned(&self) -> Result<u64>;
    /// Register a new release of `dataset`, invisible until promoted.
    async fn begin(&self, dataset: Dataset, label: &str, source: &str) -> Result<i64>;
    /// Bulk-load batches of one table into `release`; returns rows written.
    async fn load(&self, release: i64, rows: mpsc::Receiver<Rows>) -> Result<u64>;
    /// Finish the release's tables (indexes, partitions) before it may be promoted.
    async fn seal(&self, dataset: Dataset, release: i64) -> Result<()>;
    /// Make `release` current in one step; the previous one becomes `retired`.
    async fn promote(&self, dataset: Dataset, release: i64, summary: &Summary) -> Result<()>;
    /// Drop a release's rows and record why (`refused` or `failed`).
    async fn discard(
        &self,
        dataset: Dataset,
        release: i64,
        state: &str,
        summary: Option<&Summary>,
    ) -> Result<()>;
    /// Drop the rows of retired releases of `dataset`.
    async fn drop_retired(&self, dataset: Dataset) -> Result<u64>;
    /// Upsert NPPES rows into the current release in one transaction, bumping the generation.
    async fn upsert_nppes(
        &self,
        release: i64,
        rows: mpsc::Receiver<Rows>,
        summary: &Summary,
    ) -> Result<u64>;
    async fn pointer(&self) -> Result<Pointer>;
    async fn lookup(&self, pointer: &Pointer, npi: Npi) -> Result<Facts>;
    /// Every release not yet dropped, newest first, with the current ones' summaries.
    async fn releases(&self) -> Result<Vec<ReleaseInfo>>;
    async fn summary(&self, release: i64) -> Result<Option<Summary>>;
}

pub type Store = Arc<dyn DirectoryStore>;

/// Open PostgreSQL when `database_url` is set, else the SQLite file
/// `<data_dir>/glassgate.sqlite3` (as the idp does), applying the embedded migrations.
pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Store> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            postgres::open(url).await
        }
        Some(url) if url.starts_with("sqlite:") => sqlite::open_url(url).await,
        Some(url) => Err(crate::DirectoryError::State(format!(
            "unsupported DATABASE_URL scheme in {:?}",
            url.split(':').next().unwrap_or("")
        ))),
        None => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| crate::DirectoryError::source(data_dir.display().to_string(), e))?;
            sqlite::open_file(&data_dir.join("glassgate.sqlite3")).await
        }
    }
}

/// Open from the environment: `DATABASE_URL`, else `GLASSGATE_DATA_DIR` (default `data`).
pub async fn open_from_env() -> Result<Store> {
    let url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
    let dir = std::env::var_os("GLASSGATE_DATA_DIR").unwrap_or_else(|| "data".into());
    open(url.as_deref(), Path::new(&dir)).await
}

/// Use a pool the idp already holds (migrations are applied, a no-op when already done).
pub async fn from_sqlite_pool(pool: sqlx::SqlitePool) -> Result<Store> {
    sqlite::from_pool(pool).await
}

/// Use a pool the idp already holds (migrations are applied, a no-op when already done).
pub async fn from_pg_pool(pool: sqlx::PgPool) -> Result<Store> {
    postgres::from_pool(pool).await
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Facts {
    /// Every taxonomy code the facts mention, deduplicated, NPPES first.
    pub fn codes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let nppes = self.nppes.iter().flat_map(|n| {
            n.primary_taxonomy
                .iter()
                .chain(n.taxonomies.iter())
                .cloned()
        });
        let npd = self
            .practitioner
            .iter()
            .flat_map(|p| p.taxonomies.iter().cloned())
            .chain(self.role_taxonomies.iter().cloned());
        for code in nppes.chain(npd) {
            if !out.contains(&code) && out.len() < 64 {
                out.push(code);
            }
        }
        out
    }
}
