//! The policy engine: load a directory strictly, then decide requests.
//!
//! A decision asks Cedar once per candidate scope (see [`crate::narrowing`]) against one set
//! of entities built for the request, and assembles the outcome:
//!
//! - a request for data scopes is permitted when at least one data scope (possibly
//!   narrowed) is granted; identity scopes ride along only if the `sign-in` policy allows;
//! - a request for identity scopes only is permitted when they are allowed;
//! - otherwise, if the same request would be permitted at a higher AAL, the answer is a
//!   step-up (RFC 9470) to the lowest such level; else a refusal with the most specific
//!   reason any forbid gave (or `not_permitted`).

use crate::decision::{Decision, DenyReason, Outcome, WithheldScope, new_decision_id};
use crate::entities::{BuildError, Built, CandidateScope, Names, build};
use crate::error::PolicyError;
use crate::loader::{LoadedPolicies, load, load_sources};
use crate::narrowing::{Candidate, Phase, candidates};
use crate::request::{Aal, AccessRequest, Stage};
use crate::scopes::{ResourceScope, ScopeSet, SmartScope};
use crate::slices::PolicySlices;
use cedar_policy::{
    Authorizer, Decision as CedarDecision, PolicyId, PolicySet, Request, Response, Schema,
};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// Where a step-up sends the user: the `acr_values` for each AAL and the `max_age`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUpSettings {
    /// `acr` that satisfies AAL2 (default `phr`, OpenID EAP ACR Values).
    pub aal2_acr: String,
    /// `acr` that satisfies AAL3 (default `phrh`).
    pub aal3_acr: String,
    /// Seconds since the last active authentication that the client should ask for.
    pub max_age: u32,
}

impl Default for StepUpSettings {
    fn default() -> Self {
        StepUpSettings {
            aal2_acr: "phr".to_owned(),
            aal3_acr: "phrh".to_owned(),
            max_age: 300,
        }
    }
}

impl StepUpSettings {
    fn acr(&self, aal: Aal) -> &str {
        match aal {
            Aal::Aal3 => &self.aal3_acr,
            Aal::Aal1 | Aal::Aal2 => &self.aal2_acr,
        }
    }
}

/// A strictly validated policy set, ready to decide.
pub struct PolicyEngine {
    schema: Schema,
    policies: PolicySlices,
    reasons: HashMap<PolicyId, DenyReason>,
    version: String,
    names: Names,
    authorizer: Authorizer,
    step_up: StepUpSettings,
    memo: crate::memo::Memo,
}

/// What one evaluation found.
struct Evaluation {
    granted: Vec<SmartScope>,
    granted_data: usize,
    withheld: Vec<WithheldScope>,
    policies: BTreeSet<String>,
    data_requested: bool,
    identity_granted: bool,
}

impl Evaluation {
    fn permits(&self) -> bool {
        if self.data_requested {
            self.granted_data > 0
        } else {
            self.identity_granted
        }
    }
}

impl PolicyEngine {
    /// Loads `dir` (one `*.cedarschema`, `*.cedar` files), failing on any parse error,
    /// missing `@id`/`@reason`, or strict-validation error or warning.
    pub fn load(dir: impl AsRef<Path>) -> Result<PolicyEngine, PolicyError> {
        PolicyEngine::from_loaded(load(dir.as_ref())?)
    }

    /// The policy set shipped in `policies/cedar`, compiled in; validated like a directory.
    pub fn shipped() -> Result<PolicyEngine, PolicyError> {
        PolicyEngine::from_loaded(load_sources(
            Path::new(crate::shipped::LABEL),
            crate::shipped::sources(),
        )?)
    }

    fn from_loaded(loaded: LoadedPolicies) -> Result<PolicyEngine, PolicyError> {
        let LoadedPolicies {
            schema,
            policies,
            reasons,
            version,
        } = loaded;
        let names = Names::new()?;
        let (actions, principals) = names.slice_keys();
        let memo = crate::memo::Memo::for_policies(&policies);
        let policies = PolicySlices::new(&policies, &schema, &actions, &principals)?;
        Ok(PolicyEngine {
            memo,
            schema,
            policies,
            reasons,
            version,
            names,
            authorizer: Authorizer::new(),
            step_up: StepUpSettings::default(),
        })
    }

