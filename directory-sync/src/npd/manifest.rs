//! The NPD bulk manifest (`downloads/manifest.json`): the stable indirection to the six
//! `<Resource>_<YYYY-MM-DD>_<HHMM>.ndjson.zst` files. Shape as captured 2026-06-05 (reported by
//! FHIR-IQ/AINPI): `compression_algorithm`, `compression_level`,
//! `files: { "<name>.ndjson": { compressed_bytes, original_bytes, compression_ratio_pct } }`,
//! optional `totals`. File names are never guessed.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The resource files of a release, in ingest order (Practitioner first: it is the one the
/// check needs, and a bad one refuses the release before the big others are read).
pub const RESOURCES: [&str; 6] = [
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "OrganizationAffiliation",
    "Location",
    "Endpoint",
];

#[derive(Debug, Deserialize)]
struct ManifestWire {
    #[serde(default)]
    compression_algorithm: Option<String>,
    files: BTreeMap<String, FileWire>,
}

#[derive(Debug, Deserialize)]
struct FileWire {
    #[serde(default)]
    compressed_bytes: Option<u64>,
    #[serde(default)]
    original_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ManifestFile {
    pub resource: &'static str,
    /// The file to fetch, relative to the manifest (`….ndjson.zst`).
    pub name: String,
    pub compressed_bytes: Option<u64>,
    pub original_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The release stamp shared by the files, e.g. `2026-05-07_2128`.
    pub label: String,
    pub files: Vec<ManifestFile>,
    pub warnings: Vec<String>,
}

fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !name.starts_with('.')
}

/// Parse and check a manifest. Errors name what is wrong.
pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
    let wire: ManifestWire =
        serde_json::from_slice(bytes).map_err(|e| format!("manifest is not valid JSON: {e}"))?;
    if let Some(alg) = &wire.compression_algorithm
        && !alg.eq_ignore_ascii_case("zstd")
    {
        return Err(format!(
            "unsupported compression_algorithm {alg:?} (expected zstd)"
        ));
    }
    let mut files: Vec<ManifestFile> = Vec::new();
    let mut stamps: BTreeMap<String, usize> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut practitioner_stamp = None;
    for (name, entry) in &wire.files {
        if !safe_name(name) {
            return Err(format!("file name {name:?} is not a plain file name"));
        }
        let base = name.trim_end_matches(".zst");
        let Some(stem) = base.strip_suffix(".ndjson") else {
            return Err(format!("file {name:?} is not .ndjson or .ndjson.zst"));
        };
        let (resource, stamp) = stem.split_once('_').unwrap_or((stem, ""));
        let Some(resource) = RESOURCES.iter().find(|r| **r == resource) else {
            warnings.push(format!("unknown resource file {name:?} ignored"));
            continue;
        };
        if files.iter().any(|f| f.resource == *resource) {
            return Err(format!("two {resource} files in the manifest"));
        }
        *stamps.entry(stamp.to_owned()).or_default() += 1;
        if *resource == "Practitioner" {
            practitioner_stamp = Some(stamp.to_owned());
        }
        files.push(ManifestFile {
            resource,
            name: format!("{base}.zst"),
            compressed_bytes: entry.compressed_bytes,
            original_bytes: entry.original_bytes,
        });
    }
    let Some(stamp) = practitioner_stamp else {
        return Err("the manifest lists no Practitioner file".into());
    };
    for r in RESOURCES {
        if !files.iter().any(|f| f.resource == r) {
            warnings.push(format!("the manifest lists no {r} file"));
        }
    }
    if stamps.len() > 1 {
        warnings.push(format!(
            "files carry different stamps: {}",
            stamps.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    files.sort_by_key(|f| RESOURCES.iter().position(|r| *r == f.resource));
    let label = if stamp.is_empty() {
        "unstamped".to_owned()
    } else {
        stamp
    };
    Ok(Manifest {
        label,
        files,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_manifest() {
        let m = parse(
            br#"{"compression_algorithm":"zstd","compression_level":12,
            "files":{"Practitioner_2026-05-07_2128.ndjson":{"compressed_bytes":10,"original_bytes":20,"compression_ratio_pct":50.0},
                     "Endpoint_2026-05-07_2128.ndjson":{"compressed_bytes":1,"original_bytes":2}},
            "totals":{"compressed_bytes":11}}"#,
        )
        .unwrap();
        assert_eq!(m.label, "2026-05-07_2128");
        assert_eq!(m.files[0].resource, "Practitioner");
        assert_eq!(m.files[0].name, "Practitioner_2026-05-07_2128.ndjson.zst");
        assert_eq!(m.files[0].compressed_bytes, Some(10));
        assert_eq!(m.files[1].resource, "Endpoint");
        assert!(m.warnings.iter().any(|w| w.contains("no Location")));
    }

    #[test]
    fn refusals() {
        for (bytes, needle) in [
            (&b"{"[..], "not valid JSON"),
            (br#"{"files":{}}"#, "no Practitioner"),
            (br#"{"compression_algorithm":"gzip","files":{}}"#, "gzip"),
            (
                br#"{"files":{"../etc/passwd.ndjson":{}}}"#,
                "plain file name",
            ),
            (br#"{"files":{"Practitioner_x.csv":{}}}"#, ".ndjson"),
            (
                br#"{"files":{"Practitioner_a.ndjson":{},"Practitioner_b.ndjson.zst":{}}}"#,
                "two Practitioner",
            ),
            (br#"{"files":[]}"#, "not valid JSON"),
        ] {
            let err = parse(bytes).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }
}
