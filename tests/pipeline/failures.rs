//! Failures the pipeline must survive: a crash between commit and ack, a database that refuses
//! connections, and the Bot API answering 429, 500 and 403.

use crate::support::{TestEnv, new_client, request, server_url, wait_until};
use ariza_fake_bot_api::ScriptedResponse;
use ariza_shared::domain::{
    ApplicationKind, CorrelationId, Locale, NotificationBatch, NotificationRequest, Recipient, Role, SCHEMA_VERSION,
};
use ariza_shared::topology::Stage;
use ariza_workers::fault::{FaultAction, FaultHook};
use futures::future::join_all;
use ariza_workers::pipeline::Component;
use sqlx::Connection as _;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Crashes each stage once, after it committed its effect and before it acked.
#[derive(Debug, Default)]
struct CrashOncePerStage {
    crashed: Mutex<HashSet<Stage>>,
}

impl FaultHook for CrashOncePerStage {
    fn after_commit(&self, stage: Stage, _app: Option<&str>) -> FaultAction {
        let mut crashed = self.crashed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if crashed.insert(stage) { FaultAction::Crash } else { FaultAction::Continue }
    }
}

#[tokio::test]
async fn a_redelivery_after_commit_creates_nothing_twice_and_still_reaches_notification() {
    let hook = Arc::new(CrashOncePerStage::default());
    let env = TestEnv::with_faults(hook.clone()).await;
    env.staff(10, Role::Manager, Locale::Uz).await;
    env.staff(11, Role::Manager, Locale::Ru).await;
    let client = env.client("Kamola", "+998977771122", Some(5555), Locale::Uz).await;
    let req = request(ApplicationKind::Connection, 10, Role::Manager, ariza_shared::domain::ClientRef::Existing { client_id: client, update: None });
    env.submit(&req).await;
    env.wait_notified(&[req.application_id]).await;
    wait_until("every stage crashed once", || async { hook.crashed.lock().map(|c| c.len()).unwrap_or_default() == 4 }).await;

    let id = req.application_id;
    assert_eq!(env.count_for("SELECT count(*) FROM service_requests WHERE id = $1", id).await, 1);
    assert_eq!(env.count_for("SELECT count(*) FROM staff_application_audit WHERE application_id = $1", id).await, 1);
    assert_eq!(env.count_for("SELECT count(*) FROM client_selection_data WHERE application_id = $1", id).await, 1);
    assert_eq!(env.count_for("SELECT count(*) FROM workflow_transitions WHERE application_id = $1", id).await, 1);
    assert_eq!(env.count_for("SELECT count(*) FROM notifications WHERE application_id = $1 AND status = 'sent'", id).await, 3);
    // Client, creator and the other manager: one message each, however often the stages ran.
    let sent = env.bot.sent_messages();
    for chat in [5555, 10, 11] {
        assert_eq!(sent.iter().filter(|m| m.chat_id == chat).count(), 1, "chat {chat}: {sent:?}");
    }
    assert_eq!(env.count("SELECT count(*) FROM dead_letters").await, 0);
    env.cleanup().await;
}

#[tokio::test]
async fn a_request_delivered_several_times_at_once_is_routed_and_notified_once() {
    let env = TestEnv::start().await;
    env.staff(20, Role::Manager, Locale::Uz).await;
    env.staff(21, Role::Manager, Locale::Ru).await;
    let client = env.client("Dilshod", "+998977771133", Some(6666), Locale::Uz).await;
    let req = request(ApplicationKind::Connection, 20, Role::Manager, ariza_shared::domain::ClientRef::Existing { client_id: client, update: None });
    // Back to back, so that the stages mostly take the copies in one batch (the workflow stage
    // routes a batch's routes together, and must publish the same for a copy in the same run).
    for _ in 0..5 {
        env.submit(&req).await;
    }
    wait_until("every copy went through the notification stage", || async {
        env.scrape().await.value("ariza_stage_processed_total", &[("stage", "notification")]) >= 5.0
    })
    .await;

    let id = req.application_id;
    assert_eq!(env.count_for("SELECT count(*) FROM service_requests WHERE id = $1", id).await, 1);
    assert_eq!(env.count_for("SELECT count(*) FROM workflow_transitions WHERE application_id = $1", id).await, 1);
    assert_eq!(env.count_for("SELECT count(*) FROM notifications WHERE application_id = $1 AND status = 'sent'", id).await, 3);
    let sent = env.bot.sent_messages();
    for chat in [6666, 20, 21] {
        assert_eq!(sent.iter().filter(|m| m.chat_id == chat).count(), 1, "chat {chat}: {sent:?}");
    }
    assert_eq!(env.count("SELECT count(*) FROM dead_letters").await, 0);
    env.cleanup().await;
}

