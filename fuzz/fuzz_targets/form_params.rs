//! Form bodies and query strings at every OAuth endpoint.
#![no_main]

use glassgate_idp::oauth::params::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = Params::parse(data) {
        let _ = params.get("grant_type");
        let _ = params.require("client_id");
    }
});
