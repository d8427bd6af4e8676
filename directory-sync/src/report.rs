//! What an ingest saw: counts, malformed rows with their line numbers, and the validation
//! verdict. Stored as JSON with each release and printed by the CLI.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The four sources the directory is built from; each has its own current release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Dataset {
    /// The CMS National Provider Directory bulk release.
    Npd,
    /// The NPPES monthly full file (and weekly files applied to it).
    Nppes,
    /// The NPPES monthly Deactivated NPI Report.
    Deactivations,
    /// The NUCC Health Care Provider Taxonomy code set.
    Nucc,
}

impl Dataset {
    pub const ALL: [Dataset; 4] = [
        Dataset::Npd,
        Dataset::Nppes,
        Dataset::Deactivations,
        Dataset::Nucc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dataset::Npd => "npd",
            Dataset::Nppes => "nppes",
            Dataset::Deactivations => "deactivations",
            Dataset::Nucc => "nucc",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedRow {
    pub file: String,
    /// 1-based line number in the (decompressed) file where the row starts.
    pub line: u64,
    pub reason: String,
}

/// Counts for one input file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStats {
    pub file: String,
    /// The FHIR resource type (NPD) or the file kind.
    pub kind: String,
    pub rows: u64,
    pub malformed: u64,
    pub bytes: u64,
}

/// Everything an ingest counted; the validation reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub files: Vec<FileStats>,
    /// Records of the dataset's main kind (Practitioners, NPPES rows, deactivations, codes).
    pub records: u64,
    /// Main records carrying a valid NPI.
    pub with_valid_npi: u64,
    /// Main records with no NPI identifier at all.
    pub npi_missing: u64,
    /// Main records whose NPI failed the shape or check-digit test.
    pub npi_invalid: u64,
    /// Records skipped because their NPI was already seen in this release.
    pub duplicates: u64,
    /// Records marked `active: false`.
    pub inactive: u64,
    /// Records carrying a deactivation in effect today.
    pub deactivated: u64,
    /// NUCC codes classified individual.
    pub individual: u64,
    pub malformed: u64,
    /// The first malformed rows (up to the configured cap), with line numbers.
    pub malformed_rows: Vec<MalformedRow>,
    /// How often each NPI identifier system was seen (drift shows here).
    pub npi_systems: BTreeMap<String, u64>,
    /// How often each taxonomy coding system was seen.
    pub taxonomy_systems: BTreeMap<String, u64>,
    pub warnings: Vec<String>,
    /// Weekly files only: rows upserted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upserted: Option<u64>,
}

impl Summary {
    pub fn malformed(&mut self, cap: usize, file: &str, line: u64, reason: impl Into<String>) {
        self.malformed += 1;
        if self.malformed_rows.len() < cap {
            self.malformed_rows.push(MalformedRow {
                file: file.to_owned(),
                line,
                reason: reason.into(),
            });
        }
    }

    pub fn count_system(map: &mut BTreeMap<String, u64>, system: Option<&str>) {
        let key = system.unwrap_or("(none)");
        // Bounded: a hostile file could otherwise grow the map per line.
        if let Some(n) = map.get_mut(key) {
            *n += 1;
        } else if map.len() < 32 {
            map.insert(key.to_owned(), 1);
        }
    }

    /// Fold another file's counts into this one.
    pub fn absorb(&mut self, other: Summary, cap: usize) {
        self.files.extend(other.files);
        self.records += other.records;
        self.with_valid_npi += other.with_valid_npi;
        self.npi_missing += other.npi_missing;
        self.npi_invalid += other.npi_invalid;
        self.duplicates += other.duplicates;
        self.inactive += other.inactive;
        self.deactivated += other.deactivated;
        self.individual += other.individual;
        self.malformed += other.malformed;
        for row in other.malformed_rows {
            if self.malformed_rows.len() < cap {
                self.malformed_rows.push(row);
            }
        }
        for (k, v) in other.npi_systems {
            *self.npi_systems.entry(k).or_default() += v;
        }
        for (k, v) in other.taxonomy_systems {
            *self.taxonomy_systems.entry(k).or_default() += v;
        }
        self.warnings.extend(other.warnings);
    }
}

/// Validation bounds. Every one is configurable from the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest accepted relative change of the record count against the current release.
    pub max_count_change: f64,
    /// Smallest accepted share of main records with a valid NPI.
    pub min_npi_rate: f64,
    /// Smallest accepted share of records that are active (not `active: false`, not deactivated).
    pub min_active_share: f64,
    /// More malformed rows than this refuses the release.
    pub max_malformed: u64,
    /// How many malformed rows are kept in the report.
    pub report_cap: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_count_change: 0.25,
            min_npi_rate: 0.99,
            min_active_share: 0.5,
            max_malformed: 1000,
            report_cap: 100,
        }
    }
}

/// One validation check and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// A release that did not become current, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub dataset: Dataset,
    pub release_id: i64,
    pub label: String,
    pub checks: Vec<Check>,
    pub summary: Summary,
    /// The release that stays current, if any.
    pub current: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        write!(
            f,
            "{} release {} ({}) failed validation: {}; current release stays {}",
            self.dataset,
            self.release_id,
            self.label,
            failed.join("; "),
            self.current.as_deref().unwrap_or("(none)")
        )
    }
}
