//! `verifier checkpoint`: verify one checkpoint note.

use super::{Failure, Report, checkpoint_failure, load_policy, parse_vkey, policy_failure};
use super::{read_file, signatures_json, signatures_text, witness_keys};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_verifier::checkpoint::open_checkpoint;
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The checkpoint note file.
    file: PathBuf,
    /// The log's verifier key (name+keyid+base64), name equal to the origin.
    #[arg(long)]
    vkey: String,
    /// A tlog-policy file whose witness quorum must also be met.
    #[arg(long)]
    policy: Option<PathBuf>,
}

pub fn run(a: &Args) -> Result<Report, Failure> {
    let key = parse_vkey(&a.vkey)?;
    let policy = load_policy(a.policy.as_deref())?;
    let bytes = read_file(&a.file)?;
    let what = a.file.display().to_string();
    let opened = open_checkpoint(&bytes, &key, &witness_keys(policy.as_ref()))
        .map_err(|e| checkpoint_failure(&what, e))?;
    let witnesses = match &policy {
        Some(p) => Some(
            p.verify_checkpoint_of(&bytes, &key)
                .map_err(|e| policy_failure(&what, e))?
                .witnesses,
        ),
        None => None,
    };
    let c = &opened.checkpoint;
    let root = STANDARD.encode(c.root);
    let mut text = format!(
        "checkpoint verified\n  origin {}\n  size {}\n  root {root}\n",
        c.origin, c.size
    );
    text.push_str(&signatures_text(&opened.signatures));
    if let Some(w) = &witnesses {
        text.push_str(&format!("  policy quorum met by: {}\n", w.join(", ")));
    }
    Ok(Report {
        json: json!({
            "origin": c.origin,
            "size": c.size,
            "root": root,
            "signatures": signatures_json(&opened.signatures),
            "policy_witnesses": witnesses,
        }),
        text,
    })
}
