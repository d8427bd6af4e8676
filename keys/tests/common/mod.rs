//! Helpers shared by the integration tests.
#![allow(dead_code)]
// Helpers are not `#[test]` fns, so clippy.toml's allow-unwrap-in-tests does not reach them.
#![allow(clippy::unwrap_used)]

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use glassgate_keys::{Algorithm, Kek, KeyPurpose, KeyRecord, KeyStatus};
use serde_json::Value;

fn member(jwk: &Value, name: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap()
}

/// Verifies a JOSE signature using only the public JWK, proving the JWK describes the key.
pub fn verify_with_jwk(jwk: &Value, message: &[u8], sig: &[u8]) -> bool {
    let alg = Algorithm::from_jose_name(jwk["alg"].as_str().unwrap()).unwrap();
    match alg {
        Algorithm::Es256 => {
            assert_eq!(jwk["kty"], "EC");
            assert_eq!(jwk["crv"], "P-256");
            let mut point = vec![0x04];
            point.extend(member(jwk, "x"));
            point.extend(member(jwk, "y"));
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(message, sig)
                .is_ok()
        }
        Algorithm::Rs256 => {
            assert_eq!(jwk["kty"], "RSA");
            RsaPublicKeyComponents {
                n: member(jwk, "n"),
                e: member(jwk, "e"),
            }
            .verify(&RSA_PKCS1_2048_8192_SHA256, message, sig)
            .is_ok()
        }
        Algorithm::EdDsa => {
            assert_eq!(jwk["kty"], "OKP");
            assert_eq!(jwk["crv"], "Ed25519");
            UnparsedPublicKey::new(&ED25519, member(jwk, "x"))
                .verify(message, sig)
                .is_ok()
        }
    }
}

/// A record with explicit timestamps, for planner and key-ring tests.
pub fn record(
    alg: Algorithm,
    status: KeyStatus,
    created: i64,
    activated: Option<i64>,
    retired: Option<i64>,
    kek: &Kek,
) -> KeyRecord {
    let mut r =
        KeyRecord::generate(alg, KeyPurpose::TokenSigning, KeyStatus::Next, created, kek).unwrap();
    r.status = status;
    r.activated_at = activated;
    r.retired_at = retired;
    r
}
