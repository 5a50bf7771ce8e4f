//! Every transition after `route`, asked for by a participant or the client: decided against the
//! locked application, then recorded and announced, or refused and the actor told why.
//!
//! The decision believes only the actor's Telegram id: the role comes from `staff` (or the client
//! record linked to the chat), never from the message. Its order matters: who the actor is and
//! whether they may act comes first, then whether the application is still in the state they saw
//! (a second press of a stale button, or a second manager assigning at the same moment, is
//! `Stale` and changes nothing), then the state machine, then the fields.

use super::Applied;
use super::app::{self, App, StaffRef};
use super::notify::{self, ActorRef, Event, ParticipantCache};
use crate::runtime::Outcome;
use ariza_shared::domain::{Locale, NotificationRequest, Recipient, Role, TransitionRequest};
use ariza_shared::errors::{MessageArgs, PermissionError, TransitionRejection, UserError as _};
use ariza_shared::i18n::nested;
use ariza_shared::permissions;
use ariza_shared::validation::{TransitionFields, check_transition_fields};
use ariza_shared::workflow::{self, Transition, TransitionName};
use serde_json::json;
use sqlx::PgConnection;
use sqlx::types::Json;

/// The template of a refusal about an application that exists, and about one that does not.
pub(crate) const REFUSED_TEMPLATE: &str = "wf-refused";
pub(crate) const REFUSED_UNKNOWN_TEMPLATE: &str = "wf-refused-unknown";

/// A staff member as the database knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StaffRecord {
    pub id: i64,
    pub role: Role,
    pub active: bool,
    pub language: Locale,
    pub name: String,
}

/// A client as the database knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ClientRecord {
    pub id: i64,
    pub name: String,
}

/// What the database says about the sender of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ActorRecord {
    /// The `staff` row with the sender's Telegram id.
    pub staff: Option<StaffRecord>,
    /// The client whose linked chat is the sender's.
    pub client: Option<ClientRecord>,
}

/// A transition that may be applied.
#[derive(Debug)]
pub(super) struct Decision {
    pub transition: &'static Transition,
    pub fields: TransitionFields,
    pub actor: ActorRef,
}

/// Decides `req` against the application and the records of the actor and (for `assign`) the
/// assignee, without I/O.
pub(super) fn decide(
    req: &TransitionRequest,
    app: &App,
    actor: &ActorRecord,
    assignee: Option<&StaffRecord>,
) -> Result<Decision, TransitionRejection> {
    let name = req.transition;
    let actor = match req.actor.role {
        Role::Client => {
            let client = actor.client.as_ref().ok_or(TransitionRejection::UnknownClient)?;
            if client.id != app.client_id {
                return Err(TransitionRejection::NotYours);
            }
            permissions::check_transition(Role::Client, name)?;
            ActorRef::Client { id: client.id, name: client.name.clone() }
        }
        claimed => {
            let staff = actor.staff.as_ref().ok_or(PermissionError::UnknownStaff)?;
            if !staff.active {
                return Err(PermissionError::InactiveStaff.into());
            }
            if staff.role != claimed {
                return Err(PermissionError::RoleMismatch { claimed, actual: staff.role }.into());
            }
            permissions::check_transition(staff.role, name)?;
            // A technician works only on what is assigned to them.
            if staff.role == Role::Technician && app.assignee.as_ref().map(|a| a.id) != Some(staff.id) {
                return Err(TransitionRejection::NotYours);
            }
            ActorRef::Staff { id: staff.id, role: staff.role, name: staff.name.clone() }
        }
    };
    if req.expected_state != app.state {
        return Err(TransitionRejection::Stale { expected: req.expected_state, state: app.state });
    }
    let transition = workflow::find(name, app.kind, app.state)
        .map_err(|_| TransitionRejection::Illegal { transition: name, from: app.state })?;
    let fields = check_transition_fields(req)?;
    if name == TransitionName::Assign
        && !assignee.is_some_and(|a| a.active && a.role == Role::Technician && Some(a.id) == fields.assignee_staff_id)
    {
        return Err(TransitionRejection::BadAssignee);
    }
    Ok(Decision { transition, fields, actor })
}

