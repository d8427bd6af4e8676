//! PostgreSQL backend: each release's rows go by `COPY … (FORMAT csv)` into a fresh table,
//! which is indexed and then attached as the release's partition; a retired release is one
//! `DROP TABLE`. The sync lock is a session advisory lock.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool, Row};
use tokio::sync::mpsc;

use super::*;
use crate::DirectoryError;
use crate::date::iso;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Advisory-lock key of the directory sync ("GGDIRSYNC" in spirit).
const SYNC_LOCK: i64 = 0x4747_4449_5253;

pub struct Backend {
    pool: PgPool,
}

pub async fn open(url: &str) -> Result<Store> {
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    from_pool(pool).await
}

pub async fn from_pool(pool: PgPool) -> Result<Store> {
    MIGRATOR.run(&pool).await?;
    Ok(Arc::new(Backend { pool }))
}

/// Unlock and close a session that holds the sync lock.
pub(super) async fn release_lock(mut conn: PgConnection) {
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(SYNC_LOCK)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
}

fn partition(table: Table, release: i64) -> String {
    format!("{}_r{release}", table.name())
}

fn dataset_column(dataset: Dataset) -> &'static str {
    match dataset {
        Dataset::Npd => "npd",
        Dataset::Nppes => "nppes",
        Dataset::Deactivations => "deactivations",
        Dataset::Nucc => "nucc",
    }
}

/// CSV encoding for COPY: unquoted empty is NULL, text quoted when it needs to be.
fn text(out: &mut Vec<u8>, s: &str) {
    if s.is_empty()
        || s.bytes()
            .any(|b| matches!(b, b'"' | b',' | b'\n' | b'\r' | b'\\'))
    {
        out.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

fn opt_text(out: &mut Vec<u8>, s: Option<&str>) {
    if let Some(s) = s {
        text(out, s);
    }
}

fn int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(n.to_string().as_bytes());
}

fn date(out: &mut Vec<u8>, d: Option<time::Date>) {
    if let Some(d) = d {
        out.extend_from_slice(iso(d).as_bytes());
    }
}

fn boolean(out: &mut Vec<u8>, b: Option<bool>) {
    match b {
        Some(true) => out.push(b't'),
        Some(false) => out.push(b'f'),
        None => {}
    }
}

/// One batch as COPY CSV bytes (columns in [`Table::columns`] order).
fn encode(release: i64, rows: &Rows, out: &mut Vec<u8>) {
    let rel = release.to_string();
    let start = |out: &mut Vec<u8>| {
        out.extend_from_slice(rel.as_bytes());
        out.push(b',');
    };
    match rows {
        Rows::Practitioners(v) => {
            for r in v {
                start(out);
                int(out, r.npi.get() as i64);
                out.push(b',');
                text(out, &r.resource_id);
                out.push(b',');
                boolean(out, r.active);
                out.push(b',');
                date(out, r.npi_end);
                out.push(b',');
                text(out, &r.taxonomies);
                out.push(b'\n');
            }
        }
        Rows::Roles(v) => {
            for r in v {
                start(out);
                text(out, &r.practitioner_id);
                out.push(b',');
                text(out, &r.taxonomies);
                out.push(b'\n');
            }
        }
        Rows::Organizations(v) => {
            for r in v {
                start(out);
                int(out, r.npi.get() as i64);
                out.push(b',');
                text(out, &r.resource_id);
                out.push(b'\n');
            }
        }
        Rows::Nppes(v) => {
            for r in v {
                start(out);
                int(out, r.npi.get() as i64);
                out.push(b',');
                if let Some(t) = r.entity_type {
                    int(out, i64::from(t));
                }
                out.push(b',');
                opt_text(out, r.primary_taxonomy.as_deref());
                out.push(b',');
                text(out, &r.taxonomies);
                out.push(b',');
                date(out, r.deactivated);
                out.push(b',');
                date(out, r.reactivated);
                out.push(b'\n');
            }
        }
        Rows::Deactivations(v) => {
            for r in v {
                start(out);
                int(out, r.npi.get() as i64);
                out.push(b',');
                date(out, Some(r.deactivated));
                out.push(b'\n');
            }
        }
        Rows::Taxonomy(v) => {
            for r in v {
                start(out);
                text(out, &r.code);
                out.push(b',');
                text(out, &r.grouping);
                out.push(b',');
                text(out, &r.classification);
                out.push(b',');
                text(out, &r.section);
                out.push(b',');
                boolean(out, Some(r.individual));
                out.push(b'\n');
            }
        }
    }
}

/// COPY every batch of `rows` into `target` on `conn`; all batches must be of one table.
async fn copy_batches(
    conn: &mut PgConnection,
    release: i64,
    mut rows: mpsc::Receiver<Rows>,
    target: impl Fn(Table) -> String,
) -> Result<u64> {
    let Some(first) = rows.recv().await else {
        return Ok(0);
    };
    let table = first.table();
    let sql = format!(
        "COPY {} ({}) FROM STDIN (FORMAT csv)",
        target(table),
        table.columns().join(",")
    );
    let mut copy = conn.copy_in_raw(&sql).await?;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut batch = Some(first);
    while let Some(b) = batch {
        if b.table() != table {
            let _ = copy.abort("mixed tables").await;
            return Err(DirectoryError::State("one load carries one table".into()));
        }
        buf.clear();
        encode(release, &b, &mut buf);
        copy.send(buf.as_slice()).await?;
        batch = rows.recv().await;
    }
    Ok(copy.finish().await?)
}

fn summary_json(summary: Option<&Summary>) -> Result<Option<String>> {
    summary
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| DirectoryError::Corrupt(e.to_string()))
}

