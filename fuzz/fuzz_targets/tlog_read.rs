//! What a log monitor fetches: tile paths, hash tiles, entry bundles, proof documents, policies.
#![no_main]

use glassgate_verifier::policy::Policy;
use glassgate_verifier::proof_doc::TlogProof;
use glassgate_verifier::tile::{TileCoord, parse_entry_bundle, parse_hash_tile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = TileCoord::parse(text);
    }
    let width = u16::from(data.first().copied().unwrap_or(1)).max(1);
    let _ = parse_hash_tile(data, width);
    let _ = parse_entry_bundle(data, None);
    let _ = TlogProof::parse(data);
    let _ = Policy::parse(data);
});
