//! Shared pieces of the benchmark drivers: a database of their own, percentiles.

use std::time::Duration;

use sqlx::Connection;

/// A fresh database on the PostgreSQL server `DATABASE_URL` names (`None` without one):
/// its name and URL. Runs never see each other's keys, tokens or logs.
pub async fn fresh_database(prefix: &str) -> Result<Option<(String, String)>, String> {
    let Ok(admin) = std::env::var("DATABASE_URL") else {
        return Ok(None);
    };
    let name = format!("{prefix}_{}", std::process::id());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .map_err(|e| e.to_string())?;
    let mut url = url::Url::parse(&admin).map_err(|e| e.to_string())?;
    url.set_path(&format!("/{name}"));
    Ok(Some((name, url.to_string())))
}

pub async fn drop_database(name: &str) {
    let Ok(admin) = std::env::var("DATABASE_URL") else {
        return;
    };
    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await;
    }
}

/// The `p` quantile of sorted latencies, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}
