//! Purpose-scoped policy (the Cedar set in `policies/`), asked at authorize, token and
//! refresh time. The question is built from what the server knows (the client's
//! organisation, the person's assurance and directory standing, the purpose, the scopes);
//! the answer becomes the scope to grant, a refusal naming its class, or an RFC 9470 step-up
//! challenge. Either way the decision id goes into the log entry.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use glassgate_policies::scopes::Audience;
use glassgate_policies::{
    Aal, AccessRequest, BaaRecord, ClaimRecord, ClientInfo, ClinicianPerson, Decision, DenyReason,
    Ial, Organisation, OrganisationKind, Outcome, PatientPerson, PolicyError, PurposeOfUse,
    ReloadingPolicies, ScopeSet, Stage, StepUpSettings,
};
use serde_json::{Value, json};

use super::clinician;
use crate::config::{PolicySettings, StaticClient};
use crate::error::{ErrorCode, OAuthError, OAuthResult, StepUp};
use crate::metrics::Metrics;
use crate::session::IdentityAssurance;
use crate::store::Store;
use crate::store::claims::ClaimRepository;
use crate::store::consents::{ConsentRecord, ConsentRepository};
use crate::tlog::{Event, NO_CLIENT};

/// The policy decision point of this replica: the policy set in force and the organisations
/// of the configured clients.
pub struct PolicyPoint {
    policies: Arc<ReloadingPolicies>,
    organisations: HashMap<String, Organisation>,
    /// The same organisations, each once, by id (what a patient can restrict).
    known_organisations: Vec<Organisation>,
    reload_every: Option<Duration>,
    aal2_acr: String,
    aal3_acr: String,
    agreements: Vec<BaaRecord>,
    metrics: Arc<Metrics>,
    /// Patients' consent restrictions, read at every decision with a patient context (a
    /// change is honoured by the next decision, on every replica).
    consents: Arc<dyn ConsentRepository>,
    /// Payers' claim records, read when a payer's request names a patient.
    claims: Arc<dyn ClaimRepository>,
    /// With UDAP: the organisation kind of registered members (each its own organisation).
    udap_member_kind: Option<OrganisationKind>,
}

/// Who is asking, as far as assurance goes: the session's `acr` and the person's account.
pub struct Asker<'a> {
    pub subject: &'a str,
    pub acr: Option<&'a str>,
    /// The session's identity assurance, used when the subject has no account here.
    pub session_ial: Option<IdentityAssurance>,
    pub person: &'a clinician::Person,
}

/// One question: who (a person, or the client itself), at which stage, for which purpose
/// and scope.
pub struct Question<'a> {
    pub stage: Stage,
    pub client_id: &'a str,
    pub purpose: &'a PurposeOfUse,
    pub scope: &'a str,
    pub asker: Option<Asker<'a>>,
    /// The patient the request names (`patient_context`), or the grant's or the subject
    /// token's patient. A patient asking for themselves needs none.
    pub patient: Option<&'a str>,
}

/// A permit: the scope to grant (the request's own wording when nothing was narrowed) and
/// the decision, for the log.
#[derive(Debug)]
pub struct Permitted {
    pub scope: String,
    pub decision: Decision,
    pub organisation: String,
    /// The patient the token is about (SMART launch context), when there is one.
    pub patient: Option<String>,
    /// The patient's consent version the decision honoured, when they recorded one.
    pub consent_reference: Option<String>,
}

impl Permitted {
    /// Adds the decision to a log event: its id and organisation in public; the policies,
    /// the policy-set version and the consent honoured in the private record, with the
    /// patient for the disclosure index.
    pub fn logged(&self, event: Event) -> Event {
        let mut event = log_decision(event, &self.decision, &self.organisation)
            .with_patient(self.patient.as_deref());
        if let (Some(reference), Value::Object(record)) =
            (&self.consent_reference, &mut event.record)
        {
            record.insert("consent_reference".into(), reference.clone().into());
        }
        event
    }
}

