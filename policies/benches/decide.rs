//! Policy evaluation per decision: `cargo bench -p glassgate-policies --bench decide`.
//! For p50/p99 over 100k decisions see `examples/decide_latency.rs`.

use criterion::{Criterion, criterion_group, criterion_main};
use glassgate_policies::*;
use std::hint::black_box;
use std::path::PathBuf;

#[path = "support/scenarios.rs"]
mod scenarios;
use scenarios::{SCENARIOS, scenario};

fn engine() -> Option<PolicyEngine> {
    PolicyEngine::load(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cedar")).ok()
}

fn decide(c: &mut Criterion) {
    let Some(engine) = engine() else { return };
    for name in SCENARIOS {
        let Some(request) = scenario(name) else {
            continue;
        };
        c.bench_function(&format!("decide/{name}"), |b| {
            b.iter(|| black_box(engine.decide(black_box(&request))))
        });
    }
}

criterion_group!(benches, decide);
criterion_main!(benches);
