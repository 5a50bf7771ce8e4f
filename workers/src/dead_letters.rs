//! What operators do with dead letters: list them (from the table the archiver fills, never by
//! consuming a queue), replay them to the stage they died in, or discard them. A replay is marked
//! only after the broker confirmed the republished message.

use crate::broker::{HeaderExt as _, Publisher, message_properties};
use ariza_shared::envelope;
use ariza_shared::topology::{Stage, Topology};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// A stored dead letter.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadLetter {
    pub id: i64,
    pub stage: Option<String>,
    pub reason: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub application_id: Option<uuid::Uuid>,
    pub correlation_id: Option<String>,
    pub status: String,
    pub first_failed_at: Option<DateTime<Utc>>,
    pub last_failed_at: DateTime<Utc>,
    pub replay_count: i32,
    pub payload: Vec<u8>,
    pub headers: serde_json::Value,
    pub death_history: serde_json::Value,
}

/// Which dead letters to list, replay or discard.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub ids: Option<Vec<i64>>,
    pub stage: Option<String>,
    pub reason: Option<String>,
    /// `dead` (the default), `replayed`, `discarded`, or any with `all`.
    pub status: Option<String>,
    /// Matches the error text or the payload.
    pub text: Option<String>,
    pub limit: i64,
}

fn status_filter(filter: &Filter) -> Option<String> {
    match filter.status.as_deref() {
        Some("all") => None,
        Some(s) => Some(s.to_owned()),
        None => Some("dead".to_owned()),
    }
}

/// Dead letters matching `filter`, newest first.
pub async fn list(pool: &PgPool, filter: &Filter) -> Result<Vec<DeadLetter>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, stage, reason, attempts, last_error, application_id, correlation_id, status, first_failed_at,
                last_failed_at, replay_count, payload, headers, death_history
         FROM dead_letters
         WHERE ($1::bigint[] IS NULL OR id = ANY($1))
           AND ($2::text IS NULL OR stage = $2)
           AND ($3::text IS NULL OR reason = $3)
           AND ($4::text IS NULL OR status = $4)
           AND ($5::text IS NULL OR last_error ILIKE '%' || $5 || '%' OR convert_from(payload, 'UTF8') ILIKE '%' || $5 || '%')
         ORDER BY last_failed_at DESC, id DESC
         LIMIT $6",
    )
    .bind(filter.ids.as_deref())
    .bind(&filter.stage)
    .bind(&filter.reason)
    .bind(status_filter(filter))
    .bind(&filter.text)
    .bind(if filter.limit > 0 { filter.limit } else { 100 })
    .fetch_all(pool)
    .await
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub replayed: Vec<i64>,
    /// Rows that could not be replayed, with why (no known stage, no longer dead).
    pub skipped: Vec<(i64, String)>,
}

/// Republishes each matching dead letter to its stage with a fresh attempt count, and marks it
/// replayed once the broker confirmed it.
pub async fn replay(pool: &PgPool, publisher: &Publisher, topology: &Topology, filter: &Filter) -> anyhow::Result<ReplayReport> {
    let mut report = ReplayReport::default();
    let candidates = list(pool, &Filter { status: Some("dead".into()), ..filter.clone() }).await?;
    for letter in candidates {
        let Some(stage) = letter.stage.as_deref().and_then(|s| s.parse::<Stage>().ok()) else {
            report.skipped.push((letter.id, "the stage it died in is unknown".into()));
            continue;
        };
        let mut tx = pool.begin().await?;
        // Lock the row, and skip it if someone else replayed or discarded it meanwhile.
        let still_dead: Option<i64> =
            sqlx::query_scalar("SELECT id FROM dead_letters WHERE id = $1 AND status = 'dead' FOR UPDATE SKIP LOCKED")
                .bind(letter.id)
                .fetch_optional(&mut *tx)
                .await?;
        if still_dead.is_none() {
            report.skipped.push((letter.id, "no longer dead".into()));
            continue;
        }
        let correlation = letter.correlation_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let application = letter.application_id.map(|a| a.to_string());
        let mut props = message_properties(&correlation, application.as_deref(), 1);
        if let Some(mut headers) = props.headers().clone() {
            headers.set_u64(envelope::REPLAY_OF, u64::try_from(letter.id).unwrap_or_default());
            props = props.with_headers(headers);
        }
        publisher.publish(&topology.work_exchange(), stage.as_str(), &letter.payload, props).await?;
        sqlx::query(
            "UPDATE dead_letters SET status = 'replayed', replayed_at = now(), replay_count = replay_count + 1 WHERE id = $1",
        )
        .bind(letter.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(dead_letter = letter.id, %stage, "dead letter replayed");
        report.replayed.push(letter.id);
    }
    Ok(report)
}

/// Marks matching dead letters discarded; returns their ids.
pub async fn discard(pool: &PgPool, filter: &Filter) -> Result<Vec<i64>, sqlx::Error> {
    let ids: Vec<i64> = list(pool, &Filter { status: Some("dead".into()), ..filter.clone() }).await?.into_iter().map(|d| d.id).collect();
    sqlx::query_scalar(
        "UPDATE dead_letters SET status = 'discarded', discarded_at = now() WHERE id = ANY($1) AND status = 'dead' RETURNING id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
}
