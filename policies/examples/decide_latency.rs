//! p50/p90/p99 of policy decisions, each timed. Per scenario, n decisions in three modes:
//! `first`, every question asked as if first (the decision memo and the scope parts'
//! answers forgotten before each, untimed): the cost of a question whose policy-visible
//! content was not asked since start; `new-ids`, every question from another client of
//! another organisation, by another person about another patient (identifiers the shipped
//! policies cannot tell apart, so the memo answers; see `src/observed.rs`); and `repeat`,
//! the same question again. Then `traffic`: n questions mixing the scenarios from a fresh
//! start, every one with new identifiers, a tenth of clinicians at AAL1, one in a hundred
//! inactive in the directory, a tenth of patients with consent restrictions (categories
//! and recipients drawn at random), scopes drawn from what clients ask for: every
//! first-time question is in the figures.
//! `cargo run --release -p glassgate-policies --example decide_latency [n] [scenario|all|traffic] [mode]`

use glassgate_policies::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::time::Instant;

// The allocator the server runs with (`idp/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        "{:<36} {:>8} {:>8} {:>8} {:>9} {:>10}",
        "scenario", "p50 µs", "p90 µs", "p99 µs", "max µs", "outcome"
    );
    let only = std::env::args().nth(2).filter(|s| s != "all");
    let only_mode = std::env::args().nth(3);
    for name in scenarios::SCENARIOS {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let request = scenarios::scenario(name).ok_or("bad scenario")?;
        for mode in ["first", "new-ids", "repeat"] {
            if only_mode.as_deref().is_some_and(|o| o != mode) {
                continue;
            }
            let question = |i: usize| {
                let mut r = request.clone();
                if mode == "new-ids" {
                    new_identifiers(&mut r, i);
                }
                r
            };
            for i in 0..1_000 {
                std::hint::black_box(engine.decide(&question(i)));
            }
            let questions: Vec<AccessRequest> = (0..n).map(|i| question(i + 1_000)).collect();
            let forget = mode == "first";
            report(&format!("{name} ({mode})"), &engine, &questions, forget);
        }
    }
    if only.is_none_or(|o| o == "traffic") {
        engine.forget_kept_answers();
        let questions = traffic(n)?;
        report("traffic (from start)", &engine, &questions, false);
        println!(
            "questions kept by the memo after the traffic: {}",
            engine.kept_decisions()
        );
    }
    Ok(())
}

/// Decides every question, timing each; prints the percentiles and the last outcome.
fn report(label: &str, engine: &PolicyEngine, questions: &[AccessRequest], forget: bool) {
    let mut samples = Vec::with_capacity(questions.len());
    let mut last = None;
    for q in questions {
        if forget {
            engine.forget_kept_answers();
        }
        let start = Instant::now();
        let d = engine.decide(std::hint::black_box(q));
        samples.push(start.elapsed().as_nanos() as u64);
        last = Some(d);
    }
    samples.sort_unstable();
    let at = |q: f64| {
        samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)] as f64 / 1000.0
    };
    let outcome = match last.map(|d| d.outcome) {
        Some(Outcome::Permit { granted, .. }) => format!("permit({})", granted.len()),
        Some(Outcome::Deny { .. }) => "deny".to_owned(),
        Some(Outcome::StepUp { .. }) => "step-up".to_owned(),
        None => "-".to_owned(),
    };
    println!(
        "{label:<36} {:>8.1} {:>8.1} {:>8.1} {:>9.1} {:>10}",
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0),
        outcome
    );
}

/// Question `i` from another client of another organisation, by another person, about
/// another patient.
fn new_identifiers(r: &mut AccessRequest, i: usize) {
    r.client.client_id = format!("{}-{i}", r.client.client_id);
    r.client.organisation.id = format!("{}-{i}", r.client.organisation.id);
    match &mut r.person {
        Some(Person::Clinician(c)) => {
            c.subject = format!("{}-{i}", c.subject);
            c.npi = format!("{:010}", 1_000_000_000 + i);
        }
        Some(Person::Patient(p)) => p.subject = format!("{}-{i}", p.subject),
        None => {}
    }
    if let Some(patient) = &mut r.patient_context {
        *patient = format!("{patient}-{i}");
    }
}

/// A day's mix of questions (see the module doc), seeded so runs compare.
fn traffic(n: usize) -> Result<Vec<AccessRequest>, Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(2026);
    let bases: Vec<AccessRequest> = scenarios::SCENARIOS
        .iter()
        .map(|name| scenarios::scenario(name).ok_or("bad scenario"))
        .collect::<Result<_, _>>()?;
    let clinician_scopes = [
        "openid fhirUser user/*.rs",
        "openid fhirUser user/*.rs user/*.cu",
        "user/Observation.rs user/Patient.rs",
        "openid fhirUser launch user/*.rs",
    ]
    .map(ScopeSet::parse)
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    let mut questions = Vec::with_capacity(n);
    for i in 0..n {
        let mut r = bases[rng.gen_range(0..bases.len())].clone();
        new_identifiers(&mut r, i);
        if let Some(Person::Clinician(c)) = &mut r.person {
            r.scopes = clinician_scopes[rng.gen_range(0..clinician_scopes.len())].clone();
            if rng.gen_bool(0.1) {
                c.aal = Aal::Aal1;
            }
            c.directory_active = !rng.gen_bool(0.01);
            r.patient_context = Some(format!("patient-{i}"));
            r.consent = rng.gen_bool(0.1).then(|| ConsentRestrictions {
                data_categories: DataCategory::ALL
                    .into_iter()
                    .filter(|_| rng.gen_bool(0.3))
                    .collect(),
                recipient_organisations: [r.client.organisation.id.clone(), "org-other".into()]
                    .into_iter()
                    .filter(|_| rng.gen_bool(0.2))
                    .collect(),
                ..Default::default()
            });
        }
        questions.push(r);
    }
    Ok(questions)
}