/// Applies one transition request, or repeats what it did the first time.
pub(super) async fn apply(
    tx: &mut PgConnection,
    cache: &mut ParticipantCache,
    req: &TransitionRequest,
) -> Result<Applied, sqlx::Error> {
    let app = match app::lock(tx, req.application_id).await? {
        Some(Ok(app)) => Some(app),
        Some(Err(corrupt)) => return Ok(Applied::Outcome(Outcome::Permanent(corrupt.to_string()))),
        None => None,
    };
    // After the lock: a second delivery waits for the first to commit, then finds it here.
    if let Some(items) = published_before(tx, req).await? {
        return Ok(Applied::Publish(items));
    }
    let actor = actor_record(tx, req).await?;
    let Some(app) = app else {
        return refuse(tx, req, None, &actor, &TransitionRejection::NoSuchApplication).await;
    };
    let assignee = match req.assignee_staff_id {
        Some(id) if req.transition == TransitionName::Assign => staff_by(tx, StaffKey::Id(id)).await?,
        _ => None,
    };
    match decide(req, &app, &actor, assignee.as_ref()) {
        Ok(decision) => {
            let items = record(tx, cache, req, &app, &decision, assignee.as_ref()).await?;
            Ok(Applied::Publish(items))
        }
        Err(rejection) => {
            tracing::info!(request_id = %req.request_id, transition = %req.transition, reason = %rejection, "transition refused");
            refuse(tx, req, Some(&app), &actor, &rejection).await
        }
    }
}

/// What a request published when it was applied or refused before, if it was.
async fn published_before(tx: &mut PgConnection, req: &TransitionRequest) -> Result<Option<Vec<NotificationRequest>>, sqlx::Error> {
    let applied: Option<Option<Json<Vec<NotificationRequest>>>> =
        sqlx::query_scalar("SELECT notifications FROM workflow_transitions WHERE request_id = $1")
            .bind(req.request_id.0)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(items) = applied {
        return Ok(Some(items.map(|j| j.0).unwrap_or_default()));
    }
    let refused: Option<Json<Vec<NotificationRequest>>> =
        sqlx::query_scalar("SELECT notifications FROM workflow_refusals WHERE request_id = $1")
            .bind(req.request_id.0)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(refused.map(|j| j.0))
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: i64,
    role: String,
    active: bool,
    language: String,
    full_name: String,
}

/// Which staff row to read.
#[derive(Debug, Clone, Copy)]
enum StaffKey {
    Id(i64),
    TelegramId(i64),
}

/// The staff member with `key`. A row with a role or language this release does not know counts
/// as no staff member.
async fn staff_by(tx: &mut PgConnection, key: StaffKey) -> Result<Option<StaffRecord>, sqlx::Error> {
    let (sql, value) = match key {
        StaffKey::Id(id) => ("SELECT id, role, active, language, full_name FROM staff WHERE id = $1", id),
        StaffKey::TelegramId(tg) => ("SELECT id, role, active, language, full_name FROM staff WHERE telegram_id = $1", tg),
    };
    let row: Option<StaffRow> = sqlx::query_as(sql).bind(value).fetch_optional(&mut *tx).await?;
    Ok(row.and_then(|r| {
        Some(StaffRecord { id: r.id, role: r.role.parse().ok()?, active: r.active, language: r.language.parse().ok()?, name: r.full_name })
    }))
}

