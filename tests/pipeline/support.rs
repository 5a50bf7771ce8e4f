//! The test harness: each test gets its own database (migrated), its own queue prefix, a fake Bot
//! API on 127.0.0.1, and the pipeline running in-process against the real PostgreSQL and RabbitMQ,
//! with the metrics recorder installed and `/metrics` served on a free port ([`TestEnv::scrape`]).
//! Tests wait for conditions (polling the database with a deadline), never for fixed times.
//!
//! The recorder is per process: metric assertions rely on cargo-nextest running each test in its
//! own process (as scripts/test.sh does).

#![allow(dead_code)]

use anyhow::{Context as _, bail};
use ariza_fake_bot_api::FakeBotApi;
use ariza_shared::config::{LogFormat, Settings};
use ariza_shared::domain::{
    ApplicationId, ApplicationKind, ClientData, ClientRef, CorrelationId, CreationRequest, CreationSource, Creator, Form,
    Locale, Role, SCHEMA_VERSION,
};
use ariza_workers::broker::{self, Publisher, message_properties};
use ariza_workers::db::staff::{self, StaffMember};
use ariza_workers::fault::FaultHook;
use ariza_workers::pipeline::{Component, Pipeline};
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::types::ShortString;
use secrecy::SecretString;
use sqlx::{Connection as _, PgPool};
use std::future::Future;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "4242:test-token";
/// How long any condition may take before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn server_url() -> String {
    std::env::var("ARIZA_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn amqp_url() -> String {
    std::env::var("ARIZA_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            ariza_shared::telemetry::init(&ariza_shared::config::LogSettings { format: LogFormat::Pretty, filter });
        }
    });
}

/// Settings for one test: its own database and prefix, short retry tiers and breaker intervals,
/// the fake Bot API, no rate limits.
pub fn test_settings(db_name: &str, prefix: &str, bot_api: &str) -> Settings {
    let mut s = Settings::load_from(None, false).expect("base configuration");
    s.database.url = SecretString::from(format!("{}/{db_name}", server_url()));
    s.database.max_connections = 8;
    s.database.acquire_timeout_ms = 1000;
    s.amqp.url = SecretString::from(amqp_url());
    s.amqp.prefix = prefix.to_owned();
    s.amqp.prefetch = 32;
    s.amqp.retry_tiers_ms = vec![50, 100, 200];
    s.amqp.max_attempts = 4;
    s.amqp.connection_name = format!("ariza-test-{prefix}");
    s.pipeline.batch_max = 16;
    s.breaker.failure_threshold = 2;
    s.breaker.open_interval_ms = 200;
    s.breaker.max_open_interval_ms = 400;
    s.telegram.api_base_url = bot_api.to_owned();
    s.telegram.token = SecretString::from(TOKEN);
    s.telegram.rate_limits = false;
    s.telegram.request_timeout_ms = 5000;
    s.metrics.queue_poll_interval_ms = 200;
    // Tests that are not about alerts never trip them.
    s.alerts.staff_burst.max = 10_000;
    s.alerts.client_phone_burst.max = 10_000;
    s
}

/// One test's world.
pub struct TestEnv {
    pub settings: Settings,
    pub db_name: String,
    pub pool: PgPool,
    pub bot: FakeBotApi,
    pub pipeline: Pipeline,
    pub publisher: Publisher,
    /// Where this test's `/metrics` is served.
    pub metrics_addr: std::net::SocketAddr,
    conn: lapin::Connection,
    shutdown: CancellationToken,
    workers: Option<JoinHandle<anyhow::Result<()>>>,
    /// Whether [`TestEnv::cleanup`] ran; if not (the test failed first), dropping removes the
    /// test's queues, exchanges and database all the same.
    cleaned: bool,
}

impl TestEnv {
    /// A migrated database, the topology declared, the pipeline running.
    pub async fn start() -> TestEnv {
        Self::build(None, true, |_| {}).await
    }

    /// Like [`start`], with a fault hook in the pipeline.
    pub async fn with_faults(hook: Arc<dyn FaultHook>) -> TestEnv {
        Self::build(Some(hook), true, |_| {}).await
    }

    /// Like [`start`], with the test's settings changed by `configure` first.
    pub async fn with_settings(configure: impl FnOnce(&mut Settings)) -> TestEnv {
        Self::build(None, true, configure).await
    }

    /// Everything but the workers (for tests that run them in another process).
    pub async fn without_workers() -> TestEnv {
        Self::build(None, false, |_| {}).await
    }

