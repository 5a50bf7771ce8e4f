//! The audit with its CSV export (filtered, phones masked for a viewer), the reports, and the
//! alerts page over `creation_alerts`.

use crate::harness::{Console, OPERATOR_TOKEN};
use crate::support::TestEnv;
use ariza_console::auth::OperatorRole;
use ariza_shared::domain::{Locale, Role};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_audit_csv_has_the_filtered_rows_with_phones_masked_for_a_viewer_and_reports_count_them() {
    let console = Console::start(TestEnv::start().await).await;
    let env = &console.env;
    env.staff(801, Role::Controller, Locale::Ru).await;
    let apps = [
        console.submit_as_client(7201, "Aziz Rahimov", "+998 91 234 56 01").await,
        console.submit_as_client(7202, "Malika Saidova", "+998 91 234 56 02").await,
        console.submit_as_staff(801, "controller", "Sardor Qodirov", "+998 91 234 56 03").await,
    ];
    env.wait_notified(&apps).await;
    let viewer = console.user("viktor", OperatorRole::Viewer).await;

    let (status, csv) = console.get_text(Some(&viewer), "/api/audit.csv?source=client").await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "header and the two client-created rows: {csv}");
    assert!(lines[0].starts_with("created_at,application_id,number,kind,creation_source"), "{csv}");
    // (Both may be stored in one transaction, at one timestamp: their order is not asserted.)
    for line in &lines[1..] {
        assert!(line.contains(",client,"), "{line}");
    }
    for phone_end in ["01", "02"] {
        let masked = format!("+99891*****{phone_end}");
        assert_eq!(lines[1..].iter().filter(|l| l.contains(&masked)).count(), 1, "masked {masked}: {csv}");
    }
    assert!(!csv.contains("912345601") && !csv.contains("912345602"), "no full phone for a viewer: {csv}");
    assert!(!csv.contains("Sardor"), "the staff-created row is filtered out: {csv}");

    let (_, full) = console.get_text(Some(OPERATOR_TOKEN), "/api/audit.csv?role=controller").await;
    assert_eq!(full.lines().count(), 2, "{full}");
    assert!(full.contains("+998912345603") && full.contains("Sardor Qodirov") && full.contains(",staff,"), "{full}");
    let (_, page) = console.get(Some(&viewer), "/api/audit?source=client&per_page=1").await;
    assert_eq!((page["total"].as_i64(), page["items"].as_array().map(Vec::len)), (Some(2), Some(1)));
    assert_eq!(console.actions("audit.export").await.len(), 2, "exports are in the operator log");

    // Reports: the same applications per day, per role and per staff member.
    let (_, reports) = console.get(Some(&viewer), "/api/reports").await;
    assert_eq!((reports["staff_created"].as_i64(), reports["client_created"].as_i64()), (Some(1), Some(2)), "{reports}");
    let today = reports["per_day"].as_array().and_then(|d| d.last()).expect("today");
    assert_eq!((today["staff"].as_i64(), today["client"].as_i64()), (Some(1), Some(2)));
    assert_eq!(reports["per_day"].as_array().map(Vec::len), Some(30));
    let roles = reports["per_role"].as_array().expect("per role");
    assert!(roles.contains(&json!({ "role": "client", "count": 2 })) && roles.contains(&json!({ "role": "controller", "count": 1 })), "{roles:?}");
    assert_eq!(reports["per_staff"][0]["telegram_id"], 801);
    assert_eq!(reports["per_staff"][0]["count"], 1);
    console.cleanup().await;
}

/// The table the alert rules fill, as its migration creates it, when this database lacks it.
async fn ensure_alerts_table(pool: &sqlx::PgPool) {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS creation_alerts (
            id BIGSERIAL PRIMARY KEY, rule TEXT NOT NULL, subject TEXT NOT NULL, details JSONB NOT NULL DEFAULT '{}',
            window_start TIMESTAMPTZ, window_end TIMESTAMPTZ, count INT, fired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            notified BOOLEAN NOT NULL DEFAULT FALSE, acknowledged_at TIMESTAMPTZ NULL, acknowledged_by TEXT NULL)",
    )
    .execute(pool)
    .await
    .expect("creation_alerts");
}

#[tokio::test]
async fn alerts_are_listed_masked_for_a_viewer_and_acknowledged_once_by_an_administrator() {
    let console = Console::start(TestEnv::without_workers().await).await;
    let pool = &console.env.pool;
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('creation_alerts') IS NOT NULL").fetch_one(pool).await.expect("regclass");
    if !has_table {
        let (_, before) = console.get(Some(OPERATOR_TOKEN), "/api/alerts").await;
        assert_eq!(before["available"], false, "without the table the page says so: {before}");
        ensure_alerts_table(pool).await;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO creation_alerts (rule, subject, details, window_start, window_end, count, notified)
         VALUES ('client_phone_burst', '+998901234567', '{\"phone\": \"+998901234567\", \"applications\": 6}', now() - interval '10 minutes', now(), 6, TRUE)
         RETURNING id",
    )
    .fetch_one(pool)
    .await
    .expect("an alert");

    let viewer = console.user("valeriya", OperatorRole::Viewer).await;
    let (_, list) = console.get(Some(&viewer), "/api/alerts?open=true").await;
    assert_eq!(list["available"], true);
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["subject"], "+99890*****67");
    assert!(!list.to_string().contains("1234567"), "{list}");
    assert_eq!(console.post(Some(&viewer), &format!("/api/alerts/{id}/acknowledge"), &json!({})).await.0, StatusCode::FORBIDDEN);

    let (status, ack) = console.post(Some(OPERATOR_TOKEN), &format!("/api/alerts/{id}/acknowledge"), &json!({})).await;
    assert_eq!((status, ack["result"].as_str()), (StatusCode::OK, Some("now")), "{ack}");
    let (_, again) = console.post(Some(OPERATOR_TOKEN), &format!("/api/alerts/{id}/acknowledge"), &json!({})).await;
    assert_eq!(again["result"], "already");
    let by: Option<String> = sqlx::query_scalar("SELECT acknowledged_by FROM creation_alerts WHERE id = $1").bind(id).fetch_one(pool).await.expect("row");
    assert_eq!(by.as_deref(), Some("operator-token"));
    let (_, open) = console.get(Some(&viewer), "/api/alerts?open=true").await;
    assert_eq!(open["total"], 0);
    assert_eq!(console.post(Some(OPERATOR_TOKEN), "/api/alerts/999999/acknowledge", &json!({})).await.0, StatusCode::NOT_FOUND);
    console.cleanup().await;
}
