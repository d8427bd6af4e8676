//! `verifier monitor`: fetch a tlog-tiles log, recompute and check it, and
//! remember the verified checkpoint and the walk's frontier for the next run,
//! which then fetches only what was appended since (`--full`: everything).

use super::{Failure, Report, load_policy, parse_vkey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use glassgate_verifier::monitor::{HttpFetcher, MonitorError, MonitorState, StateError, monitor};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The log prefix URL (e.g. http://127.0.0.1:8080/log/).
    #[arg(long)]
    url: String,
    /// The log's verifier key.
    #[arg(long)]
    vkey: String,
    /// A tlog-policy file the checkpoint must satisfy.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Where the last verified checkpoint is remembered.
    #[arg(long, default_value = "verifier-monitor.state")]
    state: PathBuf,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Fetch and check every entry again, not only those appended since the remembered
    /// checkpoint (which is still checked for consistency).
    #[arg(long)]
    full: bool,
}

pub fn run(a: &Args) -> Result<Report, Failure> {
    let key = parse_vkey(&a.vkey)?;
    let policy = load_policy(a.policy.as_deref())?;
    let mut previous = MonitorState::load(&a.state).map_err(state_failure)?;
    if a.full
        && let Some(p) = previous.as_mut()
    {
        p.frontier = None;
    }
    let fetcher = HttpFetcher::new(&a.url, Duration::from_secs(a.timeout.max(1)));
    let report =
        monitor(&fetcher, &key, policy.as_ref(), previous.as_ref()).map_err(|e| match e {
            MonitorError::Fetch(f) => Failure::Io(format!("fetch failed: {f}")),
            MonitorError::StateOrigin { .. } => {
                Failure::Input(format!("{}: {e}", a.state.display()))
            }
        })?;
    let root = report.root.map(|r| STANDARD.encode(r));
    let mut errors = report.errors.clone();
    if report.errors_suppressed > 0 {
        errors.push(format!("... and {} more errors", report.errors_suppressed));
    }
    let j = json!({
        "origin": report.origin,
        "size": report.size,
        "root": root,
        "entries_checked": report.entries_checked,
        "tiles_checked": report.tiles_checked,
        "resumed_after": report.resumed_after,
        "previous_size": previous.as_ref().map(|p| p.size),
        "errors": errors,
    });
    if !report.ok() {
        let mut text = format!("log at {} failed {} check(s):\n", a.url, errors.len());
        for e in &errors {
            text.push_str(&format!("  {e}\n"));
        }
        return Err(Failure::Report { json: j, text });
    }
    if let Some(state) = report.state() {
        state.save(&a.state).map_err(state_failure)?;
    }
    let text = format!(
        "log verified\n  origin {}\n  size {} root {}\n  entries checked {}, hash tiles checked {}\n{}{}",
        report.origin.unwrap_or_default(),
        report.size.unwrap_or(0),
        root.unwrap_or_default(),
        report.entries_checked,
        report.tiles_checked,
        report
            .resumed_after
            .filter(|n| *n > 0)
            .map(|n| format!(
                "  resumed after {n} entries verified earlier (--full checks them again)\n"
            ))
            .unwrap_or_default(),
        previous
            .map(|p| format!("  consistent with remembered size {}\n", p.size))
            .unwrap_or_default()
    );
    Ok(Report { json: j, text })
}

fn state_failure(e: StateError) -> Failure {
    match e {
        StateError::Io { .. } => Failure::Io(e.to_string()),
        StateError::Malformed { .. } => Failure::Input(e.to_string()),
    }
}
