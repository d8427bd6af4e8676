//! Payer claim files as operators import them: parse, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = glassgate_idp::claims::parse(data);
});
