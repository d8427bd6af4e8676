//! Compact JWS as clients send it (client assertions, DPoP proofs, UDAP software
//! statements): parse, take the header JWK, verify; read and validate an `x5c` chain.
//! Must never panic, whatever the bytes.
#![no_main]

use glassgate_idp::jose::{Jws, PublicKey};
use glassgate_idp::udap::x509;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(jws) = Jws::parse(text) else { return };
    if let Some(key) = jws.header.get("jwk").and_then(|jwk| PublicKey::from_jwk(jwk).ok()) {
        let _ = jws.verify(&key);
    }
    if let Ok(chain) = x509::x5c_of(&jws.header) {
        if let Ok(leaf) = x509::validate(&chain, &[], 0) {
            let _ = jws.verify(&leaf.key);
        }
        for der in &chain {
            let _ = x509::Anchor::from_der(der);
        }
    }
});