fn log_decision(event: Event, decision: &Decision, organisation: &str) -> Event {
    let mut event = event
        .with_decision(&decision.decision_id)
        .with_org(organisation);
    if let Value::Object(record) = &mut event.record {
        record.insert(
            "policy".into(),
            json!({
                "decision": decision.decision_id,
                "determining_policies": decision.determining_policies,
                "policy_set_version": decision.policy_set_version,
                "outcome": decision.outcome,
            }),
        );
    }
    event
}

impl PolicyPoint {
    pub fn new(
        settings: &PolicySettings,
        clients: &[StaticClient],
        agreements: &[BaaRecord],
        metrics: Arc<Metrics>,
        store: &Store,
        udap_member_kind: Option<OrganisationKind>,
    ) -> Result<Self, PolicyError> {
        let step_up = StepUpSettings {
            aal2_acr: settings.aal2_acr.clone(),
            aal3_acr: settings.aal3_acr.clone(),
            max_age: settings.step_up_max_age,
        };
        let policies = match &settings.dir {
            Some(dir) => ReloadingPolicies::load(dir, step_up)?,
            None => ReloadingPolicies::shipped(step_up)?,
        };
        let organisations: HashMap<String, Organisation> = clients
            .iter()
            .filter_map(|c| {
                let o = c.organisation.as_ref()?;
                Some((
                    c.client_id.clone(),
                    Organisation {
                        id: o.id.clone(),
                        kind: o.kind,
                    },
                ))
            })
            .collect();
        let mut known_organisations: Vec<Organisation> = organisations.values().cloned().collect();
        known_organisations.sort_by(|a, b| a.id.cmp(&b.id));
        known_organisations.dedup_by(|a, b| a.id == b.id);
        Ok(Self {
            policies: Arc::new(policies),
            organisations,
            known_organisations,
            reload_every: settings
                .dir
                .as_ref()
                .map(|_| Duration::from_secs(settings.reload_secs.max(1))),
            aal2_acr: settings.aal2_acr.clone(),
            aal3_acr: settings.aal3_acr.clone(),
            agreements: agreements.to_vec(),
            metrics,
            consents: store.consents.clone(),
            claims: store.claims.clone(),
            udap_member_kind,
        })
    }

    /// Polls the policy directory (when one is configured), swaps in valid changes and
    /// tells `on_swap` the versions from and to.
    pub fn spawn_reload(&self, on_swap: impl Fn(&str, &str) + Send + 'static) {
        if let Some(every) = self.reload_every {
            let _task = Arc::clone(&self.policies).spawn_polling(every, on_swap);
        }
    }

    /// The version of the policy set in force.
    pub fn version(&self) -> String {
        self.policies.version()
    }

    /// The client's organisation; a client configured without one is its own organisation
    /// of kind `other`.
    pub fn client(&self, client_id: &str) -> ClientInfo {
        let member_kind = self
            .udap_member_kind
            .filter(|_| crate::udap::is_member(client_id));
        let organisation = self
            .organisations
            .get(client_id)
            .cloned()
            .unwrap_or_else(|| Organisation {
                id: client_id.to_owned(),
                kind: member_kind.unwrap_or(OrganisationKind::Other),
            });
        ClientInfo {
            client_id: client_id.to_owned(),
            organisation,
        }
    }

    /// The business associate agreement on record between a covered entity and its
    /// associate, if any.
    pub fn agreement(&self, covered_entity: &str, business_associate: &str) -> Option<BaaRecord> {
        self.agreements
            .iter()
            .find(|a| {
                a.covered_entity == covered_entity && a.business_associate == business_associate
            })
            .cloned()
    }

    /// The organisations configured clients belong to (what a patient can restrict by
    /// recipient), by id.
    pub fn organisations(&self) -> &[Organisation] {
        &self.known_organisations
    }

