#![allow(clippy::unwrap_used)] // a benchmark: a failed unwrap is a broken benchmark
//! What one token costs in signatures: ES256 sign (every token) and verify (every client
//! assertion / DPoP proof), with aws-lc-rs (what we ship) next to pure-Rust p256 (the
//! alternative we measured against), plus RS256 and Ed25519 signing.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey, UnparsedPublicKey};
use criterion::{Criterion, criterion_group, criterion_main};
use glassgate_keys::{Algorithm, Signer, SoftwareSigner};
use std::hint::black_box;

const MESSAGE: &[u8] = b"eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUub3JnIiwic3ViIjoiYmVuY2gifQ";

fn signing(c: &mut Criterion) {
    for alg in [Algorithm::Es256, Algorithm::Rs256, Algorithm::EdDsa] {
        let (signer, _) = SoftwareSigner::generate(alg).unwrap();
        c.bench_function(&format!("{} sign (aws-lc-rs)", alg.jose_name()), |b| {
            b.iter(|| signer.sign(black_box(MESSAGE)).unwrap())
        });
    }
}

fn es256_verify(c: &mut Criterion) {
    let (signer, _) = SoftwareSigner::generate(Algorithm::Es256).unwrap();
    let signature = signer.sign(MESSAGE).unwrap();
    let jwk = signer.public_jwk();
    let coordinate = |name: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().unwrap())
            .unwrap()
    };
    let mut point = vec![0x04];
    point.extend(coordinate("x"));
    point.extend(coordinate("y"));
    c.bench_function("ES256 verify (aws-lc-rs)", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                .verify(black_box(MESSAGE), &signature)
                .unwrap()
        })
    });
    let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).unwrap();
    c.bench_function("ES256 verify, key parsed once (aws-lc-rs)", |b| {
        b.iter(|| parsed.verify_sig(black_box(MESSAGE), &signature).unwrap())
    });
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&signature).unwrap();
    c.bench_function("ES256 verify (p256, pure Rust)", |b| {
        use p256::ecdsa::signature::Verifier;
        b.iter(|| key.verify(black_box(MESSAGE), &sig).unwrap())
    });
}

criterion_group!(benches, signing, es256_verify);
criterion_main!(benches);
