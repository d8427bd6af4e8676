//! One Practitioner line → a [`PractitionerRow`], or the reason it carries no usable NPI.

use super::identifier::{NpiFound, find_npi, nucc_codes};
use super::wire::{Practitioner, items};
use crate::store::PractitionerRow;

#[derive(Debug, PartialEq)]
pub enum Parsed {
    Row {
        row: PractitionerRow,
        npi_system: Option<String>,
        taxonomy_systems: Vec<Option<String>>,
    },
    /// No NPI identifier at all.
    NoNpi,
    /// An NPI identifier with a bad value or period.
    InvalidNpi(String),
}

/// `Err` is a malformed line (not JSON, not a Practitioner, no id).
pub fn parse(line: &[u8]) -> Result<Parsed, String> {
    let p: Practitioner<'_> =
        serde_json::from_slice(line).map_err(|e| super::lines::json_reason(&e))?;
    if p.resource_type != "Practitioner" {
        return Err(format!(
            "resourceType {:?} in the Practitioner file",
            p.resource_type
        ));
    }
    let id = match p.id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() && id.len() <= 64 => id.to_owned(),
        _ => return Err("Practitioner without a usable id".into()),
    };
    match find_npi(&p.identifier) {
        NpiFound::Missing => Ok(Parsed::NoNpi),
        NpiFound::Invalid(reason) => Ok(Parsed::InvalidNpi(reason)),
        NpiFound::Valid { npi, end, system } => {
            let mut taxonomies = String::new();
            let mut systems = Vec::new();
            for q in items(&p.qualification) {
                if let Some(code) = &q.code {
                    nucc_codes(code, &mut taxonomies, &mut systems);
                }
            }
            Ok(Parsed::Row {
                row: PractitionerRow {
                    npi,
                    resource_id: id,
                    active: p.active,
                    npi_end: end,
                    taxonomies,
                },
                npi_system: system,
                taxonomy_systems: systems.into_iter().map(|s| s.map(str::to_owned)).collect(),
            })
        }
    }
}
