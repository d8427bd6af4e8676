//! NPPES V2 CSV rows, behind the real 330-column header or a fuzzed one.
#![no_main]

use glassgate_directory::nppes::{columns, parse_csv};
use glassgate_directory::pipeline::discard;
use glassgate_directory::progress::Progress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let mut input = Vec::new();
    if first % 2 == 0 {
        let header: Vec<String> = columns::v2_header()
            .iter()
            .map(|h| format!("\"{h}\""))
            .collect();
        input.extend_from_slice(header.join(",").as_bytes());
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(rest);
    let _ = parse_csv("fuzz", input.as_slice(), discard(), &Progress::default(), 8);
});
