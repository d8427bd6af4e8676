//! Clinicians are checked against the provider directory at every authorization and token
//! issuance: policy permits a clinician only while the current NPD release says they are an
//! active individual provider (CMS Interoperability Framework: "validated as an active
//! provider in the CMS National Provider Directory"). Fails closed: no directory answer, no
//! clinician token.

use crate::app::AppState;
use crate::error::{OAuthError, OAuthResult};
use crate::session::IdentityAssurance;
use crate::store::accounts::AccountKind;

/// What the directory said about a clinician, for policy, the token and its log entry.
#[derive(Debug, Clone)]
pub struct ClinicianStanding {
    pub npi: String,
    /// True only when the current NPD release confirms an active individual provider.
    pub active: bool,
    /// Why not, as `clinician_not_active (<class>): <description>`, when not active.
    pub inactive: Option<String>,
    /// The NPD release the answer came from.
    pub release: Option<String>,
    /// The clinician's NPD Practitioner URL (`fhirUser`).
    pub fhir_user: Option<String>,
}

/// What issuance needs to know of the person a token is for.
#[derive(Debug, Clone, Default)]
pub struct Person {
    /// The directory's answer, for clinicians (active or not: policy decides).
    pub clinician: Option<ClinicianStanding>,
    /// The account's identity assurance; `None` when the subject has no account here.
    pub identity_assurance: Option<IdentityAssurance>,
    /// `verified_claims` (OpenID Connect for Identity Assurance) once the person is proofed at IAL2.
    pub verified_claims: Option<serde_json::Value>,
}

impl Person {
    /// The clinician, when the directory confirms them active.
    pub fn active_clinician(&self) -> Option<&ClinicianStanding> {
        self.clinician.as_ref().filter(|c| c.active)
    }
}

/// The person behind `subject` (nothing for machine clients), with the directory's current
/// answer for clinicians. Fails only when the directory cannot be asked.
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
    let clinician = match account.kind {
        AccountKind::Clinician => Some(standing(state, account.npi).await?),
        _ => None,
    };
    Ok(Person {
        clinician,
        identity_assurance: Some(account.identity_assurance),
        verified_claims: account.verified_claims,
    })
}

async fn standing(state: &AppState, npi: Option<String>) -> OAuthResult<ClinicianStanding> {
    let Some(npi) = npi else {
        return Ok(ClinicianStanding {
            npi: String::new(),
            active: false,
            inactive: Some(
                "clinician_not_active (no_npi): the clinician account has no NPI".into(),
            ),
            release: None,
            fhir_user: None,
        });
    };
    let answer = state
        .clinicians
        .check(&npi)
        .await
        .map_err(OAuthError::server_error)?;
    let inactive = (!answer.active).then(|| {
        let (class, description) = answer
            .reason
            .map(|r| (r.as_str(), r.description()))
            .unwrap_or((
                "unknown",
                "the provider directory did not confirm the clinician",
            ));
        format!("clinician_not_active ({class}): {description}")
    });
    Ok(ClinicianStanding {
        npi,
        active: answer.active,
        inactive,
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
