//! The policy engine: load a directory strictly, then decide requests.
//!
//! A decision asks Cedar once per candidate scope (see [`crate::narrowing`]) against one set
//! of entities built for the request: first the question guards of the policies that can
//! apply, once, then per candidate only the scope residuals of those whose guard held (see
//! [`crate::split`]). It assembles the outcome:
//!
//! - a request for data scopes is permitted when at least one data scope (possibly
//!   narrowed) is granted; identity scopes ride along only if the `sign-in` policy allows;
//! - a request for identity scopes only is permitted when they are allowed;
//! - otherwise, if the same request would be permitted at a higher AAL, the answer is a
//!   step-up (RFC 9470) to the lowest such level; else a refusal with the most specific
//!   reason any forbid gave (or `not_permitted`).

use crate::decision::{Decision, DenyReason, Outcome, WithheldScope, new_decision_id};
use crate::entities::{BuildError, Built, CandidateScope, Names, build, scope_key};
use crate::error::PolicyError;
use crate::loader::{LoadedPolicies, load, load_sources};
use crate::narrowing::{Candidate, Phase, candidates};
use crate::request::{Aal, AccessRequest, Stage};
use crate::scopes::{ResourceScope, ScopeSet, SmartScope};
use crate::slices::{PolicyIds, PolicySlices, Slice};
use cedar_policy::{
    Authorizer, Decision as CedarDecision, PolicyId, PolicySet, Request, Response, Schema,
};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

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

/// How candidates are put to Cedar: split, with the question's slice (guards once,
/// residuals per candidate), or every policy whole per candidate (the reference the split
/// is tested against).
#[derive(Clone, Copy)]
enum Asking<'a> {
    Split(&'a Slice),
    Whole,
}

/// How this question's candidates are asked.
enum Ask<'a> {
    Whole,
    Split {
        slice: &'a Slice,
        guards_held: PolicyIds,
    },
}

/// Cedar's answer about one candidate scope.
#[derive(Debug, Clone)]
struct ScopeAnswer {
    /// `None` for allow, else the refusal class.
    refusal: Option<DenyReason>,
    determining: Vec<String>,
}

