//! The first transition of a new application, `route`: hands it to the role that handles its kind
//! (managers for connection requests, controllers for technical ones), recorded with the staff
//! creator's identity in the workflow data. Its request id is the application id.

use super::app::{self, App};
use super::notify::{self, ActorRef, Event, ParticipantCache};
use super::Applied;
use crate::runtime::Outcome;
use ariza_shared::domain::{ApplicationId, CorrelationId, NotificationRequest, Role};
use ariza_shared::workflow::{self, Party, State, Transition, TransitionName};
use serde_json::json;
use sqlx::PgConnection;
use sqlx::types::Json;
use std::collections::HashMap;

/// A route recorded before: its request id, the state it left, and what it published (absent when
/// a release that did not keep it recorded the route).
type RoutedBefore = (uuid::Uuid, String, Option<Json<Vec<NotificationRequest>>>);

/// Routes a run of new applications with a few statements for the whole run: one lock of all
/// their rows, one look-up of what was routed before (when any of them is no longer `new`), and
/// one statement that inserts the transitions and updates the applications. Returns one result
/// per route, in order; a route delivered twice (also twice in one run) publishes the same
/// notifications and is recorded once.
pub(super) async fn apply_many(
    tx: &mut PgConnection,
    cache: &mut ParticipantCache,
    routes: &[(ApplicationId, CorrelationId)],
) -> Result<Vec<Applied>, sqlx::Error> {
    let ids: Vec<uuid::Uuid> = routes.iter().map(|(id, _)| id.0).collect();
    let mut apps = app::lock_many(tx, &ids).await?;
    // After the lock: a second delivery waits for the first to commit, then finds it here. The
    // lock reads the newest version of each row, and a route moves its application out of `new`
    // in the transaction that records it, so only an application no longer `new` (or one that
    // cannot be read) can have been routed: under light load, a statement saved per route.
    let routed_maybe: Vec<uuid::Uuid> = ids
        .iter()
        .copied()
        .filter(|id| !matches!(apps.get(&ApplicationId(*id)), Some(Ok(app)) if app.state == State::New))
        .collect();
    let before: Vec<RoutedBefore> = if routed_maybe.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as("SELECT request_id, from_state, notifications FROM workflow_transitions WHERE request_id = ANY($1)")
            .bind(&routed_maybe)
            .fetch_all(&mut *tx)
            .await?
    };
    let mut before: HashMap<uuid::Uuid, (String, Option<Vec<NotificationRequest>>)> =
        before.into_iter().map(|(id, from, items)| (id, (from, items.map(|j| j.0)))).collect();
    let mut records = Records::default();
    let mut applied: Vec<Applied> = Vec::with_capacity(routes.len());
    // Where in `applied` each route of this run that publishes is, for a second delivery of it in
    // the same run (which publishes the same).
    let mut published_now: HashMap<ApplicationId, usize> = HashMap::new();
    for &(application_id, correlation_id) in routes {
        let request_id = application_id.0;
        let again = match published_now.get(&application_id).map(|&i| &applied[i]) {
            Some(Applied::Publish(items)) => Some(items.clone()),
            _ => before.get_mut(&request_id).and_then(|(_, items)| items.take()),
        };
        if let Some(items) = again {
            published_now.insert(application_id, applied.len());
            applied.push(Applied::Publish(items));
            continue;
        }
        let app = match apps.remove(&application_id) {
            Some(Ok(app)) => app,
            Some(Err(corrupt)) => {
                applied.push(Applied::Outcome(Outcome::Permanent(corrupt.to_string())));
                continue;
            }
            // Persistence publishes only after its commit, so this is a message from elsewhere
            // (or the same one twice in this run, the first of which was corrupt).
            None => {
                let error = format!("application {application_id} does not exist or cannot be routed");
                applied.push(Applied::Outcome(Outcome::Permanent(error)));
                continue;
            }
        };
        // Routed by a release that did not keep what it published: the same event is built again.
        let earlier = before.get(&request_id).map(|(from, _)| from.parse().unwrap_or(State::New));
        let transition = match workflow::find(TransitionName::Route, app.kind, earlier.unwrap_or(app.state)) {
            Ok(t) => t,
            Err(e) => {
                applied.push(Applied::Outcome(Outcome::Permanent(e.to_string())));
                continue;
            }
        };
        let actor = creator_of(&app);
        let routed = App { state: transition.to, ..app.clone() };
        let event = Event { app: &routed, transition, request_id, actor: &actor, previous_assignee: None, comment: None, rating: None };
        let mut items = notify::notifications(tx, cache, &event).await?;
        if earlier.is_none() {
            // A client who linked their chat with this very application (their own request, with
            // the phone staff had registered) also gets what waited for the link, oldest first.
            if app.client_linked {
                let mut waiting = super::registration::waiting_for_link(tx, app.client_id).await?;
                waiting.retain(|w| !items.iter().any(|i| i.dedupe_key == w.dedupe_key));
                waiting.append(&mut items);
                items = waiting;
            }
            records.push(&app, transition, correlation_id, &actor, &items);
        }
        published_now.insert(application_id, applied.len());
        applied.push(Applied::Publish(items));
    }
    records.write(tx).await?;
    Ok(applied)
}

