//! Storage types: what the repositories read and write. Wire types (request/response DTOs)
//! live beside their endpoints and are never stored directly.

use serde::{Deserialize, Serialize};

/// How a client proves who it is at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    PrivateKeyJwt,
    ClientSecretBasic,
    ClientSecretPost,
    /// A public client: authenticates nothing, must use PKCE.
    None,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "private_key_jwt" => Self::PrivateKeyJwt,
            "client_secret_basic" => Self::ClientSecretBasic,
            "client_secret_post" => Self::ClientSecretPost,
            "none" => Self::None,
            _ => return None,
        })
    }
}

/// Where a client record came from; configured clients are re-asserted at every start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    Config,
    Dynamic,
    /// UDAP trusted dynamic registration: authenticates with its certificate (`x5c`).
    Udap,
}

impl ClientSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Dynamic => "dynamic",
            Self::Udap => "udap",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "config" => Self::Config,
            "udap" => Self::Udap,
            _ => Self::Dynamic,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub client_id: String,
    /// Hex SHA-256 of the secret; secrets are generated with 256 bits of entropy or configured.
    pub client_secret_hash: Option<String>,
    pub client_name: Option<String>,
    pub auth_method: ClientAuthMethod,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scope: Option<String>,
    /// JWKS JSON for `private_key_jwt`.
    pub jwks: Option<String>,
    pub require_par: bool,
    pub dpop_bound: bool,
    pub id_token_alg: Option<String>,
    /// Hex SHA-256 of the RFC 7592 registration access token.
    pub registration_token_hash: Option<String>,
    pub source: ClientSource,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ClientRecord {
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }

    /// The same client as registered: everything but when it was written.
    pub fn same_registration(&self, other: &ClientRecord) -> bool {
        let written_like_other = ClientRecord {
            created_at: other.created_at,
            updated_at: other.updated_at,
            ..self.clone()
        };
        written_like_other == *other
    }
}

/// Row shape shared by both backends: (client_id, secret_hash, name, auth_method, redirect_uris,
/// grant_types, scope, jwks, require_par, dpop_bound, id_token_alg, registration_token_hash,
/// source, created_at, updated_at).
pub type ClientRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    bool,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
);

pub fn client_from_row(row: ClientRow) -> Result<ClientRecord, super::StoreError> {
    let (
        client_id,
        client_secret_hash,
        client_name,
        auth_method,
        redirect_uris,
        grant_types,
        scope,
        jwks,
        require_par,
        dpop_bound,
        id_token_alg,
        registration_token_hash,
        source,
        created_at,
        updated_at,
    ) = row;
    let corrupt = |what: &str| super::StoreError::Corrupt(format!("client {client_id}: {what}"));
    Ok(ClientRecord {
        auth_method: ClientAuthMethod::parse(&auth_method).ok_or_else(|| corrupt("auth method"))?,
        redirect_uris: serde_json::from_str(&redirect_uris)
            .map_err(|_| corrupt("redirect_uris"))?,
        grant_types: serde_json::from_str(&grant_types).map_err(|_| corrupt("grant_types"))?,
        source: ClientSource::parse(&source),
        client_id,
        client_secret_hash,
        client_name,
        scope,
        jwks,
        require_par,
        dpop_bound,
        id_token_alg,
        registration_token_hash,
        created_at,
        updated_at,
    })
}

/// The JSON-encoded list columns of a client, in one place for both backends.
pub fn client_lists(client: &ClientRecord) -> (String, String) {
    (
        serde_json::to_string(&client.redirect_uris).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&client.grant_types).unwrap_or_else(|_| "[]".into()),
    )
}

/// What a person (through a client) was granted at one authorization; every token of one
/// code or refresh family points here, so revoking the grant revokes them all at once.
#[derive(Debug, Clone)]
pub struct GrantRecord {
    pub grant_id: String,
    pub client_id: String,
    pub subject: String,
    pub scope: String,
    pub auth_time: i64,
    pub acr: Option<String>,
    /// Space-separated RFC 8176 values.
    pub amr: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The purpose of use the grant serves, as attested (`system#code`).
    pub purpose: Option<String>,
    /// The patient the grant is about (SMART launch context), when there is one.
    pub patient: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AccessTokenRecord {
    pub jti: String,
    pub client_id: String,
    pub subject: String,
    pub grant_id: Option<String>,
    pub scope: String,
    pub audience: String,
    pub issued_at: i64,
    pub expires_at: i64,
    /// RFC 9449 `cnf.jkt` when DPoP-bound.
    pub cnf_jkt: Option<String>,
    /// The purpose of use the token serves, as attested (`system#code`).
    pub purpose: Option<String>,
    /// What the token carries beyond its scope and purpose.
    pub context: TokenContext,
}

/// What an access token carries beyond its scope and purpose: the SMART launch patient, the
/// consent in force when it was decided, and for an exchanged token its actor. Stored as
/// one JSON column (NULL when empty) so that introspection returns what the JWT says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
}

