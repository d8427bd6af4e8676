//! A C2SP tlog-witness v1 (<https://c2sp.org/tlog-witness>) cosigner,
//! without sockets: [`Witness::handle`] maps a request to a [`Response`].
//!
//! `POST /add-checkpoint` takes `old <size>\n`, 0..=63 base64 consistency
//! proof lines, an empty line and a signed checkpoint note, and answers:
//!
//! | status | when |
//! |---|---|
//! | 200 | cosigned: one `cosignature/v1` line (non-zero timestamp) |
//! | 400 | malformed body, or old size > checkpoint size |
//! | 403 | no trusted log signature, or a known key's signature fails |
//! | 404 | unknown origin (no configured log key is named after it) |
//! | 409 | old size ≠ latest cosigned size; `text/x.tlog.size` body `<size>\n` |
//! | 422 | bad consistency proof, proof with old = 0, same size with another root, size 0 with a non-empty root |
//!
//! The latest cosigned checkpoint per origin is one file in the state
//! directory, named by the lowercase hex SHA-256 of the origin, holding the
//! checkpoint note with the witness's cosignature. The compare-and-update
//! runs under one mutex and the file is replaced atomically (a temporary
//! file, then a rename) before 200 is returned. `GET /<hex sha256(origin)>/checkpoint`
//! serves that file.

mod key;

pub use key::{load_or_create_seed, seed_from_base64};

use crate::checkpoint::{Checkpoint, decode_hash, parse_decimal};
use crate::cosignature::cosign;
use crate::entry::hex;
use crate::error::NoteError;
use crate::hash::{EMPTY_ROOT, Hash, sha256};
use crate::monitor::write_atomic;
use crate::note::{Note, SignatureType, VerifierKey, verify_note};
use crate::proof::verify_consistency;
use ed25519_dalek::{Signer, SigningKey};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Content type of a 409 answer.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.into().into_bytes(),
        }
    }

    fn error(status: u16, msg: impl std::fmt::Display) -> Self {
        Self::text(status, format!("{msg}\n"))
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The witness could not be set up or its state read or written.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("invalid witness name: {0}")]
    Name(#[from] NoteError),
    #[error("log key {0} is not an Ed25519 (0x01) key")]
    LogKeyType(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: corrupt witness state: {why}")]
    Corrupt { path: String, why: String },
}

/// The witness: its key, the logs it trusts, and its state directory.
pub struct Witness {
    name: String,
    signing_key: SigningKey,
    vkey: VerifierKey,
    logs: Vec<VerifierKey>,
    state_dir: PathBuf,
    lock: Mutex<()>,
}

/// The latest checkpoint cosigned for an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignedState {
    pub size: u64,
    pub root: Hash,
    /// The checkpoint note, with the witness's cosignature.
    pub note: String,
}

impl Witness {
    /// A witness named `name` with the Ed25519 `seed`, trusting `logs`
    /// (Ed25519 verifier keys; each key's name is a log origin) and keeping
    /// its state in `state_dir` (created if missing).
    pub fn new(
        name: &str,
        seed: &[u8; 32],
        logs: Vec<VerifierKey>,
        state_dir: &Path,
    ) -> Result<Self, WitnessError> {
        let signing_key = SigningKey::from_bytes(seed);
        let vkey = VerifierKey::new(
            name,
            SignatureType::CosignatureV1,
            &signing_key.verifying_key().to_bytes(),
        )?;
        if let Some(k) = logs
            .iter()
            .find(|k| k.signature_type() != SignatureType::Ed25519)
        {
            return Err(WitnessError::LogKeyType(k.to_string()));
        }
        std::fs::create_dir_all(state_dir).map_err(|source| WitnessError::Io {
            path: state_dir.display().to_string(),
            source,
        })?;
        Ok(Self {
            name: name.to_owned(),
            signing_key,
            vkey,
            logs,
            state_dir: state_dir.to_owned(),
            lock: Mutex::new(()),
        })
    }

