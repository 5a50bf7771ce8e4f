//! The application as the workflow sees it, read and locked (`FOR UPDATE`) for the rest of the
//! transaction, so two actions on one application are decided one after the other.

use ariza_shared::domain::{ApplicationId, ApplicationKind, Role};
use ariza_shared::errors::MessageArgs;
use ariza_shared::i18n::nested;
use ariza_shared::workflow::State;
use serde_json::json;
use sqlx::PgConnection;
use std::collections::HashMap;

/// A staff member as a notification names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StaffRef {
    pub id: i64,
    pub name: String,
}

/// The staff member who created the application for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CreatorRef {
    pub id: i64,
    pub role: Role,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct App {
    pub id: ApplicationId,
    pub number: i64,
    pub kind: ApplicationKind,
    pub state: State,
    pub client_id: i64,
    pub client_name: String,
    pub address: String,
    /// For staff-created applications.
    pub creator: Option<CreatorRef>,
    pub assignee: Option<StaffRef>,
    /// The Telegram id of whoever created it (staff member or client).
    pub creator_telegram_id: i64,
    /// Whether the client has linked their Telegram chat.
    pub client_linked: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: uuid::Uuid,
    number: i64,
    kind: String,
    state: String,
    client_id: i64,
    client_name: String,
    address: String,
    staff_creator_id: Option<i64>,
    staff_creator_role: Option<String>,
    creator_name: Option<String>,
    assigned_staff_id: Option<i64>,
    assignee_name: Option<String>,
    creator_telegram_id: i64,
    client_linked: bool,
}

/// Why a stored application cannot be worked on: a row no release of ariza writes.
#[derive(Debug, thiserror::Error)]
#[error("application {id} has an unknown kind, state or creator role: {value}")]
pub(super) struct Corrupt {
    id: ApplicationId,
    value: String,
}

/// Reads and locks the application; `Ok(None)` when it does not exist.
pub(super) async fn lock(tx: &mut PgConnection, id: ApplicationId) -> Result<Option<Result<App, Corrupt>>, sqlx::Error> {
    Ok(lock_many(tx, &[id.0]).await?.remove(&id))
}

/// Reads and locks several applications at once, in the order of their ids (so two batches
/// locking overlapping sets wait for each other rather than deadlock). Those that do not exist
/// are missing from the map. The client and staff are looked up per application by primary key
/// (`OFFSET 0` keeps the planner from turning the look-up into a join that scans every client,
/// as it did on a fresh database before its first `ANALYZE`).
pub(super) async fn lock_many(
    tx: &mut PgConnection,
    ids: &[uuid::Uuid],
) -> Result<HashMap<ApplicationId, Result<App, Corrupt>>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.id, r.number, r.kind, r.state, r.client_id, c.full_name AS client_name, r.address,
                r.staff_creator_id, r.staff_creator_role,
                (SELECT s.full_name FROM staff s WHERE s.id = r.staff_creator_id) AS creator_name,
                r.assigned_staff_id, (SELECT s.full_name FROM staff s WHERE s.id = r.assigned_staff_id) AS assignee_name,
                r.creator_telegram_id, c.telegram_chat_id IS NOT NULL AS client_linked
         FROM service_requests r
         CROSS JOIN LATERAL (SELECT c.full_name, c.telegram_chat_id FROM clients c WHERE c.id = r.client_id OFFSET 0) c
         WHERE r.id = ANY($1)
         ORDER BY r.id
         FOR UPDATE OF r",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().map(|row| (ApplicationId(row.id), parse(row))).collect())
}

fn parse(row: Row) -> Result<App, Corrupt> {
    let id = ApplicationId(row.id);
    let corrupt = |value: &str| Corrupt { id, value: value.to_owned() };
    let kind = row.kind.parse().map_err(|_| corrupt(&row.kind))?;
    let state = row.state.parse().map_err(|_| corrupt(&row.state))?;
    let creator = match (row.staff_creator_id, row.staff_creator_role.as_deref()) {
        (Some(creator_id), Some(role)) => Some(CreatorRef {
            id: creator_id,
            role: role.parse().map_err(|_| corrupt(role))?,
            name: row.creator_name.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(App {
        id,
        number: row.number,
        kind,
        state,
        client_id: row.client_id,
        client_name: row.client_name,
        address: row.address,
        creator,
        assignee: row.assigned_staff_id.map(|sid| StaffRef { id: sid, name: row.assignee_name.unwrap_or_default() }),
        creator_telegram_id: row.creator_telegram_id,
        client_linked: row.client_linked,
    })
}

impl App {
    /// The arguments about the application itself that every workflow template may use.
    pub(super) fn args(&self) -> MessageArgs {
        let mut args = MessageArgs::new();
        args.insert("number".into(), json!(self.number));
        args.insert("kind".into(), json!(self.kind.as_str()));
        args.insert("address".into(), json!(self.address));
        args.insert("client_name".into(), json!(self.client_name));
        args.insert("staff_created".into(), json!(if self.creator.is_some() { "yes" } else { "no" }));
        if let Some(creator) = &self.creator {
            args.insert("creator_name".into(), json!(creator.name));
            args.insert("creator_role".into(), nested(&super::notify::role_key(creator.role), &MessageArgs::new()));
        }
        if let Some(assignee) = &self.assignee {
            args.insert("assignee_name".into(), json!(assignee.name));
        }
        args
    }
}
