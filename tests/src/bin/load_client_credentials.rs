//! Load driver: `client_credentials` with `private_key_jwt` (ES256) at N concurrent
//! connections against a running server. Assertions are generated before the clock starts,
//! so the figure is the server's cost. Prints requests/s, p50/p99 latency and the server's RSS.
//!
//! Usage: load-client-credentials --base http://127.0.0.1:8080 --key-file k.pk8 --client-id bench
//!        [--connections 64] [--requests 200000] [--server-pid N]

use std::time::{Duration, Instant};

use clap::Parser;
use glassgate_keys::{Algorithm, SoftwareSigner};
use glassgate_tests::jwt::{assertion, assertion_claims};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    base: String,
    /// PKCS#8 DER of the client's ES256 key (`--print-config` writes one).
    #[arg(long)]
    key_file: std::path::PathBuf,
    #[arg(long, default_value = "bench")]
    client_id: String,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value_t = 200_000)]
    requests: usize,
    /// Server process id, to report its resident memory after the run.
    #[arg(long)]
    server_pid: Option<u32>,
}

fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let der = std::fs::read(&args.key_file).unwrap_or_else(|e| panic!("cannot read key file: {e}"));
    let signer = SoftwareSigner::from_pkcs8(Algorithm::Es256, &der).unwrap();
    let key = glassgate_tests::jwt::TestKey::from_signer(signer);
    let token_url = format!("{}/token", args.base);
    eprintln!("pre-generating {} assertions…", args.requests);
    let bodies: Vec<String> = (0..args.requests)
        .map(|_| {
            let jwt = assertion(&key, &assertion_claims(&args.client_id, &token_url));
            format!(
                "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={jwt}"
            )
        })
        .collect();
    let chunks: Vec<Vec<String>> = {
        let per = bodies.len().div_ceil(args.connections);
        bodies.chunks(per).map(<[String]>::to_vec).collect()
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let url = token_url.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut latencies = Vec::with_capacity(chunk.len());
            let mut failures = 0usize;
            for body in chunk {
                let t = Instant::now();
                let ok = http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                latencies.push(t.elapsed());
                failures += usize::from(!ok);
            }
            (latencies, failures)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.unwrap();
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "requests: {}  failures: {failures}  connections: {}",
        latencies.len(),
        args.connections
    );
    println!(
        "throughput: {:.0} requests/s",
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency p50: {:.2} ms  p99: {:.2} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
    if let Some(rss) = args.server_pid.and_then(rss_mib) {
        println!("server RSS after run: {rss:.0} MiB");
    }
}
