//! Token exchange (RFC 8693) for delegation: a vendor acting for a covered entity, under a
//! business associate agreement on record, exchanges that entity's access token for one of
//! its own that names it in `act` and grants the same or a narrower scope, for the same
//! purpose or a sub-purpose. Policy decides (`delegation.cedar`, `token-lineage.cedar`).

use glassgate_policies::{Delegation, PriorGrant, ScopeSet, Stage};
use serde_json::{Value, json};

use super::{TokenResponse, issue_access_only, token_type};
use crate::app::AppState;
use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop::DpopProof;
use crate::oauth::issuance::{Delegated, TokenSubject};
use crate::oauth::params::Params;
use crate::oauth::policy::Question;
use crate::oauth::resource::{self, Standing};
use crate::oauth::{purpose, scope};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

pub async fn exchange(
    state: &AppState,
    client: &AuthenticatedClient,
    params: &Params,
    dpop: Option<&DpopProof>,
) -> OAuthResult<TokenResponse> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot exchange tokens",
        ));
    }
    let presented = params.require("subject_token")?;
    if params.require("subject_token_type")? != ACCESS_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(
            "subject_token_type must be urn:ietf:params:oauth:token-type:access_token",
        ));
    }
    if params
        .get("requested_token_type")
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return Err(OAuthError::invalid_request(
            "only access tokens can be requested",
        ));
    }
    if params.get("actor_token").is_some() {
        return Err(OAuthError::invalid_request(
            "actor_token is not supported: the acting party is the authenticated client",
        ));
    }
    let subject = match resource::standing(state, presented).await? {
        Standing::Active(subject) => subject,
        Standing::EndedByConsent { patient } => {
            return Err(OAuthError::invalid_grant(
                "subject_token was ended by the patient's consent restrictions",
            )
            .about_patient(Some(patient)));
        }
        Standing::Inactive => {
            return Err(OAuthError::invalid_grant(
                "subject_token is not an active access token of this server",
            ));
        }
    };
    if subject.cnf_jkt().is_some() {
        return Err(OAuthError::invalid_grant(
            "a DPoP-bound subject_token can only be used by the holder of its key",
        ));
    }
    let record = &subject.stored.record;
    let prior_purpose = purpose::from_stored(record.purpose.as_deref())
        .ok_or_else(|| OAuthError::invalid_grant("subject_token has no purpose of use"))?;
    let purpose = purpose::optional_from_params(params)?.unwrap_or(prior_purpose);
    let requested = scope::resolve(
        Some(params.get("scope").unwrap_or(&record.scope)),
        &client.client.record,
    )?;
    let on_behalf_of = state.policy.client(&record.client_id).organisation;
    let acting = state.policy.client(client.id()).organisation;
    let delegation = Delegation {
        baa: state.policy.agreement(&on_behalf_of.id, &acting.id),
        on_behalf_of,
        subject_token: PriorGrant {
            scopes: ScopeSet::parse(&record.scope)
                .map_err(|_| OAuthError::invalid_grant("subject_token's scope is not valid"))?,
            purpose: prior_purpose,
        },
    };
    let permitted = state
        .policy
        .decide(Question {
            stage: Stage::TokenExchange(delegation),
            client_id: client.id(),
            purpose: &purpose,
            scope: &requested,
            asker: None,
            // The exchanged token is about the same patient as the subject token.
            patient: record.context.patient.as_deref(),
        })
        .await?;
    let delegated = Delegated {
        act: actor(client.id(), subject.claims.get("act")),
        grant_id: record.grant_id.clone(),
        not_after: record.expires_at,
    };
    let who = TokenSubject {
        client_id: client.id(),
        subject: &record.subject,
        scope: &permitted.scope,
        grant: None,
        cnf_jkt: dpop.map(|p| p.jkt.as_str()),
        purpose: Some(&purpose),
        delegation: Some(&delegated),
        permitted: &permitted,
    };
    let issued = issue_access_only(state, &who, GRANT_TYPE, &permitted).await?;
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: token_type(dpop),
        expires_in: issued.expires_in,
        scope: permitted.scope,
        refresh_token: None,
        id_token: None,
        authorization_details: Some(purpose::authorization_details(&purpose)),
        log_index: issued.log_index,
        issued_token_type: Some(ACCESS_TOKEN_TYPE),
        patient: permitted.patient.clone(),
        grant_type: "token_exchange",
        purpose: purpose::log_code(&purpose),
    })
}

/// RFC 8693 §4.1: the acting client, with the subject token's own actor nested inside.
fn actor(client_id: &str, earlier: Option<&Value>) -> Value {
    let mut act = json!({ "sub": client_id });
    if let (Some(earlier), Some(object)) = (earlier, act.as_object_mut()) {
        object.insert("act".into(), earlier.clone());
    }
    act
}
