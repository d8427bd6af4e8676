//! Finding the NPI among a resource's identifiers, and NUCC codes among codings.
//!
//! The NPD has used two NPI systems (`http://hl7.org/fhir/sid/us-npi`, then from May 2026
//! `http://terminology.hl7.org/NamingSystem/npi`) and two type codes (v2-0203 `NPI`, and
//! `PRN` in the open-source API), and moved taxonomy codings from
//! `http://nucc.org/provider-taxonomy` to a ValueSet canonical (npd.md §0.3, §1.4).

use time::Date;

use super::wire::{CodeableConcept, Identifier, items};
use crate::date::parse_fhir;
use crate::npi::Npi;

pub const NPI_SYSTEMS: [&str; 2] = [
    "http://hl7.org/fhir/sid/us-npi",
    "http://terminology.hl7.org/NamingSystem/npi",
];

fn is_npi_system(system: &str) -> bool {
    let s = system.trim().trim_end_matches('/');
    NPI_SYSTEMS.iter().any(|k| k.eq_ignore_ascii_case(s))
        || s.eq_ignore_ascii_case("urn:oid:2.16.840.1.113883.4.6")
}

fn type_codes<'a>(id: &'a Identifier<'_>) -> impl Iterator<Item = &'a str> {
    id.kind
        .iter()
        .flat_map(|k| items(&k.coding))
        .filter_map(|c| c.code.as_deref())
}

/// What a resource's identifiers say about its NPI.
#[derive(Debug, Clone, PartialEq)]
pub enum NpiFound {
    Valid {
        npi: Npi,
        /// `period.end`: the deactivation date the NPD copies from NPPES.
        end: Option<Date>,
        system: Option<String>,
    },
    /// An NPI identifier whose value or period is wrong.
    Invalid(String),
    Missing,
}

/// An identifier is an NPI when its system is an NPI system, or when it has no recognised
/// system and its type is `NPI`, or it has no system at all and its type is `PRN`.
fn is_npi(id: &Identifier<'_>) -> bool {
    match id.system.as_deref() {
        Some(system) if is_npi_system(system) => true,
        Some(_) => type_codes(id).any(|c| c == "NPI"),
        None => type_codes(id).any(|c| c == "NPI" || c == "PRN"),
    }
}

pub fn find_npi(identifiers: &super::wire::List<Identifier<'_>>) -> NpiFound {
    let mut invalid = None;
    for id in items(identifiers).filter(|id| is_npi(id)) {
        let value = id.value.as_deref().unwrap_or("").trim();
        let npi = match Npi::parse(value) {
            Ok(npi) => npi,
            Err(e) => {
                invalid.get_or_insert_with(|| format!("NPI {value:?}: {e}"));
                continue;
            }
        };
        let end = match id.period.as_ref().and_then(|p| p.end.as_deref()) {
            None => None,
            Some(raw) => match parse_fhir(raw) {
                Ok(d) => Some(d),
                Err(e) => {
                    invalid.get_or_insert_with(|| format!("NPI period.end: {e}"));
                    continue;
                }
            },
        };
        return NpiFound::Valid {
            npi,
            end,
            system: id.system.as_deref().map(str::to_owned),
        };
    }
    invalid.map(NpiFound::Invalid).unwrap_or(NpiFound::Missing)
}

/// NUCC code shape: ten characters, uppercase letters and digits, ending in `X`
/// (e.g. `207Q00000X`, `363LF0000X`).
pub fn is_nucc_code(code: &str) -> bool {
    code.len() == 10
        && code.ends_with('X')
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// Append the NUCC codes of `concept` to `out` (space-separated), whatever the coding system
/// says; returns the systems seen.
pub fn nucc_codes<'a>(
    concept: &'a CodeableConcept<'_>,
    out: &mut String,
    systems: &mut Vec<Option<&'a str>>,
) {
    for coding in items(&concept.coding) {
        let Some(code) = coding.code.as_deref().map(str::trim) else {
            continue;
        };
        if is_nucc_code(code) && !out.split(' ').any(|c| c == code) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(code);
            systems.push(coding.system.as_deref());
        }
    }
}
