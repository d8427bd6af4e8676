//! Cedar policies for purpose-scoped tokens: schema, loading, strict validation, evaluation;
//! purpose-of-use codes (TEFCA XP ⇄ HL7 PurposeOfUse) and SMART scope parsing.
//!
//! The server builds an [`AccessRequest`] at authorize, token, refresh and token-exchange
//! time and calls [`PolicyEngine::decide`] (or [`ReloadingPolicies::decide`]); the
//! [`Decision`] says permit (with the granted, possibly narrowed scopes), deny (with a
//! reason class) or step up (RFC 9470), and carries the decision id and the policy ids for
//! the log entry. See `policies/README.md` and `docs/purpose-of-use.md`.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod authorization_details;
pub mod consent;
pub mod decision;
pub mod engine;
mod entities;
pub mod error;
mod loader;
mod memo;
mod narrowing;
mod observed;
pub mod purpose;
pub mod quality_measures;
pub mod reload;
pub mod request;
pub mod scopes;
mod shipped;
mod slices;
mod split;

pub use authorization_details::{
    AuthorizationDetails, patient_from_authorization_details, purpose_from_authorization_details,
    purpose_from_hl7_b2b,
};
pub use consent::{ConsentRestrictions, DataCategory};
pub use decision::{ConsentRestrictionKind, Decision, DenyReason, Outcome, WithheldScope};
pub use engine::{PolicyEngine, StepUpSettings};
pub use error::PolicyError;
pub use purpose::{ExchangePurpose, Hl7PurposeOfUse, PurposeError, PurposeOfUse};
pub use reload::{Reloaded, ReloadingPolicies};
pub use request::{
    Aal, AccessRequest, BaaRecord, ClaimRecord, ClientInfo, ClinicianPerson, Delegation, Ial,
    Organisation, OrganisationKind, PatientPerson, Person, PriorGrant, Stage,
};
pub use scopes::{ScopeError, ScopeSet, SmartScope};