    /// NIST SP 800-63B level of a session, from its `acr`.
    pub fn aal(&self, acr: Option<&str>) -> Aal {
        match acr {
            Some(acr) if acr == self.aal3_acr => Aal::Aal3,
            Some(acr) if acr == self.aal2_acr => Aal::Aal2,
            _ => Aal::Aal1,
        }
    }

    /// Decides; a refusal or step-up is an OAuth error carrying the decision id.
    pub async fn decide(&self, question: Question<'_>) -> OAuthResult<Permitted> {
        let scopes = ScopeSet::parse(question.scope)
            .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
        let client = self.client(question.client_id);
        let organisation = client.organisation.id.clone();
        let mut request =
            AccessRequest::new(question.stage, client, *question.purpose, scopes.clone());
        let mut inactive_clinician = None;
        let mut patient = question.patient.map(str::to_owned);
        if let Some(asker) = &question.asker {
            let person = self.person(asker);
            if let glassgate_policies::Person::Patient(p) = &person {
                match &patient {
                    Some(named) if *named != p.patient_id => {
                        return Err(OAuthError::new(
                            ErrorCode::InvalidAuthorizationDetails,
                            "a patient's own request can name only themselves as the patient \
                             context",
                        ));
                    }
                    Some(_) => {}
                    // Individual access: the launch patient is the patient themselves.
                    None if wants_patient_context(&scopes) => {
                        patient = Some(p.patient_id.clone());
                    }
                    None => {}
                }
            }
            inactive_clinician = asker
                .person
                .clinician
                .as_ref()
                .and_then(|c| c.inactive.clone());
            request = request.with_person(person);
        }
        let consent = match &patient {
            Some(id) => {
                request = request.with_patient_context(id.clone());
                // Fail closed: without the patient's restrictions there is no decision.
                self.consents
                    .consent(id)
                    .await
                    .map_err(OAuthError::server_error)?
            }
            None => None,
        };
        if let Some(ConsentRecord { restrictions, .. }) = &consent
            && !restrictions.is_empty()
        {
            request = request.with_consent(restrictions.clone());
        }
        if let Some(id) = &patient
            && request.client.organisation.kind == OrganisationKind::Payer
        {
            let claims = self
                .recent_claims(&request.client.organisation.id, id)
                .await?;
            request = request.with_claims(claims);
        }
        let started = Instant::now();
        let decision = self.policies.decide(&request);
        let outcome = match &decision.outcome {
            Outcome::Permit { .. } => "permit",
            Outcome::Deny { .. } => "deny",
            Outcome::StepUp { .. } => "step_up",
        };
        self.metrics
            .decided(request.stage.action(), outcome, started.elapsed());
        let purpose_code = super::purpose::log_code(question.purpose);
        match &decision.outcome {
            Outcome::Permit { granted, .. } => Ok(Permitted {
                scope: if *granted == scopes {
                    question.scope.to_owned()
                } else {
                    granted.to_string()
                },
                organisation,
                decision,
                patient,
                consent_reference: consent.map(|c| c.reference),
            }),
            Outcome::Deny { reason } => {
                let description = match (reason, inactive_clinician) {
                    (DenyReason::ClinicianNotActiveInDirectory, Some(why)) => why,
                    _ => refusal_text(*reason),
                };
                let code = match reason.oauth_error() {
                    "invalid_grant" => ErrorCode::InvalidGrant,
                    "server_error" => ErrorCode::ServerError,
                    _ => ErrorCode::AccessDenied,
                };
                Err(OAuthError::new(code, description)
                    .decided_by_policy(&decision.decision_id, purpose_code, None)
                    .about_patient(patient))
            }
            Outcome::StepUp {
                acr_values,
                max_age,
                ..
            } => Err(OAuthError::new(
                ErrorCode::InsufficientUserAuthentication,
                "this request needs a stronger authentication than the session has; \
                 authorize again with the given acr_values and max_age",
            )
            .decided_by_policy(
                &decision.decision_id,
                purpose_code,
                Some(StepUp {
                    acr_values: acr_values.join(" "),
                    max_age: *max_age,
                }),
            )
            .about_patient(patient)),
        }
    }

