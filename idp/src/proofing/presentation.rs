//! The wallet's answer: decoded, verified against the transcript of *our* stored request,
//! logged (outcome and refusal class; no personal data in the public entry), and kept for the
//! browser that asked, which reads it by polling and spends it on a passkey enrollment.
//!
//! Only an answer bound to the asking browser's origin (the Digital Credentials API) may
//! recover an existing account or be linked to a signed-in one: a cross-device answer comes
//! from whoever scanned the QR code, which an attacker can relay to their victim. Such an
//! answer is refused (`recovery_needs_origin_bound_channel`, `link_needs_origin_bound_channel`)
//! when it is verified, when the page polls and when it is spent, whichever first finds the
//! account, and nothing is left for the browser to enroll with.

use glassgate_mdl::revocation::RevocationPolicy;
use glassgate_mdl::{VerifyOptions, VerifyRequest, identity, transcript};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::transaction::{Channel, Transaction, poll_matches};
use super::{IdentityProofing, ProofingError};
use crate::app::AppState;
use crate::ephemeral::keys;
use crate::oauth::issuance;
use crate::tlog::{Event, EventKind, NO_CLIENT};

/// A verified identity, as much of it as enrollment needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvenIdentity {
    pub display_name: String,
    /// Keyed commitment to the document number: the same licence, the same person.
    pub commitment: String,
    /// OpenID Connect for Identity Assurance `verified_claims` (IAL2, `nist_800_63A`).
    pub verified_claims: Value,
    /// How the wallet answered; a result stored without it counts as cross-device.
    #[serde(default = "unbound_channel")]
    pub channel: Channel,
}

fn unbound_channel() -> Channel {
    Channel::CrossDevice
}

/// What a verified proof is spent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// A passkey enrollment: a new account, or (origin-bound proofs only) recovery.
    Enrollment,
    /// Attaching the identity to the signed-in account (origin-bound proofs only).
    Link,
}

/// The outcome the browser reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProofResult {
    Verified { identity: ProvenIdentity },
    Refused { reason: String, description: String },
}

#[derive(Serialize, Deserialize)]
struct StoredResult {
    poll_hash: String,
    result: ProofResult,
}

/// What the status endpoint answers.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProofStatus {
    Pending,
    Verified {
        given_name: String,
        /// An account already exists for this licence: enrolling recovers it.
        recovery: bool,
    },
    Refused {
        reason: String,
        description: String,
    },
}

impl IdentityProofing {
    /// `direct_post` / `direct_post.jwt` at the `response_uri`. Answers the wallet with `{}`
    /// when the presentation is verified, else an OAuth error naming the refusal.
    pub async fn accept_direct_post(
        &self,
        app: &AppState,
        id: &str,
        body: &[u8],
    ) -> Result<(), ProofingError> {
        let transaction = self.take(app.ephemeral.as_ref(), id).await?;
        if transaction.channel != Channel::CrossDevice {
            return Err(ProofingError::UnknownTransaction);
        }
        let params = self.params(id, &transaction)?;
        let decoded = glassgate_mdl::response::decode_form(
            body,
            params.encryption_key.as_ref(),
            &params.state,
        );
        let outcome = match decoded {
            Ok(response) => {
                self.verify(
                    &response.device_response,
                    &params.transcript(),
                    Channel::CrossDevice,
                )
                .await
            }
            Err(e) => Err(ProofingError::BadResponse(e.to_string())),
        };
        self.conclude(app, id, &transaction, outcome).await
    }

    /// The result of `navigator.credentials.get({digital})`, posted by the page that started
    /// the request (it holds the poll secret). The transcript binds our origin, never one
    /// the response names.
    pub async fn accept_digital_credential(
        &self,
        app: &AppState,
        id: &str,
        poll: &str,
        credential: &Value,
    ) -> Result<(), ProofingError> {
        self.load_for_browser(app.ephemeral.as_ref(), id, poll)
            .await?;
        let mut transaction = self.take(app.ephemeral.as_ref(), id).await?;
        transaction.channel = Channel::DigitalCredentialsApi;
        let params = self.params(id, &transaction)?;
        let key = params.encryption_key.as_ref();
        let thumbprint = key.map(|k| k.thumbprint());
        let transcript = transcript::oid4vp_dc_api(
            &self.origin(),
            &params.nonce,
            thumbprint.as_ref().map(|t| t.as_slice()),
        );
        let outcome = match glassgate_mdl::response::decode_dc_api(credential, key) {
            Ok(response) => {
                self.verify(
                    &response.device_response,
                    &transcript,
                    Channel::DigitalCredentialsApi,
                )
                .await
            }
            Err(e) => Err(ProofingError::BadResponse(e.to_string())),
        };
        self.conclude(app, id, &transaction, outcome).await
    }

