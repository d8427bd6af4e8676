//! The in-memory view the server signs and publishes with, rebuilt from records after every
//! rotation and shared behind an `Arc`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::{Algorithm, Kek, KeyError, KeyPurpose, KeyRecord, KeyStatus, Signer, jwk_thumbprint};

/// Current signers per algorithm plus the published JWKS.
pub struct KeyRing {
    current: HashMap<Algorithm, Arc<dyn Signer>>,
    jwks: Value,
    by_kid: HashMap<String, usize>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.current.values().map(|s| s.kid()).collect();
        f.debug_struct("KeyRing")
            .field("current", &kids)
            .field("published", &self.by_kid.len())
            .finish()
    }
}

impl KeyRing {
    /// Builds from TokenSigning records, ignoring Removed ones. Only Current keys are
    /// unwrapped (so only they need the loaded KEK); every published JWK must match its kid.
    /// If several Currents exist for an algorithm the most recently activated signs.
    pub fn from_records(records: &[KeyRecord], kek: &Kek) -> Result<Self, KeyError> {
        let mut live: Vec<&KeyRecord> = records
            .iter()
            .filter(|r| r.purpose == KeyPurpose::TokenSigning && r.status != KeyStatus::Removed)
            .collect();
        let rank = |s: KeyStatus| match s {
            KeyStatus::Current => 0,
            KeyStatus::Next => 1,
            _ => 2,
        };
        let newest = |r: &KeyRecord| std::cmp::Reverse(r.activated_at.unwrap_or(r.created_at));
        live.sort_by_key(|r| (rank(r.status), r.algorithm, newest(r), r.kid.clone()));

        let mut current: HashMap<Algorithm, Arc<dyn Signer>> = HashMap::new();
        let mut keys = Vec::with_capacity(live.len());
        let mut by_kid = HashMap::new();
        for r in live {
            let thumbprint = jwk_thumbprint(&r.public_jwk)?;
            if thumbprint != r.kid {
                return Err(KeyError::KidMismatch {
                    expected: r.kid.clone(),
                    actual: thumbprint,
                });
            }
            if r.status == KeyStatus::Current && !current.contains_key(&r.algorithm) {
                current.insert(r.algorithm, Arc::new(r.signer(kek)?));
            }
            if by_kid.insert(r.kid.clone(), keys.len()).is_none() {
                keys.push(r.public_jwk.clone());
            }
        }
        Ok(Self {
            current,
            jwks: json!({ "keys": keys }),
            by_kid,
        })
    }

    /// The signer to use for new tokens of `alg`.
    pub fn current(&self, alg: Algorithm) -> Result<Arc<dyn Signer>, KeyError> {
        self.current
            .get(&alg)
            .cloned()
            .ok_or(KeyError::NoCurrentKey(alg))
    }

    /// JWKS JSON {"keys":[...]} with every Next, Current and Retired key (they may still
    /// verify), current first.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// A published public JWK by kid (for verifying our own tokens, e.g. introspection).
    pub fn public_jwk(&self, kid: &str) -> Option<&Value> {
        let i = *self.by_kid.get(kid)?;
        self.jwks.get("keys")?.get(i)
    }

    /// Algorithms that have a current key, in a stable order.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs: Vec<Algorithm> = self.current.keys().copied().collect();
        algs.sort();
        algs
    }
}