    /// The payer's claims about the patient that policy may still honour (a day of margin
    /// beyond the policy's 60 days: the policy itself draws the line).
    async fn recent_claims(&self, payer: &str, patient: &str) -> OAuthResult<Vec<ClaimRecord>> {
        const LOOKBACK: i64 = 61 * 86_400;
        let since = crate::clock::now() - LOOKBACK;
        let stored = self
            .claims
            .claims(payer, patient, since)
            .await
            .map_err(OAuthError::server_error)?;
        Ok(stored
            .into_iter()
            .map(|c| ClaimRecord {
                claim_id: c.claim_id,
                encounter_id: c.encounter,
                date: std::time::UNIX_EPOCH
                    + Duration::from_secs(u64::try_from(c.claim_date).unwrap_or(0)),
            })
            .collect())
    }

    fn person(&self, asker: &Asker<'_>) -> glassgate_policies::Person {
        let assurance = asker
            .person
            .identity_assurance
            .or(asker.session_ial)
            .unwrap_or(IdentityAssurance::Ial1);
        let ial = match assurance {
            IdentityAssurance::Ial1 => Ial::Ial1,
            IdentityAssurance::Ial2 => Ial::Ial2,
        };
        let aal = self.aal(asker.acr);
        match &asker.person.clinician {
            Some(c) => glassgate_policies::Person::Clinician(ClinicianPerson {
                subject: asker.subject.to_owned(),
                npi: c.npi.clone(),
                directory_active: c.active,
                ial,
                aal,
            }),
            None => glassgate_policies::Person::Patient(PatientPerson {
                subject: asker.subject.to_owned(),
                ial,
                aal,
                patient_id: asker.subject.to_owned(),
            }),
        }
    }
}

impl PolicyPoint {
    /// Adds a refusal's decision (when policy made it) and the patient it was about to its
    /// log event, with the client's organisation; the caller adds the refusal class.
    pub fn logged_refusal(&self, event: Event, client_id: &str, error: &OAuthError) -> Event {
        let event = event.with_patient(error.patient.as_deref());
        let organisation = || self.client(client_id).organisation.id;
        match (&error.policy, &error.patient) {
            (Some(refusal), _) => event
                .with_decision(&refusal.decision_id)
                .with_org(&organisation()),
            // Who asked about the patient, for their accounting of disclosures.
            (None, Some(_)) if client_id != NO_CLIENT => event.with_org(&organisation()),
            _ => event,
        }
    }
}

/// Patient-level data or a patient launch asks for a patient context.
fn wants_patient_context(scopes: &ScopeSet) -> bool {
    scopes
        .identity_scopes()
        .any(|s| s.as_str() == "launch/patient")
        || scopes
            .resource_scopes()
            .any(|s| s.audience == Audience::Patient)
}

/// The client-facing text of a refusal class.
fn refusal_text(reason: DenyReason) -> String {
    let (class, text) = match reason {
        DenyReason::NotPermitted => (
            "not_permitted",
            "no policy permits this client, person and purpose these scopes",
        ),
        DenyReason::ClinicianNotActiveInDirectory => (
            "clinician_not_active",
            "the provider directory does not list the clinician as active",
        ),
        DenyReason::ConsentRestriction { .. } => (
            "consent_restriction",
            "the patient's consent restrictions forbid this",
        ),
        DenyReason::WiderThanPriorGrant => (
            "wider_than_prior_grant",
            "the request asks for more than the earlier grant",
        ),
        DenyReason::PurposeChanged => (
            "purpose_changed",
            "the request names another purpose than the earlier grant",
        ),
        DenyReason::Internal => ("internal", "the policy decision failed"),
    };
    format!("policy ({class}): {text}")
}
