//! The issuance seam: every token the server hands out is minted here and committed
//! through [`IssuanceWriter::commit`] before the response is sent.
//!
//! The writer batches concurrent issuances into one transaction per round trip (group
//! commit), which is how one replica sustains thousands of durable issuances per second.
//! The verifiable log appends its entries inside that same transaction (see `commit_batch`),
//! so a token and its log entry exist together or not at all.

use std::sync::Arc;
use std::time::Instant;

use glassgate_keys::Algorithm;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::clinician::ClinicianStanding;
use super::policy::Permitted;
use crate::app::AppState;
use crate::clock;
use crate::error::{OAuthError, OAuthResult};
use crate::jose;
use crate::metrics::Metrics;
use crate::store::TokenRepository;
use crate::store::model::{
    AccessTokenRecord, GrantRecord, Issuance, IssuanceOutcome, PendingEntry, RefreshTokenRecord,
    TokenContext,
};
use crate::tlog::{Event, EventKind};

/// Largest batch written in one transaction.
const MAX_BATCH: usize = 512;

type Job = (Issuance, oneshot::Sender<Result<IssuanceOutcome, String>>);

#[derive(Clone)]
pub struct IssuanceWriter {
    sender: mpsc::Sender<Job>,
}

impl IssuanceWriter {
    pub fn spawn(tokens: Arc<dyn TokenRepository>, metrics: Arc<Metrics>) -> Self {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(tokens, metrics, receiver));
        Self { sender }
    }

    /// Durably commit one issuance; returns once it is in the database.
    pub async fn commit(&self, issuance: Issuance) -> OAuthResult<IssuanceOutcome> {
        // No token leaves without its log entry: fail closed on a path that forgot one.
        let issues_tokens =
            !issuance.access_tokens.is_empty() || !issuance.refresh_tokens.is_empty();
        if issues_tokens && issuance.log.is_empty() {
            return Err(OAuthError::server_error(
                "an issuance without a log entry was refused",
            ));
        }
        let (reply, outcome) = oneshot::channel();
        self.sender
            .send((issuance, reply))
            .await
            .map_err(|_| OAuthError::server_error("issuance writer stopped"))?;
        outcome
            .await
            .map_err(|_| OAuthError::server_error("issuance writer dropped a job"))?
            .map_err(OAuthError::server_error)
    }
}

async fn run(
    tokens: Arc<dyn TokenRepository>,
    metrics: Arc<Metrics>,
    mut receiver: mpsc::Receiver<Job>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (batch, replies): (Vec<Issuance>, Vec<_>) = jobs.drain(..).unzip();
        let started = Instant::now();
        let committed = commit_batch(tokens.as_ref(), &batch).await;
        metrics.group_commit(batch.len(), started.elapsed());
        match committed {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, size = batch.len(), "issuance batch failed");
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// One transaction for the whole batch: tokens and the log entries recording them.
async fn commit_batch(
    tokens: &dyn TokenRepository,
    batch: &[Issuance],
) -> Result<Vec<IssuanceOutcome>, crate::store::StoreError> {
    tokens.commit(batch).await
}

/// RFC 9449 §6: the confirmation claim of a DPoP-bound token.
#[derive(Serialize)]
struct Confirmation<'a> {
    jkt: &'a str,
}

/// RFC 9068 §2.2 access-token claims.
#[derive(Serialize)]
struct AccessTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    iat: i64,
    exp: i64,
    jti: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amr: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<&'a serde_json::Value>,
    /// The one purpose of use this token serves, in both code systems.
    #[serde(skip_serializing_if = "Option::is_none")]
    purpose_of_use: Option<&'a glassgate_policies::PurposeOfUse>,
    /// SMART launch context: the patient the token is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    patient: Option<&'a str>,
    /// The patient's consent version the issuing decision honoured.
    #[serde(skip_serializing_if = "Option::is_none")]
    consent_reference: Option<&'a str>,
}

/// Who the token is for and what it may do.
pub struct TokenSubject<'a> {
    pub client_id: &'a str,
    pub subject: &'a str,
    pub scope: &'a str,
    /// The user grant, absent for `client_credentials`.
    pub grant: Option<&'a GrantRecord>,
    pub cnf_jkt: Option<&'a str>,
    pub purpose: Option<&'a glassgate_policies::PurposeOfUse>,
    /// For a token exchange: who acts, and what the token inherits from the subject token.
    pub delegation: Option<&'a Delegated>,
    /// The decision that permitted it: the patient context and consent it carries.
    pub permitted: &'a Permitted,
}

/// SMART Backend Services: a backend's access token lives at most this long (seconds).
pub const BACKEND_TOKEN_MAX_TTL: i64 = 300;

