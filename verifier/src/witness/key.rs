//! The witness key file: a 32-byte Ed25519 seed, base64, one line.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io::Write;
use std::path::Path;

/// Decodes a base64 32-byte seed (surrounding whitespace ignored).
pub fn seed_from_base64(s: &str) -> Option<[u8; 32]> {
    STANDARD.decode(s.trim()).ok()?.try_into().ok()
}

/// Reads the seed from `path`, or creates the file with a fresh random
/// seed (mode 0600 on Unix) if it does not exist.
pub fn load_or_create_seed(path: &Path) -> std::io::Result<[u8; 32]> {
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "key file must hold a base64 32-byte Ed25519 seed",
        )
    };
    match std::fs::read_to_string(path) {
        Ok(s) => return seed_from_base64(&s).ok_or_else(bad),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(format!("{}\n", STANDARD.encode(seed)).as_bytes())?;
            f.sync_all()?;
            Ok(seed)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            seed_from_base64(&std::fs::read_to_string(path)?).ok_or_else(bad)
        }
        Err(e) => Err(e),
    }
}
