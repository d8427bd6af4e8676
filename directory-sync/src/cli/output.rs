//! Text for people, one JSON document with `--json`.

use serde_json::json;

use crate::active::Answer;
use crate::error::{DirectoryError, Result};
use crate::release::Outcome;
use crate::report::{Dataset, Summary};
use crate::store::Store;

fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into())
    );
}

fn malformed_lines(s: &Summary) {
    for m in &s.malformed_rows {
        println!("  malformed {}:{}: {}", m.file, m.line, m.reason);
    }
    if s.malformed > s.malformed_rows.len() as u64 {
        println!(
            "  … {} more malformed rows",
            s.malformed - s.malformed_rows.len() as u64
        );
    }
    for w in &s.warnings {
        println!("  warning: {w}");
    }
}

pub fn outcome(json: bool, o: &Outcome) {
    if json {
        print_json(&json!({ "status": "current", "outcome": o }));
        return;
    }
    let s = &o.summary;
    println!(
        "{} release {}#{} is current: {} records, {} with a valid NPI, {} inactive, {} deactivated, {} malformed rows; {} rows loaded",
        o.dataset,
        o.label,
        o.release_id,
        s.records,
        s.with_valid_npi,
        s.inactive,
        s.deactivated,
        s.malformed,
        o.loaded
    );
    if o.dropped > 0 || o.collected > 0 {
        println!(
            "  dropped {} old release(s), collected {} interrupted one(s)",
            o.dropped, o.collected
        );
    }
    malformed_lines(s);
}

pub fn unchanged(json: bool, dataset: &str, source: &str) {
    if json {
        print_json(&json!({ "status": "unchanged", "dataset": dataset, "source": source }));
    } else {
        println!("{dataset}: the release at {source} is already current");
    }
}

pub fn weekly(json: bool, s: &Summary) {
    if json {
        print_json(&json!({ "status": "applied", "summary": s }));
        return;
    }
    println!(
        "weekly NPPES file applied: {} rows upserted, {} malformed rows",
        s.upserted.unwrap_or(0),
        s.malformed
    );
    malformed_lines(s);
}

pub fn answer(json: bool, a: &Answer) {
    if json {
        print_json(&json!({ "answer": a }));
        return;
    }
    let verdict = if a.active { "ACTIVE" } else { "NOT ACTIVE" };
    println!("{} {verdict}", a.npi);
    if let Some(r) = a.reason {
        println!("  reason: {r} ({})", r.description());
    }
    println!("  why: {}", a.why);
    if let Some(u) = &a.fhir_user {
        println!("  fhirUser: {u}");
    }
    println!("  release: {}", a.release.as_deref().unwrap_or("(none)"));
}

pub async fn status(json: bool, store: &Store) -> Result<()> {
    let pointer = store.pointer().await?;
    let releases = store.releases().await?;
    let now = crate::store::now();
    let mut current = Vec::new();
    for d in Dataset::ALL {
        let id = match d {
            Dataset::Npd => pointer.npd.as_ref().map(|r| r.id),
            Dataset::Nppes => pointer.nppes,
            Dataset::Deactivations => pointer.deactivations,
            Dataset::Nucc => pointer.nucc,
        };
        let r = id.and_then(|id| releases.iter().find(|r| r.id == id));
        current.push(json!({
            "dataset": d,
            "release": r.map(|r| json!({
                "id": r.id,
                "label": r.label,
                "source": r.source,
                "finished_at": r.finished_at,
                "age_seconds": r.finished_at.map(|t| now - t),
                "records": r.summary.as_ref().map(|s| s.records),
                "malformed": r.summary.as_ref().map(|s| s.malformed),
            })),
        }));
    }
    let recent: Vec<_> = releases.iter().take(20).collect();
    if json {
        print_json(&json!({
            "backend": store.backend(),
            "generation": pointer.generation,
            "current": current,
            "recent": recent,
        }));
        return Ok(());
    }
    println!(
        "store: {} (generation {})",
        store.backend(),
        pointer.generation
    );
    for c in &current {
        let d = c["dataset"].as_str().unwrap_or("");
        match c["release"].as_object() {
            None => println!("{d:14} no current release"),
            Some(r) => println!(
                "{d:14} {}#{} {} records, {} malformed, age {}",
                r["label"].as_str().unwrap_or(""),
                r["id"],
                r["records"],
                r["malformed"],
                age(r["age_seconds"].as_i64().unwrap_or(0))
            ),
        }
    }
    for r in recent {
        println!(
            "  #{} {} {} {} ({})",
            r.id, r.dataset, r.label, r.state, r.source
        );
    }
    Ok(())
}

fn age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

pub fn error(json: bool, e: &DirectoryError) {
    let class = match e {
        DirectoryError::Refused(_) => "refused",
        DirectoryError::Source { .. } => "source",
        DirectoryError::Format { .. } => "format",
        DirectoryError::Busy => "busy",
        DirectoryError::State(_) => "precondition",
        _ => "internal",
    };
    if json {
        let refusal = match e {
            DirectoryError::Refused(r) => serde_json::to_value(r).ok(),
            _ => None,
        };
        print_json(&json!({
            "status": "error",
            "error": class,
            "message": e.to_string(),
            "refusal": refusal,
        }));
        return;
    }
    eprintln!("directory-sync: {e}");
    if let DirectoryError::Refused(r) = e {
        for c in &r.checks {
            eprintln!(
                "  {} {}: {}",
                if c.passed { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            );
        }
        for m in &r.summary.malformed_rows {
            eprintln!("  malformed {}:{}: {}", m.file, m.line, m.reason);
        }
    }
}
