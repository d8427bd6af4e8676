//! Passkey sign-in with discoverable credentials: the authenticator names the account (user
//! handle), so the page asks for nothing first and can offer autofill (conditional UI).
//! Every sign-in and every refusal is logged.

use serde_json::json;
use webauthn_rs::prelude::{Credential, Passkey, PublicKeyCredential, RequestChallengeResponse};

use super::ceremony::Ceremony;
use super::{PasskeyError, assurance, credential_id};
use crate::app::AppState;
use crate::clock;
use crate::oauth::issuance;
use crate::session::{AuthenticatedSession, CredentialRef};
use crate::store::accounts::StoredPasskey;
use crate::tlog::{Event, EventKind, NO_CLIENT};

/// Options for `navigator.credentials.get`, and the ceremony id to finish with.
pub async fn start(app: &AppState) -> Result<(String, RequestChallengeResponse), PasskeyError> {
    let (options, state) = super::relying_party(app)?
        .webauthn
        .start_discoverable_authentication()?;
    let id = super::relying_party(app)?
        .save(app.ephemeral.as_ref(), &Ceremony::Login { state })
        .await?;
    Ok((id, options))
}

/// Verify the assertion against the ceremony and the stored credential.
pub async fn finish(
    app: &AppState,
    ceremony: &str,
    response: &PublicKeyCredential,
) -> Result<AuthenticatedSession, PasskeyError> {
    let mut subject = None;
    let outcome = verify(app, ceremony, response, &mut subject).await;
    match &outcome {
        Ok((session, flags)) => log(app, session, flags).await?,
        Err(PasskeyError::Internal(_)) => {}
        Err(e) => {
            let mut event = Event::new(EventKind::CredentialPasskey, NO_CLIENT)
                .with_refusal(e.code())
                .with_record(json!({ "action": "login" }));
            if let Some(subject) = &subject {
                event = event.with_subject(subject);
            }
            if let Err(e) = issuance::log_event(app, event).await {
                tracing::error!(error = %e.description, "logging a passkey refusal failed");
            }
        }
    }
    outcome.map(|(session, _)| session)
}

/// The authenticator data flags of one assertion, recorded for every sign-in.
struct Flags {
    user_verified: bool,
    backup_eligible: bool,
    backup_state: bool,
}

async fn verify(
    app: &AppState,
    ceremony: &str,
    response: &PublicKeyCredential,
    subject_seen: &mut Option<String>,
) -> Result<(AuthenticatedSession, Flags), PasskeyError> {
    let Ceremony::Login { state } = super::relying_party(app)?
        .take(app.ephemeral.as_ref(), ceremony)
        .await?
    else {
        return Err(PasskeyError::CeremonyUnknown);
    };
    let (user, raw_id) = super::relying_party(app)?
        .webauthn
        .identify_discoverable_authentication(response)?;
    let stored = app
        .store
        .accounts
        .passkey(&credential_id(raw_id))
        .await?
        .filter(|p| p.subject == user.to_string())
        .ok_or(PasskeyError::UnknownCredential)?;
    *subject_seen = Some(stored.subject.clone());
    usable(&stored)?;
    let mut passkey: Passkey =
        serde_json::from_str(&stored.passkey).map_err(PasskeyError::internal)?;
    let credential = Credential::from(passkey.clone());
    let result = match super::relying_party(app)?
        .webauthn
        .finish_discoverable_authentication_v2(response, state, &credential)
    {
        Ok(result) => result,
        Err(e) => {
            let error = PasskeyError::from(e);
            if matches!(error, PasskeyError::CounterRegression) {
                app.store
                    .accounts
                    .flag(&stored.credential_id, clock::now())
                    .await?;
            }
            return Err(error);
        }
    };
    if !result.user_verified() {
        return Err(PasskeyError::UserNotVerified);
    }
    let now = clock::now();
    passkey.update_credential(&result);
    let updated = serde_json::to_string(&passkey).map_err(PasskeyError::internal)?;
    app.store
        .accounts
        .record_use(&stored.credential_id, &updated, result.backup_state(), now)
        .await?;
    let account = app
        .store
        .accounts
        .account(&stored.subject)
        .await?
        .ok_or(PasskeyError::UnknownCredential)?;
    let (acr, amr) = assurance(result.backup_eligible(), result.user_verified());
    let flags = Flags {
        user_verified: result.user_verified(),
        backup_eligible: result.backup_eligible(),
        backup_state: result.backup_state(),
    };
    let session = AuthenticatedSession {
        subject: stored.subject,
        auth_time: now,
        acr,
        amr,
        identity_assurance: account.identity_assurance,
        credential: CredentialRef {
            kind: "passkey".into(),
            id: stored.credential_id,
        },
    };
    Ok((session, flags))
}

fn usable(stored: &StoredPasskey) -> Result<(), PasskeyError> {
    if stored.revoked_at.is_some() {
        return Err(PasskeyError::RevokedCredential);
    }
    if stored.flagged_at.is_some() {
        return Err(PasskeyError::FlaggedCredential);
    }
    Ok(())
}

/// Log a passkey sign-in (UV, BE and BS go into the private record).
async fn log(
    app: &AppState,
    session: &AuthenticatedSession,
    flags: &Flags,
) -> Result<(), PasskeyError> {
    let event = Event::new(EventKind::CredentialPasskey, NO_CLIENT)
        .with_subject(&session.subject)
        .with_assurance(session.acr.as_deref(), &session.amr)
        .with_record(json!({
            "action": "login",
            "credential": session.credential.id,
            "uv": flags.user_verified,
            "be": flags.backup_eligible,
            "bs": flags.backup_state,
        }));
    issuance::log_event(app, event)
        .await
        .map_err(|e| PasskeyError::internal(e.description))
}
