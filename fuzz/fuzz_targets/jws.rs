//! Compact JWS as clients send it (client assertions, DPoP proofs): parse, take the header
//! JWK, verify. Must never panic, whatever the bytes.
#![no_main]

use glassgate_idp::jose::{Jws, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(jws) = Jws::parse(text) else { return };
    if let Some(key) = jws.header.get("jwk").and_then(|jwk| PublicKey::from_jwk(jwk).ok()) {
        let _ = jws.verify(&key);
    }
});