/// What an exchanged token (RFC 8693) carries beyond its subject.
pub struct Delegated {
    /// The `act` claim (RFC 8693 §4.1): the acting client, nesting any earlier actor.
    pub act: serde_json::Value,
    /// The subject token's grant: revoking it revokes the exchanged token too.
    pub grant_id: Option<String>,
    /// The exchanged token expires no later than the subject token.
    pub not_after: i64,
}

pub fn access_token(
    state: &AppState,
    who: &TokenSubject<'_>,
) -> OAuthResult<(String, AccessTokenRecord)> {
    let now = clock::now();
    let jti = super::token_id()?;
    let ttl = match (who.grant, who.delegation) {
        // A client acting for itself (client_credentials).
        (None, None) => state
            .config
            .tokens
            .access_token_ttl
            .min(BACKEND_TOKEN_MAX_TTL),
        _ => state.config.tokens.access_token_ttl,
    };
    // UDAP B2B: a member's access tokens live at most 60 minutes.
    let ttl = if crate::udap::is_member(who.client_id) {
        ttl.min(crate::udap::B2B_TOKEN_MAX_TTL)
    } else {
        ttl
    };
    let expires_at = match who.delegation {
        Some(d) => (now + ttl).min(d.not_after),
        None => now + ttl,
    };
    let audience = state
        .config
        .tokens
        .default_audience
        .as_deref()
        .unwrap_or(&state.config.issuer);
    let claims = AccessTokenClaims {
        iss: &state.config.issuer,
        sub: who.subject,
        aud: audience,
        client_id: who.client_id,
        iat: now,
        exp: expires_at,
        jti: &jti,
        scope: who.scope,
        auth_time: who.grant.map(|g| g.auth_time),
        acr: who.grant.and_then(|g| g.acr.as_deref()),
        amr: who
            .grant
            .map(|g| g.amr.split(' ').filter(|m| !m.is_empty()).collect()),
        cnf: who.cnf_jkt.map(|jkt| Confirmation { jkt }),
        act: who.delegation.map(|d| &d.act),
        purpose_of_use: who.purpose,
        patient: who.permitted.patient.as_deref(),
        consent_reference: who.permitted.consent_reference.as_deref(),
    };
    let signer = state
        .keys
        .ring()
        .current(state.keys.default_algorithm())
        .map_err(OAuthError::server_error)?;
    let token = jose::sign(signer.as_ref(), "at+jwt", &claims).map_err(OAuthError::server_error)?;
    let record = AccessTokenRecord {
        jti,
        client_id: who.client_id.to_owned(),
        subject: who.subject.to_owned(),
        grant_id: who
            .grant
            .map(|g| g.grant_id.clone())
            .or_else(|| who.delegation.and_then(|d| d.grant_id.clone())),
        scope: who.scope.to_owned(),
        audience: audience.to_owned(),
        issued_at: now,
        expires_at,
        cnf_jkt: who.cnf_jkt.map(str::to_owned),
        purpose: who.purpose.map(super::purpose::to_stored),
        context: TokenContext {
            patient: who.permitted.patient.clone(),
            consent_reference: who.permitted.consent_reference.clone(),
            act: who.delegation.map(|d| d.act.clone()),
        },
    };
    Ok((token, record))
}

/// OIDC Core §2 ID-token claims.
#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    azp: &'a str,
    iat: i64,
    exp: i64,
    /// Names the token in the log: its entry is found by this `jti` too.
    jti: &'a str,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    amr: Vec<&'a str>,
    /// SMART App Launch: the person's FHIR resource (a clinician's NPD Practitioner URL).
    #[serde(rename = "fhirUser", skip_serializing_if = "Option::is_none")]
    fhir_user: Option<&'a str>,
    /// OpenID Connect for Identity Assurance: IAL2 evidence once the person is proofed.
    #[serde(skip_serializing_if = "Option::is_none")]
    verified_claims: Option<serde_json::Value>,
}

/// Claims about the person beyond `sub` that an ID token may carry.
#[derive(Debug, Default)]
pub struct IdentityClaims<'a> {
    pub fhir_user: Option<&'a str>,
    pub verified_claims: Option<serde_json::Value>,
}

/// A signed ID token and its `jti`, which its log entry records.
pub struct IdToken {
    pub token: String,
    pub jti: String,
}

