//! SMART App Launch 2.x scope types: launch/identity scopes and resource scopes
//! (`patient|user|system/<Resource|*>.<cruds>[?param=value&…]`).

use std::fmt;

/// Whose data a resource scope reaches: the launch patient's, whatever the user may see, or
/// whatever the backend client may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Audience {
    Patient,
    User,
    System,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::User => "user",
            Self::System => "system",
        }
    }
}

/// A FHIR resource type, or `*` for all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Any,
    Named(String),
}

impl ResourceType {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Any => "*",
            Self::Named(name) => name,
        }
    }

    /// True when `self` is `other` or `other` is `*`.
    pub fn is_within(&self, other: &ResourceType) -> bool {
        matches!(other, Self::Any) || self == other
    }
}

/// SMART v2 permissions, a subset of `c r u d s` (create, read, update, delete, search).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permissions(u8);

impl Permissions {
    pub const CREATE: Permissions = Permissions(1);
    pub const READ: Permissions = Permissions(2);
    pub const UPDATE: Permissions = Permissions(4);
    pub const DELETE: Permissions = Permissions(8);
    pub const SEARCH: Permissions = Permissions(16);
    /// `.rs`: what SMART v1 `.read` means.
    pub const READ_SEARCH: Permissions = Permissions(2 | 16);
    /// `.cud`: what SMART v1 `.write` means.
    pub const WRITE: Permissions = Permissions(1 | 4 | 8);
    /// `.cruds`: what SMART v1 `.*` means.
    pub const ALL: Permissions = Permissions(31);
    /// The letters in their required order.
    pub(crate) const LETTERS: [(char, Permissions); 5] = [
        ('c', Self::CREATE),
        ('r', Self::READ),
        ('u', Self::UPDATE),
        ('d', Self::DELETE),
        ('s', Self::SEARCH),
    ];

    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    pub(crate) const fn from_bits(bits: u8) -> Permissions {
        Permissions(bits & 31)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn intersection(self, other: Permissions) -> Permissions {
        Permissions(self.0 & other.0)
    }

    /// Read and/or search only.
    pub fn is_read_only(self) -> bool {
        !self.is_empty() && Self::READ_SEARCH.contains(self)
    }

    /// The single-permission parts of this set.
    pub fn each(self) -> impl Iterator<Item = Permissions> {
        Self::LETTERS
            .into_iter()
            .map(|(_, p)| p)
            .filter(move |p| self.contains(*p))
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (letter, p) in Self::LETTERS {
            if self.contains(p) {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// A resource scope. Fine-grained parameters are kept sorted, so equal scopes compare equal
/// whatever order the client wrote them in; several parameters narrow together (AND).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceScope {
    pub audience: Audience,
    pub resource_type: ResourceType,
    pub permissions: Permissions,
    params: Vec<(String, String)>,
}

impl ResourceScope {
    /// A scope without fine-grained parameters.
    pub fn new(
        audience: Audience,
        resource_type: ResourceType,
        permissions: Permissions,
    ) -> ResourceScope {
        ResourceScope {
            audience,
            resource_type,
            permissions,
            params: Vec::new(),
        }
    }

    /// Adds a fine-grained parameter (`name=value`), keeping the set sorted and unique.
    pub fn with_param(mut self, name: &str, value: &str) -> ResourceScope {
        let pair = (name.to_owned(), value.to_owned());
        if let Err(at) = self.params.binary_search(&pair) {
            self.params.insert(at, pair);
        }
        self
    }

    /// The same scope with other permissions.
    pub fn with_permissions(&self, permissions: Permissions) -> ResourceScope {
        ResourceScope {
            permissions,
            ..self.clone()
        }
    }

    /// Fine-grained parameters, sorted.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    pub fn has_param(&self, name: &str, value: &str) -> bool {
        self.params.iter().any(|(n, v)| n == name && v == value)
    }

    /// Same audience, same or narrower resource, same or narrower filter (`other`'s
    /// parameters all present here), and permissions within `permissions`.
    fn target_within(&self, other: &ResourceScope) -> bool {
        self.audience == other.audience
            && self.resource_type.is_within(&other.resource_type)
            && other.params.iter().all(|p| self.params.contains(p))
    }

    /// True when every access this scope grants is also granted by `other`.
    pub fn is_within(&self, other: &ResourceScope) -> bool {
        self.target_within(other) && other.permissions.contains(self.permissions)
    }

    /// The scope granting what both grant, if anything (same audience required).
    pub fn intersection(&self, other: &ResourceScope) -> Option<ResourceScope> {
        if self.audience != other.audience {
            return None;
        }
        let resource_type = if self.resource_type.is_within(&other.resource_type) {
            self.resource_type.clone()
        } else if other.resource_type.is_within(&self.resource_type) {
            other.resource_type.clone()
        } else {
            return None;
        };
        let permissions = self.permissions.intersection(other.permissions);
        if permissions.is_empty() {
            return None;
        }
        let mut out = ResourceScope::new(self.audience, resource_type, permissions);
        for (n, v) in self.params.iter().chain(other.params.iter()) {
            out = out.with_param(n, v);
        }
        Some(out)
    }

    /// True when the data this scope reaches is reached, letter by letter, by `scopes` taken
    /// together (e.g. `.rs` is covered by `.r` plus `.s`).
    pub fn is_covered_by<'a>(&self, scopes: impl IntoIterator<Item = &'a ResourceScope>) -> bool {
        let mut missing = self.permissions;
        for other in scopes {
            if self.target_within(other) {
                missing = Permissions::from_bits(missing.0 & !other.permissions.0);
            }
        }
        missing.is_empty()
    }
}

impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}.{}",
            self.audience.as_str(),
            self.resource_type.as_str(),
            self.permissions
        )?;
        for (i, (name, value)) in self.params.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{name}={value}")?;
        }
        Ok(())
    }
}

/// Scopes that are not about FHIR data: sign-in, launch context and refresh tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityScope {
    OpenId,
    FhirUser,
    Profile,
    Launch,
    LaunchPatient,
    LaunchEncounter,
    OfflineAccess,
    OnlineAccess,
    /// UDAP Tiered OAuth: the data holder asks the identity provider for a UDAP login.
    Udap,
}

impl IdentityScope {
    pub const ALL: [IdentityScope; 9] = [
        Self::OpenId,
        Self::FhirUser,
        Self::Profile,
        Self::Launch,
        Self::LaunchPatient,
        Self::LaunchEncounter,
        Self::OfflineAccess,
        Self::OnlineAccess,
        Self::Udap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenId => "openid",
            Self::FhirUser => "fhirUser",
            Self::Profile => "profile",
            Self::Launch => "launch",
            Self::LaunchPatient => "launch/patient",
            Self::LaunchEncounter => "launch/encounter",
            Self::OfflineAccess => "offline_access",
            Self::OnlineAccess => "online_access",
            Self::Udap => "udap",
        }
    }

    pub fn from_str_exact(s: &str) -> Option<IdentityScope> {
        Self::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

/// One SMART scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SmartScope {
    Identity(IdentityScope),
    Resource(ResourceScope),
}

impl fmt::Display for SmartScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Identity(i) => f.write_str(i.as_str()),
            Self::Resource(r) => r.fmt(f),
        }
    }
}
