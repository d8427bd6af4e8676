//! CMS National Provider Directory bulk releases: manifest → six zstd NDJSON files, streamed.

pub mod identifier;
pub mod lines;
pub mod manifest;
pub mod parse;
pub mod practitioner;
pub mod resources;
pub mod wire;

use crate::context::SyncContext;
use crate::error::{DirectoryError, Result};
use crate::pipeline::parse_and_load;
use crate::progress::CountingReader;
use crate::release::{self, Outcome};
use crate::report::{Dataset, Summary};
use crate::source::Source;

/// Largest manifest accepted.
const MAX_MANIFEST: u64 = 1 << 20;

/// Read the manifest at `manifest` (path or URL).
pub async fn read_manifest(sync: &SyncContext, manifest: &Source) -> Result<manifest::Manifest> {
    let bytes = manifest
        .read_small(&sync.http, &sync.work_dir, MAX_MANIFEST)
        .await?;
    manifest::parse(&bytes).map_err(|m| DirectoryError::format(manifest.display(), m))
}

/// Ingest the release `manifest` points to. Unless `force`, a release whose label is already
/// current is not ingested again (`Ok(None)`).
pub async fn ingest(
    sync: &SyncContext,
    manifest_source: &str,
    force: bool,
) -> Result<Option<Outcome>> {
    let source = Source::parse(manifest_source)?;
    let manifest = read_manifest(sync, &source).await?;
    if !force
        && let Some((_, label, _)) = release::current(&sync.store, Dataset::Npd).await?
        && label == manifest.label
    {
        return Ok(None);
    }
    let store = sync.store.clone();
    let outcome = release::build(
        &sync.store,
        Dataset::Npd,
        &manifest.label,
        &source.display(),
        &sync.limits,
        |release| async move {
            let mut summary = Summary {
                warnings: manifest.warnings.clone(),
                ..Summary::default()
            };
            let mut loaded = 0;
            for file in &manifest.files {
                let (s, n) = ingest_file(sync, &store, release, &source, file).await?;
                summary.absorb(s, sync.limits.report_cap);
                loaded += n;
            }
            Ok((summary, loaded))
        },
    )
    .await?;
    Ok(Some(outcome))
}

async fn ingest_file(
    sync: &SyncContext,
    store: &crate::store::Store,
    release: i64,
    manifest: &Source,
    file: &manifest::ManifestFile,
) -> Result<(Summary, u64)> {
    let source = manifest.sibling(&file.name)?;
    sync.progress
        .stage(&format!("downloading {}", file.name), 0);
    let local = source
        .materialize(&sync.http, &sync.work_dir, file.compressed_bytes)
        .await?;
    let size = std::fs::metadata(&local.path).map(|m| m.len()).unwrap_or(0);
    sync.progress.stage(file.resource, size);
    let reader = std::fs::File::open(&local.path)
        .map_err(|e| DirectoryError::source(source.display(), e))?;
    let progress = sync.progress.clone();
    let cap = sync.limits.report_cap;
    let resource = file.resource;
    let name = file.name.clone();
    let result = parse_and_load(store, release, move |sink| {
        let counted = CountingReader::new(reader, progress.clone());
        parse::parse_zst(resource, &name, counted, sink, &progress, cap)
    })
    .await;
    local.cleanup();
    let (mut summary, loaded) = result?;
    if let (Some(expected), Some(stats)) = (file.original_bytes, summary.files.last())
        && stats.rows == 0
        && expected > 0
    {
        summary.warnings.push(format!(
            "{}: empty, the manifest says {expected} bytes",
            file.name
        ));
    }
    for stats in &mut summary.files {
        stats.bytes = size;
    }
    Ok((summary, loaded))
}
