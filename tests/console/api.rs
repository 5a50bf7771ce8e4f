//! The console's API: dead letters listed with their reasons, replayed (one, and a filtered set)
//! through the pipeline exactly once, discarded only with a confirmation by an administrator; an
//! unauthenticated call refused and a viewer unable to change anything; the timeline of an
//! application through every stage to its notifications.

use crate::harness::{Console, OPERATOR_TOKEN};
use crate::support::{TestEnv, wait_until};
use ariza_console::auth::OperatorRole;
use ariza_shared::domain::{Locale, Role};
use ariza_shared::topology::Stage;
use ariza_workers::fault::FaultHook;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Persistence fails transiently while `failing` is set: its messages end as dead letters.
#[derive(Debug)]
struct BrokenPersistence {
    failing: AtomicBool,
}

impl FaultHook for BrokenPersistence {
    fn before_process(&self, stage: Stage, _app: Option<&str>) -> Option<String> {
        (stage == Stage::Persistence && self.failing.load(Ordering::SeqCst)).then(|| "injected: database disk full".to_owned())
    }
}

fn ids(value: &Value) -> Vec<i64> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default()
}

#[tokio::test]
async fn dead_letters_are_listed_with_reasons_and_replays_of_one_and_of_a_filtered_set_deliver_each_once() {
    let hook = Arc::new(BrokenPersistence { failing: AtomicBool::new(true) });
    let console = Console::start(TestEnv::with_faults(hook.clone()).await).await;
    let env = &console.env;
    env.staff(900, Role::Manager, Locale::Ru).await;
    let apps = [
        console.submit_as_client(7001, "Aziza Umarova", "+998 90 111 22 31").await,
        console.submit_as_client(7002, "Bobur Aliyev", "90 111 22 32").await,
        console.submit_as_client(7003, "Dilnoza Karimova", "901112233").await,
    ];
    env.publish_raw(Stage::Validation, b"{ not json", None).await;
    env.wait_dead_letters(4).await;
    let admin = Some(OPERATOR_TOKEN);

    // Listed with stage, reason, attempts, failure times, error and application id.
    let (status, list) = console.get(admin, "/api/dead-letters").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 4, "{list}");
    let items = list["items"].as_array().expect("items");
    let exhausted: Vec<&Value> = items.iter().filter(|d| d["reason"] == "retries_exhausted").collect();
    assert_eq!(exhausted.len(), 3, "{list}");
    for d in &exhausted {
        assert_eq!(d["stage"], "persistence");
        assert_eq!(d["attempts"], i64::from(env.settings.amqp.max_attempts));
        assert!(d["first_failed_at"].is_string() && d["last_failed_at"].is_string(), "{d}");
        assert!(d["last_error"].as_str().is_some_and(|e| e.contains("disk full")), "{d}");
        assert!(apps.iter().any(|a| d["application_id"] == a.to_string()), "{d}");
    }
    let malformed = items.iter().find(|d| d["reason"] == "malformed").expect("the malformed letter");
    assert_eq!(malformed["stage"], "validation");

    // Grouped by reason, filtered by stage, paged.
    let (_, groups) = console.get(admin, "/api/dead-letters/groups").await;
    let counts: BTreeMap<String, i64> =
        groups.as_array().expect("groups").iter().map(|g| (g["reason"].as_str().unwrap_or("").to_owned(), g["count"].as_i64().unwrap_or(0))).collect();
    assert_eq!(counts, BTreeMap::from([("malformed".to_owned(), 1), ("retries_exhausted".to_owned(), 3)]));
    let (_, by_stage) = console.get(admin, "/api/dead-letters?stage=validation").await;
    assert_eq!(by_stage["total"], 1);
    let (_, paged) = console.get(admin, "/api/dead-letters?per_page=3&page=2").await;
    assert_eq!((paged["total"].as_i64(), paged["items"].as_array().map(Vec::len)), (Some(4), Some(1)));

    // One in full: its payload, headers and death history.
    let first = exhausted.iter().find(|d| d["application_id"] == apps[0].to_string()).expect("first app's letter");
    let first_id = first["id"].as_i64().expect("id");
    let (_, detail) = console.get(admin, &format!("/api/dead-letters/{first_id}")).await;
    assert_eq!(detail["payload_json"]["application_id"], apps[0].to_string(), "{detail}");
    assert!(detail["death_history"].as_array().is_some_and(|d| !d.is_empty()), "{detail}");
    assert!(detail["headers"]["x-ariza-reason"] == "retries_exhausted", "{detail}");

    // The cause is fixed. Replay one…
    hook.failing.store(false, Ordering::SeqCst);
    let (status, outcome) = console.post(admin, "/api/dead-letters/replay", &json!({ "ids": [first_id] })).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(ids(&outcome["replayed"]), [first_id]);
    env.wait_notified(&apps[..1]).await;

    // …then every one still matching a filter: the two others, not the malformed letter.
    let (status, outcome) = console
        .post(admin, "/api/dead-letters/replay", &json!({ "all_matching": true, "filter": { "reason": "retries_exhausted" } }))
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(ids(&outcome["replayed"]).len(), 2, "{outcome}");
    assert!(!ids(&outcome["replayed"]).contains(&first_id));
    env.wait_notified(&apps).await;

    // Delivered through the pipeline exactly once each.
    for (app, chat) in apps.iter().zip([7001, 7002, 7003]) {
        assert_eq!(env.count_for("SELECT count(*) FROM service_requests WHERE id = $1", *app).await, 1);
        assert_eq!(env.count_for("SELECT count(*) FROM workflow_transitions WHERE application_id = $1", *app).await, 1);
        wait_until("the client hears about their application", || async { env.bot.sent_messages().iter().any(|m| m.chat_id == chat) }).await;
        assert_eq!(env.bot.sent_messages().iter().filter(|m| m.chat_id == chat).count(), 1, "client {chat} told once");
    }
    assert_eq!(env.bot.sent_messages().iter().filter(|m| m.chat_id == 900).count(), 3, "the manager told once per application");
    let (_, replayed) = console.get(admin, "/api/dead-letters?status=replayed").await;
    assert_eq!(replayed["total"], 3, "marked replayed: {replayed}");
    let (_, still_dead) = console.get(admin, "/api/dead-letters").await;
    assert_eq!(still_dead["items"][0]["reason"], "malformed");

    // Replaying a replayed letter again does nothing; every replay is in the operator log.
    let (_, again) = console.post(admin, "/api/dead-letters/replay", &json!({ "ids": [first_id] })).await;
    assert!(ids(&again["replayed"]).is_empty(), "{again}");
    let logged = console.actions("dead_letters.replay").await;
    assert_eq!(logged.len(), 3);
    assert!(logged.iter().all(|(who, _)| who == "operator-token"));
    console.cleanup().await;
}