    /// The witness's cosigner verifier key (type 0x04).
    pub fn vkey(&self) -> &VerifierKey {
        &self.vkey
    }

    /// Routes a request: `POST /add-checkpoint` and
    /// `GET /<hex sha256(origin)>/checkpoint`; the current time stamps
    /// cosignatures.
    pub fn handle(&self, method: &str, path: &str, body: &[u8]) -> Response {
        let path = path.split('?').next().unwrap_or(path);
        match (method, path) {
            ("POST", "/add-checkpoint") => self.add_checkpoint(body, now()),
            (_, "/add-checkpoint") => Response::error(405, "use POST"),
            ("GET", p) => match p
                .strip_prefix('/')
                .and_then(|p| p.strip_suffix("/checkpoint"))
            {
                Some(h) if h.len() == 64 => self.get_checkpoint(h),
                _ => Response::error(404, "not found"),
            },
            _ => Response::error(404, "not found"),
        }
    }

    /// `GET /<origin hash>/checkpoint`: the latest cosigned checkpoint.
    pub fn get_checkpoint(&self, origin_hash_hex: &str) -> Response {
        let Some(key) = self
            .logs
            .iter()
            .find(|k| hex(&sha256(&[k.name().as_bytes()])) == origin_hash_hex)
        else {
            return Response::error(404, "unknown origin");
        };
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        match self.load(key.name()) {
            Ok(Some(s)) => Response::text(200, s.note),
            Ok(None) => Response::error(404, "no checkpoint cosigned yet"),
            Err(e) => Response::error(500, e),
        }
    }

    /// `POST /add-checkpoint` with cosignature time `timestamp` (POSIX
    /// seconds, non-zero).
    pub fn add_checkpoint(&self, body: &[u8], timestamp: u64) -> Response {
        let req = match parse_request(body) {
            Ok(r) => r,
            Err(why) => return Response::error(400, why),
        };
        let note = match Note::parse(req.note) {
            Ok(n) => n,
            Err(e) => return Response::error(400, format!("malformed checkpoint note: {e}")),
        };
        let cp = match Checkpoint::parse(note.text()) {
            Ok(c) => c,
            Err(e) => return Response::error(400, format!("malformed checkpoint: {e}")),
        };
        let keys: Vec<VerifierKey> = self
            .logs
            .iter()
            .filter(|k| k.name() == cp.origin)
            .cloned()
            .collect();
        if keys.is_empty() {
            return Response::error(404, format!("unknown origin {:?}", cp.origin));
        }
        if let Err(e) = verify_note(&note, &keys) {
            return Response::error(403, format!("checkpoint not signed by the log: {e}"));
        }
        if req.old > cp.size {
            return Response::error(
                400,
                format!(
                    "old size {} is larger than the checkpoint size {}",
                    req.old, cp.size
                ),
            );
        }
        // Compare-and-update, atomically with respect to other requests.
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let latest = match self.load(&cp.origin) {
            Ok(s) => s,
            Err(e) => return Response::error(500, e),
        };
        let (latest_size, latest_root) = latest
            .as_ref()
            .map_or((0, EMPTY_ROOT), |s| (s.size, s.root));
        if req.old != latest_size {
            return Response {
                status: 409,
                headers: vec![("Content-Type".into(), SIZE_CONTENT_TYPE.into())],
                body: format!("{latest_size}\n").into_bytes(),
            };
        }
        if let Err(why) = check_consistency(&req.proof, latest_size, &latest_root, &cp) {
            return Response::error(422, why);
        }
        let Ok(sig) = cosign(
            note.text(),
            &self.name,
            &self.vkey.public_key(),
            timestamp.max(1),
            |m| self.signing_key.sign(m).to_bytes(),
        ) else {
            return Response::error(500, "cannot cosign");
        };
        // Store the note with the log's signatures and our latest cosignature.
        let mut stored = note.clone();
        if let Ok(mut fresh) = Note::new(note.text()) {
            let theirs = note.signatures().iter().filter(|s| s.name != self.name);
            if theirs
                .cloned()
                .chain(std::iter::once(sig.clone()))
                .all(|s| fresh.push_signature(s).is_ok())
            {
                stored = fresh;
            }
        }
        if let Err(e) = self.store(&cp.origin, &stored.to_text()) {
            return Response::error(500, e);
        }
        Response::text(200, sig.to_line())
    }

