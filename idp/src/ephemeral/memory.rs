//! In-process ephemeral store for the embedded default: sharded maps with lazy expiry and
//! a bounded periodic sweep, so abandoned entries cannot grow memory without limit.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{EphemeralResult, EphemeralStore};

const SHARDS: usize = 32;

struct Entry {
    value: Vec<u8>,
    expires: Instant,
}

pub struct MemoryStore {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    hasher: RandomState,
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

    /// Drop expired entries from every shard.
    pub fn sweep(&self) {
        let now = Instant::now();
        for shard in &self.shards {
            let mut map = shard
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            map.retain(|_, e| e.expires > now);
        }
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
}
