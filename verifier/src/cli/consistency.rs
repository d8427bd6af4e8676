//! `verifier consistency`: verify that a newer checkpoint extends an older one.

use super::{Failure, Report, checkpoint_failure, load_policy, parse_vkey, policy_failure};
use super::{read_file, witness_keys};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_verifier::checkpoint::{VerifiedCheckpoint, open_checkpoint};
use glassgate_verifier::hash::{EMPTY_ROOT, Hash};
use glassgate_verifier::note::VerifierKey;
use glassgate_verifier::policy::Policy;
use glassgate_verifier::proof::verify_consistency;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Most hashes in a consistency proof file.
const MAX_PROOF_LINES: usize = 130;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The older checkpoint note file.
    #[arg(long)]
    old: PathBuf,
    /// The newer checkpoint note file.
    #[arg(long)]
    new: PathBuf,
    /// The consistency proof: base64 hashes, one per line.
    #[arg(long)]
    proof: PathBuf,
    /// The log's verifier key.
    #[arg(long)]
    vkey: String,
    /// A tlog-policy file both checkpoints must satisfy.
    #[arg(long)]
    policy: Option<PathBuf>,
}

pub fn run(a: &Args) -> Result<Report, Failure> {
    let key = parse_vkey(&a.vkey)?;
    let policy = load_policy(a.policy.as_deref())?;
    let old = open(&a.old, &key, policy.as_ref())?;
    let new = open(&a.new, &key, policy.as_ref())?;
    let proof = parse_proof(&a.proof, &read_file(&a.proof)?)?;
    let (o, n) = (&old.checkpoint, &new.checkpoint);
    let result = if o.size == 0 {
        // Every tree extends the empty tree; the proof must be empty.
        if !proof.is_empty() {
            Err("proof must be empty for an empty old tree".to_owned())
        } else if o.root != EMPTY_ROOT {
            Err("empty old tree has a root other than the empty hash".to_owned())
        } else {
            Ok(())
        }
    } else {
        verify_consistency(o.size, n.size, &proof, &o.root, &n.root).map_err(|e| e.to_string())
    };
    result.map_err(|e| Failure::Verify(format!("consistency {} -> {}: {e}", o.size, n.size)))?;
    Ok(Report {
        json: json!({
            "origin": n.origin,
            "old": {"size": o.size, "root": STANDARD.encode(o.root)},
            "new": {"size": n.size, "root": STANDARD.encode(n.root)},
            "proof_hashes": proof.len(),
        }),
        text: format!(
            "consistent\n  origin {}\n  old size {} root {}\n  new size {} root {}\n",
            n.origin,
            o.size,
            STANDARD.encode(o.root),
            n.size,
            STANDARD.encode(n.root)
        ),
    })
}

fn open(
    path: &Path,
    key: &VerifierKey,
    policy: Option<&Policy>,
) -> Result<VerifiedCheckpoint, Failure> {
    let bytes = read_file(path)?;
    let what = path.display().to_string();
    let opened = open_checkpoint(&bytes, key, &witness_keys(policy))
        .map_err(|e| checkpoint_failure(&what, e))?;
    if let Some(p) = policy {
        p.verify_checkpoint_of(&bytes, key)
            .map_err(|e| policy_failure(&what, e))?;
    }
    Ok(opened)
}

fn parse_proof(path: &Path, bytes: &[u8]) -> Result<Vec<Hash>, Failure> {
    let bad = |why: String| Failure::Input(format!("{}: {why}", path.display()));
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if out.len() >= MAX_PROOF_LINES {
            return Err(bad("too many hashes".into()));
        }
        let raw = STANDARD
            .decode(line)
            .map_err(|_| bad(format!("line {}: bad base64", i + 1)))?;
        let h: Hash = raw
            .try_into()
            .map_err(|_| bad(format!("line {}: not 32 bytes", i + 1)))?;
        out.push(h);
    }
    Ok(out)
}
