//! A directory (or a single bundle file) of PEM IACA certificates: the allow-list for
//! issuers not in the VICAL (California and others).

use std::path::Path;

use super::{Anchor, SourceGroup, TrustSource, TrustStore, anchors_from_bytes};

/// What a load admitted and what it could not read.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub admitted: Vec<Anchor>,
    /// `(file, reason)` for files or certificates that failed to parse.
    pub errors: Vec<(String, String)>,
}

impl LoadReport {
    /// Anchors that fail the Annex B IACA profile (kept, but they will never validate).
    pub fn non_conforming(&self) -> impl Iterator<Item = &Anchor> {
        self.admitted.iter().filter(|a| a.profile.is_err())
    }
}

/// Loads `*.pem`, `*.crt`, `*.cer` and `*.der` files from a directory, or one bundle file.
pub fn load(path: &Path) -> std::io::Result<LoadReport> {
    let mut report = LoadReport::default();
    let files = if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("pem" | "crt" | "cer" | "der")
                )
            })
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(&file)?;
        match anchors_from_bytes(&bytes, TrustSource::Pem { file: name.clone() }) {
            Ok(anchors) => report.admitted.extend(anchors),
            Err(e) => report.errors.push((name, e)),
        }
    }
    Ok(report)
}

/// Loads the directory and swaps it into the store (the VICAL group is untouched).
pub fn reload(store: &TrustStore, path: &Path) -> std::io::Result<LoadReport> {
    let report = load(path)?;
    store.replace(SourceGroup::PemDirectory, report.admitted.clone());
    Ok(report)
}
