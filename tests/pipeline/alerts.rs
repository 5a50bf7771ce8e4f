//! Alerts on unusual creation activity, end to end: real creations through the pipeline, the
//! rules evaluated by the workers (three evaluators at once, as three worker processes would),
//! one stored alert per burst, and one Telegram message per active administrator, in their
//! language, through the notification stage.

use crate::support::{Scrape, TestEnv, new_client, request, wait_until};
use ariza_shared::domain::{ApplicationId, ApplicationKind, ClientRef, Locale, Role};
use ariza_workers::pipeline::{Component, Pipeline};
use tokio_util::sync::CancellationToken;

/// Alert messages the fake Bot API received for `chat`.
fn alert_texts(env: &TestEnv, chat: i64) -> Vec<String> {
    env.bot.sent_messages().into_iter().filter(|m| m.chat_id == chat && m.text.starts_with("⚠️")).map(|m| m.text).collect()
}

fn evaluations(scrape: &Scrape) -> f64 {
    scrape.value("ariza_alert_evaluations_total", &[("result", "ok")])
}

/// Waits until every evaluator has run at least `ticks` more times than now.
async fn wait_evaluations(env: &TestEnv, ticks: f64) {
    let start = evaluations(&env.scrape().await);
    wait_until(&format!("{ticks} more evaluations"), || async { evaluations(&env.scrape().await) >= start + ticks }).await;
}

#[tokio::test]
async fn n_plus_one_creations_by_one_staff_member_raise_exactly_one_alert_sent_to_each_administrator() {
    let env = TestEnv::with_settings(|s| {
        s.alerts.evaluate_interval_ms = 100;
        s.alerts.staff_burst.max = 3;
        s.alerts.staff_burst.minutes = 10;
    })
    .await;
    let creator = env.staff(80, Role::Manager, Locale::Uz).await;
    env.staff(81, Role::Administrator, Locale::Uz).await;
    env.staff(82, Role::Administrator, Locale::Ru).await;
    env.staff(83, Role::Administrator, Locale::Ru).await;
    ariza_workers::db::staff::deactivate(&env.pool, 83).await.expect("deactivate");
    // Two more worker processes evaluating the same rules against the same database.
    let stop_others = CancellationToken::new();
    let mut others = Vec::new();
    for _ in 0..2 {
        let other = Pipeline::new(env.settings.clone()).expect("another pipeline");
        let stop = stop_others.clone();
        others.push(tokio::spawn(async move { other.run(&[Component::Alerts], stop).await }));
    }

    // N + 1 = 4 creations by one staff member within the window.
    let burst: Vec<_> = (0..4).map(|i| request(ApplicationKind::Connection, 80, Role::Manager, new_client(800 + i))).collect();
    for req in &burst {
        env.submit(req).await;
    }
    let ids: Vec<ApplicationId> = burst.iter().map(|r| r.application_id).collect();
    env.wait_notified(&ids).await;
    wait_until("both active administrators got the alert", || async {
        !alert_texts(&env, 81).is_empty() && !alert_texts(&env, 82).is_empty()
    })
    .await;

    // The burst goes on; the evaluators keep evaluating.
    let more: Vec<_> = (0..2).map(|i| request(ApplicationKind::Connection, 80, Role::Manager, new_client(810 + i))).collect();
    for req in &more {
        env.submit(req).await;
    }
    env.wait_notified(&more.iter().map(|r| r.application_id).collect::<Vec<_>>()).await;
    wait_evaluations(&env, 9.0).await;
    wait_until("no alert notification is pending", || async {
        env.count("SELECT count(*) FROM notifications WHERE dedupe_key LIKE 'alert:%' AND status = 'pending'").await == 0
    })
    .await;

    let (rule, subject, count, notified, details): (String, String, i32, bool, serde_json::Value) =
        sqlx::query_as("SELECT rule, subject, count, notified, details FROM creation_alerts").fetch_one(&env.pool).await.expect("exactly one alert");
    assert_eq!(env.count("SELECT count(*) FROM creation_alerts").await, 1, "one burst, one alert");
    assert_eq!((rule.as_str(), count, notified), ("staff_burst", 4, true));
    assert_eq!(subject, format!("staff:{}", creator.id));
    assert_eq!(details["telegram_id"], 80);
    let (start, end): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT window_start, window_end FROM creation_alerts").fetch_one(&env.pool).await.expect("window");
    let (first, fourth): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT min(created_at), max(created_at) FROM service_requests WHERE id = ANY($1)",
    )
    .bind(ids.iter().map(|a| a.0).collect::<Vec<_>>())
    .fetch_one(&env.pool)
    .await
    .expect("creation times");
    assert_eq!((start, end), (first, fourth), "the window spans the four creations that crossed the threshold");

    let uz = alert_texts(&env, 81);
    let ru = alert_texts(&env, 82);
    assert_eq!((uz.len(), ru.len()), (1, 1), "one message per administrator: {uz:?} {ru:?}");
    assert!(uz[0].contains("G'ayrioddiy faollik") && uz[0].contains("manager 80") && uz[0].contains("menejer"), "{}", uz[0]);
    assert!(ru[0].contains("Необычная активность") && ru[0].contains("4 заявки") && ru[0].contains("менеджер"), "{}", ru[0]);
    assert!(alert_texts(&env, 83).is_empty(), "a deactivated administrator is not told");
    assert!(alert_texts(&env, 80).is_empty(), "nor is the creator");
    assert_eq!(env.scrape().await.value("ariza_creation_alerts_total", &[("rule", "staff_burst")]), 1.0);

    stop_others.cancel();
    for other in others {
        other.await.expect("other evaluator").expect("stopped cleanly");
    }
    env.cleanup().await;
}

