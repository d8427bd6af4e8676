#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark driver
//! Benchmarks of the verifiable log on PostgreSQL (release build):
//!
//! - `bench-log appends`: concurrent appenders commit log entries through the same batched
//!   writer token issuance uses, while the sequencer integrates every 250 ms; reports
//!   appends/s and the integration delay (commit → covered by a signed checkpoint) p50/p99.
//! - `bench-log proofs --size N`: builds a log of N entries, starts the release server on
//!   it, and requests inclusion proofs for random indexes at 64 connections (minimal
//!   keep-alive HTTP/1.1 client); proofs/s, p50/p99. `--keep NAME` keeps the filled database
//!   for the next run. The run waits until the server has warmed its proof cache (and says
//!   how long that took); `--cold` starts as soon as the server is ready.
//!
//! DATABASE_URL=postgres://… target/release/bench-log appends --seconds 20

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use glassgate_idp::config::Config;
use glassgate_idp::oauth::issuance::IssuanceWriter;
use glassgate_idp::store::model::{Issuance, IssuanceOutcome};
use glassgate_idp::tlog::{Event, EventKind, TransparencyLog, sequencer};
use glassgate_keys::Kek;
use glassgate_tests::bench::{
    RawConnection, cpu_seconds, drop_database, fresh_database, get_request, named_database,
    percentile_ms,
};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    Appends {
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 256)]
        appenders: usize,
        #[arg(long, default_value_t = 250)]
        interval_ms: u64,
    },
    Proofs(ProofRun),
}

#[derive(clap::Args)]
struct ProofRun {
    #[arg(long, default_value_t = 1_000_000)]
    size: u64,
    #[arg(long, default_value_t = 100_000)]
    requests: usize,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value = "target/release/glassgate")]
    server: std::path::PathBuf,
    /// Fill (once) and keep the database of this name, with its key-encryption key in
    /// the temporary directory, so repeated runs on a large log skip the fill.
    #[arg(long)]
    keep: Option<String>,
    /// Start requesting as soon as the server is ready, while it is still filling its
    /// proof cache (by default the run waits until the cache is warm, and reports how
    /// long that took).
    #[arg(long)]
    cold: bool,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let keep = match &args.mode {
        Mode::Proofs(run) => run.keep.clone(),
        Mode::Appends { .. } => None,
    };
    let database = match &keep {
        Some(name) => named_database(name).await,
        None => fresh_database("gg_benchlog").await,
    };
    let (name, url) = match database {
        Ok(Some(d)) => d,
        Ok(None) => {
            eprintln!("bench-log: DATABASE_URL must name a PostgreSQL server");
            return std::process::ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("bench-log: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = match args.mode {
        Mode::Appends {
            seconds,
            appenders,
            interval_ms,
        } => appends(&url, seconds, appenders, interval_ms).await,
        Mode::Proofs(run) => proofs(&url, &run).await,
    };
    if keep.is_none() {
        drop_database(&name).await;
    }
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-log: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn open_log(
    url: &str,
    kek_b64: &str,
) -> Result<(Config, glassgate_idp::store::Store, Arc<TransparencyLog>), Failure> {
    let config = Config {
        database_url: Some(url.to_owned()),
        ..Config::default()
    };
    let store = glassgate_idp::store::open(&config).await?;
    let kek = Kek::from_base64(kek_b64)?;
    let log = Arc::new(
        TransparencyLog::open(&config, &kek, store.keys.as_ref(), store.log.clone()).await?,
    );
    Ok((config, store, log))
}

async fn appends(
    url: &str,
    seconds: u64,
    appenders: usize,
    interval_ms: u64,
) -> Result<(), Failure> {
    let (_, kek) = Kek::generate()?;
    let (config, store, log) = open_log(url, &kek).await?;
    let writer = IssuanceWriter::spawn(
        store.tokens.clone(),
        Arc::new(glassgate_idp::metrics::Metrics::new()?),
    );
    let published: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sequencer_task = {
        let (log, published, stop) = (log.clone(), published.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(interval_ms));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                match sequencer::integrate_once(&log).await {
                    Ok(Some(tree)) => published
                        .lock()
                        .map(|mut p| p.push((Instant::now(), tree.size)))
                        .unwrap_or(()),
                    Ok(None) => {}
                    Err(e) => eprintln!("integration failed: {e}"),
                }
            }
        })
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for a in 0..appenders {
        let (log, writer, issuer) = (log.clone(), writer.clone(), config.issuer.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let event = Event::new(EventKind::TokenIssued, "bench")
                    .with_subject(&format!("subject-{a}"))
                    .with_jti(&format!("jti-{a}-{n}"))
                    .with_record(serde_json::json!({ "scope": "system/Patient.rs", "n": n }));
                let Ok(entry) = log.entry(event, &issuer) else {
                    break;
                };
                let issuance = Issuance {
                    at: glassgate_idp::clock::now(),
                    log: vec![entry],
                    ..Issuance::default()
                };
                match writer.commit(issuance).await {
                    Ok(IssuanceOutcome::Committed { log_index: Some(i) }) => {
                        done.push((i, Instant::now()))
                    }
                    _ => break,
                }
            }
            done
        }));
    }
    let mut committed = Vec::new();
    for t in tasks {
        committed.extend(t.await?);
    }
    let elapsed = started.elapsed();
    // Let the sequencer cover everything, then stop it.
    let total = committed.len() as u64;
    let wait = Instant::now();
    while published
        .lock()
        .map(|p| p.last().map_or(0, |l| l.1))
        .unwrap_or(0)
        < total
        && wait.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sequencer_task.await;
    let published = published.lock().map(|p| p.clone()).unwrap_or_default();
    let mut delays: Vec<Duration> = committed
        .iter()
        .filter_map(|(index, at)| {
            published
                .iter()
                .find(|(_, size)| *size > *index)
                .map(|(when, _)| when.saturating_duration_since(*at))
        })
        .collect();
    delays.sort();
    println!(
        "appended: {total} entries in {:.1} s by {appenders} appenders",
        elapsed.as_secs_f64()
    );
    println!("appends/s: {:.0}", total as f64 / elapsed.as_secs_f64());
    println!(
        "checkpoints: {}  largest batch: {}",
        published.len(),
        published
            .windows(2)
            .map(|w| w[1].1 - w[0].1)
            .max()
            .unwrap_or(0)
    );
    println!(
        "integration delay p50: {:.0} ms  p99: {:.0} ms  (over {} entries)",
        percentile_ms(&delays, 0.5),
        percentile_ms(&delays, 0.99),
        delays.len()
    );
    Ok(())
}

