//! Stage 3, workflow: applies state-machine transitions. For a new application that is the first
//! transition, `route`, which hands it to the role that handles its kind; it is recorded with the
//! staff creator's identity in the workflow data. Applying is idempotent (the transition's request
//! id is unique), and a redelivery of an applied transition still publishes its notifications,
//! which the notification stage deduplicates.

use crate::db;
use crate::runtime::{Incoming, Outcome, Outgoing, Stage, Unavailable};
use ariza_shared::domain::{
    ApplicationKind, NotificationBatch, NotificationRequest, Recipient, Role, SCHEMA_VERSION,
    WorkflowCommand,
};
use ariza_shared::errors::MessageArgs;
use ariza_shared::topology::Stage as StageName;
use ariza_shared::workflow::{self, Party, State, Transition, TransitionName};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Workflow {
    pool: PgPool,
}

impl Workflow {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// The application as the workflow needs it.
#[derive(Debug, sqlx::FromRow)]
struct Application {
    number: i64,
    kind: String,
    state: String,
    client_id: i64,
    client_name: String,
    address: String,
    staff_creator_id: Option<i64>,
    staff_creator_role: Option<String>,
    creator_telegram_id: i64,
    assigned_staff_id: Option<i64>,
}

/// What applying one command came to.
enum Applied {
    /// Applied now or before: these notifications follow.
    Notify(Vec<NotificationRequest>),
    /// The command cannot apply (no such application yet, or an illegal transition).
    Refused(Outcome),
}

impl Stage for Workflow {
    type Input = WorkflowCommand;
    const NAME: StageName = StageName::Workflow;

    fn schema_of(input: &WorkflowCommand) -> u32 {
        input.schema()
    }

