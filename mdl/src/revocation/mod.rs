//! Revocation: the DS certificate against its IACA's CRL, and the credential against the
//! MSO `status` list when present. Checkers answer synchronously from cached data so the
//! pipeline stays CPU-only; the HTTP implementation fetches ahead of time, once the issuer
//! is authenticated ([`crl::HttpRevocation::verify`]), and refreshes at `nextUpdate`.

pub mod crl;
pub mod fetch;
pub mod status_list;

use serde::Serialize;
use time::OffsetDateTime;

use crate::mso::MsoStatus;
use crate::x509::chain::ValidatedChain;

/// Status of the document signer certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum DsStatus {
    Good,
    Revoked,
    Unknown(String),
}

/// Status of the credential (MSO status list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum CredentialStatus {
    Valid,
    /// Status value (1 invalid, 2 suspended, or application-specific).
    Invalid(u8),
    Unknown(String),
}

/// Answers revocation questions from cached data.
pub trait RevocationChecker: Send + Sync {
    /// Is the DS certificate revoked by its IACA?
    fn ds_status(&self, chain: &ValidatedChain, now: OffsetDateTime) -> DsStatus;
    /// Is the credential revoked according to the MSO `status`?
    fn credential_status(
        &self,
        status: &MsoStatus,
        chain: &ValidatedChain,
        now: OffsetDateTime,
    ) -> CredentialStatus;
}

/// A checker that checks nothing (tests, offline debugging). Answers `Unknown`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRevocationCheck;

impl RevocationChecker for NoRevocationCheck {
    fn ds_status(&self, _: &ValidatedChain, _: OffsetDateTime) -> DsStatus {
        DsStatus::Unknown("revocation not checked".into())
    }
    fn credential_status(
        &self,
        _: &MsoStatus,
        _: &ValidatedChain,
        _: OffsetDateTime,
    ) -> CredentialStatus {
        CredentialStatus::Unknown("revocation not checked".into())
    }
}

/// What to do when revocation status cannot be established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevocationPolicy {
    /// Refuse only a confirmed revocation; an unknown status is recorded in the result.
    #[default]
    RefuseConfirmedOnly,
    /// Refuse unless the status is positively known to be good.
    RequireKnownGood,
}

/// The revocation outcome recorded in a verified presentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocationOutcome {
    pub ds: DsStatus,
    /// `None` when the MSO has no `status`.
    pub credential: Option<CredentialStatus>,
}