/// Whoever created the application: the staff member, or the client themselves.
fn creator_of(app: &App) -> ActorRef {
    match &app.creator {
        Some(c) => ActorRef::Staff { id: c.id, role: c.role, name: c.name.clone() },
        None => ActorRef::Client { id: app.client_id, name: app.client_name.clone() },
    }
}

/// The routes of a run as columns, for the statement that inserts their transitions and updates
/// their applications.
#[derive(Default)]
struct Records {
    ids: Vec<uuid::Uuid>,
    from: Vec<&'static str>,
    to: Vec<&'static str>,
    roles: Vec<Option<&'static str>>,
    actor_staff: Vec<Option<i64>>,
    actor_client: Vec<Option<i64>>,
    actor_roles: Vec<&'static str>,
    /// JSON as text, cast in the statements: no `serde_json::Value` is built for it.
    data: Vec<String>,
    notifications: Vec<String>,
}

impl Records {
    fn push(&mut self, app: &App, transition: &Transition, correlation_id: CorrelationId, actor: &ActorRef, items: &[NotificationRequest]) {
        let creator = app.creator.as_ref();
        let (actor_staff_id, actor_client_id) = match actor {
            ActorRef::Staff { id, .. } => (Some(*id), None),
            ActorRef::Client { id, .. } => (None, Some(*id)),
        };
        self.ids.push(app.id.0);
        self.from.push(app.state.as_str());
        self.to.push(transition.to.as_str());
        self.roles.push(participant_role(transition).map(Role::as_str));
        self.actor_staff.push(actor_staff_id);
        self.actor_client.push(actor_client_id);
        self.actor_roles.push(actor.role().as_str());
        self.data.push(
            json!({
                "correlation_id": correlation_id,
                "created_by_staff": creator.is_some(),
                "staff_creator_id": creator.map(|c| c.id),
                "staff_creator_role": creator.map(|c| c.role.as_str()),
                "creator_telegram_id": app.creator_telegram_id,
            })
            .to_string(),
        );
        self.notifications.push(serde_json::to_string(items).unwrap_or_else(|_| "[]".into()));
    }

    async fn write(self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.ids.is_empty() {
            return Ok(());
        }
        // One statement: the transitions are inserted by its `WITH`, which runs to completion
        // whether or not the update reads it.
        sqlx::query(
            "WITH transitions AS (
                 INSERT INTO workflow_transitions (application_id, request_id, transition, from_state, to_state,
                     actor_staff_id, actor_client_id, actor_role, data, notifications)
                 SELECT id, id, $2, from_state, to_state, actor_staff_id, actor_client_id, actor_role, data::jsonb,
                        notifications::json
                 FROM UNNEST($1::uuid[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[])
                     AS i(id, from_state, to_state, actor_staff_id, actor_client_id, actor_role, data, notifications)
             )
             UPDATE service_requests r
             SET state = u.to_state, assigned_role = u.role, updated_at = now(),
                 workflow_data = r.workflow_data || jsonb_build_object('routed', u.data::jsonb)
             FROM UNNEST($1::uuid[], $4::text[], $10::text[], $8::text[]) AS u(id, to_state, role, data)
             WHERE r.id = u.id",
        )
        .bind(&self.ids)
        .bind(TransitionName::Route.as_str())
        .bind(&self.from)
        .bind(&self.to)
        .bind(&self.actor_staff)
        .bind(&self.actor_client)
        .bind(&self.actor_roles)
        .bind(&self.data)
        .bind(&self.notifications)
        .bind(&self.roles)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

fn participant_role(t: &Transition) -> Option<Role> {
    t.notify.iter().find_map(|p| if let Party::Participants(role) = p { Some(*role) } else { None })
}
