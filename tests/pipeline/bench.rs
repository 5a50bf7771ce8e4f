//! `ariza bench`, run as an operator runs it, on a small count: every request it publishes becomes
//! a stored, routed and notified application, its report is one JSON object on the last line of
//! stdout, a second run starts again from an empty database, and the run leaves no queue or
//! exchange of its prefix behind. Nothing here asserts a time: the figures are only checked to be
//! there and consistent with each other.

use crate::support::{amqp_url, ariza_bin, remove, remove_from_another_thread, server_url, test_names, test_settings};
use ariza_shared::config::Settings;
use lapin::options::{ExchangeDeclareOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::ExchangeKind;
use serde_json::Value;
use sqlx::Connection as _;
use tokio::process::Command;

/// The benchmark's database and queue prefix for one test, named like every test's (so that the
/// test command's sweep finds them after a killed run), removed when the test ends, failed or not.
struct Names {
    db: String,
    prefix: String,
    /// The benchmark's topology under `prefix`, to check and remove.
    settings: Settings,
    removed: bool,
}

impl Names {
    fn new() -> Self {
        let (db, prefix) = test_names();
        let settings = test_settings(&db, &prefix, "http://127.0.0.1:9");
        Self { db, prefix, settings, removed: false }
    }

    async fn remove(mut self) {
        assert!(remove(&self.settings, &self.db).await, "removing the benchmark's database and topology");
        self.removed = true;
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        if !self.removed {
            remove_from_another_thread(&self.settings, &self.db);
        }
    }
}

/// Runs `ariza bench` with `args` on `names` (on `database` instead of its database when given);
/// its exit, stderr and the last line of stdout.
async fn bench(names: &Names, database: Option<&str>, args: &[&str]) -> (std::process::ExitStatus, String, String) {
    let database = database.unwrap_or(&names.db);
    let out = Command::new(ariza_bin())
        .arg("bench")
        .args(["--database", database, "--prefix", &names.prefix, "--poll-ms", "10", "--timeout-secs", "120"])
        .args(args)
        // The configured database is another one: the benchmark refuses to drop the configured one.
        .env("ARIZA__DATABASE__URL", format!("{}/postgres", server_url()))
        .env("ARIZA__AMQP__URL", amqp_url())
        .env("ARIZA_CONFIG_DIR", "/nonexistent")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run ariza bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default().to_owned();
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned(), last)
}

/// The report of a run that passed.
async fn passing_report(names: &Names, args: &[&str]) -> Value {
    let (status, stderr, last) = bench(names, None, args).await;
    assert!(status.success(), "ariza bench {args:?} failed: {stderr}\n{last}");
    serde_json::from_str(&last).unwrap_or_else(|e| panic!("the last line is not the JSON report ({e}): {last}\n{stderr}"))
}

fn number(report: &Value, field: &str) -> f64 {
    report[field].as_f64().unwrap_or_else(|| panic!("{field} is not a number in {report}"))
}

/// What the benchmark's database holds: applications, those routed, audit rows, notifications
/// and those not final.
async fn stored(names: &Names) -> (i64, i64, i64, i64, i64) {
    let mut conn = sqlx::PgConnection::connect(&format!("{}/{}", server_url(), names.db)).await.expect("the benchmark's database");
    let counts = sqlx::query_as(
        "SELECT (SELECT count(*) FROM service_requests),
                (SELECT count(*) FROM service_requests WHERE state <> 'new'),
                (SELECT count(*) FROM staff_application_audit),
                (SELECT count(*) FROM notifications),
                (SELECT count(*) FROM notifications WHERE status NOT IN ('sent', 'waiting_link'))",
    )
    .fetch_one(&mut conn)
    .await
    .expect("counts");
    conn.close().await.ok();
    counts
}