impl TokenContext {
    pub fn is_empty(&self) -> bool {
        self.patient.is_none() && self.consent_reference.is_none() && self.act.is_none()
    }

    /// The stored form: `None` when there is nothing to store.
    pub fn to_stored(&self) -> Option<String> {
        (!self.is_empty())
            .then(|| serde_json::to_string(self).ok())
            .flatten()
    }

    /// Reads the stored form; a row that does not parse carries nothing (it is our own
    /// write, so this only happens to rows from before the column existed).
    pub fn from_stored(stored: Option<&str>) -> Self {
        stored
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct RefreshTokenRecord {
    /// Hex SHA-256 of the opaque token; the token itself is never stored.
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub cnf_jkt: Option<String>,
}

/// An access token as introspection sees it.
#[derive(Debug, Clone)]
pub struct AccessTokenState {
    pub record: AccessTokenRecord,
    pub revoked: bool,
}

/// A refresh token with the grant facts needed to mint its successors.
#[derive(Debug, Clone)]
pub struct RefreshTokenState {
    pub record: RefreshTokenRecord,
    pub used: bool,
    pub revoked: bool,
    pub grant: GrantRecord,
}

/// Everything one token response writes, committed atomically (and, with the verifiable
/// log, together with its log entries).
#[derive(Debug, Clone, Default)]
pub struct Issuance {
    /// When it happens (Unix seconds); also the `used_at` of a consumed refresh token.
    pub at: i64,
    pub grant: Option<GrantRecord>,
    /// A refresh token that must still be unused; it is marked used in the same transaction.
    pub consume_refresh: Option<String>,
    pub access_tokens: Vec<AccessTokenRecord>,
    pub refresh_tokens: Vec<RefreshTokenRecord>,
    /// The log entries that record this issuance: sequenced in the same transaction.
    pub log: Vec<PendingEntry>,
}

impl Issuance {
    /// Whether it writes more than access tokens and log entries: a grant, refresh tokens
    /// or a refresh token's rotation.
    pub fn writes_user_rows(&self) -> bool {
        self.grant.is_some() || self.consume_refresh.is_some() || !self.refresh_tokens.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuanceOutcome {
    /// Written; `log_index` is the index of the issuance's first log entry.
    Committed { log_index: Option<u64> },
    /// `consume_refresh` had been used already (rotation reuse); nothing was written.
    RefreshAlreadyUsed,
}

/// Row shape of `signing_keys`, shared by both backends.
pub type KeyRow = (
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    String,
    Vec<u8>,
);

pub fn key_from_row(row: KeyRow) -> Result<glassgate_keys::KeyRecord, super::StoreError> {
    use glassgate_keys::{Algorithm, KeyPurpose, KeyStatus};
    let (
        kid,
        algorithm,
        purpose,
        status,
        created_at,
        activated_at,
        retired_at,
        jwk,
        kek_id,
        wrapped,
    ) = row;
    let corrupt = |what: &str| super::StoreError::Corrupt(format!("key {kid}: {what}"));
    Ok(glassgate_keys::KeyRecord {
        algorithm: Algorithm::from_jose_name(&algorithm).ok_or_else(|| corrupt("algorithm"))?,
        purpose: KeyPurpose::parse(&purpose).ok_or_else(|| corrupt("purpose"))?,
        status: KeyStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        public_jwk: serde_json::from_str(&jwk).map_err(|_| corrupt("public jwk"))?,
        kid,
        created_at,
        activated_at,
        retired_at,
        kek_id,
        wrapped_private: wrapped,
    })
}

/// Row shape of an access token joined with its grant's revocation.
pub type AccessTokenRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
);

pub fn access_token_from_row(row: AccessTokenRow) -> AccessTokenState {
    let (
        jti,
        client_id,
        subject,
        grant_id,
        scope,
        audience,
        issued_at,
        expires_at,
        cnf_jkt,
        purpose,
        context,
        revoked,
    ) = row;
    AccessTokenState {
        record: AccessTokenRecord {
            jti,
            client_id,
            subject,
            grant_id,
            scope,
            audience,
            issued_at,
            expires_at,
            cnf_jkt,
            purpose,
            context: TokenContext::from_stored(context.as_deref()),
        },
        revoked,
    }
}

/// Row shape of a refresh token joined with its grant (column aliases in the queries).
#[derive(sqlx::FromRow)]
pub struct RefreshTokenRow {
    token_hash: String,
    grant_id: String,
    client_id: String,
    scope: String,
    issued_at: i64,
    expires_at: i64,
    cnf_jkt: Option<String>,
    used: bool,
    subject: String,
    grant_scope: String,
    auth_time: i64,
    acr: Option<String>,
    amr: String,
    grant_created_at: i64,
    grant_expires_at: i64,
    grant_purpose: Option<String>,
    grant_patient: Option<String>,
    revoked: bool,
}

/// The columns of [`RefreshTokenRow`], the same on both backends.
pub const REFRESH_TOKEN_COLUMNS: &str = "r.token_hash, r.grant_id, r.client_id, r.scope, \
    r.issued_at, r.expires_at, r.cnf_jkt, r.used_at IS NOT NULL AS used, g.subject, \
    g.scope AS grant_scope, g.auth_time, g.acr, g.amr, g.created_at AS grant_created_at, \
    g.expires_at AS grant_expires_at, g.purpose AS grant_purpose, \
    g.patient AS grant_patient, g.revoked_at IS NOT NULL AS revoked";

/// The columns of [`AccessTokenRow`], the same on both backends.
pub const ACCESS_TOKEN_COLUMNS: &str = "t.jti, t.client_id, t.subject, t.grant_id, t.scope, \
    t.audience, t.issued_at, t.expires_at, t.cnf_jkt, t.purpose, t.context, \
    (t.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL) AS revoked";

pub fn refresh_token_from_row(row: RefreshTokenRow) -> RefreshTokenState {
    RefreshTokenState {
        grant: GrantRecord {
            grant_id: row.grant_id.clone(),
            client_id: row.client_id.clone(),
            subject: row.subject,
            scope: row.grant_scope,
            auth_time: row.auth_time,
            acr: row.acr,
            amr: row.amr,
            created_at: row.grant_created_at,
            expires_at: row.grant_expires_at,
            purpose: row.grant_purpose,
            patient: row.grant_patient,
        },
        record: RefreshTokenRecord {
            token_hash: row.token_hash,
            grant_id: row.grant_id,
            client_id: row.client_id,
            scope: row.scope,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            cnf_jkt: row.cnf_jkt,
        },
        used: row.used,
        revoked: row.revoked,
    }
}

/// A log entry waiting for its index: `entry.prev` is filled in when it is sequenced.
#[derive(Debug, Clone)]
pub struct PendingEntry {
    pub entry: glassgate_verifier::entry::LogEntry,
    /// The private record, encrypted (see `tlog::record`).
    pub sealed_record: Vec<u8>,
    /// The people the entry is about (its subject, its patient context), for the private
    /// index behind a person's accounting of disclosures.
    pub about: Vec<String>,
}

/// An entry with its index and final bytes.
#[derive(Debug, Clone)]
pub struct SequencedEntry {
    pub index: i64,
    pub bytes: Vec<u8>,
    /// The entry's `jti` and `id_jti` (hex SHA-256 of the tokens' `jti`), stored beside it
    /// so a token's entry is found by either.
    pub jti_hash: Option<String>,
    pub id_jti_hash: Option<String>,
    pub sealed_record: Vec<u8>,
    pub about: Vec<String>,
}

impl SequencedEntry {
    /// (person, index) rows of the private index.
    pub fn about_rows(entries: &[SequencedEntry]) -> (Vec<String>, Vec<i64>) {
        entries
            .iter()
            .flat_map(|e| e.about.iter().map(|a| (a.clone(), e.index)))
            .unzip()
    }
}

/// Give `pending` consecutive indexes from `next_index` and chain each to its predecessor
/// (`prev` = hex SHA-256 of the previous entry's bytes). Returns the entries and the new
/// last digest. Both backends sequence through this one function.
pub fn chain(
    pending: &[&PendingEntry],
    next_index: i64,
    mut last_digest: [u8; 32],
) -> Result<(Vec<SequencedEntry>, [u8; 32]), super::StoreError> {
    use glassgate_verifier::entry::{GENESIS_PREV, entry_digest, hex};
    let mut out = Vec::with_capacity(pending.len());
    for (offset, p) in (0i64..).zip(pending) {
        let index = next_index + offset;
        let mut entry = p.entry.clone();
        entry.prev = if index == 0 {
            GENESIS_PREV.to_owned()
        } else {
            hex(&last_digest)
        };
        entry.check().map_err(|e| {
            super::StoreError::Other(format!("refusing a malformed log entry: {e}"))
        })?;
        let bytes = entry
            .encode()
            .map_err(|e| super::StoreError::Other(format!("log entry: {e}")))?;
        last_digest = entry_digest(&bytes);
        out.push(SequencedEntry {
            index,
            bytes,
            jti_hash: entry.jti,
            id_jti_hash: entry.id_jti,
            sealed_record: p.sealed_record.clone(),
            about: p.about.clone(),
        });
    }
    Ok((out, last_digest))
}

/// The integrated tree as last published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeState {
    pub size: u64,
    pub root: [u8; 32],
    /// The signed checkpoint note for `size`.
    pub checkpoint: String,
}

/// The published tree (the same SQL on every backend).
pub const TREE_SQL: &str = "SELECT size, root, checkpoint FROM log_tree WHERE id = 1";

/// The entry recording the token with this `jti` hash: an access token's, or the ID token's
/// issued with it (the same SQL on every backend; `$1` is one parameter on both).
pub const INDEX_OF_JTI_SQL: &str = "SELECT idx FROM log_entries WHERE jti_hash = $1 \
     UNION ALL SELECT idx FROM log_entries WHERE id_jti_hash = $1 LIMIT 1";

/// The largest cosigned checkpoint: cosignatures are only stored for published sizes.
pub const COSIGNED_TREE_SQL: &str = "SELECT size, root, note FROM log_checkpoints \
     WHERE size = (SELECT max(size) FROM log_cosignatures)";

impl TreeState {
    /// A stored tree row: size, root and signed checkpoint.
    pub fn from_row(
        (size, root, checkpoint): (i64, Vec<u8>, String),
    ) -> Result<Self, super::StoreError> {
        Ok(Self {
            size: to_u64(size)?,
            root: digest_from(&root)?,
            checkpoint,
        })
    }
}

pub fn digest_from(bytes: &[u8]) -> Result<[u8; 32], super::StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| super::StoreError::Corrupt("a stored digest is not 32 bytes".into()))
}