    async fn build(hook: Option<Arc<dyn FaultHook>>, run: bool, configure: impl FnOnce(&mut Settings)) -> TestEnv {
        init_logs();
        let (db_name, prefix) = test_names();
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", server_url())).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}"))).execute(&mut admin).await.expect("create database");
        admin.close().await.ok();
        let bot = FakeBotApi::start(TOKEN).expect("fake Bot API");
        let mut settings = test_settings(&db_name, &prefix, bot.base_url());
        configure(&mut settings);
        // Before the pipeline is built: it takes its metric handles then.
        let metrics_addr = ariza_shared::metrics::serve(ariza_shared::metrics::Process::Workers, "127.0.0.1:0", CancellationToken::new())
            .await
            .expect("serve /metrics")
            .expect("a bound metrics address");
        let pool = ariza_workers::db::stage_pool(&settings.database).expect("pool");
        ariza_workers::db::migrate(&pool).await.expect("migrations");
        let mut pipeline = Pipeline::with_pool(settings.clone(), pool.clone()).expect("pipeline");
        if let Some(hook) = hook {
            pipeline = pipeline.with_fault_hook(hook);
        }
        let conn = broker::connect(&settings.amqp, "test").await.expect("connect to RabbitMQ");
        let channel = conn.create_channel().await.expect("channel");
        broker::declare(&channel, &settings.topology()).await.expect("declare topology");
        let publisher = Publisher::open(&conn).await.expect("publisher");
        let mut env = TestEnv {
            settings,
            db_name,
            pool,
            bot,
            pipeline,
            publisher,
            metrics_addr,
            conn,
            shutdown: CancellationToken::new(),
            workers: None,
            cleaned: false,
        };
        if run {
            env.start_workers();
        }
        env
    }

    pub fn start_workers(&mut self) {
        self.shutdown = CancellationToken::new();
        let pipeline = self.pipeline.clone();
        let shutdown = self.shutdown.clone();
        self.workers = Some(tokio::spawn(async move { pipeline.run(&Component::all(), shutdown).await }));
    }

    pub async fn stop_workers(&mut self) {
        self.shutdown.cancel();
        if let Some(workers) = self.workers.take() {
            workers.await.expect("workers task").expect("workers stopped cleanly");
        }
    }

    /// Registers a staff member.
    pub async fn staff(&self, telegram_id: i64, role: Role, lang: Locale) -> StaffMember {
        staff::upsert(&self.pool, telegram_id, role, lang, &format!("{role} {telegram_id}")).await.expect("staff")
    }

    /// Registers a client directly (as an earlier application would have).
    pub async fn client(&self, name: &str, phone: &str, chat: Option<i64>, lang: Locale) -> i64 {
        sqlx::query_scalar("INSERT INTO clients (full_name, phone, address, telegram_chat_id, language) VALUES ($1, $2, 'Toshkent', $3, $4) RETURNING id")
            .bind(name)
            .bind(phone)
            .bind(chat)
            .bind(lang.as_str())
            .fetch_one(&self.pool)
            .await
            .expect("client")
    }

    /// Publishes a creation request the way the bot does.
    pub async fn submit(&self, req: &CreationRequest) {
        ariza_workers::submit::publish_creation(&self.publisher, &self.settings.topology(), req).await.expect("publish");
    }

    /// Publishes any body to a stage's queue.
    pub async fn publish_raw(&self, stage: ariza_shared::topology::Stage, body: &[u8], application_id: Option<&str>) {
        let props = message_properties(&uuid::Uuid::new_v4().to_string(), application_id, 1);
        self.publisher
            .publish(&self.settings.topology().work_exchange(), stage.as_str(), body, props)
            .await
            .expect("publish raw");
    }

    /// Messages ready in a stage's queue (a passive declare: nothing is consumed).
    pub async fn queue_depth(&self, stage: ariza_shared::topology::Stage) -> u32 {
        let channel = self.conn.create_channel().await.expect("channel");
        let queue = channel
            .queue_declare(
                ShortString::from(self.settings.topology().queue(stage).as_str()),
                lapin::options::QueueDeclareOptions { passive: true, ..Default::default() },
                lapin::types::FieldTable::default(),
            )
            .await
            .expect("passive declare");
        channel.close(200, ShortString::from("done")).await.ok();
        queue.message_count()
    }

    /// Scrapes this test's `/metrics` over HTTP.
    pub async fn scrape(&self) -> Scrape {
        let url = format!("http://{}/metrics", self.metrics_addr);
        let response = reqwest::Client::builder().no_proxy().build().expect("client").get(&url).send().await.expect("GET /metrics");
        assert!(response.status().is_success(), "GET /metrics: {}", response.status());
        Scrape(response.text().await.expect("metrics text"))
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.expect(sql)
    }

    pub async fn count_for(&self, sql: &'static str, app: ApplicationId) -> i64 {
        sqlx::query_scalar(sql).bind(app.0).fetch_one(&self.pool).await.expect(sql)
    }

    /// Waits until every application in `apps` has all its notifications settled (sent or waiting
    /// for a link) and none pending.
    pub async fn wait_notified(&self, apps: &[ApplicationId]) {
        let ids: Vec<uuid::Uuid> = apps.iter().map(|a| a.0).collect();
        let n = ids.len();
        wait_until(&format!("{n} applications notified"), || {
            let ids = ids.clone();
            async move {
                let done: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM service_requests r WHERE r.id = ANY($1) AND r.state <> 'new'
                       AND EXISTS (SELECT 1 FROM notifications n WHERE n.application_id = r.id)
                       AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.application_id = r.id AND n.status = 'pending')",
                )
                .bind(&ids)
                .fetch_one(&self.pool)
                .await
                .unwrap_or_default();
                usize::try_from(done).unwrap_or_default() == n
            }
        })
        .await;
    }

    /// Waits for `n` dead letters in the table.
    pub async fn wait_dead_letters(&self, n: i64) {
        wait_until(&format!("{n} dead letters archived"), || async {
            self.count("SELECT count(*) FROM dead_letters").await >= n
        })
        .await;
    }

    /// Stops the workers, removes this test's queues and exchanges, and drops its database.
    pub async fn cleanup(mut self) {
        self.stop_workers().await;
        self.pool.close().await;
        self.conn.close(200, ShortString::from("test done")).await.ok();
        if !remove(&self.settings, &self.db_name).await {
            eprintln!("could not remove all the queues, exchanges and database of test {}", self.db_name);
        }
        self.cleaned = true;
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        // The test failed before its clean-up (a panic unwinds through here): remove what it made
        // on the shared servers all the same, from a thread with its own runtime, as the test's
        // runtime may be shutting down. Its workers die with that runtime.
        remove_from_another_thread(&self.settings, &self.db_name);
    }
}

