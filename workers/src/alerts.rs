//! Alerts on unusual creation activity. On a timer (`alerts.evaluate_interval_ms`) the rules of
//! `[alerts]` are evaluated against `service_requests`:
//!
//! - `staff_burst`: one staff member creating more than `max` applications within `minutes`;
//! - `client_phone_burst`: more than `max` applications for one client (one phone number) within
//!   `minutes`, whoever created them.
//!
//! **One burst, one alert.** For every creation the rule counts the subject's creations in the
//! `minutes` before it (inclusive). A creation whose count is above `max` while the subject's
//! previous creation's was not starts a burst; the creations after it, as long as each keeps the
//! count above `max`, belong to the same burst. The burst's first over-threshold creation
//! identifies it (`window_end`), and `creation_alerts` is unique on `(rule, subject, window_end)`,
//! so evaluating again on the next tick, or in another worker process at the same moment, stores
//! nothing new. The insert also runs under a transaction-scoped advisory lock per rule and
//! subject and skips a burst whose window already holds an alert's triggering creation, so a
//! creation committed late (with an earlier timestamp) cannot split one burst into two alerts.
//!
//! A stored alert is sent to every active administrator as a [`NotificationBatch`] published to
//! the notification stage, with dedupe keys derived from the alert id: delivery gets the
//! pipeline's retries, rate limits and at-most-once sends. `notified` is set after the broker
//! confirmed the publish; an alert whose publish did not happen is sent on the next tick.

use crate::broker::{PublishError, Publisher, message_properties};
use ariza_shared::config::{AlertSettings, BurstRule, Settings};
use ariza_shared::domain::{CorrelationId, NotificationBatch, NotificationRequest, Recipient, SCHEMA_VERSION, phone_mask};
use ariza_shared::errors::MessageArgs;
use ariza_shared::metrics::catalogue as m;
use ariza_shared::topology::{Stage, Topology};
use chrono::{DateTime, Utc};
use lapin::Connection;
use sqlx::PgPool;
use std::fmt;
use tokio_util::sync::CancellationToken;

/// A creation-activity rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    StaffBurst,
    ClientPhoneBurst,
}

