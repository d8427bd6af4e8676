//! Release-build benchmarks: a generated NPPES V2 file through `directory-sync`'s ingest
//! (SQLite, and PostgreSQL when `DATABASE_URL` is set) side by side with a plain
//! `COPY … (FORMAT csv)` of the same file into a 330-column text table; a generated NPD
//! Practitioner NDJSON.zst; and the active-clinician lookup (cache miss and hit).
//! Each measured phase runs in its own process so its peak RSS is its own.
//!
//! ```sh
//! cargo run --release -p glassgate-directory --example bench-directory -- --rows 1000000
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use glassgate_directory::fixtures::{self, NppesOptions, Provider, Scenario};
use glassgate_directory::store;
use glassgate_directory::{ActiveClinicians, SyncContext, npd, nppes, nucc};
use serde_json::{Value, json};
use sqlx::Connection;

#[derive(Debug, Parser)]
struct Args {
    /// NPPES rows.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// NPD Practitioner resources.
    #[arg(long, default_value_t = 1_000_000)]
    practitioners: u32,
    /// Lookups measured.
    #[arg(long, default_value_t = 100_000)]
    lookups: u32,
    /// Where generated files go (default: a temporary directory).
    #[arg(long)]
    work: Option<PathBuf>,
    /// Internal: run one phase and print its JSON result.
    #[arg(long, hide = true)]
    phase: Option<String>,
    #[arg(long, hide = true)]
    file: Option<PathBuf>,
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn fresh_pg(url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let name = format!(
        "gg_bench_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_micros()
    );
    let mut admin = sqlx::PgConnection::connect(url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let (base, _) = url.rsplit_once('/').ok_or("bad DATABASE_URL")?;
    Ok(format!("{base}/{name}"))
}

async fn phase(name: &str, file: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let pg = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
    let started = Instant::now();
    let result = match name {
        "sqlite-nppes" | "postgres-nppes" => {
            let url = if name == "postgres-nppes" {
                Some(fresh_pg(pg.as_deref().ok_or("DATABASE_URL")?).await?)
            } else {
                None
            };
            let store = store::open(url.as_deref(), dir.path()).await?;
            let ctx = SyncContext::new(store, dir.path().join("dl"))?;
            let t = Instant::now();
            let outcome = nppes::ingest_full(&ctx, file.to_str().ok_or("path")?).await?;
            json!({ "rows": outcome.summary.records, "secs": t.elapsed().as_secs_f64() })
        }
        "postgres-copy" => {
            let url = fresh_pg(pg.as_deref().ok_or("DATABASE_URL")?).await?;
            let mut conn = sqlx::PgConnection::connect(&url).await?;
            let cols: Vec<String> = (1..=330).map(|i| format!("c{i} text")).collect();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE nppes_raw ({})",
                cols.join(",")
            )))
            .execute(&mut conn)
            .await?;
            let t = Instant::now();
            let mut copy = conn
                .copy_in_raw("COPY nppes_raw FROM STDIN (FORMAT csv, HEADER true)")
                .await?;
            let mut f = tokio::fs::File::open(file).await?;
            copy.read_from(&mut f).await?;
            let rows = copy.finish().await?;
            json!({ "rows": rows, "secs": t.elapsed().as_secs_f64() })
        }
        "sqlite-npd" | "postgres-npd" => {
            let url = if name == "postgres-npd" {
                Some(fresh_pg(pg.as_deref().ok_or("DATABASE_URL")?).await?)
            } else {
                None
            };
            let store = store::open(url.as_deref(), dir.path()).await?;
            let ctx = SyncContext::new(store, dir.path().join("dl"))?;
            let t = Instant::now();
            let outcome = npd::ingest(&ctx, file.to_str().ok_or("path")?, true)
                .await?
                .ok_or("not ingested")?;
            json!({ "rows": outcome.summary.records, "secs": t.elapsed().as_secs_f64() })
        }
        other => return Err(format!("unknown phase {other}").into()),
    };
    let mut result = result;
    result["peak_rss_mb"] = json!(peak_rss_mb());
    result["wall_secs"] = json!(started.elapsed().as_secs_f64());
    Ok(result)
}

