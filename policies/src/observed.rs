//! What the policies of a slice can observe of a question, found at load time, so that the
//! decision memo keys a question by that alone (see [`crate::memo`]).
//!
//! Cedar sees an entity's identifier only through comparisons (`==`, `in`) with a literal or
//! with another entity. Rename the identifiers of one entity type consistently (equal ones
//! stay equal, distinct ones distinct) and policies that name no entity of that type
//! literally decide the same. Likewise an entity attribute or a context member that no policy
//! reads (`.npi`, `has npi`) cannot change a decision. So the memo key numbers those
//! identifiers in order of first appearance and leaves out what is not read: a clinician's
//! requests through a hundred clients of one organisation, each about another patient, are
//! one question when no policy of the clinician's slice reads the patient context.
//!
//! The question's identifier strings (a patient's id, the patient context, an NPI) are
//! renamed the same way, in one namespace, when every policy only compares them with each
//! other (`context.patient_context == principal.patient_id`): a thousand patients asking for
//! their own records are then one question too.

use crate::error::PolicyError;
use crate::request::{AccessRequest, Organisation, Person, Stage};
use cedar_policy::Policy;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The entity types whose identifiers the question carries (the others are fixed by the
/// engine or named by the policies: purposes, data categories, actions).
const CLIENT: &str = "Glassgate::Client";
const ORGANISATION: &str = "Glassgate::Organisation";
const PATIENT: &str = "Glassgate::Patient";
const CLINICIAN: &str = "Glassgate::Clinician";
const BAA: &str = "Glassgate::Baa";
/// The namespace of identifier strings (never an entity type name).
const IDENTIFIER: &str = "identifier";
/// The attributes that hold identifier strings.
const IDENTIFIER_ATTRIBUTES: [&str; 3] = ["patient_id", "patient_context", "npi"];

/// What a set of policies can observe.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// Entity types some policy names by a literal.
    named_types: HashSet<String>,
    /// Attribute names some policy reads (`.a`, `["a"]`, `has a`), of any entity or record.
    attributes: HashSet<String>,
    /// Whether some policy uses `context` other than by reading one member.
    context_whole: bool,
    /// Whether some policy uses an identifier string other than by testing for it or
    /// comparing it with another (a literal, `like`, a function).
    identifiers_inspected: bool,
}