async fn actor_record(tx: &mut PgConnection, req: &TransitionRequest) -> Result<ActorRecord, sqlx::Error> {
    let staff = staff_by(tx, StaffKey::TelegramId(req.actor.telegram_id)).await?;
    let client: Option<(i64, String)> = sqlx::query_as("SELECT id, full_name FROM clients WHERE telegram_chat_id = $1")
        .bind(req.actor.telegram_id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(ActorRecord { staff, client: client.map(|(id, name)| ClientRecord { id, name }) })
}

/// Records the transition, moves the application, and returns the notifications.
async fn record(
    tx: &mut PgConnection,
    cache: &mut ParticipantCache,
    req: &TransitionRequest,
    app: &App,
    decision: &Decision,
    assignee: Option<&StaffRecord>,
) -> Result<Vec<NotificationRequest>, sqlx::Error> {
    let t = decision.transition;
    let new_assignee = match (t.name, assignee) {
        (TransitionName::Assign, Some(a)) => Some(StaffRef { id: a.id, name: a.name.clone() }),
        _ => app.assignee.clone(),
    };
    let previous_assignee = match t.name {
        TransitionName::Assign => app.assignee.clone().filter(|p| new_assignee.as_ref().is_none_or(|n| n.id != p.id)),
        _ => None,
    };
    let after = App { state: t.to, assignee: new_assignee, ..app.clone() };
    let comment = decision.fields.comment.as_ref().map(|c| c.as_str());
    let event = Event {
        app: &after,
        transition: t,
        request_id: req.request_id.0,
        actor: &decision.actor,
        previous_assignee: previous_assignee.as_ref(),
        comment,
        rating: decision.fields.rating,
    };
    let items = notify::notifications(tx, cache, &event).await?;
    let data = json!({
        "correlation_id": req.correlation_id,
        "requested_at": req.requested_at,
        "expected_state": req.expected_state,
        "actor_telegram_id": req.actor.telegram_id,
        "assignee_staff_id": decision.fields.assignee_staff_id,
        "previous_assignee_staff_id": previous_assignee.as_ref().map(|p| p.id),
        "rating": decision.fields.rating,
    });
    let (actor_staff_id, actor_client_id) = match &decision.actor {
        ActorRef::Staff { id, .. } => (Some(*id), None),
        ActorRef::Client { id, .. } => (None, Some(*id)),
    };
    sqlx::query(
        "INSERT INTO workflow_transitions (application_id, request_id, transition, from_state, to_state,
             actor_staff_id, actor_client_id, actor_role, comment, data, notifications)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(app.id.0)
    .bind(req.request_id.0)
    .bind(t.name.as_str())
    .bind(app.state.as_str())
    .bind(t.to.as_str())
    .bind(actor_staff_id)
    .bind(actor_client_id)
    .bind(decision.actor.role().as_str())
    .bind(comment)
    .bind(&data)
    .bind(Json(&items))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE service_requests SET
             state = $3, updated_at = now(),
             assigned_staff_id = CASE WHEN $2 = 'assign' THEN $4 ELSE assigned_staff_id END,
             assigned_role     = CASE WHEN $2 = 'assign' THEN 'technician' ELSE assigned_role END,
             assigned_at       = CASE WHEN $2 = 'assign' THEN now() ELSE assigned_at END,
             started_at        = CASE WHEN $2 = 'start' THEN now() ELSE started_at END,
             completed_at      = CASE WHEN $2 = 'complete' THEN now() ELSE completed_at END,
             completion_report = CASE WHEN $2 = 'complete' THEN $5 ELSE completion_report END,
             rating            = CASE WHEN $2 = 'rate' THEN $6 ELSE rating END,
             rating_comment    = CASE WHEN $2 = 'rate' THEN $5 ELSE rating_comment END,
             rated_at          = CASE WHEN $2 = 'rate' THEN now() ELSE rated_at END,
             cancelled_at      = CASE WHEN $2 IN ('cancel', 'withdraw') THEN now() ELSE cancelled_at END,
             cancel_reason     = CASE WHEN $2 IN ('cancel', 'withdraw') THEN $5 ELSE cancel_reason END
         WHERE id = $1",
    )
    .bind(app.id.0)
    .bind(t.name.as_str())
    .bind(t.to.as_str())
    .bind(decision.fields.assignee_staff_id)
    .bind(comment)
    .bind(decision.fields.rating.map(i16::from))
    .execute(&mut *tx)
    .await?;
    Ok(items)
}

/// Who hears about a refusal: the sender as the database knows them. A deactivated staff member
/// is written to by chat (the notification stage does not write to deactivated staff); a sender
/// claiming to be a client with no linked record by chat, in the default language (the text tells
/// them to register); a stranger claiming a staff role is not written to.
fn refusal_recipient(req: &TransitionRequest, actor: &ActorRecord) -> Option<Recipient> {
    let as_staff = |staff: &StaffRecord| {
        if staff.active {
            Recipient::Staff { id: staff.id }
        } else {
            Recipient::Chat { chat_id: req.actor.telegram_id, language: staff.language }
        }
    };
    let client = actor.client.as_ref().map(|c| Recipient::Client { id: c.id });
    let staff = actor.staff.as_ref().map(as_staff);
    match req.actor.role {
        Role::Client => client
            .or(staff)
            .or(Some(Recipient::Chat { chat_id: req.actor.telegram_id, language: Locale::default() })),
        _ => staff.or(client),
    }
}

/// The notice of a refusal, stored with it.
fn refusal_notice(req: &TransitionRequest, app: Option<&App>, actor: &ActorRecord, rejection: &TransitionRejection) -> Vec<NotificationRequest> {
    let Some(recipient) = refusal_recipient(req, actor) else {
        return Vec::new();
    };
    let mut args = app.map(App::args).unwrap_or_default();
    args.insert("action".into(), nested(&notify::action_key(req.transition), &MessageArgs::new()));
    args.insert("reason".into(), nested(&rejection.message_key(), &rejection.message_args()));
    vec![NotificationRequest {
        recipient,
        template: if app.is_some() { REFUSED_TEMPLATE } else { REFUSED_UNKNOWN_TEMPLATE }.to_owned(),
        args,
        dedupe_key: format!("{}:refused", req.request_id),
        markup: None,
    }]
}

