//! Boot a real `glassgate-test-server` process on a free port against a fresh database.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::Value;
use sqlx::Connection;

use crate::clients::ClientKeys;
use crate::jwt::random_id;

pub const INITIAL_ACCESS_TOKEN: &str = "initial-access-token-for-tests-0123456789";

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    PostgresRedis {
        database_url: String,
        redis_url: String,
    },
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::PostgresRedis { .. } => "postgres+redis",
        }
    }
}

/// SQLite always; PostgreSQL + Redis when `DATABASE_URL` and `REDIS_URL` are set. In CI
/// (`CI` set) their absence is a failure, so those suites can never be silently skipped.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    match (std::env::var("DATABASE_URL"), std::env::var("REDIS_URL")) {
        (Ok(database_url), Ok(redis_url)) => all.push(Backend::PostgresRedis {
            database_url,
            redis_url,
        }),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "CI must set DATABASE_URL and REDIS_URL: the PostgreSQL + Redis suites may not be skipped"
            )
        }
        _ => eprintln!("DATABASE_URL/REDIS_URL not set: running the SQLite suite only"),
    }
    all
}

/// Per-test knobs: extra environment variables and extra TOML.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub env: Vec<(String, String)>,
    pub extra_toml: String,
    /// Run the shipped `glassgate` binary (passkey sign-in in the browser) instead of the
    /// test server with its `login_hint` authenticator. Its issuer is
    /// `http://localhost:<port>`: WebAuthn relying party ids must be domain names.
    pub shipped: bool,
}

impl ServerOptions {
    pub fn shipped() -> Self {
        Self {
            shipped: true,
            ..Self::default()
        }
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Where a server keeps its state, shared by replicas of one test.
struct Deployment {
    dir: tempfile::TempDir,
    backend: Backend,
    database: Option<(String, String)>, // (admin URL, database name)
    redis_prefix: String,
}

pub struct TestServer {
    /// Where this process listens.
    pub base: String,
    /// The deployment's issuer: replicas behind one (imagined) load balancer share it.
    pub issuer: String,
    pub keys: std::sync::Arc<ClientKeys>,
    child: Child,
    deployment: std::sync::Arc<Deployment>,
    options: ServerOptions,
    log: PathBuf,
}

/// The test server binary: cargo names it for test processes; otherwise it sits beside the
/// `deps/` directory the test binary runs from.
fn test_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CARGO_BIN_EXE_glassgate-test-server") {
        return PathBuf::from(path);
    }
    // Beside this executable (a load driver in target/<profile>), or one level up (a test
    // in target/<profile>/deps).
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    let beside = dir.join("glassgate-test-server");
    if beside.exists() {
        return beside;
    }
    dir.parent().unwrap().join("glassgate-test-server")
}

fn server_binary(options: &ServerOptions) -> PathBuf {
    match options.shipped {
        true => workspace_binary("glassgate"),
        false => test_server_binary(),
    }
}

