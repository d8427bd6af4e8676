//! The `Signer` abstraction and its software implementation on aws-lc-rs. Hardware backends
//! (PKCS#11, KMS) can implement the same trait later without touching callers.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::{Algorithm, KeyError, jwk};

/// Anything that can produce a JOSE signature: software keys now, PKCS#11/KMS later.
pub trait Signer: Send + Sync {
    /// RFC 7638 thumbprint of the public key.
    fn kid(&self) -> &str;
    fn algorithm(&self) -> Algorithm;
    /// JOSE-format signature: ES256 = 64-byte r||s (fixed), RS256 = PKCS#1 v1.5 SHA-256,
    /// EdDSA = 64 bytes.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// Public JWK as a JSON object (kty, crv/x/y or n/e, plus kid, alg, use="sig").
    fn public_jwk(&self) -> &Value;
}

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private key held in process memory. aws-lc frees (and cleanses) its own key structures;
/// PKCS#8 copies we hand out are `Zeroizing`.
pub struct SoftwareSigner {
    pair: Pair,
    algorithm: Algorithm,
    kid: String,
    jwk: Value,
    rng: SystemRandom,
}

impl fmt::Debug for SoftwareSigner {
    // Deliberately only public identifiers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn rejected<E: fmt::Display>(what: &'static str) -> impl FnOnce(E) -> KeyError {
    move |e| KeyError::Crypto(format!("{what}: {e}"))
}

impl SoftwareSigner {
    /// Generates a fresh key (RSA is 2048-bit) and returns it with its PKCS#8 DER for wrapping.
    pub fn generate(alg: Algorithm) -> Result<(Self, Zeroizing<Vec<u8>>), KeyError> {
        let der = Zeroizing::new(match alg {
            Algorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map_err(rejected("generating P-256 key"))?
                .as_ref()
                .to_vec(),
            Algorithm::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|k| k.as_der())
                .map_err(rejected("generating RSA key"))?
                .as_ref()
                .to_vec(),
            Algorithm::EdDsa => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8())
                .map_err(rejected("generating Ed25519 key"))?
                .as_ref()
                .to_vec(),
        });
        let signer = Self::from_pkcs8(alg, &der)?;
        Ok((signer, der))
    }

    /// Loads a PKCS#8 private key; the kid and JWK are derived from it, never trusted from storage.
    pub fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let (pair, public) = match alg {
            Algorithm::Es256 => {
                let k = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(rejected("parsing P-256 PKCS#8"))?;
                let public = jwk::ec_p256(k.public_key().as_ref())?;
                (Pair::Ec(k), public)
            }
            Algorithm::Rs256 => {
                let k = RsaKeyPair::from_pkcs8(der).map_err(rejected("parsing RSA PKCS#8"))?;
                let c = PublicKeyComponents::<Vec<u8>>::from(k.public_key());
                let public = jwk::rsa(&c.n, &c.e);
                (Pair::Rsa(k), public)
            }
            Algorithm::EdDsa => {
                let k = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(rejected("parsing Ed25519 PKCS#8"))?;
                let public = jwk::ed25519(k.public_key().as_ref());
                (Pair::Ed(k), public)
            }
        };
        let (kid, jwk) = jwk::finish(public, alg)?;
        Ok(Self {
            pair,
            algorithm: alg,
            kid,
            jwk,
            rng: SystemRandom::new(),
        })
    }

    /// The Ed25519 key pair, for log signing; `None` for other algorithms.
    pub(crate) fn ed25519(&self) -> Option<&Ed25519KeyPair> {
        match &self.pair {
            Pair::Ed(k) => Some(k),
            _ => None,
        }
    }
}

impl Signer for SoftwareSigner {
    fn kid(&self) -> &str {
        &self.kid
    }

    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Ec(k) => k
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::crypto("ES256 signing failed")),
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
                    .map_err(|_| KeyError::crypto("RS256 signing failed"))?;
                Ok(sig)
            }
            Pair::Ed(k) => k
                .try_sign(message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::crypto("EdDSA signing failed")),
        }
    }

    fn public_jwk(&self) -> &Value {
        &self.jwk
    }
}
