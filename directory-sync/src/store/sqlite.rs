//! SQLite backend: rows loaded through batched transactions of multi-row prepared inserts;
//! old releases deleted in chunks so the idp's writers are never blocked for long.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::mpsc;

use super::*;
use crate::DirectoryError;
use crate::date::iso;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// Rows per multi-row INSERT and per transaction.
const ROWS_PER_STATEMENT: usize = 500;
const ROWS_PER_TRANSACTION: usize = 50_000;

pub struct Backend {
    pool: SqlitePool,
}

pub async fn open_file(path: &Path) -> Result<Store> {
    open_with(SqliteConnectOptions::new().filename(path)).await
}

pub async fn open_url(url: &str) -> Result<Store> {
    open_with(SqliteConnectOptions::from_str(url)?).await
}

async fn open_with(options: SqliteConnectOptions) -> Result<Store> {
    // The idp's settings: WAL, synchronous FULL, busy timeout, foreign keys.
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    from_pool(pool).await
}

pub async fn from_pool(pool: SqlitePool) -> Result<Store> {
    MIGRATOR.run(&pool).await?;
    Ok(Arc::new(Backend { pool }))
}

fn date_text(d: Option<time::Date>) -> Option<String> {
    d.map(iso)
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

fn insert_sql(table: Table, rows: usize, verb: &str) -> String {
    let cols = table.columns();
    let one = format!("({})", vec!["?"; cols.len()].join(","));
    let values = vec![one; rows].join(",");
    format!(
        "{verb} INTO {} ({}) VALUES {values}",
        table.name(),
        cols.join(",")
    )
}

fn bind_rows<'q>(
    mut q: Query<'q>,
    release: i64,
    rows: &'q Rows,
    range: std::ops::Range<usize>,
) -> Query<'q> {
    match rows {
        Rows::Practitioners(v) => {
            for r in &v[range] {
                q = q
                    .bind(release)
                    .bind(r.npi.get() as i64)
                    .bind(r.resource_id.as_str())
                    .bind(r.active)
                    .bind(date_text(r.npi_end))
                    .bind(r.taxonomies.as_str());
            }
        }
        Rows::Roles(v) => {
            for r in &v[range] {
                q = q
                    .bind(release)
                    .bind(r.practitioner_id.as_str())
                    .bind(r.taxonomies.as_str());
            }
        }
        Rows::Organizations(v) => {
            for r in &v[range] {
                q = q
                    .bind(release)
                    .bind(r.npi.get() as i64)
                    .bind(r.resource_id.as_str());
            }
        }
        Rows::Nppes(v) => {
            for r in &v[range] {
                q = q
                    .bind(release)
                    .bind(r.npi.get() as i64)
                    .bind(r.entity_type.map(i64::from))
                    .bind(r.primary_taxonomy.as_deref())
                    .bind(r.taxonomies.as_str())
                    .bind(date_text(r.deactivated))
                    .bind(date_text(r.reactivated));
            }
        }
        Rows::Deactivations(v) => {
            for r in &v[range] {
                q = q
                    .bind(release)
                    .bind(r.npi.get() as i64)
                    .bind(iso(r.deactivated));
            }
        }
        Rows::Taxonomy(v) => {
            for r in &v[range] {
                q = q
                    .bind(release)
                    .bind(r.code.as_str())
                    .bind(r.grouping.as_str())
                    .bind(r.classification.as_str())
                    .bind(r.section.as_str())
                    .bind(r.individual);
            }
        }
    }
    q
}

/// Write one batch with multi-row statements on `conn` (inside the caller's transaction).
async fn write_batch(
    conn: &mut SqliteConnection,
    release: i64,
    rows: &Rows,
    verb: &str,
) -> Result<()> {
    let table = rows.table();
    let full_sql = insert_sql(table, ROWS_PER_STATEMENT, verb);
    let mut start = 0;
    while start < rows.len() {
        let end = (start + ROWS_PER_STATEMENT).min(rows.len());
        let sql = if end - start == ROWS_PER_STATEMENT {
            full_sql.clone()
        } else {
            insert_sql(table, end - start, verb)
        };
        let q = bind_rows(
            sqlx::query(sqlx::AssertSqlSafe(sql)),
            release,
            rows,
            start..end,
        );
        q.execute(&mut *conn).await?;
        start = end;
    }
    Ok(())
}

