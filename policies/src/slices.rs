//! Policy slices: for each (action, principal type) the subset of policies whose scope can
//! match it, split into guards, scope parts and mixed parts (see [`crate::split`]). Cedar
//! evaluates every policy of the set it is given, so asking with the slice instead of the
//! whole set does the same work minus the policies that cannot apply.
//!
//! A policy is left out of a slice only when its scope rules it out for certain: an action
//! constraint that does not name the action (sound because the schema has no action groups;
//! with action groups slicing is switched off), or a principal `is`/`==` of another type.

use crate::error::PolicyError;
use crate::observed::Observed;
use crate::split::{Split, split};
use cedar_policy::{
    ActionConstraint, Effect, EntityTypeName, EntityUid, Policy, PolicyId, PolicySet,
    PrincipalConstraint, Schema,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Scopes whose scope parts are kept per slice (the scopes clients ask for, and their
/// narrowings, are few).
const SCOPES_KEPT: usize = 4_096;
/// Sets of mixed parts kept per slice.
const MIXED_SETS: usize = 1_024;

/// Policy ids, as Cedar reports them satisfied.
pub(crate) type PolicyIds = BTreeSet<PolicyId>;

pub(crate) struct PolicySlices {
    slices: HashMap<(EntityUid, EntityTypeName), Slice>,
    /// Every policy, split, for a key with no slice (or when slicing is off).
    all: Slice,
    full: PolicySet,
}

/// The policies that can apply to one (action, principal type), split (see
/// [`crate::split`]): guards, scope parts and mixed parts, with the scope parts' answers
/// kept per scope.
pub(crate) struct Slice {
    guards: PolicySet,
    scope_parts: PolicySet,
    mixed_parts: HashMap<PolicyId, Policy>,
    forbids: HashSet<PolicyId>,
    scopes: Mutex<HashMap<String, Arc<PolicyIds>>>,
    mixed_sets: Mutex<HashMap<PolicyIds, Arc<PolicySet>>>,
    observed: Observed,
}

fn add(set: &mut PolicySet, policy: Policy) -> Result<(), PolicyError> {
    set.add(policy).map_err(|e| PolicyError::Validation {
        problems: vec![e.to_string()],
    })
}

impl Slice {
    fn new<'a>(policies: impl Iterator<Item = &'a Policy>) -> Result<Slice, PolicyError> {
        let policies: Vec<&Policy> = policies.collect();
        let mut slice = Slice {
            guards: PolicySet::new(),
            scope_parts: PolicySet::new(),
            mixed_parts: HashMap::new(),
            forbids: HashSet::new(),
            scopes: Mutex::new(HashMap::new()),
            mixed_sets: Mutex::new(HashMap::new()),
            observed: Observed::of(policies.iter().copied())?,
        };
        for policy in policies {
            let Split {
                effect,
                guard,
                scope,
                mixed,
            } = split(policy)?;
            add(&mut slice.guards, guard)?;
            add(&mut slice.scope_parts, scope)?;
            if let Some(mixed) = mixed {
                slice.mixed_parts.insert(policy.id().clone(), mixed);
            }
            if effect == Effect::Forbid {
                slice.forbids.insert(policy.id().clone());
            }
        }
        Ok(slice)
    }

    /// What this slice's policies can observe of a question.
    pub(crate) fn observed(&self) -> &Observed {
        &self.observed
    }

    /// Every guard (asked once per question).
    pub(crate) fn guards(&self) -> &PolicySet {
        &self.guards
    }

    /// Every scope part (asked once per scope).
    pub(crate) fn scope_parts(&self) -> &PolicySet {
        &self.scope_parts
    }

    /// The policies whose scope part holds for the scope built from `key`, if known.
    pub(crate) fn scope_held(&self, key: &str) -> Option<Arc<PolicyIds>> {
        let scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        scopes.get(key).cloned()
    }

    pub(crate) fn keep_scope_held(&self, key: String, held: Arc<PolicyIds>) {
        let mut scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        if scopes.len() >= SCOPES_KEPT {
            scopes.clear();
        }
        scopes.insert(key, held);
    }

    /// The policies whose guard and scope part both hold, as (those with a mixed part still
    /// to ask, those satisfied already).
    pub(crate) fn in_play(
        &self,
        guards_held: &PolicyIds,
        scope_held: &PolicyIds,
    ) -> (PolicyIds, PolicyIds) {
        guards_held
            .intersection(scope_held)
            .cloned()
            .partition(|id| self.mixed_parts.contains_key(id))
    }

    pub(crate) fn is_forbid(&self, id: &PolicyId) -> bool {
        self.forbids.contains(id)
    }

    /// The mixed parts of `ids`, as one set.
    pub(crate) fn mixed_parts(&self, ids: PolicyIds) -> Result<Arc<PolicySet>, PolicyError> {
        let mut sets = self.mixed_sets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = sets.get(&ids) {
            return Ok(set.clone());
        }
        let mut set = PolicySet::new();
        for part in ids.iter().filter_map(|id| self.mixed_parts.get(id)) {
            add(&mut set, part.clone())?;
        }
        let set = Arc::new(set);
        if sets.len() >= MIXED_SETS {
            sets.clear();
        }
        sets.insert(ids, set.clone());
        Ok(set)
    }

    fn forget(&self) {
        self.scopes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.mixed_sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

impl PolicySlices {
    pub(crate) fn new(
        policies: &PolicySet,
        schema: &Schema,
        actions: &[EntityUid],
        principal_types: &[EntityTypeName],
    ) -> Result<PolicySlices, PolicyError> {
        let mut slices = HashMap::new();
        if !has_action_groups(schema)? {
            for action in actions {
                for principal in principal_types {
                    let slice = Slice::new(
                        policies
                            .policies()
                            .filter(|p| applies(p, action, principal)),
                    )?;
                    slices.insert((action.clone(), principal.clone()), slice);
                }
            }
        }
        Ok(PolicySlices {
            slices,
            all: Slice::new(policies.policies())?,
            full: policies.clone(),
        })
    }

    /// The policies that can apply to `action` asked by a principal of type `principal`.
    pub(crate) fn for_request(&self, action: &EntityUid, principal: &EntityTypeName) -> &Slice {
        self.slices
            .get(&(action.clone(), principal.clone()))
            .unwrap_or(&self.all)
    }

    /// Every policy, unsplit.
    pub(crate) fn full(&self) -> &PolicySet {
        &self.full
    }

    /// Forgets every kept scope answer (benchmarks of first questions).
    pub(crate) fn forget(&self) {
        for slice in self.slices.values().chain([&self.all]) {
            slice.forget();
        }
    }
}

fn has_action_groups(schema: &Schema) -> Result<bool, PolicyError> {
    let actions = schema
        .action_entities()
        .map_err(|e| PolicyError::Validation {
            problems: vec![e.to_string()],
        })?;
    Ok(actions.iter().any(|a| {
        actions
            .ancestors(&a.uid())
            .is_some_and(|mut parents| parents.next().is_some())
    }))
}

fn applies(policy: &Policy, action: &EntityUid, principal: &EntityTypeName) -> bool {
    let action_ok = match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(a) => &a == action,
        ActionConstraint::In(list) => list.contains(action),
    };
    let principal_ok = match policy.principal_constraint() {
        PrincipalConstraint::Any | PrincipalConstraint::In(_) => true,
        PrincipalConstraint::Is(t) | PrincipalConstraint::IsIn(t, _) => &t == principal,
        PrincipalConstraint::Eq(uid) => uid.type_name() == principal,
    };
    action_ok && principal_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::Names;
    use crate::loader::load;
    use std::path::Path;
    use std::str::FromStr;

    #[test]
    fn slices_leave_out_only_what_cannot_apply() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cedar");
        let loaded = load(&dir).unwrap();
        let names = Names::new().unwrap();
        let (actions, principals) = names.slice_keys();
        let slices =
            PolicySlices::new(&loaded.policies, &loaded.schema, &actions, &principals).unwrap();
        let ids = |action: &str, principal: &str| {
            let action = EntityUid::from_str(&format!("Glassgate::Action::\"{action}\"")).unwrap();
            let principal = EntityTypeName::from_str(principal).unwrap();
            let mut ids: Vec<String> = slices
                .for_request(&action, &principal)
                .guards()
                .policies()
                .map(|p| p.id().to_string())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(
            ids("token", "Glassgate::Clinician"),
            [
                "clinician-not-active-in-directory",
                "consent-restricts-category",
                "consent-restricts-purpose",
                "consent-restricts-recipient",
                "sign-in",
                "treatment",
            ]
        );
        let exchange = ids("token_exchange", "Glassgate::Client");
        assert!(exchange.contains(&"delegated-exchange".to_owned()));
        assert!(exchange.contains(&"purpose-bound-exchange".to_owned()));
        assert!(!exchange.contains(&"payer-quality-measures".to_owned()));
        assert!(ids("refresh", "Glassgate::Patient").contains(&"purpose-bound-refresh".to_owned()));
    }
}
