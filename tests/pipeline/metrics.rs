//! The metrics, scraped from `/metrics` of the in-process pipeline after real traffic: each counter
//! moves by exactly what happened (messages processed per stage, a transient failure retried in
//! its tier, a poisoned message dead-lettered and archived with its reason, Telegram's answers),
//! the queues' depths and consumers are reported, and an open breaker shows.

use crate::support::{Scrape, TestEnv, new_client, request, server_url, wait_until};
use ariza_fake_bot_api::ScriptedResponse;
use ariza_shared::domain::{ApplicationKind, Locale, Role};
use ariza_shared::metrics::{CATALOGUE, Kind};
use ariza_shared::topology::Stage;
use ariza_workers::fault::FaultHook;
use ariza_workers::pipeline::Component;
use sqlx::Connection as _;
use std::sync::{Arc, Mutex};

/// Fails the workflow stage once for one application, transiently.
#[derive(Debug, Default)]
struct FailWorkflowOnce {
    application_id: Mutex<Option<String>>,
}

impl FaultHook for FailWorkflowOnce {
    fn before_process(&self, stage: Stage, application_id: Option<&str>) -> Option<String> {
        let mut target = self.application_id.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if stage == Stage::Workflow && target.is_some() && target.as_deref() == application_id {
            *target = None;
            return Some("injected transient failure".into());
        }
        None
    }
}

const STAGES: [&str; 4] = ["validation", "persistence", "workflow", "notification"];

