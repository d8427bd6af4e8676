//! The C2SP signed-note log key, checked against the reference example.
// Helpers below are not `#[test]` fns, so clippy.toml's allow-unwrap-in-tests misses them.
#![allow(clippy::unwrap_used)]

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_keys::{
    Algorithm, Kek, KeyError, KeyPurpose, KeyRecord, KeyStatus, LogKey, jwk_thumbprint, note_key_id,
};
use serde_json::json;

// The example key from the C2SP signed-note spec / golang.org/x/mod/sumdb/note docs.
const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const SKEY_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; // 0x01 || seed
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const SIG_B64: &str =
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

fn spec_public_key() -> [u8; 32] {
    let b64 = VKEY.splitn(3, '+').nth(2).unwrap();
    let typed = STANDARD.decode(b64).unwrap();
    assert_eq!(typed.len(), 33);
    assert_eq!(typed[0], 0x01);
    typed[1..].try_into().unwrap()
}

/// Builds a LogSigning record around the spec's seed, as the idp would have stored it.
fn spec_record(kek: &Kek) -> KeyRecord {
    let skey = STANDARD.decode(SKEY_B64).unwrap();
    assert_eq!(skey[0], 0x01);
    let pair = Ed25519KeyPair::from_seed_unchecked(&skey[1..]).unwrap();
    let der = pair.to_pkcs8().unwrap();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519",
        "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(spec_public_key())});
    let kid = jwk_thumbprint(&jwk).unwrap();
    let aad = format!("{kid}|EdDSA|log_signing");
    KeyRecord {
        kid,
        algorithm: Algorithm::EdDsa,
        purpose: KeyPurpose::LogSigning,
        status: KeyStatus::Current,
        created_at: 0,
        activated_at: Some(0),
        retired_at: None,
        public_jwk: jwk,
        kek_id: kek.id().to_owned(),
        wrapped_private: kek.wrap(der.as_ref(), aad.as_bytes()).unwrap(),
    }
}

#[test]
fn key_id_matches_spec_example() {
    assert_eq!(
        note_key_id("PeterNeumann", &spec_public_key()),
        [0xc7, 0x4f, 0x20, 0xa3]
    );
}

#[test]
fn spec_key_reproduces_vkey_and_signature() {
    let (kek, _) = Kek::generate().unwrap();
    let key = LogKey::from_record(&spec_record(&kek), &kek, "PeterNeumann").unwrap();
    assert_eq!(key.name(), "PeterNeumann");
    assert_eq!(key.public_key(), spec_public_key());
    assert_eq!(key.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(key.vkey(), VKEY);
    // The note signature line is base64(key id || Ed25519 signature over the text);
    // Ed25519 is deterministic, so we must reproduce it byte for byte.
    let blob = STANDARD.decode(SIG_B64).unwrap();
    assert_eq!(&blob[..4], &key.key_id());
    assert_eq!(key.sign(TEXT.as_bytes()).unwrap().as_slice(), &blob[4..]);
}

#[test]
fn generated_log_key_signs_verifiably() {
    let (kek, _) = Kek::generate().unwrap();
    let r = KeyRecord::generate(
        Algorithm::EdDsa,
        KeyPurpose::LogSigning,
        KeyStatus::Current,
        0,
        &kek,
    )
    .unwrap();
    let key = LogKey::from_record(&r, &kek, "log.example/glassgate").unwrap();
    let vkey = key.vkey();
    let parts: Vec<&str> = vkey.splitn(3, '+').collect();
    assert_eq!(parts[0], "log.example/glassgate");
    assert_eq!(parts[1].len(), 8);
    let typed = STANDARD.decode(parts[2]).unwrap();
    assert_eq!(typed[0], 0x01);
    assert_eq!(&typed[1..], key.public_key().as_slice());
    let sig = key.sign(b"checkpoint\n").unwrap();
    assert!(
        UnparsedPublicKey::new(&ED25519, key.public_key())
            .verify(b"checkpoint\n", &sig)
            .is_ok()
    );
}

#[test]
fn rejects_bad_names_purposes_and_algorithms() {
    let (kek, _) = Kek::generate().unwrap();
    let r = KeyRecord::generate(
        Algorithm::EdDsa,
        KeyPurpose::LogSigning,
        KeyStatus::Current,
        0,
        &kek,
    )
    .unwrap();
    for bad in ["", "has space", "a+b", "tab\there"] {
        assert!(
            matches!(
                LogKey::from_record(&r, &kek, bad),
                Err(KeyError::Encoding(_))
            ),
            "{bad:?}"
        );
    }
    let token = KeyRecord::generate(
        Algorithm::EdDsa,
        KeyPurpose::TokenSigning,
        KeyStatus::Current,
        0,
        &kek,
    )
    .unwrap();
    assert!(matches!(
        LogKey::from_record(&token, &kek, "n"),
        Err(KeyError::WrongPurpose { .. })
    ));
    let ec = KeyRecord::generate(
        Algorithm::Es256,
        KeyPurpose::LogSigning,
        KeyStatus::Current,
        0,
        &kek,
    )
    .unwrap();
    assert!(matches!(
        LogKey::from_record(&ec, &kek, "n"),
        Err(KeyError::UnsupportedAlgorithm(Algorithm::Es256))
    ));
    let (other, _) = Kek::generate().unwrap();
    assert!(matches!(
        LogKey::from_record(&r, &other, "n"),
        Err(KeyError::KekMismatch { .. })
    ));
}