    async fn process(&self, batch: &[Incoming<WorkflowCommand>]) -> Result<Vec<Outcome>, Unavailable> {
        let run = async {
            let mut tx = self.pool.begin().await?;
            let mut participants = ParticipantCache::default();
            let mut applied = Vec::with_capacity(batch.len());
            for message in batch {
                applied.push(apply(&mut tx, &message.input, &mut participants).await?);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(applied)
        };
        let applied = match run.await {
            Ok(applied) => applied,
            Err(e) => return db::fail_all(&e, batch.len()),
        };
        Ok(batch
            .iter()
            .zip(applied)
            .map(|(message, applied)| match applied {
                Applied::Refused(outcome) => outcome,
                Applied::Notify(items) => notifications(&message.input, items),
            })
            .collect())
    }

    async fn probe(&self) -> Result<(), Unavailable> {
        db::probe(&self.pool).await
    }
}

fn notifications(command: &WorkflowCommand, items: Vec<NotificationRequest>) -> Outcome {
    if items.is_empty() {
        return Outcome::Done(Vec::new());
    }
    let (correlation_id, application_id) = (command.correlation_id(), command.application_id());
    let batch = NotificationBatch { schema: SCHEMA_VERSION, correlation_id, application_id, items };
    Outgoing::json(StageName::Notification, &batch, correlation_id, application_id.map(|a| a.to_string()))
        .map_or_else(|e| super::encode_failed(&e), |out| Outcome::Done(vec![out]))
}

/// Active staff of a role, looked up once per batch.
#[derive(Default)]
struct ParticipantCache(HashMap<Role, Vec<i64>>);

impl ParticipantCache {
    async fn of(&mut self, tx: &mut PgConnection, role: Role) -> Result<Vec<i64>, sqlx::Error> {
        if let Some(ids) = self.0.get(&role) {
            return Ok(ids.clone());
        }
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM staff WHERE role = $1 AND active ORDER BY id")
            .bind(role.as_str())
            .fetch_all(&mut *tx)
            .await?;
        self.0.insert(role, ids.clone());
        Ok(ids)
    }
}

async fn apply(tx: &mut PgConnection, command: &WorkflowCommand, cache: &mut ParticipantCache) -> Result<Applied, sqlx::Error> {
    let WorkflowCommand::Route { application_id, correlation_id, .. } = command else {
        return Ok(Applied::Refused(Outcome::Permanent("not handled yet".into())));
    };
    let app: Option<Application> = sqlx::query_as(
        "SELECT r.number, r.kind, r.state, r.client_id, c.full_name AS client_name, r.address, r.staff_creator_id,
                r.staff_creator_role, r.creator_telegram_id, r.assigned_staff_id
         FROM service_requests r JOIN clients c ON c.id = r.client_id
         WHERE r.id = $1 FOR UPDATE OF r",
    )
    .bind(application_id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(app) = app else {
        // Persistence publishes only after its commit, so this is a message from elsewhere.
        return Ok(Applied::Refused(Outcome::Permanent(format!("application {application_id} does not exist"))));
    };
    let (Ok(kind), Ok(state)) = (app.kind.parse::<ApplicationKind>(), app.state.parse::<State>()) else {
        return Ok(Applied::Refused(Outcome::Permanent(format!("application {application_id} has an unknown kind or state"))));
    };
    let request_id = application_id.0;
    let applied_before: Option<String> =
        sqlx::query_scalar("SELECT from_state FROM workflow_transitions WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
    let from = match &applied_before {
        Some(from) => from.parse().unwrap_or(State::New),
        None => state,
    };
    let transition = match workflow::find(TransitionName::Route, kind, from) {
        Ok(t) => t,
        Err(e) => return Ok(Applied::Refused(Outcome::Permanent(e.to_string()))),
    };
    let creator_role: Option<Role> = app.staff_creator_role.as_deref().and_then(|r| r.parse().ok());
    if applied_before.is_none() {
        let data = json!({
            "correlation_id": correlation_id,
            "created_by_staff": app.staff_creator_id.is_some(),
            "staff_creator_id": app.staff_creator_id,
            "staff_creator_role": app.staff_creator_role,
            "creator_telegram_id": app.creator_telegram_id,
        });
        sqlx::query(
            "INSERT INTO workflow_transitions (application_id, request_id, transition, from_state, to_state,
                 actor_staff_id, actor_client_id, actor_role, data)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(application_id.0)
        .bind(request_id)
        .bind(transition.name.as_str())
        .bind(from.as_str())
        .bind(transition.to.as_str())
        .bind(app.staff_creator_id)
        .bind(app.staff_creator_id.is_none().then_some(app.client_id))
        .bind(creator_role.unwrap_or(Role::Client).as_str())
        .bind(&data)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE service_requests
             SET state = $2, assigned_role = $3, updated_at = now(),
                 workflow_data = workflow_data || jsonb_build_object('routed', $4::jsonb)
             WHERE id = $1",
        )
        .bind(application_id.0)
        .bind(transition.to.as_str())
        .bind(participant_role(transition).map(Role::as_str))
        .bind(&data)
        .execute(&mut *tx)
        .await?;
    }
    let items = recipients(tx, cache, transition, &app).await?;
    let args = route_args(&app, kind, creator_role);
    Ok(Applied::Notify(
        items
            .into_iter()
            .map(|(party, recipient)| NotificationRequest {
                recipient,
                template: transition.template_key(party),
                args: args.clone(),
                dedupe_key: format!("{request_id}:{recipient}"),
                markup: None,
            })
            .collect(),
    ))
}

fn participant_role(t: &Transition) -> Option<Role> {
    t.notify.iter().find_map(|p| if let Party::Participants(role) = p { Some(*role) } else { None })
}

/// Everyone the transition concerns, once each: a creator who is also a participant hears as the
/// creator.
async fn recipients(
    tx: &mut PgConnection,
    cache: &mut ParticipantCache,
    t: &Transition,
    app: &Application,
) -> Result<Vec<(Party, Recipient)>, sqlx::Error> {
    let mut out: Vec<(Party, Recipient)> = Vec::new();
    for party in t.notify {
        let found: Vec<Recipient> = match party {
            Party::Client => vec![Recipient::Client { id: app.client_id }],
            Party::Creator => app.staff_creator_id.map(|id| Recipient::Staff { id }).into_iter().collect(),
            Party::Assignee => app.assigned_staff_id.map(|id| Recipient::Staff { id }).into_iter().collect(),
            Party::Participants(role) => cache.of(tx, *role).await?.into_iter().map(|id| Recipient::Staff { id }).collect(),
        };
        for recipient in found {
            if !out.iter().any(|(_, r)| *r == recipient) {
                out.push((*party, recipient));
            }
        }
    }
    Ok(out)
}

fn route_args(app: &Application, kind: ApplicationKind, creator_role: Option<Role>) -> MessageArgs {
    let mut args = MessageArgs::new();
    args.insert("number".into(), json!(app.number));
    args.insert("kind".into(), json!(kind.as_str()));
    args.insert("address".into(), json!(app.address));
    args.insert("client_name".into(), json!(app.client_name));
    args.insert("staff_created".into(), json!(if app.staff_creator_id.is_some() { "yes" } else { "no" }));
    if let Some(role) = creator_role {
        let key = format!("role-{}", role.as_str().replace('_', "-"));
        args.insert("creator_role".into(), ariza_shared::i18n::nested(&key, &MessageArgs::new()));
    }
    args
}