#[tokio::test]
async fn many_applications_for_one_client_phone_raise_one_alert_with_the_phone_masked() {
    let env = TestEnv::with_settings(|s| {
        s.alerts.evaluate_interval_ms = 100;
        s.alerts.client_phone_burst.max = 2;
        s.alerts.client_phone_burst.minutes = 60;
    })
    .await;
    env.staff(91, Role::Administrator, Locale::Ru).await;
    let client = env.client("Dilnoza Karimova", "+998901112233", None, Locale::Uz).await;
    let mut ids = Vec::new();
    for (creator, role) in [(92, Role::Manager), (93, Role::CallCentreOperator), (94, Role::Controller)] {
        env.staff(creator, role, Locale::Uz).await;
        let req = request(ApplicationKind::Technical, creator, role, ClientRef::Existing { client_id: client, update: None });
        env.submit(&req).await;
        ids.push(req.application_id);
    }
    env.wait_notified(&ids).await;
    wait_until("the administrator got the alert", || async { !alert_texts(&env, 91).is_empty() }).await;
    wait_evaluations(&env, 3.0).await;

    assert_eq!(env.count("SELECT count(*) FROM creation_alerts").await, 1);
    let (rule, subject, count): (String, String, i32) =
        sqlx::query_as("SELECT rule, subject, count FROM creation_alerts").fetch_one(&env.pool).await.expect("alert");
    assert_eq!((rule.as_str(), subject, count), ("client_phone_burst", format!("client:{client}"), 3));
    let texts = alert_texts(&env, 91);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("Dilnoza Karimova") && texts[0].contains("3 заявки"), "{}", texts[0]);
    assert!(texts[0].contains("+99890*****33"), "the phone, masked: {}", texts[0]);
    assert!(!texts[0].contains("1112233"), "never the full phone: {}", texts[0]);
    env.cleanup().await;
}

/// Moves the creation times of the test's applications (in creation order) to `minutes_ago`.
async fn set_creation_times(env: &TestEnv, minutes_ago: &[f64]) {
    sqlx::query(
        "UPDATE service_requests s SET created_at = now() - make_interval(secs => o.minutes * 60)
           FROM (SELECT id, row_number() OVER (ORDER BY number) AS rn FROM service_requests) r
           JOIN unnest($1::float8[]) WITH ORDINALITY AS o(minutes, rn) ON o.rn = r.rn
          WHERE s.id = r.id",
    )
    .bind(minutes_ago)
    .execute(&env.pool)
    .await
    .expect("set creation times");
}

#[tokio::test]
async fn bursts_are_judged_on_creation_times_and_each_burst_raises_one_alert() {
    // The evaluation is driven by hand here, so the creation times can be arranged first.
    let env = TestEnv::with_settings(|s| {
        s.alerts.enabled = false;
        s.alerts.staff_burst.max = 3;
        s.alerts.staff_burst.minutes = 10;
        s.alerts.lookback_minutes = 60;
    })
    .await;
    env.staff(95, Role::Manager, Locale::Uz).await;
    let reqs: Vec<_> = (0..8).map(|i| request(ApplicationKind::Connection, 95, Role::Manager, new_client(950 + i))).collect();
    for req in &reqs {
        env.submit(req).await;
        // One at a time, so their numbers follow the order of the list.
        env.wait_notified(&[req.application_id]).await;
    }
    let alerts = &env.settings.alerts;

    // Eight creations six minutes apart: never more than two within ten minutes.
    set_creation_times(&env, &[48.0, 42.0, 36.0, 30.0, 24.0, 18.0, 12.0, 6.0]).await;
    assert!(ariza_workers::alerts::evaluate(&env.pool, alerts).await.expect("evaluate").is_empty());

    // Two bursts of four, forty minutes apart: two alerts, and evaluating again adds none.
    set_creation_times(&env, &[45.0, 44.0, 43.0, 42.0, 4.0, 3.0, 2.0, 1.0]).await;
    let fired = ariza_workers::alerts::evaluate(&env.pool, alerts).await.expect("evaluate");
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert!(ariza_workers::alerts::evaluate(&env.pool, alerts).await.expect("evaluate again").is_empty());
    let windows: Vec<(f64, f64, i32)> = sqlx::query_as(
        "SELECT round(extract(epoch FROM now() - window_start) / 60)::float8, round(extract(epoch FROM now() - window_end) / 60)::float8, count
           FROM creation_alerts ORDER BY window_end",
    )
    .fetch_all(&env.pool)
    .await
    .expect("alerts");
    assert_eq!(windows, [(45.0, 42.0, 4), (4.0, 1.0, 4)]);

    // A burst older than the lookback is not alerted on (again).
    sqlx::query("DELETE FROM creation_alerts").execute(&env.pool).await.expect("delete");
    set_creation_times(&env, &[95.0, 94.0, 93.0, 92.0, 91.0, 90.0, 89.0, 88.0]).await;
    assert!(ariza_workers::alerts::evaluate(&env.pool, alerts).await.expect("evaluate").is_empty());
    env.cleanup().await;
}
