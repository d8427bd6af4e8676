//! SMART App Launch 2.x scopes: grammar ([`parse`]), types ([`smart`]) and scope sets with
//! the "same or narrower" test used for delegation and refresh.

pub mod parse;
pub mod smart;

pub use parse::ScopeError;
pub use smart::{Audience, IdentityScope, Permissions, ResourceScope, ResourceType, SmartScope};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A set of scopes, in canonical (sorted, de-duplicated) order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet {
    scopes: Vec<SmartScope>,
}

impl ScopeSet {
    /// Parses a space-separated OAuth `scope` string. Every scope must parse; an empty string
    /// is an empty set.
    pub fn parse(text: &str) -> Result<ScopeSet, ScopeError> {
        text.split(' ')
            .filter(|s| !s.is_empty())
            .map(SmartScope::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(ScopeSet::from_scopes)
    }

    pub fn from_scopes(scopes: impl IntoIterator<Item = SmartScope>) -> ScopeSet {
        let mut scopes: Vec<SmartScope> = scopes.into_iter().collect();
        scopes.sort();
        scopes.dedup();
        ScopeSet { scopes }
    }

    pub fn iter(&self) -> impl Iterator<Item = &SmartScope> {
        self.scopes.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    pub fn contains(&self, scope: &SmartScope) -> bool {
        self.scopes.binary_search(scope).is_ok()
    }

    pub fn identity_scopes(&self) -> impl Iterator<Item = IdentityScope> + '_ {
        self.scopes.iter().filter_map(|s| match s {
            SmartScope::Identity(i) => Some(*i),
            SmartScope::Resource(_) => None,
        })
    }

    pub fn resource_scopes(&self) -> impl Iterator<Item = &ResourceScope> {
        self.scopes.iter().filter_map(|s| match s {
            SmartScope::Resource(r) => Some(r),
            SmartScope::Identity(_) => None,
        })
    }

    /// True when `self` grants nothing that `other` does not: every identity scope is in
    /// `other`, and every resource scope is covered, permission by permission, by `other`'s
    /// resource scopes. Used to check that a refreshed or exchanged token does not widen.
    pub fn is_same_or_narrower_than(&self, other: &ScopeSet) -> bool {
        self.scopes.iter().all(|s| other.covers(s))
    }

    /// True when `scope` grants nothing beyond this set.
    pub fn covers(&self, scope: &SmartScope) -> bool {
        match scope {
            SmartScope::Identity(_) => self.contains(scope),
            SmartScope::Resource(r) => r.is_covered_by(self.resource_scopes()),
        }
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.scopes.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            s.fmt(f)?;
        }
        Ok(())
    }
}

impl FromStr for ScopeSet {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScopeSet::parse(s)
    }
}

impl FromIterator<SmartScope> for ScopeSet {
    fn from_iter<T: IntoIterator<Item = SmartScope>>(iter: T) -> Self {
        ScopeSet::from_scopes(iter)
    }
}

/// Serialised as the OAuth space-separated string.
impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ScopeSet::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn narrower_or_equal() {
        let broad = set("openid fhirUser user/*.rs");
        assert!(set("user/Observation.rs").is_same_or_narrower_than(&broad));
        assert!(set("openid user/*.r").is_same_or_narrower_than(&broad));
        assert!(set("user/Observation.rs?category=laboratory").is_same_or_narrower_than(&broad));
        assert!(broad.is_same_or_narrower_than(&broad));
        assert!(!set("user/*.rs offline_access").is_same_or_narrower_than(&broad));
        assert!(!set("user/*.cruds").is_same_or_narrower_than(&broad));
        assert!(!set("patient/*.rs").is_same_or_narrower_than(&broad));
        assert!(!broad.is_same_or_narrower_than(&set("user/Observation.rs")));
    }

    #[test]
    fn filters_narrow_and_letters_combine() {
        let filtered = set("patient/Observation.rs?category=laboratory");
        assert!(!set("patient/Observation.rs").is_same_or_narrower_than(&filtered));
        assert!(
            set("patient/Observation.rs")
                .is_same_or_narrower_than(&set("patient/Observation.r patient/*.s"))
        );
    }

    #[test]
    fn intersection_is_within_both() {
        let a: ResourceScope = match "user/*.cruds".parse().unwrap() {
            SmartScope::Resource(r) => r,
            SmartScope::Identity(_) => unreachable!(),
        };
        let b = match "user/Observation.rs?category=laboratory".parse().unwrap() {
            SmartScope::Resource(r) => r,
            SmartScope::Identity(_) => unreachable!(),
        };
        let i = a.intersection(&b).unwrap();
        assert!(i.is_within(&a) && i.is_within(&b));
        assert_eq!(i, b);
    }

    #[test]
    fn serde_as_space_separated_string() {
        let s = set("patient/Observation.read openid");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"openid patient/Observation.rs\"");
        assert_eq!(serde_json::from_str::<ScopeSet>(&json).unwrap(), s);
    }
}
