//! Ceremony state between `start` and `finish`: kept in the ephemeral store (Redis in
//! production) under a random id, never sent to the browser, and taken with `GETDEL` so a
//! response can be verified against it once.

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{DiscoverableAuthentication, PasskeyRegistration};

use super::{PasskeyError, Passkeys};
use crate::ephemeral::{EphemeralStore, keys};
use crate::oauth::random_token;

/// Why a passkey is being registered; decides what `finish` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Enrolling {
    /// A clinician redeeming an invitation: a new account bound to the invitation's NPI.
    Invitation {
        token_hash: String,
        npi: String,
        display_name: String,
    },
    /// A signed-in person adding a passkey to their account.
    AnotherPasskey,
    /// A person who just proved their identity (mDL, IAL2): a new account, or recovery of
    /// the existing one (old passkeys are revoked once the new one is registered).
    Proofed {
        recovery: bool,
        display_name: String,
        commitment: String,
        verified_claims: serde_json::Value,
    },
}

#[derive(Serialize, Deserialize)]
pub enum Ceremony {
    Registration {
        state: PasskeyRegistration,
        subject: String,
        enrolling: Enrolling,
    },
    Login {
        state: DiscoverableAuthentication,
    },
}

impl Passkeys {
    pub(super) async fn save(
        &self,
        store: &dyn EphemeralStore,
        ceremony: &Ceremony,
    ) -> Result<String, PasskeyError> {
        let id = random_token().map_err(|e| PasskeyError::internal(e.description))?;
        let value = serde_json::to_vec(ceremony).map_err(PasskeyError::internal)?;
        store
            .put(&keys::passkey_ceremony(&id), &value, self.ceremony_ttl)
            .await?;
        Ok(id)
    }

    pub(super) async fn take(
        &self,
        store: &dyn EphemeralStore,
        id: &str,
    ) -> Result<Ceremony, PasskeyError> {
        let value = store
            .take(&keys::passkey_ceremony(id))
            .await?
            .ok_or(PasskeyError::CeremonyUnknown)?;
        serde_json::from_slice(&value).map_err(PasskeyError::internal)
    }
}
