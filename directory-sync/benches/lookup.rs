//! The active-clinician check on a cache hit (the path every clinician token issuance takes
//! once an NPI has been seen within the refresh interval).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use glassgate_directory::fixtures::Scenario;
use glassgate_directory::{ActiveClinicians, SyncContext, npd, nppes, nucc, store};

fn lookup(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::standard();
    let check = rt.block_on(async {
        let files = scenario.write(&dir.path().join("in")).unwrap();
        let store = store::open(None, &dir.path().join("data")).await.unwrap();
        let ctx = SyncContext::new(store.clone(), dir.path().join("dl")).unwrap();
        nucc::ingest(&ctx, files.nucc.to_str().unwrap())
            .await
            .unwrap();
        nppes::ingest_full(&ctx, files.nppes.to_str().unwrap())
            .await
            .unwrap();
        npd::ingest(&ctx, files.manifest.to_str().unwrap(), false)
            .await
            .unwrap();
        let check = ActiveClinicians::with_options(
            store,
            glassgate_directory::NPD_FHIR_BASE,
            Duration::from_secs(3600),
            1_000_000,
        );
        assert!(check.check(&scenario.active[0]).await.unwrap().active);
        check
    });
    let npi = scenario.active[0].clone();
    c.bench_function("check, cache hit", |b| {
        b.to_async(&rt)
            .iter(|| async { check.check(&npi).await.unwrap() })
    });
}

criterion_group!(benches, lookup);
criterion_main!(benches);
