//! The server's view of its signing keys: a key ring swapped atomically on reload, and
//! rotation applied through the key repository under its lock (one replica rotates).

use std::sync::Arc;

use arc_swap::ArcSwap;
use glassgate_keys::{
    Algorithm, Kek, KeyChange, KeyPurpose, KeyRecord, KeyRing, RotationPolicy, plan_rotation,
};

use crate::clock;
use crate::config::KeySettings;
use crate::store::{KeyRepository, KeyWrite, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("key configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("keys: {0}")]
    Keys(#[from] glassgate_keys::KeyError),
}

pub struct SigningKeys {
    ring: ArcSwap<KeyRing>,
    kek: Kek,
    repository: Arc<dyn KeyRepository>,
    algorithms: Vec<Algorithm>,
    policy: RotationPolicy,
}

const DAY: i64 = 86_400;

impl SigningKeys {
    /// Make sure current and next keys exist for every configured algorithm, then load them.
    pub async fn bootstrap(
        repository: Arc<dyn KeyRepository>,
        kek: Kek,
        settings: &KeySettings,
    ) -> Result<Self, KeyringError> {
        let algorithms = settings
            .algorithms
            .iter()
            .map(|name| {
                Algorithm::from_jose_name(name)
                    .filter(|a| *a != Algorithm::EdDsa)
                    .ok_or_else(|| {
                        KeyringError::Config(format!("unsupported token algorithm {name}"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let policy = RotationPolicy {
            rotate_every_secs: settings.rotate_every_days.max(1) * DAY,
            retire_for_secs: settings.retire_for_days.max(1) * DAY,
        };
        let records = repository.list(KeyPurpose::TokenSigning).await?;
        let ring = KeyRing::from_records(&records, &kek)?;
        let keys = Self {
            ring: ArcSwap::from_pointee(ring),
            kek,
            repository,
            algorithms,
            policy,
        };
        keys.rotate(false).await?;
        Ok(keys)
    }

    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.load_full()
    }

    /// The algorithm tokens are signed with unless a client asks for another.
    pub fn default_algorithm(&self) -> Algorithm {
        self.algorithms.first().copied().unwrap_or(Algorithm::Es256)
    }

    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// Re-read the keys from the store (another replica may have rotated).
    pub async fn reload(&self) -> Result<(), KeyringError> {
        let records = self.repository.list(KeyPurpose::TokenSigning).await?;
        self.ring
            .store(Arc::new(KeyRing::from_records(&records, &self.kek)?));
        Ok(())
    }

    /// Apply the rotation plan (bootstrap, scheduled or forced) and reload. Returns the
    /// number of key changes written.
    pub async fn rotate(&self, force: bool) -> Result<usize, KeyringError> {
        let now = clock::now();
        let planner = |records: &[KeyRecord]| -> Result<Vec<KeyWrite>, String> {
            plan_rotation(
                records,
                &self.algorithms,
                KeyPurpose::TokenSigning,
                now,
                &self.policy,
                force,
            )
            .into_iter()
            .map(|change| match change {
                KeyChange::Generate {
                    algorithm,
                    purpose,
                    status,
                } => KeyRecord::generate(algorithm, purpose, status, now, &self.kek)
                    .map(KeyWrite::Insert)
                    .map_err(|e| e.to_string()),
                KeyChange::SetStatus { kid, status, at } => {
                    Ok(KeyWrite::SetStatus { kid, status, at })
                }
            })
            .collect()
        };
        let changes = self
            .repository
            .rotate(KeyPurpose::TokenSigning, &planner)
            .await?;
        if changes > 0 {
            tracing::info!(changes, "signing keys rotated");
        }
        self.reload().await?;
        Ok(changes)
    }
}
