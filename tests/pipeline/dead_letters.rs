//! Dead letters: what cannot be processed is parked with its reason, and replay completes it.

use crate::support::{TestEnv, new_client, request, wait_until};
use ariza_shared::domain::{ApplicationKind, Locale, Role};
use ariza_shared::topology::Stage;
use ariza_workers::dead_letters::{self, Filter};
use ariza_workers::fault::FaultHook;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[tokio::test]
async fn a_non_json_message_is_dead_lettered_with_its_reason_while_others_keep_flowing() {
    let env = TestEnv::start().await;
    env.staff(100, Role::Manager, Locale::Uz).await;
    env.publish_raw(Stage::Validation, b"this is not json {", None).await;
    let valid = request(ApplicationKind::Connection, 100, Role::Manager, new_client(1));
    env.submit(&valid).await;
    env.publish_raw(Stage::Validation, br#"{"schema": 99, "something": "from the future"}"#, None).await;
    env.wait_notified(&[valid.application_id]).await;
    env.wait_dead_letters(2).await;
    let letters = dead_letters::list(&env.pool, &Filter::default()).await.expect("list");
    let malformed = letters.iter().find(|d| d.reason == "malformed").expect("malformed letter");
    assert_eq!(malformed.stage.as_deref(), Some("validation"));
    assert_eq!(malformed.payload, b"this is not json {");
    assert!(malformed.last_error.as_deref().is_some_and(|e| e.contains("not JSON")), "{:?}", malformed.last_error);
    assert_eq!(malformed.attempts, 1, "a permanent failure is not retried");
    let future = letters.iter().find(|d| d.reason == "unknown_schema").expect("unknown schema letter");
    assert!(future.last_error.as_deref().is_some_and(|e| e.contains("99")));
    assert_eq!(env.count("SELECT count(*) FROM service_requests").await, 1);
    env.cleanup().await;
}

/// Fails persistence transiently while `failing` is set.
#[derive(Debug, Default)]
struct FlakyPersistence {
    failing: AtomicBool,
}

impl FaultHook for FlakyPersistence {
    fn before_process(&self, stage: Stage, _app: Option<&str>) -> Option<String> {
        (stage == Stage::Persistence && self.failing.load(Ordering::SeqCst)).then(|| "injected: connection reset by peer".to_owned())
    }
}

#[tokio::test]
async fn a_transient_failure_walks_the_delay_tiers_then_dead_letters_and_replay_completes_it() {
    let hook = Arc::new(FlakyPersistence { failing: AtomicBool::new(true) });
    let env = TestEnv::with_faults(hook.clone()).await;
    env.staff(200, Role::Controller, Locale::Ru).await;
    let req = request(ApplicationKind::Technical, 200, Role::Controller, new_client(2));
    env.submit(&req).await;
    env.wait_dead_letters(1).await;

    let letter = dead_letters::list(&env.pool, &Filter::default()).await.expect("list").remove(0);
    assert_eq!(letter.reason, "retries_exhausted");
    assert_eq!(letter.stage.as_deref(), Some("persistence"));
    assert_eq!(letter.attempts, i32::try_from(env.settings.amqp.max_attempts).expect("small"));
    assert_eq!(letter.application_id, Some(req.application_id.0));
    assert!(letter.last_error.as_deref().is_some_and(|e| e.contains("connection reset")));
    assert!(letter.first_failed_at.is_some());
    // Each retry waited in one of this stage's delay tiers until its TTL expired.
    let expired_in_tiers: i64 = letter
        .headers
        .get("x-death")
        .or(Some(&letter.death_history))
        .and_then(|d| d.as_array())
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["reason"] == "expired" && e["queue"].as_str().is_some_and(|q| q.contains(".persistence.retry.")))
                .map(|e| e["count"].as_i64().unwrap_or_default())
                .sum()
        })
        .unwrap_or_default();
    assert_eq!(expired_in_tiers, i64::from(env.settings.amqp.max_attempts) - 1, "{}", letter.death_history);
    assert_eq!(env.count("SELECT count(*) FROM service_requests").await, 0);

    // The cause is fixed; the operator replays it from the table.
    hook.failing.store(false, Ordering::SeqCst);
    let report = dead_letters::replay(&env.pool, &env.publisher, &env.settings.topology(), &Filter { ids: Some(vec![letter.id]), ..Filter::default() })
        .await
        .expect("replay");
    assert_eq!(report.replayed, vec![letter.id]);
    env.wait_notified(&[req.application_id]).await;
    assert_eq!(env.count_for("SELECT count(*) FROM service_requests WHERE id = $1", req.application_id).await, 1);
    let status: String = sqlx::query_scalar("SELECT status FROM dead_letters WHERE id = $1").bind(letter.id).fetch_one(&env.pool).await.expect("row");
    assert_eq!(status, "replayed");
    // Replaying again does nothing: it is no longer dead.
    let again = dead_letters::replay(&env.pool, &env.publisher, &env.settings.topology(), &Filter { ids: Some(vec![letter.id]), ..Filter::default() })
        .await
        .expect("replay");
    assert!(again.replayed.is_empty());
    wait_until("the creator is told once", || async { env.bot.sent_messages().iter().filter(|m| m.chat_id == 200).count() == 1 }).await;
    env.cleanup().await;
}

#[tokio::test]
async fn discarding_marks_only_the_matching_dead_letters() {
    let env = TestEnv::start().await;
    env.publish_raw(Stage::Workflow, b"garbage one", None).await;
    env.publish_raw(Stage::Notification, b"garbage two", None).await;
    env.wait_dead_letters(2).await;
    let discarded = dead_letters::discard(&env.pool, &Filter { stage: Some("workflow".into()), ..Filter::default() }).await.expect("discard");
    assert_eq!(discarded.len(), 1);
    let left = dead_letters::list(&env.pool, &Filter::default()).await.expect("list");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].stage.as_deref(), Some("notification"));
    env.cleanup().await;
}
