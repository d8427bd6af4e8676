//! Typed request → Cedar entities, context and principal. Everything is built directly as
//! Cedar values (no JSON round trip); the schema types are in
//! `cedar/glassgate.cedarschema`.

use crate::error::PolicyError;
use crate::narrowing::{Candidate, excluded};
use crate::purpose::{ExchangePurpose, PurposeOfUse};
use crate::quality_measures::QualityMeasure;
use crate::request::{Aal, AccessRequest, Organisation, Person, Stage};
use crate::scopes::ScopeSet;
use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression,
};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The schema's entity type names, parsed once per engine.
pub(crate) struct Names {
    purpose: EntityTypeName,
    organisation: EntityTypeName,
    client: EntityTypeName,
    patient: EntityTypeName,
    clinician: EntityTypeName,
    data_category: EntityTypeName,
    scope: EntityTypeName,
    baa: EntityTypeName,
    consent: EntityTypeName,
    action: EntityTypeName,
}

impl Names {
    pub(crate) fn new() -> Result<Names, PolicyError> {
        let name = |n: &str| {
            EntityTypeName::from_str(n).map_err(|e| PolicyError::Name {
                name: n.to_owned(),
                message: e.to_string(),
            })
        };
        Ok(Names {
            purpose: name("Glassgate::Purpose")?,
            organisation: name("Glassgate::Organisation")?,
            client: name("Glassgate::Client")?,
            patient: name("Glassgate::Patient")?,
            clinician: name("Glassgate::Clinician")?,
            data_category: name("Glassgate::DataCategory")?,
            scope: name("Glassgate::Scope")?,
            baa: name("Glassgate::Baa")?,
            consent: name("Glassgate::Consent")?,
            action: name("Glassgate::Action")?,
        })
    }

    /// Every action and principal type of the schema (the policy slice keys).
    pub(crate) fn slice_keys(&self) -> (Vec<EntityUid>, Vec<EntityTypeName>) {
        let actions = ["authorize", "token", "refresh", "token_exchange"]
            .iter()
            .map(|a| Names::uid(&self.action, a))
            .collect();
        let principals = vec![
            self.patient.clone(),
            self.clinician.clone(),
            self.client.clone(),
        ];
        (actions, principals)
    }

    /// The action `request` asks Cedar about.
    pub(crate) fn action_of(&self, request: &AccessRequest) -> EntityUid {
        Names::uid(&self.action, request.stage.action())
    }

    /// The type of the principal `request` is asked for.
    pub(crate) fn principal_type_of(&self, request: &AccessRequest) -> &EntityTypeName {
        match acting_person(request) {
            None => &self.client,
            Some(Person::Patient(_)) => &self.patient,
            Some(Person::Clinician(_)) => &self.clinician,
        }
    }

    /// A scope uid that names no entity: the resource of a question's guards, which do not
    /// read it.
    pub(crate) fn any_scope(&self) -> EntityUid {
        Names::uid(&self.scope, "any")
    }

    fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }
}

/// One candidate as Cedar sees it.
#[derive(Clone, Copy)]
pub(crate) enum CandidateScope<'a> {
    /// All requested identity scopes together.
    Identity,
    Data(&'a Candidate),
}

/// A built question: one request per candidate differs only in the resource.
pub(crate) struct Built {
    /// Entities not yet in `entities` (the request's, until the first scopes are added, so
    /// that the store is built once for the common case).
    pending: Vec<Entity>,
    pub entities: Entities,
    pub context: Context,
    pub principal: EntityUid,
    pub action: EntityUid,
    /// How many `Scope` entities were added so far (their ids are 0, 1, …).
    scope_count: usize,
}

impl Built {
    /// Puts the question's own entities in the store (before any scope is added).
    pub(crate) fn settle(&mut self) -> Result<(), BuildError> {
        if !self.pending.is_empty() {
            self.entities = Entities::from_entities(self.pending.drain(..), None).map_err(err)?;
        }
        Ok(())
    }

