//! NPD bulk NDJSON lines (every resource kind) and the bulk manifest.
#![no_main]

use glassgate_directory::npd::{manifest, parse};
use glassgate_directory::pipeline::discard;
use glassgate_directory::progress::Progress;
use libfuzzer_sys::fuzz_target;

const KINDS: [&str; 6] = manifest::RESOURCES;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let _ = manifest::parse(rest);
    let kind = KINDS[usize::from(*first) % KINDS.len()];
    let _ = parse::parse_ndjson(kind, "fuzz", rest, discard(), &Progress::default(), 8);
});
