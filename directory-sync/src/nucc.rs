//! The NUCC Health Care Provider Taxonomy CSV (`Code, Grouping, Classification, Specialization,
//! Definition, Notes, Display Name, Section`), classified individual or not.
//!
//! The default is the HL7 NDH `HealthcareIndividualTaxonomyVS`: every NUCC code except those
//! of the groupings listed in [`NON_INDIVIDUAL_GROUPINGS`] (HL7/fhir-us-ndh,
//! input/fsh/Base-VS-IndividualAndGroupSpecialties.fsh, per npd.md §3). Single codes can be
//! moved either way by configuration; by default `390200000X` (Student in an Organized Health
//! Care Education/Training Program) is not an individual clinician.

use std::collections::HashSet;
use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::context::SyncContext;
use crate::error::{DirectoryError, Result};
use crate::npd::identifier::is_nucc_code;
use crate::nppes::header::normalize;
use crate::pipeline::{Batcher, Sink, parse_and_load};
use crate::progress::{CountingReader, Progress};
use crate::release::{self, Outcome};
use crate::report::{Dataset, FileStats, Summary};
use crate::source::Source;
use crate::store::{Rows, TaxonomyRow};

/// Groupings excluded from the NDH individual value set.
pub const NON_INDIVIDUAL_GROUPINGS: [&str; 13] = [
    "Group",
    "Agencies",
    "Ambulatory Health Care Facilities",
    "Hospital Units",
    "Hospitals",
    "Laboratories",
    "Managed Care Organizations",
    "Nursing & Custodial Care Facilities",
    "Other Service Providers",
    "Residential Treatment Facilities",
    "Respite Care Facility",
    "Suppliers",
    "Transportation Services",
];

/// Exceptions to the grouping rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxonomyPolicy {
    /// Codes classified individual whatever their grouping.
    pub individual: Vec<String>,
    /// Codes classified not individual whatever their grouping.
    pub not_individual: Vec<String>,
}

impl Default for TaxonomyPolicy {
    fn default() -> Self {
        Self {
            individual: Vec::new(),
            not_individual: vec!["390200000X".to_owned()],
        }
    }
}

fn grouping_key(g: &str) -> String {
    normalize(&g.replace(" and ", " & "))
}

impl TaxonomyPolicy {
    pub fn is_individual(&self, code: &str, grouping: &str) -> bool {
        if self.not_individual.iter().any(|c| c == code) {
            return false;
        }
        if self.individual.iter().any(|c| c == code) {
            return true;
        }
        let key = grouping_key(grouping);
        !NON_INDIVIDUAL_GROUPINGS
            .iter()
            .any(|g| grouping_key(g) == key)
    }
}

/// UTF-8, or Windows-1252/Latin-1 as NUCC sometimes ships (each byte one character).
fn decode(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.trim().to_owned(),
        Err(_) => b
            .iter()
            .map(|c| char::from(*c))
            .collect::<String>()
            .trim()
            .to_owned(),
    }
}

pub fn parse_csv(
    file: &str,
    reader: impl Read,
    policy: &TaxonomyPolicy,
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
        .from_reader(reader);
    let header: Vec<String> = csv
        .byte_headers()
        .map_err(|e| DirectoryError::format(file, format!("unreadable header: {e}")))?
        .iter()
        .map(|h| normalize(&decode(h)))
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let need = |name: &str| {
        col(name).ok_or_else(|| DirectoryError::format(file, format!("missing column {name:?}")))
    };
    let (code_i, grouping_i, class_i) = (need("code")?, need("grouping")?, need("classification")?);
    let section_i = col("section");
    let mut s = Summary::default();
    let mut stats = FileStats {
        file: file.to_owned(),
        kind: "nucc".into(),
        ..FileStats::default()
    };
    let mut seen = HashSet::new();
    let mut batch = Batcher::new(sink, Rows::Taxonomy, progress.clone());
    let mut record = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(DirectoryError::format(file, format!("unreadable: {e}"))),
        }
        stats.rows += 1;
        let line = record.position().map_or(0, |p| p.line());
        let get = |i: usize| decode(record.get(i).unwrap_or(b""));
        if record.len() != header.len() {
            stats.malformed += 1;
            s.malformed(
                cap,
                file,
                line,
                format!("expected {} fields, found {}", header.len(), record.len()),
            );
            continue;
        }
        let code = get(code_i);
        let grouping = get(grouping_i);
        let problem = if !is_nucc_code(&code) {
            Some(format!("bad taxonomy code {code:?}"))
        } else if grouping.is_empty() {
            Some(format!("code {code} has no Grouping"))
        } else if !seen.insert(code.clone()) {
            Some(format!("code {code} appears twice"))
        } else {
            None
        };
        if let Some(reason) = problem {
            stats.malformed += 1;
            s.malformed(cap, file, line, reason);
            continue;
        }
        let individual = policy.is_individual(&code, &grouping);
        s.records += 1;
        if individual {
            s.individual += 1;
        }
        batch.push(TaxonomyRow {
            classification: get(class_i),
            section: section_i.map(get).unwrap_or_default(),
            code,
            grouping,
            individual,
        })?;
    }
    batch.finish()?;
    s.files.push(stats);
    Ok(s)
}

/// Ingest a NUCC CSV as a new taxonomy release.
pub async fn ingest(sync: &SyncContext, source: &str) -> Result<Outcome> {
    let source = Source::parse(source)?;
    let shown = source.display();
    let local = source.materialize(&sync.http, &sync.work_dir, None).await?;
    let label = source.file_name();
    let (store, path, policy) = (
        sync.store.clone(),
        local.path.clone(),
        sync.taxonomy.clone(),
    );
    let (progress, cap) = (sync.progress.clone(), sync.limits.report_cap);
    sync.progress.stage(
        "NUCC",
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
    );
    let name = label.clone();
    let result = release::build(
        &sync.store,
        Dataset::Nucc,
        &label,
        &shown,
        &sync.limits,
        |release| async move {
            parse_and_load(&store, release, move |sink| {
                let file =
                    std::fs::File::open(&path).map_err(|e| DirectoryError::source(&name, e))?;
                parse_csv(
                    &name,
                    CountingReader::new(file, progress.clone()),
                    &policy,
                    sink,
                    &progress,
                    cap,
                )
            })
            .await
        },
    )
    .await;
    local.cleanup();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndh_grouping_rule_and_exceptions() {
        let p = TaxonomyPolicy::default();
        assert!(p.is_individual("207Q00000X", "Allopathic & Osteopathic Physicians"));
        assert!(!p.is_individual("282N00000X", "Hospitals"));
        assert!(!p.is_individual("261QM0801X", "Ambulatory  Health Care Facilities"));
        assert!(!p.is_individual("311500000X", "Nursing and Custodial Care Facilities"));
        assert!(!p.is_individual("390200000X", "Student, Health Care"));
        let p = TaxonomyPolicy {
            individual: vec!["171100000X".into()],
            not_individual: vec![],
        };
        assert!(p.is_individual("171100000X", "Other Service Providers"));
        assert!(p.is_individual("390200000X", "Student, Health Care"));
    }
}
