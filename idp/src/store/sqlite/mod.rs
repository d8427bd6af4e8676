//! SQLite backend: the embedded default. One file, WAL, `synchronous=FULL` so a committed
//! issuance survives a crash.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use glassgate_keys::{KeyPurpose, KeyRecord};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::model::*;

mod accounts;
mod claims;
mod consents;
mod log;
use super::{
    ClientRepository, Health, KeyPlanner, KeyRepository, KeyWrite, Store, StoreResult,
    TokenRepository,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Clone)]
pub(super) struct Backend {
    pub(super) pool: SqlitePool,
}

pub async fn open_file(path: &Path) -> StoreResult<Store> {
    open_with(SqliteConnectOptions::new().filename(path)).await
}

pub async fn open_url(url: &str) -> StoreResult<Store> {
    open_with(SqliteConnectOptions::from_str(url)?).await
}

async fn open_with(options: SqliteConnectOptions) -> StoreResult<Store> {
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
    MIGRATOR.run(&pool).await?;
    let backend = Arc::new(Backend { pool });
    Ok(Store {
        accounts: backend.clone(),
        consents: backend.clone(),
        claims: backend.clone(),
        clients: backend.clone(),
        keys: backend.clone(),
        tokens: backend.clone(),
        log: backend.clone(),
        health: backend,
        backend: "sqlite",
    })
}

const CLIENT_COLUMNS: &str = "client_id, client_secret_hash, client_name, token_endpoint_auth_method, \
     redirect_uris, grant_types, scope, jwks, require_par, dpop_bound, id_token_alg, \
     registration_token_hash, source, created_at, updated_at";

