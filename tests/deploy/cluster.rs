//! Scale-out onto a three-node RabbitMQ cluster, the way docs/scale-out.md describes it: the first
//! node boots with deploy/rabbitmq/rabbitmq.conf (definitions at boot, so no default user), the
//! cluster forms, the topology is imported from the generated definitions (three replicas per
//! quorum queue), ariza's user is created with rabbitmqctl. Then two worker processes per stage,
//! on different nodes, run the pipeline; one node is stopped under load (the one leading every
//! queue), and every request must complete exactly once.

use crate::rabbit_cluster::{self, Cluster};
use crate::support::{ScratchDb, TempDir, ariza_bin, read_repo_file, run_ariza, stdout_of, unique};
use ariza_fake_bot_api::FakeBotApi;
use ariza_shared::config::Settings;
use ariza_shared::domain::{
    ApplicationId, ApplicationKind, ClientData, ClientRef, CorrelationId, CreationRequest, CreationSource, Creator, Form,
    Locale, Role, SCHEMA_VERSION,
};
use ariza_workers::broker::{self, Publisher};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

const TOKEN: &str = "4242:cluster-test";
const VHOST: &str = "ariza";
const USER: &str = "ariza";
const CREATOR: i64 = 7001;
/// Requests published before the node stops, while it stops, and once it has stopped.
const BEFORE: u32 = 150;
const DURING: u32 = 150;
const AFTER: u32 = 100;
/// How long the whole load may take to settle.
const PATIENCE: Duration = Duration::from_secs(240);

/// Writes `ariza topology definitions` output for `vhost` (and `prefix`) to a file in `dir`.
fn definitions_file(dir: &std::path::Path, vhost: &str, prefix: &str) -> std::path::PathBuf {
    let out = run_ariza(&["topology", "definitions", "--vhost", vhost, "--prefix", prefix], &[]);
    let path = dir.join(format!("{vhost}.json"));
    std::fs::write(&path, stdout_of("ariza topology definitions", &out)).expect("write definitions");
    path
}

/// Quorum queues of a vhost as `(name, members, leader, online)`.
fn quorum_queues(cluster: &Cluster, node: &str, vhost: &str) -> Vec<(String, Vec<String>, String, Vec<String>)> {
    let rows = cluster.ctl_json(node, &["list_queues", "-p", vhost, "name", "type", "members", "leader", "online"]);
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    };
    rows.as_array()
        .expect("queue rows")
        .iter()
        .filter(|r| r["type"] == "quorum")
        .map(|r| {
            (r["name"].as_str().unwrap_or_default().to_owned(), strings(&r["members"]), r["leader"].as_str().unwrap_or_default().to_owned(), strings(&r["online"]))
        })
        .collect()
}

fn request(n: u32) -> CreationRequest {
    let kind = if n.is_multiple_of(2) { ApplicationKind::Connection } else { ApplicationKind::Technical };
    CreationRequest {
        schema: SCHEMA_VERSION,
        application_id: ApplicationId::new(),
        correlation_id: CorrelationId::new(),
        kind,
        source: CreationSource::Staff,
        creator: Creator { telegram_id: CREATOR, role: Role::Manager },
        client: ClientRef::New(ClientData {
            name: format!("Mijoz {n}"),
            phone: format!("+99890{:07}", n % 10_000_000),
            address: "Toshkent".into(),
            language: None,
        }),
        form: Form {
            address: "Toshkent, Yunusobod 4-12".into(),
            tariff: (kind == ApplicationKind::Connection).then(|| "Optima 50".into()),
            problem: (kind == ApplicationKind::Technical).then(|| "Internet ishlamayapti".into()),
            comment: None,
        },
        submitted_at: chrono::Utc::now(),
    }
}

/// A publisher on one node that reconnects and retries until the broker confirms: while a node
/// stops, the queues elect new leaders and a publish may fail or be refused for a moment. A retried
/// publish may duplicate a message; the pipeline's idempotency must absorb that.
struct RetryingPublisher {
    settings: Settings,
    conn: Option<lapin::Connection>,
    publisher: Option<Publisher>,
    /// Publishes that failed and were tried again.
    retries: u32,
}

