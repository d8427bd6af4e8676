//! One presentation request: created when a person asks to prove their identity, kept in
//! the ephemeral store (Redis in production) for `mdl.request_ttl_secs`, answered once.
//!
//! The wallet knows the transaction id (it is in the request and response URIs); only the
//! browser that started the request knows the poll secret that reads the result.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use glassgate_mdl::RequestedElements;
use glassgate_mdl::request::{EphemeralKey, RequestParams, ResponseMode, sign_request_object};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{IdentityProofing, ProofingError};
use crate::ephemeral::{EphemeralStore, keys};
use crate::oauth::{random_token, sha256_hex};

/// How the wallet is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// QR code (or same-device link) → request object by `request_uri` → `direct_post`.
    CrossDevice,
    /// `navigator.credentials.get({digital: …})` on this page.
    DigitalCredentialsApi,
}

impl Channel {
    /// Whether the wallet's answer is bound to the browser that asked. The Digital Credentials
    /// API is: the browser itself calls the wallet and puts its own origin in the transcript.
    /// The cross-device channel is not: whoever scans the QR code (or opens the link) answers,
    /// so a code relayed to someone else brings back *their* licence (OpenID4VP 1.0 security
    /// considerations, session fixation; RFC 10027, cross-device consent phishing). Only an
    /// origin-bound answer may recover an existing account or be linked to a signed-in one.
    pub fn origin_bound(self) -> bool {
        matches!(self, Self::DigitalCredentialsApi)
    }
}

/// The server-side state of one request: everything the transcript is built from.
#[derive(Serialize, Deserialize)]
pub(super) struct Transaction {
    pub channel: Channel,
    pub nonce: String,
    pub state: String,
    /// PKCS#8 of the response-encryption key (base64url), for `direct_post.jwt` / `dc_api.jwt`.
    pub encryption_key: Option<String>,
    pub poll_hash: String,
}

/// What the page needs to start the wallet.
#[derive(Debug, Serialize)]
pub struct Started {
    pub transaction: String,
    /// Secret of the browser that started the request: reads the result, enrolls with it.
    pub poll: String,
    /// The wallet invocation URL (shown as a QR code, or opened on this device).
    pub invocation_url: String,
    pub qr_code: String,
    /// The `digital` member for `navigator.credentials.get`.
    pub digital: Value,
    pub expires_in: u64,
}

impl IdentityProofing {
    pub async fn start(&self, store: &dyn EphemeralStore) -> Result<Started, ProofingError> {
        let id = random_token().map_err(|e| ProofingError::internal(e.description))?;
        let poll = random_token().map_err(|e| ProofingError::internal(e.description))?;
        let encryption_key = match self.response_mode() {
            ResponseMode::DirectPostJwt => Some(
                EphemeralKey::generate()
                    .map(|k| URL_SAFE_NO_PAD.encode(&k.pkcs8))
                    .map_err(ProofingError::internal)?,
            ),
            ResponseMode::DirectPost => None,
        };
        let transaction = Transaction {
            channel: Channel::CrossDevice,
            nonce: random_token().map_err(|e| ProofingError::internal(e.description))?,
            state: random_token().map_err(|e| ProofingError::internal(e.description))?,
            encryption_key,
            poll_hash: sha256_hex(&poll),
        };
        self.save(store, &id, &transaction).await?;
        let params = self.params(&id, &transaction)?;
        let request_uri = self.endpoint(&format!("/mdl/request/{id}"));
        Ok(Started {
            invocation_url: params.invocation_url(&self.settings.wallet_scheme, &request_uri),
            qr_code: self.endpoint(&format!("/mdl/qr/{id}")),
            digital: params.dc_api_request(),
            transaction: id,
            poll,
            expires_in: self.settings.request_ttl_secs,
        })
    }

