//! PostgreSQL backend: production. Batches of issuances are written with one multi-row
//! `UNNEST` insert per table; a batch of access tokens and log entries only is one statement
//! and one round trip (see `append`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use glassgate_keys::{KeyPurpose, KeyRecord};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

use super::model::*;

mod accounts;
mod append;
mod claims;
mod consents;
mod log;
use super::{
    ClientRepository, Health, KeyPlanner, KeyRepository, KeyWrite, Store, StoreResult,
    TokenRepository,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Advisory-lock key under which one replica at a time rotates keys ("GGKEYS").
const KEY_ROTATION_LOCK: i64 = 0x4747_4b45_5953;

#[derive(Clone)]
pub(super) struct Backend {
    pub(super) pool: PgPool,
    /// The log head as this replica's last append left it.
    head: append::KnownHead,
}

pub async fn open(url: &str) -> StoreResult<Store> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    MIGRATOR.run(&pool).await?;
    let backend = Arc::new(Backend {
        pool,
        head: append::KnownHead::default(),
    });
    Ok(Store {
        accounts: backend.clone(),
        consents: backend.clone(),
        claims: backend.clone(),
        clients: backend.clone(),
        keys: backend.clone(),
        tokens: backend.clone(),
        log: backend.clone(),
        health: backend,
        backend: "postgres",
    })
}

const CLIENT_COLUMNS: &str = "client_id, client_secret_hash, client_name, token_endpoint_auth_method, \
     redirect_uris, grant_types, scope, jwks, require_par, dpop_bound, id_token_alg, \
     registration_token_hash, source, created_at, updated_at";

#[async_trait]
impl ClientRepository for Backend {
    async fn get(&self, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1"
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
            "INSERT INTO clients ({CLIENT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (client_id) DO UPDATE SET client_secret_hash = EXCLUDED.client_secret_hash, \
             client_name = EXCLUDED.client_name, token_endpoint_auth_method = EXCLUDED.token_endpoint_auth_method, \
             redirect_uris = EXCLUDED.redirect_uris, grant_types = EXCLUDED.grant_types, scope = EXCLUDED.scope, \
             jwks = EXCLUDED.jwks, require_par = EXCLUDED.require_par, dpop_bound = EXCLUDED.dpop_bound, \
             id_token_alg = EXCLUDED.id_token_alg, registration_token_hash = EXCLUDED.registration_token_hash, \
             source = EXCLUDED.source, updated_at = EXCLUDED.updated_at"
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
        let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_ids_by_source(&self, source: ClientSource) -> StoreResult<Vec<String>> {
        let ids = sqlx::query_scalar(
            "SELECT client_id FROM clients WHERE source = $1 ORDER BY client_id",
        )
        .bind(source.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }
}

const KEY_COLUMNS: &str = "kid, algorithm, purpose, status, created_at, activated_at, retired_at, \
     public_jwk, kek_id, wrapped_private";

async fn insert_key(tx: &mut Transaction<'_, Postgres>, k: &KeyRecord) -> StoreResult<()> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
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
            "SELECT {KEY_COLUMNS} FROM signing_keys WHERE purpose = $1 ORDER BY created_at, kid"
        ));
        let rows: Vec<KeyRow> = sqlx::query_as(sql)
            .bind(purpose.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(key_from_row).collect()
    }