    /// Adds one `Scope` entity per candidate; returns their uids in order.
    pub(crate) fn add_scopes(
        &mut self,
        names: &Names,
        request: &AccessRequest,
        candidates: &[CandidateScope<'_>],
    ) -> Result<Vec<EntityUid>, BuildError> {
        let mut uids = Vec::with_capacity(candidates.len());
        let mut scopes = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            let uid = Names::uid(&names.scope, &self.scope_count.to_string());
            self.scope_count += 1;
            scopes.push(entity(
                uid.clone(),
                scope_attrs(names, request, candidate),
                HashSet::new(),
            )?);
            uids.push(uid);
        }
        if scopes.is_empty() {
            return Ok(uids);
        }
        let entities = std::mem::replace(&mut self.entities, Entities::empty());
        self.entities = if self.pending.is_empty() {
            entities.add_entities(scopes, None)
        } else {
            Entities::from_entities(self.pending.drain(..).chain(scopes), None)
        }
        .map_err(err)?;
        Ok(uids)
    }
}

/// Why a question could not be built (a bug in this crate or a value Cedar refuses).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the Cedar request: {0}")]
pub(crate) struct BuildError(String);

fn err(e: impl std::fmt::Display) -> BuildError {
    BuildError(e.to_string())
}

type Attrs = HashMap<String, RestrictedExpression>;

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn entity(uid: EntityUid, attrs: Attrs, parents: HashSet<EntityUid>) -> Result<Entity, BuildError> {
    Entity::new(uid, attrs, parents).map_err(err)
}

/// Builds the entities and context for `request` (scopes are added with
/// [`Built::add_scopes`]); `aal` overrides the session's level (used to ask "would a step-up
/// help?").
pub(crate) fn build(
    names: &Names,
    request: &AccessRequest,
    aal: Option<Aal>,
) -> Result<Built, BuildError> {
    let mut entities: Vec<Entity> = Vec::with_capacity(8);
    let org_uid = |o: &Organisation| Names::uid(&names.organisation, &o.id);

    // Organisations and the client.
    let client_org = org_uid(&request.client.organisation);
    entities.push(organisation(names, &request.client.organisation)?);
    let client_uid = Names::uid(&names.client, &request.client.client_id);
    entities.push(entity(
        client_uid.clone(),
        Attrs::from([(
            "organisation".to_owned(),
            RestrictedExpression::new_entity_uid(client_org.clone()),
        )]),
        HashSet::new(),
    )?);

    // Purposes (with their parents, so `in Purpose::"T-HCO"` covers sub-codes).
    let purpose_uid = Names::uid(&names.purpose, request.purpose.exchange().code());
    entities.push(purpose(names, &request.purpose)?);
    let prior = request.stage.prior_grant();
    if let Some(p) = prior.filter(|p| p.purpose.exchange() != request.purpose.exchange()) {
        entities.push(purpose(names, &p.purpose)?);
    }

    let mut context: Vec<(String, RestrictedExpression)> = vec![
        (
            "client".to_owned(),
            RestrictedExpression::new_entity_uid(client_uid.clone()),
        ),
        (
            "purpose".to_owned(),
            RestrictedExpression::new_entity_uid(purpose_uid),
        ),
        (
            "now".to_owned(),
            RestrictedExpression::new_long(unix_seconds(request.now)),
        ),
    ];
    if let Some(patient) = &request.patient_context {
        context.push(("patient_context".to_owned(), string(patient)));
    }
    if let Some(p) = prior {
        let uid = Names::uid(&names.purpose, p.purpose.exchange().code());
        context.push((
            "prior_purpose".to_owned(),
            RestrictedExpression::new_entity_uid(uid),
        ));
    }
    if let Stage::TokenExchange(delegation) = &request.stage {
        let on_behalf_of = org_uid(&delegation.on_behalf_of);
        if on_behalf_of != client_org {
            entities.push(organisation(names, &delegation.on_behalf_of)?);
        }
        context.push((
            "on_behalf_of".to_owned(),
            RestrictedExpression::new_entity_uid(on_behalf_of),
        ));
        if let Some(baa) = &delegation.baa {
            let uid = Names::uid(&names.baa, &baa.reference);
            let party = |id: &str| {
                RestrictedExpression::new_entity_uid(Names::uid(&names.organisation, id))
            };
            entities.push(entity(
                uid.clone(),
                Attrs::from([
                    ("covered_entity".to_owned(), party(&baa.covered_entity)),
                    (
                        "business_associate".to_owned(),
                        party(&baa.business_associate),
                    ),
                ]),
                HashSet::new(),
            )?);
            context.push(("baa".to_owned(), RestrictedExpression::new_entity_uid(uid)));
        }
    }
    if let Some(consent) = request.consent.as_ref().filter(|c| !c.is_empty()) {
        let uid = Names::uid(&names.consent, "launch-patient");
        let set = |uids: Vec<EntityUid>| {
            RestrictedExpression::new_set(
                uids.into_iter().map(RestrictedExpression::new_entity_uid),
            )
        };
        // Expanded so a restriction on either treatment code covers both (they have no
        // parent link, which would change refresh/exchange lineage).
        let purposes = consent
            .purposes
            .iter()
            .flat_map(|p| p.consent_restricted_codes())
            .map(|p| Names::uid(&names.purpose, p.code()))
            .collect();
        let recipients = consent
            .recipient_organisations
            .iter()
            .map(|o| Names::uid(&names.organisation, o))
            .collect();
        let categories = consent
            .data_categories
            .iter()
            .map(|c| Names::uid(&names.data_category, c.label()))
            .collect();
        entities.push(entity(
            uid.clone(),
            Attrs::from([
                ("restricted_purposes".to_owned(), set(purposes)),
                ("restricted_recipients".to_owned(), set(recipients)),
                ("restricted_categories".to_owned(), set(categories)),
            ]),
            HashSet::new(),
        )?);
        context.push((
            "consent".to_owned(),
            RestrictedExpression::new_entity_uid(uid),
        ));
    }

    let principal = match acting_person(request) {
        None => client_uid,
        Some(person) => {
            let (uid, attrs) = person_entity(names, person, aal);
            entities.push(entity(uid.clone(), attrs, HashSet::new())?);
            uid
        }
    };

    Ok(Built {
        pending: entities,
        entities: Entities::empty(),
        context: Context::from_pairs(context).map_err(err)?,
        principal,
        action: names.action_of(request),
        scope_count: 0,
    })
}

