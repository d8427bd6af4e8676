//! Short-lived state: authorization codes, PAR request URIs, pending authorization requests,
//! replay caches (client-assertion and DPoP `jti`) and rate-limit counters.
//!
//! In process by default (one replica); Redis when `REDIS_URL` is set, so replicas share it.
//! Single-use items are consumed atomically (`GETDEL`): two replicas can never both take one.

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use self::redis::RedisStore;
pub use memory::MemoryStore;

#[derive(Debug, thiserror::Error)]
pub enum EphemeralError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
}

pub type EphemeralResult<T> = Result<T, EphemeralError>;

#[async_trait]
pub trait EphemeralStore: Send + Sync {
    /// Store `value` under `key` only if the key is absent (`SET NX`). Returns whether it was stored.
    async fn insert_new(&self, key: &str, value: &[u8], ttl: Duration) -> EphemeralResult<bool>;
    /// Store or replace.
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> EphemeralResult<()>;
    /// Read without consuming.
    async fn get(&self, key: &str) -> EphemeralResult<Option<Vec<u8>>>;
    /// Read and delete in one atomic step (`GETDEL`).
    async fn take(&self, key: &str) -> EphemeralResult<Option<Vec<u8>>>;
    /// Increment a counter that expires `window` after its first increment; returns the new count.
    async fn increment(&self, key: &str, window: Duration) -> EphemeralResult<u64>;
    async fn ping(&self) -> EphemeralResult<()>;
    fn backend(&self) -> &'static str;
    /// Drop expired entries, a bounded share of the store per call; returns how many went.
    /// `None` when the backend expires entries itself (Redis): there is nothing to sweep.
    fn sweep_expired(&self) -> Option<usize> {
        None
    }
}

/// How often the background task sweeps the in-process store (a few shards each time, so an
/// expired entry outlives its TTL by seconds, not until the process restarts).
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Sweep `store` every `period` while the process runs. The task ends at once when the
/// backend has nothing to sweep.
pub fn spawn_sweeper(
    store: Arc<dyn EphemeralStore>,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match store.sweep_expired() {
                None => return,
                Some(0) => {}
                Some(removed) => tracing::debug!(removed, "swept expired ephemeral entries"),
            }
        }
    })
}

/// Redis when a URL is given, else the in-process store.
pub async fn open(
    redis_url: Option<&str>,
    prefix: &str,
) -> EphemeralResult<Arc<dyn EphemeralStore>> {
    match redis_url {
        Some(url) => Ok(Arc::new(RedisStore::connect(url, prefix).await?)),
        None => Ok(Arc::new(MemoryStore::new())),
    }
}