/// Stores a refusal with its reason and what it published; the application does not change.
async fn refuse(
    tx: &mut PgConnection,
    req: &TransitionRequest,
    app: Option<&App>,
    actor: &ActorRecord,
    rejection: &TransitionRejection,
) -> Result<Applied, sqlx::Error> {
    let items = refusal_notice(req, app, actor, rejection);
    sqlx::query(
        "INSERT INTO workflow_refusals (request_id, application_id, correlation_id, transition, actor_telegram_id,
             actor_role, expected_state, actual_state, reason_key, reason_args, reason_text, notifications)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (request_id) DO NOTHING",
    )
    .bind(req.request_id.0)
    .bind(req.application_id.0)
    .bind(req.correlation_id.0)
    .bind(req.transition.as_str())
    .bind(req.actor.telegram_id)
    .bind(req.actor.role.as_str())
    .bind(req.expected_state.as_str())
    .bind(app.map(|a| a.state.as_str()))
    .bind(rejection.message_key())
    .bind(Json(rejection.message_args()))
    .bind(rejection.to_string())
    .bind(Json(&items))
    .execute(&mut *tx)
    .await?;
    Ok(Applied::Publish(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::app::CreatorRef;
    use ariza_shared::domain::{Actor, ApplicationId, ApplicationKind, CorrelationId, RequestId, SCHEMA_VERSION};
    use ariza_shared::workflow::State;

    const CLIENT: i64 = 10;
    const TECH: i64 = 20;

    fn app(state: State, assignee: Option<i64>) -> App {
        App {
            id: ApplicationId::new(),
            number: 1,
            kind: ApplicationKind::Technical,
            state,
            client_id: CLIENT,
            client_name: "Dilnoza".into(),
            address: "Toshkent".into(),
            creator: Some(CreatorRef { id: 1, role: Role::Manager, name: "Olim".into() }),
            assignee: assignee.map(|id| StaffRef { id, name: "Jasur".into() }),
            creator_telegram_id: 1001,
            client_linked: false,
        }
    }

    fn staff(id: i64, role: Role) -> StaffRecord {
        StaffRecord { id, role, active: true, language: Locale::Ru, name: format!("{role} {id}") }
    }

    fn req(transition: TransitionName, role: Role, expected: State) -> TransitionRequest {
        TransitionRequest {
            schema: SCHEMA_VERSION,
            request_id: RequestId::new(),
            application_id: ApplicationId::new(),
            correlation_id: CorrelationId::new(),
            transition,
            actor: Actor { telegram_id: 5, role },
            expected_state: expected,
            assignee_staff_id: None,
            comment: None,
            rating: None,
            requested_at: chrono::Utc::now(),
        }
    }

    fn as_staff(s: StaffRecord) -> ActorRecord {
        ActorRecord { staff: Some(s), client: None }
    }

    #[test]
    fn a_controller_assigns_an_active_technician() {
        let r = TransitionRequest { assignee_staff_id: Some(TECH), ..req(TransitionName::Assign, Role::Controller, State::AwaitingController) };
        let tech = staff(TECH, Role::Technician);
        let d = decide(&r, &app(State::AwaitingController, None), &as_staff(staff(2, Role::Controller)), Some(&tech)).expect("legal");
        assert_eq!(d.transition.to, State::Assigned);
        assert_eq!(d.fields.assignee_staff_id, Some(TECH));
        let manager = staff(TECH, Role::Manager);
        assert_eq!(
            decide(&r, &app(State::AwaitingController, None), &as_staff(staff(2, Role::Controller)), Some(&manager)).err(),
            Some(TransitionRejection::BadAssignee)
        );
        let inactive = StaffRecord { active: false, ..tech };
        assert_eq!(
            decide(&r, &app(State::AwaitingController, None), &as_staff(staff(2, Role::Controller)), Some(&inactive)).err(),
            Some(TransitionRejection::BadAssignee)
        );
    }

    #[test]
    fn the_role_is_the_stored_one_and_a_forged_role_is_refused() {
        let r = req(TransitionName::Cancel, Role::Manager, State::AwaitingManager);
        let err = decide(&r, &app(State::AwaitingManager, None), &as_staff(staff(2, Role::JuniorManager)), None).err();
        assert_eq!(err, Some(PermissionError::RoleMismatch { claimed: Role::Manager, actual: Role::JuniorManager }.into()));
        let err = decide(&r, &app(State::AwaitingManager, None), &ActorRecord::default(), None).err();
        assert_eq!(err, Some(PermissionError::UnknownStaff.into()));
        let inactive = StaffRecord { active: false, ..staff(2, Role::Manager) };
        assert_eq!(decide(&r, &app(State::AwaitingManager, None), &as_staff(inactive), None).err(), Some(PermissionError::InactiveStaff.into()));
    }

    #[test]
    fn only_the_assigned_technician_works_on_an_application() {
        let r = req(TransitionName::Start, Role::Technician, State::Assigned);
        let other = as_staff(staff(TECH + 1, Role::Technician));
        assert_eq!(decide(&r, &app(State::Assigned, Some(TECH)), &other, None).err(), Some(TransitionRejection::NotYours));
        let mine = as_staff(staff(TECH, Role::Technician));
        assert_eq!(decide(&r, &app(State::Assigned, Some(TECH)), &mine, None).map(|d| d.transition.to).ok(), Some(State::InProgress));
    }

    #[test]
    fn a_stale_state_is_refused_before_the_state_machine() {
        let r = TransitionRequest { assignee_staff_id: Some(TECH), ..req(TransitionName::Assign, Role::Manager, State::AwaitingManager) };
        let tech = staff(TECH, Role::Technician);
        let err = decide(&r, &app(State::Assigned, Some(TECH)), &as_staff(staff(2, Role::Manager)), Some(&tech)).err();
        assert_eq!(err, Some(TransitionRejection::Stale { expected: State::AwaitingManager, state: State::Assigned }));
        let complete = TransitionRequest { comment: Some("done".into()), ..req(TransitionName::Complete, Role::Technician, State::Assigned) };
        let err = decide(&complete, &app(State::Assigned, Some(TECH)), &as_staff(staff(TECH, Role::Technician)), None).err();
        assert_eq!(err, Some(TransitionRejection::Illegal { transition: TransitionName::Complete, from: State::Assigned }));
    }

    #[test]
    fn a_client_rates_only_their_own_application() {
        let r = TransitionRequest { rating: Some(4), ..req(TransitionName::Rate, Role::Client, State::Completed) };
        let own = ActorRecord { staff: None, client: Some(ClientRecord { id: CLIENT, name: "Dilnoza".into() }) };
        assert_eq!(decide(&r, &app(State::Completed, Some(TECH)), &own, None).map(|d| d.fields.rating).ok(), Some(Some(4)));
        let other = ActorRecord { staff: None, client: Some(ClientRecord { id: CLIENT + 1, name: "B".into() }) };
        assert_eq!(decide(&r, &app(State::Completed, Some(TECH)), &other, None).err(), Some(TransitionRejection::NotYours));
        assert_eq!(decide(&r, &app(State::Completed, Some(TECH)), &ActorRecord::default(), None).err(), Some(TransitionRejection::UnknownClient));
        let assign = req(TransitionName::Assign, Role::Client, State::Completed);
        assert!(matches!(
            decide(&assign, &app(State::Completed, Some(TECH)), &own, None).err(),
            Some(TransitionRejection::Permission(PermissionError::CannotTransition { .. }))
        ));
    }

    #[test]
    fn refusals_go_to_the_sender_as_the_database_knows_them() {
        let r = req(TransitionName::Cancel, Role::Manager, State::AwaitingManager);
        assert_eq!(refusal_recipient(&r, &as_staff(staff(2, Role::Manager))), Some(Recipient::Staff { id: 2 }));
        let inactive = StaffRecord { active: false, ..staff(2, Role::Manager) };
        assert_eq!(refusal_recipient(&r, &as_staff(inactive)), Some(Recipient::Chat { chat_id: 5, language: Locale::Ru }));
        assert_eq!(refusal_recipient(&r, &ActorRecord::default()), None, "a stranger is not written to");
        let c = req(TransitionName::Rate, Role::Client, State::Completed);
        assert_eq!(refusal_recipient(&c, &ActorRecord::default()), Some(Recipient::Chat { chat_id: 5, language: Locale::Uz }));
        let client = ActorRecord { staff: None, client: Some(ClientRecord { id: CLIENT, name: "D".into() }) };
        assert_eq!(refusal_recipient(&c, &client), Some(Recipient::Client { id: CLIENT }));
    }
}
