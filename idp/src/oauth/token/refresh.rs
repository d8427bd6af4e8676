//! The refresh token grant (RFC 6749 §6) with rotation: each refresh token works once;
//! presenting a used one revokes the whole grant (RFC 9700 §4.14.2).

use super::{TokenResponse, log_index, token_type};
use crate::app::AppState;
use crate::clock;
use crate::error::{OAuthError, OAuthResult};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop::DpopProof;
use crate::oauth::issuance::{self, TokenSubject};
use crate::oauth::params::Params;
use crate::oauth::policy::{Asker, Question};
use crate::oauth::{scope, sha256_hex};
use crate::store::model::{Issuance, IssuanceOutcome};
use glassgate_policies::{PriorGrant, PurposeOfUse, ScopeSet, Stage};

pub async fn exchange(
    state: &AppState,
    client: &AuthenticatedClient,
    params: &Params,
    dpop: Option<&DpopProof>,
) -> OAuthResult<TokenResponse> {
    let presented = params.require("refresh_token")?;
    let token_hash = sha256_hex(presented);
    let current = state
        .store
        .tokens
        .refresh_token(&token_hash)
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
    let now = clock::now();
    if current.record.client_id != client.id() {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if current.revoked {
        return Err(OAuthError::invalid_grant(
            "the refresh token has been revoked",
        ));
    }
    if current.used {
        return Err(reuse_detected(state, &current.grant.grant_id).await);
    }
    if current.record.expires_at < now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    if let Some(bound) = &current.record.cnf_jkt
        && dpop.map(|p| &p.jkt) != Some(bound)
    {
        return Err(OAuthError::invalid_dpop_proof(
            "the refresh token is bound to another DPoP key",
        ));
    }
    let scope = scope::narrow(params.get("scope"), &current.record.scope)?;
    let grant = &current.grant;
    let purpose = refreshed_purpose(params, grant)?;
    let person = crate::oauth::clinician::check(state, &grant.subject).await?;
    let prior = PriorGrant {
        scopes: ScopeSet::parse(&current.record.scope)
            .map_err(|_| OAuthError::invalid_grant("the grant's scope is no longer valid"))?,
        purpose,
    };
    let permitted = state
        .policy
        .decide(Question {
            stage: Stage::Refresh(prior),
            client_id: client.id(),
            purpose: &purpose,
            scope: &scope,
            asker: Some(Asker {
                subject: &grant.subject,
                acr: grant.acr.as_deref(),
                session_ial: None,
                person: &person,
            }),
            patient: grant.patient.as_deref(),
        })
        .await?;
    let scope = permitted.scope.clone();
    let who = TokenSubject {
        client_id: client.id(),
        subject: &grant.subject,
        scope: &scope,
        grant: Some(grant),
        cnf_jkt: dpop.map(|p| p.jkt.as_str()),
        purpose: Some(&purpose),
        delegation: None,
        permitted: &permitted,
    };
    let (access_token, access_record) = issuance::access_token(state, &who)?;
    // The successor keeps the original scope: narrowing applies to this access token only.
    let (refresh_token, refresh_record) = issuance::refresh_token(
        state,
        grant,
        &current.record.scope,
        current.record.cnf_jkt.as_deref(),
    )?;
    let expires_in = access_record.expires_at - access_record.issued_at;
    let entry = issuance::issued_entry(
        state,
        issuance::Issued {
            grant_type: "refresh_token",
            access: &access_record,
            grant: Some(grant),
            refresh: Some(&refresh_record),
            id_token: None,
            clinician: person.active_clinician(),
            decision: &permitted,
            purpose: Some(&purpose),
        },
    )?;
    let outcome = state
        .issuance
        .commit(Issuance {
            at: now,
            grant: None,
            consume_refresh: Some(token_hash),
            access_tokens: vec![access_record],
            refresh_tokens: vec![refresh_record],
            log: vec![entry],
        })
        .await?;
    if outcome == IssuanceOutcome::RefreshAlreadyUsed {
        return Err(reuse_detected(state, &grant.grant_id).await);
    }
    Ok(TokenResponse {
        access_token,
        token_type: token_type(dpop),
        expires_in,
        scope,
        refresh_token: Some(refresh_token),
        id_token: None,
        authorization_details: Some(crate::oauth::purpose::authorization_details(&purpose)),
        log_index: log_index(outcome),
        issued_token_type: None,
        patient: permitted.patient.clone(),
        grant_type: "refresh_token",
        purpose: crate::oauth::purpose::log_code(&purpose),
    })
}

async fn reuse_detected(state: &AppState, grant_id: &str) -> OAuthError {
    if let Err(e) = state
        .store
        .tokens
        .revoke_grant(grant_id, clock::now())
        .await
    {
        return OAuthError::server_error(e);
    }
    tracing::warn!("rotated refresh token reused; its grant was revoked");
    OAuthError::invalid_grant("the refresh token was already used; the grant is revoked")
}

/// The purpose the new access token serves: the grant's. A refresh request may repeat the
/// grant's purpose and patient context (policy `purpose-bound-refresh`); another one, even a
/// sub-purpose, needs a new authorization. A grant from before purposes were recorded cannot
/// be refreshed (policy needs its purpose).
fn refreshed_purpose(
    params: &Params,
    grant: &crate::store::model::GrantRecord,
) -> OAuthResult<PurposeOfUse> {
    let granted =
        crate::oauth::purpose::from_stored(grant.purpose.as_deref()).ok_or_else(|| {
            OAuthError::invalid_grant(
                "this grant has no recorded purpose of use; authorize again with one",
            )
        })?;
    crate::oauth::purpose::repeats_grant(
        params,
        "a refresh token",
        &granted,
        grant.patient.as_deref(),
    )?;
    Ok(granted)
}
