//! In-process ephemeral store for the embedded default: sharded maps with lazy expiry and
//! a bounded periodic sweep, so abandoned entries cannot grow memory without limit.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{EphemeralResult, EphemeralStore};

const SHARDS: usize = 32;
/// Shards one periodic sweep scans: each tick locks and walks an eighth of the store, so a
/// large store never stalls requests for a whole pass.
const SHARDS_PER_SWEEP: usize = 4;

struct Entry {
    value: Vec<u8>,
    expires: Instant,
}

pub struct MemoryStore {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    hasher: RandomState,
    /// The next shard the periodic sweep scans.
    cursor: AtomicUsize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            cursor: AtomicUsize::new(0),
        }
    }

    /// Run `f` on the shard holding `key`. A poisoned lock only means another thread panicked
    /// mid-operation on plain data; the map is still usable.
    fn with_shard<T>(&self, key: &str, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> T {
        let index = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        let shard = &self.shards[index.min(SHARDS - 1)];
        let mut map = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut map)
    }

    /// Drop expired entries from every shard; returns how many went.
    pub fn sweep(&self) -> usize {
        (0..SHARDS).map(|index| self.sweep_shard(index)).sum()
    }

    /// Drop expired entries from the next `SHARDS_PER_SWEEP` shards, round robin; returns
    /// how many went. What the periodic sweep calls: a bounded share of the work per tick.
    pub fn sweep_some(&self) -> usize {
        (0..SHARDS_PER_SWEEP)
            .map(|_| self.sweep_shard(self.cursor.fetch_add(1, Ordering::Relaxed) % SHARDS))
            .sum()
    }

    fn sweep_shard(&self, index: usize) -> usize {
        let Some(shard) = self.shards.get(index) else {
            return 0;
        };
        let now = Instant::now();
        let mut map = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = map.len();
        map.retain(|_, e| e.expires > now);
        before.saturating_sub(map.len())
    }

    /// Entries held, expired or not (lazy expiry leaves expired ones until swept or read).
    pub fn held(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                shard
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .len()
            })
            .sum()
    }
}

fn live(map: &mut HashMap<String, Entry>, key: &str, now: Instant) -> bool {
    match map.get(key) {
        Some(e) if e.expires > now => true,
        Some(_) => {
            map.remove(key);
            false
        }
        None => false,
    }
}

#[async_trait]
impl EphemeralStore for MemoryStore {
    async fn insert_new(&self, key: &str, value: &[u8], ttl: Duration) -> EphemeralResult<bool> {
        let now = Instant::now();
        Ok(self.with_shard(key, |map| {
            if live(map, key, now) {
                return false;
            }
            map.insert(
                key.to_owned(),
                Entry {
                    value: value.to_vec(),
                    expires: now + ttl,
                },
            );
            true
        }))
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> EphemeralResult<()> {
        let expires = Instant::now() + ttl;
        self.with_shard(key, |map| {
            map.insert(
                key.to_owned(),
                Entry {
                    value: value.to_vec(),
                    expires,
                },
            );
        });
        Ok(())
    }

    async fn get(&self, key: &str) -> EphemeralResult<Option<Vec<u8>>> {
        let now = Instant::now();
        Ok(self.with_shard(key, |map| {
            live(map, key, now)
                .then(|| map.get(key).map(|e| e.value.clone()))
                .flatten()
        }))
    }

    async fn take(&self, key: &str) -> EphemeralResult<Option<Vec<u8>>> {
        let now = Instant::now();
        Ok(self.with_shard(key, |map| {
            map.remove(key).filter(|e| e.expires > now).map(|e| e.value)
        }))
    }

    async fn increment(&self, key: &str, window: Duration) -> EphemeralResult<u64> {
        let now = Instant::now();
        Ok(self.with_shard(key, |map| {
            if !live(map, key, now) {
                map.insert(
                    key.to_owned(),
                    Entry {
                        value: 0u64.to_be_bytes().to_vec(),
                        expires: now + window,
                    },
                );
            }
            let Some(entry) = map.get_mut(key) else {
                return 0;
            };
            let mut bytes = [0u8; 8];
            if entry.value.len() == 8 {
                bytes.copy_from_slice(&entry.value);
            }
            let count = u64::from_be_bytes(bytes).saturating_add(1);
            entry.value = count.to_be_bytes().to_vec();
            count
        }))
    }

    async fn ping(&self) -> EphemeralResult<()> {
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }

    fn sweep_expired(&self) -> Option<usize> {
        Some(self.sweep_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` entries under `prefix` that live for `ttl`.
    async fn fill(store: &MemoryStore, prefix: &str, count: usize, ttl: Duration) {
        for i in 0..count {
            store.put(&format!("{prefix}{i}"), b"v", ttl).await.unwrap();
        }
    }

    #[tokio::test]
    async fn sweep_drops_expired_entries_and_keeps_live_ones() {
        let store = MemoryStore::new();
        fill(&store, "gone:", 200, Duration::from_millis(1)).await;
        fill(&store, "kept:", 10, Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(store.held(), 210, "lazy expiry keeps unread entries");
        assert_eq!(store.sweep(), 200);
        assert_eq!(store.held(), 10);
        assert_eq!(
            store.get("kept:3").await.unwrap().as_deref(),
            Some(&b"v"[..])
        );
    }

    #[tokio::test]
    async fn periodic_sweeps_are_bounded_and_cover_every_shard() {
        let store = MemoryStore::new();
        fill(&store, "gone:", 640, Duration::from_millis(1)).await;
        fill(&store, "kept:", 10, Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let first = store.sweep_some();
        assert!(
            first > 0 && first < 640,
            "one call scans a few shards: {first}"
        );
        for _ in 1..SHARDS / SHARDS_PER_SWEEP {
            store.sweep_some();
        }
        assert_eq!(store.held(), 10, "a full round visits every shard");
        assert_eq!(store.sweep_expired(), Some(0));
    }
}
