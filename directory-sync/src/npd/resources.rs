//! PractitionerRole, Organization and the resources only counted (Location, Endpoint,
//! OrganizationAffiliation): one line each.

use super::identifier::{NpiFound, find_npi, nucc_codes};
use super::wire::{AnyResource, Organization, PractitionerRole, items};
use crate::store::{OrganizationRow, RoleRow};

fn check_type(found: &str, expected: &str) -> Result<(), String> {
    if found == expected {
        Ok(())
    } else {
        Err(format!("resourceType {found:?} in the {expected} file"))
    }
}

/// A role's practitioner and NUCC specialties; `None` when it names no practitioner or no
/// NUCC code.
pub fn role(line: &[u8]) -> Result<Option<RoleRow>, String> {
    let r: PractitionerRole<'_> =
        serde_json::from_slice(line).map_err(|e| super::lines::json_reason(&e))?;
    check_type(&r.resource_type, "PractitionerRole")?;
    let Some(reference) = r.practitioner.as_ref().and_then(|p| p.reference.as_deref()) else {
        return Ok(None);
    };
    // `Practitioner/<id>`, possibly absolute (`…/fhir/Practitioner/<id>`).
    let Some(id) = reference
        .rsplit_once("Practitioner/")
        .map(|(_, id)| id.trim())
        .filter(|id| !id.is_empty() && id.len() <= 64 && !id.contains('/'))
    else {
        return Err(format!(
            "practitioner reference {reference:?} is not Practitioner/<id>"
        ));
    };
    let mut taxonomies = String::new();
    let mut systems = Vec::new();
    for s in items(&r.specialty) {
        nucc_codes(s, &mut taxonomies, &mut systems);
    }
    if taxonomies.is_empty() {
        return Ok(None);
    }
    Ok(Some(RoleRow {
        practitioner_id: id.to_owned(),
        taxonomies,
    }))
}

/// An Organization with a valid NPI; `None` without one.
pub fn organization(line: &[u8]) -> Result<Option<OrganizationRow>, String> {
    let o: Organization<'_> =
        serde_json::from_slice(line).map_err(|e| super::lines::json_reason(&e))?;
    check_type(&o.resource_type, "Organization")?;
    let id = match o.id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() && id.len() <= 64 => id.to_owned(),
        _ => return Err("Organization without a usable id".into()),
    };
    Ok(match find_npi(&o.identifier) {
        NpiFound::Valid { npi, .. } => Some(OrganizationRow {
            npi,
            resource_id: id,
        }),
        _ => None,
    })
}

/// Any other resource of `expected` type: checked for JSON shape and type only.
pub fn other(line: &[u8], expected: &str) -> Result<(), String> {
    let r: AnyResource<'_> =
        serde_json::from_slice(line).map_err(|e| super::lines::json_reason(&e))?;
    check_type(&r.resource_type, expected)?;
    if r.id.as_deref().is_none_or(|id| id.trim().is_empty()) {
        return Err(format!("{expected} without an id"));
    }
    Ok(())
}
