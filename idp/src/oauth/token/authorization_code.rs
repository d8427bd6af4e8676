//! The authorization code grant (RFC 6749 §4.1.3 with RFC 7636 and RFC 9449 §10).

use std::time::Duration;

use super::{TokenResponse, log_index, token_type};
use crate::app::AppState;
use crate::clock;
use crate::ephemeral::keys;
use crate::error::{OAuthError, OAuthResult};
use crate::oauth::authorize::AuthorizationCode;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::clinician;
use crate::oauth::dpop::DpopProof;
use crate::oauth::issuance::{self, TokenSubject};
use crate::oauth::params::Params;
use crate::oauth::policy::{Asker, Question};
use crate::oauth::{pkce, purpose, scope, sha256_hex};
use crate::store::model::{GrantRecord, Issuance};
use glassgate_policies::Stage;

/// How long a redeemed code is remembered, so that a replay can revoke what it produced.
const REDEEMED_MEMORY: Duration = Duration::from_secs(3600);

pub async fn exchange(
    state: &AppState,
    client: &AuthenticatedClient,
    params: &Params,
    dpop: Option<&DpopProof>,
) -> OAuthResult<TokenResponse> {
    let code = params.require("code")?;
    let code_hash = sha256_hex(code);
    let stored = state
        .ephemeral
        .take(&keys::authorization_code(&code_hash))
        .await
        .map_err(OAuthError::server_error)?;
    let Some(stored) = stored else {
        return Err(replayed_or_unknown(state, &code_hash).await);
    };
    let code: AuthorizationCode =
        serde_json::from_slice(&stored).map_err(OAuthError::server_error)?;
    state
        .ephemeral
        .put(
            &keys::redeemed_code(&code_hash),
            code.grant_id.as_bytes(),
            REDEEMED_MEMORY,
        )
        .await
        .map_err(OAuthError::server_error)?;

    let request = &code.request;
    if request.client_id != client.id() {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if params.get("redirect_uri") != Some(request.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    pkce::verify(params.get("code_verifier"), &request.code_challenge)?;
    purpose::repeats_grant(
        params,
        "an authorization code",
        &request.purpose,
        request.patient.as_deref(),
    )?;
    if let Some(bound) = &request.dpop_jkt
        && dpop.map(|p| &p.jkt) != Some(bound)
    {
        return Err(OAuthError::invalid_dpop_proof(
            "the code is bound to another DPoP key (dpop_jkt)",
        ));
    }

    let session = &code.session;
    let person = clinician::check(state, &session.subject).await?;
    // Asked again: the directory, the account or the policy set may have changed since the
    // authorization.
    let permitted = state
        .policy
        .decide(Question {
            stage: Stage::Token,
            client_id: client.id(),
            purpose: &request.purpose,
            scope: &request.scope,
            asker: Some(Asker {
                subject: &session.subject,
                acr: session.acr.as_deref(),
                session_ial: Some(session.identity_assurance),
                person: &person,
            }),
            patient: request.patient.as_deref(),
        })
        .await?;
    let now = clock::now();
    let grant = GrantRecord {
        grant_id: code.grant_id.clone(),
        client_id: client.id().to_owned(),
        subject: session.subject.clone(),
        scope: permitted.scope.clone(),
        auth_time: session.auth_time,
        acr: session.acr.clone(),
        amr: session.amr.join(" "),
        created_at: now,
        expires_at: now + state.config.tokens.refresh_token_ttl,
        purpose: Some(purpose::to_stored(&request.purpose)),
        patient: permitted.patient.clone(),
    };
    let cnf_jkt = dpop.map(|p| p.jkt.as_str());
    let who = TokenSubject {
        client_id: client.id(),
        subject: &grant.subject,
        scope: &grant.scope,
        grant: Some(&grant),
        cnf_jkt,
        purpose: Some(&request.purpose),
        delegation: None,
        permitted: &permitted,
    };
    let (access_token, access_record) = issuance::access_token(state, &who)?;
    let id_token = if scope::contains(&grant.scope, "openid") {
        Some(issuance::id_token(
            state,
            &grant,
            request.nonce.as_deref(),
            client.client.record.id_token_alg.as_deref(),
            issuance::IdentityClaims {
                fhir_user: person
                    .active_clinician()
                    .filter(|_| scope::contains(&grant.scope, "fhirUser"))
                    .and_then(|c| c.fhir_user.as_deref()),
                verified_claims: clinician::verified_claims_for(
                    &grant.scope,
                    person.verified_claims.as_ref(),
                ),
            },
        )?)
    } else {
        None
    };
    // RFC 9449 §5: refresh tokens of public clients are bound to the DPoP key.
    let (refresh_token, refresh_records) = if client.client.record.allows_grant("refresh_token") {
        let bind = if client.is_public() { cnf_jkt } else { None };
        let (token, record) = issuance::refresh_token(state, &grant, &grant.scope, bind)?;
        (Some(token), vec![record])
    } else {
        (None, Vec::new())
    };
    let expires_in = access_record.expires_at - access_record.issued_at;
    let entry = issuance::issued_entry(
        state,
        issuance::Issued {
            grant_type: "authorization_code",
            access: &access_record,
            grant: Some(&grant),
            refresh: refresh_records.first(),
            id_token: id_token.as_ref().map(|t| t.jti.as_str()),
            clinician: person.active_clinician(),
            decision: &permitted,
            purpose: Some(&request.purpose),
        },
    )?;
    let outcome = state
        .issuance
        .commit(Issuance {
            at: now,
            grant: Some(grant.clone()),
            consume_refresh: None,
            access_tokens: vec![access_record],
            refresh_tokens: refresh_records,
            log: vec![entry],
        })
        .await?;
    Ok(TokenResponse {
        access_token,
        token_type: token_type(dpop),
        expires_in,
        scope: grant.scope,
        refresh_token,
        id_token: id_token.map(|t| t.token),
        authorization_details: Some(purpose::authorization_details(&request.purpose)),
        log_index: log_index(outcome),
        issued_token_type: None,
        patient: permitted.patient.clone(),
        grant_type: "authorization_code",
        purpose: crate::oauth::purpose::log_code(&request.purpose),
    })
}

/// RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it.
async fn replayed_or_unknown(state: &AppState, code_hash: &str) -> OAuthError {
    match state.ephemeral.get(&keys::redeemed_code(code_hash)).await {
        Ok(Some(grant_id)) => {
            let grant_id = String::from_utf8_lossy(&grant_id).into_owned();
            if let Err(e) = state
                .store
                .tokens
                .revoke_grant(&grant_id, clock::now())
                .await
            {
                return OAuthError::server_error(e);
            }
            tracing::warn!("authorization code replayed; its grant was revoked");
            OAuthError::invalid_grant(
                "the authorization code was already used; tokens issued from it are revoked",
            )
        }
        Ok(None) => OAuthError::invalid_grant("the authorization code is invalid or expired"),
        Err(e) => OAuthError::server_error(e),
    }
}
