//! Reading applications for the participants' and clients' screens: the lists (newest first,
//! paged), one application's card, the technicians to assign. Read-only: every change goes
//! through the pipeline as a transition request.

use crate::people::Person;
use crate::session::ListKind;
use ariza_shared::domain::{ApplicationId, ApplicationKind, Role};
use ariza_shared::permissions;
use ariza_shared::workflow::{self, State, TransitionName, WORKFLOW};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// An application as the bot shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppView {
    pub id: uuid::Uuid,
    pub number: i64,
    pub kind: String,
    pub state: String,
    pub client_id: i64,
    pub client_name: String,
    pub client_phone: String,
    pub address: String,
    pub tariff: Option<String>,
    pub problem: Option<String>,
    pub comment: Option<String>,
    pub creation_source: String,
    pub creator_name: Option<String>,
    pub creator_role: Option<String>,
    pub assigned_staff_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub rating: Option<i16>,
    pub rating_comment: Option<String>,
    pub completion_report: Option<String>,
    pub cancel_reason: Option<String>,
}

impl AppView {
    pub fn kind(&self) -> ApplicationKind {
        self.kind.parse().unwrap_or(ApplicationKind::Connection)
    }

    pub fn state(&self) -> State {
        self.state.parse().unwrap_or(State::New)
    }

    pub fn app_id(&self) -> ApplicationId {
        ApplicationId(self.id)
    }

    pub fn creator_role(&self) -> Option<Role> {
        self.creator_role.as_deref().and_then(|r| r.parse().ok())
    }
}

/// The query of an application as the bot shows it, with `$tail` (its WHERE clause and order).
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT r.id, r.number, r.kind, r.state, r.client_id, c.full_name AS client_name, c.phone AS client_phone,
                    r.address, r.tariff, r.problem, r.comment, r.creation_source, s.full_name AS creator_name,
                    r.staff_creator_role AS creator_role, r.assigned_staff_id, a.full_name AS assignee_name, r.created_at,
                    r.rating, r.rating_comment, r.completion_report, r.cancel_reason
             FROM service_requests r
             JOIN clients c ON c.id = r.client_id
             LEFT JOIN staff s ON s.id = r.staff_creator_id
             LEFT JOIN staff a ON a.id = r.assigned_staff_id ",
            $tail
        )
    };
}

/// One page of a list and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub rows: Vec<AppView>,
    pub total: i64,
}

/// The states an application waits in for `role`.
pub fn waiting_states(role: Role) -> &'static [&'static str] {
    match role {
        Role::Manager => &["awaiting_manager"],
        Role::Controller => &["awaiting_controller"],
        Role::Administrator => &["awaiting_manager", "awaiting_controller"],
        _ => &[],
    }
}

const OPEN_WORK: &[&str] = &["assigned", "in_progress", "waiting_equipment"];

fn owned(states: &[&str]) -> Vec<String> {
    states.iter().map(|s| (*s).to_owned()).collect()
}

/// The `page`th page of `list` for `person`, newest first.
pub async fn list(pool: &PgPool, person: &Person, list: ListKind, page: u32, size: u16) -> Result<Page, sqlx::Error> {
    // Someone without the record a list needs matches nothing (-1 is no id).
    let (states, assignee, client): (Option<Vec<String>>, Option<i64>, Option<i64>) = match list {
        ListKind::Waiting => (Some(owned(waiting_states(person.role))), None, None),
        ListKind::MyWork => (Some(owned(OPEN_WORK)), Some(person.staff_id().unwrap_or(-1)), None),
        ListKind::Mine => (None, None, Some(person.client().map_or(-1, |c| c.id))),
    };
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM service_requests r
         WHERE ($1::text[] IS NULL OR r.state = ANY($1)) AND ($2::bigint IS NULL OR r.assigned_staff_id = $2)
           AND ($3::bigint IS NULL OR r.client_id = $3)",
    )
    .bind(states.clone())
    .bind(assignee)
    .bind(client)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as(select!(
        "WHERE ($1::text[] IS NULL OR r.state = ANY($1)) AND ($2::bigint IS NULL OR r.assigned_staff_id = $2)
           AND ($3::bigint IS NULL OR r.client_id = $3)
         ORDER BY r.created_at DESC, r.number DESC LIMIT $4 OFFSET $5"
    ))
    .bind(states)
    .bind(assignee)
    .bind(client)
    .bind(i64::from(size))
    .bind(i64::from(page) * i64::from(size))
    .fetch_all(pool)
    .await?;
    Ok(Page { rows, total })
}

pub async fn by_id(pool: &PgPool, id: ApplicationId) -> Result<Option<AppView>, sqlx::Error> {
    sqlx::query_as(select!("WHERE r.id = $1")).bind(id.0).fetch_optional(pool).await
}

pub async fn by_number(pool: &PgPool, number: i64) -> Result<Option<AppView>, sqlx::Error> {
    sqlx::query_as(select!("WHERE r.number = $1")).bind(number).fetch_optional(pool).await
}

/// Whether `person` may see `app`: staff see every application, a client only their own.
pub fn may_see(person: &Person, app: &AppView) -> bool {
    match person.role {
        Role::Client => person.client().is_some_and(|c| c.id == app.client_id),
        _ => person.staff_id().is_some(),
    }
}

/// The actions `person` may take on `app` now: allowed by the role, legal from the current
/// state, and, for a technician's work, only on what is assigned to them.
pub fn actions(person: &Person, app: &AppView) -> Vec<TransitionName> {
    if !may_see(person, app) {
        return Vec::new();
    }
    let (kind, state) = (app.kind(), app.state());
    let mut out: Vec<TransitionName> = Vec::new();
    for t in WORKFLOW {
        if t.name == TransitionName::Route || out.contains(&t.name) {
            continue;
        }
        if workflow::find(t.name, kind, state).is_err() || permissions::check_transition(person.role, t.name).is_err() {
            continue;
        }
        let needs_assignee = matches!(
            t.name,
            TransitionName::Start | TransitionName::WaitEquipment | TransitionName::Resume | TransitionName::Complete
        );
        if needs_assignee && (person.staff_id().is_none() || app.assigned_staff_id != person.staff_id()) {
            continue;
        }
        out.push(t.name);
    }
    out
}

/// A technician who can be assigned, with how much open work they have.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Technician {
    pub id: i64,
    pub full_name: String,
    pub open: i64,
}

/// Active technicians, the least busy first.
pub async fn technicians(pool: &PgPool, page: u32, size: u16) -> Result<(Vec<Technician>, i64), sqlx::Error> {
    let open = owned(OPEN_WORK);
    let rows = sqlx::query_as(
        "SELECT s.id, s.full_name, count(r.id) AS open
         FROM staff s LEFT JOIN service_requests r ON r.assigned_staff_id = s.id AND r.state = ANY($1)
         WHERE s.role = 'technician' AND s.active
         GROUP BY s.id ORDER BY count(r.id), s.full_name, s.id
         LIMIT $2 OFFSET $3",
    )
    .bind(&open)
    .bind(i64::from(size))
    .bind(i64::from(page) * i64::from(size))
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM staff WHERE role = 'technician' AND active").fetch_one(pool).await?;
    Ok((rows, total))
}
