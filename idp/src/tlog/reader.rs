//! Bridging the verifier's synchronous tree math to asynchronous storage: computations run
//! against loaded tiles; whatever tiles they miss are fetched and they rerun.

use std::collections::{BTreeSet, HashMap};
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

/// Tiles fetched per query while warming the cache.
const WARM_CHUNK: usize = 32;

/// Every tile of the tree of `size` leaves (partial ones at the right edge included), in the
/// order the cache is warmed: highest level first, and within a level newest first.
fn warm_order(size: u64) -> Vec<TileKey> {
    let mut order = Vec::new();
    for level in (0u8..8).rev() {
        let covered = size.checked_shr(8 * u32::from(level)).unwrap_or(0);
        order.extend((0..covered.div_ceil(256)).rev().map(|index| (level, index)));
    }
    order
}

/// Tiles for the read API, kept across requests: a full tile never changes, and a partial
/// one is only ever extended, so a cached tile answers every tree it is wide enough for.
/// Bounded by memory; beyond the budget the oldest level-0 tile makes room (recent tokens
/// are the ones looked up most; levels above hold 1/256 of the hashes each and stay).
pub struct TileCache {
    tiles: RwLock<Held>,
    budget: usize,
    used: std::sync::atomic::AtomicUsize,
}

/// The cached tiles, and the indexes of the level-0 ones in order, oldest first.
#[derive(Default)]
struct Held {
    tiles: HashMap<TileKey, Arc<Expanded>>,
    leaf_tiles: BTreeSet<u64>,
}

impl Held {
    fn insert(&mut self, key: TileKey, tile: Arc<Expanded>) -> Option<Arc<Expanded>> {
        if key.0 == 0 {
            self.leaf_tiles.insert(key.1);
        }
        self.tiles.insert(key, tile)
    }

    /// Removes the oldest level-0 tile other than `keep`.
    fn evict_oldest_leaf_tile(&mut self, keep: TileKey) -> Option<Arc<Expanded>> {
        let index = self.leaf_tiles.iter().find(|i| (0, **i) != keep).copied()?;
        self.leaf_tiles.remove(&index);
        self.tiles.remove(&(0, index))
    }
}

