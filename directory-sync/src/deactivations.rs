//! The NPPES monthly Deactivated NPI Report: an xlsx (sheet `DeactivatedNPIs`, columns `NPI`,
//! `NPPES Deactivation Date`), possibly inside its distribution ZIP (npd.md §2.3). Read cell by
//! cell with calamine; title rows above the header are skipped.

use std::io::{Cursor, Read, Seek};

use calamine::{DataRef, Reader, Xlsx};

use crate::context::SyncContext;
use crate::date::{from_excel_serial, parse_fhir, parse_us};
use crate::error::{DirectoryError, Result};
use crate::npi::{Npi, NpiSet};
use crate::nppes::header::normalize;
use crate::pipeline::{Batcher, Sink, parse_and_load};
use crate::progress::Progress;
use crate::release::{self, Outcome};
use crate::report::{Dataset, FileStats, Summary};
use crate::source::Source;
use crate::store::{DeactivationRow, Rows};

/// Rows searched for the header.
const HEADER_SEARCH: u32 = 20;
/// Largest xlsx read out of a ZIP (the real one is ~5 MB).
const MAX_XLSX: u64 = 256 << 20;

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Empty,
    Text(String),
    Number(f64),
    Serial(f64),
}

fn value(cell: &DataRef<'_>) -> Value {
    match cell {
        DataRef::Int(i) => Value::Number(*i as f64),
        DataRef::Float(f) => Value::Number(*f),
        DataRef::String(s) => Value::Text(s.trim().to_owned()),
        DataRef::SharedString(s) => Value::Text(s.trim().to_owned()),
        DataRef::DateTime(d) => Value::Serial(d.as_f64()),
        DataRef::DateTimeIso(s) => Value::Text(s.trim().to_owned()),
        DataRef::Bool(b) => Value::Text(b.to_string()),
        _ => Value::Empty,
    }
}

fn npi_of(v: &Value) -> std::result::Result<Npi, String> {
    let text = match v {
        Value::Text(s) => s.clone(),
        Value::Number(f) if f.fract() == 0.0 && *f > 0.0 && *f < 1e10 => format!("{}", *f as u64),
        Value::Empty => return Err("no NPI".into()),
        other => return Err(format!("bad NPI {other:?}")),
    };
    Npi::parse(&text).map_err(|e| format!("bad NPI {text:?}: {e}"))
}

fn date_of(v: &Value) -> std::result::Result<time::Date, String> {
    match v {
        Value::Serial(f) | Value::Number(f) => from_excel_serial(*f).map_err(|e| e.to_string()),
        Value::Text(s) => parse_us(s)
            .or_else(|_| parse_fhir(s))
            .map_err(|_| format!("bad deactivation date {s:?}")),
        Value::Empty => Err("no deactivation date".into()),
    }
}

struct Layout {
    npi: u32,
    date: u32,
}

fn find_header(cells: &[(u32, Value)]) -> Option<Layout> {
    let col = |pred: &dyn Fn(&str) -> bool| {
        cells.iter().find_map(|(c, v)| match v {
            Value::Text(t) if pred(&normalize(t)) => Some(*c),
            _ => None,
        })
    };
    Some(Layout {
        npi: col(&|t| t == "npi")?,
        date: col(&|t| t.contains("deactivation date"))?,
    })
}

