//! Key records: wrapping under the KEK, binding to kid/alg/purpose, serde.

mod common;

use glassgate_keys::{
    Algorithm, Kek, KeyError, KeyPurpose, KeyRecord, KeyStatus, Signer, jwk_thumbprint,
};

#[test]
fn generate_and_unwrap_each_algorithm() {
    let (kek, _) = Kek::generate().unwrap();
    for alg in Algorithm::ALL {
        let r = KeyRecord::generate(alg, KeyPurpose::TokenSigning, KeyStatus::Current, 100, &kek)
            .unwrap();
        assert_eq!(r.kid, jwk_thumbprint(&r.public_jwk).unwrap());
        assert_eq!(r.kek_id, kek.id());
        assert_eq!(
            (r.created_at, r.activated_at, r.retired_at),
            (100, Some(100), None)
        );
        assert_eq!(
            r.aad(),
            format!("{}|{}|token_signing", r.kid, alg.jose_name()).into_bytes()
        );
        let signer = r.signer(&kek).unwrap();
        assert_eq!(signer.kid(), r.kid);
        let sig = signer.sign(b"msg").unwrap();
        assert!(common::verify_with_jwk(&r.public_jwk, b"msg", &sig));
    }
}

#[test]
fn status_timestamps() {
    let (kek, _) = Kek::generate().unwrap();
    let mut r = KeyRecord::generate(
        Algorithm::EdDsa,
        KeyPurpose::LogSigning,
        KeyStatus::Next,
        5,
        &kek,
    )
    .unwrap();
    assert_eq!((r.activated_at, r.retired_at), (None, None));
    r.set_status(KeyStatus::Current, 10);
    r.set_status(KeyStatus::Retired, 20);
    r.set_status(KeyStatus::Removed, 30);
    assert_eq!(
        (r.status, r.activated_at, r.retired_at),
        (KeyStatus::Removed, Some(10), Some(20))
    );
}

#[test]
fn wrong_kek_is_reported_as_mismatch() {
    let (kek, _) = Kek::generate().unwrap();
    let (other, _) = Kek::generate().unwrap();
    let r = KeyRecord::generate(
        Algorithm::Es256,
        KeyPurpose::TokenSigning,
        KeyStatus::Next,
        0,
        &kek,
    )
    .unwrap();
    assert!(matches!(
        r.signer(&other),
        Err(KeyError::KekMismatch { .. })
    ));
    // Even if the record's kek_id is edited to match, the AEAD refuses.
    let mut forged = r.clone();
    forged.kek_id = other.id().to_owned();
    assert!(matches!(forged.signer(&other), Err(KeyError::Unwrap)));
}

#[test]
fn ciphertext_is_bound_to_record_fields() {
    let (kek, _) = Kek::generate().unwrap();
    let a = KeyRecord::generate(
        Algorithm::Es256,
        KeyPurpose::TokenSigning,
        KeyStatus::Next,
        0,
        &kek,
    )
    .unwrap();
    let b = KeyRecord::generate(
        Algorithm::Es256,
        KeyPurpose::TokenSigning,
        KeyStatus::Next,
        0,
        &kek,
    )
    .unwrap();

    let mut purpose = a.clone();
    purpose.purpose = KeyPurpose::LogSigning;
    assert!(matches!(purpose.signer(&kek), Err(KeyError::Unwrap)));

    let mut swapped = a.clone();
    swapped.wrapped_private = b.wrapped_private.clone();
    assert!(matches!(swapped.signer(&kek), Err(KeyError::Unwrap)));

    let mut tampered = a.clone();
    let last = tampered.wrapped_private.len() - 1;
    tampered.wrapped_private[last] ^= 0x80;
    assert!(matches!(tampered.signer(&kek), Err(KeyError::Unwrap)));

    let mut truncated = a.clone();
    truncated.wrapped_private.truncate(10);
    assert!(matches!(
        truncated.signer(&kek),
        Err(KeyError::Truncated(10))
    ));
}

#[test]
fn kid_must_match_key_material() {
    // A record whose kid is edited cannot even be unwrapped (kid is in the AAD)...
    let (kek, _) = Kek::generate().unwrap();
    let r = KeyRecord::generate(
        Algorithm::EdDsa,
        KeyPurpose::TokenSigning,
        KeyStatus::Next,
        0,
        &kek,
    )
    .unwrap();
    let mut renamed = r.clone();
    renamed.kid = "someone-else".into();
    assert!(matches!(renamed.signer(&kek), Err(KeyError::Unwrap)));
    // ...and one wrapped with a consistent AAD but a different key is caught by the kid check.
    let other = KeyRecord::generate(
        Algorithm::EdDsa,
        KeyPurpose::TokenSigning,
        KeyStatus::Next,
        0,
        &kek,
    )
    .unwrap();
    let der = kek.unwrap(&other.wrapped_private, &other.aad()).unwrap();
    let mut lying = r.clone();
    lying.wrapped_private = kek.wrap(&der, &r.aad()).unwrap();
    assert!(matches!(
        lying.signer(&kek),
        Err(KeyError::KidMismatch { .. })
    ));
}

#[test]
fn serde_round_trip_uses_stable_names() {
    let (kek, _) = Kek::generate().unwrap();
    let r = KeyRecord::generate(
        Algorithm::Rs256,
        KeyPurpose::TokenSigning,
        KeyStatus::Retired,
        7,
        &kek,
    )
    .unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["algorithm"], "RS256");
    assert_eq!(json["purpose"], "token_signing");
    assert_eq!(json["status"], "retired");
    assert!(json["wrapped_private"].is_string());
    let back: KeyRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
    assert!(back.signer(&kek).is_ok());
}