#[tokio::test]
async fn copies_of_one_notification_in_batches_running_at_once_send_it_once() {
    // One message per batch and four batches at a time: the copies are claimed by transactions
    // that run side by side, and only the dedupe keys' locks keep them from all sending.
    let env = TestEnv::with_settings(|s| {
        s.pipeline.batch_max = 1;
        s.pipeline.notification_concurrency = 4;
    })
    .await;
    let batch = NotificationBatch {
        schema: SCHEMA_VERSION,
        correlation_id: CorrelationId::new(),
        application_id: None,
        items: (0..6)
            .map(|i| NotificationRequest {
                recipient: Recipient::Chat { chat_id: 7000 + i, language: Locale::Ru },
                template: "wf-btn-open".into(),
                args: BTreeMap::new(),
                dedupe_key: format!("copies-{i}"),
                markup: None,
            })
            .collect(),
    };
    let body = serde_json::to_vec(&batch).expect("json");
    // Slow answers keep every batch's sends in flight while the others claim the same keys.
    env.bot.set_latency(Duration::from_millis(150));
    let copies = 16;
    join_all((0..copies).map(|_| env.publish_raw(Stage::Notification, &body, None))).await;
    wait_until("every copy went through the notification stage", || async {
        env.scrape().await.value("ariza_stage_processed_total", &[("stage", "notification")]) >= f64::from(copies)
    })
    .await;

    let sent = env.bot.sent_messages();
    for chat in 7000..7006 {
        assert_eq!(sent.iter().filter(|m| m.chat_id == chat).count(), 1, "chat {chat}: {sent:?}");
    }
    let text = ariza_shared::i18n::render(Locale::Ru, "wf-btn-open", &BTreeMap::new());
    assert!(sent.iter().all(|m| m.text == text), "{sent:?}");
    assert_eq!(env.count("SELECT count(*) FROM notifications WHERE status = 'sent' AND attempts = 1 AND sent_at IS NOT NULL").await, 6);
    assert_eq!(env.count("SELECT count(*) FROM notifications").await, 6);
    assert_eq!(env.count("SELECT count(*) FROM dead_letters").await, 0);
    env.cleanup().await;
}

#[tokio::test]
async fn with_telegrams_limits_a_busy_chats_batch_is_committed_round_by_round_and_keeps_its_order() {
    // 100 ms between two messages to one chat and rounds of 300 ms: three messages a round.
    let env = TestEnv::with_settings(|s| {
        s.telegram.rate_limits = true;
        s.telegram.per_chat_interval_ms = 100;
        s.telegram.send_round_ms = 300;
    })
    .await;
    let chat = 7100;
    let items = (1..=7u8)
        .map(|score| NotificationRequest {
            recipient: Recipient::Chat { chat_id: chat, language: Locale::Ru },
            template: "wf-btn-rate".into(),
            args: [("score".to_owned(), serde_json::json!(score))].into_iter().collect(),
            dedupe_key: format!("round-{score}"),
            markup: None,
        })
        .collect();
    let batch = NotificationBatch { schema: SCHEMA_VERSION, correlation_id: CorrelationId::new(), application_id: None, items };
    // The first send fails for now: the chat's other six wait, in the later rounds too, and the
    // message comes back through a retry tier.
    env.bot.push_response("sendMessage", ScriptedResponse::server_error());
    env.publish_raw(Stage::Notification, &serde_json::to_vec(&batch).expect("json"), None).await;
    wait_until("all seven sent", || async {
        env.count("SELECT count(*) FROM notifications WHERE status = 'sent'").await == 7
    })
    .await;

    let texts: Vec<String> = env.bot.sent_messages().iter().filter(|m| m.chat_id == chat).map(|m| m.text.clone()).collect();
    let expected: Vec<String> = (1..=7u8)
        .map(|score| {
            let args = [("score".to_owned(), serde_json::json!(score))].into_iter().collect();
            ariza_shared::i18n::render(Locale::Ru, "wf-btn-rate", &args)
        })
        .collect();
    assert_eq!(texts, expected, "each sent once, in the batch's order");
    let calls = env.bot.calls_of("sendMessage");
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [500, 200, 200, 200, 200, 200, 200, 200], "nothing overtook the failed one");
    // Each round was its own transaction: the rows were last written by three, three at a time.
    let rounds: Vec<Vec<String>> = sqlx::query_scalar(
        "SELECT array_agg(dedupe_key ORDER BY id) FROM notifications GROUP BY xmin::text ORDER BY min(id)",
    )
    .fetch_all(&env.pool)
    .await
    .expect("rows by transaction");
    assert_eq!(rounds, [vec!["round-1", "round-2", "round-3"], vec!["round-4", "round-5", "round-6"], vec!["round-7"]]);
    assert_eq!(env.count("SELECT count(*) FROM notifications WHERE attempts = 2").await, 1, "the failed one was tried twice");
    assert_eq!(env.count("SELECT count(*) FROM dead_letters").await, 0);
    env.cleanup().await;
}