#[async_trait]
impl ClientRepository for Backend {
    async fn get(&self, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = ?"
        ));
        let row: Option<ClientRow> = sqlx::query_as(sql)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(client_from_row).transpose()
    }

    async fn upsert(&self, c: &ClientRecord) -> StoreResult<()> {
        let (redirect_uris, grant_types) = client_lists(c);
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT OR REPLACE INTO clients ({CLIENT_COLUMNS}) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ));
        sqlx::query(sql)
            .bind(&c.client_id)
            .bind(&c.client_secret_hash)
            .bind(&c.client_name)
            .bind(c.auth_method.as_str())
            .bind(redirect_uris)
            .bind(grant_types)
            .bind(&c.scope)
            .bind(&c.jwks)
            .bind(c.require_par)
            .bind(c.dpop_bound)
            .bind(&c.id_token_alg)
            .bind(&c.registration_token_hash)
            .bind(c.source.as_str())
            .bind(c.created_at)
            .bind(c.updated_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete(&self, client_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = ?")
            .bind(client_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_ids_by_source(&self, source: ClientSource) -> StoreResult<Vec<String>> {
        let ids =
            sqlx::query_scalar("SELECT client_id FROM clients WHERE source = ? ORDER BY client_id")
                .bind(source.as_str())
                .fetch_all(&self.pool)
                .await?;
        Ok(ids)
    }
}

const KEY_COLUMNS: &str = "kid, algorithm, purpose, status, created_at, activated_at, retired_at, \
     public_jwk, kek_id, wrapped_private";

async fn insert_key(tx: &mut Transaction<'_, Sqlite>, k: &KeyRecord) -> StoreResult<()> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ));
    sqlx::query(sql)
        .bind(&k.kid)
        .bind(k.algorithm.jose_name())
        .bind(k.purpose.as_str())
        .bind(k.status.as_str())
        .bind(k.created_at)
        .bind(k.activated_at)
        .bind(k.retired_at)
        .bind(k.public_jwk.to_string())
        .bind(&k.kek_id)
        .bind(&k.wrapped_private)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[async_trait]
impl KeyRepository for Backend {
    async fn list(&self, purpose: KeyPurpose) -> StoreResult<Vec<KeyRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys WHERE purpose = ? ORDER BY created_at, kid"
        ));
        let rows: Vec<KeyRow> = sqlx::query_as(sql)
            .bind(purpose.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(key_from_row).collect()
    }

    async fn rotate(&self, purpose: KeyPurpose, planner: &KeyPlanner<'_>) -> StoreResult<usize> {
        // BEGIN IMMEDIATE takes the write lock up front: the file's single writer is the leader.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys WHERE purpose = ? ORDER BY created_at, kid"
        ));
        let rows: Vec<KeyRow> = sqlx::query_as(sql)
            .bind(purpose.as_str())
            .fetch_all(&mut *tx)
            .await?;
        let records = rows
            .into_iter()
            .map(key_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let writes = planner(&records).map_err(super::StoreError::Other)?;
        for write in &writes {
            match write {
                KeyWrite::Insert(k) => insert_key(&mut tx, k).await?,
                KeyWrite::SetStatus { kid, status, at } => {
                    sqlx::query(
                        "UPDATE signing_keys SET status = ?, \
                         activated_at = CASE WHEN ? = 'current' THEN ? ELSE activated_at END, \
                         retired_at = CASE WHEN ? = 'retired' THEN ? ELSE retired_at END \
                         WHERE kid = ?",
                    )
                    .bind(status.as_str())
                    .bind(status.as_str())
                    .bind(at)
                    .bind(status.as_str())
                    .bind(at)
                    .bind(kid)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(writes.len())
    }
}

async fn commit_one(
    tx: &mut Transaction<'_, Sqlite>,
    issuance: &Issuance,
) -> StoreResult<IssuanceOutcome> {
    if let Some(hash) = &issuance.consume_refresh {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
        )
        .bind(issuance.at)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(IssuanceOutcome::RefreshAlreadyUsed);
        }
    }
    if let Some(g) = &issuance.grant {
        sqlx::query(
            "INSERT INTO grants (grant_id, client_id, subject, scope, auth_time, acr, amr, created_at, expires_at, purpose, patient) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&g.grant_id)
        .bind(&g.client_id)
        .bind(&g.subject)
        .bind(&g.scope)
        .bind(g.auth_time)
        .bind(&g.acr)
        .bind(&g.amr)
        .bind(g.created_at)
        .bind(g.expires_at)
        .bind(&g.purpose)
        .bind(&g.patient)
        .execute(&mut **tx)
        .await?;
    }
    for t in &issuance.access_tokens {
        sqlx::query(
            "INSERT INTO access_tokens (jti, client_id, subject, grant_id, scope, audience, issued_at, expires_at, cnf_jkt, purpose, context) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.jti)
        .bind(&t.client_id)
        .bind(&t.subject)
        .bind(&t.grant_id)
        .bind(&t.scope)
        .bind(&t.audience)
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(&t.cnf_jkt)
        .bind(&t.purpose)
        .bind(t.context.to_stored())
        .execute(&mut **tx)
        .await?;
    }
    for r in &issuance.refresh_tokens {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scope, issued_at, expires_at, cnf_jkt) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&r.token_hash)
        .bind(&r.grant_id)
        .bind(&r.client_id)
        .bind(&r.scope)
        .bind(r.issued_at)
        .bind(r.expires_at)
        .bind(&r.cnf_jkt)
        .execute(&mut **tx)
        .await?;
    }
    Ok(IssuanceOutcome::Committed { log_index: None })
}

#[async_trait]
impl TokenRepository for Backend {
    async fn commit(&self, batch: &[Issuance]) -> StoreResult<Vec<IssuanceOutcome>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut entries = Vec::new();
        for issuance in batch {
            let outcome = commit_one(&mut tx, issuance).await?;
            if outcome != IssuanceOutcome::RefreshAlreadyUsed {
                entries.extend(issuance.log.iter());
            }
            outcomes.push(outcome);
        }
        let now = batch.iter().map(|i| i.at).max().unwrap_or_default();
        let first = log::sequence(&mut tx, &entries, now).await?;
        assign_log_indexes(&mut outcomes, batch, first);
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn access_token(&self, jti: &str) -> StoreResult<Option<AccessTokenState>> {
        let row: Option<AccessTokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ACCESS_TOKEN_COLUMNS} FROM access_tokens t LEFT JOIN grants g ON g.grant_id = t.grant_id WHERE t.jti = ?"
        )))
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(access_token_from_row))
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenState>> {
        let row: Option<RefreshTokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REFRESH_TOKEN_COLUMNS} FROM refresh_tokens r JOIN grants g ON g.grant_id = r.grant_id WHERE r.token_hash = ?"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(refresh_token_from_row))
    }

    async fn revoke_access_token(&self, jti: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE access_tokens SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(jti)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE grants SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(grant_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn revoke_client(&self, client_id: &str, now: i64) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for sql in [
            "UPDATE grants SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL",
            "UPDATE access_tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL",
        ] {
            n += sqlx::query(sql)
                .bind(now)
                .bind(client_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn purge_expired(&self, before: i64) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for sql in [
            "DELETE FROM access_tokens WHERE expires_at < ?",
            "DELETE FROM refresh_tokens WHERE expires_at < ?",
            "DELETE FROM grants WHERE expires_at < ?",
        ] {
            n += sqlx::query(sql)
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }
}

#[async_trait]
impl Health for Backend {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
