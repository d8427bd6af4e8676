//! Policy slices: for each (action, principal type) the subset of policies whose scope can
//! match it. Cedar evaluates every policy of the set it is given, so asking with the slice
//! instead of the whole set does the same work minus the policies that cannot apply.
//!
//! A policy is left out of a slice only when its scope rules it out for certain: an action
//! constraint that does not name the action (sound because the schema has no action groups;
//! with action groups slicing is switched off), or a principal `is`/`==` of another type.

use crate::error::PolicyError;
use cedar_policy::{
    ActionConstraint, EntityTypeName, EntityUid, Policy, PolicySet, PrincipalConstraint, Schema,
};
use std::collections::HashMap;

pub(crate) struct PolicySlices {
    slices: HashMap<(EntityUid, EntityTypeName), PolicySet>,
    full: PolicySet,
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
                    let mut slice = PolicySet::new();
                    for policy in policies
                        .policies()
                        .filter(|p| applies(p, action, principal))
                    {
                        slice
                            .add(policy.clone())
                            .map_err(|e| PolicyError::Validation {
                                problems: vec![e.to_string()],
                            })?;
                    }
                    slices.insert((action.clone(), principal.clone()), slice);
                }
            }
        }
        Ok(PolicySlices {
            slices,
            full: policies.clone(),
        })
    }

    /// The policies that can apply to `action` asked by `principal`.
    pub(crate) fn for_request(&self, action: &EntityUid, principal: &EntityUid) -> &PolicySet {
        self.slices
            .get(&(action.clone(), principal.type_name().clone()))
            .unwrap_or(&self.full)
    }

    /// Every policy.
    pub(crate) fn full(&self) -> &PolicySet {
        &self.full
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
            let principal = EntityUid::from_str(&format!("{principal}::\"x\"")).unwrap();
            let mut ids: Vec<String> = slices
                .for_request(&action, &principal)
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
