//! Scope strings (RFC 6749 §3.3): space-separated, each token of NQCHARs, at most once.

use std::collections::BTreeSet;

use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::store::model::ClientRecord;

/// Parse and check a requested scope against what the client registered (when it did).
pub fn resolve(requested: Option<&str>, client: &ClientRecord) -> OAuthResult<String> {
    let allowed: Option<BTreeSet<&str>> = client
        .scope
        .as_deref()
        .map(|s| s.split(' ').filter(|t| !t.is_empty()).collect());
    let Some(requested) = requested else {
        return Ok(client.scope.clone().unwrap_or_default());
    };
    let mut seen = BTreeSet::new();
    let mut ordered = Vec::new();
    for token in requested.split(' ').filter(|t| !t.is_empty()) {
        if !token
            .chars()
            .all(|c| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c))
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope contains invalid characters",
            ));
        }
        if let Some(allowed) = &allowed
            && !allowed.contains(token)
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("scope {token} is not registered for this client"),
            ));
        }
        if seen.insert(token) {
            ordered.push(token);
        }
    }
    Ok(ordered.join(" "))
}

/// Narrowing on refresh: every requested scope must already be granted.
pub fn narrow(requested: Option<&str>, granted: &str) -> OAuthResult<String> {
    let Some(requested) = requested else {
        return Ok(granted.to_owned());
    };
    let granted: BTreeSet<&str> = granted.split(' ').collect();
    let mut out = Vec::new();
    for token in requested.split(' ').filter(|t| !t.is_empty()) {
        if !granted.contains(token) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("scope {token} exceeds the original grant"),
            ));
        }
        if !out.contains(&token) {
            out.push(token);
        }
    }
    Ok(out.join(" "))
}

pub fn contains(scope: &str, token: &str) -> bool {
    scope.split(' ').any(|t| t == token)
}