#[tokio::test]
async fn counters_move_by_exactly_the_traffic_the_pipeline_saw() {
    let hook = Arc::new(FailWorkflowOnce::default());
    let env = TestEnv::with_faults(hook.clone()).await;
    env.staff(40, Role::Manager, Locale::Uz).await;
    env.staff(41, Role::Manager, Locale::Ru).await;
    let before = env.scrape().await;

    let requests: Vec<_> = (0..6).map(|i| request(ApplicationKind::Connection, 40, Role::Manager, new_client(400 + i))).collect();
    *hook.application_id.lock().expect("hook") = Some(requests[2].application_id.to_string());
    // Telegram answers the first send with a 429 asking for a one-second pause.
    env.bot.push_response("sendMessage", ScriptedResponse::too_many_requests(1));
    for req in &requests {
        env.submit(req).await;
    }
    // A poisoned message: not JSON, straight to the persistence stage.
    env.publish_raw(Stage::Persistence, b"{ this is not json", None).await;

    let ids: Vec<_> = requests.iter().map(|r| r.application_id).collect();
    env.wait_notified(&ids).await;
    env.wait_dead_letters(1).await;
    // The archiver counts after its ack; the workflow stage after its ack: wait for the counters.
    wait_until("the archiver and the last stage counted", || async {
        let s = env.scrape().await;
        s.value("ariza_dead_letters_archived_total", &[]) >= 1.0
            && s.value("ariza_stage_processed_total", &[("stage", "notification")]) >= 6.0
    })
    .await;
    let after = env.scrape().await;
    let delta = |name: &str, labels: &[(&str, &str)]| after.value(name, labels) - before.value(name, labels);

    // Six applications went through every stage; the workflow makes one notification batch each.
    for stage in STAGES {
        assert_eq!(delta("ariza_stage_processed_total", &[("stage", stage)]), 6.0, "{stage} processed");
        // Persistence also settled the poisoned message, workflow the failed attempt.
        let settled = if matches!(stage, "persistence" | "workflow") { 7.0 } else { 6.0 };
        assert_eq!(delta("ariza_stage_processing_seconds_count", &[("stage", stage)]), settled, "{stage}: one sample per settled message");
        assert_eq!(delta("ariza_stage_batch_size_sum", &[("stage", stage)]), settled, "{stage}: every delivery was in a batch");
    }
    assert_eq!(delta("ariza_end_to_end_seconds_count", &[("stage", "notification")]), 6.0, "end to end, from submission");
    assert!(after.value("ariza_end_to_end_seconds_sum", &[("stage", "notification")]) > 0.0);
    assert_eq!(delta("ariza_creation_publishes_total", &[("outcome", "confirmed")]), 6.0);

    // The injected failure: one transient failure in workflow, retried through the first tier.
    assert_eq!(delta("ariza_stage_failed_total", &[("stage", "workflow"), ("kind", "transient")]), 1.0);
    assert_eq!(delta("ariza_stage_retried_total", &[("stage", "workflow"), ("tier_ms", "50")]), 1.0);
    assert_eq!(delta("ariza_stage_retried_total", &[]), 1.0, "nothing else was retried");

    // The poisoned message: dead-lettered by persistence as malformed, archived with its reason.
    assert_eq!(delta("ariza_stage_dead_lettered_total", &[("stage", "persistence"), ("reason", "malformed")]), 1.0);
    assert_eq!(delta("ariza_stage_dead_lettered_total", &[]), 1.0, "nothing else was dead-lettered");
    assert_eq!(delta("ariza_stage_failed_total", &[("stage", "persistence"), ("kind", "permanent")]), 1.0);
    assert_eq!(delta("ariza_dead_letters_archived_total", &[("stage", "persistence"), ("reason", "malformed")]), 1.0);
    assert_eq!(delta("ariza_dead_letters_archived_total", &[]), 1.0);

    // Telegram: every message sent is counted, and the 429 with its pause.
    let sent = env.count("SELECT count(*) FROM notifications WHERE status = 'sent'").await;
    assert!(sent >= 6, "at least the creator's confirmation of each application: {sent}");
    #[allow(clippy::cast_precision_loss)]
    let sent = sent as f64;
    assert_eq!(delta("ariza_notification_sends_total", &[("outcome", "sent")]), sent);
    assert_eq!(delta("ariza_notification_sends_total", &[("outcome", "rate_limited")]), 1.0);
    assert_eq!(delta("ariza_telegram_pause_seconds_total", &[]), 1.0);
    assert_eq!(delta("ariza_telegram_request_seconds_count", &[]), sent + 1.0);
    assert_eq!(delta("ariza_stage_requeued_total", &[]), 0.0);

    // Labels stay within their closed sets: no queue name, id or error text becomes a label value.
    for (labels, _) in after.series("ariza_stage_dead_lettered_total") {
        for (k, v) in labels {
            assert!(matches!(k.as_str(), "stage" | "reason"), "{k}");
            assert!(v.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{v}");
        }
    }
    env.cleanup().await;
}

#[tokio::test]
async fn queue_depth_and_consumers_are_read_from_the_broker() {
    let env = TestEnv::without_workers().await;
    env.staff(50, Role::Manager, Locale::Uz).await;
    for i in 0..3 {
        env.submit(&request(ApplicationKind::Connection, 50, Role::Manager, new_client(500 + i))).await;
    }
    // Only the queue metrics run: the three requests wait in the validation queue, unconsumed.
    let pipeline = env.pipeline.clone();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    let monitor = tokio::spawn(async move { pipeline.run(&[Component::QueueMetrics], stop).await });
    let validation = env.settings.topology().queue(Stage::Validation);
    wait_until("the validation queue's depth is reported", || async {
        env.scrape().await.value("ariza_queue_messages", &[("queue", validation.as_str())]) == 3.0
    })
    .await;
    let scrape = env.scrape().await;
    assert_eq!(scrape.value("ariza_queue_messages", &[("stage", "validation"), ("kind", "work")]), 3.0);
    assert_eq!(scrape.value("ariza_queue_consumers", &[("queue", validation.as_str())]), 0.0, "no consumer yet");
    let queues = env.settings.topology().queues().len();
    assert_eq!(scrape.series("ariza_queue_messages").len(), queues, "every queue of the topology is reported");
    assert_eq!(scrape.series("ariza_queue_messages").iter().filter(|(l, _)| l.contains(&("kind".into(), "retry".into()))).count(), 4 * 3);

    // With the stages running, the queue drains and has its consumer.
    let mut env = env;
    env.start_workers();
    wait_until("the validation queue is consumed and drained", || async {
        let s = env.scrape().await;
        s.value("ariza_queue_consumers", &[("queue", validation.as_str())]) >= 1.0
            && s.value("ariza_queue_messages", &[("queue", validation.as_str())]) == 0.0
    })
    .await;
    shutdown.cancel();
    monitor.await.expect("monitor task").expect("monitor stopped cleanly");
    env.cleanup().await;
}

#[tokio::test]
async fn an_open_breaker_shows_in_the_metrics_until_its_dependency_is_back() {
    let env = TestEnv::start().await;
    env.staff(60, Role::Manager, Locale::Uz).await;
    let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", server_url())).await.expect("admin connection");
    let validation = [("component", "validation")];
    assert_eq!(env.scrape().await.value("ariza_breaker_open", &validation), 0.0);

    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", env.db_name))).execute(&mut admin).await.expect("alter");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
        .bind(&env.db_name)
        .execute(&mut admin)
        .await
        .expect("terminate");
    let req = request(ApplicationKind::Connection, 60, Role::Manager, new_client(600));
    env.submit(&req).await;
    wait_until("the validation breaker is reported open after a failed probe", || async {
        let s = env.scrape().await;
        s.value("ariza_breaker_open", &validation) == 1.0
            && s.value("ariza_breaker_probes_total", &[("component", "validation"), ("result", "unhealthy")]) >= 1.0
    })
    .await;
    let open = env.scrape().await;
    assert!(open.value("ariza_breaker_opened_total", &validation) >= 1.0);
    assert!(open.value("ariza_stage_requeued_total", &[("stage", "validation"), ("cause", "unavailable")]) >= 1.0);

    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", env.db_name))).execute(&mut admin).await.expect("alter");
    env.wait_notified(&[req.application_id]).await;
    let closed = env.scrape().await;
    assert_eq!(closed.value("ariza_breaker_open", &validation), 0.0);
    assert!(closed.value("ariza_breaker_probes_total", &[("component", "validation"), ("result", "healthy")]) >= 1.0);
    assert_eq!(closed.value("ariza_stage_dead_lettered_total", &[]), 0.0, "an outage dead-letters nothing");
    env.cleanup().await;
}

#[tokio::test]
async fn every_metric_of_the_catalogue_is_exported_by_a_running_pipeline() {
    let env = TestEnv::start().await;
    env.staff(70, Role::Controller, Locale::Ru).await;
    let req = request(ApplicationKind::Technical, 70, Role::Controller, new_client(700));
    env.submit(&req).await;
    env.wait_notified(&[req.application_id]).await;
    wait_until("queue depths are polled", || async { env.scrape().await.has("ariza_queue_messages") }).await;
    let scrape: Scrape = env.scrape().await;
    // The bot's own metrics are checked by the bot's tests.
    for metric in CATALOGUE.iter().filter(|m| !ariza_shared::metrics::catalogue::BOT_ONLY.contains(&m.name)) {
        let series = match metric.kind {
            Kind::Histogram => format!("{}_count", metric.name),
            Kind::Counter | Kind::Gauge => metric.name.to_owned(),
        };
        assert!(scrape.has(&series), "{} is in the catalogue but not exported:\n{}", metric.name, scrape.0);
        assert!(scrape.0.contains(&format!("# HELP {} ", metric.name)), "{} has no HELP line", metric.name);
        for (labels, _) in scrape.series(&series) {
            for (k, _) in &labels {
                assert!(metric.labels.contains(&k.as_str()) || k == "le", "{}: undeclared label {k}", metric.name);
            }
        }
    }
    env.cleanup().await;
}
