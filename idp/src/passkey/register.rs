//! Passkey registration: enrollment by clinician invitation, another passkey for a signed-in
//! person, and enrollment or recovery after an identity proof. Every outcome is logged.

use serde_json::json;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Credential, CredentialID, Passkey, RegisterPublicKeyCredential, Uuid,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::ceremony::{Ceremony, Enrolling};
use super::{PasskeyError, assurance, credential_id};
use crate::app::AppState;
use crate::clock;
use crate::oauth::{issuance, sha256_hex};
use crate::session::{AuthenticatedSession, CredentialRef, IdentityAssurance};
use crate::store::accounts::{Account, AccountKind, Enrollment, EnrollmentOutcome, StoredPasskey};
use crate::tlog::{Event, EventKind, NO_CLIENT};

pub use super::ceremony::Enrolling as Purpose;

/// Start enrolling a clinician with an invitation token (from `glassgate admin invite`).
/// The invitation is checked here for a clear early answer, and redeemed atomically at finish.
pub async fn start_invitation(
    app: &AppState,
    token: &str,
    display_name: &str,
) -> Result<(String, CreationChallengeResponse), PasskeyError> {
    let display_name = display_name_of(display_name)?;
    let token_hash = sha256_hex(token);
    let invitation = app
        .store
        .accounts
        .invitation(&token_hash)
        .await?
        .ok_or(PasskeyError::InvitationUnknown)?;
    if invitation.redeemed_at.is_some() {
        return Err(PasskeyError::InvitationUsed);
    }
    if invitation.expires_at <= clock::now() {
        return Err(PasskeyError::InvitationExpired);
    }
    if app
        .store
        .accounts
        .account_by_npi(&invitation.npi)
        .await?
        .is_some()
    {
        return Err(PasskeyError::AccountExists);
    }
    let enrolling = Enrolling::Invitation {
        token_hash,
        npi: invitation.npi,
        display_name: display_name.clone(),
    };
    start(app, Uuid::new_v4(), &display_name, Vec::new(), enrolling).await
}

/// Start registering another passkey on a signed-in person's account.
pub async fn start_additional(
    app: &AppState,
    subject: &str,
) -> Result<(String, CreationChallengeResponse), PasskeyError> {
    let account = app
        .store
        .accounts
        .account(subject)
        .await?
        .ok_or(PasskeyError::NotSignedIn)?;
    let user = Uuid::parse_str(subject).map_err(PasskeyError::internal)?;
    let exclude = existing_credentials(app, subject).await?;
    start(
        app,
        user,
        &account.display_name,
        exclude,
        Enrolling::AnotherPasskey,
    )
    .await
}

/// Start enrolling (or recovering) the person an identity proof established. Recovery needs
/// a proof bound to this browser's origin (`may_recover`, the Digital Credentials API): a
/// cross-device proof only ever enrolls a new account. (The proof was checked when it was
/// spent; this closes the window until here, and the unique commitment closes it until the
/// enrollment is written.)
pub async fn start_proofed(
    app: &AppState,
    display_name: &str,
    commitment: &str,
    verified_claims: serde_json::Value,
    may_recover: bool,
) -> Result<(String, CreationChallengeResponse), PasskeyError> {
    let existing = app.store.accounts.account_by_commitment(commitment).await?;
    let (user, exclude, recovery) = match &existing {
        Some(_) if !may_recover => {
            return Err(PasskeyError::Invalid(
                crate::proofing::ProofingError::RecoveryNeedsOriginBoundChannel.to_string(),
            ));
        }
        Some(account) => (
            Uuid::parse_str(&account.subject).map_err(PasskeyError::internal)?,
            existing_credentials(app, &account.subject).await?,
            true,
        ),
        None => (Uuid::new_v4(), Vec::new(), false),
    };
    let enrolling = Enrolling::Proofed {
        recovery,
        display_name: display_name.to_owned(),
        commitment: commitment.to_owned(),
        verified_claims,
    };
    start(app, user, display_name, exclude, enrolling).await
}

