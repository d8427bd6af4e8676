//! What happened, as the rest of the server describes it to the log: public facts (no
//! personal data) and the private record the entry commits to.

use serde_json::Value;

/// Event types of log entry version 1 (docs/log-entry.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    TokenIssued,
    TokenRefused,
    AuthorizationGranted,
    AuthorizationRefused,
    CredentialPasskey,
    CredentialMdl,
    AdminKeys,
    AdminClient,
    AdminPolicy,
    AdminAccount,
    AdminClaims,
    ConsentChanged,
    AuditExported,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TokenIssued => "token.issued",
            Self::TokenRefused => "token.refused",
            Self::AuthorizationGranted => "authorization.granted",
            Self::AuthorizationRefused => "authorization.refused",
            Self::CredentialPasskey => "credential.passkey",
            Self::CredentialMdl => "credential.mdl",
            Self::AdminKeys => "admin.keys",
            Self::AdminClient => "admin.client",
            Self::AdminPolicy => "admin.policy",
            Self::AdminAccount => "admin.account",
            Self::AdminClaims => "admin.claims",
            Self::ConsentChanged => "consent.changed",
            Self::AuditExported => "audit.exported",
        }
    }
}

/// The client of an event: one that exists here, or none (unauthenticated requests). A
/// client id a caller merely claimed never reaches the public log (anti-poisoning).
pub const NO_CLIENT: &str = "-";

/// One event to log. Built with [`Event::new`] and the `with_*` setters.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    pub client: String,
    /// Internal subject id: committed to with a keyed hash, never published.
    pub subject: Option<String>,
    /// The patient the event is about when that is not the subject (a clinician's or a
    /// backend's request naming a patient): private, it goes into the record and into the
    /// index behind the patient's accounting of disclosures.
    pub patient: Option<String>,
    /// Token identifier: published as its SHA-256.
    pub jti: Option<String>,
    /// The identifier of the ID token issued beside that token: published as its SHA-256.
    pub id_jti: Option<String>,
    pub acr: Option<String>,
    pub amr: Option<Vec<String>>,
    pub ial: Option<String>,
    /// The clinician's NPI (public data), for clinician issuances.
    pub npi: Option<String>,
    pub refusal: Option<String>,
    /// The exchange purpose code (e.g. `T-TREAT`), for issuances and authorization decisions.
    pub purpose: Option<String>,
    /// The client's organisation identifier (public: organisations, not people).
    pub org: Option<String>,
    /// The policy decision id (its determining policies go into the private record).
    pub decision: Option<String>,
    /// Everything else (scopes, lifetimes, grant ids…): private, committed to.
    pub record: Value,
}

impl Event {
    pub fn new(kind: EventKind, client: &str) -> Self {
        Self {
            kind,
            client: client.to_owned(),
            subject: None,
            patient: None,
            jti: None,
            id_jti: None,
            acr: None,
            amr: None,
            ial: None,
            npi: None,
            refusal: None,
            purpose: None,
            org: None,
            decision: None,
            record: Value::Object(serde_json::Map::new()),
        }
    }

    pub fn with_subject(mut self, subject: &str) -> Self {
        self.subject = Some(subject.to_owned());
        self
    }
    pub fn with_patient(mut self, patient: Option<&str>) -> Self {
        self.patient = patient.map(str::to_owned);
        self
    }
    pub fn with_jti(mut self, jti: &str) -> Self {
        self.jti = Some(jti.to_owned());
        self
    }
    pub fn with_id_token_jti(mut self, jti: Option<&str>) -> Self {
        self.id_jti = jti.map(str::to_owned);
        self
    }
    pub fn with_assurance(mut self, acr: Option<&str>, amr: &[String]) -> Self {
        self.acr = acr.map(str::to_owned);
        self.amr = (!amr.is_empty()).then(|| amr.to_vec());
        self
    }
    pub fn with_ial(mut self, ial: &str) -> Self {
        self.ial = Some(ial.to_owned());
        self
    }
    pub fn with_npi(mut self, npi: &str) -> Self {
        self.npi = Some(npi.to_owned());
        self
    }
    pub fn with_purpose(mut self, code: &str) -> Self {
        self.purpose = Some(code.to_owned());
        self
    }
    pub fn with_org(mut self, org: &str) -> Self {
        self.org = Some(org.to_owned());
        self
    }
    pub fn with_decision(mut self, decision_id: &str) -> Self {
        self.decision = Some(decision_id.to_owned());
        self
    }
    pub fn with_refusal(mut self, code: &str) -> Self {
        self.refusal = Some(code.to_owned());
        self
    }
    pub fn with_record(mut self, record: Value) -> Self {
        self.record = record;
        self
    }

    /// The people the entry is about, for the private disclosure index: the subject when
    /// it is a person (not the client acting for itself) and the patient context.
    pub fn about(&self) -> Vec<String> {
        let mut about = Vec::new();
        if let Some(subject) = self.subject.as_ref().filter(|s| **s != self.client) {
            about.push(subject.clone());
        }
        if let Some(patient) = &self.patient
            && !about.contains(patient)
        {
            about.push(patient.clone());
        }
        about
    }
}
