//! The active-clinician predicate (npd.md §1.6), as a pure function of what the current
//! releases say about one NPI.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::date::parse_iso;
use crate::store::{Facts, Pointer};

/// Why a clinician is not active. `as_str` is the stable name logged and sent in OAuth errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No NPD release has been ingested yet (fail closed).
    NoCurrentRelease,
    /// Not ten digits, wrong prefix or wrong check digit.
    InvalidNpi,
    /// Not a Practitioner in the current NPD release.
    Unknown,
    /// `active: false` in the NPD.
    Inactive,
    /// Deactivated: NPI `period.end` passed, on the Deactivated NPI Report (not reactivated
    /// since), or deactivated in the NPPES file.
    Deactivated,
    /// No individual (clinician) taxonomy, an organisation NPI, or an NPD Organization.
    NotIndividual,
    /// The NUCC taxonomy has not been ingested, so no taxonomy can be classified.
    DirectoryIncomplete,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoCurrentRelease => "no_current_release",
            Reason::InvalidNpi => "invalid_npi",
            Reason::Unknown => "unknown",
            Reason::Inactive => "inactive",
            Reason::Deactivated => "deactivated",
            Reason::NotIndividual => "not_individual",
            Reason::DirectoryIncomplete => "directory_incomplete",
        }
    }

    /// A sentence for an OAuth `error_description` (no personal data).
    pub fn description(self) -> &'static str {
        match self {
            Reason::NoCurrentRelease => "the provider directory is not available",
            Reason::InvalidNpi => "the NPI is not valid",
            Reason::Unknown => "the NPI is not in the National Provider Directory",
            Reason::Inactive => "the provider is inactive in the National Provider Directory",
            Reason::Deactivated => "the NPI has been deactivated",
            Reason::NotIndividual => "the NPI is not that of an individual clinician",
            Reason::DirectoryIncomplete => "the provider directory is incomplete",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict before the cache dresses it with release and URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub reason: Option<Reason>,
    pub why: String,
    pub resource_id: Option<String>,
}

fn passed(d: &Option<String>, today: Date) -> Option<Date> {
    d.as_deref()
        .and_then(|s| parse_iso(s).ok())
        .filter(|d| *d <= today)
}

fn refuse(reason: Reason, why: String, resource_id: Option<String>) -> Verdict {
    Verdict {
        reason: Some(reason),
        why,
        resource_id,
    }
}

/// Decide for one NPI. `pointer.npd` is known present.
pub fn decide(pointer: &Pointer, facts: &Facts, today: Date) -> Verdict {
    let Some(p) = &facts.practitioner else {
        if let Some(org) = &facts.organization {
            return refuse(
                Reason::NotIndividual,
                format!("the NPI belongs to NPD Organization/{org}, not a Practitioner"),
                None,
            );
        }
        return refuse(
            Reason::Unknown,
            "no Practitioner with this NPI in the current NPD release".into(),
            None,
        );
    };
    let id = Some(p.resource_id.clone());
    if p.active == Some(false) {
        return refuse(
            Reason::Inactive,
            format!("Practitioner/{} is active: false", p.resource_id),
            id,
        );
    }
    if let Some(end) = passed(&p.npi_end, today) {
        return refuse(
            Reason::Deactivated,
            format!(
                "the NPI identifier's period ended on {} (NPPES deactivation)",
                crate::date::iso(end)
            ),
            id,
        );
    }
    let reactivated_after = |d: Date| {
        facts
            .nppes
            .as_ref()
            .and_then(|n| n.reactivated.as_deref())
            .and_then(|r| parse_iso(r).ok())
            .is_some_and(|r| r >= d && r <= today)
    };
    if let Some(d) = passed(&facts.deactivation_report, today)
        && !reactivated_after(d)
    {
        return refuse(
            Reason::Deactivated,
            format!(
                "on the NPPES Deactivated NPI Report since {} and not reactivated",
                crate::date::iso(d)
            ),
            id,
        );
    }
    if let Some(n) = &facts.nppes {
        if let Some(d) = passed(&n.deactivated, today)
            && !reactivated_after(d)
        {
            return refuse(
                Reason::Deactivated,
                format!("deactivated in NPPES on {}", crate::date::iso(d)),
                id,
            );
        }
        if n.entity_type == Some(2) {
            return refuse(
                Reason::NotIndividual,
                "NPPES entity type 2 (organization)".into(),
                id,
            );
        }
    }
    if pointer.nucc.is_none() {
        return refuse(
            Reason::DirectoryIncomplete,
            "no NUCC taxonomy release: taxonomies cannot be classified".into(),
            id,
        );
    }
    // NPPES's primary taxonomy is authoritative; without an NPPES record, the NPD's codes.
    let nppes_primary = facts
        .nppes
        .as_ref()
        .and_then(|n| n.primary_taxonomy.clone());
    let (codes, source): (Vec<String>, &str) = match nppes_primary {
        Some(primary) => (vec![primary], "NPPES primary taxonomy"),
        None => {
            let mut codes: Vec<String> = p.taxonomies.clone();
            codes.extend(facts.role_taxonomies.iter().cloned());
            if codes.is_empty()
                && let Some(n) = &facts.nppes
            {
                codes.extend(n.taxonomies.iter().cloned());
            }
            (codes, "NPD qualification/specialty")
        }
    };
    let individual = codes.iter().find(|c| {
        facts
            .classified
            .iter()
            .any(|(code, ind)| code == *c && *ind)
    });
    match individual {
        Some(code) => Verdict {
            reason: None,
            why: format!(
                "Practitioner/{} in the current NPD release, not deactivated, individual taxonomy {code} ({source})",
                p.resource_id
            ),
            resource_id: id,
        },
        None if codes.is_empty() => {
            refuse(Reason::NotIndividual, "no taxonomy on record".into(), id)
        }
        None => refuse(
            Reason::NotIndividual,
            format!(
                "{source} {} is not an individual clinician taxonomy",
                codes.join(", ")
            ),
            id,
        ),
    }
}
