//! An application's timeline: find it by id, number, client phone or creator, then see every stage
//! it went through with times, attempts and errors, the workflow transitions, the dead letters it
//! left and the notifications sent. Derived from `service_requests`, `rejected_requests`,
//! `staff_application_audit`, `workflow_transitions`, `notifications` and `dead_letters`.

use super::dead_letters::DeadLetterRow;
use crate::redact::Redactor;
use ariza_shared::domain::PhoneNumber;
use ariza_shared::topology::Stage;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// An application found by a search.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct ApplicationHit {
    pub id: Uuid,
    pub number: Option<i64>,
    pub kind: String,
    /// The workflow state, or `rejected`.
    pub state: String,
    pub creation_source: String,
    pub client_name: Option<String>,
    pub client_phone: Option<String>,
    pub creator_telegram_id: i64,
    pub creator_name: Option<String>,
    pub creator_role: Option<String>,
    pub at: DateTime<Utc>,
}

const HITS: &str = "
    SELECT r.id, r.number, r.kind, r.state, r.creation_source, c.full_name AS client_name, c.phone AS client_phone,
           r.creator_telegram_id, s.full_name AS creator_name, COALESCE(r.staff_creator_role, 'client') AS creator_role,
           r.created_at AS at
    FROM service_requests r JOIN clients c ON c.id = r.client_id LEFT JOIN staff s ON s.id = r.staff_creator_id
    WHERE ($1::uuid IS NULL OR r.id = $1)
      AND ($2::text IS NULL OR c.phone = $2)
      AND ($3::bigint IS NULL OR r.number = $3 OR r.creator_telegram_id = $3)
      AND ($4::text IS NULL OR s.full_name ILIKE $4 OR c.full_name ILIKE $4)
    UNION ALL
    SELECT j.application_id, NULL, j.kind, 'rejected', j.creation_source, j.payload->'client'->>'name',
           j.payload->'client'->>'phone', j.creator_telegram_id, s.full_name, j.claimed_role, j.created_at
    FROM rejected_requests j LEFT JOIN staff s ON s.telegram_id = j.creator_telegram_id
    WHERE ($1::uuid IS NULL OR j.application_id = $1)
      AND $2::text IS NULL
      AND ($3::bigint IS NULL OR j.creator_telegram_id = $3)
      AND ($4::text IS NULL OR s.full_name ILIKE $4 OR j.payload->'client'->>'name' ILIKE $4)
    ORDER BY at DESC
    LIMIT 100";

/// What a search text is: an application id, a phone number, a number (application number or a
/// creator's Telegram id) or a name (of the creator or the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    Id(Uuid),
    Phone(PhoneNumber),
    Number(i64),
    Name(String),
}

impl Search {
    pub fn parse(q: &str) -> Option<Search> {
        let q = q.trim();
        if q.is_empty() {
            return None;
        }
        if let Ok(id) = Uuid::parse_str(q) {
            return Some(Search::Id(id));
        }
        let digits = q.trim_start_matches('#').trim_start_matches('№');
        // A phone has 9 national digits; Telegram ids and application numbers are matched as numbers.
        let looks_like_phone = q.starts_with('+') || q.contains(' ') || q.contains('-') || digits.len() == 9 || digits.len() == 12;
        if looks_like_phone && let Ok(phone) = PhoneNumber::parse(q) {
            return Some(Search::Phone(phone));
        }
        if let Ok(n) = digits.parse::<i64>() {
            return Some(Search::Number(n));
        }
        Some(Search::Name(q.to_owned()))
    }
}

/// Applications (and rejected requests) matching a search, newest first.
pub async fn search(pool: &PgPool, q: &str, r: &Redactor) -> Result<Vec<ApplicationHit>, sqlx::Error> {
    let Some(search) = Search::parse(q) else { return Ok(Vec::new()) };
    let (id, phone, number, name) = match &search {
        Search::Id(id) => (Some(*id), None, None, None),
        Search::Phone(p) => (None, Some(p.as_str().to_owned()), None, None),
        Search::Number(n) => (None, None, Some(*n), None),
        Search::Name(n) => (None, None, None, Some(format!("%{}%", n.replace('%', "\\%").replace('_', "\\_")))),
    };
    let mut hits: Vec<ApplicationHit> =
        sqlx::query_as(HITS).bind(id).bind(phone).bind(number).bind(name).fetch_all(pool).await?;
    if hits.is_empty()
        && let Search::Id(id) = search
    {
        // It never got stored: perhaps it is only in the dead letters.
        let dead: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT max(last_failed_at) FROM dead_letters WHERE application_id = $1").bind(id).fetch_one(pool).await?;
        if let Some(at) = dead {
            hits.push(ApplicationHit {
                id,
                number: None,
                kind: String::new(),
                state: "dead_letter".into(),
                creation_source: String::new(),
                client_name: None,
                client_phone: None,
                creator_telegram_id: 0,
                creator_name: None,
                creator_role: None,
                at,
            });
        }
    }
    for hit in &mut hits {
        hit.client_phone = hit.client_phone.as_deref().map(|p| r.phone(p));
    }
    Ok(hits)
}

