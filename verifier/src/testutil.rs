//! Test helpers: deterministic keys and signed checkpoints.

use crate::checkpoint::Checkpoint;
use crate::cosignature::cosign;
use crate::hash::Hash;
use crate::note::{SignatureType, VerifierKey, sign_note};
use ed25519_dalek::{Signer, SigningKey};

pub struct TestKey {
    pub sk: SigningKey,
    pub vkey: VerifierKey,
}

pub fn log_key(seed: u8, name: &str) -> TestKey {
    let sk = SigningKey::from_bytes(&[seed; 32]);
    let vkey =
        VerifierKey::new(name, SignatureType::Ed25519, &sk.verifying_key().to_bytes()).unwrap();
    TestKey { sk, vkey }
}

pub fn witness_key(seed: u8, name: &str) -> TestKey {
    let sk = SigningKey::from_bytes(&[seed; 32]);
    let vkey = VerifierKey::new(
        name,
        SignatureType::CosignatureV1,
        &sk.verifying_key().to_bytes(),
    )
    .unwrap();
    TestKey { sk, vkey }
}

/// A checkpoint note signed by `log` and cosigned by `witnesses`.
pub fn signed_checkpoint(log: &TestKey, size: u64, root: Hash, witnesses: &[&TestKey]) -> String {
    let body = Checkpoint {
        origin: log.vkey.name().to_owned(),
        size,
        root,
        extensions: vec![],
    }
    .to_text();
    let mut note = sign_note(&body, log.vkey.name(), &log.vkey.public_key(), |m| {
        log.sk.sign(m).to_bytes()
    })
    .unwrap();
    for w in witnesses {
        let s = cosign(
            &body,
            w.vkey.name(),
            &w.vkey.public_key(),
            1_700_000_000,
            |m| w.sk.sign(m).to_bytes(),
        )
        .unwrap();
        note.push_signature(s).unwrap();
    }
    note.to_text()
}