async fn existing_credentials(
    app: &AppState,
    subject: &str,
) -> Result<Vec<CredentialID>, PasskeyError> {
    let passkeys = app.store.accounts.passkeys(subject).await?;
    Ok(passkeys
        .iter()
        .filter(|p| p.revoked_at.is_none())
        .filter_map(|p| serde_json::from_str::<Passkey>(&p.passkey).ok())
        .map(|p| p.cred_id().clone())
        .collect())
}

async fn start(
    app: &AppState,
    user: Uuid,
    display_name: &str,
    exclude: Vec<CredentialID>,
    enrolling: Enrolling,
) -> Result<(String, CreationChallengeResponse), PasskeyError> {
    let exclude = (!exclude.is_empty()).then_some(exclude);
    let (mut options, state) = super::relying_party(app)?
        .webauthn
        .start_passkey_registration(user, display_name, display_name, exclude)?;
    // Discoverable credentials: sign-in starts without a user name (and with autofill).
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    let ceremony = Ceremony::Registration {
        state,
        subject: user.to_string(),
        enrolling,
    };
    let id = super::relying_party(app)?
        .save(app.ephemeral.as_ref(), &ceremony)
        .await?;
    Ok((id, options))
}

/// A registered passkey, and the session the registration itself establishes (registration
/// with user verification is an AAL2 authentication).
pub struct Registered {
    pub session: AuthenticatedSession,
    pub credential_id: String,
}

pub async fn finish(
    app: &AppState,
    ceremony: &str,
    response: &RegisterPublicKeyCredential,
    name: &str,
    signed_in: Option<&str>,
) -> Result<Registered, PasskeyError> {
    let outcome = finish_inner(app, ceremony, response, name, signed_in).await;
    if let Err(e) = &outcome {
        log_refusal(app, e).await;
    }
    outcome
}

async fn finish_inner(
    app: &AppState,
    ceremony: &str,
    response: &RegisterPublicKeyCredential,
    name: &str,
    signed_in: Option<&str>,
) -> Result<Registered, PasskeyError> {
    let name = passkey_name_of(name)?;
    let Ceremony::Registration {
        state,
        subject,
        enrolling,
    } = super::relying_party(app)?
        .take(app.ephemeral.as_ref(), ceremony)
        .await?
    else {
        return Err(PasskeyError::CeremonyUnknown);
    };
    if matches!(enrolling, Enrolling::AnotherPasskey) && signed_in != Some(subject.as_str()) {
        return Err(PasskeyError::NotSignedIn);
    }
    let passkey = super::relying_party(app)?
        .webauthn
        .finish_passkey_registration(response, &state)?;
    let credential = Credential::from(passkey.clone());
    let now = clock::now();
    let stored = StoredPasskey {
        credential_id: credential_id(passkey.cred_id()),
        subject: subject.clone(),
        name,
        passkey: serde_json::to_string(&passkey).map_err(PasskeyError::internal)?,
        backup_eligible: credential.backup_eligible,
        backup_state: credential.backup_state,
        created_at: now,
        last_used_at: Some(now),
        revoked_at: None,
        flagged_at: None,
    };
    let (enrollment, action, ial) = enrollment_for(app, &enrolling, stored.clone(), now).await?;
    match app.store.accounts.enroll(&enrollment).await? {
        EnrollmentOutcome::Enrolled => {}
        EnrollmentOutcome::InvitationUnknown => return Err(PasskeyError::InvitationUnknown),
        EnrollmentOutcome::InvitationUsed => return Err(PasskeyError::InvitationUsed),
        EnrollmentOutcome::InvitationExpired => return Err(PasskeyError::InvitationExpired),
        EnrollmentOutcome::AccountExists => return Err(PasskeyError::AccountExists),
        EnrollmentOutcome::CredentialExists => return Err(PasskeyError::CredentialExists),
    }
    let mut revoked = 0;
    if let Enrolling::Proofed {
        recovery: true,
        commitment,
        verified_claims,
        ..
    } = &enrolling
    {
        app.store
            .accounts
            .record_proofing(&subject, commitment, verified_claims, now)
            .await?;
        revoked = app
            .store
            .accounts
            .revoke_all_except(&subject, &stored.credential_id, now)
            .await?;
    }
    let (acr, amr) = assurance(credential.backup_eligible, credential.user_verified);
    let event = Event::new(EventKind::CredentialPasskey, NO_CLIENT)
        .with_subject(&subject)
        .with_assurance(acr.as_deref(), &amr)
        .with_record(json!({
            "action": action,
            "credential": stored.credential_id,
            "uv": credential.user_verified,
            "be": credential.backup_eligible,
            "bs": credential.backup_state,
            "revoked_others": revoked,
        }));
    issuance::log_event(app, event)
        .await
        .map_err(|e| PasskeyError::internal(e.description))?;
    Ok(Registered {
        session: AuthenticatedSession {
            subject,
            auth_time: now,
            acr,
            amr,
            identity_assurance: ial,
            credential: CredentialRef {
                kind: "passkey".into(),
                id: stored.credential_id.clone(),
            },
        },
        credential_id: stored.credential_id,
    })
}