    /// The request object the wallet fetches by `request_uri`: signed with the
    /// `x509_san_dns` certificate, or unsigned (`alg: none`) for the `redirect_uri` prefix.
    pub async fn request_object(
        &self,
        store: &dyn EphemeralStore,
        id: &str,
    ) -> Result<String, ProofingError> {
        let transaction = self.load(store, id).await?;
        let params = self.params(id, &transaction)?;
        let claims = params.claims(glassgate_mdl::time::OffsetDateTime::now_utc());
        match &self.signer {
            Some(signer) => sign_request_object(&claims, &signer.key_pkcs8, &signer.chain)
                .map_err(ProofingError::internal),
            None => Ok(format!(
                "{}.{}.",
                URL_SAFE_NO_PAD
                    .encode(json!({"alg": "none", "typ": "oauth-authz-req+jwt"}).to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            )),
        }
    }

    /// The QR code of the invocation URL, as SVG.
    pub async fn qr_code(
        &self,
        store: &dyn EphemeralStore,
        id: &str,
    ) -> Result<String, ProofingError> {
        let transaction = self.load(store, id).await?;
        let params = self.params(id, &transaction)?;
        let url = params.invocation_url(
            &self.settings.wallet_scheme,
            &self.endpoint(&format!("/mdl/request/{id}")),
        );
        let code = qrcode::QrCode::new(url.as_bytes()).map_err(ProofingError::internal)?;
        Ok(code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build())
    }

    /// Everything one request is, rebuilt from its stored state.
    pub(super) fn params(
        &self,
        id: &str,
        transaction: &Transaction,
    ) -> Result<RequestParams, ProofingError> {
        let response_uri = self.endpoint(&format!("/mdl/response/{id}"));
        let encryption_key = transaction
            .encryption_key
            .as_deref()
            .map(|k| {
                URL_SAFE_NO_PAD
                    .decode(k)
                    .map_err(ProofingError::internal)
                    .and_then(|der| EphemeralKey::from_pkcs8(&der).map_err(ProofingError::internal))
            })
            .transpose()?;
        Ok(RequestParams {
            client_id: self.client_id(&response_uri),
            response_mode: self.response_mode(),
            response_uri,
            nonce: transaction.nonce.clone(),
            state: transaction.state.clone(),
            requested: RequestedElements::mdl_identity(),
            encryption_key,
        })
    }

    fn response_mode(&self) -> ResponseMode {
        match self.settings.response_mode.as_str() {
            "direct_post" => ResponseMode::DirectPost,
            _ => ResponseMode::DirectPostJwt,
        }
    }

    pub(super) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The web origin of this server (the Digital Credentials API transcript's origin).
    pub(super) fn origin(&self) -> String {
        url::Url::parse(&self.issuer)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| self.issuer.clone())
    }

    async fn save(
        &self,
        store: &dyn EphemeralStore,
        id: &str,
        transaction: &Transaction,
    ) -> Result<(), ProofingError> {
        let value = serde_json::to_vec(transaction).map_err(ProofingError::internal)?;
        store
            .put(&keys::proofing_request(id), &value, self.ttl())
            .await?;
        Ok(())
    }

    async fn load(
        &self,
        store: &dyn EphemeralStore,
        id: &str,
    ) -> Result<Transaction, ProofingError> {
        let value = store
            .get(&keys::proofing_request(id))
            .await?
            .ok_or(ProofingError::UnknownTransaction)?;
        serde_json::from_slice(&value).map_err(ProofingError::internal)
    }

    /// Takes the request for its one answer (`GETDEL`: a second answer finds nothing).
    pub(super) async fn take(
        &self,
        store: &dyn EphemeralStore,
        id: &str,
    ) -> Result<Transaction, ProofingError> {
        let value = store
            .take(&keys::proofing_request(id))
            .await?
            .ok_or(ProofingError::UnknownTransaction)?;
        serde_json::from_slice(&value).map_err(ProofingError::internal)
    }

    /// The page switches a request to the Digital Credentials API before calling it.
    pub(super) async fn load_for_browser(
        &self,
        store: &dyn EphemeralStore,
        id: &str,
        poll: &str,
    ) -> Result<Transaction, ProofingError> {
        let transaction = self.load(store, id).await?;
        if !poll_matches(&transaction.poll_hash, poll) {
            return Err(ProofingError::UnknownTransaction);
        }
        Ok(transaction)
    }
}

/// Whether `poll` is the secret whose hash is stored (compared in constant time).
pub(super) fn poll_matches(poll_hash: &str, poll: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(
        poll_hash.as_bytes(),
        sha256_hex(poll).as_bytes(),
    )
    .is_ok()
}