    async fn verify(
        &self,
        device_response: &[u8],
        transcript: &glassgate_mdl::SessionTranscript,
        channel: Channel,
    ) -> Result<(ProvenIdentity, Value), ProofingError> {
        let requested = glassgate_mdl::RequestedElements::mdl_identity();
        let request = VerifyRequest {
            device_response,
            transcript,
            requested: &requested,
            now: glassgate_mdl::time::OffsetDateTime::now_utc(),
        };
        let options = VerifyOptions {
            revocation: if self.settings.require_revocation_status {
                RevocationPolicy::RequireKnownGood
            } else {
                RevocationPolicy::default()
            },
            ..VerifyOptions::default()
        };
        let (verified, fetch_errors) = self
            .revocation
            .verify(&request, &self.trust, &options)
            .await;
        for (url, error) in fetch_errors {
            tracing::warn!(url = %url, error = %error, "mDL revocation data unavailable");
        }
        let presentation = verified.map_err(|refusal| ProofingError::Refused {
            code: refusal.code(),
            description: refusal.to_string(),
        })?;
        // A withheld or malformed identity element (`identity_incomplete`), or an expired
        // licence (`licence_expired`: its `expiry_date` is before today, UTC).
        let record = identity::proofing_record(&presentation, self.commitment_key.as_ref())
            .map_err(|e| ProofingError::Refused {
                code: e.code().into(),
                description: e.to_string(),
            })?;
        // The private log record: how the identity was established, no names or dates.
        let evidence = json!({
            "outcome": "verified",
            "channel": channel,
            "doc_type": record.doc_type,
            "issuing_country": record.issuing_country,
            "issuing_jurisdiction": record.issuing_jurisdiction,
            "iaca_subject": record.iaca_subject,
            "trust_source": format!("{:?}", record.trust_source),
            "document_commitment": record.document_commitment,
            "verified_at": record.verified_at,
            "revocation": format!("{:?}", presentation.revocation),
        });
        let identity = ProvenIdentity {
            display_name: format!("{} {}", record.given_name, record.family_name),
            commitment: record.document_commitment,
            verified_claims: record.verified_claims,
            channel,
        };
        Ok((identity, evidence))
    }

    /// Logs the outcome and keeps it for the browser; the wallet gets `{}` or the refusal.
    /// A cross-device presentation of a licence that already has an account is refused here.
    async fn conclude(
        &self,
        app: &AppState,
        id: &str,
        transaction: &Transaction,
        outcome: Result<(ProvenIdentity, Value), ProofingError>,
    ) -> Result<(), ProofingError> {
        let mut refused_evidence = None;
        let outcome = match outcome {
            Ok((identity, evidence))
                if !identity.channel.origin_bound()
                    && self.has_account(app, &identity.commitment).await? =>
            {
                refused_evidence = Some(evidence);
                Err(ProofingError::RecoveryNeedsOriginBoundChannel)
            }
            other => other,
        };
        let (event, result) = match &outcome {
            Ok((identity, evidence)) => (
                Event::new(EventKind::CredentialMdl, NO_CLIENT)
                    .with_ial("ial2")
                    .with_record(evidence.clone()),
                ProofResult::Verified {
                    identity: identity.clone(),
                },
            ),
            Err(ProofingError::Internal(_)) => return outcome.map(|_| ()),
            Err(e) => {
                // A refused recovery keeps how the licence was established (no personal
                // data), so the targeted account can be found in the private record.
                let record = match refused_evidence {
                    Some(mut evidence) => {
                        if let Some(record) = evidence.as_object_mut() {
                            record.insert("outcome".into(), json!("refused"));
                        }
                        evidence
                    }
                    None => json!({ "outcome": "refused", "channel": transaction.channel }),
                };
                (
                    Event::new(EventKind::CredentialMdl, NO_CLIENT)
                        .with_refusal(&e.code())
                        .with_record(record),
                    ProofResult::Refused {
                        reason: e.code(),
                        description: e.to_string(),
                    },
                )
            }
        };
        issuance::log_event(app, event)
            .await
            .map_err(|e| ProofingError::internal(e.description))?;
        self.keep(app, id, &transaction.poll_hash, result).await?;
        outcome.map(|_| ())
    }

    /// Keeps a result for the browser holding the poll secret.
    async fn keep(
        &self,
        app: &AppState,
        id: &str,
        poll_hash: &str,
        result: ProofResult,
    ) -> Result<(), ProofingError> {
        let stored = StoredResult {
            poll_hash: poll_hash.to_owned(),
            result,
        };
        let value = serde_json::to_vec(&stored).map_err(ProofingError::internal)?;
        app.ephemeral
            .put(&keys::proofing_result(id), &value, self.ttl())
            .await?;
        Ok(())
    }