async fn proofs(url: &str, run: &ProofRun) -> Result<(), Failure> {
    let ProofRun {
        size,
        requests,
        connections,
        ref server,
        ref keep,
        cold,
    } = *run;
    let kek_file = keep
        .as_ref()
        .map(|name| std::env::temp_dir().join(format!("{name}.kek")));
    let kek = match kek_file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
    {
        Some(kek) => kek,
        None => {
            let (_, kek) = Kek::generate()?;
            if let Some(file) = &kek_file {
                std::fs::write(file, &kek)?;
            }
            kek
        }
    };
    {
        // Fill through the real path: batched commits, then integration.
        let (config, store, log) = open_log(url, &kek).await?;
        let writer = IssuanceWriter::spawn(
            store.tokens.clone(),
            Arc::new(glassgate_idp::metrics::Metrics::new()?),
        );
        let started = Instant::now();
        let mut sent = store.log.tree().await?.map_or(0, |t| t.size);
        while sent < size {
            let batch = (size - sent).min(20_000);
            let mut joins = Vec::new();
            for k in 0..batch {
                let (log, writer, issuer) = (log.clone(), writer.clone(), config.issuer.clone());
                let n = sent + k;
                joins.push(tokio::spawn(async move {
                    let event =
                        Event::new(EventKind::TokenIssued, "bench").with_jti(&format!("jti-{n}"));
                    let entry = log.entry(event, &issuer).map_err(|e| e.to_string())?;
                    writer
                        .commit(Issuance {
                            at: 0,
                            log: vec![entry],
                            ..Issuance::default()
                        })
                        .await
                        .map_err(|e| e.to_string())
                }));
            }
            for j in joins {
                j.await??;
            }
            sent += batch;
            while sequencer::integrate_once(&log).await?.is_some() {}
            eprint!(
                "\rfilled {sent}/{size} ({:.0}/s)",
                sent as f64 / started.elapsed().as_secs_f64()
            );
        }
        eprintln!();
    }
    let dir = tempfile::tempdir()?;
    let port = 18090;
    let base = format!("http://127.0.0.1:{port}");
    let mut child = std::process::Command::new(server)
        .env("DATABASE_URL", url)
        .env("GLASSGATE_KEK", &kek)
        .env("GLASSGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("GLASSGATE_ISSUER", &base)
        .env("GLASSGATE_DATA_DIR", dir.path())
        .env("GLASSGATE_LOG", "warn")
        .spawn()?;
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
            let _ = child.kill();
            return Err("server did not become ready".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !cold {
        let warming = Instant::now();
        while !warmed(&http, &base).await {
            if warming.elapsed() > Duration::from_secs(600) {
                let _ = child.kill();
                return Err("the proof cache did not warm within 10 minutes".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!(
            "proof cache warmed {:.1} s after ready",
            warming.elapsed().as_secs_f64()
        );
    }
    let per = requests.div_ceil(connections);
    let host = format!("127.0.0.1:{port}");
    // Random indexes, requests built before the clock starts.
    let batches: Vec<Vec<Vec<u8>>> = (0..connections)
        .map(|c| {
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1);
            (0..per)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    get_request(&host, &format!("/log/proof/index/{}", x % size))
                })
                .collect()
        })
        .collect();
    let cpu_before = cpu_seconds(child.id());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for batch in batches {
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            let mut connection = RawConnection::connect(&host).await.unwrap();
            let mut latencies = Vec::with_capacity(batch.len());
            let mut failures = 0usize;
            for request in batch {
                let t = Instant::now();
                let ok = connection.send(&request).await.map(|s| s == 200);
                latencies.push(t.elapsed());
                failures += usize::from(ok.as_ref().map_or(true, |ok| !ok));
                if ok.is_err() {
                    connection = RawConnection::connect(&host).await.unwrap();
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed();
    let server_cpu = cpu_seconds(child.id())
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let _ = child.kill();
    let _ = child.wait();
    latencies.sort();
    println!(
        "log size: {size}  proofs: {}  failures: {failures}  connections: {connections}",
        latencies.len()
    );
    println!(
        "proofs/s: {:.0}",
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency p50: {:.2} ms  p99: {:.2} ms",
        percentile_ms(&latencies, 0.5),
        percentile_ms(&latencies, 0.99)
    );
    if let Some(cpu) = server_cpu {
        println!(
            "server CPU per proof: {:.0} µs",
            cpu * 1e6 / latencies.len().max(1) as f64
        );
    }
    Ok(())
}

/// Whether the server reports its proof cache warm (`glassgate_log_proof_cache_warmed 1`).
async fn warmed(http: &reqwest::Client, base: &str) -> bool {
    let Ok(response) = http.get(format!("{base}/metrics")).send().await else {
        return false;
    };
    response.text().await.is_ok_and(|text| {
        text.lines()
            .any(|l| l.trim() == "glassgate_log_proof_cache_warmed 1")
    })
}
