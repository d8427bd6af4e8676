//! NPPES V2 files: the monthly full file (a new release) and weekly incrementals (upserted by
//! NPI into the current release). Streamed with the `csv` crate, by header name.

pub mod columns;
pub mod header;
pub mod row;

use std::io::Read;

use crate::context::SyncContext;
use crate::error::{DirectoryError, Result};
use crate::npi::NpiSet;
use crate::pipeline::{Batcher, Sink, parse_and_load, parse_to_memory};
use crate::progress::{CountingReader, Progress};
use crate::release::{self, Outcome};
use crate::report::{Dataset, FileStats, Summary};
use crate::source::Source;
use crate::store::Rows;

/// Stream an `npidata_pfile` CSV into rows; whole-file problems (header) are `Err`.
pub fn parse_csv(
    file: &str,
    reader: impl Read,
    sink: Sink<'_>,
    progress: &Progress,
    cap: usize,
) -> Result<Summary> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        // Lines end in CRLF; `\n` alone as the terminator keeps csv's line numbers exact
        // (the `\r` stays at the end of the last value and is ignored there).
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1 << 20)
        .from_reader(reader);
    let header: Vec<String> = csv
        .byte_headers()
        .map_err(|e| DirectoryError::format(file, format!("unreadable header: {e}")))?
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let cols = header::resolve(&header).map_err(|m| DirectoryError::format(file, m))?;
    let mut s = Summary {
        warnings: cols
            .warnings
            .iter()
            .map(|w| format!("{file}: {w}"))
            .collect(),
        ..Summary::default()
    };
    let mut stats = FileStats {
        file: file.to_owned(),
        kind: "npidata".into(),
        ..FileStats::default()
    };
    let mut seen = Box::<NpiSet>::default();
    let mut batch = Batcher::new(sink, Rows::Nppes, progress.clone());
    let mut record = csv::ByteRecord::new();
    let today = crate::date::today();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(DirectoryError::format(
                    file,
                    format!("unreadable after row {}: {e}", stats.rows),
                ));
            }
        }
        stats.rows += 1;
        let line = record.position().map_or(0, |p| p.line());
        match row::parse(&record, &cols) {
            Ok(row) => {
                if !seen.insert(row.npi) {
                    s.duplicates += 1;
                    stats.malformed += 1;
                    s.malformed(cap, file, line, format!("NPI {} appears twice", row.npi));
                    continue;
                }
                s.records += 1;
                s.with_valid_npi += 1;
                let reactivated = match (row.deactivated, row.reactivated) {
                    (Some(d), Some(r)) => r >= d,
                    _ => false,
                };
                if row.deactivated.is_some_and(|d| d <= today) && !reactivated {
                    s.deactivated += 1;
                }
                batch.push(row)?;
            }
            Err(reason) => {
                if reason.starts_with("bad NPI") {
                    s.npi_invalid += 1;
                }
                stats.malformed += 1;
                s.malformed(cap, file, line, reason);
            }
        }
    }
    batch.finish()?;
    s.files.push(stats);
    Ok(s)
}

/// The CSV inside a distribution ZIP, or the file itself.
fn open(path: &std::path::Path, shown: &str) -> Result<Box<dyn Read + Send>> {
    let file = std::fs::File::open(path).map_err(|e| DirectoryError::source(shown, e))?;
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        return Ok(Box::new(file));
    }
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| DirectoryError::format(shown, format!("not a ZIP archive: {e}")))?;
    let name = zip
        .file_names()
        .find(|n| {
            let n = n.to_ascii_lowercase();
            n.starts_with("npidata_pfile") && n.ends_with(".csv") && !n.contains("fileheader")
        })
        .map(str::to_owned)
        .ok_or_else(|| DirectoryError::format(shown, "no npidata_pfile CSV in the archive"))?;
    // The archive entry is streamed: read it through a pipe fed by a thread.
    let (reader, mut writer) = std::io::pipe().map_err(|e| DirectoryError::source(shown, e))?;
    std::thread::spawn(move || {
        if let Ok(mut entry) = zip.by_name(&name) {
            let _ = std::io::copy(&mut entry, &mut writer);
        }
    });
    Ok(Box::new(reader))
}

