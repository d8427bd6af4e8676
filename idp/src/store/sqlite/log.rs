//! The transparency log on SQLite: sequencing inside issuance transactions, integration
//! under `BEGIN IMMEDIATE` (the file's single writer is the sequencer), and reads.

use async_trait::async_trait;
use sqlx::{Sqlite, Transaction};

use super::Backend;
use crate::store::model::{
    COSIGNED_TREE_SQL, INDEX_OF_JTI_SQL, PendingEntry, StoredTile, TREE_SQL, TreeState, chain,
    digest_from, to_i64, to_u64,
};
use crate::store::{IntegrationTxn, LogRepository, StoreResult};

/// Give `pending` their indexes and chain them, inside the caller's transaction.
pub(super) async fn sequence(
    tx: &mut Transaction<'_, Sqlite>,
    pending: &[&PendingEntry],
    now: i64,
) -> StoreResult<Option<i64>> {
    if pending.is_empty() {
        return Ok(None);
    }
    let (next_index, last): (i64, Vec<u8>) =
        sqlx::query_as("SELECT next_index, last_digest FROM log_head WHERE id = 1")
            .fetch_one(&mut **tx)
            .await?;
    let (entries, last_digest) = chain(pending, next_index, digest_from(&last)?)?;
    for e in &entries {
        sqlx::query(
            "INSERT INTO log_entries (idx, entry, jti_hash, id_jti_hash, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(e.index)
        .bind(&e.bytes)
        .bind(&e.jti_hash)
        .bind(&e.id_jti_hash)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        sqlx::query("INSERT INTO log_records (idx, sealed) VALUES (?, ?)")
            .bind(e.index)
            .bind(&e.sealed_record)
            .execute(&mut **tx)
            .await?;
        for person in &e.about {
            sqlx::query("INSERT INTO log_subjects (subject, idx) VALUES (?, ?)")
                .bind(person)
                .bind(e.index)
                .execute(&mut **tx)
                .await?;
        }
    }
    sqlx::query("UPDATE log_head SET next_index = ?, last_digest = ? WHERE id = 1")
        .bind(next_index + to_i64(entries.len() as u64)?)
        .bind(last_digest.as_slice())
        .execute(&mut **tx)
        .await?;
    Ok(Some(next_index))
}

/// Tiles by (level, index), passed as one JSON array of pairs (`json_each`) so one static
/// statement reads any number of them.
async fn read_tiles<'e, E: sqlx::SqliteExecutor<'e>>(
    executor: E,
    keys: &[(u8, u64)],
) -> StoreResult<Vec<StoredTile>> {
    let keys = serde_json::to_string(keys).unwrap_or_else(|_| "[]".into());
    let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT level, idx, hashes FROM log_tiles WHERE (level, idx) IN \
         (SELECT value ->> 0, value ->> 1 FROM json_each(?))",
    )
    .bind(keys)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|(l, i, h)| StoredTile::from_row(*l, *i, h))
        .collect()
}

async fn read_tree<'e, E: sqlx::SqliteExecutor<'e>>(executor: E) -> StoreResult<Option<TreeState>> {
    read_tree_with(executor, TREE_SQL).await
}

async fn read_tree_with<'e, E: sqlx::SqliteExecutor<'e>>(
    executor: E,
    sql: &'static str,
) -> StoreResult<Option<TreeState>> {
    let row: Option<(i64, Vec<u8>, String)> = sqlx::query_as(sql).fetch_optional(executor).await?;
    row.map(TreeState::from_row).transpose()
}

const ENTRIES_SQL: &str = "SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx";

struct Integration {
    tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl IntegrationTxn for Integration {
    async fn tree(&mut self) -> StoreResult<Option<TreeState>> {
        read_tree(&mut *self.tx).await
    }

    async fn sequenced(&mut self) -> StoreResult<u64> {
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
        for tile in tiles {
            // An existing tile is only replaced by a longer one that starts with it.
            let written = sqlx::query(
                "INSERT INTO log_tiles (level, idx, hashes) VALUES (?, ?, ?) \
                 ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes \
                 WHERE length(excluded.hashes) > length(log_tiles.hashes) \
                 AND substr(excluded.hashes, 1, length(log_tiles.hashes)) = log_tiles.hashes",
            )
            .bind(i64::from(tile.level))
            .bind(to_i64(tile.index)?)
            .bind(tile.bytes())
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
            if written != 1 {
                return Err(crate::store::StoreError::Corrupt(format!(
                    "stored tile {}/{} would have been rewritten, not extended",
                    tile.level, tile.index
                )));
            }
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
                "INSERT INTO log_tree (id, size, root, checkpoint) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            )
            .bind(to_i64(next.size)?)
            .bind(next.root.as_slice())
            .bind(&next.checkpoint)
            .execute(&mut *self.tx)
            .await?
            .rows_affected(),
            Some(size) => sqlx::query("UPDATE log_tree SET size = ?, root = ?, checkpoint = ? WHERE id = 1 AND size = ?")
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
            "INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)",
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let entries: Vec<&PendingEntry> = entries.iter().collect();
        sequence(&mut tx, &entries, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn begin_integration(&self) -> StoreResult<Option<Box<dyn IntegrationTxn>>> {
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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
            sqlx::query_as("SELECT sealed FROM log_records WHERE idx = ?")
                .bind(to_i64(index)?)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(s,)| s))
    }

    async fn entries_about(&self, person: &str, limit: u32) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT e.idx, e.entry FROM log_subjects s JOIN log_entries e ON e.idx = s.idx \
             WHERE s.subject = ? ORDER BY s.idx DESC LIMIT ?",
        )
        .bind(person)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|(i, e)| Ok((to_u64(i)?, e))).collect()
    }

    async fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO log_cosignatures (size, witness, line) VALUES (?, ?, ?)",
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
            sqlx::query_as("SELECT line FROM log_cosignatures WHERE size = ? ORDER BY witness")
                .bind(to_i64(size)?)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(l,)| l).collect())
    }

    async fn cosigned_tree(&self) -> StoreResult<Option<TreeState>> {
        read_tree_with(&self.pool, COSIGNED_TREE_SQL).await
    }
}