impl RetryingPublisher {
    /// Publishes `req`, retrying for up to [`PATIENCE`]; false if no publish was confirmed.
    async fn publish(&mut self, req: &CreationRequest) -> bool {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if self.publisher.as_ref().is_none_or(|p| !p.is_usable())
                && let Ok(conn) = broker::connect(&self.settings.amqp, "cluster-test").await
            {
                self.publisher = Publisher::open(&conn).await.ok();
                self.conn = Some(conn);
            }
            if let Some(publisher) = &self.publisher {
                match ariza_workers::submit::publish_creation(publisher, &self.settings.topology(), req).await {
                    Ok(()) => return true,
                    Err(_) => {
                        self.retries += 1;
                        self.publisher = None;
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn spawn_worker(component: &str, amqp_url: &str, db_url: &str, bot_api: &str, node: usize) -> Child {
    Command::new(ariza_bin())
        .args(["workers", "--stage", component, "--skip-feature-check"])
        .env("ARIZA_CONFIG_DIR", "/nonexistent")
        .env("ARIZA__DATABASE__URL", db_url)
        .env("ARIZA__DATABASE__MAX_CONNECTIONS", "4")
        .env("ARIZA__AMQP__URL", amqp_url)
        .env("ARIZA__AMQP__CONNECTION_NAME", format!("ariza-node{node}"))
        .env("ARIZA__TELEGRAM__API_BASE_URL", bot_api)
        .env("ARIZA__TELEGRAM__TOKEN", TOKEN)
        .env("ARIZA__TELEGRAM__RATE_LIMITS", "false")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("RUST_LOG", std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()))
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() })
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ariza workers")
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

/// Polls until every application is past `new` with all its notifications settled.
async fn wait_settled(pool: &PgPool, apps: &[uuid::Uuid]) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM service_requests r WHERE r.id = ANY($1) AND r.state <> 'new'
               AND EXISTS (SELECT 1 FROM notifications n WHERE n.application_id = r.id)
               AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.application_id = r.id AND n.status = 'pending')",
        )
        .bind(apps)
        .fetch_one(pool)
        .await
        .unwrap_or_default();
        if usize::try_from(done).unwrap_or_default() == apps.len() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "only {done} of {} applications completed", apps.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_a_three_node_cluster_loses_a_node_under_load_and_every_request_completes_once() {
    if std::env::var_os("ARIZA_TEST_SKIP_CLUSTER").is_some() {
        eprintln!("ARIZA_TEST_SKIP_CLUSTER is set: the three-node cluster test does not run");
        return;
    }
    assert!(
        rabbit_cluster::available(),
        "the cluster test starts RabbitMQ nodes on this machine and needs rabbitmq-server and rabbitmqctl \
         (set ARIZA_TEST_SKIP_CLUSTER=1 where RabbitMQ is not installed locally)"
    );

    // The first node boots with the deploy configuration, loading definitions at boot.
    let defs_dir = TempDir::new("cluster-definitions");
    let boot_defs = definitions_file(&defs_dir.0, "ariza-boot", "boot");
    let deploy_conf = read_repo_file("deploy/rabbitmq/rabbitmq.conf")
        .replace("/etc/rabbitmq/definitions.json", boot_defs.to_str().expect("utf-8 path"));
    let mut cluster = Cluster::start(3, &deploy_conf);
    let nodes: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
    let (first, second) = (nodes[0].clone(), nodes[1].clone());

    // Definitions at boot: the topology is there, and there is no default user.
    assert!(!quorum_queues(&cluster, &first, "ariza-boot").is_empty(), "definitions loaded at boot");
    assert_eq!(cluster.ctl_json(&first, &["list_users"]), Value::Array(Vec::new()), "no default user when definitions are loaded");
    let status = cluster.ctl_json(&first, &["cluster_status"]);
    assert_eq!(status["running_nodes"].as_array().map(Vec::len), Some(3), "{status}");

    // The cluster formed: import the topology and create ariza's user, as docs/scale-out.md says.
    let defs = definitions_file(&defs_dir.0, VHOST, "ariza");
    cluster.ctl(&first, &["import_definitions", defs.to_str().expect("utf-8 path")]);
    let password = unique();
    cluster.ctl(&first, &["add_user", USER, &password]);
    cluster.ctl(&first, &["set_permissions", "-p", VHOST, USER, ".*", ".*", ".*"]);
    let topology = Settings::load_from(None, false).expect("base configuration").topology();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while quorum_queues(&cluster, &first, VHOST).len() < topology.queues().len() {
        assert!(std::time::Instant::now() < deadline, "the imported queues did not appear");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Every quorum queue has a replica on each of the three nodes (RabbitMQ 3.10's default
    // quorum_cluster_size is 3), all online, and (declared on the first node) led from there.
    let queues = quorum_queues(&cluster, &first, VHOST);
    for (name, members, leader, online) in &queues {
        assert_eq!(members.len(), 3, "{name} replicas: {members:?}");
        assert_eq!(online.len(), 3, "{name} online: {online:?}");
        assert_eq!(leader, &first, "{name} leader");
    }

    // The pipeline: its own database, a fake Bot API, two processes per component on different nodes.
    let db = ScratchDb::create().await;
    let pool = db.pool().await;
    ariza_workers::db::MIGRATOR.run(&pool).await.expect("migrations");
    ariza_workers::db::staff::upsert(&pool, CREATOR, Role::Manager, Locale::Uz, "Cluster Manager").await.expect("staff");
    let bot = FakeBotApi::start(TOKEN).expect("fake Bot API");
    let urls: Vec<String> = cluster.nodes.iter().map(|n| n.amqp_url(USER, &password, VHOST)).collect();
    let mut workers = Vec::new();
    let components = ["validation", "persistence", "workflow", "notification", "archiver"];
    for (i, component) in components.iter().enumerate() {
        for node in [i % 3, (i + 1) % 3] {
            workers.push(spawn_worker(component, &urls[node], &db.url, bot.base_url(), node + 1));
        }
    }

    // Load through the second node, which stays up.
    let mut settings = Settings::load_from(None, false).expect("base configuration");
    settings.amqp.url = SecretString::from(urls[1].clone());
    let mut publisher = RetryingPublisher { settings, conn: None, publisher: None, retries: 0 };
    let requests: Vec<CreationRequest> = (0..BEFORE + DURING + AFTER).map(request).collect();
    for req in &requests[..BEFORE as usize] {
        assert!(publisher.publish(req).await, "publish {} confirmed", req.application_id);
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while count(&pool, "SELECT count(*) FROM service_requests").await < 30 {
        assert!(tokio::time::Instant::now() < deadline, "the workers made no progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Stop the node that leads every queue, while the second half is being published. Nothing may
    // panic until the stopping thread is joined: it owns the cluster, whose drop stops the nodes.
    let stored_at_stop = count(&pool, "SELECT count(*) FROM notifications WHERE status = 'sent'").await;
    let stopper = std::thread::spawn(move || {
        cluster.stop_node(0);
        cluster
    });
    let mut unconfirmed = Vec::new();
    for req in &requests[BEFORE as usize..(BEFORE + DURING) as usize] {
        if !publisher.publish(req).await {
            unconfirmed.push(req.application_id);
        }
    }
    let cluster = stopper.join().expect("stopping the first node");
    let stored_after_stop = count(&pool, "SELECT count(*) FROM notifications WHERE status = 'sent'").await;
    // The cluster, one node down, takes new work.
    for req in &requests[(BEFORE + DURING) as usize..] {
        assert!(publisher.publish(req).await, "publish {} confirmed with a node down", req.application_id);
    }
    assert!(unconfirmed.is_empty(), "publishes never confirmed while the node stopped: {unconfirmed:?}");

    let apps: Vec<uuid::Uuid> = requests.iter().map(|r| r.application_id.0).collect();
    wait_settled(&pool, &apps).await;

    // The queues lost a replica, kept their quorum, and are led from the nodes still up.
    for (name, members, leader, online) in quorum_queues(&cluster, &second, VHOST) {
        assert_eq!(members.len(), 3, "{name} keeps its membership: {members:?}");
        assert_eq!(online.len(), 2, "{name} online: {online:?}");
        assert_ne!(leader, first, "{name} elected a leader on a running node");
    }

    // Exactly once: one row of each kind per request, nothing pending, nothing dead.
    let n = i64::from(BEFORE + DURING + AFTER);
    assert_eq!(count(&pool, "SELECT count(*) FROM service_requests").await, n);
    assert_eq!(count(&pool, "SELECT count(*) FROM staff_application_audit").await, n);
    assert_eq!(count(&pool, "SELECT count(*) FROM client_selection_data").await, n);
    assert_eq!(count(&pool, "SELECT count(*) FROM workflow_transitions").await, n);
    assert_eq!(count(&pool, "SELECT count(*) FROM clients").await, n);
    // Each application: its client (no chat yet: waiting for a link) and its creator.
    assert_eq!(count(&pool, "SELECT count(*) FROM notifications").await, 2 * n);
    assert_eq!(count(&pool, "SELECT count(*) FROM notifications WHERE status = 'sent'").await, n);
    assert_eq!(count(&pool, "SELECT count(*) FROM notifications WHERE status = 'pending'").await, 0);
    assert_eq!(count(&pool, "SELECT count(*) FROM dead_letters").await, 0);
    let sent = i64::try_from(bot.sent_messages().into_iter().filter(|m| m.chat_id == CREATOR).count()).expect("small");
    assert!(sent >= n, "every creator notification reached the Bot API: {sent}");
    eprintln!(
        "cluster test: {n} requests; {stored_at_stop} completed when the node began to stop, {stored_after_stop} when it had \
         stopped; {} publishes retried; {sent} creator messages reached the Bot API ({} extra)",
        publisher.retries,
        sent - n
    );

    drop(workers);
    pool.close().await;
    drop(cluster);
}