/// A candidate on its way to an answer.
enum Pending {
    Known(ScopeAnswer),
    Ask {
        key: String,
        uid: Option<cedar_policy::EntityUid>,
        /// The policies whose scope part holds, if already known.
        scope_held: Option<Arc<PolicyIds>>,
    },
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
        let slice = self.policies.for_request(
            &self.names.action_of(request),
            self.names.principal_type_of(request),
        );
        let key = self.memo.key(request, slice.observed());
        let (outcome, policies) = match key.as_deref().and_then(|k| self.memo.get(k)) {
            Some(answer) => answer.as_ref().clone(),
            None => {
                let (outcome, policies) = self.answer(request, Asking::Split(slice));
                if let Some(key) = key {
                    self.memo.put(key, outcome.clone(), policies.clone());
                }
                (outcome, policies)
            }
        };
        let decision = self.decision(decision_id, request, outcome, policies);
        tracing::debug!(
            decision_id = %decision.decision_id,
            purpose = %decision.purpose,
            outcome = ?decision.outcome,
            policies = ?decision.determining_policies,
            "policy decision"
        );
        decision
    }

    /// Decides `request` asking Cedar with every policy whole for each candidate scope, and
    /// no memo: the reference [`PolicyEngine::decide`] must agree with (policy tests).
    #[doc(hidden)]
    pub fn decide_unsplit(&self, request: &AccessRequest) -> Decision {
        let (outcome, policies) = self.answer(request, Asking::Whole);
        self.decision(new_decision_id(), request, outcome, policies)
    }

    /// How many questions the decision memo holds (tests).
    #[doc(hidden)]
    pub fn kept_decisions(&self) -> usize {
        self.memo.len()
    }

    /// Forgets every kept answer, memoized and per scope, so that the next decisions are
    /// evaluated as if first (benchmarks).
    #[doc(hidden)]
    pub fn forget_kept_answers(&self) {
        self.memo.clear();
        self.policies.forget();
    }

    fn decision(
        &self,
        decision_id: String,
        request: &AccessRequest,
        outcome: Outcome,
        policies: BTreeSet<String>,
    ) -> Decision {
        Decision {
            decision_id,
            outcome,
            determining_policies: policies.into_iter().collect(),
            purpose: request.purpose,
            policy_set_version: self.version.clone(),
        }
    }

    /// Evaluates a question: the outcome and the policies that determined it.
    fn answer(&self, request: &AccessRequest, asking: Asking<'_>) -> (Outcome, BTreeSet<String>) {
        match self.evaluate(request, None, asking) {
            Err(reason) => (Outcome::Deny { reason }, BTreeSet::new()),
            Ok(e) if e.permits() => (
                Outcome::Permit {
                    granted: ScopeSet::from_scopes(e.granted),
                    withheld: e.withheld,
                },
                e.policies,
            ),
            Ok(e) => match self.step_up_level(request, asking) {
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
    fn step_up_level(
        &self,
        request: &AccessRequest,
        asking: Asking<'_>,
    ) -> Option<(Aal, BTreeSet<String>)> {
        if matches!(request.stage, Stage::TokenExchange(_)) {
            return None;
        }
        let current = request.person.as_ref()?.aal();
        current.higher().find_map(|aal| {
            self.evaluate(request, Some(aal), asking)
                .ok()
                .filter(Evaluation::permits)
                .map(|e| (aal, e.policies))
        })
    }

    fn evaluate(
        &self,
        request: &AccessRequest,
        aal: Option<Aal>,
        asking: Asking<'_>,
    ) -> Result<Evaluation, DenyReason> {
        let internal = |error: BuildError| {
            tracing::error!(%error, "policy request could not be built");
            DenyReason::Internal
        };
        let mut built = build(&self.names, request, aal).map_err(internal)?;
        let asking = match asking {
            Asking::Whole => Ask::Whole,
            Asking::Split(slice) => {
                built.settle().map_err(internal)?;
                let response = self.cedar(slice.guards(), &built, &self.names.any_scope())?;
                Ask::Split {
                    slice,
                    guards_held: response.diagnostics().reason().cloned().collect(),
                }
            }
        };
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
            let mut pending = self
                .prepare(&asking, &mut built, request, &asked)
                .map_err(internal)?
                .into_iter();
            let answer = |e: &mut Evaluation, pending: Option<Pending>| {
                let pending = pending.ok_or(DenyReason::Internal)?;
                let answer = self.resolve(&asking, &built, pending)?;
                e.policies.extend(answer.determining);
                Ok::<_, DenyReason>(answer.refusal)
            };
            if identity {
                let reason = answer(&mut e, pending.next())?;
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
                    if granted_data.iter().any(|g| candidate.scope.is_within(g)) {
                        pending.next();
                        answered[*i] = true;
                        continue;
                    }
                    match answer(&mut e, pending.next())? {
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

    /// For each candidate, in order, its answer if known without Cedar, or the uid of a
    /// `Scope` entity built for it (only those candidates are built).
    fn prepare(
        &self,
        asking: &Ask<'_>,
        built: &mut Built,
        request: &AccessRequest,
        asked: &[CandidateScope<'_>],
    ) -> Result<Vec<Pending>, BuildError> {
        let mut pending = Vec::with_capacity(asked.len());
        let mut to_build = Vec::new();
        for candidate in asked {
            let key = scope_key(request, candidate);
            let mut scope_held = None;
            if let Ask::Split { slice, guards_held } = asking
                && let Some(held) = slice.scope_held(&key)
            {
                let (mixed, satisfied) = slice.in_play(guards_held, &held);
                if mixed.is_empty() {
                    pending.push(Pending::Known(self.combine(slice, satisfied)));
                    continue;
                }
                scope_held = Some(held);
            }
            pending.push(Pending::Ask {
                key,
                uid: None,
                scope_held,
            });
            to_build.push(*candidate);
        }
        let mut uids = built
            .add_scopes(&self.names, request, &to_build)?
            .into_iter();
        for p in &mut pending {
            if let Pending::Ask { uid, .. } = p {
                *uid = uids.next();
            }
        }
        Ok(pending)
    }

    /// The answer about one prepared candidate.
    fn resolve(
        &self,
        asking: &Ask<'_>,
        built: &Built,
        pending: Pending,
    ) -> Result<ScopeAnswer, DenyReason> {
        let (key, uid, scope_held) = match pending {
            Pending::Known(answer) => return Ok(answer),
            Pending::Ask {
                key,
                uid,
                scope_held,
            } => (key, uid.ok_or(DenyReason::Internal)?, scope_held),
        };
        let (slice, guards_held) = match asking {
            Ask::Whole => {
                return Ok(self.answer_of(&self.cedar(self.policies.full(), built, &uid)?));
            }
            Ask::Split { slice, guards_held } => (slice, guards_held),
        };
        let scope_held = match scope_held {
            Some(held) => held,
            None => {
                let response = self.cedar(slice.scope_parts(), built, &uid)?;
                let held: Arc<PolicyIds> =
                    Arc::new(response.diagnostics().reason().cloned().collect());
                slice.keep_scope_held(key, held.clone());
                held
            }
        };
        let (mixed, mut satisfied) = slice.in_play(guards_held, &scope_held);
        if !mixed.is_empty() {
            let parts = slice.mixed_parts(mixed).map_err(|error| {
                tracing::error!(%error, "policy parts could not be assembled");
                DenyReason::Internal
            })?;
            let response = self.cedar(&parts, built, &uid)?;
            satisfied.extend(response.diagnostics().reason().cloned());
        }
        Ok(self.combine(slice, satisfied))
    }

    /// Cedar's combination of the satisfied policies: any forbid denies (the forbids are
    /// determining); else any permit allows (the permits are); else nothing is permitted.
    fn combine(&self, slice: &Slice, satisfied: PolicyIds) -> ScopeAnswer {
        let (forbids, permits): (Vec<PolicyId>, Vec<PolicyId>) =
            satisfied.into_iter().partition(|id| slice.is_forbid(id));
        if forbids.is_empty() {
            ScopeAnswer {
                refusal: (permits.is_empty()).then_some(DenyReason::NotPermitted),
                determining: permits.iter().map(ToString::to_string).collect(),
            }
        } else {
            ScopeAnswer {
                refusal: Some(self.refusal_class(&forbids)),
                determining: forbids.iter().map(ToString::to_string).collect(),
            }
        }
    }

    /// The most specific reason the determining forbids give.
    fn refusal_class<'a>(&self, forbids: impl IntoIterator<Item = &'a PolicyId>) -> DenyReason {
        forbids
            .into_iter()
            .filter_map(|id| self.reasons.get(id))
            .copied()
            .max_by_key(|r| r.rank())
            .unwrap_or(DenyReason::NotPermitted)
    }

    fn cedar(
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

    /// Cedar's response as an answer: the refusal class (if any) and determining policies.
    fn answer_of(&self, response: &Response) -> ScopeAnswer {
        let determining = response.diagnostics().reason();
        ScopeAnswer {
            refusal: match response.decision() {
                CedarDecision::Allow => None,
                CedarDecision::Deny => Some(self.refusal_class(response.diagnostics().reason())),
            },
            determining: determining.map(ToString::to_string).collect(),
        }
    }
}