impl Observed {
    /// What `policies` can observe.
    pub(crate) fn of<'a>(
        policies: impl Iterator<Item = &'a Policy>,
    ) -> Result<Observed, PolicyError> {
        let mut observed = Observed::default();
        for policy in policies {
            observed.named_types.extend(
                policy
                    .entity_literals()
                    .iter()
                    .map(|uid| uid.type_name().to_string()),
            );
            let est = policy.to_json().map_err(|e| PolicyError::Validation {
                problems: vec![format!("policy {}: {e}", policy.id())],
            })?;
            observed.walk(&est);
            observed.identifiers_inspected |= inspects_identifiers(&est);
        }
        Ok(observed)
    }

    fn walk(&mut self, expr: &Value) {
        match expr {
            Value::Object(members) => {
                for (key, value) in members {
                    match (key.as_str(), value) {
                        ("." | "has", Value::Object(access)) => {
                            if let Some(Value::String(attr)) = access.get("attr") {
                                self.attributes.insert(attr.clone());
                            }
                            match access.get("left") {
                                Some(left) if is_context(left) => {}
                                Some(left) => self.walk(left),
                                None => {}
                            }
                        }
                        ("Var", Value::String(var)) if var == "context" => {
                            self.context_whole = true;
                        }
                        _ => self.walk(value),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.walk(item)),
            _ => {}
        }
    }

    fn reads(&self, attribute: &str) -> bool {
        self.attributes.contains(attribute)
    }

    fn reads_context(&self, member: &str) -> bool {
        self.context_whole || self.reads(member)
    }

    /// `request` as these policies see it: identifiers of unnamed types numbered in order of
    /// first appearance, and what no policy reads left out. Equal canonical questions get the
    /// same decision.
    pub(crate) fn canonical(&self, request: &AccessRequest) -> AccessRequest {
        let mut ids = Renaming {
            observed: self,
            seen: HashMap::new(),
        };
        let mut r = request.clone();
        r.client.client_id = ids.rename(CLIENT, &request.client.client_id);
        ids.organisation(&mut r.client.organisation);
        if let Stage::TokenExchange(delegation) = &mut r.stage {
            ids.organisation(&mut delegation.on_behalf_of);
            if let Some(baa) = &mut delegation.baa {
                baa.reference = ids.rename(BAA, &baa.reference);
                baa.covered_entity = ids.rename(ORGANISATION, &baa.covered_entity);
                baa.business_associate = ids.rename(ORGANISATION, &baa.business_associate);
            }
        }
        match &mut r.person {
            Some(Person::Patient(p)) => {
                p.subject = ids.rename(PATIENT, &p.subject);
                p.patient_id = ids.identifier(self.reads("patient_id"), &p.patient_id);
            }
            Some(Person::Clinician(c)) => {
                c.subject = ids.rename(CLINICIAN, &c.subject);
                c.npi = ids.identifier(self.reads("npi"), &c.npi);
            }
            None => {}
        }
        let read = self.reads_context("patient_context");
        r.patient_context = match &r.patient_context {
            Some(patient) if read => Some(ids.identifier(true, patient)),
            _ => None,
        };
        if let Some(consent) = &mut r.consent {
            let mut recipients: Vec<String> = consent
                .recipient_organisations
                .iter()
                .map(|o| ids.rename(ORGANISATION, o))
                .collect();
            recipients.sort_unstable();
            consent.recipient_organisations = recipients;
        }
        r
    }
}

fn is_context(expr: &Value) -> bool {
    expr.get("Var").and_then(Value::as_str) == Some("context")
}

/// Whether `expr` reads an identifier attribute (`x.npi`).
fn is_identifier(expr: &Value) -> bool {
    expr.get(".")
        .and_then(|access| access.get("attr"))
        .and_then(Value::as_str)
        .is_some_and(|attr| IDENTIFIER_ATTRIBUTES.contains(&attr))
}

/// Whether `expr` uses an identifier attribute's value other than in `==`/`!=` with another
/// identifier attribute.
fn inspects_identifiers(expr: &Value) -> bool {
    match expr {
        Value::Object(members) => members.iter().any(|(key, value)| {
            let compared = matches!(key.as_str(), "==" | "!=")
                && value
                    .get("left")
                    .zip(value.get("right"))
                    .is_some_and(|(l, r)| is_identifier(l) && is_identifier(r));
            if compared {
                // Both sides are identifier reads; what they are read from still counts.
                let from = |side: &str| value[side]["."]["left"].clone();
                inspects_identifiers(&from("left")) || inspects_identifiers(&from("right"))
            } else {
                (key == "." && is_identifier(expr)) || inspects_identifiers(value)
            }
        }),
        Value::Array(items) => items.iter().any(inspects_identifiers),
        _ => false,
    }
}

/// Consistent renaming of one question's identifiers, per entity type.
struct Renaming<'a> {
    observed: &'a Observed,
    seen: HashMap<(&'static str, String), usize>,
}

impl Renaming<'_> {
    fn rename(&mut self, entity_type: &'static str, id: &str) -> String {
        if self.observed.named_types.contains(entity_type) {
            return id.to_owned();
        }
        let next = self.seen.len();
        let n = *self
            .seen
            .entry((entity_type, id.to_owned()))
            .or_insert(next);
        format!("#{n}")
    }

    /// An identifier string as the policies see it: left out when not read, numbered when
    /// only compared with other identifiers.
    fn identifier(&mut self, read: bool, value: &str) -> String {
        if !read {
            String::new()
        } else if self.observed.identifiers_inspected {
            value.to_owned()
        } else {
            self.rename(IDENTIFIER, value)
        }
    }

    fn organisation(&mut self, organisation: &mut Organisation) {
        organisation.id = self.rename(ORGANISATION, &organisation.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_policy::PolicyId;

    fn observed(src: &str) -> Observed {
        let policy = Policy::parse(Some(PolicyId::new("p")), src).unwrap();
        Observed::of([&policy].into_iter()).unwrap()
    }

    #[test]
    fn attributes_read_and_types_named_are_found() {
        let o = observed(
            r#"permit (principal == Glassgate::Client::"c", action, resource)
               when { principal.organisation.kind == "payer" && context has consent &&
                      resource["read_only"] };"#,
        );
        assert!(o.named_types.contains(CLIENT));
        assert!(!o.named_types.contains(ORGANISATION));
        for attr in ["organisation", "kind", "consent", "read_only"] {
            assert!(o.reads(attr), "{attr}");
        }
        assert!(!o.reads("npi"));
        assert!(!o.context_whole);
    }

    #[test]
    fn identifiers_compared_with_each_other_are_not_inspected() {
        let compared = observed(
            r#"permit (principal is Glassgate::Patient, action, resource)
               when { context has patient_context && context.patient_context == principal.patient_id };"#,
        );
        assert!(!compared.identifiers_inspected);
        for inspecting in [
            r#"permit (principal, action, resource) when { principal.npi == "1234567893" };"#,
            r#"permit (principal, action, resource) when { principal.npi like "12*" };"#,
            r#"permit (principal, action, resource) when { principal.patient_id != context.x };"#,
        ] {
            assert!(observed(inspecting).identifiers_inspected, "{inspecting}");
        }
    }

    #[test]
    fn context_used_whole_reads_every_member() {
        let o = observed(r#"permit (principal, action, resource) when { context == {} };"#);
        assert!(o.context_whole);
        assert!(o.reads_context("patient_context"));
    }
}