/// A new test's database name and queue prefix, unique to it. The test command's sweep finds
/// what a killed test left by these forms.
pub fn test_names() -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    (format!("ariza_test_{}", &id[..16]), format!("t{}", &id[..12]))
}

/// [`remove`] from a thread with its own runtime, for a `Drop` that may run while the test's
/// runtime shuts down (a panic unwinding). Says on stderr when not all of it went.
pub fn remove_from_another_thread(settings: &Settings, db_name: &str) {
    let (settings, owned_name) = (settings.clone(), db_name.to_owned());
    let removed = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        Some(runtime.block_on(remove(&settings, &owned_name)))
    })
    .join();
    if !matches!(removed, Ok(Some(true))) {
        eprintln!("could not remove all the queues, exchanges and database of the failed test {db_name}");
    }
}

/// Deletes a test's queues and exchanges and drops its database (ending its sessions); whether
/// all of it went. The queues go through a connection of their own: the test's may have died
/// with the broker (the restart test), and then its queues would stay.
pub async fn remove(settings: &Settings, db_name: &str) -> bool {
    let mut removed = true;
    let topology = settings.topology();
    match broker::connect(&settings.amqp, "test-cleanup").await {
        Ok(conn) => {
            match conn.create_channel().await {
                Ok(channel) => {
                    for q in topology.queues() {
                        let deleted = channel.queue_delete(ShortString::from(q.name.as_str()), QueueDeleteOptions::default()).await;
                        removed &= deleted.is_ok();
                    }
                    for e in topology.exchanges() {
                        let deleted =
                            channel.exchange_delete(ShortString::from(e.name.as_str()), ExchangeDeleteOptions::default()).await;
                        removed &= deleted.is_ok();
                    }
                }
                Err(_) => removed = false,
            }
            conn.close(200, ShortString::from("test cleaned up")).await.ok();
        }
        Err(_) => removed = false,
    }
    match sqlx::PgConnection::connect(&format!("{}/postgres", server_url())).await {
        Ok(mut admin) => {
            let dropped = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")))
                .execute(&mut admin)
                .await;
            removed &= dropped.is_ok();
            admin.close().await.ok();
        }
        Err(_) => removed = false,
    }
    removed
}

