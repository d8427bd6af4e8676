//! Test backends: SQLite always; PostgreSQL when `DATABASE_URL` is set, each test in a fresh
//! database. With `CI` set and no `DATABASE_URL`, the PostgreSQL run fails instead of skipping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use glassgate_directory::store::{self, Store};
use glassgate_directory::{Limits, SyncContext};
use sqlx::Connection;

pub struct TestDb {
    pub name: &'static str,
    pub store: Store,
    /// `DATABASE_URL` for the CLI, when PostgreSQL.
    pub database_url: Option<String>,
    /// `GLASSGATE_DATA_DIR` for the CLI (and the downloads directory).
    pub data_dir: PathBuf,
    pub dir: tempfile::TempDir,
    /// The admin URL and name of this test's PostgreSQL database, dropped with it.
    pub database: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.database.take() {
            glassgate_directory::fixtures::drop_test_database(&admin, &name);
        }
    }
}

impl TestDb {
    pub fn context(&self) -> SyncContext {
        let mut ctx = SyncContext::new(
            self.store.clone(),
            self.data_dir.join("directory-downloads"),
        )
        .unwrap();
        ctx.limits = Limits::default();
        ctx
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A CLI command against this store.
    pub fn cli(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_directory-sync"));
        c.env_remove("DATABASE_URL")
            .env("GLASSGATE_DATA_DIR", &self.data_dir)
            .env("NO_COLOR", "1");
        if let Some(url) = &self.database_url {
            c.env("DATABASE_URL", url);
        }
        c
    }
}

fn unique_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "gg_{:x}{:x}{}",
        nanos,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let store = store::open(None, &data_dir).await.unwrap();
    TestDb {
        name: "sqlite",
        store,
        database_url: None,
        data_dir,
        dir,
        database: None,
    }
}

pub async fn postgres(admin_url: &str) -> TestDb {
    let name = unique_name();
    let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = with_database(admin_url, &name);
    let store = store::open(Some(&url), Path::new("unused")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    TestDb {
        name: "postgres",
        store,
        data_dir: dir.path().join("data"),
        database_url: Some(url),
        dir,
        database: Some((admin_url.to_owned(), name)),
    }
}

/// Every backend this run must cover.
pub async fn backends() -> Vec<TestDb> {
    let mut all = vec![sqlite().await];
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => all.push(postgres(&url).await),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI must set DATABASE_URL: the PostgreSQL suite may not be skipped")
        }
        _ => eprintln!("DATABASE_URL not set: running the SQLite suite only"),
    }
    all
}