/// What the enrollment writes, the logged action, and the resulting identity assurance.
async fn enrollment_for(
    app: &AppState,
    enrolling: &Enrolling,
    passkey: StoredPasskey,
    now: i64,
) -> Result<(Enrollment, &'static str, IdentityAssurance), PasskeyError> {
    let new_account = |kind, display_name: &str, ial, npi, commitment, claims| Account {
        subject: passkey.subject.clone(),
        kind,
        display_name: display_name.to_owned(),
        identity_assurance: ial,
        npi,
        identity_commitment: commitment,
        verified_claims: claims,
        created_at: now,
        updated_at: now,
    };
    Ok(match enrolling {
        Enrolling::Invitation {
            token_hash,
            npi,
            display_name,
        } => (
            Enrollment {
                new_account: Some(new_account(
                    AccountKind::Clinician,
                    display_name,
                    IdentityAssurance::Ial1,
                    Some(npi.clone()),
                    None,
                    None,
                )),
                invitation_hash: Some(token_hash.clone()),
                passkey,
                now,
            },
            "enrolled",
            IdentityAssurance::Ial1,
        ),
        Enrolling::AnotherPasskey => {
            let ial = app
                .store
                .accounts
                .account(&passkey.subject)
                .await?
                .map(|a| a.identity_assurance)
                .ok_or(PasskeyError::NotSignedIn)?;
            (
                Enrollment {
                    new_account: None,
                    invitation_hash: None,
                    passkey,
                    now,
                },
                "added",
                ial,
            )
        }
        Enrolling::Proofed {
            recovery,
            display_name,
            commitment,
            verified_claims,
        } => (
            Enrollment {
                new_account: (!recovery).then(|| {
                    new_account(
                        AccountKind::Patient,
                        display_name,
                        IdentityAssurance::Ial2,
                        None,
                        Some(commitment.clone()),
                        Some(verified_claims.clone()),
                    )
                }),
                invitation_hash: None,
                passkey,
                now,
            },
            if *recovery { "recovered" } else { "enrolled" },
            IdentityAssurance::Ial2,
        ),
    })
}

/// Log a refused registration (its class only).
pub async fn log_refusal(app: &AppState, error: &PasskeyError) {
    if matches!(error, PasskeyError::Internal(_)) {
        return;
    }
    let event = Event::new(EventKind::CredentialPasskey, NO_CLIENT)
        .with_refusal(error.code())
        .with_record(json!({ "action": "register" }));
    if let Err(e) = issuance::log_event(app, event).await {
        tracing::error!(error = %e.description, "logging a passkey refusal failed");
    }
}

fn display_name_of(value: &str) -> Result<String, PasskeyError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 100 || value.chars().any(char::is_control) {
        return Err(PasskeyError::Invalid(
            "give a name of 1 to 100 characters".into(),
        ));
    }
    Ok(value.to_owned())
}

/// The label a person gives a passkey ("work laptop"); defaults to "Passkey".
pub fn passkey_name_of(value: &str) -> Result<String, PasskeyError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok("Passkey".into());
    }
    if value.chars().count() > 64 || value.chars().any(char::is_control) {
        return Err(PasskeyError::Invalid(
            "a passkey name has at most 64 characters".into(),
        ));
    }
    Ok(value.to_owned())
}
