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

/// The database `name` on the PostgreSQL server `DATABASE_URL` names, created if missing
/// (`None` without a server): for runs that reuse what an earlier run built.
pub async fn named_database(name: &str) -> Result<Option<(String, String)>, String> {
    let Ok(admin) = std::env::var("DATABASE_URL") else {
        return Ok(None);
    };
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .map_err(|e| e.to_string())?;
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut c)
        .await
        .map_err(|e| e.to_string())?;
    if exists.is_none() {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut url = url::Url::parse(&admin).map_err(|e| e.to_string())?;
    url.set_path(&format!("/{name}"));
    Ok(Some((name.to_owned(), url.to_string())))
}

pub async fn drop_database(name: &str) {
    if let Ok(admin) = std::env::var("DATABASE_URL") {
        glassgate_directory::fixtures::drop_database(&admin, name).await;
    }
}

/// CPU time (user + system, seconds) process `pid` has used so far, from `/proc` (Linux).
/// On a shared machine, CPU per request is steadier than requests per second.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU time (seconds) used so far by every process whose command name is `name` (all of
/// PostgreSQL's backends, say), from `/proc`: what a run costs the services it talks to.
pub fn cpu_seconds_of(name: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .filter_map(cpu_seconds)
        .sum()
}

/// The `p` quantile of sorted latencies, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// A minimal HTTP/1.1 client over one keep-alive connection, for load drivers: requests are
/// pre-built bytes and a response is read as far as its status and `Content-Length` body, so
/// the driver spends a few microseconds per request where a full client spends tens (on a
/// 2-core machine the driver's CPU is taken from the server being measured).
pub struct RawConnection {
    stream: tokio::net::TcpStream,
    buffer: Vec<u8>,
}

impl RawConnection {
    pub async fn connect(addr: &str) -> std::io::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(16 * 1024),
        })
    }

    /// Send one request (complete bytes) and return the response status; the body is read
    /// and discarded.
    pub async fn send(&mut self, request: &[u8]) -> std::io::Result<u16> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(request).await?;
        self.buffer.clear();
        let (status, end) = loop {
            if let Some(parsed) = parse_head(&self.buffer)? {
                break parsed;
            }
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        };
        while self.buffer.len() < end {
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(status)
    }
}

/// `GET path` on `host`, as request bytes.
pub fn get_request(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n\r\n").into_bytes()
}

/// `POST path` of a form body on `host`, as request bytes.
pub fn form_request(host: &str, path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Status and total length (head and body) of the response at the start of `buffer`, once
/// its head is complete.
fn parse_head(buffer: &[u8]) -> std::io::Result<Option<(u16, usize)>> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let Some(head_end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buffer[..head_end]).map_err(|_| bad("non-UTF-8 head"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or_else(|| bad("no content-length"))?;
    Ok(Some((status, head_end + 4 + length)))
}
