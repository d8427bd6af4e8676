//! Configuration: defaults, then an optional TOML file, then `GLASSGATE_*` environment
//! variables (nested keys with `__`, e.g. `GLASSGATE_TOKENS__ACCESS_TOKEN_TTL=300`), then the
//! conventional `DATABASE_URL` / `REDIS_URL`. The result is a plain value passed down
//! explicitly: there is no global configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Socket address the HTTP server binds.
    pub listen: SocketAddr,
    /// Public issuer URL (no trailing slash); every endpoint URL is derived from it.
    pub issuer: String,
    /// Where the embedded default keeps its SQLite file and generated key-encryption key.
    pub data_dir: PathBuf,
    /// PostgreSQL URL; when absent the SQLite file in `data_dir` is used.
    pub database_url: Option<String>,
    /// Redis URL; when absent ephemeral state is kept in process (single replica only).
    pub redis_url: Option<String>,
    /// Prefix for every Redis key, so several deployments (or tests) can share one Redis.
    pub redis_prefix: String,
    /// Enables RFC 7591 dynamic registration when set: the bearer token registrants present.
    pub initial_access_token: Option<String>,
    /// Base64 key-encryption key for private keys at rest (else `kek_file`).
    pub kek: Option<String>,
    /// File holding the key-encryption key; created with a warning when missing on the embedded default.
    pub kek_file: Option<PathBuf>,
    /// `json` (default, for log collectors) or `pretty`.
    pub log_format: LogFormat,
    pub tokens: TokenSettings,
    pub keys: KeySettings,
    pub dpop: DpopSettings,
    pub limits: Limits,
    /// The verifiable issuance log.
    pub log: LogSettings,
    /// Browser sessions, passkey ceremonies and clinician invitations.
    pub web: WebSettings,
    /// Identity proofing with a mobile driver's licence (OpenID4VP, Digital Credentials API).
    pub mdl: MdlSettings,
    /// Purpose-scoped token policy (Cedar).
    pub policy: PolicySettings,
    /// HL7 FAST UDAP: signed metadata, trusted dynamic registration, B2B and Tiered OAuth.
    pub udap: UdapSettings,
    /// Business associate agreements on record (`[[business_associate_agreements]]` with
    /// `reference`, `covered_entity`, `business_associate` organisation ids): what lets a
    /// vendor exchange a covered entity's token (RFC 8693 delegation).
    pub business_associate_agreements: Vec<glassgate_policies::BaaRecord>,
    /// Statically configured clients, upserted into the store at start.
    pub clients: Vec<StaticClient>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub authorization_code_ttl: i64,
    pub par_ttl: i64,
    /// The `aud` of access tokens when the request names no resource (RFC 9068 §3).
    pub default_audience: Option<String>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_token_ttl: 300,
            id_token_ttl: 300,
            refresh_token_ttl: 8 * 3600,
            authorization_code_ttl: 60,
            par_ttl: 90,
            default_audience: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// JOSE algorithms with a signing key; the first is the default for tokens.
    pub algorithms: Vec<String>,
    pub rotate_every_days: i64,
    /// How long a retired key stays in the JWKS (must exceed the longest token lifetime).
    pub retire_for_days: i64,
    /// Whether this replica runs scheduled rotation (under a database lock, so one replica acts).
    pub scheduled_rotation: bool,
    /// How often replicas reload the key ring from the store.
    pub reload_every_secs: u64,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            algorithms: vec!["ES256".into(), "RS256".into()],
            rotate_every_days: 30,
            retire_for_days: 7,
            scheduled_rotation: true,
            reload_every_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpopSettings {
    /// Require a server-provided nonce in every DPoP proof at the token endpoint (RFC 9449 §8).
    pub nonce_required: bool,
    /// Lifetime of one nonce window.
    pub nonce_window_secs: i64,
    /// Accepted age of a proof's `iat` (either direction).
    pub max_proof_age_secs: i64,
}

