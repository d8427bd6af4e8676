//! The SMART scope grammar: v2 (`.cruds` letters in order, optional `?name=value&…`) and v1
//! (`.read` → `.rs`, `.write` → `.cud`, `.*` → `.cruds`), plus the identity scopes.

use super::smart::{Audience, IdentityScope, Permissions, ResourceScope, ResourceType, SmartScope};
use std::str::FromStr;

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("unknown scope {0:?}")]
    Unknown(String),
    #[error("scope {scope:?}: unknown audience {audience:?} (patient, user or system)")]
    Audience { scope: String, audience: String },
    #[error("scope {scope:?}: {resource:?} is not a FHIR resource type or *")]
    ResourceType { scope: String, resource: String },
    #[error("scope {scope:?}: permissions {permissions:?} are not c, r, u, d, s in that order")]
    Permissions { scope: String, permissions: String },
    #[error("scope {scope:?}: malformed parameter {param:?} (expected name=value)")]
    Parameter { scope: String, param: String },
    #[error("the scope string is empty")]
    Empty,
}

impl FromStr for SmartScope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ScopeError::Empty);
        }
        if let Some(identity) = IdentityScope::from_str_exact(s) {
            return Ok(SmartScope::Identity(identity));
        }
        let Some((audience, rest)) = s.split_once('/') else {
            return Err(ScopeError::Unknown(s.to_owned()));
        };
        let audience = match audience {
            "patient" => Audience::Patient,
            "user" => Audience::User,
            "system" => Audience::System,
            "launch" => return Err(ScopeError::Unknown(s.to_owned())),
            other => {
                return Err(ScopeError::Audience {
                    scope: s.to_owned(),
                    audience: other.to_owned(),
                });
            }
        };
        let (target, query) = match rest.split_once('?') {
            Some((t, q)) => (t, Some(q)),
            None => (rest, None),
        };
        let Some((resource, permissions)) = target.split_once('.') else {
            return Err(ScopeError::Permissions {
                scope: s.to_owned(),
                permissions: String::new(),
            });
        };
        let resource_type = parse_resource_type(s, resource)?;
        let permissions = parse_permissions(s, permissions)?;
        let mut scope = ResourceScope::new(audience, resource_type, permissions);
        if let Some(query) = query {
            for param in query.split('&') {
                let bad = || ScopeError::Parameter {
                    scope: s.to_owned(),
                    param: param.to_owned(),
                };
                let (name, value) = param.split_once('=').ok_or_else(bad)?;
                let name_ok = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'));
                let value_ok = !value.is_empty() && !value.chars().any(char::is_whitespace);
                if !name_ok || !value_ok {
                    return Err(bad());
                }
                scope = scope.with_param(name, value);
            }
        }
        Ok(SmartScope::Resource(scope))
    }
}

fn parse_resource_type(scope: &str, resource: &str) -> Result<ResourceType, ScopeError> {
    if resource == "*" {
        return Ok(ResourceType::Any);
    }
    let mut chars = resource.chars();
    let starts_upper = chars.next().is_some_and(|c| c.is_ascii_uppercase());
    if starts_upper && chars.all(|c| c.is_ascii_alphanumeric()) {
        Ok(ResourceType::Named(resource.to_owned()))
    } else {
        Err(ScopeError::ResourceType {
            scope: scope.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

fn parse_permissions(scope: &str, text: &str) -> Result<Permissions, ScopeError> {
    let bad = || ScopeError::Permissions {
        scope: scope.to_owned(),
        permissions: text.to_owned(),
    };
    match text {
        "read" => return Ok(Permissions::READ_SEARCH),
        "write" => return Ok(Permissions::WRITE),
        "*" => return Ok(Permissions::ALL),
        _ => {}
    }
    let mut bits = 0u8;
    let mut next = 0usize;
    for c in text.chars() {
        let at = Permissions::LETTERS[next..]
            .iter()
            .position(|(letter, _)| *letter == c)
            .ok_or_else(bad)?;
        let (_, p) = Permissions::LETTERS[next + at];
        bits |= p.bits();
        next += at + 1;
    }
    let permissions = Permissions::from_bits(bits);
    if permissions.is_empty() {
        return Err(bad());
    }
    Ok(permissions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> SmartScope {
        s.parse().unwrap()
    }

    #[test]
    fn v2_scopes_round_trip() {
        for s in [
            "patient/Observation.rs",
            "user/*.cruds",
            "system/Encounter.r",
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        ] {
            assert_eq!(parse(s).to_string(), s);
        }
    }

    #[test]
    fn v1_scopes_map_to_v2() {
        assert_eq!(
            parse("patient/Observation.read").to_string(),
            "patient/Observation.rs"
        );
        assert_eq!(parse("user/*.write").to_string(), "user/*.cud");
        assert_eq!(parse("system/*.*").to_string(), "system/*.cruds");
    }

    #[test]
    fn identity_scopes() {
        for s in [
            "openid",
            "fhirUser",
            "profile",
            "launch",
            "launch/patient",
            "launch/encounter",
            "offline_access",
            "online_access",
        ] {
            assert!(matches!(parse(s), SmartScope::Identity(_)), "{s}");
            assert_eq!(parse(s).to_string(), s);
        }
    }

    #[test]
    fn malformed_scopes_are_refused_specifically() {
        let err = |s: &str| s.parse::<SmartScope>().unwrap_err();
        assert!(matches!(
            err("patient/Observation.sr"),
            ScopeError::Permissions { .. }
        ));
        assert!(matches!(
            err("patient/Observation.rr"),
            ScopeError::Permissions { .. }
        ));
        assert!(matches!(
            err("patient/Observation."),
            ScopeError::Permissions { .. }
        ));
        assert!(matches!(
            err("patient/Observation"),
            ScopeError::Permissions { .. }
        ));
        assert!(matches!(
            err("patient/observation.rs"),
            ScopeError::ResourceType { .. }
        ));
        assert!(matches!(
            err("group/Observation.rs"),
            ScopeError::Audience { .. }
        ));
        assert!(matches!(
            err("patient/Observation.rs?code"),
            ScopeError::Parameter { .. }
        ));
        assert!(matches!(
            err("patient/Observation.rs?=x"),
            ScopeError::Parameter { .. }
        ));
        assert!(matches!(err("launch/practitioner"), ScopeError::Unknown(_)));
        assert!(matches!(err("email"), ScopeError::Unknown(_)));
        assert!(matches!(err(""), ScopeError::Empty));
    }

    #[test]
    fn params_are_canonically_ordered() {
        assert_eq!(
            parse("patient/Observation.rs?status=final&category=x"),
            parse("patient/Observation.rs?category=x&status=final")
        );
    }
}
