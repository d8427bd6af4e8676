//! `verifier proof`: verify a c2sp.org/tlog-proof@v1 document.

use super::{Failure, Report, load_policy, parse_vkey, proof_doc_failure, read_file};
use super::{signatures_json, signatures_text};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_verifier::entry::LogEntry;
use glassgate_verifier::hash::{Hash, leaf_hash};
use glassgate_verifier::proof_doc::TlogProof;
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The .tlog-proof file.
    file: PathBuf,
    /// The log's verifier key.
    #[arg(long)]
    vkey: String,
    /// A tlog-policy file whose witness quorum must be met.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The logged entry (raw bytes); its RFC 6962 leaf hash is checked.
    #[arg(long, conflicts_with = "leaf_hash")]
    entry: Option<PathBuf>,
    /// The leaf hash (base64), if the entry itself is not at hand.
    #[arg(long)]
    leaf_hash: Option<String>,
    /// The `jti` of a token the entry must record: its access token (`jti` hash) or the ID
    /// token issued with it (`id_jti` hash).
    #[arg(long, requires = "entry")]
    jti: Option<String>,
}

pub fn run(a: &Args) -> Result<Report, Failure> {
    let key = parse_vkey(&a.vkey)?;
    let policy = load_policy(a.policy.as_deref())?;
    let entry = a.entry.as_deref().map(read_file).transpose()?;
    let leaf: Hash = match (&entry, &a.leaf_hash) {
        (Some(bytes), _) => leaf_hash(bytes),
        (None, Some(b64)) => STANDARD
            .decode(b64)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| Failure::Input("--leaf-hash: not base64 of 32 bytes".into()))?,
        (None, None) => {
            return Err(Failure::Input(
                "one of --entry or --leaf-hash is required".into(),
            ));
        }
    };
    let what = a.file.display().to_string();
    let doc = TlogProof::parse(&read_file(&a.file)?).map_err(|e| proof_doc_failure(&what, e))?;
    let v = doc
        .verify(&leaf, &key, policy.as_ref())
        .map_err(|e| proof_doc_failure(&what, e))?;
    if let (Some(jti), Some(bytes)) = (&a.jti, &entry) {
        token_recorded(bytes, jti)?;
    }
    let c = &v.checkpoint;
    let root = STANDARD.encode(c.root);
    let mut text = format!(
        "entry included\n  index {} of {}\n  origin {}\n  root {root}\n",
        doc.index, c.size, c.origin
    );
    if a.jti.is_some() {
        text.push_str("  records the token with this jti\n");
    }
    text.push_str(&signatures_text(&v.signatures));
    if policy.is_some() {
        text.push_str(&format!(
            "  policy quorum met by: {}\n",
            v.witnesses.join(", ")
        ));
    }
    Ok(Report {
        json: json!({
            "index": doc.index,
            "leaf_hash": STANDARD.encode(leaf),
            "origin": c.origin,
            "size": c.size,
            "root": root,
            "signatures": signatures_json(&v.signatures),
            "policy_witnesses": policy.as_ref().map(|_| &v.witnesses),
            "extra": doc.extra.as_ref().map(|e| STANDARD.encode(e)),
            "jti_recorded": a.jti.is_some(),
        }),
        text,
    })
}

/// The entry is a well-formed log entry recording the token whose `jti` is given.
fn token_recorded(entry: &[u8], jti: &str) -> Result<(), Failure> {
    let entry = LogEntry::parse(entry)
        .map_err(|e| Failure::Verify(format!("--entry is not a valid log entry: {e}")))?;
    if !entry.records_jti(jti) {
        return Err(Failure::Verify(
            "the entry does not record the token with this jti".into(),
        ));
    }
    Ok(())
}
