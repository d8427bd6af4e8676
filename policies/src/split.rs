//! Each policy split in three, by what its conjuncts read: its *question guard* (not the
//! resource: the person, the client, the purpose, the consent, the action), its *scope
//! part* (the resource and nothing else) and its *mixed part* (the resource and something
//! else, e.g. a claim date against the clock).
//!
//! A decision asks Cedar once per candidate scope, and Cedar evaluates every policy whole
//! each time, although only the scope changes between those requests, and the scope parts
//! depend on nothing but the scope. Split, the guards are asked once per question, the
//! scope parts once per scope (and kept: the same scopes are asked about all day long), and
//! per candidate Cedar only meets the mixed parts of the policies still in play, if any.
//!
//! Why it decides the same: a policy is satisfied when every conjunct of its scope and
//! conditions evaluates to `true` (a `false` or an error in any one leaves it unsatisfied,
//! whatever the order), and conjuncts have no side effects. So a policy is satisfied
//! exactly when its three parts are, each being the conjunction of its share of the
//! conjuncts. Every part is written as a `permit` with the policy's id and annotations, so
//! the permits Cedar reports as satisfied are exactly the parts that hold; the engine then
//! combines as Cedar does (a satisfied forbid denies; else a satisfied permit allows).
//! `PolicyEngine::decide_unsplit` is the unsplit reference; the policy tests compare the
//! two on every case.

use crate::error::PolicyError;
use cedar_policy::{Effect, Policy};
use serde_json::{Value, json};

/// The type every resource has: the engine only ever asks about scopes.
const SCOPE_TYPE: &str = "Glassgate::Scope";

/// One policy, split; each part a `permit` with the policy's id.
pub(crate) struct Split {
    pub effect: Effect,
    pub guard: Policy,
    pub scope: Policy,
    /// `None` when no conjunct reads both the resource and something else.
    pub mixed: Option<Policy>,
}

/// `policy`, split.
pub(crate) fn split(policy: &Policy) -> Result<Split, PolicyError> {
    let problem = |e: String| PolicyError::Validation {
        problems: vec![format!("policy {}: cannot be split: {e}", policy.id())],
    };
    let est = policy.to_json().map_err(|e| problem(e.to_string()))?;
    let (mut guard_conjuncts, mut scope_conjuncts, mut mixed_conjuncts) =
        (Vec::new(), Vec::new(), Vec::new());
    for conjunct in conjuncts(&est).map_err(problem)? {
        let others = ["principal", "action", "context"]
            .iter()
            .any(|v| reads(&conjunct, v));
        match (reads(&conjunct, "resource"), others) {
            (false, _) => guard_conjuncts.push(conjunct),
            (true, false) => scope_conjuncts.push(conjunct),
            (true, true) => mixed_conjuncts.push(conjunct),
        }
    }

    let any = json!({ "op": "All" });
    let part = |conjuncts: Vec<Value>, head: [(&str, &Value); 3]| {
        let mut part = est.clone();
        part["effect"] = json!("permit");
        for (member, constraint) in head {
            part[member] = constraint.clone();
        }
        part["conditions"] = when_all(conjuncts);
        Policy::from_json(Some(policy.id().clone()), part).map_err(|e| problem(e.to_string()))
    };
    // The resource constraint reads only the resource; `is Scope` always holds.
    let resource = if est["resource"] == json!({ "op": "is", "entity_type": SCOPE_TYPE }) {
        any.clone()
    } else {
        est["resource"].clone()
    };
    let guard = part(
        guard_conjuncts,
        [
            ("principal", &est["principal"]),
            ("action", &est["action"]),
            ("resource", &any),
        ],
    )?;
    let scope = part(
        scope_conjuncts,
        [
            ("principal", &any),
            ("action", &any),
            ("resource", &resource),
        ],
    )?;
    let mixed = if mixed_conjuncts.is_empty() {
        None
    } else {
        Some(part(
            mixed_conjuncts,
            [("principal", &any), ("action", &any), ("resource", &any)],
        )?)
    };
    Ok(Split {
        effect: policy.effect(),
        guard,
        scope,
        mixed,
    })
}

/// The conjuncts of the policy's conditions: each `when` body flattened over `&&`, each
/// `unless` body negated whole.
fn conjuncts(est: &Value) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let conditions = match est.get("conditions") {
        None => return Ok(out),
        Some(Value::Array(c)) => c,
        Some(_) => return Err("conditions are not a list".to_owned()),
    };
    for condition in conditions {
        let body = condition.get("body").ok_or("a condition has no body")?;
        match condition.get("kind").and_then(Value::as_str) {
            Some("when") => flatten_and(body, &mut out),
            Some("unless") => out.push(json!({ "!": { "arg": body } })),
            _ => return Err("a condition is neither `when` nor `unless`".to_owned()),
        }
    }
    Ok(out)
}

fn flatten_and(expr: &Value, out: &mut Vec<Value>) {
    match expr.get("&&") {
        Some(and) if and.get("left").is_some() && and.get("right").is_some() => {
            flatten_and(&and["left"], out);
            flatten_and(&and["right"], out);
        }
        _ => out.push(expr.clone()),
    }
}

/// Whether the expression mentions the variable anywhere.
fn reads(expr: &Value, variable: &str) -> bool {
    match expr {
        Value::Object(members) => members
            .iter()
            .any(|(k, v)| (k == "Var" && v == variable) || reads(v, variable)),
        Value::Array(items) => items.iter().any(|item| reads(item, variable)),
        _ => false,
    }
}

/// One `when` clause with the conjuncts in order, or no condition at all.
fn when_all(conjuncts: Vec<Value>) -> Value {
    let body = conjuncts
        .into_iter()
        .reduce(|left, right| json!({ "&&": { "left": left, "right": right } }));
    match body {
        None => json!([]),
        Some(body) => json!([{ "kind": "when", "body": body }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_policy::PolicyId;

    fn policy(src: &str) -> Policy {
        Policy::parse(Some(PolicyId::new("p")), src).unwrap()
    }

    #[test]
    fn conjuncts_go_where_what_they_read_says() {
        let split = split(&policy(
            r#"@reason("x") forbid (principal is A, action in [Action::"a", Action::"b"], resource is Glassgate::Scope)
               when { principal.ok && resource.kind == "data" && context.n > 1 && resource.n < context.now }
               unless { resource.read_only };"#,
        ))
        .unwrap();
        assert_eq!(split.effect, Effect::Forbid);
        let text = |p: &Policy| {
            p.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let guard = text(&split.guard);
        let scope = text(&split.scope);
        let mixed = text(&split.mixed.unwrap());
        assert_eq!(
            guard,
            r#"@reason("x") permit(principal is A, action in [Action::"a", Action::"b"], resource) when { principal.ok && (context.n > 1) };"#
        );
        assert_eq!(
            scope,
            r#"@reason("x") permit(principal, action, resource) when { (resource.kind == "data") && (!resource.read_only) };"#
        );
        assert_eq!(
            mixed,
            r#"@reason("x") permit(principal, action, resource) when { resource.n < context.now };"#
        );
    }

    #[test]
    fn a_policy_without_conditions_splits_into_heads() {
        let split = split(&policy(
            r#"permit (principal == A::"x", action, resource == Glassgate::Scope::"s");"#,
        ))
        .unwrap();
        assert_eq!(
            split.guard.to_string().trim(),
            r#"permit(principal == A::"x", action, resource);"#
        );
        assert_eq!(
            split.scope.to_string().trim(),
            r#"permit(principal, action, resource == Glassgate::Scope::"s");"#
        );
        assert!(split.mixed.is_none());
    }
}
