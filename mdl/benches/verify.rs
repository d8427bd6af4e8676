//! Verifications per second of a DeviceResponse with 10 disclosed elements (one core).
//! `cargo bench -p glassgate-mdl --bench verify`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
use criterion::{Criterion, criterion_group};
use glassgate_mdl::revocation::NoRevocationCheck;
use glassgate_mdl::wallet::{self, DeviceKey, IacaOptions, IssueSpec, KeyAlg};
use glassgate_mdl::{
    Anchor, RequestedElements, TrustSource, TrustStore, VerifyOptions, VerifyRequest, transcript,
};
use time::OffsetDateTime;

struct Case {
    bytes: Vec<u8>,
    trust: TrustStore,
    transcript: glassgate_mdl::SessionTranscript,
    requested: RequestedElements,
}

fn case(alg: KeyAlg) -> Case {
    let o = IacaOptions::new(alg);
    let iaca = wallet::make_iaca(&o).unwrap();
    let ds = wallet::make_ds(&iaca, &wallet::DsOptions::new(alg, &o)).unwrap();
    let cred = wallet::issue(
        &ds,
        DeviceKey::generate(alg).unwrap(),
        &IssueSpec::sample_mdl(),
    )
    .unwrap();
    let names: Vec<String> = wallet::sample_mdl_elements()
        .into_iter()
        .map(|(_, e, _)| e)
        .collect();
    let requested = RequestedElements::mdl(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let t = transcript::oid4vp(
        "x509_san_dns:glassgate.example",
        "nonce",
        Some(&[7; 32]),
        "https://glassgate.example/r",
    );
    let bytes = wallet::present(&cred, Some(&requested), &t)
        .unwrap()
        .encode();
    let anchor = Anchor::from_der(
        &iaca.cert_der,
        TrustSource::Static {
            label: "bench".into(),
        },
        Vec::new(),
    )
    .unwrap();
    Case {
        bytes,
        trust: TrustStore::from_anchors(vec![anchor]),
        transcript: t,
        requested,
    }
}

fn bench(c: &mut Criterion) {
    for (name, alg) in [
        ("verify_10_elements_es256", KeyAlg::P256),
        ("verify_10_elements_es384", KeyAlg::P384),
    ] {
        let k = case(alg);
        let opts = VerifyOptions::default();
        let run = || {
            let req = VerifyRequest {
                device_response: &k.bytes,
                transcript: &k.transcript,
                requested: &k.requested,
                now: OffsetDateTime::now_utc(),
            };
            let vp = glassgate_mdl::verify(&req, &k.trust, &NoRevocationCheck, &opts).unwrap();
            assert_eq!(vp.elements.names().count(), 10);
            vp
        };
        run();
        c.bench_function(name, |b| b.iter(run));
    }
}

/// CPU time consumed by this thread (ns), from /proc/thread-self/schedstat (Linux).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// On a shared machine wall time includes waiting for a core; this also reports
/// verifications per second of CPU time actually used by the verifying thread.
fn cpu_time_report() {
    for (name, alg) in [("ES256", KeyAlg::P256), ("ES384", KeyAlg::P384)] {
        let k = case(alg);
        let opts = VerifyOptions::default();
        let n = 3000u32;
        let (Some(c0), w0) = (thread_cpu_ns(), std::time::Instant::now()) else {
            return;
        };
        for _ in 0..n {
            let req = VerifyRequest {
                device_response: &k.bytes,
                transcript: &k.transcript,
                requested: &k.requested,
                now: OffsetDateTime::now_utc(),
            };
            std::hint::black_box(
                glassgate_mdl::verify(&req, &k.trust, &NoRevocationCheck, &opts).unwrap(),
            );
        }
        let wall = w0.elapsed().as_secs_f64();
        let cpu = (thread_cpu_ns().unwrap_or(c0) - c0) as f64 / 1e9;
        println!(
            "{name}, 10 elements: {:.0} verifications/s per CPU-second ({:.1} µs CPU each); {:.0}/s wall-clock",
            f64::from(n) / cpu,
            cpu * 1e6 / f64::from(n),
            f64::from(n) / wall
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    cpu_time_report();
    Criterion::default().configure_from_args().final_summary();
}
