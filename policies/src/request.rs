//! The typed question the server asks: who, through which client, at which stage, for which
//! purpose and scopes, under which consent, delegation and claim records.

use crate::consent::ConsentRestrictions;
use crate::purpose::PurposeOfUse;
use crate::scopes::ScopeSet;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// NIST SP 800-63 identity assurance level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ial {
    Ial1 = 1,
    Ial2 = 2,
    Ial3 = 3,
}

/// NIST SP 800-63 authenticator assurance level of the current session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Aal {
    Aal1 = 1,
    Aal2 = 2,
    Aal3 = 3,
}

impl Aal {
    /// The levels above this one, lowest first (what a step-up could reach).
    pub fn higher(self) -> impl Iterator<Item = Aal> {
        [Aal::Aal2, Aal::Aal3]
            .into_iter()
            .filter(move |a| *a > self)
    }
}

/// A patient acting for themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientPerson {
    /// The broker's subject identifier.
    pub subject: String,
    pub ial: Ial,
    pub aal: Aal,
    /// The FHIR Patient id this person is (their own record).
    pub patient_id: String,
}

/// A clinician, with the provider directory's answer about their NPI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClinicianPerson {
    pub subject: String,
    pub npi: String,
    /// True only when the directory confirms the NPI is active.
    pub directory_active: bool,
    pub ial: Ial,
    pub aal: Aal,
}

/// The signed-in person, if any (none for backend services).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Person {
    Patient(PatientPerson),
    Clinician(ClinicianPerson),
}

impl Person {
    pub fn aal(&self) -> Aal {
        match self {
            Person::Patient(p) => p.aal,
            Person::Clinician(c) => c.aal,
        }
    }
}

/// What kind of organisation a client belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    Provider,
    Payer,
    Vendor,
    PublicHealth,
    Government,
    IasProvider,
    /// A network's or a regulator's audit office: reads the broker's audit trail only.
    Auditor,
    Other,
}

impl OrganisationKind {
    /// The value of `Organisation.kind` in the Cedar schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::Payer => "payer",
            Self::Vendor => "vendor",
            Self::PublicHealth => "public_health",
            Self::Government => "government",
            Self::IasProvider => "ias_provider",
            Self::Auditor => "auditor",
            Self::Other => "other",
        }
    }
}

/// An organisation, by the broker's identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Organisation {
    pub id: String,
    pub kind: OrganisationKind,
}

/// The OAuth client presenting the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub client_id: String,
    pub organisation: Organisation,
}

/// What an earlier token granted: the refresh token's grant, or the subject token's in an
/// exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorGrant {
    pub scopes: ScopeSet,
    pub purpose: PurposeOfUse,
}

/// A business associate agreement on record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaaRecord {
    /// The broker's reference to the agreement (logged, not evaluated).
    pub reference: String,
    /// Organisation id of the covered entity.
    pub covered_entity: String,
    /// Organisation id of the business associate (the vendor).
    pub business_associate: String,
}

/// RFC 8693 token exchange by an acting party for another organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    /// The organisation whose token is exchanged (the subject token's client organisation).
    pub on_behalf_of: Organisation,
    /// What the subject token grants.
    pub subject_token: PriorGrant,
    /// The BAA between `on_behalf_of` and the acting client's organisation, when one is on
    /// record.
    pub baa: Option<BaaRecord>,
}

/// The OAuth step being decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Authorize,
    Token,
    TokenExchange(Delegation),
    Refresh(PriorGrant),
}

impl Stage {
    /// The Cedar action id.
    pub fn action(&self) -> &'static str {
        match self {
            Stage::Authorize => "authorize",
            Stage::Token => "token",
            Stage::TokenExchange(_) => "token_exchange",
            Stage::Refresh(_) => "refresh",
        }
    }

    /// The grant a new token must stay within, if any.
    pub fn prior_grant(&self) -> Option<&PriorGrant> {
        match self {
            Stage::TokenExchange(d) => Some(&d.subject_token),
            Stage::Refresh(g) => Some(g),
            Stage::Authorize | Stage::Token => None,
        }
    }
}

/// A claim the requesting payer has on record, tying an encounter to a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRecord {
    pub claim_id: String,
    /// FHIR Encounter id the claim is for.
    pub encounter_id: String,
    /// The claim's date (service or submission date, as the network defines it).
    pub date: SystemTime,
}

/// One authorization question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    pub stage: Stage,
    pub person: Option<Person>,
    pub client: ClientInfo,
    pub purpose: PurposeOfUse,
    pub scopes: ScopeSet,
    /// The launch patient (FHIR Patient id), when there is one.
    pub patient_context: Option<String>,
    /// The launch patient's consent restrictions.
    pub consent: Option<ConsentRestrictions>,
    /// Claims on record for the requesting (payer) organisation.
    pub claims: Vec<ClaimRecord>,
    /// Evaluation time.
    pub now: SystemTime,
}

impl AccessRequest {
    /// A request with no person, launch patient, consent or claims, evaluated now.
    pub fn new(
        stage: Stage,
        client: ClientInfo,
        purpose: PurposeOfUse,
        scopes: ScopeSet,
    ) -> AccessRequest {
        AccessRequest {
            stage,
            person: None,
            client,
            purpose,
            scopes,
            patient_context: None,
            consent: None,
            claims: Vec::new(),
            now: SystemTime::now(),
        }
    }

    pub fn with_person(mut self, person: Person) -> Self {
        self.person = Some(person);
        self
    }

    pub fn with_patient_context(mut self, patient_id: impl Into<String>) -> Self {
        self.patient_context = Some(patient_id.into());
        self
    }

    pub fn with_consent(mut self, consent: ConsentRestrictions) -> Self {
        self.consent = Some(consent);
        self
    }

    pub fn with_claims(mut self, claims: Vec<ClaimRecord>) -> Self {
        self.claims = claims;
        self
    }

    pub fn at(mut self, now: SystemTime) -> Self {
        self.now = now;
        self
    }
}
