//! Load driver for the token endpoint: `client_credentials` with `private_key_jwt` (ES256)
//! at N concurrent connections. It starts the server binary itself (with a `bench` client),
//! pre-generates every assertion before the clock starts and sends them with a minimal
//! keep-alive HTTP/1.1 client (`bench::RawConnection`) so the figure is the server's cost,
//! then prints requests/s, p50/p99 latency and the server's resident memory.
//!
//! cargo build --release -p glassgate-idp -p glassgate-tests
//! DATABASE_URL=postgres://… REDIS_URL=redis://… target/release/load-client-credentials

use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use glassgate_idp::jose::{Jws, PreparedKey, PublicKey};
use glassgate_keys::{Algorithm, Signer, SoftwareSigner};
use glassgate_tests::bench::{
    RawConnection, cpu_seconds, cpu_seconds_of, drop_database, form_request, fresh_database,
    percentile_ms,
};
use glassgate_tests::jwt::{TestKey, assertion, assertion_claims};

#[derive(Parser)]
struct Args {
    /// The server binary to start.
    #[arg(long, default_value = "target/release/glassgate")]
    server: std::path::PathBuf,
    #[arg(long, default_value_t = 18080)]
    port: u16,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value_t = 200_000)]
    requests: usize,
    /// Requests sent (and discarded) before measuring.
    #[arg(long, default_value_t = 5_000)]
    warmup: usize,
}

fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load-client-credentials: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let key = TestKey::es256();
    let config = format!(
        "[[clients]]\nclient_id = \"bench\"\ntoken_endpoint_auth_method = \"private_key_jwt\"\n\
         grant_types = [\"client_credentials\"]\nscope = \"system/Patient.rs\"\njwks = {}\n\
         organisation = {{ id = \"org-bench\", kind = \"provider\" }}\n",
        serde_json::json!(key.jwks().to_string())
    );
    std::fs::write(dir.path().join("bench.toml"), config).map_err(|e| e.to_string())?;
    let base = format!("http://127.0.0.1:{}", args.port);
    let database = fresh_database("gg_bench").await?;
    let mut command = std::process::Command::new(&args.server);
    if let Some((_, url)) = &database {
        command.env("DATABASE_URL", url);
    }
    let mut server = command
        .env("GLASSGATE_CONFIG", dir.path().join("bench.toml"))
        .env("GLASSGATE_LISTEN", format!("127.0.0.1:{}", args.port))
        .env("GLASSGATE_ISSUER", &base)
        .env("GLASSGATE_DATA_DIR", dir.path().join("data"))
        .env(
            "GLASSGATE_REDIS_PREFIX",
            format!("bench-{}:", std::process::id()),
        )
        .env("GLASSGATE_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", args.server.display()))?;
    let outcome = measure(&args, &base, &key, server.id()).await;
    let _ = server.kill();
    let _ = server.wait();
    if let Some((name, _)) = database {
        drop_database(&name).await;
    }
    outcome
}