    async fn has_account(&self, app: &AppState, commitment: &str) -> Result<bool, ProofingError> {
        Ok(app
            .store
            .accounts
            .account_by_commitment(commitment)
            .await
            .map_err(ProofingError::internal)?
            .is_some())
    }

    /// Refuses a verified cross-device result that was already taken from the store (an
    /// account appeared for its licence after it was verified, or it was spent on a link):
    /// logged, and replaced by the refusal, which the page then shows; nothing is left to
    /// enroll with.
    async fn refuse_taken(
        &self,
        app: &AppState,
        id: &str,
        poll_hash: &str,
        identity: &ProvenIdentity,
        refusal: ProofingError,
    ) -> Result<ProofingError, ProofingError> {
        let event = Event::new(EventKind::CredentialMdl, NO_CLIENT)
            .with_refusal(&refusal.code())
            .with_record(json!({
                "outcome": "refused",
                "channel": identity.channel,
                "document_commitment": identity.commitment,
            }));
        issuance::log_event(app, event)
            .await
            .map_err(|e| ProofingError::internal(e.description))?;
        let result = ProofResult::Refused {
            reason: refusal.code(),
            description: refusal.to_string(),
        };
        self.keep(app, id, poll_hash, result).await?;
        Ok(refusal)
    }

    /// What the browser that started request `id` may know of it.
    pub async fn status(
        &self,
        app: &AppState,
        id: &str,
        poll: &str,
    ) -> Result<ProofStatus, ProofingError> {
        if let Some(stored) = self.result(app, id, poll).await? {
            return Ok(match stored.result {
                ProofResult::Verified { identity } => {
                    let recovery = self.has_account(app, &identity.commitment).await?;
                    if recovery && !identity.channel.origin_bound() {
                        // An account appeared for this licence since it was verified: spend
                        // the result now (once, whoever takes it logs it).
                        let refusal = ProofingError::RecoveryNeedsOriginBoundChannel;
                        let (reason, description) = (refusal.code(), refusal.to_string());
                        let taken = app.ephemeral.take(&keys::proofing_result(id)).await?;
                        if taken.is_some() {
                            self.refuse_taken(app, id, &stored.poll_hash, &identity, refusal)
                                .await?;
                        }
                        return Ok(ProofStatus::Refused {
                            reason,
                            description,
                        });
                    }
                    ProofStatus::Verified {
                        given_name: identity
                            .verified_claims
                            .pointer("/claims/given_name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        recovery,
                    }
                }
                ProofResult::Refused {
                    reason,
                    description,
                } => ProofStatus::Refused {
                    reason,
                    description,
                },
            });
        }
        self.load_for_browser(app.ephemeral.as_ref(), id, poll)
            .await?;
        Ok(ProofStatus::Pending)
    }

    /// Spends a verified result (once) on an enrollment or a link. A cross-device result is
    /// refused for a link, and for an enrollment that would recover an existing account; the
    /// refusal is logged and replaces the result.
    pub async fn take_verified(
        &self,
        app: &AppState,
        id: &str,
        poll: &str,
        spend: Spend,
    ) -> Result<ProvenIdentity, ProofingError> {
        match self.result(app, id, poll).await? {
            Some(StoredResult {
                result: ProofResult::Verified { .. },
                ..
            }) => {}
            _ => return Err(ProofingError::UnknownTransaction),
        }
        let value = app
            .ephemeral
            .take(&keys::proofing_result(id))
            .await?
            .ok_or(ProofingError::UnknownTransaction)?;
        let stored: StoredResult =
            serde_json::from_slice(&value).map_err(ProofingError::internal)?;
        let ProofResult::Verified { identity } = stored.result else {
            return Err(ProofingError::UnknownTransaction);
        };
        if identity.channel.origin_bound() {
            return Ok(identity);
        }
        let refusal = match spend {
            Spend::Link => ProofingError::LinkNeedsOriginBoundChannel,
            Spend::Enrollment => {
                if !self.has_account(app, &identity.commitment).await? {
                    return Ok(identity);
                }
                ProofingError::RecoveryNeedsOriginBoundChannel
            }
        };
        Err(self
            .refuse_taken(app, id, &stored.poll_hash, &identity, refusal)
            .await?)
    }

    async fn result(
        &self,
        app: &AppState,
        id: &str,
        poll: &str,
    ) -> Result<Option<StoredResult>, ProofingError> {
        let Some(value) = app.ephemeral.get(&keys::proofing_result(id)).await? else {
            return Ok(None);
        };
        let stored: StoredResult =
            serde_json::from_slice(&value).map_err(ProofingError::internal)?;
        if !poll_matches(&stored.poll_hash, poll) {
            return Err(ProofingError::UnknownTransaction);
        }
        Ok(Some(stored))
    }
}