pub fn to_u64(value: i64) -> Result<u64, super::StoreError> {
    u64::try_from(value)
        .map_err(|_| super::StoreError::Corrupt("a negative log size or index".into()))
}

pub fn to_i64(value: u64) -> Result<i64, super::StoreError> {
    i64::try_from(value).map_err(|_| super::StoreError::Other("log index beyond 2^63".into()))
}

/// Give each committed issuance the index of its first log entry: entries were sequenced
/// from `first` in batch order, committed issuances only.
pub fn assign_log_indexes(
    outcomes: &mut [IssuanceOutcome],
    batch: &[Issuance],
    first: Option<i64>,
) {
    let Some(mut next) = first.and_then(|f| u64::try_from(f).ok()) else {
        return;
    };
    for (outcome, issuance) in outcomes.iter_mut().zip(batch) {
        if let IssuanceOutcome::Committed { log_index } = outcome
            && !issuance.log.is_empty()
        {
            *log_index = Some(next);
            next += issuance.log.len() as u64;
        }
    }
}

/// One stored hash tile (C2SP tlog-tiles): `hashes` holds 1 to 256 hashes of tree level
/// `8 × level`, from position `256 × index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTile {
    pub level: u8,
    pub index: u64,
    pub hashes: Vec<[u8; 32]>,
}

impl StoredTile {
    /// From a stored row; `None` unless the bytes are 1 to 256 whole hashes.
    pub fn from_row(level: i64, index: i64, bytes: &[u8]) -> Result<Self, super::StoreError> {
        let corrupt = || super::StoreError::Corrupt(format!("stored tile {level}/{index}"));
        let (hashes, rest) = bytes.as_chunks::<32>();
        if !rest.is_empty() || hashes.is_empty() || hashes.len() > 256 {
            return Err(corrupt());
        }
        Ok(Self {
            level: u8::try_from(level).map_err(|_| corrupt())?,
            index: to_u64(index)?,
            hashes: hashes.to_vec(),
        })
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.hashes.concat()
    }
}
