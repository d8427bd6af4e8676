//! Bridging the verifier's synchronous tree math to asynchronous storage: computations run
//! against an in-memory map of stored hashes; whatever they miss is fetched and they rerun.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use glassgate_verifier::Hash;
use glassgate_verifier::TreeError;
use glassgate_verifier::tree::HashReader;

use super::LogError;
use crate::store::{IntegrationTxn, LogRepository, StoreResult};

/// The stored-hash indexes a computation needed and the map did not hold.
#[derive(Debug, thiserror::Error)]
#[error("{} stored hashes are not loaded", .0.len())]
pub struct Missing(pub Vec<u64>);

/// A read-only view of loaded hashes for the verifier's functions.
pub struct Loaded<'a>(pub &'a HashMap<u64, Hash>);

impl HashReader for Loaded<'_> {
    type Error = Missing;
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Missing> {
        let missing: Vec<u64> = indexes
            .iter()
            .copied()
            .filter(|i| !self.0.contains_key(i))
            .collect();
        if !missing.is_empty() {
            return Err(Missing(missing));
        }
        Ok(indexes
            .iter()
            .filter_map(|i| self.0.get(i).copied())
            .collect())
    }
}

/// Where missing hashes come from.
#[async_trait]
pub trait HashSource: Send {
    async fn fetch(&mut self, indexes: &[u64]) -> StoreResult<Vec<Option<Hash>>>;
}

pub struct FromTxn<'a>(pub &'a mut dyn IntegrationTxn);

#[async_trait]
impl HashSource for FromTxn<'_> {
    async fn fetch(&mut self, indexes: &[u64]) -> StoreResult<Vec<Option<Hash>>> {
        self.0.hashes(indexes).await
    }
}

pub struct FromStore<'a>(pub &'a dyn LogRepository);

#[async_trait]
impl HashSource for FromStore<'_> {
    async fn fetch(&mut self, indexes: &[u64]) -> StoreResult<Vec<Option<Hash>>> {
        self.0.hashes(indexes).await
    }
}

/// Run `compute` until it no longer misses hashes (each round loads what it missed).
pub async fn compute_with<T>(
    loaded: &mut HashMap<u64, Hash>,
    source: &mut dyn HashSource,
    compute: impl Fn(&Loaded<'_>) -> Result<T, TreeError<Missing>>,
) -> Result<T, LogError> {
    // Each round can only uncover hashes on a deeper level: 64 rounds bound any tree.
    for _ in 0..64 {
        match compute(&Loaded(loaded)) {
            Ok(value) => return Ok(value),
            Err(TreeError::Storage(Missing(indexes))) => {
                let found = source.fetch(&indexes).await?;
                for (index, hash) in indexes.iter().zip(found) {
                    let hash = hash.ok_or_else(|| {
                        LogError::Inconsistent(format!(
                            "stored hash {index} is missing from storage"
                        ))
                    })?;
                    loaded.insert(*index, hash);
                }
            }
            Err(e) => return Err(LogError::Tree(e.to_string())),
        }
    }
    Err(LogError::Tree("hash loading did not converge".into()))
}

/// Stored hashes never change once written: a bounded process-wide cache for the read API.
pub struct HashCache {
    map: Mutex<HashMap<u64, Hash>>,
    capacity: usize,
}

impl HashCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// Run `compute` with cached hashes, loading whatever is missing from `store` into the
    /// cache. The lock is never held across an await.
    pub async fn compute<T>(
        &self,
        store: &dyn LogRepository,
        compute: impl Fn(&Loaded<'_>) -> Result<T, TreeError<Missing>>,
    ) -> Result<T, LogError> {
        let attempt = |map: &HashMap<u64, Hash>| match compute(&Loaded(map)) {
            Ok(value) => Ok(Ok(value)),
            Err(TreeError::Storage(Missing(indexes))) => Ok(Err(indexes)),
            Err(e) => Err(LogError::Tree(e.to_string())),
        };
        let mut missing = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > self.capacity {
                map.clear();
            }
            match attempt(&map)? {
                Ok(value) => return Ok(value),
                Err(missing) => missing,
            }
        };
        for _ in 0..64 {
            let found = store.hashes(&missing).await?;
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            for (index, hash) in missing.iter().zip(found) {
                let hash = hash.ok_or_else(|| {
                    LogError::Tree(format!("stored hash {index} is not in storage"))
                })?;
                map.insert(*index, hash);
            }
            match attempt(&map)? {
                Ok(value) => return Ok(value),
                Err(next) => missing = next,
            }
        }
        Err(LogError::Tree("hash loading did not converge".into()))
    }
}