    async fn rotate(&self, purpose: KeyPurpose, planner: &KeyPlanner<'_>) -> StoreResult<usize> {
        let mut tx = self.pool.begin().await?;
        // Transaction-scoped advisory lock: replicas rotating at once queue here, and the
        // second one sees the first one's keys and plans nothing.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(KEY_ROTATION_LOCK)
            .execute(&mut *tx)
            .await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys WHERE purpose = $1 ORDER BY created_at, kid"
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
                        "UPDATE signing_keys SET status = $1, \
                         activated_at = CASE WHEN $1 = 'current' THEN $2 ELSE activated_at END, \
                         retired_at = CASE WHEN $1 = 'retired' THEN $2 ELSE retired_at END \
                         WHERE kid = $3",
                    )
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

/// Grants, refresh tokens and refresh rotation are rare next to access tokens: row by row.
async fn write_user_parts(
    tx: &mut Transaction<'_, Postgres>,
    issuance: &Issuance,
) -> StoreResult<IssuanceOutcome> {
    if let Some(hash) = &issuance.consume_refresh {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
    for r in &issuance.refresh_tokens {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scope, issued_at, expires_at, cnf_jkt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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

impl Backend {
    /// A batch of access tokens and log entries only, as one statement on the head this
    /// replica last wrote; `None` (nothing written) when that head is unknown or moved.
    async fn commit_appends(
        &self,
        batch: &[Issuance],
    ) -> StoreResult<Option<Vec<IssuanceOutcome>>> {
        let head = match self.head.get() {
            Some(head) => head,
            None => append::read_head(&self.pool, false).await?,
        };
        let mut tokens = append::AccessTokenColumns::default();
        let mut entries = Vec::new();
        for issuance in batch {
            issuance.access_tokens.iter().for_each(|t| tokens.push(t));
            entries.extend(issuance.log.iter());
        }
        let now = batch.iter().map(|i| i.at).max().unwrap_or_default();
        self.head.set(None);
        let Some(written) = append::append(&self.pool, head, tokens, &entries, now).await? else {
            return Ok(None);
        };
        self.head.set(Some(written.head));
        let mut outcomes = vec![IssuanceOutcome::Committed { log_index: None }; batch.len()];
        assign_log_indexes(&mut outcomes, batch, written.first);
        Ok(Some(outcomes))
    }

    /// Any batch, in a transaction that locks the log head's row before its last statement.
    async fn commit_locked(&self, batch: &[Issuance]) -> StoreResult<Vec<IssuanceOutcome>> {
        self.head.set(None);
        let mut tx = self.pool.begin().await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut tokens = append::AccessTokenColumns::default();
        let mut entries = Vec::new();
        for issuance in batch {
            let outcome = if issuance.writes_user_rows() {
                write_user_parts(&mut tx, issuance).await?
            } else {
                IssuanceOutcome::Committed { log_index: None }
            };
            if outcome != IssuanceOutcome::RefreshAlreadyUsed {
                issuance.access_tokens.iter().for_each(|t| tokens.push(t));
                entries.extend(issuance.log.iter());
            }
            outcomes.push(outcome);
        }
        let now = batch.iter().map(|i| i.at).max().unwrap_or_default();
        let written = log::sequence(&mut tx, tokens, &entries, now).await?;
        tx.commit().await?;
        if let Some(written) = written {
            assign_log_indexes(&mut outcomes, batch, written.first);
            self.head.set(Some(written.head));
        }
        Ok(outcomes)
    }
}

#[async_trait]
impl TokenRepository for Backend {
    async fn commit(&self, batch: &[Issuance]) -> StoreResult<Vec<IssuanceOutcome>> {
        let appends_only = !batch.iter().any(Issuance::writes_user_rows);
        if appends_only && let Some(outcomes) = self.commit_appends(batch).await? {
            return Ok(outcomes);
        }
        self.commit_locked(batch).await
    }

    async fn access_token(&self, jti: &str) -> StoreResult<Option<AccessTokenState>> {
        let row: Option<AccessTokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ACCESS_TOKEN_COLUMNS} FROM access_tokens t LEFT JOIN grants g ON g.grant_id = t.grant_id WHERE t.jti = $1"
        )))
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(access_token_from_row))
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenState>> {
        let row: Option<RefreshTokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REFRESH_TOKEN_COLUMNS} FROM refresh_tokens r JOIN grants g ON g.grant_id = r.grant_id WHERE r.token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(refresh_token_from_row))
    }

    async fn revoke_access_token(&self, jti: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE jti = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(jti)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
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
            "UPDATE grants SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
            "UPDATE access_tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
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
            "DELETE FROM access_tokens WHERE expires_at < $1",
            "DELETE FROM refresh_tokens WHERE expires_at < $1",
            "DELETE FROM grants WHERE expires_at < $1",
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
