//! Dead letters, read from the `dead_letters` table the archiver fills (the queue itself is never
//! consumed or requeued to look at it): list with filters and paging, grouped by reason, one in
//! full; replay and discard through [`ariza_workers::dead_letters`], which republishes with
//! confirms and marks a letter replayed only after the broker confirmed it.

use super::{PageOf, Paging, non_blank};
use crate::redact::Redactor;
use ariza_shared::topology::Topology;
use ariza_workers::broker::Publisher;
use ariza_workers::dead_letters::{self as worker, Filter};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;

/// Which dead letters: by stage, reason, status (`dead` by default, `all` for any) and text in
/// the error, the payload or the application id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl DeadLetterFilter {
    /// Blank fields dropped, the status checked.
    pub fn normalised(&self) -> Result<Self, String> {
        let status = non_blank(self.status.as_deref());
        if let Some(s) = &status
            && !["dead", "replayed", "discarded", "all"].contains(&s.as_str())
        {
            return Err(format!("unknown status {s:?}: dead, replayed, discarded or all"));
        }
        Ok(Self {
            stage: non_blank(self.stage.as_deref()),
            reason: non_blank(self.reason.as_deref()),
            status,
            text: non_blank(self.text.as_deref()),
        })
    }

    /// The status to match: `dead` unless asked otherwise, none for `all`.
    fn status_param(&self) -> Option<&str> {
        match self.status.as_deref() {
            Some("all") => None,
            Some(s) => Some(s),
            None => Some("dead"),
        }
    }

    /// The same filter restricted to letters still dead: what replay and discard act on.
    fn dead_only(&self) -> Self {
        Self { status: Some("dead".into()), ..self.clone() }
    }
}

/// `text` for ILIKE, with its wildcards taken literally.
fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

const WHERE: &str = "WHERE ($1::text IS NULL OR stage = $1)
   AND ($2::text IS NULL OR reason = $2)
   AND ($3::text IS NULL OR status = $3)
   AND ($4::text IS NULL OR last_error ILIKE $4 OR encode(payload, 'escape') ILIKE $4
        OR application_id::text ILIKE $4 OR correlation_id ILIKE $4)";

/// A dead letter in a list.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct DeadLetterRow {
    pub id: i64,
    pub stage: Option<String>,
    pub reason: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub application_id: Option<uuid::Uuid>,
    pub status: String,
    pub first_failed_at: Option<DateTime<Utc>>,
    pub last_failed_at: DateTime<Utc>,
    pub replayed_at: Option<DateTime<Utc>>,
    pub replay_count: i32,
    pub discarded_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, stage, reason, attempts, last_error, application_id, status, first_failed_at, last_failed_at,
    replayed_at, replay_count, discarded_at";

fn redact_row(mut row: DeadLetterRow, r: &Redactor) -> DeadLetterRow {
    row.last_error = row.last_error.map(|e| r.text(&e));
    row
}

/// One page of dead letters matching `filter`, newest failure first.
pub async fn list(pool: &PgPool, filter: &DeadLetterFilter, paging: Paging, r: &Redactor) -> Result<PageOf<DeadLetterRow>, sqlx::Error> {
    let text = filter.text.as_deref().map(like_pattern);
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM dead_letters {WHERE}")))
        .bind(&filter.stage)
        .bind(&filter.reason)
        .bind(filter.status_param())
        .bind(&text)
        .fetch_one(pool)
        .await?;
    let rows: Vec<DeadLetterRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM dead_letters {WHERE} ORDER BY last_failed_at DESC, id DESC LIMIT $5 OFFSET $6"
    )))
    .bind(&filter.stage)
    .bind(&filter.reason)
    .bind(filter.status_param())
    .bind(&text)
    .bind(paging.limit())
    .bind(paging.offset())
    .fetch_all(pool)
    .await?;
    Ok(PageOf { total, page: paging.page, per_page: paging.per_page, items: rows.into_iter().map(|row| redact_row(row, r)).collect() })
}

/// Dead letters matching a filter, counted by reason.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct ReasonGroup {
    pub reason: String,
    pub count: i64,
    pub stages: Vec<String>,
    pub first_failed_at: Option<DateTime<Utc>>,
    pub last_failed_at: Option<DateTime<Utc>>,
}

pub async fn group_by_reason(pool: &PgPool, filter: &DeadLetterFilter) -> Result<Vec<ReasonGroup>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT reason, count(*) AS count, array_remove(array_agg(DISTINCT stage), NULL) AS stages,
                min(COALESCE(first_failed_at, last_failed_at)) AS first_failed_at, max(last_failed_at) AS last_failed_at
         FROM dead_letters {WHERE} GROUP BY reason ORDER BY count(*) DESC, reason"
    )))
    .bind(&filter.stage)
    .bind(&filter.reason)
    .bind(filter.status_param())
    .bind(filter.text.as_deref().map(like_pattern))
    .fetch_all(pool)
    .await
}

/// The distinct stages and reasons there are, for the filter form.
pub async fn facets(pool: &PgPool) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    let stages = sqlx::query_scalar("SELECT DISTINCT stage FROM dead_letters WHERE stage IS NOT NULL ORDER BY 1").fetch_all(pool).await?;
    let reasons = sqlx::query_scalar("SELECT DISTINCT reason FROM dead_letters ORDER BY 1").fetch_all(pool).await?;
    Ok((stages, reasons))
}