pub fn parse_xlsx<RS: Read + Seek>(
    file: &str,
    workbook: RS,
    sink: Sink<'_>,
    progress: &Progress,
    cap: usize,
) -> Result<Summary> {
    let bad = |m: String| DirectoryError::format(file, m);
    let mut wb: Xlsx<RS> =
        Xlsx::new(workbook).map_err(|e| bad(format!("not an xlsx workbook: {e}")))?;
    let names = wb.sheet_names();
    let sheet = names
        .iter()
        .find(|n| normalize(n).replace(' ', "") == "deactivatednpis")
        .or(names.first())
        .cloned()
        .ok_or_else(|| bad("the workbook has no sheet".into()))?;
    let mut reader = wb
        .worksheet_cells_reader(&sheet)
        .map_err(|e| bad(format!("sheet {sheet:?}: {e}")))?;
    let mut s = Summary::default();
    let mut stats = FileStats {
        file: file.to_owned(),
        kind: "deactivated-npi-report".into(),
        ..FileStats::default()
    };
    let mut seen = Box::<NpiSet>::default();
    let mut batch = Batcher::new(sink, Rows::Deactivations, progress.clone());
    let mut layout: Option<Layout> = None;
    let mut row_cells: Vec<(u32, Value)> = Vec::new();
    let mut row_index: Option<u32> = None;
    let mut finish_row = |row: u32,
                          cells: &mut Vec<(u32, Value)>,
                          layout: &mut Option<Layout>,
                          s: &mut Summary,
                          stats: &mut FileStats|
     -> Result<()> {
        let line = u64::from(row) + 1;
        let cells = std::mem::take(cells);
        let Some(l) = layout else {
            if row >= HEADER_SEARCH {
                return Err(bad(format!(
                    "no header row with \"NPI\" and \"NPPES Deactivation Date\" in the first {HEADER_SEARCH} rows of sheet {sheet:?}"
                )));
            }
            *layout = find_header(&cells);
            return Ok(());
        };
        let get = |c: u32| {
            cells
                .iter()
                .find(|(i, _)| *i == c)
                .map_or(Value::Empty, |(_, v)| v.clone())
        };
        let (npi, date) = (get(l.npi), get(l.date));
        if npi == Value::Empty && date == Value::Empty {
            return Ok(());
        }
        stats.rows += 1;
        let parsed = npi_of(&npi).and_then(|n| date_of(&date).map(|d| (n, d)));
        match parsed {
            Ok((npi, deactivated)) => {
                s.records += 1;
                s.with_valid_npi += 1;
                if seen.insert(npi) {
                    batch.push(DeactivationRow { npi, deactivated })?;
                } else {
                    s.duplicates += 1;
                }
            }
            Err(reason) => {
                if reason.starts_with("bad NPI") {
                    s.npi_invalid += 1;
                }
                stats.malformed += 1;
                s.malformed(cap, file, line, reason);
            }
        }
        Ok(())
    };
    loop {
        let cell = reader
            .next_cell()
            .map_err(|e| bad(format!("sheet {sheet:?}: {e}")))?;
        let Some(cell) = cell else { break };
        let (r, c) = cell.get_position();
        if let Some(cur) = row_index
            && cur != r
        {
            finish_row(cur, &mut row_cells, &mut layout, &mut s, &mut stats)?;
        }
        row_index = Some(r);
        let v = value(cell.get_value());
        if v != Value::Empty && row_cells.len() < 64 {
            row_cells.push((c, v));
        }
    }
    if let Some(cur) = row_index {
        finish_row(cur, &mut row_cells, &mut layout, &mut s, &mut stats)?;
    }
    if layout.is_none() {
        return Err(bad(format!(
            "no header row with \"NPI\" and \"NPPES Deactivation Date\" in sheet {sheet:?}"
        )));
    }
    batch.finish()?;
    s.files.push(stats);
    Ok(s)
}

/// The xlsx bytes: the file itself or the xlsx inside a ZIP.
fn workbook_bytes(path: &std::path::Path, shown: &str) -> Result<Vec<u8>> {
    let mut file = std::fs::File::open(path).map_err(|e| DirectoryError::source(shown, e))?;
    let mut magic = [0u8; 4];
    let is_zip = file.read_exact(&mut magic).is_ok() && &magic == b"PK\x03\x04";
    let mut zip_check = zip::ZipArchive::new(
        std::fs::File::open(path).map_err(|e| DirectoryError::source(shown, e))?,
    );
    // An xlsx is itself a ZIP: a distribution archive is one with an .xlsx entry inside.
    if is_zip && let Ok(zip) = zip_check.as_mut() {
        let inner = zip
            .file_names()
            .find(|n| n.to_ascii_lowercase().ends_with(".xlsx"))
            .map(str::to_owned);
        if let Some(inner) = inner {
            let entry = zip
                .by_name(&inner)
                .map_err(|e| DirectoryError::format(shown, e))?;
            let mut out = Vec::new();
            entry
                .take(MAX_XLSX)
                .read_to_end(&mut out)
                .map_err(|e| DirectoryError::format(shown, e))?;
            return Ok(out);
        }
    }
    std::fs::read(path).map_err(|e| DirectoryError::source(shown, e))
}

/// Ingest a Deactivated NPI Report as a new release.
pub async fn ingest(sync: &SyncContext, source: &str) -> Result<Outcome> {
    let source = Source::parse(source)?;
    let shown = source.display();
    let local = source.materialize(&sync.http, &sync.work_dir, None).await?;
    let label = source.file_name();
    let (store, path) = (sync.store.clone(), local.path.clone());
    let (progress, cap) = (sync.progress.clone(), sync.limits.report_cap);
    sync.progress.stage("deactivations", 0);
    let name = label.clone();
    let result = release::build(
        &sync.store,
        Dataset::Deactivations,
        &label,
        &shown,
        &sync.limits,
        |release| async move {
            parse_and_load(&store, release, move |sink| {
                let bytes = workbook_bytes(&path, &name)?;
                parse_xlsx(&name, Cursor::new(bytes), sink, &progress, cap)
            })
            .await
        },
    )
    .await;
    local.cleanup();
    result
}