pub fn id_token(
    state: &AppState,
    grant: &GrantRecord,
    nonce: Option<&str>,
    algorithm: Option<&str>,
    identity: IdentityClaims<'_>,
) -> OAuthResult<IdToken> {
    let now = clock::now();
    let jti = super::token_id()?;
    let claims = IdTokenClaims {
        iss: &state.config.issuer,
        sub: &grant.subject,
        aud: &grant.client_id,
        azp: &grant.client_id,
        iat: now,
        exp: now + state.config.tokens.id_token_ttl,
        jti: &jti,
        auth_time: grant.auth_time,
        nonce,
        acr: grant.acr.as_deref(),
        amr: grant.amr.split(' ').filter(|m| !m.is_empty()).collect(),
        fhir_user: identity.fhir_user,
        verified_claims: identity.verified_claims,
    };
    let algorithm = algorithm
        .and_then(Algorithm::from_jose_name)
        .unwrap_or_else(|| state.keys.default_algorithm());
    let signer = state
        .keys
        .ring()
        .current(algorithm)
        .map_err(OAuthError::server_error)?;
    let token = jose::sign(signer.as_ref(), "JWT", &claims).map_err(OAuthError::server_error)?;
    Ok(IdToken { token, jti })
}

/// A new opaque refresh token of `grant` (its hash is what is stored).
pub fn refresh_token(
    state: &AppState,
    grant: &GrantRecord,
    scope: &str,
    cnf_jkt: Option<&str>,
) -> OAuthResult<(String, RefreshTokenRecord)> {
    let now = clock::now();
    let token = super::random_token()?;
    let record = RefreshTokenRecord {
        token_hash: super::sha256_hex(&token),
        grant_id: grant.grant_id.clone(),
        client_id: grant.client_id.clone(),
        scope: scope.to_owned(),
        issued_at: now,
        expires_at: grant
            .expires_at
            .min(now + state.config.tokens.refresh_token_ttl),
        cnf_jkt: cnf_jkt.map(str::to_owned),
    };
    Ok((token, record))
}

/// What one token response issues, for its log entry.
pub struct Issued<'a> {
    pub grant_type: &'a str,
    pub access: &'a AccessTokenRecord,
    pub grant: Option<&'a GrantRecord>,
    pub refresh: Option<&'a RefreshTokenRecord>,
    /// The `jti` of the ID token issued with the access token, if one was.
    pub id_token: Option<&'a str>,
    /// The directory's answer, for a clinician's token.
    pub clinician: Option<&'a ClinicianStanding>,
    /// The policy decision that permitted it.
    pub decision: &'a Permitted,
    /// The purpose of use the access token serves.
    pub purpose: Option<&'a glassgate_policies::PurposeOfUse>,
}

/// The log entry recording one token response, built from what it issues.
pub fn issued_entry(state: &AppState, issued: Issued<'_>) -> OAuthResult<PendingEntry> {
    let Issued {
        grant_type,
        access,
        grant,
        refresh,
        id_token,
        clinician,
        decision,
        purpose,
    } = issued;
    let mut event = Event::new(EventKind::TokenIssued, &access.client_id)
        .with_subject(&access.subject)
        .with_jti(&access.jti)
        .with_id_token_jti(id_token)
        .with_record(serde_json::json!({
            "grant_type": grant_type,
            "scope": access.scope,
            "audience": access.audience,
            "issued_at": access.issued_at,
            "expires_at": access.expires_at,
            "cnf_jkt": access.cnf_jkt,
            "grant_id": grant.map(|g| &g.grant_id),
            "refresh_token_hash": refresh.map(|r| &r.token_hash),
            "refresh_expires_at": refresh.map(|r| r.expires_at),
            "id_token": id_token.is_some(),
            "directory_release": clinician.and_then(|c| c.release.as_deref()),
            "fhir_user": clinician.and_then(|c| c.fhir_user.as_deref()),
        }));
    if let Some(c) = clinician {
        event = event.with_npi(&c.npi);
    }
    if let Some(p) = purpose {
        event = event.with_purpose(super::purpose::log_code(p));
    }
    if let Some(g) = grant {
        let amr: Vec<String> = g
            .amr
            .split(' ')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
        event = event.with_assurance(g.acr.as_deref(), &amr);
    }
    state
        .log
        .entry(decision.logged(event), &state.config.issuer)
        .map_err(OAuthError::server_error)
}

/// Log an event that issues nothing (a refusal, an administrative change); it is sequenced
/// through the same batched writer as issuances.
pub async fn log_event(state: &AppState, event: Event) -> OAuthResult<()> {
    let entry = state
        .log
        .entry(event, &state.config.issuer)
        .map_err(OAuthError::server_error)?;
    state
        .issuance
        .commit(Issuance {
            at: clock::now(),
            log: vec![entry],
            ..Issuance::default()
        })
        .await?;
    Ok(())
}
