//! p50/p99 of policy decisions: 100k decisions per scenario, each timed, three times:
//! `first`, every question new and nothing kept (the memo and the scope parts' answers
//! forgotten before each, untimed); `cold`, every question new (a distinct client id each
//! time, so the decision memo never answers) while the answers about scopes asked before
//! are kept; and `warm`, the same question repeated (answered from the memo).
//! `cargo run --release -p glassgate-policies --example decide_latency [n] [scenario]`

use glassgate_policies::*;
use std::path::PathBuf;
use std::time::Instant;

#[path = "../benches/support/scenarios.rs"]
mod scenarios;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let engine = PolicyEngine::load(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cedar"))?;
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>10}",
        "scenario", "p50 µs", "p99 µs", "max µs", "outcome"
    );
    let only = std::env::args().nth(2);
    for name in scenarios::SCENARIOS {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let request = scenarios::scenario(name).ok_or("bad scenario")?;
        for mode in ["first", "cold", "warm"] {
            let question = |i: usize| {
                let mut r = request.clone();
                if mode != "warm" {
                    r.client.client_id = format!("{}-{i}", r.client.client_id);
                }
                r
            };
            for i in 0..1_000 {
                std::hint::black_box(engine.decide(&question(i)));
            }
            let questions: Vec<AccessRequest> = (0..n).map(|i| question(i + 1_000)).collect();
            let mut samples = Vec::with_capacity(n);
            let mut last = None;
            for q in &questions {
                if mode == "first" {
                    engine.forget_kept_answers();
                }
                let start = Instant::now();
                let d = engine.decide(std::hint::black_box(q));
                samples.push(start.elapsed().as_nanos() as u64);
                last = Some(d);
            }
            samples.sort_unstable();
            let at = |q: f64| {
                samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)] as f64
                    / 1000.0
            };
            let outcome = match last.map(|d| d.outcome) {
                Some(Outcome::Permit { granted, .. }) => format!("permit({})", granted.len()),
                Some(Outcome::Deny { .. }) => "deny".to_owned(),
                Some(Outcome::StepUp { .. }) => "step-up".to_owned(),
                None => "-".to_owned(),
            };
            let label = format!("{name} ({mode})");
            println!(
                "{label:<34} {:>10.1} {:>10.1} {:>10.1} {:>10}",
                at(0.50),
                at(0.99),
                at(1.0),
                outcome
            );
        }
    }
    Ok(())
}