/// The principal: the acting client in an exchange, otherwise the person if any.
fn acting_person(request: &AccessRequest) -> Option<&Person> {
    match (&request.stage, &request.person) {
        (Stage::TokenExchange(_), _) | (_, None) => None,
        (_, Some(person)) => Some(person),
    }
}

fn organisation(names: &Names, org: &Organisation) -> Result<Entity, BuildError> {
    entity(
        Names::uid(&names.organisation, &org.id),
        Attrs::from([("kind".to_owned(), string(org.kind.as_str()))]),
        HashSet::new(),
    )
}

fn purpose(names: &Names, purpose: &PurposeOfUse) -> Result<Entity, BuildError> {
    let parents: HashSet<EntityUid> = purpose
        .exchange()
        .parent()
        .map(|p: ExchangePurpose| Names::uid(&names.purpose, p.code()))
        .into_iter()
        .collect();
    entity(
        Names::uid(&names.purpose, purpose.exchange().code()),
        Attrs::from([("hl7".to_owned(), string(purpose.hl7().code()))]),
        parents,
    )
}

fn person_entity(names: &Names, person: &Person, aal: Option<Aal>) -> (EntityUid, Attrs) {
    let level = |n: i64| RestrictedExpression::new_long(n);
    match person {
        Person::Patient(p) => (
            Names::uid(&names.patient, &p.subject),
            Attrs::from([
                ("patient_id".to_owned(), string(&p.patient_id)),
                ("ial".to_owned(), level(p.ial as i64)),
                ("aal".to_owned(), level(aal.unwrap_or(p.aal) as i64)),
            ]),
        ),
        Person::Clinician(c) => (
            Names::uid(&names.clinician, &c.subject),
            Attrs::from([
                ("npi".to_owned(), string(&c.npi)),
                (
                    "directory_active".to_owned(),
                    RestrictedExpression::new_bool(c.directory_active),
                ),
                ("ial".to_owned(), level(c.ial as i64)),
                ("aal".to_owned(), level(aal.unwrap_or(c.aal) as i64)),
            ]),
        ),
    }
}

