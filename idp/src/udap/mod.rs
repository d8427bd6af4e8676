//! UDAP (HL7 FAST Security IG): Glassgate as a UDAP authorization server and as the
//! identity provider of Tiered OAuth.
//!
//! - `metadata`: `/.well-known/udap`, with `signed_metadata` (RS256, `x5c`);
//! - `registration`: trusted dynamic registration from software statements whose `x5c`
//!   chains end at the community's anchors (201 create, 200 update by the same `iss`,
//!   cancel by empty `grant_types`);
//! - `assertion`: the `x5c` client authentication of registered members at the token
//!   endpoint, and the `hl7-b2b` authorization extension it carries (the B2B purpose);
//! - `x509`: anchors and chain validation.
//!
//! A registered member's `client_id` is derived from its certificate's URI, so the same
//! `iss` always names the same client and only the certificate holder can change it.

pub mod assertion;
mod metadata;
mod registration;
pub mod x509;

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use axum::Router;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::app::{AppState, StartError};
use crate::config::Config;
use crate::jose::b64;

/// Prefix of the client ids of UDAP-registered members.
pub const CLIENT_PREFIX: &str = "udap-";

/// Longest lifetime of a B2B access token (UDAP B2B: 60 minutes).
pub const B2B_TOKEN_MAX_TTL: i64 = 3600;

/// The client id a member's certificate URI maps to.
pub fn client_id_for(iss: &str) -> String {
    let digest = crate::oauth::sha256_hex(iss);
    format!("{CLIENT_PREFIX}{}", digest.get(..32).unwrap_or(&digest))
}

/// Is this a UDAP-registered member's client id?
pub fn is_member(client_id: &str) -> bool {
    client_id.starts_with(CLIENT_PREFIX)
}

/// The loaded UDAP configuration of this server.
pub struct Udap {
    /// Our certificate chain, leaf first (DER).
    chain: Vec<Vec<u8>>,
    key: RsaKeyPair,
    anchors: Vec<x509::Anchor>,
    community: Option<String>,
}

fn invalid(text: impl std::fmt::Display) -> StartError {
    StartError::Config(format!("udap: {text}"))
}

impl Udap {
    /// `None` unless `[udap]` names a certificate, its key and the community's anchors.
    pub fn load(config: &Config) -> Result<Option<Udap>, StartError> {
        let u = &config.udap;
        let (Some(certificate), Some(key), Some(anchors)) = (&u.certificate, &u.key, &u.anchors)
        else {
            if u.certificate.is_some() || u.key.is_some() || u.anchors.is_some() {
                return Err(invalid("certificate, key and anchors go together"));
            }
            return Ok(None);
        };
        let chain = x509::pem_certificates(certificate).map_err(invalid)?;
        let leaf = chain.first().ok_or_else(|| invalid("no certificate"))?;
        let uris = x509::uris(leaf).map_err(invalid)?;
        if !uris.iter().any(|u| u == &config.issuer) {
            return Err(invalid(format!(
                "the certificate's URI SAN must be the issuer {}",
                config.issuer
            )));
        }
        let pem = std::fs::read(key).map_err(|e| invalid(format!("{}: {e}", key.display())))?;
        let pkcs8 = Zeroizing::new(
            x509_parser::pem::Pem::iter_from_buffer(&pem)
                .filter_map(Result::ok)
                .find(|p| p.label == "PRIVATE KEY")
                .map(|p| p.contents)
                .ok_or_else(|| invalid("the key file has no PKCS#8 PRIVATE KEY block"))?,
        );
        let key = RsaKeyPair::from_pkcs8(&pkcs8)
            .map_err(|e| invalid(format!("the key is not an RSA PKCS#8 key: {e}")))?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf).map_err(invalid)?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key().as_ref() {
            return Err(invalid("the key does not match the certificate"));
        }
        let anchors = x509::pem_certificates(anchors)
            .map_err(invalid)?
            .iter()
            .map(|der| x509::Anchor::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        if anchors.is_empty() {
            return Err(invalid("no trust anchor"));
        }
        Ok(Some(Udap {
            chain,
            key,
            anchors,
            community: u.community.clone(),
        }))
    }

    pub fn anchors(&self) -> &[x509::Anchor] {
        &self.anchors
    }

    /// Does this server serve `community` (absent: the default community)?
    pub fn serves(&self, community: Option<&str>) -> bool {
        match community {
            None => true,
            Some(c) => self.community.as_deref() == Some(c),
        }
    }

    /// A compact JWS signed RS256 with our certificate chain in `x5c`.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, String> {
        #[derive(Serialize)]
        struct Header<'a> {
            alg: &'static str,
            x5c: Vec<String>,
            typ: &'a str,
        }
        let header = Header {
            alg: "RS256",
            x5c: self.chain.iter().map(|c| STANDARD.encode(c)).collect(),
            typ: "JWT",
        };
        let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
        let payload = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
        let input = format!("{}.{}", b64(&header), b64(&payload));
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| e.to_string())?;
        Ok(format!("{input}.{}", b64(&signature)))
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/.well-known/udap", get(metadata::udap_metadata))
        .route("/udap/register", post(registration::register))
}
