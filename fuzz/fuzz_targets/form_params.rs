//! Form bodies and query strings at every OAuth endpoint, and the `authorization_details`
//! they carry (purpose of use, patient context).
#![no_main]

use glassgate_idp::oauth::params::Params;
use glassgate_idp::oauth::purpose;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = Params::parse(data) {
        let _ = params.get("grant_type");
        let _ = params.require("client_id");
        if let Ok(details) = purpose::details(&params) {
            let _ = details.purpose();
            let _ = details.patient();
        }
        let _ = purpose::requested(&params);
    }
});
