//! Administrative commands run from the command line (invitations; the log entry of every
//! administrative change).

use serde_json::json;

use crate::app::{self, StartError};
use crate::clock;
use crate::config::Config;
use crate::oauth::{random_token, sha256_hex};
use crate::store::{self, Store, accounts::Invitation};
use crate::tlog::{Event, EventKind, NO_CLIENT, TransparencyLog};

/// Log an administrative change made from the command line (no server running here): the
/// entry is sequenced directly, and a running server's sequencer integrates it.
pub async fn log_event(config: &Config, store: &Store, event: Event) -> Result<(), StartError> {
    let kek = app::key_encryption_key(config)?;
    let log = TransparencyLog::open(config, &kek, store.keys.as_ref(), store.log.clone()).await?;
    let entry = log.entry(event, &config.issuer)?;
    store.log.append(&[entry], clock::now()).await?;
    Ok(())
}

/// Import payer claim records (see `crate::claims` for the file format): all or nothing,
/// logged with the file's digest. Returns (inserted, replaced).
pub async fn import_claims(
    config: &Config,
    file: &std::path::Path,
) -> Result<crate::store::claims::ImportedClaims, StartError> {
    let bytes =
        std::fs::read(file).map_err(|e| StartError::Config(format!("{}: {e}", file.display())))?;
    let claims = crate::claims::parse(&bytes)
        .map_err(|e| StartError::Config(format!("{}: {e}", file.display())))?;
    let store = store::open(config).await?;
    let kek = app::key_encryption_key(config)?;
    let log = TransparencyLog::open(config, &kek, store.keys.as_ref(), store.log.clone()).await?;
    let payers: std::collections::BTreeSet<&str> =
        claims.iter().map(|c| c.payer.as_str()).collect();
    let event = Event::new(EventKind::AdminClaims, NO_CLIENT).with_record(json!({
        "action": "claims imported",
        "claims": claims.len(),
        "payers": payers,
        "file_sha256": glassgate_verifier::entry::hex(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes).as_ref()
        ),
    }));
    let entry = log.entry(event, &config.issuer)?;
    Ok(store.claims.import(&claims, &entry).await?)
}

/// A clinician invitation: the link to send, shown once (only its hash is stored).
#[derive(Debug, serde::Serialize)]
pub struct IssuedInvitation {
    pub npi: String,
    pub url: String,
    pub expires_at: i64,
}

/// Create a one-time invitation for the clinician with `npi`, valid `hours` (default from
/// the configuration). The NPI must be well formed (check digit) and not have an account.
pub async fn invite(
    config: &Config,
    npi: &str,
    hours: Option<i64>,
) -> Result<IssuedInvitation, StartError> {
    let npi = glassgate_directory::Npi::parse(npi)
        .map_err(|e| StartError::Config(format!("not a valid NPI: {e}")))?
        .to_string();
    let hours = hours.unwrap_or(config.web.invitation_ttl_hours);
    if !(1..=24 * 30).contains(&hours) {
        return Err(StartError::Config(
            "an invitation lasts between 1 hour and 30 days".into(),
        ));
    }
    let store = store::open(config).await?;
    if store.accounts.account_by_npi(&npi).await?.is_some() {
        return Err(StartError::Config(format!(
            "an account already exists for NPI {npi}; the clinician can recover it instead"
        )));
    }
    let token = random_token().map_err(|e| StartError::Config(e.description))?;
    let now = clock::now();
    let invitation = Invitation {
        token_hash: sha256_hex(&token),
        npi: npi.clone(),
        created_at: now,
        expires_at: now + hours * 3600,
        redeemed_at: None,
    };
    store.accounts.create_invitation(&invitation).await?;
    let event = Event::new(EventKind::AdminAccount, NO_CLIENT).with_record(json!({
        "action": "invitation created",
        "npi": npi,
        "expires_at": invitation.expires_at,
    }));
    log_event(config, &store, event).await?;
    Ok(IssuedInvitation {
        url: format!("{}/enroll?invitation={token}", config.issuer),
        npi,
        expires_at: invitation.expires_at,
    })
}