impl TileCache {
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            tiles: RwLock::new(Held::default()),
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
        self.compute_from(&mut FromStore(store), size, compute)
            .await
    }

    async fn compute_from<T>(
        &self,
        source: &mut dyn TileSource,
        size: u64,
        compute: impl Fn(&TileReader<'_>) -> Result<T, TreeError<TileMiss>>,
    ) -> Result<T, LogError> {
        for _ in 0..4 {
            let outcome = {
                let held = self.tiles.read().unwrap_or_else(|p| p.into_inner());
                attempt(&held.tiles, size, &compute)?
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err(missing) => {
                    let loaded = load(source, &missing).await?;
                    self.insert(loaded);
                }
            }
        }
        // Other requests kept evicting what this one loaded: compute on its own.
        compute_with(&mut HashMap::new(), source, size, compute).await
    }

    /// Load the tiles of the tree of `size` leaves before they are asked for: the upper
    /// levels first, then level 0 newest first (recent tokens are the ones looked up most),
    /// until the next tile would pass the budget. A restarted replica then answers proofs
    /// from memory, instead of one database read per tile on first use. Tiles already held
    /// are skipped; nothing is evicted. Returns how many tiles were loaded.
    pub async fn warm(&self, source: &mut dyn TileSource, size: u64) -> Result<usize, LogError> {
        let mut loaded = 0;
        let order = warm_order(size);
        for chunk in order.chunks(WARM_CHUNK) {
            let wanted: Vec<TileKey> = {
                let held = self.tiles.read().unwrap_or_else(|p| p.into_inner());
                chunk
                    .iter()
                    .filter(|k| !held.tiles.contains_key(k))
                    .copied()
                    .collect()
            };
            if wanted.is_empty() {
                continue;
            }
            let stored = source.fetch(&wanted).await?;
            // Hashing the inner levels of a chunk of tiles is a few milliseconds of CPU:
            // off the request workers.
            let expanded = tokio::task::spawn_blocking(move || {
                stored
                    .into_iter()
                    .map(|t| ((t.level, t.index), Arc::new(Expanded::new(t.hashes))))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| LogError::Tree(format!("warming the tile cache: {e}")))?;
            let (kept, full) = self.insert_within_budget(expanded);
            loaded += kept;
            if full {
                break;
            }
        }
        Ok(loaded)
    }

    /// Memory held by cached tiles.
    pub fn bytes_used(&self) -> usize {
        self.used.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Insert while the budget allows; `(inserted, budget reached)`.
    fn insert_within_budget(&self, loaded: Vec<(TileKey, Arc<Expanded>)>) -> (usize, bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut held = self.tiles.write().unwrap_or_else(|p| p.into_inner());
        let mut inserted = 0;
        for (key, tile) in loaded {
            if held.tiles.contains_key(&key) {
                continue; // a request loaded it meanwhile
            }
            if self.used.load(Relaxed) + tile.bytes() > self.budget {
                return (inserted, true);
            }
            self.used.fetch_add(tile.bytes(), Relaxed);
            held.insert(key, tile);
            inserted += 1;
        }
        (inserted, false)
    }

    fn insert(&self, loaded: Vec<(TileKey, Arc<Expanded>)>) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut held = self.tiles.write().unwrap_or_else(|p| p.into_inner());
        for (key, tile) in loaded {
            if held
                .tiles
                .get(&key)
                .is_some_and(|t| t.width() >= tile.width())
            {
                continue; // another request loaded it (or a longer one) meanwhile
            }
            while self.used.load(Relaxed) + tile.bytes() > self.budget {
                let Some(gone) = held.evict_oldest_leaf_tile(key) else {
                    break;
                };
                self.used.fetch_sub(gone.bytes(), Relaxed);
            }
            self.used.fetch_add(tile.bytes(), Relaxed);
            if let Some(old) = held.insert(key, tile) {
                self.used.fetch_sub(old.bytes(), Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::tlog::tiles::Appender;
    use glassgate_verifier::leaf_hash;
    use glassgate_verifier::tree::{InMemoryHashes, inclusion_proof};

    /// Stored tiles of a tree, counting what is fetched.
    struct Stored {
        tiles: HashMap<TileKey, StoredTile>,
        fetched: usize,
    }

    #[async_trait]
    impl TileSource for Stored {
        async fn fetch(&mut self, keys: &[TileKey]) -> StoreResult<Vec<StoredTile>> {
            self.fetched += keys.len();
            Ok(keys
                .iter()
                .filter_map(|k| self.tiles.get(k).cloned())
                .collect())
        }
    }

    fn tree(size: u64) -> (Stored, InMemoryHashes) {
        let mut appender = Appender::new(0, &[]).unwrap();
        let mut reference = InMemoryHashes::new();
        for i in 0..size {
            let leaf = leaf_hash(&i.to_be_bytes());
            appender.push(leaf);
            reference.append_leaf_hash(&leaf).unwrap();
        }
        let tiles = appender
            .finish()
            .into_iter()
            .map(|t| ((t.level, t.index), t))
            .collect();
        let stored = Stored { tiles, fetched: 0 };
        (stored, reference)
    }

    /// After warming, every proof is answered without fetching a tile, and equals the
    /// proof over the in-memory tree.
    #[tokio::test]
    async fn a_warmed_cache_answers_every_proof_from_memory() {
        let size = 70_000;
        let (mut stored, reference) = tree(size);
        let cache = TileCache::new(64 << 20);
        let loaded = cache.warm(&mut stored, size).await.unwrap();
        assert_eq!(loaded, stored.tiles.len(), "every tile of the tree");
        assert_eq!(
            cache.warm(&mut stored, size).await.unwrap(),
            0,
            "held tiles are skipped"
        );
        let tiles = &cache.tiles.read().unwrap().tiles;
        for index in [0, 1, 255, 256, 65_535, 65_536, size / 3, size - 1] {
            let proof = attempt(tiles, size, &|r| inclusion_proof(index, size, r))
                .unwrap()
                .expect("no tile is missing");
            assert_eq!(proof, inclusion_proof(index, size, &reference).unwrap());
        }
    }

    /// A budget smaller than the tree keeps the upper levels and the newest leaf tiles, and
    /// is never passed.
    #[tokio::test]
    async fn warming_stops_at_the_budget_newest_tiles_first() {
        let size = 70_000; // level-0 tiles 0..=273, level-1 tiles 0 and 1
        let (mut stored, _) = tree(size);
        let full = Expanded::new(vec![[0u8; 32]; 256]).bytes();
        let cache = TileCache::new(10 * full);
        let loaded = cache.warm(&mut stored, size).await.unwrap();
        assert!(cache.bytes_used() <= 10 * full);
        let tiles = &cache.tiles.read().unwrap().tiles;
        assert_eq!(tiles.len(), loaded);
        assert!(tiles.contains_key(&(1, 0)) && tiles.contains_key(&(1, 1)));
        assert!(tiles.contains_key(&(0, 273)) && tiles.contains_key(&(0, 266)));
        assert!(
            !tiles.contains_key(&(0, 0)),
            "the oldest leaf tiles wait for a request"
        );
    }

    /// Past the budget, a request's tile takes the place of the oldest leaf tile held; the
    /// upper levels and the newest leaf tiles (which recent tokens' proofs need) stay.
    #[tokio::test]
    async fn the_oldest_leaf_tiles_make_room() {
        let size = 70_000;
        let (mut stored, reference) = tree(size);
        let full = Expanded::new(vec![[0u8; 32]; 256]).bytes();
        let cache = TileCache::new(10 * full);
        cache.warm(&mut stored, size).await.unwrap();
        let held = |key: TileKey| cache.tiles.read().unwrap().tiles.contains_key(&key);
        let oldest_warmed = (0..=273).find(|i| held((0, *i))).unwrap();
        let mut prove = async |index: u64| {
            let proof = cache
                .compute_from(&mut stored, size, |r| inclusion_proof(index, size, r))
                .await
                .unwrap();
            assert_eq!(proof, inclusion_proof(index, size, &reference).unwrap());
        };
        prove(300).await; // leaf tile 1
        assert!(held((0, 1)) && !held((0, oldest_warmed)));
        prove(5).await; // leaf tile 0: tile 1 is now the oldest
        assert!(held((0, 0)) && !held((0, 1)));
        assert!(held((0, oldest_warmed + 1)));
        assert!(held((1, 0)) && held((1, 1)), "the upper level");
        assert!(held((0, 273)) && held((0, 272)), "the newest leaf tiles");
        assert!(cache.bytes_used() <= 10 * full);
    }

    #[test]
    fn warm_order_lists_every_tile_upper_levels_first() {
        assert!(warm_order(0).is_empty());
        assert_eq!(warm_order(1), vec![(0, 0)]);
        assert_eq!(warm_order(256), vec![(1, 0), (0, 0)]);
        assert_eq!(
            warm_order(65_536 + 257),
            vec![(2, 0), (1, 1), (1, 0)]
                .into_iter()
                .chain((0..=257).rev().map(|i| (0, i)))
                .collect::<Vec<_>>()
        );
    }
}
