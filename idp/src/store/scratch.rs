//! A scratch PostgreSQL database for store tests, made from `DATABASE_URL` and dropped
//! afterwards. Without `DATABASE_URL` the PostgreSQL half of a test is skipped, except under
//! `CI`, where skipping it would hide a backend.

#![allow(clippy::unwrap_used, clippy::panic)] // test support

use sqlx::Connection;

pub struct ScratchPostgres {
    /// The scratch database's URL.
    pub url: String,
    name: String,
    admin: sqlx::PgConnection,
}

impl ScratchPostgres {
    /// A new, empty database named after `prefix`; `None` when PostgreSQL is not configured.
    pub async fn create(prefix: &str) -> Option<Self> {
        let admin_url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var_os("CI").is_some() => {
                panic!("CI must set DATABASE_URL: the PostgreSQL suite may not be skipped")
            }
            _ => {
                eprintln!("DATABASE_URL not set: SQLite only");
                return None;
            }
        };
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        Some(Self {
            url: url.to_string(),
            name,
            admin,
        })
    }

    /// Drop the database (its pools must be closed or dropped first; FORCE ends the rest).
    pub async fn drop_database(mut self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut self.admin)
        .await
        .unwrap();
    }
}