impl Rule {
    pub const ALL: &'static [Rule] = &[Rule::StaffBurst, Rule::ClientPhoneBurst];

    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::StaffBurst => "staff_burst",
            Rule::ClientPhoneBurst => "client_phone_burst",
        }
    }

    /// The message sent to administrators, in `locales/*/main.ftl`.
    pub const fn template(self) -> &'static str {
        match self {
            Rule::StaffBurst => "alert-staff-burst",
            Rule::ClientPhoneBurst => "alert-client-phone-burst",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        Self::ALL.iter().copied().find(|r| r.as_str() == s)
    }

    fn settings(self, alerts: &AlertSettings) -> BurstRule {
        match self {
            Rule::StaffBurst => alerts.staff_burst,
            Rule::ClientPhoneBurst => alerts.client_phone_burst,
        }
    }

    /// `subject` of an alert about `id` (a `staff.id` or a `clients.id`).
    fn subject(self, id: i64) -> String {
        match self {
            Rule::StaffBurst => format!("staff:{id}"),
            Rule::ClientPhoneBurst => format!("client:{id}"),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A burst found by an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct Burst {
    subject_id: i64,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    count: i64,
}

/// The bursts of `rule` that started within the last `lookback_minutes`. The query reads the
/// creations of the lookback plus one rule window, so every creation it judges has its full
/// window; the indexes on `(staff_creator_id, created_at)` and `(client_id, created_at)` and on
/// `created_at` serve it.
async fn bursts(pool: &PgPool, rule: Rule, burst: BurstRule, lookback_minutes: u32) -> Result<Vec<Burst>, sqlx::Error> {
    let (subject, filter) = match rule {
        Rule::StaffBurst => ("staff_creator_id", "created_by_staff AND staff_creator_id IS NOT NULL AND"),
        Rule::ClientPhoneBurst => ("client_id", ""),
    };
    let sql = format!(
        "WITH recent AS (
             SELECT {subject} AS subject_id, id, created_at FROM service_requests
              WHERE {filter} created_at >= now() - make_interval(mins => $1 + $2)
         ),
         counted AS (
             SELECT subject_id, id, created_at, count(*) OVER w AS n, min(created_at) OVER w AS window_start
               FROM recent
             WINDOW w AS (PARTITION BY subject_id ORDER BY created_at
                          RANGE BETWEEN make_interval(mins => $2) PRECEDING AND CURRENT ROW)
         ),
         flagged AS (
             SELECT *, coalesce(lag(n > $3) OVER (PARTITION BY subject_id ORDER BY created_at, id), false) AS previous_over
               FROM counted
         )
         SELECT subject_id, window_start, created_at AS window_end, n AS count
           FROM flagged
          WHERE n > $3 AND NOT previous_over AND created_at >= now() - make_interval(mins => $1)
          ORDER BY window_end, subject_id"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(i32::try_from(lookback_minutes).unwrap_or(i32::MAX))
        .bind(i32::try_from(burst.minutes).unwrap_or(i32::MAX))
        .bind(i64::from(burst.max))
        .fetch_all(pool)
        .await
}

/// What an alert says about its subject, stored in `details` and used for the message.
async fn details(pool: &PgPool, rule: Rule, burst: &Burst, settings: BurstRule) -> Result<serde_json::Value, sqlx::Error> {
    let mut details = match rule {
        Rule::StaffBurst => {
            let row: Option<(i64, String, String)> =
                sqlx::query_as("SELECT telegram_id, full_name, role FROM staff WHERE id = $1").bind(burst.subject_id).fetch_optional(pool).await?;
            let (telegram_id, full_name, role) = row.unwrap_or_default();
            serde_json::json!({ "staff_id": burst.subject_id, "telegram_id": telegram_id, "full_name": full_name, "role": role })
        }
        Rule::ClientPhoneBurst => {
            let row: Option<(String, String)> =
                sqlx::query_as("SELECT full_name, phone FROM clients WHERE id = $1").bind(burst.subject_id).fetch_optional(pool).await?;
            let (full_name, phone) = row.unwrap_or_default();
            serde_json::json!({ "client_id": burst.subject_id, "full_name": full_name, "phone": phone, "phone_masked": phone_mask(&phone) })
        }
    };
    if let Some(map) = details.as_object_mut() {
        map.insert("max".into(), settings.max.into());
        map.insert("minutes".into(), settings.minutes.into());
    }
    Ok(details)
}

/// Stores the alert of a burst unless it is stored already; returns the new alert's id.
async fn store(pool: &PgPool, rule: Rule, burst: &Burst, details: &serde_json::Value) -> Result<Option<i64>, sqlx::Error> {
    let subject = rule.subject(burst.subject_id);
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("ariza-alert:{rule}:{subject}"))
        .execute(&mut *tx)
        .await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO creation_alerts (rule, subject, details, window_start, window_end, count)
         SELECT $1, $2, $3, $4, $5, $6
          WHERE NOT EXISTS (SELECT 1 FROM creation_alerts
                             WHERE rule = $1 AND subject = $2 AND window_end BETWEEN $4 AND $5)
         ON CONFLICT (rule, subject, window_end) DO NOTHING
         RETURNING id",
    )
    .bind(rule.as_str())
    .bind(&subject)
    .bind(details)
    .bind(burst.window_start)
    .bind(burst.window_end)
    .bind(i32::try_from(burst.count).unwrap_or(i32::MAX))
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Evaluates every enabled rule once; returns the ids of the alerts it stored.
pub async fn evaluate(pool: &PgPool, settings: &AlertSettings) -> Result<Vec<i64>, sqlx::Error> {
    let mut fired = Vec::new();
    for rule in Rule::ALL {
        let burst_rule = rule.settings(settings);
        if !burst_rule.enabled {
            continue;
        }
        for burst in bursts(pool, *rule, burst_rule, settings.lookback_minutes).await? {
            let details = details(pool, *rule, &burst, burst_rule).await?;
            if let Some(id) = store(pool, *rule, &burst, &details).await? {
                tracing::warn!(alert_id = id, rule = rule.as_str(), subject = rule.subject(burst.subject_id), count = burst.count,
                    "creation-activity alert raised");
                metrics::counter!(m::CREATION_ALERTS, "rule" => rule.as_str()).increment(1);
                fired.push(id);
            }
        }
    }
    Ok(fired)
}

/// An alert still to be sent.
#[derive(Debug, sqlx::FromRow)]
struct Unsent {
    id: i64,
    rule: String,
    details: sqlx::types::Json<serde_json::Value>,
    count: i32,
}

/// The message arguments of an alert. Phone numbers only ever appear masked.
fn message_args(alert: &Unsent) -> MessageArgs {
    let d = &alert.details.0;
    let text = |key: &str| d.get(key).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    let mut args = MessageArgs::new();
    args.insert("alert_id".into(), alert.id.into());
    args.insert("count".into(), alert.count.into());
    args.insert("max".into(), d.get("max").cloned().unwrap_or_default());
    args.insert("minutes".into(), d.get("minutes").cloned().unwrap_or_default());
    match Rule::parse(&alert.rule) {
        Some(Rule::StaffBurst) => {
            args.insert("staff_name".into(), text("full_name").into());
            let role = format!("role-{}", text("role").replace('_', "-"));
            args.insert("role".into(), ariza_shared::i18n::nested(&role, &MessageArgs::new()));
        }
        Some(Rule::ClientPhoneBurst) | None => {
            args.insert("client_name".into(), text("full_name").into());
            args.insert("phone".into(), phone_mask(&text("phone")).into());
        }
    }
    args
}

/// Why sending the stored alerts stopped.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("publishing: {0}")]
    Publish(#[from] PublishError),
}

/// Publishes every alert not sent yet to the notification stage, one message per active
/// administrator; returns how many alerts were handed over.
pub async fn notify(pool: &PgPool, publisher: &Publisher, topology: &Topology) -> Result<usize, NotifyError> {
    let unsent: Vec<Unsent> =
        sqlx::query_as("SELECT id, rule, details, count FROM creation_alerts WHERE NOT notified ORDER BY id LIMIT 100")
            .fetch_all(pool)
            .await?;
    if unsent.is_empty() {
        return Ok(0);
    }
    let admins: Vec<i64> = sqlx::query_scalar("SELECT id FROM staff WHERE active AND role = 'administrator' ORDER BY id")
        .fetch_all(pool)
        .await?;
    if admins.is_empty() {
        tracing::warn!(alerts = unsent.len(), "no active administrator to send creation-activity alerts to; they stay in the console");
    }
    for alert in &unsent {
        if !admins.is_empty() {
            let template = Rule::parse(&alert.rule).map_or("alert-staff-burst", Rule::template);
            let args = message_args(alert);
            let items = admins
                .iter()
                .map(|admin| NotificationRequest {
                    recipient: Recipient::Staff { id: *admin },
                    template: template.to_owned(),
                    args: args.clone(),
                    dedupe_key: format!("alert:{}:staff:{admin}", alert.id),
                    markup: None,
                })
                .collect();
            let correlation_id = CorrelationId::new();
            let batch = NotificationBatch { schema: SCHEMA_VERSION, correlation_id, application_id: None, items };
            let body = serde_json::to_vec(&batch).unwrap_or_default();
            let props = message_properties(&correlation_id.to_string(), None, 1);
            publisher.publish(&topology.work_exchange(), Stage::Notification.as_str(), &body, props).await?;
        }
        sqlx::query("UPDATE creation_alerts SET notified = true WHERE id = $1").bind(alert.id).execute(pool).await?;
    }
    Ok(unsent.len())
}

/// Evaluates and sends on a timer until shutdown (`Ok`) or a broken broker connection (`Err`, and
/// the supervisor reconnects). A database error skips one tick.
pub async fn run_alerts(
    pool: &PgPool,
    settings: &Settings,
    topology: &Topology,
    conn: &Connection,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    if !settings.alerts.enabled {
        tracing::info!("creation-activity alerts are off (alerts.enabled = false)");
        shutdown.cancelled().await;
        return Ok(());
    }
    let channel = conn.create_channel().await?;
    crate::broker::declare(&channel, topology).await?;
    let publisher = Publisher::open(conn).await?;
    for rule in Rule::ALL {
        // Registered at zero, so an alert rule over `increase()` sees the first one.
        metrics::counter!(m::CREATION_ALERTS, "rule" => rule.as_str()).increment(0);
    }
    let ok = metrics::counter!(m::ALERT_EVALUATIONS, "result" => "ok");
    let failed = metrics::counter!(m::ALERT_EVALUATIONS, "result" => "failed");
    let mut tick = tokio::time::interval(settings.alerts.evaluate_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            _ = tick.tick() => {}
        }
        match evaluate(pool, &settings.alerts).await {
            Ok(_) => ok.increment(1),
            Err(e) => {
                failed.increment(1);
                tracing::warn!(error = %e, "could not evaluate the creation-activity rules");
                continue;
            }
        }
        match notify(pool, &publisher, topology).await {
            Ok(_) => {}
            Err(NotifyError::Database(e)) => tracing::warn!(error = %e, "could not send creation-activity alerts"),
            Err(NotifyError::Publish(e)) if publisher.is_usable() => {
                tracing::warn!(error = %e, "could not publish a creation-activity alert; trying again on the next tick");
            }
            Err(NotifyError::Publish(e)) => break Err(anyhow::Error::from(e).context("publishing creation-activity alerts")),
        }
    };
    let bound = std::time::Duration::from_secs(5);
    tokio::time::timeout(bound, publisher.close()).await.ok();
    tokio::time::timeout(bound, channel.close(200, lapin::types::ShortString::from("alerts stopped"))).await.ok();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_have_stable_names_and_templates() {
        for rule in Rule::ALL {
            assert_eq!(Rule::parse(rule.as_str()), Some(*rule));
            assert!(rule.template().starts_with("alert-"));
        }
        assert_eq!(Rule::StaffBurst.subject(7), "staff:7");
        assert_eq!(Rule::ClientPhoneBurst.subject(9), "client:9");
    }

    #[test]
    fn alert_messages_carry_only_masked_phones() {
        let alert = Unsent {
            id: 5,
            rule: "client_phone_burst".into(),
            details: sqlx::types::Json(serde_json::json!({ "full_name": "Dilnoza", "phone": "+998901234567", "max": 3, "minutes": 60 })),
            count: 4,
        };
        let args = message_args(&alert);
        let phone = args.get("phone").and_then(serde_json::Value::as_str).unwrap_or_default();
        assert_ne!(phone, "+998901234567");
        assert!(!phone.contains("1234567"), "{phone}");
        assert_eq!(args.get("count"), Some(&serde_json::json!(4)));
    }
}
