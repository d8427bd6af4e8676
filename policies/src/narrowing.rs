//! Candidate scopes. Cedar answers yes or no; narrowing is done by asking about narrower
//! variants of a requested scope when the scope itself is refused. For each requested data
//! scope the candidates are, broadest first, in two phases:
//!
//! - [`Phase::Direct`]: the scope as requested; its read-only part (`user/*.cruds` →
//!   `user/*.rs`); its intersections with the prior grant (refresh, token exchange);
//! - [`Phase::Catalogue`], asked only when the direct phase granted nothing for the scope:
//!   its intersections with the quality-measure catalogue, then with the encounters of
//!   recorded claims;
//!
//! and, when the patient restricts data categories, each candidate that can reach such a
//! category is followed by a twin that excludes the categories' security labels
//! (`_security:not=…`). The engine grants every permitted candidate not already within a
//! granted one.

use crate::consent::{DataCategory, EXCLUDE_LABEL_PARAM};
use crate::quality_measures::QualityMeasure;
use crate::request::AccessRequest;
use crate::scopes::{Permissions, ResourceScope, ResourceType};
use std::time::SystemTime;

/// One data scope to ask Cedar about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub scope: ResourceScope,
    /// The claim date, when this candidate is a claim's encounter.
    pub claim_date: Option<SystemTime>,
}

impl Candidate {
    fn plain(scope: ResourceScope) -> Candidate {
        Candidate {
            scope,
            claim_date: None,
        }
    }
}

/// The categories whose label a scope excludes; it can reach all others.
pub(crate) fn excluded(scope: &ResourceScope) -> impl Iterator<Item = DataCategory> + '_ {
    DataCategory::ALL
        .into_iter()
        .filter(|c| scope.has_param(EXCLUDE_LABEL_PARAM, &c.security_token()))
}

/// Which narrowings to propose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The scope, its read-only part, its intersections with the prior grant.
    Direct,
    /// Quality-measure elements and claim encounters within the scope.
    Catalogue,
}

/// The candidates for one requested data scope in one phase, broadest first.
pub(crate) fn candidates(
    requested: &ResourceScope,
    request: &AccessRequest,
    phase: Phase,
) -> Vec<Candidate> {
    let out = match phase {
        Phase::Direct => direct(requested, request),
        Phase::Catalogue => catalogue(requested, request),
    };
    with_exclusions(out, request)
}

fn direct(requested: &ResourceScope, request: &AccessRequest) -> Vec<Candidate> {
    let mut out = vec![Candidate::plain(requested.clone())];
    let read_only = requested.permissions.intersection(Permissions::READ_SEARCH);
    if !read_only.is_empty() && read_only != requested.permissions {
        out.push(Candidate::plain(requested.with_permissions(read_only)));
    }
    if let Some(prior) = request.stage.prior_grant() {
        out.extend(
            prior
                .scopes
                .resource_scopes()
                .filter_map(|granted| requested.intersection(granted))
                .map(Candidate::plain),
        );
    }
    out
}

fn catalogue(requested: &ResourceScope, request: &AccessRequest) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = QualityMeasure::templates(requested.audience)
        .filter_map(|t| narrow(requested, &t))
        .filter(|s| s != requested)
        .map(Candidate::plain)
        .collect();
    for claim in &request.claims {
        let template = ResourceScope::new(
            requested.audience,
            ResourceType::Named("Encounter".to_owned()),
            Permissions::ALL,
        )
        .with_param("_id", &claim.encounter_id);
        if let Some(scope) = narrow(requested, &template) {
            out.push(Candidate {
                scope,
                claim_date: Some(claim.date),
            });
        }
    }
    out
}

/// Adds the exclusion twins and drops duplicates.
fn with_exclusions(mut out: Vec<Candidate>, request: &AccessRequest) -> Vec<Candidate> {
    let restricted: Vec<DataCategory> = request
        .consent
        .as_ref()
        .map(|c| c.data_categories.clone())
        .unwrap_or_default();
    if !restricted.is_empty() {
        out = out
            .into_iter()
            .flat_map(|c| {
                let twin = exclude(&c.scope, &restricted).map(|scope| Candidate {
                    scope,
                    claim_date: c.claim_date,
                });
                std::iter::once(c).chain(twin)
            })
            .collect();
    }
    let mut unique: Vec<Candidate> = Vec::with_capacity(out.len());
    for c in out {
        if !unique.iter().any(|u| u.scope == c.scope) {
            unique.push(c);
        }
    }
    unique
}

/// `requested` ∩ `template`, unless they filter the same parameter on different values (a
/// contradiction, not a useful narrowing).
fn narrow(requested: &ResourceScope, template: &ResourceScope) -> Option<ResourceScope> {
    let contradicts = template.params().iter().any(|(name, value)| {
        requested
            .params()
            .iter()
            .any(|(n, v)| n == name && v != value)
    });
    if contradicts {
        None
    } else {
        requested.intersection(template)
    }
}

/// The scope with the restricted categories' labels excluded, when it reaches any of them.
/// A scope that asks for a restricted label outright (`_security=…`) has no useful twin: it
/// is refused as asked.
fn exclude(scope: &ResourceScope, restricted: &[DataCategory]) -> Option<ResourceScope> {
    if restricted
        .iter()
        .any(|c| scope.has_param("_security", &c.security_token()))
    {
        return None;
    }
    let reaches: Vec<DataCategory> = restricted
        .iter()
        .copied()
        .filter(|c| !excluded(scope).any(|x| x == *c))
        .collect();
    if reaches.is_empty() {
        return None;
    }
    Some(reaches.into_iter().fold(scope.clone(), |s, c| {
        s.with_param(EXCLUDE_LABEL_PARAM, &c.security_token())
    }))
}
