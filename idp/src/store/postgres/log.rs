//! The transparency log on PostgreSQL: sequencing inside issuance transactions (the
//! `log_head` row lock orders replicas), integration under a transaction-scoped advisory
//! lock plus compare-and-swap on the published size, and reads.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};

use super::Backend;
use super::append::{AccessTokenColumns, Written, append, read_head};
use crate::store::model::{
    COSIGNED_TREE_SQL, INDEX_OF_JTI_SQL, PendingEntry, StoredTile, TREE_SQL, TreeState, to_i64,
    to_u64,
};
use crate::store::{IntegrationTxn, LogRepository, StoreError, StoreResult};

/// Advisory-lock key of the log sequencer ("GGTLOG").
const SEQUENCER_LOCK: i64 = 0x4747_544c_4f47;

/// Give `pending` their indexes and chain them, with `tokens`, inside the caller's
/// transaction. The head row is locked last and held only until the caller commits.
pub(super) async fn sequence(
    tx: &mut Transaction<'_, Postgres>,
    tokens: AccessTokenColumns,
    pending: &[&PendingEntry],
    now: i64,
) -> StoreResult<Option<Written>> {
    if pending.is_empty() && tokens.is_empty() {
        return Ok(None);
    }
    let head = read_head(&mut **tx, true).await?;
    match append(&mut **tx, head, tokens, pending, now).await? {
        Some(written) => Ok(Some(written)),
        None => Err(StoreError::Corrupt(
            "the log head moved while its row was locked".into(),
        )),
    }
}

async fn read_tiles<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    keys: &[(u8, u64)],
) -> StoreResult<Vec<StoredTile>> {
    let levels: Vec<i16> = keys.iter().map(|(l, _)| i16::from(*l)).collect();
    let indexes = keys
        .iter()
        .map(|(_, i)| to_i64(*i))
        .collect::<StoreResult<Vec<i64>>>()?;
    let rows: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT level, idx, hashes FROM log_tiles \
         WHERE (level, idx) IN (SELECT * FROM UNNEST($1::smallint[], $2::bigint[]))",
    )
    .bind(&levels)
    .bind(&indexes)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|(l, i, h)| StoredTile::from_row(i64::from(*l), *i, h))
        .collect()
}

async fn read_tree<'e, E: sqlx::PgExecutor<'e>>(executor: E) -> StoreResult<Option<TreeState>> {
    read_tree_with(executor, TREE_SQL).await
}

async fn read_tree_with<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    sql: &'static str,
) -> StoreResult<Option<TreeState>> {
    let row: Option<(i64, Vec<u8>, String)> = sqlx::query_as(sql).fetch_optional(executor).await?;
    row.map(TreeState::from_row).transpose()
}

const ENTRIES_SQL: &str = "SELECT entry FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx";

struct Integration {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl IntegrationTxn for Integration {
    async fn tree(&mut self) -> StoreResult<Option<TreeState>> {
        read_tree(&mut *self.tx).await
    }

    async fn sequenced(&mut self) -> StoreResult<u64> {
        // Without FOR UPDATE: issuance keeps sequencing while we integrate what is committed.
        let (next,): (i64,) = sqlx::query_as("SELECT next_index FROM log_head WHERE id = 1")
            .fetch_one(&mut *self.tx)
            .await?;
        to_u64(next)
    }

