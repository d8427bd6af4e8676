//! Command-line front end. Each subcommand is a small module; they share the
//! failure classification and output here.

mod checkpoint;
mod consistency;
mod monitor;
mod proof;
mod witness;

use clap::{Parser, Subcommand};
use glassgate_verifier::error::{CheckpointError, NoteError, PolicyError, ProofDocError};
use glassgate_verifier::note::{SignatureType, VerifiedSignature, VerifierKey};
use glassgate_verifier::policy::Policy;
use serde_json::{Value, json};
use std::process::ExitCode;

const AFTER_HELP: &str = "Exit codes: 0 verified, 1 verification failed, 2 usage or input error, 3 I/O or network error.";

/// Offline verifier for Glassgate's C2SP transparency log.
#[derive(Debug, Parser)]
#[command(name = "verifier", version, about, after_help = AFTER_HELP)]
struct Cli {
    /// Print a JSON object instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify a signed checkpoint note (and its witness cosignatures).
    Checkpoint(checkpoint::Args),
    /// Verify a consistency proof between two checkpoints of one log.
    Consistency(consistency::Args),
    /// Verify a c2sp.org/tlog-proof@v1 document for an entry.
    Proof(proof::Args),
    /// Fetch a tlog-tiles log in full, recompute and check it (network).
    Monitor(monitor::Args),
    /// Run a C2SP tlog-witness server (or print its vkey).
    Witness(witness::Args),
}

/// Why a command did not succeed; decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Something was checked and is wrong (exit 1).
    Verify(String),
    /// The input could not be understood (exit 2).
    Input(String),
    /// A file could not be read, or the network failed (exit 3).
    Io(String),
    /// Verification failed, with a full report (exit 1).
    Report { json: Value, text: String },
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Self::Verify(_) | Self::Report { .. } => 1,
            Self::Input(_) => 2,
            Self::Io(_) => 3,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Self::Verify(_) | Self::Report { .. } => "verification_failed",
            Self::Input(_) => "input_error",
            Self::Io(_) => "io_error",
        }
    }
    fn message(&self) -> &str {
        match self {
            Self::Verify(m) | Self::Input(m) | Self::Io(m) | Self::Report { text: m, .. } => m,
        }
    }
}

/// A successful result: JSON fields and the human-readable rendering.
pub struct Report {
    pub json: Value,
    pub text: String,
}

/// Parses arguments, runs the command, prints, returns the exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match &cli.command {
        Command::Checkpoint(a) => checkpoint::run(a),
        Command::Consistency(a) => consistency::run(a),
        Command::Proof(a) => proof::run(a),
        Command::Monitor(a) => monitor::run(a),
        Command::Witness(a) => witness::run(a),
    };
    match result {
        Ok(r) => {
            if cli.json {
                let mut j = r.json;
                if let Value::Object(m) = &mut j {
                    m.insert("ok".into(), Value::Bool(true));
                }
                println!("{j}");
            } else {
                print!("{}", r.text);
            }
            ExitCode::SUCCESS
        }
        Err(Failure::Report { json: mut j, text }) => {
            if cli.json {
                if let Value::Object(m) = &mut j {
                    m.insert("ok".into(), Value::Bool(false));
                    m.insert("error".into(), Value::from("verification_failed"));
                }
                println!("{j}");
            } else {
                eprint!("verifier: verification failed: {text}");
            }
            ExitCode::from(1)
        }
        Err(f) => {
            if cli.json {
                println!(
                    "{}",
                    json!({"ok": false, "error": f.kind(), "message": f.message()})
                );
            } else {
                eprintln!("verifier: {}: {}", f.kind().replace('_', " "), f.message());
            }
            ExitCode::from(f.code())
        }
    }
}

pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

pub fn parse_vkey(s: &str) -> Result<VerifierKey, Failure> {
    VerifierKey::parse(s).map_err(|e| Failure::Input(format!("--vkey: {e}")))
}

pub fn load_policy(path: Option<&std::path::Path>) -> Result<Option<Policy>, Failure> {
    let Some(path) = path else { return Ok(None) };
    let bytes = read_file(path)?;
    Policy::parse(&bytes)
        .map(Some)
        .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
}

pub fn witness_keys(policy: Option<&Policy>) -> Vec<VerifierKey> {
    policy
        .map(|p| p.witnesses.iter().map(|w| w.key.clone()).collect())
        .unwrap_or_default()
}

pub fn checkpoint_failure(what: &str, e: CheckpointError) -> Failure {
    let msg = format!("{what}: {e}");
    match e {
        CheckpointError::OriginMismatch { .. }
        | CheckpointError::Note(NoteError::InvalidSignature(_) | NoteError::NoKnownSignature) => {
            Failure::Verify(msg)
        }
        _ => Failure::Input(msg),
    }
}

pub fn policy_failure(what: &str, e: PolicyError) -> Failure {
    match e {
        PolicyError::Checkpoint(c) => checkpoint_failure(what, c),
        PolicyError::NoLogSignature | PolicyError::QuorumNotReached => {
            Failure::Verify(format!("{what}: {e}"))
        }
        _ => Failure::Input(format!("{what}: {e}")),
    }
}

pub fn proof_doc_failure(what: &str, e: ProofDocError) -> Failure {
    match e {
        ProofDocError::Checkpoint(c) => checkpoint_failure(what, c),
        ProofDocError::Policy(p) => policy_failure(what, p),
        ProofDocError::Inclusion(_) => Failure::Verify(format!("{what}: {e}")),
        _ => Failure::Input(format!("{what}: {e}")),
    }
}

pub fn signatures_json(sigs: &[VerifiedSignature]) -> Value {
    sigs.iter()
        .map(|s| {
            json!({
                "name": s.name,
                "key_id": format!("{:08x}", s.key_id),
                "type": match s.signature_type {
                    SignatureType::Ed25519 => "ed25519",
                    SignatureType::CosignatureV1 => "cosignature/v1",
                },
                "timestamp": s.timestamp,
            })
        })
        .collect()
}

pub fn signatures_text(sigs: &[VerifiedSignature]) -> String {
    sigs.iter()
        .map(|s| match s.timestamp {
            Some(t) => format!("  cosigned by {} ({:08x}) at {t}\n", s.name, s.key_id),
            None => format!("  signed by {} ({:08x})\n", s.name, s.key_id),
        })
        .collect()
}
