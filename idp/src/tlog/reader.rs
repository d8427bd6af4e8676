//! Bridging the verifier's synchronous tree math to asynchronous storage: computations run
//! against loaded tiles; whatever tiles they miss are fetched and they rerun.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use glassgate_verifier::TreeError;

use super::LogError;
use super::tiles::{Expanded, TileKey, TileMiss, TileReader};
use crate::store::model::StoredTile;
use crate::store::{IntegrationTxn, LogRepository, StoreResult};

/// Where missing tiles come from.
#[async_trait]
pub trait TileSource: Send {
    async fn fetch(&mut self, keys: &[TileKey]) -> StoreResult<Vec<StoredTile>>;
}

pub struct FromTxn<'a>(pub &'a mut dyn IntegrationTxn);

#[async_trait]
impl TileSource for FromTxn<'_> {
    async fn fetch(&mut self, keys: &[TileKey]) -> StoreResult<Vec<StoredTile>> {
        self.0.tiles(keys).await
    }
}

pub struct FromStore<'a>(pub &'a dyn LogRepository);

#[async_trait]
impl TileSource for FromStore<'_> {
    async fn fetch(&mut self, keys: &[TileKey]) -> StoreResult<Vec<StoredTile>> {
        self.0.tiles(keys).await
    }
}

type Attempt<T> = Result<Result<T, Vec<TileKey>>, LogError>;

fn attempt<T>(
    tiles: &HashMap<TileKey, Arc<Expanded>>,
    size: u64,
    compute: &impl Fn(&TileReader<'_>) -> Result<T, TreeError<TileMiss>>,
) -> Attempt<T> {
    match compute(&TileReader { size, tiles }) {
        Ok(value) => Ok(Ok(value)),
        Err(TreeError::Storage(TileMiss::Missing(keys))) => Ok(Err(keys)),
        Err(e) => Err(LogError::Tree(e.to_string())),
    }
}

/// Fetch `keys` and expand them; a tile that is not stored is an inconsistency.
async fn load(
    source: &mut dyn TileSource,
    keys: &[TileKey],
) -> Result<Vec<(TileKey, Arc<Expanded>)>, LogError> {
    let found = source.fetch(keys).await?;
    if let Some(key) = keys
        .iter()
        .find(|k| !found.iter().any(|t| (t.level, t.index) == **k))
    {
        return Err(LogError::Inconsistent(format!(
            "tile {}/{} is missing from storage",
            key.0, key.1
        )));
    }
    Ok(found
        .into_iter()
        .map(|t| ((t.level, t.index), Arc::new(Expanded::new(t.hashes))))
        .collect())
}

/// Each round can only uncover tiles of another level: a handful of rounds bound any tree.
const ROUNDS: usize = 16;

/// Run `compute` over the tree of `size` leaves until it no longer misses tiles (each round
/// loads what it missed into `tiles`).
pub async fn compute_with<T>(
    tiles: &mut HashMap<TileKey, Arc<Expanded>>,
    source: &mut dyn TileSource,
    size: u64,
    compute: impl Fn(&TileReader<'_>) -> Result<T, TreeError<TileMiss>>,
) -> Result<T, LogError> {
    for _ in 0..ROUNDS {
        match attempt(tiles, size, &compute)? {
            Ok(value) => return Ok(value),
            Err(missing) => tiles.extend(load(source, &missing).await?),
        }
    }
    Err(LogError::Inconsistent(
        "stored tiles are too short for the tree".into(),
    ))
}

/// Tiles for the read API, kept across requests: a full tile never changes, and a partial
/// one is only ever extended, so a cached tile answers every tree it is wide enough for.
/// Bounded by memory; beyond the budget an arbitrary level-0 tile makes room (levels above
/// hold 1/256 of the hashes each and stay).
pub struct TileCache {
    tiles: RwLock<HashMap<TileKey, Arc<Expanded>>>,
    budget: usize,
    used: std::sync::atomic::AtomicUsize,
}

impl TileCache {
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            tiles: RwLock::new(HashMap::new()),
            budget: budget_bytes,
            used: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Run `compute` over the tree of `size` leaves with cached tiles, loading whatever is
    /// missing from `store` into the cache. No lock is held across an await.
    pub async fn compute<T>(
        &self,
        store: &dyn LogRepository,
        size: u64,
        compute: impl Fn(&TileReader<'_>) -> Result<T, TreeError<TileMiss>>,
    ) -> Result<T, LogError> {
        for _ in 0..4 {
            let outcome = {
                let tiles = self.tiles.read().unwrap_or_else(|p| p.into_inner());
                attempt(&tiles, size, &compute)?
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err(missing) => {
                    let loaded = load(&mut FromStore(store), &missing).await?;
                    self.insert(loaded);
                }
            }
        }
        // Other requests kept evicting what this one loaded: compute on its own.
        compute_with(&mut HashMap::new(), &mut FromStore(store), size, compute).await
    }

    fn insert(&self, loaded: Vec<(TileKey, Arc<Expanded>)>) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut tiles = self.tiles.write().unwrap_or_else(|p| p.into_inner());
        for (key, tile) in loaded {
            if tiles.get(&key).is_some_and(|t| t.width() >= tile.width()) {
                continue; // another request loaded it (or a longer one) meanwhile
            }
            while self.used.load(Relaxed) + tile.bytes() > self.budget {
                let Some(victim) = tiles.keys().find(|k| k.0 == 0 && **k != key).copied() else {
                    break;
                };
                if let Some(gone) = tiles.remove(&victim) {
                    self.used.fetch_sub(gone.bytes(), Relaxed);
                }
            }
            self.used.fetch_add(tile.bytes(), Relaxed);
            if let Some(old) = tiles.insert(key, tile) {
                self.used.fetch_sub(old.bytes(), Relaxed);
            }
        }
    }
}
