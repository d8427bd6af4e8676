//! One error type for the crate, with variants specific enough that the idp can tell an
//! operator *what* is wrong (wrong KEK vs. corrupted record vs. missing key).

use crate::Algorithm;

/// Everything that can go wrong handling keys. Messages never contain key material.
#[derive(thiserror::Error, Debug)]
pub enum KeyError {
    /// The crypto library refused an operation (generation, parsing, signing).
    #[error("crypto operation failed: {0}")]
    Crypto(String),
    /// The KEK value is not base64 of exactly 32 bytes.
    #[error("invalid key-encryption key: {0}")]
    BadKek(String),
    /// AEAD authentication failed: wrong KEK, wrong AAD (record fields changed) or tampered ciphertext.
    #[error("cannot unwrap private key: wrong KEK, mismatched record or tampered ciphertext")]
    Unwrap,
    /// The wrapped blob is shorter than nonce plus tag, so it cannot be ours.
    #[error("wrapped key is truncated ({0} bytes)")]
    Truncated(usize),
    /// The record names a different KEK than the one loaded; it needs `record`'s KEK.
    #[error("record was wrapped under KEK {record}, but the loaded KEK is {loaded}")]
    KekMismatch { record: String, loaded: String },
    /// The decrypted private key does not match the record's kid (record corrupted or swapped).
    #[error("key id mismatch: record says {expected}, key material gives {actual}")]
    KidMismatch { expected: String, actual: String },
    /// The algorithm cannot be used for this operation (e.g. log keys must be EdDSA).
    #[error("unsupported algorithm {0:?} for this operation")]
    UnsupportedAlgorithm(Algorithm),
    /// The key record has a different purpose than the operation needs.
    #[error("key {kid} has purpose {purpose}, expected {expected}")]
    WrongPurpose {
        kid: String,
        purpose: &'static str,
        expected: &'static str,
    },
    /// Malformed input: base64, JWK members, log names.
    #[error("encoding error: {0}")]
    Encoding(String),
    /// No Current key exists for this algorithm (store not bootstrapped or algorithm disabled).
    #[error("no current signing key for {}", .0.jose_name())]
    NoCurrentKey(Algorithm),
    /// Reading or creating the KEK file failed.
    #[error("KEK file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl KeyError {
    pub(crate) fn crypto(what: &str) -> Self {
        KeyError::Crypto(what.to_owned())
    }
}