/// Whether any queue or exchange of the benchmark's topology exists (a passive declare of each).
async fn topology_left(names: &Names) -> Vec<String> {
    let conn = ariza_workers::broker::connect(&names.settings.amqp, "test-bench-check").await.expect("connect to RabbitMQ");
    let topology = names.settings.topology();
    let mut left = Vec::new();
    for queue in topology.queues() {
        let channel = conn.create_channel().await.expect("channel");
        let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
        if channel.queue_declare(ShortString::from(queue.name.as_str()), passive, FieldTable::default()).await.is_ok() {
            left.push(format!("queue {}", queue.name));
            channel.close(200, ShortString::from("checked")).await.ok();
        }
    }
    for exchange in topology.exchanges() {
        let channel = conn.create_channel().await.expect("channel");
        let passive = ExchangeDeclareOptions { passive: true, ..ExchangeDeclareOptions::default() };
        let name = ShortString::from(exchange.name.as_str());
        if channel.exchange_declare(name, ExchangeKind::Direct, passive, FieldTable::default()).await.is_ok() {
            left.push(format!("exchange {}", exchange.name));
            channel.close(200, ShortString::from("checked")).await.ok();
        }
    }
    conn.close(200, ShortString::from("checked")).await.ok();
    left
}

#[tokio::test]
async fn bench_measures_real_work_reports_json_and_cleans_up_after_itself() {
    let names = Names::new();

    // A backlog: 40 measured requests after 8 warm-up ones.
    let report = passing_report(&names, &["--count", "40", "--warmup", "8"]).await;
    assert_eq!(report["n"], 40, "{report}");
    assert_eq!(report["warmup"], 8, "{report}");
    assert_eq!(report["mode"], "backlog", "{report}");
    assert_eq!(report["completed"], 40, "{report}");
    assert_eq!(report["dead_letters"], 0, "{report}");
    assert_eq!(report["error_count"], 0, "{report}");
    assert_eq!(report["errors"], Value::Array(Vec::new()), "{report}");
    assert_eq!((report["database"].as_str(), report["prefix"].as_str()), (Some(names.db.as_str()), Some(names.prefix.as_str())));
    for field in ["seconds", "apps_per_s", "p50_ms", "p99_ms", "max_ms", "peak_rss_mb"] {
        assert!(number(&report, field) > 0.0, "{field} in {report}");
    }
    assert!(number(&report, "p50_ms") <= number(&report, "p99_ms") && number(&report, "p99_ms") <= number(&report, "max_ms"), "{report}");
    // Every application tells its creator, and the participants or its client hear of it too:
    // more sends than applications, and the fake Bot API received each one the database records.
    let sent = number(&report, "notifications_sent");
    assert!(sent > 40.0, "{report}");
    assert!(number(&report, "fake_sent") >= sent, "the warm-up's sends come on top: {report}");
    let (apps, routed, audited, notifications, unfinished) = stored(&names).await;
    assert_eq!((apps, routed, audited), (48, 48, 48), "every request stored, routed and audited once");
    assert!(notifications > 48 && unfinished == 0, "{notifications} notifications, {unfinished} not final");
    assert_eq!(topology_left(&names).await, Vec::<String>::new(), "the run deleted its queues and exchanges");

    // At a steady rate, on the same names: the run starts again from an empty database.
    let report = passing_report(&names, &["--count", "20", "--warmup", "4", "--rate", "40"]).await;
    assert_eq!(report["mode"], "rate", "{report}");
    assert_eq!(report["rate"], 40.0, "{report}");
    assert_eq!(report["completed"], 20, "{report}");
    assert_eq!(report["error_count"], 0, "{report}");
    assert!(number(&report, "publish_per_s") > 0.0 && number(&report, "max_schedule_lag_ms") >= 0.0, "{report}");
    let (apps, routed, audited, _, unfinished) = stored(&names).await;
    assert_eq!((apps, routed, audited, unfinished), (24, 24, 24, 0), "only this run's requests: the database was made anew");
    assert_eq!(topology_left(&names).await, Vec::<String>::new());

    // Bad arguments are refused before anything is made: a rate that is no rate, and the
    // configured database (which the benchmark would drop).
    for (database, args, expected) in [
        (None, &["--count", "5", "--rate", "0"][..], "--rate must be a positive number"),
        (Some("postgres"), &["--count", "5"][..], "is the configured database"),
    ] {
        let (status, stderr, _) = bench(&names, database, args).await;
        assert!(!status.success(), "{args:?} was accepted");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr}");
    }
    names.remove().await;
}