/// Polls `condition` until it holds, failing the test after [`PATIENCE`].
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A valid creation request for a new client.
pub fn request(kind: ApplicationKind, creator: i64, role: Role, client: ClientRef) -> CreationRequest {
    CreationRequest {
        schema: SCHEMA_VERSION,
        application_id: ApplicationId::new(),
        correlation_id: CorrelationId::new(),
        kind,
        source: if role == Role::Client { CreationSource::Client } else { CreationSource::Staff },
        creator: Creator { telegram_id: creator, role },
        client,
        form: Form {
            address: "Toshkent, Yunusobod 4-12".into(),
            tariff: (kind == ApplicationKind::Connection).then(|| "Optima 50".into()),
            problem: (kind == ApplicationKind::Technical).then(|| "Internet ishlamayapti".into()),
            comment: Some("Qo'ng'iroq qiling".into()),
        },
        submitted_at: chrono::Utc::now(),
    }
}

/// A new client with a distinct phone number derived from `n`.
pub fn new_client(n: u32) -> ClientRef {
    ClientRef::New(ClientData {
        name: format!("Mijoz {n}"),
        phone: format!("+99890{:07}", n % 10_000_000),
        address: "Toshkent".into(),
        language: None,
    })
}

/// The `ariza` binary built by cargo for this package's tests.
pub fn ariza_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ariza")
}

/// Environment for an `ariza` child process that uses this test's settings.
pub fn child_env(env: &TestEnv) -> Vec<(String, String)> {
    use secrecy::ExposeSecret as _;
    let s = &env.settings;
    vec![
        ("ARIZA__DATABASE__URL".into(), s.database.url.expose_secret().to_owned()),
        ("ARIZA__AMQP__URL".into(), s.amqp.url.expose_secret().to_owned()),
        ("ARIZA__AMQP__PREFIX".into(), s.amqp.prefix.clone()),
        ("ARIZA__AMQP__PREFETCH".into(), s.amqp.prefetch.to_string()),
        ("ARIZA__AMQP__RETRY_TIERS_MS".into(), "50,100,200".into()),
        ("ARIZA__AMQP__MAX_ATTEMPTS".into(), s.amqp.max_attempts.to_string()),
        ("ARIZA__TELEGRAM__API_BASE_URL".into(), s.telegram.api_base_url.clone()),
        ("ARIZA__TELEGRAM__TOKEN".into(), TOKEN.into()),
        ("ARIZA__TELEGRAM__RATE_LIMITS".into(), "false".into()),
        ("ARIZA_CONFIG_DIR".into(), "/nonexistent".into()),
        ("NO_PROXY".into(), "127.0.0.1,localhost".into()),
        ("RUST_LOG".into(), std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into())),
        // Several worker processes on one host: none serves /metrics, none trips the alerts.
        ("ARIZA__METRICS__WORKERS_LISTEN".into(), String::new()),
        ("ARIZA__ALERTS__STAFF_BURST__MAX".into(), "10000".into()),
        ("ARIZA__ALERTS__CLIENT_PHONE_BURST__MAX".into(), "10000".into()),
    ]
}

/// Fails with the context of a child process's output.
pub fn check_output(out: &std::process::Output) -> anyhow::Result<String> {
    if !out.status.success() {
        bail!("exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8(out.stdout.clone()).context("utf-8")
}

/// A scrape of `/metrics` in the Prometheus text format.
#[derive(Debug, Clone)]
pub struct Scrape(pub String);

impl Scrape {
    /// The series of `name` as (labels, value).
    pub fn series(&self, name: &str) -> Vec<(Vec<(String, String)>, f64)> {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (metric, labels) = match series.split_once('{') {
                    Some((m, rest)) => (m, rest.strip_suffix('}')?),
                    None => (series, ""),
                };
                if metric != name {
                    return None;
                }
                let labels = labels
                    .split("\",")
                    .filter(|l| !l.is_empty())
                    .filter_map(|l| {
                        let (k, v) = l.split_once("=\"")?;
                        Some((k.to_owned(), v.trim_end_matches('"').to_owned()))
                    })
                    .collect();
                Some((labels, value.parse().ok()?))
            })
            .collect()
    }

    /// The sum of the series of `name` whose labels include all of `labels`; 0 when none does.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.series(name)
            .into_iter()
            .filter(|(have, _)| labels.iter().all(|(k, v)| have.iter().any(|(hk, hv)| hk == k && hv == v)))
            .map(|(_, v)| v)
            .sum()
    }

    /// Whether any series of `name` is present.
    pub fn has(&self, name: &str) -> bool {
        !self.series(name).is_empty()
    }
}