impl Default for DpopSettings {
    fn default() -> Self {
        Self {
            nonce_required: true,
            nonce_window_secs: 300,
            max_proof_age_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Per-request timeout in seconds.
    pub request_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// The log's origin (checkpoint first line and log key name); defaults to the issuer's
    /// host and path followed by `/log`.
    pub origin: Option<String>,
    /// URL path prefix of the read API (C2SP tlog-tiles), with leading and trailing slash.
    pub prefix: String,
    /// How often the sequencer integrates pooled entries into the tree and signs a checkpoint.
    pub integrate_every_ms: u64,
    /// Most entries integrated in one checkpoint.
    pub max_batch: u64,
    /// Memory for tiles kept to serve proofs (MiB); a tile of 256 hashes takes 16 KiB
    /// expanded, so 1 GiB keeps every tile of a 16-million-entry log. Filled at start,
    /// newest tiles first.
    pub tile_cache_mib: usize,
    /// Whether this replica takes part in sequencing (one replica at a time does, under a lock).
    pub sequencer: bool,
    /// Witnesses each new checkpoint is submitted to (C2SP tlog-witness).
    pub witnesses: Vec<WitnessSettings>,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            origin: None,
            prefix: "/log/".into(),
            integrate_every_ms: 250,
            max_batch: 100_000,
            tile_cache_mib: 1024,
            sequencer: true,
            witnesses: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSettings {
    /// The witness's C2SP verifier key (cosignature/v1).
    pub vkey: String,
    /// Its submission prefix; `add-checkpoint` is appended.
    pub url: String,
}

/// A client declared in the configuration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticClient {
    pub client_id: String,
    #[serde(default)]
    pub client_name: Option<String>,
    /// Plain secret for `client_secret_basic`/`post`; stored hashed.
    #[serde(default)]
    pub client_secret: Option<String>,
    pub token_endpoint_auth_method: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// Public keys for `private_key_jwt`, as a JWKS JSON string.
    #[serde(default)]
    pub jwks: Option<String>,
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    /// The organisation the client belongs to, which policy decides on (a payer's backend
    /// gets other data than a provider's). Absent: the client is its own organisation of
    /// kind `other`, which the shipped policies give no data.
    #[serde(default)]
    pub organisation: Option<ClientOrganisation>,
    /// The access-token audiences (`aud`) this client serves as a resource server: besides
    /// its own tokens, it may introspect (RFC 7662) access tokens issued for one of them.
    /// Only configured clients can declare any; registered and UDAP clients never do.
    #[serde(default)]
    pub resource_audiences: Vec<String>,
}

impl StaticClient {
    fn validate(&self) -> Result<(), ConfigError> {
        let id = &self.client_id;
        if self
            .resource_audiences
            .iter()
            .any(|a| a.is_empty() || a.trim() != a)
        {
            return Err(ConfigError::Invalid(format!(
                "client {id}: resource_audiences must be non-empty audiences without surrounding whitespace"
            )));
        }
        if !self.resource_audiences.is_empty() && self.token_endpoint_auth_method == "none" {
            return Err(ConfigError::Invalid(format!(
                "client {id}: resource_audiences needs a confidential client (public clients cannot introspect)"
            )));
        }
        Ok(())
    }
}

/// A client's organisation: the broker's identifier for it and its kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientOrganisation {
    pub id: String,
    /// `provider`, `payer`, `vendor`, `public_health`, `government`, `ias_provider`, `other`.
    pub kind: glassgate_policies::OrganisationKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    /// Directory of Cedar policies (one `*.cedarschema`, `*.cedar` files), polled every
    /// `reload_secs` and swapped in after strict validation; a bad edit keeps the last good
    /// set. Absent: the policies shipped in `policies/cedar`, compiled in.
    pub dir: Option<PathBuf>,
    pub reload_secs: u64,
    /// What a step-up challenge asks for: the `acr` of AAL2 and AAL3, and `max_age`.
    pub aal2_acr: String,
    pub aal3_acr: String,
    pub step_up_max_age: u32,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            dir: None,
            reload_secs: 5,
            aal2_acr: "phr".into(),
            aal3_acr: "phrh".into(),
            step_up_max_age: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    /// Lifetime of a browser session after a passkey sign-in.
    pub session_ttl_secs: u64,
    /// Lifetime of a WebAuthn ceremony's server-side state (single use).
    pub ceremony_ttl_secs: u64,
    /// Default lifetime of a clinician invitation.
    pub invitation_ttl_hours: i64,
    /// Name shown by authenticators for this relying party.
    pub rp_name: String,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            session_ttl_secs: 8 * 3600,
            ceremony_ttl_secs: 300,
            invitation_ttl_hours: 72,
            rp_name: "Glassgate".into(),
        }
    }
}

