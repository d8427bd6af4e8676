//! The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself.

use super::{TokenResponse, issue_access_only, token_type};
use crate::app::AppState;
use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::dpop::DpopProof;
use crate::oauth::issuance::TokenSubject;
use crate::oauth::params::Params;
use crate::oauth::policy::Question;
use crate::oauth::{purpose, scope};
use glassgate_policies::Stage;

pub async fn exchange(
    state: &AppState,
    client: &AuthenticatedClient,
    params: &Params,
    dpop: Option<&DpopProof>,
) -> OAuthResult<TokenResponse> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    let scope = scope::resolve(params.get("scope"), &client.client.record)?;
    if scope.is_empty() {
        // SMART Backend Services: a backend token names what it is for.
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "client_credentials needs a scope (this client registered none to default to)",
        ));
    }
    let purpose::Requested { purpose, patient } =
        purpose::requested_by_client(params, client.b2b.as_ref())?;
    let permitted = state
        .policy
        .decide(Question {
            stage: Stage::Token,
            client_id: client.id(),
            purpose: &purpose,
            scope: &scope,
            asker: None,
            patient: patient.as_deref(),
        })
        .await?;
    let scope = permitted.scope.clone();
    let who = TokenSubject {
        client_id: client.id(),
        subject: client.id(),
        scope: &scope,
        grant: None,
        cnf_jkt: dpop.map(|p| p.jkt.as_str()),
        purpose: Some(&purpose),
        delegation: None,
        permitted: &permitted,
    };
    let issued = issue_access_only(state, &who, "client_credentials", &permitted).await?;
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: token_type(dpop),
        expires_in: issued.expires_in,
        scope,
        refresh_token: None,
        id_token: None,
        authorization_details: Some(purpose::authorization_details(&purpose)),
        log_index: issued.log_index,
        issued_token_type: None,
        patient: permitted.patient.clone(),
        grant_type: "client_credentials",
        purpose: purpose::log_code(&purpose),
    })
}
