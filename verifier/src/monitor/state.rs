//! The monitor's memory: the last verified checkpoint and where the walk
//! stood (its frontier), kept in a small JSON file that is replaced
//! atomically (write a temporary file, then rename).

use super::WalkFrontier;
use crate::checkpoint::decode_hash;
use crate::hash::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The last checkpoint the monitor verified in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorState {
    /// The log origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash at that size.
    pub root: Hash,
    /// The signed checkpoint note as fetched.
    pub checkpoint: String,
    /// Where the walk stood after the last full bundle; `None` makes the next
    /// run fetch every entry again.
    pub frontier: Option<WalkFrontier>,
}

/// The state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a monitor state file: {why}")]
    Malformed { path: String, why: String },
}

/// Version 1 had no frontier; both are read, version 2 is written.
const VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    origin: String,
    size: u64,
    root: String,
    checkpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    frontier: Option<FrontierFile>,
}

/// [`WalkFrontier`] with base64 hashes.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontierFile {
    leaves: u64,
    /// `[height, hash]` pairs, largest subtree first.
    stack: Vec<(u32, String)>,
    pending: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_entry: Option<String>,
}

impl FrontierFile {
    fn from(f: &WalkFrontier) -> Self {
        Self {
            leaves: f.leaves,
            stack: f
                .stack
                .iter()
                .map(|(h, x)| (*h, STANDARD.encode(x)))
                .collect(),
            pending: f
                .pending
                .iter()
                .map(|level| level.iter().map(|x| STANDARD.encode(x)).collect())
                .collect(),
            last_entry: f.last_entry.map(|x| STANDARD.encode(x)),
        }
    }

    fn read(self) -> Result<WalkFrontier, String> {
        let hash = |s: &str| decode_hash(s).ok_or_else(|| format!("frontier: bad hash {s:?}"));
        let frontier = WalkFrontier {
            leaves: self.leaves,
            stack: self
                .stack
                .iter()
                .map(|(h, x)| Ok((*h, hash(x)?)))
                .collect::<Result<_, String>>()?,
            pending: self
                .pending
                .iter()
                .map(|level| level.iter().map(|x| hash(x)).collect())
                .collect::<Result<_, String>>()?,
            last_entry: self.last_entry.as_deref().map(hash).transpose()?,
        };
        frontier.check().map_err(|why| format!("frontier: {why}"))?;
        Ok(frontier)
    }
}

impl MonitorState {
    /// Reads the state file; `Ok(None)` if it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let bad = |why: String| StateError::Malformed {
            path: path.display().to_string(),
            why,
        };
        let f: StateFile = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if !(1..=VERSION).contains(&f.version) || (f.version == 1 && f.frontier.is_some()) {
            return Err(bad(format!("unsupported version {}", f.version)));
        }
        let root = decode_hash(&f.root).ok_or_else(|| bad("bad root".into()))?;
        let frontier = f
            .frontier
            .map(FrontierFile::read)
            .transpose()
            .map_err(bad)?;
        if frontier.as_ref().is_some_and(|w| w.leaves > f.size) {
            return Err(bad("frontier: beyond the remembered size".into()));
        }
        Ok(Some(Self {
            origin: f.origin,
            size: f.size,
            root,
            checkpoint: f.checkpoint,
            frontier,
        }))
    }

    /// Writes the state file atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let f = StateFile {
            version: VERSION,
            origin: self.origin.clone(),
            size: self.size,
            root: STANDARD.encode(self.root),
            checkpoint: self.checkpoint.clone(),
            frontier: self.frontier.as_ref().map(FrontierFile::from),
        };
        let mut bytes = serde_json::to_vec_pretty(&f).map_err(|e| StateError::Malformed {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        bytes.push(b'\n');
        write_atomic(path, &bytes).map_err(|source| StateError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Writes `bytes` to `path` via a synced temporary file in the same
/// directory and a rename, so readers see the old or the new file, whole.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("state path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename durable where the platform allows it.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
