//! Storage types: what one release keeps per NPI. Wire types (FHIR, CSV) live with their
//! parsers and are turned into these.

use time::Date;

use crate::npi::Npi;

/// An NPD Practitioner that carries a valid NPI.
#[derive(Debug, Clone, PartialEq)]
pub struct PractitionerRow {
    pub npi: Npi,
    /// The FHIR resource id (`Practitioner/<id>` is the clinician's `fhirUser`).
    pub resource_id: String,
    /// `None` when the resource has no `active` element.
    pub active: Option<bool>,
    /// `identifier.period.end` of the NPI identifier (the NPPES deactivation date).
    pub npi_end: Option<Date>,
    /// NUCC codes from `qualification.code`, space-separated.
    pub taxonomies: String,
}

/// NUCC codes a PractitionerRole gives its practitioner (`specialty`).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleRow {
    pub practitioner_id: String,
    pub taxonomies: String,
}

/// An NPD Organization with an NPI: an NPI found here is not a clinician.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationRow {
    pub npi: Npi,
    pub resource_id: String,
}

/// The fields of one NPPES row the check needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NppesRow {
    pub npi: Npi,
    /// 1 individual, 2 organization; `None` on deactivated rows that carry no data.
    pub entity_type: Option<u8>,
    pub primary_taxonomy: Option<String>,
    /// Every taxonomy code of the row, space-separated.
    pub taxonomies: String,
    pub deactivated: Option<Date>,
    pub reactivated: Option<Date>,
}

/// One line of the Deactivated NPI Report.
#[derive(Debug, Clone, PartialEq)]
pub struct DeactivationRow {
    pub npi: Npi,
    pub deactivated: Date,
}

/// One NUCC code and its classification.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxonomyRow {
    pub code: String,
    pub grouping: String,
    pub classification: String,
    pub section: String,
    pub individual: bool,
}

/// A batch of rows of one table, as streamed from a parser to the loader.
#[derive(Debug, Clone)]
pub enum Rows {
    Practitioners(Vec<PractitionerRow>),
    Roles(Vec<RoleRow>),
    Organizations(Vec<OrganizationRow>),
    Nppes(Vec<NppesRow>),
    Deactivations(Vec<DeactivationRow>),
    Taxonomy(Vec<TaxonomyRow>),
}

impl Rows {
    pub fn len(&self) -> usize {
        match self {
            Rows::Practitioners(v) => v.len(),
            Rows::Roles(v) => v.len(),
            Rows::Organizations(v) => v.len(),
            Rows::Nppes(v) => v.len(),
            Rows::Deactivations(v) => v.len(),
            Rows::Taxonomy(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn table(&self) -> Table {
        match self {
            Rows::Practitioners(_) => Table::Practitioners,
            Rows::Roles(_) => Table::Roles,
            Rows::Organizations(_) => Table::Organizations,
            Rows::Nppes(_) => Table::Nppes,
            Rows::Deactivations(_) => Table::Deactivations,
            Rows::Taxonomy(_) => Table::Taxonomy,
        }
    }
}

/// The release-keyed tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Practitioners,
    Roles,
    Organizations,
    Nppes,
    Deactivations,
    Taxonomy,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Practitioners => "npd_practitioners",
            Table::Roles => "npd_roles",
            Table::Organizations => "npd_organizations",
            Table::Nppes => "nppes_providers",
            Table::Deactivations => "nppes_deactivations",
            Table::Taxonomy => "nucc_taxonomy",
        }
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Practitioners => &[
                "release",
                "npi",
                "resource_id",
                "active",
                "npi_end",
                "taxonomies",
            ],
            Table::Roles => &["release", "practitioner_id", "taxonomies"],
            Table::Organizations => &["release", "npi", "resource_id"],
            Table::Nppes => &[
                "release",
                "npi",
                "entity_type",
                "primary_taxonomy",
                "taxonomies",
                "deactivated",
                "reactivated",
            ],
            Table::Deactivations => &["release", "npi", "deactivated"],
            Table::Taxonomy => &[
                "release",
                "code",
                "grouping",
                "classification",
                "section",
                "individual",
            ],
        }
    }

    /// The key columns (unique within a release) or, for roles, the lookup column.
    pub fn key(self) -> &'static str {
        match self {
            Table::Roles => "practitioner_id",
            Table::Taxonomy => "code",
            _ => "npi",
        }
    }

    pub fn unique(self) -> bool {
        !matches!(self, Table::Roles)
    }

    pub fn of(dataset: crate::Dataset) -> &'static [Table] {
        match dataset {
            crate::Dataset::Npd => &[Table::Practitioners, Table::Roles, Table::Organizations],
            crate::Dataset::Nppes => &[Table::Nppes],
            crate::Dataset::Deactivations => &[Table::Deactivations],
            crate::Dataset::Nucc => &[Table::Taxonomy],
        }
    }
}