impl Backend {
    async fn drop_partitions(&self, dataset: Dataset, release: i64) -> Result<()> {
        for table in Table::of(dataset) {
            let sql = format!("DROP TABLE IF EXISTS {}", partition(*table, release));
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl DirectoryStore for Backend {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn lock(&self) -> Result<SyncLock> {
        // Out of the pool: closing the session (drop, or the process dying) releases the lock.
        let mut conn = self.pool.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(SYNC_LOCK)
            .fetch_one(&mut conn)
            .await?;
        if got {
            Ok(SyncLock::session(conn))
        } else {
            let _ = conn.close().await;
            Err(DirectoryError::Busy)
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
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO directory_releases (dataset, label, source, state, created_at) \
             VALUES ($1, $2, $3, 'building', $4) RETURNING id",
        )
        .bind(dataset.as_str())
        .bind(label)
        .bind(source)
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        for table in Table::of(dataset) {
            let sql = format!(
                "CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)",
                partition(*table, id),
                table.name()
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&self.pool)
                .await?;
        }
        Ok(id)
    }

    async fn load(&self, release: i64, rows: mpsc::Receiver<Rows>) -> Result<u64> {
        let mut conn = self.pool.acquire().await?;
        copy_batches(&mut conn, release, rows, |t| partition(t, release)).await
    }

    async fn seal(&self, dataset: Dataset, release: i64) -> Result<()> {
        for table in Table::of(dataset) {
            let p = partition(*table, release);
            let key = if table.unique() {
                format!("ALTER TABLE {p} ADD PRIMARY KEY (release, {})", table.key())
            } else {
                format!("CREATE INDEX ON {p} (release, {})", table.key())
            };
            let statements = [
                format!("ALTER TABLE {p} ADD CONSTRAINT {p}_release CHECK (release = {release})"),
                key,
                format!("ANALYZE {p}"),
                format!(
                    "ALTER TABLE {} ATTACH PARTITION {p} FOR VALUES IN ({release})",
                    table.name()
                ),
            ];
            for sql in statements {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    async fn promote(&self, dataset: Dataset, release: i64, summary: &Summary) -> Result<()> {
        let summary = summary_json(Some(summary))?;
        let at = now();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE directory_releases SET state = 'retired' WHERE dataset = $1 AND state = 'current'",
        )
        .bind(dataset.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE directory_releases SET state = 'current', finished_at = $1, summary = $2 WHERE id = $3",
        )
        .bind(at)
        .bind(summary)
        .bind(release)
        .execute(&mut *tx)
        .await?;
        let sql = format!(
            "UPDATE directory_current SET {} = $1, generation = generation + 1, updated_at = $2 WHERE id = 1",
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
        sqlx::query(
            "UPDATE directory_releases SET state = $1, finished_at = $2, summary = COALESCE($3, summary) \
             WHERE id = $4 AND state = 'building'",
        )
        .bind(state)
        .bind(now())
        .bind(summary_json(summary)?)
        .bind(release)
        .execute(&self.pool)
        .await?;
        self.drop_partitions(dataset, release).await
    }

    async fn drop_retired(&self, dataset: Dataset) -> Result<u64> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM directory_releases WHERE dataset = $1 AND state = 'retired'",
        )
        .bind(dataset.as_str())
        .fetch_all(&self.pool)
        .await?;
        for id in &ids {
            self.drop_partitions(dataset, *id).await?;
            sqlx::query(
                "UPDATE directory_releases SET state = 'dropped' WHERE id = $1 AND state = 'retired'",
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
        rows: mpsc::Receiver<Rows>,
        summary: &Summary,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "CREATE TEMP TABLE nppes_weekly (LIKE nppes_providers INCLUDING DEFAULTS) ON COMMIT DROP",
        )
        .execute(&mut *tx)
        .await?;
        let total = copy_batches(&mut tx, release, rows, |_| "nppes_weekly".to_owned()).await?;
        sqlx::query(
            "INSERT INTO nppes_providers SELECT * FROM nppes_weekly \
             ON CONFLICT (release, npi) DO UPDATE SET entity_type = EXCLUDED.entity_type, \
             primary_taxonomy = EXCLUDED.primary_taxonomy, taxonomies = EXCLUDED.taxonomies, \
             deactivated = EXCLUDED.deactivated, reactivated = EXCLUDED.reactivated",
        )
        .execute(&mut *tx)
        .await?;
        let mut summary = summary.clone();
        summary.upserted = Some(total);
        let at = now();
        sqlx::query(
            "INSERT INTO directory_releases (dataset, label, source, state, created_at, finished_at, summary) \
             VALUES ('nppes', $1, (SELECT label FROM directory_releases WHERE id = $2), 'weekly', $3, $3, $4)",
        )
        .bind(format!("weekly into #{release}"))
        .bind(release)
        .bind(at)
        .bind(summary_json(Some(&summary))?)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE directory_current SET generation = generation + 1, updated_at = $1 WHERE id = 1",
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
                 WHERE release = $1 AND npi = $2",
            )
            .bind(npd.id)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = row {
                let resource_id: String = row.try_get(0)?;
                let roles: Vec<String> = sqlx::query_scalar(
                    "SELECT taxonomies FROM npd_roles WHERE release = $1 AND practitioner_id = $2",
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
                    "SELECT resource_id FROM npd_organizations WHERE release = $1 AND npi = $2",
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
                 FROM nppes_providers WHERE release = $1 AND npi = $2",
            )
            .bind(nppes)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = row {
                let taxonomies: String = row.try_get(2)?;
                let entity_type: Option<i16> = row.try_get(0)?;
                facts.nppes = Some(NppesFact {
                    entity_type: entity_type.map(i64::from),
                    primary_taxonomy: row.try_get(1)?,
                    taxonomies: split_codes(&taxonomies),
                    deactivated: row.try_get(3)?,
                    reactivated: row.try_get(4)?,
                });
            }
        }
        if let Some(report) = pointer.deactivations {
            facts.deactivation_report = sqlx::query_scalar(
                "SELECT deactivated FROM nppes_deactivations WHERE release = $1 AND npi = $2",
            )
            .bind(report)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
        }
        if let Some(nucc) = pointer.nucc {
            let codes = facts.codes();
            let rows = sqlx::query(
                "SELECT code, individual FROM nucc_taxonomy WHERE release = $1 AND code = ANY($2)",
            )
            .bind(nucc)
            .bind(&codes)
            .fetch_all(&mut *conn)
            .await?;
            for row in rows {
                facts.classified.push((row.try_get(0)?, row.try_get(1)?));
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
            sqlx::query_scalar("SELECT summary FROM directory_releases WHERE id = $1")
                .bind(release)
                .fetch_optional(&self.pool)
                .await?;
        Ok(s.flatten().and_then(|s| serde_json::from_str(&s).ok()))
    }
}