/// UDAP (HL7 FAST Security IG). Enabled when `certificate`, `key` and `anchors` are all
/// set; otherwise `/.well-known/udap` answers 404, as the IG asks of a server without UDAP.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UdapSettings {
    /// PEM certificate chain, leaf first: the leaf's URI SAN is the issuer, its RSA key signs
    /// the metadata (RS256).
    pub certificate: Option<PathBuf>,
    /// PKCS#8 PEM RSA key of `certificate`.
    pub key: Option<PathBuf>,
    /// PEM file or directory of the trust community's anchors: a software statement or a
    /// client assertion is accepted only with an `x5c` chain that ends at one of them.
    pub anchors: Option<PathBuf>,
    /// The community URI these anchors serve (`/.well-known/udap?community=` names it).
    pub community: Option<String>,
    /// What policy knows of a registered member's organisation: its kind (default `other`,
    /// which no shipped policy gives data). The organisation id is the member's client id.
    pub member_kind: Option<glassgate_policies::OrganisationKind>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MdlSettings {
    /// Directory of PEM IACA certificates admitted as mDL issuer trust anchors (re-read
    /// every `trust_reload_secs`, so anchors change without a restart). No anchors: every
    /// presentation is refused.
    pub trust_dir: Option<PathBuf>,
    pub trust_reload_secs: u64,
    /// The AAMVA VICAL (COSE_Sign1 list of member IACAs), fetched at start and again at its
    /// `nextUpdate`; the last good copy is kept in the data directory.
    pub vical_url: Option<String>,
    /// PEM of the pinned VICAL signing root (the AAMVA DTS root CA).
    pub vical_root: Option<PathBuf>,
    /// PEM certificate chain (leaf first) whose DNS SAN is the issuer's host: the request
    /// object is signed with `x509_san_dns`. Without it requests are unsigned and use the
    /// `redirect_uri` client identifier prefix, which wallets accept only for development.
    pub request_certificate: Option<PathBuf>,
    /// PKCS#8 PEM P-256 key of `request_certificate`.
    pub request_key: Option<PathBuf>,
    /// `direct_post.jwt` (default: responses encrypted to a per-request key) or `direct_post`.
    pub response_mode: String,
    /// Refuse presentations whose revocation status cannot be established (CRL or status list
    /// unreachable). A confirmed revocation always refuses.
    pub require_revocation_status: bool,
    /// Lifetime of one presentation request (QR code) and of its verified result.
    pub request_ttl_secs: u64,
    /// URL scheme of the wallet invocation link shown as the QR code.
    pub wallet_scheme: String,
}

impl Default for MdlSettings {
    fn default() -> Self {
        Self {
            trust_dir: None,
            trust_reload_secs: 60,
            vical_url: None,
            vical_root: None,
            request_certificate: None,
            request_key: None,
            response_mode: "direct_post.jwt".into(),
            require_revocation_status: false,
            request_ttl_secs: 300,
            wallet_scheme: "openid4vp://".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            // `localhost`, not an IP address: WebAuthn relying party ids must be domains.
            issuer: "http://localhost:8080".into(),
            data_dir: PathBuf::from("data"),
            database_url: None,
            redis_url: None,
            redis_prefix: "glassgate:".into(),
            initial_access_token: None,
            kek: None,
            kek_file: None,
            log_format: LogFormat::Json,
            tokens: TokenSettings::default(),
            keys: KeySettings::default(),
            dpop: DpopSettings::default(),
            limits: Limits::default(),
            log: LogSettings::default(),
            web: WebSettings::default(),
            mdl: MdlSettings::default(),
            policy: PolicySettings::default(),
            udap: UdapSettings::default(),
            business_associate_agreements: Vec::new(),
            clients: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
}

impl Config {
    /// Defaults ← TOML file (if given) ← `GLASSGATE_*` ← `DATABASE_URL`/`REDIS_URL`.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let config: Config = figment
            .merge(
                Env::prefixed("GLASSGATE_")
                    .ignore(&["CONFIG", "LOG"])
                    .split("__"),
            )
            .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|e| ConfigError::Invalid(format!("issuer is not a URL: {e}")))?;
        if issuer.query().is_some() || issuer.fragment().is_some() || self.issuer.ends_with('/') {
            return Err(ConfigError::Invalid(
                "issuer must have no query, fragment or trailing slash".into(),
            ));
        }
        if self.tokens.access_token_ttl <= 0 || self.tokens.authorization_code_ttl <= 0 {
            return Err(ConfigError::Invalid(
                "token lifetimes must be positive".into(),
            ));
        }
        let prefix = &self.log.prefix;
        if !prefix.starts_with('/') || !prefix.ends_with('/') || prefix.contains("//") {
            return Err(ConfigError::Invalid(
                "log.prefix must start and end with a single /".into(),
            ));
        }
        if prefix == "/" {
            // The log's paths (checkpoint, tile/…) would sit among the OAuth endpoints.
            return Err(ConfigError::Invalid(
                "log.prefix must name a path below the issuer, such as /log/".into(),
            ));
        }
        if self.log.integrate_every_ms == 0 || self.log.integrate_every_ms > 10_000 {
            return Err(ConfigError::Invalid(
                "log.integrate_every_ms must be between 1 and 10000".into(),
            ));
        }
        if self.keys.algorithms.is_empty() {
            return Err(ConfigError::Invalid(
                "keys.algorithms must name at least one algorithm".into(),
            ));
        }
        if self
            .initial_access_token
            .as_deref()
            .is_some_and(|t| t.len() < 16)
        {
            return Err(ConfigError::Invalid(
                "initial_access_token must be at least 16 characters".into(),
            ));
        }
        if !matches!(
            self.mdl.response_mode.as_str(),
            "direct_post" | "direct_post.jwt"
        ) {
            return Err(ConfigError::Invalid(
                "mdl.response_mode must be direct_post.jwt or direct_post".into(),
            ));
        }
        if self.mdl.vical_url.is_some() != self.mdl.vical_root.is_some() {
            return Err(ConfigError::Invalid(
                "mdl.vical_url and mdl.vical_root go together".into(),
            ));
        }
        if self.mdl.request_certificate.is_some() != self.mdl.request_key.is_some() {
            return Err(ConfigError::Invalid(
                "mdl.request_certificate and mdl.request_key go together".into(),
            ));
        }
        if !(30..=3600).contains(&self.mdl.request_ttl_secs) || self.mdl.trust_reload_secs == 0 {
            return Err(ConfigError::Invalid(
                "mdl.request_ttl_secs must be 30 to 3600 and mdl.trust_reload_secs positive".into(),
            ));
        }
        for client in &self.clients {
            client.validate()?;
        }
        Ok(())
    }