/// Whether the candidate stays within the grant a refresh or exchange starts from (always,
/// when there is none).
fn within_prior_grant(request: &AccessRequest, candidate: &CandidateScope<'_>) -> bool {
    let prior: Option<&ScopeSet> = request.stage.prior_grant().map(|p| &p.scopes);
    match candidate {
        CandidateScope::Identity => prior.is_none_or(|p| {
            request
                .scopes
                .identity_scopes()
                .all(|i| p.identity_scopes().any(|g| g == i))
        }),
        CandidateScope::Data(c) => prior.is_none_or(|p| c.scope.is_covered_by(p.resource_scopes())),
    }
}

/// Everything the candidate's `Scope` entity is built from: equal keys, equal entities.
pub(crate) fn scope_key(request: &AccessRequest, candidate: &CandidateScope<'_>) -> String {
    let within = within_prior_grant(request, candidate);
    match candidate {
        CandidateScope::Identity => format!("identity {within}"),
        CandidateScope::Data(c) => match c.claim_date {
            None => format!("{} {within}", c.scope),
            Some(date) => format!("{} {within} {}", c.scope, unix_seconds(date)),
        },
    }
}

fn scope_attrs(names: &Names, request: &AccessRequest, candidate: &CandidateScope<'_>) -> Attrs {
    let within = within_prior_grant(request, candidate);
    let categories = |scope| {
        RestrictedExpression::new_set(excluded(scope).map(|c| {
            RestrictedExpression::new_entity_uid(Names::uid(&names.data_category, c.label()))
        }))
    };
    let mut attrs = Attrs::new();
    match candidate {
        CandidateScope::Identity => {
            attrs.insert("kind".to_owned(), string("identity"));
            attrs.insert("audience".to_owned(), string(""));
            attrs.insert("resource_type".to_owned(), string(""));
            attrs.insert("read_only".to_owned(), RestrictedExpression::new_bool(true));
            attrs.insert("excludes".to_owned(), RestrictedExpression::new_set([]));
            attrs.insert(
                "within_prior_grant".to_owned(),
                RestrictedExpression::new_bool(within),
            );
        }
        CandidateScope::Data(c) => {
            let s = &c.scope;
            attrs.insert("kind".to_owned(), string("data"));
            attrs.insert("audience".to_owned(), string(s.audience.as_str()));
            attrs.insert("resource_type".to_owned(), string(s.resource_type.as_str()));
            attrs.insert(
                "read_only".to_owned(),
                RestrictedExpression::new_bool(s.permissions.is_read_only()),
            );
            attrs.insert("excludes".to_owned(), categories(s));
            attrs.insert(
                "within_prior_grant".to_owned(),
                RestrictedExpression::new_bool(within),
            );
            if let Some(measure) = QualityMeasure::of_scope(s) {
                attrs.insert("quality_measure".to_owned(), string(measure.as_str()));
            }
            if let Some(date) = c.claim_date {
                attrs.insert(
                    "claim_date".to_owned(),
                    RestrictedExpression::new_long(unix_seconds(date)),
                );
            }
        }
    }
    attrs
}

/// Seconds since the Unix epoch (negative before it, saturating far outside Cedar's range).
/// Cedar's `datetime` would read better in policies, but building one per request parses
/// the extension's name each time, which costs more than the whole evaluation.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn unix_seconds_both_sides_of_the_epoch() {
        assert_eq!(unix_seconds(UNIX_EPOCH), 0);
        assert_eq!(
            unix_seconds(UNIX_EPOCH + Duration::from_secs(1_795_000_020)),
            1_795_000_020
        );
        assert_eq!(
            unix_seconds(UNIX_EPOCH - Duration::from_secs(86_400)),
            -86_400
        );
    }
}