fn dataset_column(dataset: Dataset) -> &'static str {
    // One of a fixed set of column names, never input.
    match dataset {
        Dataset::Npd => "npd",
        Dataset::Nppes => "nppes",
        Dataset::Deactivations => "deactivations",
        Dataset::Nucc => "nucc",
    }
}

impl Backend {
    async fn database_file(&self) -> Result<Option<PathBuf>> {
        let rows = sqlx::query("PRAGMA database_list")
            .fetch_all(&self.pool)
            .await?;
        for row in rows {
            let name: String = row.try_get(1)?;
            let file: String = row.try_get(2)?;
            if name == "main" && !file.is_empty() {
                return Ok(Some(PathBuf::from(file)));
            }
        }
        Ok(None)
    }

    /// Delete a release's rows in chunks, each its own short transaction.
    async fn delete_rows(&self, dataset: Dataset, release: i64) -> Result<()> {
        for table in Table::of(dataset) {
            let sql = format!(
                "DELETE FROM {t} WHERE release = ?1 AND {k} IN \
                 (SELECT {k} FROM {t} WHERE release = ?1 LIMIT 50000)",
                t = table.name(),
                k = table.key()
            );
            loop {
                let done = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(release)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    break;
                }
            }
        }
        Ok(())
    }
}

fn summary_json(summary: Option<&Summary>) -> Result<Option<String>> {
    summary
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| DirectoryError::Corrupt(e.to_string()))
}

