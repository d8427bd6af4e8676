//! The key ring built from records: signers and the published JWKS.
// Helpers below are not `#[test]` fns, so clippy.toml's allow-unwrap-in-tests misses them.
#![allow(clippy::unwrap_used)]

mod common;

use common::record;
use glassgate_keys::{Algorithm, Kek, KeyError, KeyPurpose, KeyRecord, KeyRing, KeyStatus};
use serde_json::Value;

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn jwks_publishes_next_current_retired_but_not_removed() {
    let (kek, _) = Kek::generate().unwrap();
    let retired = record(
        Algorithm::Es256,
        KeyStatus::Retired,
        0,
        Some(0),
        Some(50),
        &kek,
    );
    let removed = record(
        Algorithm::Es256,
        KeyStatus::Removed,
        0,
        Some(0),
        Some(10),
        &kek,
    );
    let next = record(Algorithm::Es256, KeyStatus::Next, 50, None, None, &kek);
    let current = record(
        Algorithm::Es256,
        KeyStatus::Current,
        40,
        Some(50),
        None,
        &kek,
    );
    let log = KeyRecord::generate(
        Algorithm::EdDsa,
        KeyPurpose::LogSigning,
        KeyStatus::Current,
        0,
        &kek,
    )
    .unwrap();
    let recs = [
        retired.clone(),
        removed.clone(),
        next.clone(),
        current.clone(),
        log.clone(),
    ];

    let ring = KeyRing::from_records(&recs, &kek).unwrap();
    assert_eq!(
        kids(ring.jwks()),
        vec![current.kid.clone(), next.kid.clone(), retired.kid.clone()]
    );
    assert!(ring.public_jwk(&removed.kid).is_none());
    assert!(ring.public_jwk(&log.kid).is_none());
    assert_eq!(ring.public_jwk(&retired.kid), Some(&retired.public_jwk));
    for k in ring.jwks()["keys"].as_array().unwrap() {
        assert!(k.get("d").is_none());
    }

    let signer = ring.current(Algorithm::Es256).unwrap();
    assert_eq!(signer.kid(), current.kid);
    let sig = signer.sign(b"jwt").unwrap();
    assert!(common::verify_with_jwk(
        ring.public_jwk(&current.kid).unwrap(),
        b"jwt",
        &sig
    ));
    assert_eq!(ring.algorithms(), vec![Algorithm::Es256]);
}

#[test]
fn current_errors_when_missing() {
    let (kek, _) = Kek::generate().unwrap();
    let empty = KeyRing::from_records(&[], &kek).unwrap();
    assert_eq!(empty.jwks()["keys"].as_array().unwrap().len(), 0);
    assert!(empty.algorithms().is_empty());
    assert!(matches!(
        empty.current(Algorithm::Rs256),
        Err(KeyError::NoCurrentKey(Algorithm::Rs256))
    ));

    let only_next = [record(
        Algorithm::Rs256,
        KeyStatus::Next,
        0,
        None,
        None,
        &kek,
    )];
    let ring = KeyRing::from_records(&only_next, &kek).unwrap();
    assert!(matches!(
        ring.current(Algorithm::Rs256),
        Err(KeyError::NoCurrentKey(_))
    ));
    assert_eq!(kids(ring.jwks()).len(), 1);
}

#[test]
fn several_algorithms_current_keys_first() {
    let (kek, _) = Kek::generate().unwrap();
    let mut recs = Vec::new();
    for alg in Algorithm::ALL {
        recs.push(record(alg, KeyStatus::Next, 0, None, None, &kek));
        recs.push(record(alg, KeyStatus::Current, 0, Some(0), None, &kek));
    }
    let ring = KeyRing::from_records(&recs, &kek).unwrap();
    assert_eq!(ring.algorithms(), Algorithm::ALL.to_vec());
    let keys = ring.jwks()["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 6);
    for (i, alg) in Algorithm::ALL.iter().enumerate() {
        assert_eq!(keys[i]["kid"], ring.current(*alg).unwrap().kid());
        assert_eq!(keys[i]["alg"], alg.jose_name());
    }
}

#[test]
fn newest_of_duplicate_currents_signs() {
    let (kek, _) = Kek::generate().unwrap();
    let old = record(
        Algorithm::Es256,
        KeyStatus::Current,
        0,
        Some(10),
        None,
        &kek,
    );
    let new = record(
        Algorithm::Es256,
        KeyStatus::Current,
        0,
        Some(20),
        None,
        &kek,
    );
    let ring = KeyRing::from_records(&[old.clone(), new.clone()], &kek).unwrap();
    assert_eq!(ring.current(Algorithm::Es256).unwrap().kid(), new.kid);
    assert!(ring.public_jwk(&old.kid).is_some());
}

#[test]
fn wrong_kek_or_forged_jwk_fails_loudly() {
    let (kek, _) = Kek::generate().unwrap();
    let (other, _) = Kek::generate().unwrap();
    let current = record(Algorithm::Es256, KeyStatus::Current, 0, Some(0), None, &kek);
    assert!(matches!(
        KeyRing::from_records(std::slice::from_ref(&current), &other),
        Err(KeyError::KekMismatch { .. })
    ));
    // Non-current keys need no unwrapping, so an old KEK's retired keys still publish.
    let retired = record(
        Algorithm::Es256,
        KeyStatus::Retired,
        0,
        Some(0),
        Some(1),
        &other,
    );
    assert!(KeyRing::from_records(&[current.clone(), retired], &kek).is_ok());

    let mut forged = record(Algorithm::Es256, KeyStatus::Next, 0, None, None, &kek);
    forged.public_jwk = current.public_jwk.clone();
    assert!(matches!(
        KeyRing::from_records(&[forged], &kek),
        Err(KeyError::KidMismatch { .. })
    ));
}

#[test]
fn ring_is_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KeyRing>();
}
