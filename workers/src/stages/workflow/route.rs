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

pub(super) async fn apply(
    tx: &mut PgConnection,
    cache: &mut ParticipantCache,
    application_id: ApplicationId,
    correlation_id: CorrelationId,
) -> Result<Applied, sqlx::Error> {
    let app = match app::lock(tx, application_id).await? {
        Some(Ok(app)) => app,
        Some(Err(corrupt)) => return Ok(Applied::Outcome(Outcome::Permanent(corrupt.to_string()))),
        // Persistence publishes only after its commit, so this is a message from elsewhere.
        None => {
            return Ok(Applied::Outcome(Outcome::Permanent(format!("application {application_id} does not exist"))));
        }
    };
    let request_id = application_id.0;
    let before: Option<(String, Option<Json<Vec<NotificationRequest>>>)> =
        sqlx::query_as("SELECT from_state, notifications FROM workflow_transitions WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((_, Some(Json(items)))) = before {
        return Ok(Applied::Publish(items));
    }
    // Routed by a release that did not keep what it published: the same event is built again.
    let from = match &before {
        Some((from, None)) => from.parse().unwrap_or(State::New),
        _ => app.state,
    };
    let transition = match workflow::find(TransitionName::Route, app.kind, from) {
        Ok(t) => t,
        Err(e) => return Ok(Applied::Outcome(Outcome::Permanent(e.to_string()))),
    };
    let actor = creator_of(&app);
    let routed = App { state: transition.to, ..app.clone() };
    let event = Event { app: &routed, transition, request_id, actor: &actor, previous_assignee: None, comment: None, rating: None };
    let mut items = notify::notifications(tx, cache, &event).await?;
    if before.is_none() {
        // A client who linked their chat with this very application (their own request, with
        // the phone staff had registered) also gets what waited for the link, oldest first.
        let linked: Option<bool> = sqlx::query_scalar("SELECT telegram_chat_id IS NOT NULL FROM clients WHERE id = $1")
            .bind(app.client_id)
            .fetch_optional(&mut *tx)
            .await?;
        if linked == Some(true) {
            let mut waiting = super::registration::waiting_for_link(tx, app.client_id).await?;
            waiting.retain(|w| !items.iter().any(|i| i.dedupe_key == w.dedupe_key));
            waiting.append(&mut items);
            items = waiting;
        }
        record(tx, &app, transition, correlation_id, &actor, &items).await?;
    }
    Ok(Applied::Publish(items))
}

/// Whoever created the application: the staff member, or the client themselves.
fn creator_of(app: &App) -> ActorRef {
    match &app.creator {
        Some(c) => ActorRef::Staff { id: c.id, role: c.role, name: c.name.clone() },
        None => ActorRef::Client { id: app.client_id, name: app.client_name.clone() },
    }
}

async fn record(
    tx: &mut PgConnection,
    app: &App,
    transition: &Transition,
    correlation_id: CorrelationId,
    actor: &ActorRef,
    items: &[NotificationRequest],
) -> Result<(), sqlx::Error> {
    let creator = app.creator.as_ref();
    let data = json!({
        "correlation_id": correlation_id,
        "created_by_staff": creator.is_some(),
        "staff_creator_id": creator.map(|c| c.id),
        "staff_creator_role": creator.map(|c| c.role.as_str()),
        "creator_telegram_id": app.creator_telegram_id,
    });
    let (actor_staff_id, actor_client_id) = match actor {
        ActorRef::Staff { id, .. } => (Some(*id), None),
        ActorRef::Client { id, .. } => (None, Some(*id)),
    };
    sqlx::query(
        "INSERT INTO workflow_transitions (application_id, request_id, transition, from_state, to_state,
             actor_staff_id, actor_client_id, actor_role, data, notifications)
         VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(app.id.0)
    .bind(transition.name.as_str())
    .bind(app.state.as_str())
    .bind(transition.to.as_str())
    .bind(actor_staff_id)
    .bind(actor_client_id)
    .bind(actor.role().as_str())
    .bind(&data)
    .bind(Json(items))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE service_requests
         SET state = $2, assigned_role = $3, updated_at = now(),
             workflow_data = workflow_data || jsonb_build_object('routed', $4::jsonb)
         WHERE id = $1",
    )
    .bind(app.id.0)
    .bind(transition.to.as_str())
    .bind(participant_role(transition).map(Role::as_str))
    .bind(&data)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn participant_role(t: &Transition) -> Option<Role> {
    t.notify.iter().find_map(|p| if let Party::Participants(role) = p { Some(*role) } else { None })
}
