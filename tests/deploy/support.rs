//! What the deploy tests share: where the servers are, a scratch database that is dropped even
//! when the test fails, the repository's files, and running `ariza` and `rabbitmqctl`.

#![allow(dead_code)]

use sqlx::{Connection as _, PgPool};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// How long any condition may take before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The PostgreSQL server (no database name).
pub fn server_url() -> String {
    std::env::var("ARIZA_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The shared broker.
pub fn amqp_url() -> String {
    std::env::var("ARIZA_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A file of the repository.
pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A file of the repository, as text.
pub fn read_repo_file(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The `ariza` binary cargo built for these tests.
pub fn ariza_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ariza")
}

/// Runs `ariza` with only the given `ARIZA...` variables (no overlay file from the working
/// directory), and returns its output.
pub fn run_ariza(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(ariza_bin());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ARIZA") {
            command.env_remove(key);
        }
    }
    command
        .args(args)
        .env("ARIZA_CONFIG_DIR", "/nonexistent")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("running ariza")
}

/// The standard output of a command that must succeed.
pub fn stdout_of(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

/// `rabbitmqctl ARGS` against the shared broker; panics with its error output if it fails.
pub fn rabbitmqctl(args: &[&str]) -> String {
    let out = std::process::Command::new("rabbitmqctl").args(args).output().expect("running rabbitmqctl");
    stdout_of(&format!("rabbitmqctl {}", args.join(" ")), &out)
}

/// A short random name part.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A database of its own for one test, dropped (with its connections) when this is dropped,
/// also when the test fails.
pub struct ScratchDb {
    pub name: String,
    pub url: String,
}

impl ScratchDb {
    pub async fn create() -> ScratchDb {
        let name = format!("ariza_deploy_{}", unique());
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", server_url())).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.expect("create database");
        admin.close().await.ok();
        let url = format!("{}/{name}", server_url());
        ScratchDb { name, url }
    }

    pub async fn pool(&self) -> PgPool {
        sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(&self.url).await.expect("connect to the scratch database")
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        // Drop runs outside any runtime guarantee (maybe during a panic): a thread with its own
        // runtime does the async drop.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", server_url())).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut admin)
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop the scratch database {}", self.name);
        }
    }
}

/// Polls `condition` until it holds, failing the test after [`PATIENCE`].
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A temporary directory, removed with what it holds when this is dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ariza-{what}-{}", unique()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}