    /// The audiences the configured client `client_id` serves as a resource server (empty
    /// for any other client). The last declaration of an id wins, as it does at start.
    pub fn resource_audiences(&self, client_id: &str) -> &[String] {
        self.clients
            .iter()
            .rev()
            .find(|c| c.client_id == client_id)
            .map_or(&[], |c| c.resource_audiences.as_slice())
    }

    /// The log origin: configured, or the issuer's host and path followed by `/log`.
    pub fn log_origin(&self) -> String {
        if let Some(origin) = &self.log.origin {
            return origin.clone();
        }
        let without_scheme = self
            .issuer
            .split_once("://")
            .map_or(self.issuer.as_str(), |(_, rest)| rest);
        format!("{without_scheme}/log")
    }

    /// The issuer URL joined with a path (`/token`, `/jwks` …).
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_prefix_must_be_a_path_below_the_issuer() {
        let with_prefix = |prefix: &str| {
            let mut config = Config::default();
            config.log.prefix = prefix.to_owned();
            config.validate()
        };
        assert!(with_prefix("/log/").is_ok());
        assert!(with_prefix("/audit/log/").is_ok());
        for bad in ["/", "log/", "/log", "//log/"] {
            assert!(
                matches!(with_prefix(bad), Err(ConfigError::Invalid(_))),
                "{bad} is refused"
            );
        }
    }

    fn client(id: &str, auth: &str, audiences: &[&str]) -> StaticClient {
        StaticClient {
            client_id: id.into(),
            client_name: None,
            client_secret: Some("a-secret-of-enough-length-000000".into()),
            token_endpoint_auth_method: auth.into(),
            redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scope: None,
            jwks: None,
            require_pushed_authorization_requests: false,
            dpop_bound_access_tokens: false,
            id_token_signed_response_alg: None,
            organisation: None,
            resource_audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn resource_audiences_are_validated_and_looked_up_by_client() {
        let with = |clients: Vec<StaticClient>| Config {
            clients,
            ..Config::default()
        };
        let config = with(vec![
            client("rs", "client_secret_basic", &["https://fhir.example.org"]),
            client("app", "client_secret_basic", &[]),
        ]);
        assert!(config.validate().is_ok());
        assert_eq!(
            config.resource_audiences("rs"),
            ["https://fhir.example.org".to_owned()]
        );
        assert!(config.resource_audiences("app").is_empty());
        assert!(config.resource_audiences("unknown").is_empty());
        for bad in [
            client("rs", "client_secret_basic", &[""]),
            client("rs", "client_secret_basic", &[" https://fhir.example.org"]),
            client("rs", "none", &["https://fhir.example.org"]),
        ] {
            assert!(
                matches!(with(vec![bad]).validate(), Err(ConfigError::Invalid(_))),
                "refused"
            );
        }
    }

    #[test]
    fn resource_audiences_parse_from_toml_and_default_to_none() {
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(
                r#"
[[clients]]
client_id = "rs"
token_endpoint_auth_method = "client_secret_basic"
resource_audiences = ["https://fhir.example.org"]

[[clients]]
client_id = "app"
token_endpoint_auth_method = "client_secret_basic"
"#,
            ))
            .extract()
            .unwrap();
        assert_eq!(config.resource_audiences("rs").len(), 1);
        assert!(config.resource_audiences("app").is_empty());
    }
}
