//! Where the KEK comes from. A generated file is a convenience for single-node and dev setups;
//! the caller is told so it can warn loudly that the key sits next to the data.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::{Kek, KeyError};

/// Source of the KEK: the `GLASSGATE_KEK` value itself, else a file holding it in base64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KekSource {
    Value(String),
    File(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Loads the KEK; with `create_if_missing`, a missing file is created holding a fresh KEK
/// (mode 0600 on unix). Returns whether it was generated.
pub fn load_kek(source: &KekSource, create_if_missing: bool) -> Result<(Kek, bool), KeyError> {
    let path = match source {
        KekSource::Value(value) => return Ok((Kek::from_base64(value)?, false)),
        KekSource::File(path) => path,
    };
    match fs::read_to_string(path) {
        Ok(text) => return Ok((Kek::from_base64(&text)?, false)),
        Err(e) if e.kind() == ErrorKind::NotFound && create_if_missing => {}
        Err(e) => return Err(io_err(path)(e)),
    }
    let (kek, encoded) = Kek::generate()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io_err(path))?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{encoded}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(io_err(path))?;
            Ok((kek, true))
        }
        // Another process created it between our read and create: use theirs.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let text = fs::read_to_string(path).map_err(io_err(path))?;
            Ok((Kek::from_base64(&text)?, false))
        }
        Err(e) => Err(io_err(path)(e)),
    }
}