/// A binary of the workspace built beside the test server (e.g. `verifier`).
pub fn workspace_binary(name: &str) -> PathBuf {
    let path = test_server_binary().with_file_name(name);
    assert!(
        path.exists(),
        "{} is not built: run the tests with `cargo test --workspace` (or `./scripts/test`)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn with_database(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_path(&format!("/{name}"));
    u.to_string()
}

impl TestServer {
    /// A server on `backend` with the standard test clients.
    pub async fn start(backend: &Backend, options: ServerOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = match backend {
            Backend::Sqlite => None,
            Backend::PostgresRedis { database_url, .. } => {
                let name = format!("gg_{}", random_id().to_lowercase().replace(['-', '_'], ""));
                let mut admin = sqlx::PgConnection::connect(database_url).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                Some((database_url.clone(), name))
            }
        };
        let deployment = Deployment {
            dir,
            backend: backend.clone(),
            database,
            redis_prefix: format!("gg-test-{}:", random_id()),
        };
        let keys = std::sync::Arc::new(ClientKeys::generate());
        std::fs::write(
            deployment.dir.path().join("glassgate.toml"),
            format!("{}\n{}", options.extra_toml, keys.config_toml()),
        )
        .unwrap();
        Self::launch(std::sync::Arc::new(deployment), keys, options, None).await
    }

    /// Another replica of the same deployment (same database, same Redis namespace).
    pub async fn replica(&self) -> Self {
        Self::launch(
            self.deployment.clone(),
            self.keys.clone(),
            self.options.clone(),
            Some(self.issuer.clone()),
        )
        .await
    }

    async fn launch(
        deployment: std::sync::Arc<Deployment>,
        keys: std::sync::Arc<ClientKeys>,
        options: ServerOptions,
        issuer: Option<String>,
    ) -> Self {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let issuer = issuer.unwrap_or_else(|| match options.shipped {
            true => format!("http://localhost:{port}"),
            false => base.clone(),
        });
        let log = deployment.dir.path().join(format!("server-{port}.log"));
        let mut command = Command::new(server_binary(&options));
        Self::environment(&mut command, &deployment, &options, &issuer, port);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = command.spawn().unwrap();
        let mut server = Self {
            base,
            issuer,
            keys,
            child,
            deployment,
            options,
            log,
        };
        server.wait_ready().await;
        server
    }

    /// The environment a server process of `deployment` runs with.
    fn environment(
        command: &mut Command,
        deployment: &Deployment,
        options: &ServerOptions,
        issuer: &str,
        port: u16,
    ) {
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "GLASSGATE_CONFIG",
                deployment.dir.path().join("glassgate.toml"),
            )
            .env("GLASSGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("GLASSGATE_ISSUER", issuer)
            .env("GLASSGATE_DATA_DIR", deployment.dir.path().join("data"))
            .env("GLASSGATE_INITIAL_ACCESS_TOKEN", INITIAL_ACCESS_TOKEN)
            .env("GLASSGATE_REDIS_PREFIX", &deployment.redis_prefix)
            .env("GLASSGATE_LOG_FORMAT", "pretty")
            .env("GLASSGATE_LOG", "info");
        if let (Backend::PostgresRedis { redis_url, .. }, Some((admin, name))) =
            (&deployment.backend, &deployment.database)
        {
            command
                .env("DATABASE_URL", with_database(admin, name))
                .env("REDIS_URL", redis_url);
        }
        for (k, v) in &options.env {
            command.env(k, v);
        }
    }

    /// Run a `glassgate` subcommand and return what it printed (it must succeed).
    pub async fn command_output(&self, args: &[&str]) -> String {
        let mut command = Command::new(server_binary(&self.options));
        let port = url::Url::parse(&self.base).unwrap().port().unwrap();
        Self::environment(
            &mut command,
            &self.deployment,
            &self.options,
            &self.issuer,
            port,
        );
        command.args(args).stdin(Stdio::null());
        let output = tokio::process::Command::from(command)
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Run `directory-sync` with `args` against this server's deployment (same database).
    pub async fn directory_sync(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(workspace_binary("directory-sync"));
        let port = url::Url::parse(&self.base).unwrap().port().unwrap();
        Self::environment(
            &mut command,
            &self.deployment,
            &self.options,
            &self.issuer,
            port,
        );
        command.args(args).stdin(Stdio::null());
        tokio::process::Command::from(command)
            .output()
            .await
            .unwrap()
    }

    /// The deployment's scratch directory (for files a test hands to the server's tools).
    pub fn deployment_dir(&self) -> &std::path::Path {
        self.deployment.dir.path()
    }

    /// Run a `glassgate` subcommand (e.g. `keys rotate`) against this server's deployment.
    pub async fn command(&self, args: &[&str]) -> std::process::ExitStatus {
        let mut command = Command::new(server_binary(&self.options));
        let port = url::Url::parse(&self.base).unwrap().port().unwrap();
        Self::environment(
            &mut command,
            &self.deployment,
            &self.options,
            &self.issuer,
            port,
        );
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut command = tokio::process::Command::from(command);
        command.status().await.unwrap()
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = reqwest::Client::new();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("server exited with {status}; log:\n{}", self.log_text());
            }
            if let Ok(r) = http.get(self.url("/readyz")).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not become ready; log:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn backend(&self) -> &Backend {
        &self.deployment.backend
    }

    /// An endpoint as the issuer names it (the `aud` of assertions, the `htu` of proofs).
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An HTTP client that does not follow redirects (authorization responses are read).
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// The server's Prometheus metrics, as text.
    pub async fn metrics(&self) -> String {
        self.http()
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// POST a form to `path` and return (status, headers, JSON body or Null).
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: HeaderMap,
    ) -> (u16, HeaderMap, Value) {
        let response = self
            .http()
            .post(self.url(path))
            .headers(headers)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    /// Run one SQL statement directly against the deployment's database (tamper tests):
    /// `sqlite` on SQLite, `postgres` on PostgreSQL.
    pub async fn execute_sql(&self, sqlite: &str, postgres: &str) -> u64 {
        match &self.deployment.database {
            None => {
                let path = self
                    .deployment
                    .dir
                    .path()
                    .join("data")
                    .join("glassgate.sqlite3");
                let mut c =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                sqlx::query(sqlx::AssertSqlSafe(sqlite))
                    .execute(&mut c)
                    .await
                    .unwrap()
                    .rows_affected()
            }
            Some((admin, name)) => {
                let mut c = sqlx::PgConnection::connect(&with_database(admin, name))
                    .await
                    .unwrap();
                sqlx::query(sqlx::AssertSqlSafe(postgres))
                    .execute(&mut c)
                    .await
                    .unwrap()
                    .rows_affected()
            }
        }
    }

    /// Append TOML to the deployment's configuration (takes effect for replicas started next).
    pub fn append_config(&self, toml: &str) {
        let path = self.deployment.dir.path().join("glassgate.toml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(toml);
        std::fs::write(path, text).unwrap();
    }

    /// A scratch directory that lives as long as the deployment.
    pub fn scratch(&self) -> PathBuf {
        let dir = self.deployment.dir.path().join("scratch");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Stop with SIGKILL (no graceful shutdown).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.database.take() {
            glassgate_directory::fixtures::drop_test_database(&admin, &name);
        }
    }
}