    async fn entries(&mut self, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>> {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(ENTRIES_SQL)
            .bind(to_i64(start)?)
            .bind(to_i64(end)?)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(rows.into_iter().map(|(e,)| e).collect())
    }

    async fn tiles(&mut self, keys: &[(u8, u64)]) -> StoreResult<Vec<StoredTile>> {
        read_tiles(&mut *self.tx, keys).await
    }

    async fn put_tiles(&mut self, tiles: &[StoredTile]) -> StoreResult<()> {
        let levels: Vec<i16> = tiles.iter().map(|t| i16::from(t.level)).collect();
        let indexes = tiles
            .iter()
            .map(|t| to_i64(t.index))
            .collect::<StoreResult<Vec<i64>>>()?;
        let hashes: Vec<Vec<u8>> = tiles.iter().map(StoredTile::bytes).collect();
        // An existing tile is only replaced by a longer one that starts with it.
        let written = sqlx::query(
            "INSERT INTO log_tiles (level, idx, hashes) \
             SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::bytea[]) \
             ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes \
             WHERE length(EXCLUDED.hashes) > length(log_tiles.hashes) \
             AND substring(EXCLUDED.hashes FROM 1 FOR length(log_tiles.hashes)) = log_tiles.hashes",
        )
        .bind(&levels)
        .bind(&indexes)
        .bind(&hashes)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if written != tiles.len() as u64 {
            return Err(crate::store::StoreError::Corrupt(
                "a stored tile would have been rewritten, not extended".into(),
            ));
        }
        Ok(())
    }

    async fn publish(
        &mut self,
        previous: Option<u64>,
        next: &TreeState,
        now: i64,
    ) -> StoreResult<bool> {
        let swapped = match previous {
            None => sqlx::query(
                "INSERT INTO log_tree (id, size, root, checkpoint) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
            )
            .bind(to_i64(next.size)?)
            .bind(next.root.as_slice())
            .bind(&next.checkpoint)
            .execute(&mut *self.tx)
            .await?
            .rows_affected(),
            Some(size) => sqlx::query("UPDATE log_tree SET size = $1, root = $2, checkpoint = $3 WHERE id = 1 AND size = $4")
                .bind(to_i64(next.size)?)
                .bind(next.root.as_slice())
                .bind(&next.checkpoint)
                .bind(to_i64(size)?)
                .execute(&mut *self.tx)
                .await?
                .rows_affected(),
        };
        if swapped != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO log_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(to_i64(next.size)?)
        .bind(next.root.as_slice())
        .bind(&next.checkpoint)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(true)
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl LogRepository for Backend {
    async fn append(&self, entries: &[PendingEntry], now: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let entries: Vec<&PendingEntry> = entries.iter().collect();
        let written = sequence(&mut tx, AccessTokenColumns::default(), &entries, now).await?;
        tx.commit().await?;
        if let Some(written) = written {
            self.head.set(Some(written.head));
        }
        Ok(())
    }

    async fn begin_integration(&self) -> StoreResult<Option<Box<dyn IntegrationTxn>>> {
        let mut tx = self.pool.begin().await?;
        let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
            .bind(SEQUENCER_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            return Ok(None);
        }
        Ok(Some(Box::new(Integration { tx })))
    }

    async fn tree(&self) -> StoreResult<Option<TreeState>> {
        read_tree(&self.pool).await
    }

    async fn entries(&self, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>> {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(ENTRIES_SQL)
            .bind(to_i64(start)?)
            .bind(to_i64(end)?)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(e,)| e).collect())
    }

    async fn tiles(&self, keys: &[(u8, u64)]) -> StoreResult<Vec<StoredTile>> {
        read_tiles(&self.pool, keys).await
    }

    async fn index_of_jti(&self, jti_hash: &str) -> StoreResult<Option<u64>> {
        let row: Option<(i64,)> = sqlx::query_as(INDEX_OF_JTI_SQL)
            .bind(jti_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|(i,)| to_u64(i)).transpose()
    }

    async fn sealed_record(&self, index: u64) -> StoreResult<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT sealed FROM log_records WHERE idx = $1")
                .bind(to_i64(index)?)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(s,)| s))
    }

    async fn entries_about(&self, person: &str, limit: u32) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT e.idx, e.entry FROM log_subjects s JOIN log_entries e ON e.idx = s.idx \
             WHERE s.subject = $1 ORDER BY s.idx DESC LIMIT $2",
        )
        .bind(person)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|(i, e)| Ok((to_u64(i)?, e))).collect()
    }

    async fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO log_cosignatures (size, witness, line) VALUES ($1, $2, $3) \
             ON CONFLICT (size, witness) DO UPDATE SET line = EXCLUDED.line",
        )
        .bind(to_i64(size)?)
        .bind(witness)
        .bind(line)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn cosignatures(&self, size: u64) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT line FROM log_cosignatures WHERE size = $1 ORDER BY witness")
                .bind(to_i64(size)?)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(l,)| l).collect())
    }

    async fn cosigned_tree(&self) -> StoreResult<Option<TreeState>> {
        read_tree_with(&self.pool, COSIGNED_TREE_SQL).await
    }
}