async fn measure(args: &Args, base: &str, key: &TestKey, pid: u32) -> Result<(), String> {
    let http = reqwest::Client::new();
    let ready = Instant::now();
    while http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status().is_success())
        .ok()
        != Some(true)
    {
        if ready.elapsed() > Duration::from_secs(30) {
            return Err("server did not become ready".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token_url = format!("{base}/token");
    let host = base.trim_start_matches("http://");
    let purpose: String =
        url::form_urlencoded::byte_serialize(glassgate_tests::oauth::TREATMENT.as_bytes())
            .collect();
    let body = |jwt: String| {
        format!(
            "grant_type=client_credentials&authorization_details={purpose}&client_assertion_type=\
             urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={jwt}"
        )
    };
    eprintln!("pre-generating {} assertions…", args.warmup + args.requests);
    let mut requests: Vec<Vec<u8>> = (0..args.warmup + args.requests)
        .map(|_| {
            // Valid for nearly the 5 minutes the server accepts: pre-generation and a run on a
            // loaded machine can take longer than the usual minute.
            let mut claims = assertion_claims("bench", &token_url);
            claims["exp"] = (glassgate_idp::clock::now() + 290).into();
            let jwt = assertion(key, &claims);
            form_request(host, "/token", &body(jwt))
        })
        .collect();
    let crypto = crypto_reference(key, &token_url)?;
    let measured = requests.split_off(args.warmup);
    drive(host, requests, args.connections).await?;
    let rss_before = rss_mib(pid);
    let cpu_before = (cpu_seconds(pid), cpu_seconds(std::process::id()));
    let services_before = (cpu_seconds_of("postgres"), cpu_seconds_of("redis-server"));
    let started = Instant::now();
    let (mut latencies, failures) = drive(host, measured, args.connections).await?;
    let elapsed = started.elapsed();
    let cpu_after = (cpu_seconds(pid), cpu_seconds(std::process::id()));
    let services_after = (cpu_seconds_of("postgres"), cpu_seconds_of("redis-server"));
    latencies.sort();
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
        "latency p50: {:.2} ms  p99: {:.2} ms  max: {:.2} ms",
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    // Figures from the server's own histograms; the run stands without them.
    let metrics = match reqwest::get(format!("{base}/metrics")).await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let decision = histogram_mean(&metrics, "glassgate_policy_decision_duration_seconds");
    if let ((Some(s0), Some(d0)), (Some(s1), Some(d1))) = (cpu_before, cpu_after) {
        let per = |seconds: f64| seconds * 1e6 / latencies.len().max(1) as f64;
        let database = per(services_after.0 - services_before.0);
        let redis = per(services_after.1 - services_before.1);
        println!(
            "CPU per request: server {:.0} µs, this driver {:.0} µs, PostgreSQL {database:.0} µs, \
             Redis {redis:.0} µs; all {:.0} µs (10,000 requests/s on 2 cores leave 200 µs)",
            per(s1 - s0),
            per(d1 - d0),
            per(s1 - s0) + per(d1 - d0) + database + redis
        );
        if let Some(decision) = decision {
            println!(
                "policy decision: mean {:.1} µs, {:.0} % of the server CPU per request",
                decision * 1e6,
                100.0 * decision * 1e6 / per(s1 - s0).max(f64::MIN_POSITIVE)
            );
        }
    }
    if let (Some(size), Some(took)) = (
        histogram_mean(&metrics, "glassgate_issuance_batch_size"),
        histogram_mean(&metrics, "glassgate_issuance_commit_duration_seconds"),
    ) {
        println!(
            "group commit: mean {size:.1} issuances per batch, {:.2} ms per commit (warm-up included)",
            took * 1e3
        );
    }
    println!(
        "this host's ES256 (the server's code, one thread): verify {:.1} µs, sign {:.1} µs; \
         a request does one of each",
        crypto.verify_us, crypto.sign_us
    );
    if let (Some(before), Some(after)) = (rss_before, rss_mib(pid)) {
        println!("server RSS: {before:.0} MiB after warm-up, {after:.0} MiB after the run");
    }
    if failures > 0 {
        return Err(format!("{failures} requests failed"));
    }
    Ok(())
}

/// What one ES256 verification and one signature cost on this host, timed with the code the
/// server runs for them. Hosts differ (the same build has measured 1.8x apart): this lets a
/// reader compare runs made on different machines.
struct CryptoReference {
    verify_us: f64,
    sign_us: f64,
}

fn crypto_reference(key: &TestKey, token_url: &str) -> Result<CryptoReference, String> {
    const ROUNDS: u32 = 2_000;
    let jwt = assertion(key, &assertion_claims("bench", token_url));
    let jws = Jws::parse(&jwt).map_err(|e| e.to_string())?;
    let public = PublicKey::from_jwk(&key.public_jwk()).map_err(|e| e.to_string())?;
    let prepared = PreparedKey::new(public);
    let started = Instant::now();
    for _ in 0..ROUNDS {
        jws.verify(&prepared).map_err(|e| e.to_string())?;
    }
    let verify = started.elapsed();
    let signer = SoftwareSigner::generate(Algorithm::Es256)
        .map_err(|e| e.to_string())?
        .0;
    let started = Instant::now();
    for _ in 0..ROUNDS {
        signer.sign(jwt.as_bytes()).map_err(|e| e.to_string())?;
    }
    let sign = started.elapsed();
    let micros = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(ROUNDS);
    Ok(CryptoReference {
        verify_us: micros(verify),
        sign_us: micros(sign),
    })
}

/// The mean of a histogram in the server's `/metrics` text (`None` before any sample).
fn histogram_mean(metrics: &str, name: &str) -> Option<f64> {
    let value = |suffix: &str| -> Option<f64> {
        metrics.lines().find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix(suffix)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
    };
    let (sum, count) = (value("_sum")?, value("_count")?);
    (count > 0.0).then(|| sum / count)
}

/// Send `requests` over `connections` keep-alive connections; latencies and failure count.
async fn drive(
    host: &str,
    requests: Vec<Vec<u8>>,
    connections: usize,
) -> Result<(Vec<Duration>, usize), String> {
    let per = requests.len().div_ceil(connections.max(1)).max(1);
    let mut tasks = Vec::new();
    let mut requests = requests.into_iter();
    loop {
        let chunk: Vec<Vec<u8>> = requests.by_ref().take(per).collect();
        if chunk.is_empty() {
            break;
        }
        let host = host.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut connection = RawConnection::connect(&host)
                .await
                .map_err(|e| e.to_string())?;
            let mut latencies = Vec::with_capacity(chunk.len());
            let mut failures = 0usize;
            for request in chunk {
                let t = Instant::now();
                let ok = match connection.send(&request).await {
                    Ok(status) => status == 200,
                    Err(_) => {
                        connection = RawConnection::connect(&host)
                            .await
                            .map_err(|e| e.to_string())?;
                        false
                    }
                };
                latencies.push(t.elapsed());
                failures += usize::from(!ok);
            }
            Ok::<_, String>((latencies, failures))
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (l, f) = task.await.map_err(|e| e.to_string())??;
        latencies.extend(l);
        failures += f;
    }
    Ok((latencies, failures))
}
