//! The clients every test server is configured with, and their credentials.

use serde_json::json;

use crate::jwt::TestKey;

pub const REDIRECT_URI: &str = "https://rp.example/cb";
pub const PUBLIC_REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
pub const BASIC_SECRET: &str = "basic-secret-0123456789abcdef";
pub const POST_SECRET: &str = "post-secret-0123456789abcdef";
pub const DPOP_SECRET: &str = "dpop-secret-0123456789abcdef";
pub const RS256_SECRET: &str = "rs256-secret-0123456789abcdef";
/// The `payer` client: a payer organisation's backend (payment and operations policies).
pub const PAYER_SECRET: &str = "payer-secret-0123456789abcdef";
/// The `vendor` client (a business associate of the test clients' organisation) and the
/// `stranger` client (a vendor without an agreement).
pub const VENDOR_SECRET: &str = "vendor-secret-0123456789abcdef";
/// The `auditor` client: a network audit office's backend (FHIR AuditEvent export).
pub const AUDITOR_SECRET: &str = "auditor-secret-0123456789abcdef";
/// The `aud` of the test deployment's access tokens (`tokens.default_audience`): its FHIR
/// server, which the `fhir` client is (a resource server that may introspect them).
pub const FHIR_AUDIENCE: &str = "https://fhir.glassgate.test";
pub const FHIR_SECRET: &str = "fhir-secret-0123456789abcdef";
/// The `other-fhir` client: a resource server of another audience (none of the tokens).
pub const OTHER_FHIR_AUDIENCE: &str = "https://other-fhir.glassgate.test";
pub const OTHER_FHIR_SECRET: &str = "other-fhir-secret-0123456789abcdef";
pub const M2M_SCOPE: &str = "system/Patient.rs system/Observation.rs";

/// Keys of the `private_key_jwt` clients (`web` and `par` share one, `m2m` uses RSA).
pub struct ClientKeys {
    pub web: TestKey,
    pub m2m: TestKey,
}

impl ClientKeys {
    pub fn generate() -> Self {
        Self {
            web: TestKey::es256(),
            m2m: TestKey::rs256(),
        }
    }

    /// The `[[clients]]` TOML for the standard test clients.
    pub fn config_toml(&self) -> String {
        let web_jwks = self.web.jwks().to_string();
        let m2m_jwks = self.m2m.jwks().to_string();
        let q = |s: &str| json!(s).to_string();
        format!(
            r#"
[tokens]
default_audience = "{FHIR_AUDIENCE}"

[[clients]]
client_id = "web"
organisation = {{ id = "org-rp", kind = "provider" }}
token_endpoint_auth_method = "private_key_jwt"
jwks = {web_jwks}
redirect_uris = ["{REDIRECT_URI}"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]

[[clients]]
client_id = "par"
organisation = {{ id = "org-rp", kind = "provider" }}
token_endpoint_auth_method = "private_key_jwt"
jwks = {web_jwks}
redirect_uris = ["{REDIRECT_URI}"]
grant_types = ["authorization_code", "refresh_token"]
require_pushed_authorization_requests = true

[[clients]]
client_id = "m2m"
organisation = {{ id = "org-rp", kind = "provider" }}
token_endpoint_auth_method = "private_key_jwt"
jwks = {m2m_jwks}
grant_types = ["client_credentials"]
scope = "{M2M_SCOPE}"

[[clients]]
client_id = "basic"
organisation = {{ id = "org-rp", kind = "provider" }}
token_endpoint_auth_method = "client_secret_basic"
client_secret = "{BASIC_SECRET}"
redirect_uris = ["{REDIRECT_URI}"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]

[[clients]]
client_id = "post"
organisation = {{ id = "org-rp", kind = "provider" }}
token_endpoint_auth_method = "client_secret_post"
client_secret = "{POST_SECRET}"
grant_types = ["client_credentials"]

[[clients]]
client_id = "public"
organisation = {{ id = "org-rp", kind = "provider" }}
token_endpoint_auth_method = "none"
redirect_uris = ["{PUBLIC_REDIRECT_URI}"]
grant_types = ["authorization_code", "refresh_token"]

[[clients]]
client_id = "dpop"
organisation = {{ id = "org-rp", kind = "provider" }}
token_endpoint_auth_method = "client_secret_basic"
client_secret = "{DPOP_SECRET}"
redirect_uris = ["{REDIRECT_URI}"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]
dpop_bound_access_tokens = true

[[clients]]
client_id = "rs256"
organisation = {{ id = "org-rp", kind = "provider" }}
token_endpoint_auth_method = "client_secret_basic"
client_secret = "{RS256_SECRET}"
redirect_uris = ["{REDIRECT_URI}"]
grant_types = ["authorization_code"]
id_token_signed_response_alg = "RS256"

[[clients]]
client_id = "payer"
organisation = {{ id = "org-payer", kind = "payer" }}
token_endpoint_auth_method = "client_secret_basic"
client_secret = "{PAYER_SECRET}"
grant_types = ["client_credentials"]

[[clients]]
client_id = "clinic"
organisation = {{ id = "org-clinic", kind = "provider" }}
token_endpoint_auth_method = "private_key_jwt"
jwks = {web_jwks}
redirect_uris = ["{REDIRECT_URI}"]
grant_types = ["authorization_code"]

[[clients]]
client_id = "auditor"
organisation = {{ id = "org-audit", kind = "auditor" }}
token_endpoint_auth_method = "client_secret_basic"
client_secret = "{AUDITOR_SECRET}"
grant_types = ["client_credentials"]

[[clients]]
client_id = "vendor"
organisation = {{ id = "org-vendor", kind = "vendor" }}
token_endpoint_auth_method = "client_secret_basic"
client_secret = "{VENDOR_SECRET}"
grant_types = ["urn:ietf:params:oauth:grant-type:token-exchange"]

[[clients]]
client_id = "stranger"
organisation = {{ id = "org-stranger", kind = "vendor" }}
token_endpoint_auth_method = "client_secret_basic"
client_secret = "{VENDOR_SECRET}"
grant_types = ["urn:ietf:params:oauth:grant-type:token-exchange"]

# Resource servers: they introspect the access tokens of their audience (RFC 7662).
[[clients]]
client_id = "fhir"
token_endpoint_auth_method = "client_secret_basic"
client_secret = "{FHIR_SECRET}"
resource_audiences = ["{FHIR_AUDIENCE}"]

[[clients]]
client_id = "other-fhir"
token_endpoint_auth_method = "client_secret_basic"
client_secret = "{OTHER_FHIR_SECRET}"
resource_audiences = ["{OTHER_FHIR_AUDIENCE}"]

# The provider organisation of the test clients has a BAA with `vendor`, not `stranger`.
[[business_associate_agreements]]
reference = "baa-2026-001"
covered_entity = "org-rp"
business_associate = "org-vendor"
"#,
            web_jwks = q(&web_jwks),
            m2m_jwks = q(&m2m_jwks),
        )
    }
}
