//! What the engine answers: permit with the granted (possibly narrowed) scopes, deny with a
//! reason class, or an RFC 9470 step-up challenge; always with a decision id, the policies
//! that determined it and the purpose, for the log entry.

use crate::purpose::PurposeOfUse;
use crate::request::Aal;
use crate::scopes::ScopeSet;
use serde::Serialize;

/// Which consent restriction applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentRestrictionKind {
    Purpose,
    Recipient,
    DataCategory,
}

/// Why something was refused. Forbid policies name theirs with `@reason("…")`; a refusal no
/// forbid explains is [`DenyReason::NotPermitted`] (Cedar's default deny).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "class")]
pub enum DenyReason {
    /// No policy permits it (default deny).
    NotPermitted,
    /// The clinician's NPI is not active in the provider directory.
    ClinicianNotActiveInDirectory,
    /// The patient's consent restriction forbids it.
    ConsentRestriction { by: ConsentRestrictionKind },
    /// A refresh or exchange asked for more than the prior grant.
    WiderThanPriorGrant,
    /// A refresh or exchange asked for another purpose.
    PurposeChanged,
    /// The engine could not build the question (a bug; logged).
    Internal,
}

impl DenyReason {
    /// Parses a forbid policy's `@reason` annotation.
    pub fn from_annotation(value: &str) -> Option<DenyReason> {
        Some(match value {
            "directory_inactive" => DenyReason::ClinicianNotActiveInDirectory,
            "consent_purpose" => DenyReason::ConsentRestriction {
                by: ConsentRestrictionKind::Purpose,
            },
            "consent_recipient" => DenyReason::ConsentRestriction {
                by: ConsentRestrictionKind::Recipient,
            },
            "consent_category" => DenyReason::ConsentRestriction {
                by: ConsentRestrictionKind::DataCategory,
            },
            "wider_than_prior_grant" => DenyReason::WiderThanPriorGrant,
            "purpose_changed" => DenyReason::PurposeChanged,
            _ => return None,
        })
    }

    /// Which reason to report when several apply: the most specific one.
    pub(crate) fn rank(self) -> u8 {
        match self {
            DenyReason::Internal => 6,
            DenyReason::ConsentRestriction { .. } => 5,
            DenyReason::ClinicianNotActiveInDirectory => 4,
            DenyReason::PurposeChanged => 3,
            DenyReason::WiderThanPriorGrant => 2,
            DenyReason::NotPermitted => 1,
        }
    }

    /// The OAuth error code for a refusal (`invalid_grant` for refresh and exchange
    /// lineage, `access_denied` otherwise).
    pub fn oauth_error(self) -> &'static str {
        match self {
            DenyReason::WiderThanPriorGrant | DenyReason::PurposeChanged => "invalid_grant",
            DenyReason::Internal => "server_error",
            _ => "access_denied",
        }
    }
}

/// A requested scope that was not granted as asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithheldScope {
    pub scope: String,
    pub reason: DenyReason,
}

/// The outcome of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Issue a token with `granted`. It may be narrower than the request; `withheld` lists
    /// the requested scopes not granted as asked, with why.
    Permit {
        granted: ScopeSet,
        withheld: Vec<WithheldScope>,
    },
    /// Refuse.
    Deny { reason: DenyReason },
    /// Answer with RFC 9470 `insufficient_user_authentication`, carrying `acr_values` and
    /// `max_age`, so the client can ask the user to authenticate again at `aal`.
    StepUp {
        acr_values: Vec<String>,
        max_age: u32,
        aal: Aal,
    },
}

/// One decision, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Random 128-bit id, lowercase hex (the log entry's `decision`).
    pub decision_id: String,
    pub outcome: Outcome,
    /// `@id`s of the policies that determined the outcome: the permits behind granted
    /// scopes and the forbids behind withheld ones (for a step-up: the policies that would
    /// permit at the higher level). Empty for a default deny.
    pub determining_policies: Vec<String>,
    pub purpose: PurposeOfUse,
    /// Content hash of the policy set that decided (SHA-256 over file names and contents).
    pub policy_set_version: String,
}

impl Decision {
    /// The granted scopes, when permitted.
    pub fn granted(&self) -> Option<&ScopeSet> {
        match &self.outcome {
            Outcome::Permit { granted, .. } => Some(granted),
            _ => None,
        }
    }

    pub fn is_permit(&self) -> bool {
        matches!(self.outcome, Outcome::Permit { .. })
    }

    /// The OAuth error to answer with, when not permitted
    /// (`insufficient_user_authentication` for a step-up).
    pub fn oauth_error(&self) -> Option<&'static str> {
        match &self.outcome {
            Outcome::Permit { .. } => None,
            Outcome::Deny { reason } => Some(reason.oauth_error()),
            Outcome::StepUp { .. } => Some("insufficient_user_authentication"),
        }
    }
}

/// A fresh random decision id: 128 bits, 32 lowercase hex digits.
pub(crate) fn new_decision_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}