/// Ingest a monthly full file as a new NPPES release.
pub async fn ingest_full(sync: &SyncContext, source: &str) -> Result<Outcome> {
    let source = Source::parse(source)?;
    let shown = source.display();
    let local = source.materialize(&sync.http, &sync.work_dir, None).await?;
    let label = source.file_name();
    let size = std::fs::metadata(&local.path).map(|m| m.len()).unwrap_or(0);
    sync.progress.stage("NPPES", size);
    let store = sync.store.clone();
    let path = local.path.clone();
    let (progress, cap) = (sync.progress.clone(), sync.limits.report_cap);
    let result = release::build(
        &sync.store,
        Dataset::Nppes,
        &label,
        &shown,
        &sync.limits,
        |release| {
            let shown = shown.clone();
            async move {
                parse_and_load(&store, release, move |sink| {
                    let reader = CountingReader::new(open(&path, &shown)?, progress.clone());
                    parse_csv(&label_of(&shown), reader, sink, &progress, cap)
                })
                .await
            }
        },
    )
    .await;
    local.cleanup();
    result
}

fn label_of(shown: &str) -> String {
    shown.rsplit('/').next().unwrap_or(shown).to_owned()
}

/// Apply a weekly incremental file to the current NPPES release (upsert by NPI, one
/// transaction). A file over the malformed-row bound is refused and nothing is written.
pub async fn ingest_weekly(sync: &SyncContext, source: &str) -> Result<Summary> {
    let source = Source::parse(source)?;
    let shown = source.display();
    let lock = sync.store.lock().await?;
    let result = weekly_locked(sync, &source, &shown).await;
    lock.release().await;
    result
}

async fn weekly_locked(sync: &SyncContext, source: &Source, shown: &str) -> Result<Summary> {
    let shown = shown.to_owned();
    let Some((release, _, _)) = release::current(&sync.store, Dataset::Nppes).await? else {
        return Err(DirectoryError::State(
            "no current NPPES release: ingest a monthly full file before weekly files".into(),
        ));
    };
    let local = source.materialize(&sync.http, &sync.work_dir, None).await?;
    let path = local.path.clone();
    let (progress, cap) = (sync.progress.clone(), sync.limits.report_cap);
    sync.progress.stage(
        "NPPES weekly",
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
    );
    let name = label_of(&shown);
    let shown2 = shown.clone();
    let parsed = parse_to_memory(move |sink| {
        let reader = CountingReader::new(open(&path, &shown2)?, progress.clone());
        parse_csv(&name, reader, sink, &progress, cap)
    })
    .await;
    local.cleanup();
    let (mut summary, batches) = parsed?;
    let checks: Vec<_> = crate::validate::checks(Dataset::Nppes, &summary, None, &sync.limits)
        .into_iter()
        .filter(|c| c.name == "malformed_rows" || c.name == "npi_extraction")
        .collect();
    if checks.iter().any(|c| !c.passed) {
        return Err(DirectoryError::Refused(Box::new(crate::report::Refusal {
            dataset: Dataset::Nppes,
            release_id: release,
            label: format!("weekly {shown}"),
            checks,
            summary,
            current: Some(format!("#{release}")),
        })));
    }
    let (tx, rx) = tokio::sync::mpsc::channel(batches.len().max(1));
    for b in batches {
        tx.send(b)
            .await
            .map_err(|_| DirectoryError::State("the loader stopped".into()))?;
    }
    drop(tx);
    let n = sync.store.upsert_nppes(release, rx, &summary).await?;
    summary.upserted = Some(n);
    Ok(summary)
}