/// One dead letter in full.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetterDetail {
    #[serde(flatten)]
    pub row: DeadLetterRow,
    pub source_queue: Option<String>,
    pub correlation_id: Option<String>,
    pub message_id: Option<String>,
    pub archived_at: DateTime<Utc>,
    /// The body as text (lossy when it is not UTF-8).
    pub payload: String,
    /// The body as JSON, when it is JSON.
    pub payload_json: Option<Value>,
    pub headers: Value,
    /// The broker's `x-death` entries: each queue it died in, why, how often, when.
    pub death_history: Value,
}

#[derive(sqlx::FromRow)]
struct DetailExtra {
    source_queue: Option<String>,
    correlation_id: Option<String>,
    message_id: Option<String>,
    archived_at: DateTime<Utc>,
    payload: Vec<u8>,
    headers: Value,
    death_history: Value,
}

pub async fn detail(pool: &PgPool, id: i64, r: &Redactor) -> Result<Option<DeadLetterDetail>, sqlx::Error> {
    let row: Option<DeadLetterRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM dead_letters WHERE id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let extra: DetailExtra = sqlx::query_as(
        "SELECT source_queue, correlation_id, message_id, archived_at, payload, headers, death_history FROM dead_letters WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    let payload_json = serde_json::from_slice::<Value>(&extra.payload).ok().map(|v| r.json(v));
    Ok(Some(DeadLetterDetail {
        row: redact_row(row, r),
        source_queue: extra.source_queue,
        correlation_id: extra.correlation_id,
        message_id: extra.message_id,
        archived_at: extra.archived_at,
        payload: r.text(&String::from_utf8_lossy(&extra.payload)),
        payload_json,
        headers: r.json(extra.headers),
        death_history: r.json(extra.death_history),
    }))
}

/// What an action applies to: the given ids, or every dead letter matching the filter.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Selection {
    #[serde(default)]
    pub ids: Vec<i64>,
    /// Act on everything the filter matches (needed when `ids` is empty, so an empty request
    /// never touches every dead letter by accident).
    #[serde(default)]
    pub all_matching: bool,
    #[serde(default)]
    pub filter: DeadLetterFilter,
}

impl Selection {
    /// The ids of the still-dead letters this selection names.
    pub async fn resolve(&self, pool: &PgPool) -> Result<Vec<i64>, SelectionError> {
        let filter = self.filter.normalised().map_err(SelectionError::Bad)?.dead_only();
        if !self.ids.is_empty() {
            return Ok(sqlx::query_scalar("SELECT id FROM dead_letters WHERE id = ANY($1) AND status = 'dead' ORDER BY id")
                .bind(&self.ids)
                .fetch_all(pool)
                .await?);
        }
        if !self.all_matching {
            return Err(SelectionError::Bad("name the dead letters (ids), or set all_matching with a filter".into()));
        }
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT id FROM dead_letters {WHERE} ORDER BY id")))
            .bind(&filter.stage)
            .bind(&filter.reason)
            .bind(filter.status_param())
            .bind(filter.text.as_deref().map(like_pattern))
            .fetch_all(pool)
            .await
            .map_err(SelectionError::from)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    #[error("{0}")]
    Bad(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What a replay did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReplayOutcome {
    pub replayed: Vec<i64>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Skipped {
    pub id: i64,
    pub why: String,
}

/// Replays `ids` in chunks: each letter is republished to its stage and marked replayed after the
/// broker's confirm (by [`ariza_workers::dead_letters::replay`]).
pub async fn replay(pool: &PgPool, publisher: &Publisher, topology: &Topology, ids: &[i64]) -> anyhow::Result<ReplayOutcome> {
    let mut outcome = ReplayOutcome::default();
    for chunk in ids.chunks(500) {
        let filter = Filter { ids: Some(chunk.to_vec()), limit: i64::try_from(chunk.len()).unwrap_or(500), ..Filter::default() };
        let report = worker::replay(pool, publisher, topology, &filter).await?;
        outcome.replayed.extend(report.replayed);
        outcome.skipped.extend(report.skipped.into_iter().map(|(id, why)| Skipped { id, why }));
        // A letter no longer dead when the chunk was read is neither replayed nor skipped there.
        let seen: Vec<i64> = outcome.replayed.iter().chain(outcome.skipped.iter().map(|s| &s.id)).copied().collect();
        for id in chunk.iter().filter(|id| !seen.contains(id)) {
            outcome.skipped.push(Skipped { id: *id, why: "no longer dead".into() });
        }
    }
    Ok(outcome)
}

/// Discards `ids` (those still dead); returns the ones discarded.
pub async fn discard(pool: &PgPool, ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    let mut discarded = Vec::new();
    for chunk in ids.chunks(500) {
        let filter = Filter { ids: Some(chunk.to_vec()), limit: i64::try_from(chunk.len()).unwrap_or(500), ..Filter::default() };
        discarded.extend(worker::discard(pool, &filter).await?);
    }
    Ok(discarded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_search_text_are_literal() {
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
    }

    #[test]
    fn an_unknown_status_is_refused_and_blanks_are_dropped() {
        let f = DeadLetterFilter { stage: Some(" ".into()), status: Some("gone".into()), ..DeadLetterFilter::default() };
        assert!(f.normalised().is_err());
        let f = DeadLetterFilter { stage: Some(" ".into()), reason: Some("malformed".into()), ..DeadLetterFilter::default() };
        let n = f.normalised().expect("valid");
        assert_eq!(n.stage, None);
        assert_eq!(n.status_param(), Some("dead"));
        assert_eq!(DeadLetterFilter { status: Some("all".into()), ..n }.status_param(), None);
    }
}
