//! Alerts on unusual creation activity, read from `creation_alerts` (filled by the pipeline's
//! alert rules): list them, and acknowledge one. The table comes with the alerts migration; until
//! it is applied the page says so instead of failing.

use super::{PageOf, Paging};
use crate::redact::Redactor;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Alert {
    pub id: i64,
    pub rule: String,
    pub subject: String,
    pub details: Value,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub count: Option<i32>,
    pub fired_at: DateTime<Utc>,
    pub notified: Option<bool>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
}

/// The alerts, or `None` when the table does not exist in this database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertsPage {
    pub available: bool,
    #[serde(flatten)]
    pub page: PageOf<Alert>,
}

async fn table_exists(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT to_regclass('creation_alerts') IS NOT NULL").fetch_one(pool).await
}

/// Alerts newest first; `open_only` hides acknowledged ones.
pub async fn list(pool: &PgPool, open_only: bool, paging: Paging, r: &Redactor) -> Result<AlertsPage, sqlx::Error> {
    let empty = PageOf { total: 0, page: paging.page, per_page: paging.per_page, items: Vec::new() };
    if !table_exists(pool).await? {
        return Ok(AlertsPage { available: false, page: empty });
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM creation_alerts WHERE NOT $1 OR acknowledged_at IS NULL")
        .bind(open_only)
        .fetch_one(pool)
        .await?;
    let mut items: Vec<Alert> = sqlx::query_as(
        "SELECT id, rule, subject, details, window_start, window_end, count, fired_at, notified, acknowledged_at, acknowledged_by
         FROM creation_alerts WHERE NOT $1 OR acknowledged_at IS NULL ORDER BY fired_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(open_only)
    .bind(paging.limit())
    .bind(paging.offset())
    .fetch_all(pool)
    .await?;
    for a in &mut items {
        a.subject = r.text(&a.subject);
        a.details = r.json(std::mem::take(&mut a.details));
    }
    Ok(AlertsPage { available: true, page: PageOf { total, items, ..empty } })
}

/// What acknowledging did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acknowledged {
    Now,
    Already,
    NoSuchAlert,
}

/// Marks an alert acknowledged by `operator` (once: a second acknowledgement keeps the first).
pub async fn acknowledge(pool: &PgPool, id: i64, operator: &str) -> Result<Acknowledged, sqlx::Error> {
    if !table_exists(pool).await? {
        return Ok(Acknowledged::NoSuchAlert);
    }
    let state: Option<bool> = sqlx::query_scalar("SELECT acknowledged_at IS NOT NULL FROM creation_alerts WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    match state {
        None => Ok(Acknowledged::NoSuchAlert),
        Some(true) => Ok(Acknowledged::Already),
        Some(false) => {
            let done = sqlx::query(
                "UPDATE creation_alerts SET acknowledged_at = now(), acknowledged_by = $2 WHERE id = $1 AND acknowledged_at IS NULL",
            )
            .bind(id)
            .bind(operator)
            .execute(pool)
            .await?;
            Ok(if done.rows_affected() == 1 { Acknowledged::Now } else { Acknowledged::Already })
        }
    }
}