#[async_trait]
impl DirectoryStore for Backend {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn lock(&self) -> Result<SyncLock> {
        let Some(file) = self.database_file().await? else {
            // An in-memory database lives in this process only.
            return Ok(SyncLock::none());
        };
        let mut name = file.into_os_string();
        name.push(".directory-sync.lock");
        let path = PathBuf::from(name);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| DirectoryError::source(path.display().to_string(), e))?;
        match lock.try_lock() {
            Ok(()) => Ok(SyncLock::file(lock)),
            Err(std::fs::TryLockError::WouldBlock) => Err(DirectoryError::Busy),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(DirectoryError::source(path.display().to_string(), e))
            }
        }
    }

    async fn collect_abandoned(&self) -> Result<u64> {
        let rows =
            sqlx::query("SELECT id, dataset FROM directory_releases WHERE state = 'building'")
                .fetch_all(&self.pool)
                .await?;
        let mut n = 0;
        for row in rows {
            let id: i64 = row.try_get(0)?;
            let dataset: String = row.try_get(1)?;
            let dataset = Dataset::parse(&dataset)
                .ok_or_else(|| DirectoryError::Corrupt(format!("dataset {dataset:?}")))?;
            self.discard(dataset, id, "failed", None).await?;
            n += 1;
        }
        Ok(n)
    }

    async fn begin(&self, dataset: Dataset, label: &str, source: &str) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO directory_releases (dataset, label, source, state, created_at) \
             VALUES (?, ?, ?, 'building', ?) RETURNING id",
        )
        .bind(dataset.as_str())
        .bind(label)
        .bind(source)
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    async fn load(&self, release: i64, mut rows: mpsc::Receiver<Rows>) -> Result<u64> {
        let mut total = 0u64;
        let mut tx = self.pool.begin().await?;
        let mut in_tx = 0usize;
        while let Some(batch) = rows.recv().await {
            write_batch(&mut tx, release, &batch, "INSERT").await?;
            total += batch.len() as u64;
            in_tx += batch.len();
            if in_tx >= ROWS_PER_TRANSACTION {
                tx.commit().await?;
                tx = self.pool.begin().await?;
                in_tx = 0;
            }
        }
        tx.commit().await?;
        Ok(total)
    }

    async fn seal(&self, _dataset: Dataset, _release: i64) -> Result<()> {
        // Indexes exist already; nothing to attach.
        Ok(())
    }

    async fn promote(&self, dataset: Dataset, release: i64, summary: &Summary) -> Result<()> {
        let summary = summary_json(Some(summary))?;
        let at = now();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE directory_releases SET state = 'retired' WHERE dataset = ? AND state = 'current'",
        )
        .bind(dataset.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE directory_releases SET state = 'current', finished_at = ?, summary = ? WHERE id = ?",
        )
        .bind(at)
        .bind(summary)
        .bind(release)
        .execute(&mut *tx)
        .await?;
        let sql = format!(
            "UPDATE directory_current SET {} = ?, generation = generation + 1, updated_at = ? WHERE id = 1",
            dataset_column(dataset)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(release)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn discard(
        &self,
        dataset: Dataset,
        release: i64,
        state: &str,
        summary: Option<&Summary>,
    ) -> Result<()> {
        // Mark first: a release no longer `building` is never picked up again.
        sqlx::query(
            "UPDATE directory_releases SET state = ?, finished_at = ?, summary = COALESCE(?, summary) \
             WHERE id = ? AND state = 'building'",
        )
        .bind(state)
        .bind(now())
        .bind(summary_json(summary)?)
        .bind(release)
        .execute(&self.pool)
        .await?;
        self.delete_rows(dataset, release).await
    }

    async fn drop_retired(&self, dataset: Dataset) -> Result<u64> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM directory_releases WHERE dataset = ? AND state = 'retired'",
        )
        .bind(dataset.as_str())
        .fetch_all(&self.pool)
        .await?;
        for id in &ids {
            self.delete_rows(dataset, *id).await?;
            sqlx::query(
                "UPDATE directory_releases SET state = 'dropped' WHERE id = ? AND state = 'retired'",
            )
            .bind(id)
            .execute(&self.pool)
            .await?;
        }
        Ok(ids.len() as u64)
    }

    async fn upsert_nppes(
        &self,
        release: i64,
        mut rows: mpsc::Receiver<Rows>,
        summary: &Summary,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut total = 0u64;
        while let Some(batch) = rows.recv().await {
            if !matches!(batch, Rows::Nppes(_)) {
                return Err(DirectoryError::State(
                    "weekly files carry NPPES rows only".into(),
                ));
            }
            write_batch(&mut tx, release, &batch, "INSERT OR REPLACE").await?;
            total += batch.len() as u64;
        }
        let mut summary = summary.clone();
        summary.upserted = Some(total);
        let at = now();
        sqlx::query(
            "INSERT INTO directory_releases (dataset, label, source, state, created_at, finished_at, summary) \
             VALUES ('nppes', ?, (SELECT label FROM directory_releases WHERE id = ?), 'weekly', ?, ?, ?)",
        )
        .bind(format!("weekly into #{release}"))
        .bind(release)
        .bind(at)
        .bind(at)
        .bind(summary_json(Some(&summary))?)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE directory_current SET generation = generation + 1, updated_at = ? WHERE id = 1",
        )
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(total)
    }

    async fn pointer(&self) -> Result<Pointer> {
        let row = sqlx::query(
            "SELECT c.generation, c.npd, r.label, c.nppes, c.deactivations, c.nucc \
             FROM directory_current c LEFT JOIN directory_releases r ON r.id = c.npd WHERE c.id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        let npd: Option<i64> = row.try_get(1)?;
        let label: Option<String> = row.try_get(2)?;
        Ok(Pointer {
            generation: row.try_get(0)?,
            npd: npd.map(|id| ReleaseRef {
                id,
                label: label.unwrap_or_default(),
            }),
            nppes: row.try_get(3)?,
            deactivations: row.try_get(4)?,
            nucc: row.try_get(5)?,
        })
    }

    async fn lookup(&self, pointer: &Pointer, npi: Npi) -> Result<Facts> {
        let mut conn = self.pool.acquire().await?;
        let key = npi.get() as i64;
        let mut facts = Facts::default();
        if let Some(npd) = &pointer.npd {
            let row = sqlx::query(
                "SELECT resource_id, active, npi_end, taxonomies FROM npd_practitioners \
                 WHERE release = ? AND npi = ?",
            )
            .bind(npd.id)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = row {
                let resource_id: String = row.try_get(0)?;
                let roles: Vec<String> = sqlx::query_scalar(
                    "SELECT taxonomies FROM npd_roles WHERE release = ? AND practitioner_id = ?",
                )
                .bind(npd.id)
                .bind(&resource_id)
                .fetch_all(&mut *conn)
                .await?;
                facts.role_taxonomies = roles.iter().flat_map(|s| split_codes(s)).collect();
                let taxonomies: String = row.try_get(3)?;
                facts.practitioner = Some(PractitionerFact {
                    resource_id,
                    active: row.try_get(1)?,
                    npi_end: row.try_get(2)?,
                    taxonomies: split_codes(&taxonomies),
                });
            } else {
                facts.organization = sqlx::query_scalar(
                    "SELECT resource_id FROM npd_organizations WHERE release = ? AND npi = ?",
                )
                .bind(npd.id)
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
            }
        }
        if let Some(nppes) = pointer.nppes {
            let row = sqlx::query(
                "SELECT entity_type, primary_taxonomy, taxonomies, deactivated, reactivated \
                 FROM nppes_providers WHERE release = ? AND npi = ?",
            )
            .bind(nppes)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = row {
                let taxonomies: String = row.try_get(2)?;
                facts.nppes = Some(NppesFact {
                    entity_type: row.try_get(0)?,
                    primary_taxonomy: row.try_get(1)?,
                    taxonomies: split_codes(&taxonomies),
                    deactivated: row.try_get(3)?,
                    reactivated: row.try_get(4)?,
                });
            }
        }
        if let Some(report) = pointer.deactivations {
            facts.deactivation_report = sqlx::query_scalar(
                "SELECT deactivated FROM nppes_deactivations WHERE release = ? AND npi = ?",
            )
            .bind(report)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
        }
        if let Some(nucc) = pointer.nucc {
            for code in facts.codes() {
                let individual: Option<bool> = sqlx::query_scalar(
                    "SELECT individual FROM nucc_taxonomy WHERE release = ? AND code = ?",
                )
                .bind(nucc)
                .bind(&code)
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(individual) = individual {
                    facts.classified.push((code, individual));
                }
            }
        }
        Ok(facts)
    }

    async fn releases(&self) -> Result<Vec<ReleaseInfo>> {
        let rows = sqlx::query(
            "SELECT id, dataset, label, source, state, created_at, finished_at, summary \
             FROM directory_releases WHERE state <> 'dropped' ORDER BY id DESC LIMIT 100",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let dataset: String = row.try_get(1)?;
                let summary: Option<String> = row.try_get(7)?;
                Ok(ReleaseInfo {
                    id: row.try_get(0)?,
                    dataset: Dataset::parse(&dataset)
                        .ok_or_else(|| DirectoryError::Corrupt(format!("dataset {dataset:?}")))?,
                    label: row.try_get(2)?,
                    source: row.try_get(3)?,
                    state: row.try_get(4)?,
                    created_at: row.try_get(5)?,
                    finished_at: row.try_get(6)?,
                    summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
                })
            })
            .collect()
    }

    async fn summary(&self, release: i64) -> Result<Option<Summary>> {
        let s: Option<Option<String>> =
            sqlx::query_scalar("SELECT summary FROM directory_releases WHERE id = ?")
                .bind(release)
                .fetch_optional(&self.pool)
                .await?;
        Ok(s.flatten().and_then(|s| serde_json::from_str(&s).ok()))
    }
}