/// The stored application.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Summary {
    pub id: Uuid,
    pub number: i64,
    pub kind: String,
    pub state: String,
    pub creation_source: String,
    pub client_name: String,
    pub client_phone: String,
    pub address: String,
    pub creator_telegram_id: i64,
    pub creator_name: Option<String>,
    pub creator_role: Option<String>,
    pub assigned_role: Option<String>,
    pub correlation_id: Uuid,
    pub submitted_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A request the validation stage refused.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Rejection {
    pub kind: String,
    pub creation_source: String,
    pub claimed_role: String,
    pub creator_telegram_id: i64,
    pub reason_key: String,
    pub reason_text: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Transition {
    pub transition: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_role: String,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub recipient_kind: String,
    pub recipient_id: i64,
    pub template_key: String,
    pub language: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub text: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// How far a stage got with this application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageState {
    /// The stage's effect is committed.
    Done,
    /// Refused by the business rules (validation).
    Rejected,
    /// Its message is in the dead letters, not replayed.
    DeadLettered,
    /// Not reached (yet).
    Pending,
}

impl StageState {
    pub const fn as_str(self) -> &'static str {
        match self {
            StageState::Done => "done",
            StageState::Rejected => "rejected",
            StageState::DeadLettered => "dead_lettered",
            StageState::Pending => "pending",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageStatus {
    pub stage: String,
    pub state: StageState,
    /// When it finished (or failed last).
    pub at: Option<DateTime<Utc>>,
    /// Attempts that failed into a dead letter, plus the one that succeeded.
    pub attempts: i64,
    pub errors: Vec<String>,
}

/// One line of the timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub stage: Option<String>,
    /// `submitted`, `rejected`, `stored`, `transition`, `dead_lettered`, `replayed`, `discarded`,
    /// `notification_queued`, `notification_sent`.
    pub what: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timeline {
    pub application_id: Uuid,
    pub summary: Option<Summary>,
    pub rejection: Option<Rejection>,
    pub stages: Vec<StageStatus>,
    pub events: Vec<Event>,
    pub transitions: Vec<Transition>,
    pub notifications: Vec<NotificationRow>,
    pub dead_letters: Vec<DeadLetterRow>,
}

/// The timeline of one application; `None` when nothing at all is known about the id.
pub async fn timeline(pool: &PgPool, id: Uuid, r: &Redactor) -> Result<Option<Timeline>, sqlx::Error> {
    let summary: Option<Summary> = sqlx::query_as(
        "SELECT r.id, r.number, r.kind, r.state, r.creation_source, c.full_name AS client_name, c.phone AS client_phone,
                r.address, r.creator_telegram_id, s.full_name AS creator_name, COALESCE(r.staff_creator_role, 'client') AS creator_role,
                r.assigned_role, r.correlation_id, r.submitted_at, r.created_at
         FROM service_requests r JOIN clients c ON c.id = r.client_id LEFT JOIN staff s ON s.id = r.staff_creator_id
         WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let rejection: Option<Rejection> = sqlx::query_as(
        "SELECT kind, creation_source, claimed_role, creator_telegram_id, reason_key, reason_text, created_at
         FROM rejected_requests WHERE application_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let transitions: Vec<Transition> = sqlx::query_as(
        "SELECT transition, from_state, to_state, actor_role, comment, created_at FROM workflow_transitions WHERE application_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let notifications: Vec<NotificationRow> = sqlx::query_as(
        "SELECT id, recipient_kind, recipient_id, template_key, language, status, attempts, last_error, text, created_at, sent_at
         FROM notifications WHERE application_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let dead_letters: Vec<DeadLetterRow> = sqlx::query_as(
        "SELECT id, stage, reason, attempts, last_error, application_id, status, first_failed_at, last_failed_at,
                replayed_at, replay_count, discarded_at
         FROM dead_letters WHERE application_id = $1 ORDER BY last_failed_at",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let audited: Option<(DateTime<Utc>, Value)> =
        sqlx::query_as("SELECT created_at, details FROM staff_application_audit WHERE application_id = $1 AND action = 'created'")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    if summary.is_none() && rejection.is_none() && dead_letters.is_empty() {
        return Ok(None);
    }
    let mut t = Timeline { application_id: id, summary, rejection, stages: Vec::new(), events: Vec::new(), transitions, notifications, dead_letters };
    t.stages = Stage::ALL.iter().map(|s| stage_status(&t, *s)).collect();
    t.events = events(&t, audited.as_ref());
    redact(&mut t, r);
    Ok(Some(t))
}

fn stage_status(t: &Timeline, stage: Stage) -> StageStatus {
    let letters: Vec<&DeadLetterRow> = t.dead_letters.iter().filter(|d| d.stage.as_deref() == Some(stage.as_str())).collect();
    let failed_attempts: i64 = letters.iter().map(|d| i64::from(d.attempts)).sum();
    let mut errors: Vec<String> = letters.iter().filter_map(|d| d.last_error.clone()).collect();
    let done_at = match stage {
        Stage::Validation => t.summary.as_ref().map(|s| s.created_at),
        Stage::Persistence => t.summary.as_ref().map(|s| s.created_at),
        Stage::Workflow => t.transitions.first().map(|tr| tr.created_at),
        Stage::Notification => {
            let settled = !t.notifications.is_empty() && t.notifications.iter().all(|n| n.status != "pending");
            settled.then(|| t.notifications.iter().map(|n| n.sent_at.unwrap_or(n.created_at)).max()).flatten()
        }
    };
    if stage == Stage::Notification {
        errors.extend(t.notifications.iter().filter_map(|n| n.last_error.clone()));
    }
    let (state, at) = if stage == Stage::Validation
        && let Some(rej) = &t.rejection
    {
        errors.push(rej.reason_text.clone());
        (StageState::Rejected, Some(rej.created_at))
    } else if let Some(at) = done_at {
        (StageState::Done, Some(at))
    } else if let Some(dead) = letters.iter().rev().find(|d| d.status == "dead") {
        (StageState::DeadLettered, Some(dead.last_failed_at))
    } else {
        (StageState::Pending, None)
    };
    let succeeded = i64::from(matches!(state, StageState::Done | StageState::Rejected));
    StageStatus { stage: stage.as_str().to_owned(), state, at, attempts: failed_attempts + succeeded, errors }
}

fn events(t: &Timeline, audited: Option<&(DateTime<Utc>, Value)>) -> Vec<Event> {
    let mut ev = Vec::new();
    let mut push = |at: DateTime<Utc>, stage: Option<&str>, what: &str, detail: String| {
        ev.push(Event { at, stage: stage.map(str::to_owned), what: what.to_owned(), detail });
    };
    if let Some(s) = &t.summary {
        push(s.submitted_at, None, "submitted", format!("{} / {}", s.kind, s.creation_source));
        push(s.created_at, Some("persistence"), "stored", format!("#{}", s.number));
    }
    if let Some((at, details)) = audited {
        push(*at, Some("persistence"), "audited", details.get("selection_method").and_then(Value::as_str).unwrap_or_default().to_owned());
    }
    if let Some(rej) = &t.rejection {
        push(rej.created_at, Some("validation"), "rejected", rej.reason_text.clone());
    }
    for d in &t.dead_letters {
        let stage = d.stage.as_deref();
        push(d.last_failed_at, stage, "dead_lettered", format!("{} ({}): {}", d.reason, d.attempts, d.last_error.as_deref().unwrap_or("")));
        if let Some(at) = d.replayed_at {
            push(at, stage, "replayed", format!("#{}", d.id));
        }
        if let Some(at) = d.discarded_at {
            push(at, stage, "discarded", format!("#{}", d.id));
        }
    }
    for tr in &t.transitions {
        push(tr.created_at, Some("workflow"), "transition", format!("{}: {} → {} ({})", tr.transition, tr.from_state, tr.to_state, tr.actor_role));
    }
    for n in &t.notifications {
        let who = format!("{} {} · {}", n.recipient_kind, n.recipient_id, n.template_key);
        push(n.created_at, Some("notification"), "notification_queued", format!("{who}: {}", n.status));
        if let Some(at) = n.sent_at {
            push(at, Some("notification"), "notification_sent", who);
        }
    }
    ev.sort_by_key(|e| e.at);
    ev
}

fn redact(t: &mut Timeline, r: &Redactor) {
    if let Some(s) = &mut t.summary {
        s.client_phone = r.phone(&s.client_phone);
    }
    if let Some(rej) = &mut t.rejection {
        rej.reason_text = r.text(&rej.reason_text);
    }
    for n in &mut t.notifications {
        n.text = n.text.as_deref().map(|x| r.text(x));
        n.last_error = n.last_error.as_deref().map(|x| r.text(x));
    }
    for d in &mut t.dead_letters {
        d.last_error = d.last_error.as_deref().map(|x| r.text(x));
    }
    for s in &mut t.stages {
        s.errors = s.errors.iter().map(|e| r.text(e)).collect();
    }
    for e in &mut t.events {
        e.detail = r.text(&e.detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_text_is_read_as_what_it_looks_like() {
        let id = Uuid::new_v4();
        assert_eq!(Search::parse(&id.to_string()), Some(Search::Id(id)));
        assert!(matches!(Search::parse("+998 90 123 45 67"), Some(Search::Phone(_))));
        assert!(matches!(Search::parse("901234567"), Some(Search::Phone(_))));
        assert_eq!(Search::parse("1001"), Some(Search::Number(1001)));
        assert_eq!(Search::parse("#42"), Some(Search::Number(42)));
        assert_eq!(Search::parse("Olim"), Some(Search::Name("Olim".into())));
        assert_eq!(Search::parse("  "), None);
    }
}