    /// Replaces the step-up settings.
    pub fn with_step_up(mut self, step_up: StepUpSettings) -> PolicyEngine {
        self.step_up = step_up;
        self
    }

    pub fn step_up(&self) -> &StepUpSettings {
        &self.step_up
    }

    /// SHA-256 of the loaded files (names and contents), lowercase hex.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The `@id`s of the loaded policies, sorted.
    pub fn policy_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .policies
            .full()
            .policies()
            .map(|p| p.id().to_string())
            .collect();
        ids.sort();
        ids
    }

    /// The schema the policies were validated against.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Decides one request.
    pub fn decide(&self, request: &AccessRequest) -> Decision {
        let decision_id = new_decision_id();
        let key = self.memo.key(request);
        let (outcome, policies) = match key.as_deref().and_then(|k| self.memo.get(k)) {
            Some(answer) => answer.as_ref().clone(),
            None => {
                let (outcome, policies) = self.answer(request);
                if let Some(key) = key {
                    self.memo.put(key, outcome.clone(), policies.clone());
                }
                (outcome, policies)
            }
        };
        let decision = Decision {
            decision_id,
            outcome,
            determining_policies: policies.into_iter().collect(),
            purpose: request.purpose,
            policy_set_version: self.version.clone(),
        };
        tracing::debug!(
            decision_id = %decision.decision_id,
            purpose = %decision.purpose,
            outcome = ?decision.outcome,
            policies = ?decision.determining_policies,
            "policy decision"
        );
        decision
    }

    /// Evaluates a question: the outcome and the policies that determined it.
    fn answer(&self, request: &AccessRequest) -> (Outcome, BTreeSet<String>) {
        match self.evaluate(request, None) {
            Err(reason) => (Outcome::Deny { reason }, BTreeSet::new()),
            Ok(e) if e.permits() => (
                Outcome::Permit {
                    granted: ScopeSet::from_scopes(e.granted),
                    withheld: e.withheld,
                },
                e.policies,
            ),
            Ok(e) => match self.step_up_level(request) {
                Some((aal, policies)) => (
                    Outcome::StepUp {
                        acr_values: vec![self.step_up.acr(aal).to_owned()],
                        max_age: self.step_up.max_age,
                        aal,
                    },
                    policies,
                ),
                None => {
                    let reason = e
                        .withheld
                        .iter()
                        .map(|w| w.reason)
                        .max_by_key(|r| r.rank())
                        .unwrap_or(DenyReason::NotPermitted);
                    (Outcome::Deny { reason }, e.policies)
                }
            },
        }
    }

    /// The lowest higher AAL at which the request would be permitted, with the policies that
    /// would permit it.
    fn step_up_level(&self, request: &AccessRequest) -> Option<(Aal, BTreeSet<String>)> {
        if matches!(request.stage, Stage::TokenExchange(_)) {
            return None;
        }
        let current = request.person.as_ref()?.aal();
        current.higher().find_map(|aal| {
            self.evaluate(request, Some(aal))
                .ok()
                .filter(Evaluation::permits)
                .map(|e| (aal, e.policies))
        })
    }

    fn evaluate(
        &self,
        request: &AccessRequest,
        aal: Option<Aal>,
    ) -> Result<Evaluation, DenyReason> {
        let internal = |error: BuildError| {
            tracing::error!(%error, "policy request could not be built");
            DenyReason::Internal
        };
        let mut built = build(&self.names, request, aal).map_err(internal)?;
        let policies = self.policies.for_request(&built.action, &built.principal);
        let requested: Vec<&ResourceScope> = request.scopes.resource_scopes().collect();
        let mut e = Evaluation {
            granted: Vec::new(),
            granted_data: 0,
            withheld: Vec::new(),
            policies: BTreeSet::new(),
            data_requested: !requested.is_empty(),
            identity_granted: false,
        };

        let has_identity = request.scopes.identity_scopes().next().is_some();
        let mut granted_data: Vec<ResourceScope> = Vec::new();
        let mut answered = vec![false; requested.len()];
        let mut refusals: Vec<Option<DenyReason>> = vec![None; requested.len()];
        for phase in [Phase::Direct, Phase::Catalogue] {
            let groups: Vec<(usize, Vec<Candidate>)> = requested
                .iter()
                .enumerate()
                .filter(|(i, _)| phase == Phase::Direct || !answered[*i])
                .map(|(i, s)| (i, candidates(s, request, phase)))
                .filter(|(_, c)| !c.is_empty())
                .collect();
            let identity = has_identity && phase == Phase::Direct;
            let mut asked: Vec<CandidateScope<'_>> = Vec::new();
            if identity {
                asked.push(CandidateScope::Identity);
            }
            asked.extend(
                groups
                    .iter()
                    .flat_map(|(_, c)| c.iter().map(CandidateScope::Data)),
            );
            if asked.is_empty() {
                continue;
            }
            let uids = built
                .add_scopes(&self.names, request, &asked)
                .map_err(internal)?;
            let mut uids = uids.iter();
            if identity {
                let uid = uids.next().ok_or(DenyReason::Internal)?;
                let reason = self.record(&self.ask(policies, &built, uid)?, &mut e.policies);
                for identity in request.scopes.identity_scopes() {
                    match reason {
                        None => e.granted.push(SmartScope::Identity(identity)),
                        Some(reason) => e.withheld.push(WithheldScope {
                            scope: identity.as_str().to_owned(),
                            reason,
                        }),
                    }
                }
                e.identity_granted = reason.is_none();
            }
            for (i, group) in &groups {
                for candidate in group {
                    let uid = uids.next().ok_or(DenyReason::Internal)?;
                    if granted_data.iter().any(|g| candidate.scope.is_within(g)) {
                        answered[*i] = true;
                        continue;
                    }
                    match self.record(&self.ask(policies, &built, uid)?, &mut e.policies) {
                        None => {
                            granted_data.push(candidate.scope.clone());
                            answered[*i] = true;
                        }
                        Some(reason) => {
                            refusals[*i].get_or_insert(reason);
                        }
                    }
                }
            }
        }
        for (scope, refusal) in requested.iter().zip(refusals) {
            if !granted_data.contains(scope)
                && let Some(reason) = refusal
            {
                e.withheld.push(WithheldScope {
                    scope: scope.to_string(),
                    reason,
                });
            }
        }
        e.granted_data = granted_data.len();
        e.granted
            .extend(granted_data.into_iter().map(SmartScope::Resource));
        Ok(e)
    }

    fn ask(
        &self,
        policies: &PolicySet,
        built: &Built,
        scope: &cedar_policy::EntityUid,
    ) -> Result<Response, DenyReason> {
        let request = Request::new(
            built.principal.clone(),
            built.action.clone(),
            scope.clone(),
            built.context.clone(),
            None,
        )
        .map_err(|e| {
            tracing::error!(error = %e, "policy request refused by Cedar");
            DenyReason::Internal
        })?;
        let response = self
            .authorizer
            .is_authorized(&request, policies, &built.entities);
        for error in response.diagnostics().errors() {
            tracing::warn!(%error, "policy evaluation error (treated as not satisfied)");
        }
        Ok(response)
    }

    /// Adds the determining policies to `policies`; `None` for allow, else the refusal class.
    fn record(&self, response: &Response, policies: &mut BTreeSet<String>) -> Option<DenyReason> {
        let mut reason: Option<DenyReason> = None;
        for id in response.diagnostics().reason() {
            policies.insert(id.to_string());
            if let Some(r) = self.reasons.get(id)
                && reason.is_none_or(|cur| r.rank() > cur.rank())
            {
                reason = Some(*r);
            }
        }
        match response.decision() {
            CedarDecision::Allow => None,
            CedarDecision::Deny => Some(reason.unwrap_or(DenyReason::NotPermitted)),
        }
    }
}