    fn state_path(&self, origin: &str) -> PathBuf {
        self.state_dir.join(hex(&sha256(&[origin.as_bytes()])))
    }

    /// The latest cosigned checkpoint for `origin`, if any.
    pub fn load(&self, origin: &str) -> Result<Option<CosignedState>, WitnessError> {
        let path = self.state_path(origin);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(WitnessError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let corrupt = |why: String| WitnessError::Corrupt {
            path: path.display().to_string(),
            why,
        };
        let note = Note::parse(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let cp = Checkpoint::parse(note.text()).map_err(|e| corrupt(e.to_string()))?;
        if cp.origin != origin {
            return Err(corrupt(format!("holds origin {:?}", cp.origin)));
        }
        Ok(Some(CosignedState {
            size: cp.size,
            root: cp.root,
            note: note.to_text(),
        }))
    }

    fn store(&self, origin: &str, note: &str) -> Result<(), WitnessError> {
        let path = self.state_path(origin);
        write_atomic(&path, note.as_bytes()).map_err(|source| WitnessError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// A parsed add-checkpoint body.
struct Request<'a> {
    old: u64,
    proof: Vec<Hash>,
    note: &'a [u8],
}

fn parse_request(body: &[u8]) -> Result<Request<'_>, String> {
    if body.len() > MAX_BODY_BYTES {
        return Err("request body too large".into());
    }
    let mut rest = body;
    let mut next_line = || -> Result<&str, String> {
        let nl = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("request body ends without an empty line")?;
        let (line, tail) = rest.split_at(nl);
        rest = tail.get(1..).unwrap_or_default();
        std::str::from_utf8(line).map_err(|_| "request line is not UTF-8".to_owned())
    };
    let old_line = next_line()?;
    let old = old_line
        .strip_prefix("old ")
        .and_then(parse_decimal)
        .ok_or("first line must be \"old <size>\"")?;
    let mut proof = Vec::new();
    loop {
        let line = next_line()?;
        if line.is_empty() {
            break;
        }
        if proof.len() >= MAX_PROOF_LINES {
            return Err(format!(
                "more than {MAX_PROOF_LINES} consistency proof lines"
            ));
        }
        proof.push(decode_hash(line).ok_or("consistency proof line is not a base64 hash")?);
    }
    Ok(Request {
        old,
        proof,
        note: rest,
    })
}

/// The 422 checks: `latest` is what the witness last cosigned.
fn check_consistency(
    proof: &[Hash],
    latest_size: u64,
    latest_root: &Hash,
    cp: &Checkpoint,
) -> Result<(), String> {
    if cp.size == 0 && cp.root != EMPTY_ROOT {
        return Err("checkpoint of size 0 with a root other than the empty tree hash".into());
    }
    if latest_size == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err("consistency proof must be empty when old size is 0".into())
        };
    }
    if latest_size == cp.size {
        if cp.root != *latest_root {
            return Err(format!(
                "checkpoint at size {} has a different root than the one cosigned",
                cp.size
            ));
        }
        return if proof.is_empty() {
            Ok(())
        } else {
            Err("consistency proof must be empty for equal sizes".into())
        };
    }
    verify_consistency(latest_size, cp.size, proof, latest_root, &cp.root)
        .map_err(|e| format!("consistency proof from {latest_size} to {}: {e}", cp.size))
}

/// Current POSIX time in seconds (at least 1).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs().max(1))
}

#[cfg(test)]
mod tests;
