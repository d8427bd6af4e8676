//! Durable storage: one repository trait per aggregate, one implementation per backend
//! (`sqlite`, `postgres`). Callers hold a [`Store`] and never branch on the backend.

pub mod accounts;
pub mod claims;
pub mod consents;
pub mod model;
mod postgres;
#[cfg(test)]
pub(crate) mod scratch;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use glassgate_keys::{KeyPurpose, KeyRecord, KeyStatus};

use crate::config::Config;
use model::{
    AccessTokenState, ClientRecord, ClientSource, Issuance, IssuanceOutcome, RefreshTokenState,
    StoredTile, TreeState,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait ClientRepository: Send + Sync {
    async fn get(&self, client_id: &str) -> StoreResult<Option<ClientRecord>>;
    /// Insert or replace the whole record.
    async fn upsert(&self, client: &ClientRecord) -> StoreResult<()>;
    /// Returns whether a record was deleted.
    async fn delete(&self, client_id: &str) -> StoreResult<bool>;
    /// The ids of the clients written from `source` (e.g. the configuration file's).
    async fn list_ids_by_source(&self, source: ClientSource) -> StoreResult<Vec<String>>;
}

/// A change the rotation planner asks for, applied inside the repository's transaction.
pub enum KeyWrite {
    Insert(KeyRecord),
    SetStatus {
        kid: String,
        status: KeyStatus,
        at: i64,
    },
}

/// Decides the writes given the records read under the rotation lock.
pub type KeyPlanner<'a> = dyn Fn(&[KeyRecord]) -> Result<Vec<KeyWrite>, String> + Send + Sync + 'a;

#[async_trait]
pub trait KeyRepository: Send + Sync {
    async fn list(&self, purpose: KeyPurpose) -> StoreResult<Vec<KeyRecord>>;
    /// Read the keys of `purpose` under an exclusive lock (so one replica rotates at a time),
    /// let `planner` decide, and apply its writes in the same transaction.
    async fn rotate(&self, purpose: KeyPurpose, planner: &KeyPlanner<'_>) -> StoreResult<usize>;
}

#[async_trait]
pub trait TokenRepository: Send + Sync {
    /// Commit a batch of issuances in one transaction; one outcome per issuance.
    async fn commit(&self, batch: &[Issuance]) -> StoreResult<Vec<IssuanceOutcome>>;
    async fn access_token(&self, jti: &str) -> StoreResult<Option<AccessTokenState>>;
    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenState>>;
    async fn revoke_access_token(&self, jti: &str, now: i64) -> StoreResult<()>;
    /// Revoke a grant: every access and refresh token issued under it stops being active.
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()>;
    /// Revoke everything issued to `client_id`: its grants (and so their refresh tokens)
    /// and its access tokens, in one transaction. Returns how many rows were revoked.
    async fn revoke_client(&self, client_id: &str, now: i64) -> StoreResult<u64>;
    /// Forget tokens and grants that expired before `before`.
    async fn purge_expired(&self, before: i64) -> StoreResult<u64>;
}

/// One integration step of the log, inside one transaction holding the sequencer's lock.
/// The algorithm lives in `tlog::sequencer`; backends only move bytes.
#[async_trait]
pub trait IntegrationTxn: Send {
    /// The last published tree, `None` before the first checkpoint.
    async fn tree(&mut self) -> StoreResult<Option<TreeState>>;
    /// How many entries have been sequenced (the next index to give out).
    async fn sequenced(&mut self) -> StoreResult<u64>;
    /// Entry bytes of `start..end`, in order.
    async fn entries(&mut self, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>>;
    /// The stored hash tiles among `keys` (level, index), seeing this transaction's writes.
    async fn tiles(&mut self, keys: &[(u8, u64)]) -> StoreResult<Vec<StoredTile>>;
    /// Write tiles: new ones, or longer versions of stored ones. A write that is not an
    /// extension of the stored tile (shorter, or a different prefix) is refused.
    async fn put_tiles(&mut self, tiles: &[StoredTile]) -> StoreResult<()>;
    /// Compare-and-swap the published tree from `previous` size to `next`, recording the
    /// checkpoint. `false` when another sequencer moved the tree first.
    async fn publish(
        &mut self,
        previous: Option<u64>,
        next: &TreeState,
        now: i64,
    ) -> StoreResult<bool>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

#[async_trait]
pub trait LogRepository: Send + Sync {
    /// Sequence entries outside a token issuance (refusals, administrative changes).
    async fn append(&self, entries: &[model::PendingEntry], now: i64) -> StoreResult<()>;
    /// Start an integration if no other replica is integrating (`None` then).
    async fn begin_integration(&self) -> StoreResult<Option<Box<dyn IntegrationTxn>>>;
    async fn tree(&self) -> StoreResult<Option<TreeState>>;
    async fn entries(&self, start: u64, end: u64) -> StoreResult<Vec<Vec<u8>>>;
    /// The stored hash tiles among `keys` (level, index); absent ones are left out.
    async fn tiles(&self, keys: &[(u8, u64)]) -> StoreResult<Vec<StoredTile>>;
    async fn index_of_jti(&self, jti_hash: &str) -> StoreResult<Option<u64>>;
    async fn sealed_record(&self, index: u64) -> StoreResult<Option<Vec<u8>>>;
    /// The entries about `person` (subject or patient context), newest first, at most
    /// `limit`: (index, entry bytes).
    async fn entries_about(&self, person: &str, limit: u32) -> StoreResult<Vec<(u64, Vec<u8>)>>;
    async fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> StoreResult<()>;
    async fn cosignatures(&self, size: u64) -> StoreResult<Vec<String>>;
    /// The largest checkpoint any witness has cosigned (without its cosignatures).
    async fn cosigned_tree(&self) -> StoreResult<Option<TreeState>>;
}

#[async_trait]
pub trait Health: Send + Sync {
    async fn ping(&self) -> StoreResult<()>;
}

/// The repositories of one backend.
#[derive(Clone)]
pub struct Store {
    pub accounts: Arc<dyn accounts::AccountRepository>,
    pub consents: Arc<dyn consents::ConsentRepository>,
    pub claims: Arc<dyn claims::ClaimRepository>,
    pub clients: Arc<dyn ClientRepository>,
    pub keys: Arc<dyn KeyRepository>,
    pub tokens: Arc<dyn TokenRepository>,
    pub log: Arc<dyn LogRepository>,
    pub health: Arc<dyn Health>,
    pub backend: &'static str,
}

/// Open PostgreSQL when `database_url` is set, else the SQLite file in `data_dir`;
/// migrations are applied before the store is returned.
pub async fn open(config: &Config) -> StoreResult<Store> {
    match config.database_url.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            postgres::open(url).await
        }
        Some(url) if url.starts_with("sqlite:") => sqlite::open_url(url).await,
        Some(_) => Err(StoreError::Other(
            "DATABASE_URL must be a postgres:// or sqlite: URL".into(),
        )),
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| StoreError::Other(format!("cannot create data directory: {e}")))?;
            sqlite::open_file(&config.data_dir.join("glassgate.sqlite3")).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::model::*;
    use super::*;

    fn client(client_id: &str, source: ClientSource) -> ClientRecord {
        ClientRecord {
            client_id: client_id.into(),
            client_secret_hash: Some("00".repeat(32)),
            client_name: None,
            auth_method: ClientAuthMethod::ClientSecretBasic,
            redirect_uris: Vec::new(),
            grant_types: vec!["client_credentials".into()],
            scope: None,
            jwks: None,
            require_par: false,
            dpop_bound: false,
            id_token_alg: None,
            registration_token_hash: None,
            source,
            created_at: 1,
            updated_at: 1,
        }
    }

    fn access_token(jti: &str, client_id: &str, grant_id: Option<&str>) -> AccessTokenRecord {
        AccessTokenRecord {
            jti: jti.into(),
            client_id: client_id.into(),
            subject: client_id.into(),
            grant_id: grant_id.map(Into::into),
            scope: String::new(),
            audience: "api".into(),
            issued_at: 1,
            expires_at: i64::from(i32::MAX),
            cnf_jkt: None,
            purpose: None,
            context: TokenContext::default(),
        }
    }

    /// A grant of `client_id` with one access and one refresh token under it, and one access
    /// token of the client outside any grant (client credentials).
    fn issuance(client_id: &str) -> Issuance {
        let grant_id = format!("grant-{client_id}");
        Issuance {
            at: 1,
            grant: Some(GrantRecord {
                grant_id: grant_id.clone(),
                client_id: client_id.into(),
                subject: "subject".into(),
                scope: "openid".into(),
                auth_time: 1,
                acr: None,
                amr: "pwd".into(),
                created_at: 1,
                expires_at: i64::from(i32::MAX),
                purpose: None,
                patient: None,
            }),
            consume_refresh: None,
            access_tokens: vec![
                access_token(&format!("granted-{client_id}"), client_id, Some(&grant_id)),
                access_token(&format!("machine-{client_id}"), client_id, None),
            ],
            refresh_tokens: vec![RefreshTokenRecord {
                token_hash: format!("refresh-{client_id}"),
                grant_id,
                client_id: client_id.into(),
                scope: "openid".into(),
                issued_at: 1,
                expires_at: i64::from(i32::MAX),
                cnf_jkt: None,
            }],
            log: Vec::new(),
        }
    }

    async fn revoked(store: &Store, client_id: &str) -> [bool; 3] {
        let tokens = &store.tokens;
        let at =
            |jti: String| async move { tokens.access_token(&jti).await.unwrap().unwrap().revoked };
        [
            at(format!("granted-{client_id}")).await,
            at(format!("machine-{client_id}")).await,
            tokens
                .refresh_token(&format!("refresh-{client_id}"))
                .await
                .unwrap()
                .unwrap()
                .revoked,
        ]
    }

    async fn clients_by_source_and_revoking_a_client(store: &Store) {
        for (id, source) in [
            ("config-b", ClientSource::Config),
            ("config-a", ClientSource::Config),
            ("dynamic", ClientSource::Dynamic),
            ("udap", ClientSource::Udap),
        ] {
            store.clients.upsert(&client(id, source)).await.unwrap();
        }
        let ids = |source| async move { store.clients.list_ids_by_source(source).await.unwrap() };
        assert_eq!(ids(ClientSource::Config).await, ["config-a", "config-b"]);
        assert_eq!(ids(ClientSource::Dynamic).await, ["dynamic"]);
        assert_eq!(ids(ClientSource::Udap).await, ["udap"]);

        for id in ["config-a", "dynamic"] {
            store.tokens.commit(&[issuance(id)]).await.unwrap();
        }
        assert_eq!(revoked(store, "config-a").await, [false; 3]);
        // One grant and two access tokens.
        assert_eq!(store.tokens.revoke_client("config-a", 2).await.unwrap(), 3);
        assert_eq!(revoked(store, "config-a").await, [true; 3]);
        assert_eq!(
            revoked(store, "dynamic").await,
            [false; 3],
            "another client's tokens are untouched"
        );
        assert_eq!(
            store.tokens.revoke_client("config-a", 3).await.unwrap(),
            0,
            "nothing is revoked twice"
        );

        assert!(store.clients.delete("config-a").await.unwrap());
        assert_eq!(ids(ClientSource::Config).await, ["config-b"]);
        assert_eq!(ids(ClientSource::Dynamic).await, ["dynamic"]);
    }

    #[tokio::test]
    async fn clients_are_listed_by_source_and_a_clients_tokens_are_revoked_together() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = sqlite::open_file(&dir.path().join("store.sqlite3"))
            .await
            .unwrap();
        clients_by_source_and_revoking_a_client(&sqlite).await;

        let Some(scratch) = scratch::ScratchPostgres::create("gg_store").await else {
            return;
        };
        let postgres = postgres::open(&scratch.url).await.unwrap();
        clients_by_source_and_revoking_a_client(&postgres).await;
        drop(postgres);
        scratch.drop_database().await;
    }
}
