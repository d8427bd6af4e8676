//! Clinicians are checked against the provider directory at every token issuance: a
//! clinician's token is issued only while the current NPD release says they are an active
//! individual provider (CMS Interoperability Framework: "validated as an active provider in
//! the CMS National Provider Directory"). Fails closed: no directory, no clinician token.

use crate::app::AppState;
use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::store::accounts::AccountKind;

/// What the directory said about an active clinician, for the token and its log entry.
#[derive(Debug, Clone)]
pub struct ActiveClinician {
    pub npi: String,
    /// The NPD release the answer came from.
    pub release: Option<String>,
    /// The clinician's NPD Practitioner URL (`fhirUser`).
    pub fhir_user: Option<String>,
}

/// What issuance needs to know of the person a token is for.
#[derive(Debug, Clone, Default)]
pub struct Person {
    /// The directory's answer, for clinicians.
    pub clinician: Option<ActiveClinician>,
    /// `verified_claims` (OpenID Connect for Identity Assurance) once the person is proofed at IAL2.
    pub verified_claims: Option<serde_json::Value>,
}

/// The person behind `subject` (nothing for machine clients): for clinicians the directory's
/// answer, or `access_denied` naming the reason class when they are not active.
pub async fn check(state: &AppState, subject: &str) -> OAuthResult<Person> {
    let account = state
        .store
        .accounts
        .account(subject)
        .await
        .map_err(OAuthError::server_error)?;
    let Some(account) = account else {
        return Ok(Person::default());
    };
    let verified_claims = account.verified_claims.clone();
    let clinician = match account.kind {
        AccountKind::Clinician => Some(active_clinician(state, account.npi).await?),
        _ => None,
    };
    Ok(Person {
        clinician,
        verified_claims,
    })
}

async fn active_clinician(state: &AppState, npi: Option<String>) -> OAuthResult<ActiveClinician> {
    let Some(npi) = npi else {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "clinician_not_active (no_npi): the clinician account has no NPI",
        ));
    };
    let answer = state
        .clinicians
        .check(&npi)
        .await
        .map_err(OAuthError::server_error)?;
    if !answer.active {
        let (class, description) = answer
            .reason
            .map(|r| (r.as_str(), r.description()))
            .unwrap_or((
                "unknown",
                "the provider directory did not confirm the clinician",
            ));
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            format!("clinician_not_active ({class}): {description}"),
        ));
    }
    Ok(ActiveClinician {
        npi,
        release: answer.release.map(|r| r.to_string()),
        fhir_user: answer.fhir_user.map(|u| u.to_string()),
    })
}

/// The `verified_claims` a client sees: the verification always (it states IAL2), the
/// verified names and birth date only with the `profile` scope.
pub fn verified_claims_for(
    scope: &str,
    verified: Option<&serde_json::Value>,
) -> Option<serde_json::Value> {
    let verified = verified?;
    if super::scope::contains(scope, "profile") {
        return Some(verified.clone());
    }
    Some(serde_json::json!({
        "verification": verified.get("verification").cloned().unwrap_or_default(),
        "claims": {},
    }))
}