async fn admin() -> sqlx::PgConnection {
    sqlx::PgConnection::connect(&format!("{}/postgres", server_url())).await.expect("admin connection")
}

#[tokio::test]
async fn a_database_refusing_connections_delays_work_and_loses_and_dead_letters_nothing() {
    let env = TestEnv::start().await;
    env.staff(20, Role::CallCentreOperator, Locale::Ru).await;
    let mut admin = admin().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", env.db_name))).execute(&mut admin).await.expect("alter");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
        .bind(&env.db_name)
        .execute(&mut admin)
        .await
        .expect("terminate");

    let requests: Vec<_> = (0..5)
        .map(|i| request(if i % 2 == 0 { ApplicationKind::Connection } else { ApplicationKind::Technical }, 20, Role::CallCentreOperator, new_client(100 + i)))
        .collect();
    for req in &requests {
        env.submit(req).await;
    }
    // The validation stage finds the database down, opens its breaker, and keeps probing it for
    // longer than the open interval.
    let breaker = env.pipeline.breaker(Component::Stage(Stage::Validation));
    wait_until("the breaker opens and probes at least three times", || async { breaker.times_opened() >= 1 && breaker.probes() >= 3 }).await;
    assert!(breaker.is_open());

    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", env.db_name))).execute(&mut admin).await.expect("alter");
    let ids: Vec<_> = requests.iter().map(|r| r.application_id).collect();
    env.wait_notified(&ids).await;
    assert!(!breaker.is_open());
    assert_eq!(env.count("SELECT count(*) FROM service_requests").await, 5);
    assert_eq!(env.count("SELECT count(*) FROM dead_letters").await, 0, "an outage dead-letters nothing");
    env.cleanup().await;
}

#[tokio::test]
async fn the_bot_api_answering_429_then_500_then_403_is_paused_retried_and_recorded_as_blocked() {
    let env = TestEnv::start().await;
    env.staff(30, Role::Controller, Locale::Uz).await;
    env.bot.push_response("sendMessage", ScriptedResponse::too_many_requests(1));
    env.bot.push_response("sendMessage", ScriptedResponse::server_error());
    env.bot.push_response("sendMessage", ScriptedResponse::forbidden_blocked());
    let req = request(ApplicationKind::Technical, 30, Role::Controller, new_client(9));
    env.submit(&req).await;
    env.wait_notified(&[req.application_id]).await;

    let (status, attempts, error): (String, i32, Option<String>) = sqlx::query_as(
        "SELECT status, attempts, last_error FROM notifications WHERE application_id = $1 AND recipient_kind = 'staff'",
    )
    .bind(req.application_id.0)
    .fetch_one(&env.pool)
    .await
    .expect("creator's notification");
    assert_eq!(status, "blocked", "a 403 is permanent");
    assert_eq!(attempts, 2, "the 500 counted as an attempt, the 429 did not");
    assert!(error.as_deref().is_some_and(|e| e.contains("blocked")), "{error:?}");
    let calls = env.bot.calls_of("sendMessage");
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [429, 500, 403]);
    assert!(calls[1].at.duration_since(calls[0].at).as_secs_f64() >= 1.0, "sending paused for retry_after");
    assert_eq!(env.count("SELECT count(*) FROM dead_letters").await, 0, "a blocked user is not a dead letter");
    env.cleanup().await;
}