/// Key namespaces, so every use of the store is greppable in one place.
pub mod keys {
    pub fn authorization_code(code_hash: &str) -> String {
        format!("code:{code_hash}")
    }
    /// Marker left behind by a redeemed code, naming its grant, so a replay revokes it.
    pub fn redeemed_code(code_hash: &str) -> String {
        format!("code-used:{code_hash}")
    }
    pub fn pushed_request(request_uri_id: &str) -> String {
        format!("par:{request_uri_id}")
    }
    /// A WebAuthn ceremony's server-side state (single use).
    pub fn passkey_ceremony(ceremony: &str) -> String {
        format!("webauthn:{ceremony}")
    }
    /// A signed-in browser, under the hash of its cookie value.
    pub fn browser_session(session_hash: &str) -> String {
        format!("session:{session_hash}")
    }
    /// The session that signed in for a pending authorization (set by the login page or by
    /// an existing session that still needs consent), consumed when the code is issued.
    pub fn interaction_session(interaction: &str) -> String {
        format!("authz-session:{interaction}")
    }
    /// An mDL presentation request awaiting the wallet's answer (single use).
    pub fn proofing_request(transaction: &str) -> String {
        format!("mdl:{transaction}")
    }
    /// The verified (or refused) outcome of an mDL presentation, for the browser that asked.
    pub fn proofing_result(transaction: &str) -> String {
        format!("mdl-result:{transaction}")
    }
    pub fn pending_authorization(interaction: &str) -> String {
        format!("authz:{interaction}")
    }
    pub fn client_assertion_jti(client_id: &str, jti: &str) -> String {
        format!("jti:{client_id}:{jti}")
    }
    pub fn dpop_jti(jkt: &str, jti: &str) -> String {
        format!("dpop:{jkt}:{jti}")
    }
    pub fn rate(bucket: &str) -> String {
        format!("rate:{bucket}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn contract(store: &dyn EphemeralStore) {
        let ttl = Duration::from_secs(30);
        assert!(store.insert_new("a", b"1", ttl).await.unwrap());
        assert!(
            !store.insert_new("a", b"2", ttl).await.unwrap(),
            "NX must refuse"
        );
        assert_eq!(store.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(store.take("a").await.unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(store.take("a").await.unwrap(), None, "single use");
        store
            .put("b", b"x", Duration::from_millis(50))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(store.get("b").await.unwrap(), None, "expired");
        assert_eq!(store.increment("c", ttl).await.unwrap(), 1);
        assert_eq!(store.increment("c", ttl).await.unwrap(), 2);
    }

    /// Replay checks sent at once (so the Redis store pipelines them together): each key is
    /// stored by exactly one of its racers, and each racer learns whether it was that one.
    async fn concurrent_replay_checks(store: Arc<dyn EphemeralStore>) {
        const KEYS: usize = 40;
        const RACERS: usize = 5;
        let ttl = Duration::from_secs(30);
        let mut racers = Vec::new();
        for racer in 0..RACERS {
            for key in 0..KEYS {
                let store = store.clone();
                racers.push(tokio::spawn(async move {
                    let value = racer.to_string();
                    let stored = store
                        .insert_new(&format!("jti:{key}"), value.as_bytes(), ttl)
                        .await
                        .unwrap();
                    (key, value, stored)
                }));
            }
        }
        let mut winners = vec![Vec::new(); KEYS];
        for racer in racers {
            let (key, value, stored) = racer.await.unwrap();
            if stored {
                winners[key].push(value);
            }
        }
        for (key, won) in winners.iter().enumerate() {
            assert_eq!(won.len(), 1, "key {key}: stored by {won:?}");
            let kept = store.get(&format!("jti:{key}")).await.unwrap();
            assert_eq!(kept.as_deref(), Some(won[0].as_bytes()), "key {key}");
        }
    }

    pub(super) fn redis_url() -> Option<String> {
        let url = std::env::var("REDIS_URL").ok();
        if url.is_none() {
            assert!(std::env::var("CI").is_err(), "REDIS_URL must be set in CI");
            eprintln!("REDIS_URL not set: skipping a Redis test");
        }
        url
    }

    #[tokio::test]
    async fn memory_store_honours_the_contract() {
        contract(&MemoryStore::new()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_store_answers_concurrent_replay_checks() {
        concurrent_replay_checks(Arc::new(MemoryStore::new())).await;
    }

    #[tokio::test]
    async fn redis_store_honours_the_contract() {
        let Some(url) = redis_url() else { return };
        let prefix = format!("gg-test-{}:", std::process::id());
        contract(&RedisStore::connect(&url, &prefix).await.unwrap()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_store_answers_concurrent_replay_checks() {
        let Some(url) = redis_url() else { return };
        let prefix = format!("gg-test-{}-race:", std::process::id());
        let store = RedisStore::connect(&url, &prefix).await.unwrap();
        concurrent_replay_checks(Arc::new(store)).await;
    }

    /// The task the server spawns empties expired entries without anyone reading them.
    #[tokio::test]
    async fn background_sweeper_drops_expired_entries() {
        let store = Arc::new(MemoryStore::new());
        for i in 0..200 {
            let key = format!("authz:{i}");
            store
                .put(&key, b"v", Duration::from_millis(5))
                .await
                .unwrap();
        }
        store
            .put("kept", b"v", Duration::from_secs(60))
            .await
            .unwrap();
        let sweeper = spawn_sweeper(store.clone(), Duration::from_millis(5));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while store.held() > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!sweeper.is_finished(), "the sweeper keeps running");
        sweeper.abort();
        assert_eq!(store.held(), 1, "only the live entry is left");
    }

    #[tokio::test]
    async fn sweeper_ends_for_a_backend_that_expires_entries_itself() {
        let Some(url) = redis_url() else { return };
        let prefix = format!("gg-test-{}-sweep:", std::process::id());
        let store: Arc<dyn EphemeralStore> =
            Arc::new(RedisStore::connect(&url, &prefix).await.unwrap());
        let sweeper = spawn_sweeper(store, Duration::from_millis(5));
        tokio::time::timeout(Duration::from_secs(5), sweeper)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn concurrent_takes_yield_one_winner() {
        let store = Arc::new(MemoryStore::new());
        store
            .put("code", b"v", Duration::from_secs(10))
            .await
            .unwrap();
        let mut handles = Vec::new();
        for _ in 0..16 {
            let s = store.clone();
            handles.push(tokio::spawn(async move { s.take("code").await.unwrap() }));
        }
        let mut winners = 0;
        for h in handles {
            winners += usize::from(h.await.unwrap().is_some());
        }
        assert_eq!(winners, 1);
    }
}
