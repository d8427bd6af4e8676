//! Storage-agnostic key record: what the idp persists (in SQL) for every key it ever created.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::{Algorithm, Kek, KeyError, KeyPurpose, KeyStatus, Signer, SoftwareSigner};

/// One key and its lifecycle. The private key is only ever present wrapped under a KEK.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
    pub algorithm: Algorithm,
    pub purpose: KeyPurpose,
    pub status: KeyStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// When it became Current; rotation age is measured from here.
    pub activated_at: Option<i64>,
    /// When it stopped signing; removal is measured from here.
    pub retired_at: Option<i64>,
    pub public_jwk: Value,
    /// Id of the KEK that wrapped `wrapped_private`.
    pub kek_id: String,
    /// nonce || AES-256-GCM ciphertext || tag of the PKCS#8 DER; ciphertext, so Debug is harmless.
    #[serde(with = "b64")]
    pub wrapped_private: Vec<u8>,
}

impl KeyRecord {
    /// Generates a fresh key of `alg`, kid = RFC 7638 thumbprint, private key wrapped under `kek`.
    pub fn generate(
        alg: Algorithm,
        purpose: KeyPurpose,
        status: KeyStatus,
        now: i64,
        kek: &Kek,
    ) -> Result<Self, KeyError> {
        let (signer, der) = SoftwareSigner::generate(alg)?;
        let kid = signer.kid().to_owned();
        let wrapped_private = kek.wrap(&der, &aad(&kid, alg, purpose))?;
        let mut record = Self {
            kid,
            algorithm: alg,
            purpose,
            status: KeyStatus::Next,
            created_at: now,
            activated_at: None,
            retired_at: None,
            public_jwk: signer.public_jwk().clone(),
            kek_id: kek.id().to_owned(),
            wrapped_private,
        };
        record.set_status(status, now);
        Ok(record)
    }

    /// Applies a status change and stamps `activated_at` / `retired_at` as the planner expects.
    pub fn set_status(&mut self, status: KeyStatus, at: i64) {
        self.status = status;
        match status {
            KeyStatus::Current => self.activated_at = Some(at),
            KeyStatus::Retired => self.retired_at = Some(at),
            KeyStatus::Next | KeyStatus::Removed => {}
        }
    }

    /// The AAD binding the ciphertext to this record: kid || "|" || alg || "|" || purpose.
    pub fn aad(&self) -> Vec<u8> {
        aad(&self.kid, self.algorithm, self.purpose)
    }

    /// Unwraps the PKCS#8 DER, reporting a KEK mismatch distinctly from tampering.
    pub(crate) fn private_der(&self, kek: &Kek) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if self.kek_id != kek.id() {
            return Err(KeyError::KekMismatch {
                record: self.kek_id.clone(),
                loaded: kek.id().to_owned(),
            });
        }
        kek.unwrap(&self.wrapped_private, &self.aad())
    }

    /// Unwraps the private key into a signer, checking it really is the key this record names.
    pub fn signer(&self, kek: &Kek) -> Result<SoftwareSigner, KeyError> {
        let signer = SoftwareSigner::from_pkcs8(self.algorithm, &self.private_der(kek)?)?;
        if signer.kid() != self.kid {
            return Err(KeyError::KidMismatch {
                expected: self.kid.clone(),
                actual: signer.kid().to_owned(),
            });
        }
        Ok(signer)
    }
}

fn aad(kid: &str, alg: Algorithm, purpose: KeyPurpose) -> Vec<u8> {
    format!("{kid}|{}|{}", alg.jose_name(), purpose.as_str()).into_bytes()
}

/// Base64url in JSON so serialised records stay compact and readable.
mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        URL_SAFE_NO_PAD.decode(text).map_err(D::Error::custom)
    }
}
