//! Client lookup with a short in-process cache: the token endpoint reads a client on every
//! request, and a few seconds of staleness after an RFC 7592 update is acceptable.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{OAuthError, OAuthResult};
use crate::jose::{PreparedKey, PublicKey, select_position};
use crate::store::ClientRepository;
use crate::store::model::ClientRecord;

const TTL: Duration = Duration::from_secs(10);
const MAX_ENTRIES: usize = 10_000;

/// A client with its JWKS parsed once, keys included.
pub struct Client {
    pub record: ClientRecord,
    /// The JWKS members, and beside each its key (`None` where the JWK is unusable).
    jwks: Vec<Value>,
    keys: Vec<Option<PreparedKey>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(record: ClientRecord) -> Self {
        let jwks: Vec<Value> = record
            .jwks
            .as_deref()
            .and_then(|j| serde_json::from_str::<Value>(j).ok())
            .and_then(|j| j.get("keys")?.as_array().cloned())
            .unwrap_or_default();
        let keys = jwks
            .iter()
            .map(|jwk| PublicKey::from_jwk(jwk).ok().map(PreparedKey::new))
            .collect();
        Self { record, jwks, keys }
    }

    pub fn id(&self) -> &str {
        &self.record.client_id
    }

    /// The client's verification key named by `kid` (or its only key).
    pub fn key(&self, kid: Option<&str>) -> Option<&PreparedKey> {
        self.keys.get(select_position(&self.jwks, kid)?)?.as_ref()
    }
}

/// A cached lookup: when it was made and what it found (absence is cached too).
type CachedLookup = (Instant, Option<Arc<Client>>);

pub struct ClientCache {
    repository: Arc<dyn ClientRepository>,
    entries: RwLock<HashMap<String, CachedLookup>>,
}

impl ClientCache {
    pub fn new(repository: Arc<dyn ClientRepository>) -> Self {
        Self {
            repository,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The client, or `None` when unknown (negative answers are cached too, briefly).
    pub async fn get(&self, client_id: &str) -> OAuthResult<Option<Arc<Client>>> {
        if client_id.len() > 256 {
            return Ok(None);
        }
        if let Ok(entries) = self.entries.read()
            && let Some((at, client)) = entries.get(client_id)
            && at.elapsed() < TTL
        {
            return Ok(client.clone());
        }
        let record = self
            .repository
            .get(client_id)
            .await
            .map_err(OAuthError::server_error)?;
        let client = record.map(|r| Arc::new(Client::new(r)));
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (at, _)| at.elapsed() < TTL);
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(client_id.to_owned(), (Instant::now(), client.clone()));
        }
        Ok(client)
    }

    /// Drop a cached entry after this replica changed the client.
    pub fn forget(&self, client_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(client_id);
        }
    }
}