fn run_phase(name: &str, file: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let out = Command::new(std::env::current_exe()?)
        .args(["--phase", name, "--file"])
        .arg(file)
        .output()?;
    if !out.status.success() {
        return Err(format!("{name}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn report(name: &str, v: &Value) {
    let rows = v["rows"].as_f64().unwrap_or(0.0);
    let secs = v["secs"].as_f64().unwrap_or(1.0);
    println!(
        "{name:28} {:>10} rows in {secs:>7.2} s = {:>9.0} rows/s, peak RSS {:>6.1} MB",
        rows,
        rows / secs,
        v["peak_rss_mb"].as_f64().unwrap_or(0.0)
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn lookups(n: u32) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let scenario = Scenario {
        filler: n,
        ..Scenario::standard()
    };
    let files = scenario.write(&dir.path().join("in"))?;
    let store = store::open(None, &dir.path().join("data")).await?;
    let ctx = SyncContext::new(store.clone(), dir.path().join("dl"))?;
    nucc::ingest(&ctx, files.nucc.to_str().ok_or("path")?).await?;
    nppes::ingest_full(&ctx, files.nppes.to_str().ok_or("path")?).await?;
    npd::ingest(&ctx, files.manifest.to_str().ok_or("path")?, false).await?;
    let check = ActiveClinicians::with_options(
        store,
        glassgate_directory::NPD_FHIR_BASE,
        Duration::from_secs(3600),
        10_000_000,
    );
    let npis: Vec<String> = (0..n).map(|i| fixtures::npi(900_000 + i)).collect();
    for (label, pass) in [("lookup, cache miss (SQLite)", 0), ("lookup, cache hit", 1)] {
        let mut times = Vec::with_capacity(npis.len());
        for npi in &npis {
            let t = Instant::now();
            let a = check.check(npi).await?;
            times.push(t.elapsed());
            if !a.active && pass == 0 && times.len() < 3 {
                eprintln!("unexpected: {} {}", a.npi, a.why);
            }
        }
        times.sort();
        println!(
            "{label:28} {} lookups: p50 {:?}, p99 {:?}, max {:?}",
            times.len(),
            percentile(&times, 0.50),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or_default()
        );
    }
    Ok(())
}

fn npd_manifest(dir: &Path, practitioners: u32) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let name = "Practitioner_2026-05-07_2128.ndjson";
    let path = dir.join(format!("{name}.zst"));
    let original = fixtures::npd::write_practitioner_bench(&path, practitioners)?;
    let manifest = dir.join("manifest.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec(&json!({
            "compression_algorithm": "zstd",
            "files": { name: { "compressed_bytes": std::fs::metadata(&path)?.len(), "original_bytes": original } }
        }))?,
    )?;
    Ok(manifest)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(name) = &args.phase {
        let file = args.file.as_deref().ok_or("--file")?;
        println!("{}", phase(name, file).await?);
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&work)?;
    let pg = std::env::var("DATABASE_URL").is_ok_and(|u| !u.is_empty());

    let csv = work.join("npidata_pfile_bench.csv");
    let t = Instant::now();
    fixtures::nppes::write_nppes_with(
        &csv,
        args.rows,
        |i| {
            let npi = fixtures::npi(i as u32);
            match i % 20 {
                0 => Provider::organization(&npi, "282N00000X"),
                1 => Provider {
                    deactivated: Some("03/04/2021".into()),
                    ..Provider::individual(&npi, "207Q00000X")
                },
                2 => Provider {
                    taxonomies: vec![
                        ("207Q00000X".into(), false),
                        ("207R00000X".into(), true),
                        ("363L00000X".into(), false),
                    ],
                    ..Provider::individual(&npi, "207Q00000X")
                },
                _ => Provider::individual(&npi, "207Q00000X"),
            }
        },
        &NppesOptions::default(),
    )?;
    let size = std::fs::metadata(&csv)?.len();
    println!(
        "generated {} NPPES rows ({:.0} MB) in {:.1} s",
        args.rows,
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    report("NPPES ingest, SQLite", &run_phase("sqlite-nppes", &csv)?);
    if pg {
        report(
            "NPPES ingest, PostgreSQL",
            &run_phase("postgres-nppes", &csv)?,
        );
        report(
            "PostgreSQL COPY, 330 cols",
            &run_phase("postgres-copy", &csv)?,
        );
    } else {
        println!("DATABASE_URL not set: PostgreSQL phases skipped");
    }
    let _ = std::fs::remove_file(&csv);

    let npd_dir = work.join("npd");
    std::fs::create_dir_all(&npd_dir)?;
    let t = Instant::now();
    let manifest = npd_manifest(&npd_dir, args.practitioners)?;
    println!(
        "generated {} NPD Practitioners in {:.1} s",
        args.practitioners,
        t.elapsed().as_secs_f64()
    );
    report(
        "NPD Practitioner, SQLite",
        &run_phase("sqlite-npd", &manifest)?,
    );
    if pg {
        report(
            "NPD Practitioner, PostgreSQL",
            &run_phase("postgres-npd", &manifest)?,
        );
    }
    let _ = std::fs::remove_dir_all(&npd_dir);

    lookups(args.lookups).await?;
    Ok(())
}