#[tokio::test]
async fn unauthenticated_calls_are_refused_a_viewer_changes_nothing_and_discard_needs_confirmation() {
    let console = Console::start(TestEnv::start().await).await;
    let env = &console.env;
    env.publish_raw(Stage::Workflow, b"garbage for the workflow", None).await;
    env.publish_raw(Stage::Notification, b"garbage for notification", None).await;
    env.wait_dead_letters(2).await;

    // No credentials, a wrong token, a wrong password: refused.
    assert_eq!(console.get(None, "/api/dead-letters").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(console.get(Some("not-the-token"), "/api/dead-letters").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(console.post(None, "/api/dead-letters/replay", &json!({ "ids": [1] })).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = console.post(None, "/api/login", &json!({ "name": "nobody", "password": "wrong password here" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let page = console.http.get(format!("{}/dead-letters", console.base)).send().await.expect("UI");
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "the UI sends strangers to the login page");
    assert_eq!(page.headers()["location"], "/login");

    // A viewer reads, and can neither replay, discard nor acknowledge.
    let viewer = console.user("olga", OperatorRole::Viewer).await;
    let (status, list) = console.get(Some(&viewer), "/api/dead-letters").await;
    assert_eq!((status, list["total"].as_i64()), (StatusCode::OK, Some(2)));
    let workflow_id = list["items"].as_array().and_then(|i| i.iter().find(|d| d["stage"] == "workflow")).expect("workflow letter")["id"].clone();
    for (path, body) in [
        ("/api/dead-letters/replay", json!({ "ids": [workflow_id] })),
        ("/api/dead-letters/discard", json!({ "ids": [workflow_id], "confirm": true })),
        ("/api/alerts/1/acknowledge", json!({})),
    ] {
        let (status, answer) = console.post(Some(&viewer), path, &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {answer}");
        assert_eq!(answer["error"], "forbidden");
    }
    assert_eq!(env.count("SELECT count(*) FROM dead_letters WHERE status = 'dead'").await, 2);

    // An administrator's discard without confirmation says what it would do and does nothing.
    let selection = json!({ "all_matching": true, "filter": { "stage": "workflow" } });
    let (status, answer) = console.post(Some(OPERATOR_TOKEN), "/api/dead-letters/discard", &selection).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!((answer["error"].as_str(), answer["would_affect"].as_i64()), (Some("confirmation_required"), Some(1)));
    assert_eq!(env.count("SELECT count(*) FROM dead_letters WHERE status = 'dead'").await, 2);
    // An empty selection never means "everything".
    let (status, _) = console.post(Some(OPERATOR_TOKEN), "/api/dead-letters/discard", &json!({ "confirm": true })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let mut confirmed = selection.clone();
    confirmed["confirm"] = json!(true);
    let (status, answer) = console.post(Some(OPERATOR_TOKEN), "/api/dead-letters/discard", &confirmed).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["discarded"], json!([workflow_id]));
    let left: Vec<(String, String)> =
        sqlx::query_as("SELECT stage, status FROM dead_letters ORDER BY stage").fetch_all(&env.pool).await.expect("rows");
    assert_eq!(left, [("notification".to_owned(), "dead".to_owned()), ("workflow".to_owned(), "discarded".to_owned())]);
    let logged = console.actions("dead_letters.discard").await;
    assert_eq!(logged.len(), 1, "only the confirmed discard is an action");
    assert_eq!(logged[0].0, "operator-token");
    assert_eq!(console.actions("login").await.len(), 1, "the viewer's login is logged");

    // A logged-out session no longer works.
    let out = console.http.post(format!("{}/api/logout", console.base)).bearer_auth(&viewer).send().await.expect("logout");
    assert_eq!(out.status(), StatusCode::OK);
    assert_eq!(console.get(Some(&viewer), "/api/dead-letters").await.0, StatusCode::UNAUTHORIZED);
    console.cleanup().await;
}

#[tokio::test]
async fn the_timeline_shows_every_stage_and_the_notifications_with_phones_masked_for_a_viewer() {
    let console = Console::start(TestEnv::start().await).await;
    let env = &console.env;
    env.staff(901, Role::Manager, Locale::Uz).await;
    let app = console.submit_as_client(7101, "Kamola Yusupova", "+998 93 555 66 77").await;
    env.wait_notified(&[app]).await;

    // Found by the client's phone, as typed in another way.
    let (_, hits) = console.get(Some(OPERATOR_TOKEN), "/api/applications?q=93%20555%2066%2077").await;
    assert_eq!(hits.as_array().map(Vec::len), Some(1), "{hits}");
    assert_eq!(hits[0]["id"], app.to_string());
    assert_eq!(hits[0]["client_phone"], "+998935556677");
    let (_, by_creator) = console.get(Some(OPERATOR_TOKEN), "/api/applications?q=7101").await;
    assert_eq!(by_creator[0]["id"], app.to_string(), "found by the creator's Telegram id");

    let (status, timeline) = console.get(Some(OPERATOR_TOKEN), &format!("/api/applications/{app}/timeline")).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let stages: Vec<(&str, &str)> =
        timeline["stages"].as_array().expect("stages").iter().map(|s| (s["stage"].as_str().unwrap_or(""), s["state"].as_str().unwrap_or(""))).collect();
    assert_eq!(stages, [("validation", "done"), ("persistence", "done"), ("workflow", "done"), ("notification", "done")]);
    assert!(timeline["stages"].as_array().expect("stages").iter().all(|s| s["at"].is_string() && s["attempts"] == 1), "{timeline}");
    let events: Vec<&str> = timeline["events"].as_array().expect("events").iter().filter_map(|e| e["what"].as_str()).collect();
    for expected in ["submitted", "stored", "transition", "notification_sent"] {
        assert!(events.contains(&expected), "{expected} in {events:?}");
    }
    let notifications = timeline["notifications"].as_array().expect("notifications");
    let to_client = notifications.iter().find(|n| n["recipient_kind"] == "client").expect("the client's notification");
    assert_eq!(to_client["status"], "sent");
    assert!(to_client["text"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(notifications.iter().any(|n| n["recipient_kind"] == "staff" && n["status"] == "sent"), "{notifications:?}");
    assert_eq!(timeline["summary"]["client_phone"], "+998935556677");

    // A viewer sees the same timeline with the phone masked, everywhere in it.
    let viewer = console.user("vera", OperatorRole::Viewer).await;
    let (_, masked) = console.get(Some(&viewer), &format!("/api/applications/{app}/timeline")).await;
    assert_eq!(masked["summary"]["client_phone"], "+99893*****77");
    assert!(!masked.to_string().contains("5556677"), "no full phone for a viewer: {masked}");
    let (_, unknown) = console.get(Some(&viewer), &format!("/api/applications/{}/timeline", uuid::Uuid::new_v4())).await;
    assert_eq!(unknown["error"], "not_found");
    console.cleanup().await;
}

#[tokio::test]
async fn without_the_management_api_the_queue_rates_come_from_the_workers_metrics() {
    let mut env = TestEnv::start().await;
    env.settings.amqp.management_url = secrecy::SecretString::from("");
    env.settings.console.workers_metrics = format!("http://{}/metrics", env.metrics_addr);
    env.staff(90, Role::Manager, Locale::Uz).await;
    let console = Console::start(env).await;
    // The first look takes a fresh pair of scrapes: nothing flows, every rate is zero.
    let (status, first) = console.get(Some(OPERATOR_TOKEN), "/api/queues").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["source"], "passive_declare");
    assert_eq!(first["rates_from_workers"], true, "{first}");
    let work = |report: &Value, stage: &str| -> Value {
        report["queues"]
            .as_array()
            .and_then(|qs| qs.iter().find(|q| q["kind"] == "work" && q["stage"] == stage).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(work(&first, "validation")["ack_rate"], 0.0, "{first}");
    // Traffic between two looks shows as messages settled per second by every stage.
    let reqs: Vec<_> = (0..5)
        .map(|n| crate::support::request(ariza_shared::domain::ApplicationKind::Connection, 90, Role::Manager, crate::support::new_client(9100 + n)))
        .collect();
    for req in &reqs {
        console.env.submit(req).await;
    }
    console.env.wait_notified(&reqs.iter().map(|r| r.application_id).collect::<Vec<_>>()).await;
    let (status, second) = console.get(Some(OPERATOR_TOKEN), "/api/queues").await;
    assert_eq!(status, StatusCode::OK);
    for stage in ["validation", "persistence", "workflow", "notification"] {
        let rate = work(&second, stage)["ack_rate"].as_f64().unwrap_or_default();
        assert!(rate > 0.0, "{stage}: {second}");
    }
    // The page says where its rates come from.
    let (_, page) = console.get_text(Some(OPERATOR_TOKEN), "/queues").await;
    assert!(page.contains("id=\"rates-source\""), "{page}");
    console.cleanup().await;
}

#[tokio::test]
async fn guessing_a_password_is_stopped_after_a_few_failures_and_the_right_one_waits_too() {
    let console = Console::start(TestEnv::without_workers().await).await;
    console.user("olga", OperatorRole::Viewer).await;
    let wrong = json!({ "name": "olga", "password": "not-her-password-at-all" });
    for _ in 0..ariza_console::throttle::MAX_FAILURES {
        let (status, _) = console.post(None, "/api/login", &wrong).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = console.post(None, "/api/login", &wrong).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "too_many_attempts");
    // Even the right password is not checked while the name is locked; other names are not affected.
    let right = json!({ "name": "olga", "password": "olga-password-long-enough" });
    assert_eq!(console.post(None, "/api/login", &right).await.0, StatusCode::TOO_MANY_REQUESTS);
    console.user("viktor", OperatorRole::Viewer).await;
    console.cleanup().await;
}
