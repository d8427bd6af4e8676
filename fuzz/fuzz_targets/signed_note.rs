//! C2SP signed notes, checkpoints and verifier keys as an auditor's tool reads them.
#![no_main]

use glassgate_verifier::checkpoint::Checkpoint;
use glassgate_verifier::note::{Note, VerifierKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        let _ = Checkpoint::parse(note.text());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = VerifierKey::parse(text);
        let _ = Checkpoint::parse(text);
    }
});
