//! Stage 3, workflow: applies the state machine of `ariza_shared::workflow`.
//!
//! - [`route`]: the first transition of a new application, to the role that handles its kind.
//! - [`transition`]: every later one (assign, start, complete, rate, cancel…), asked for by a
//!   participant or the client; refused with a reason the actor is told when it cannot apply.
//! - [`registration`]: a client registers, or links their chat to the record staff made.
//! - [`notify`]: who hears about a transition and what they read.
//!
//! A batch is one transaction. Everything is idempotent by its request id, and what a request
//! published is stored with it: a redelivery changes nothing and publishes the same notifications
//! again, which the notification stage deduplicates, so a crash between commit and publish leaves
//! nothing stuck.

mod app;
mod notify;
mod registration;
mod route;
mod transition;

use crate::db;
use crate::runtime::{Incoming, Outcome, Outgoing, Stage, Unavailable};
use ariza_shared::domain::{ApplicationId, CorrelationId, NotificationBatch, NotificationRequest, SCHEMA_VERSION, WorkflowCommand};
use ariza_shared::topology::Stage as StageName;
use notify::ParticipantCache;
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct Workflow {
    pool: PgPool,
}

impl Workflow {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// What applying one command came to.
enum Applied {
    /// Applied or refused, now or before: these notifications follow.
    Publish(Vec<NotificationRequest>),
    /// The command cannot be worked on (not a person's action that can be refused: a route for an
    /// application that does not exist, a corrupt row), or must be tried again.
    Outcome(Outcome),
}

impl Stage for Workflow {
    type Input = WorkflowCommand;
    const NAME: StageName = StageName::Workflow;

    fn schema_of(input: &WorkflowCommand) -> u32 {
        input.schema()
    }

    #[tracing::instrument(skip_all, fields(size = batch.len()))]
    async fn process(&self, batch: &[Incoming<WorkflowCommand>]) -> Result<Vec<Outcome>, Unavailable> {
        let run = async {
            let mut tx = self.pool.begin().await?;
            let mut participants = ParticipantCache::default();
            let mut applied = Vec::with_capacity(batch.len());
            let mut rest = batch;
            while let Some(first) = rest.first() {
                let taken = match &first.input {
                    WorkflowCommand::Route { .. } => {
                        // A run of routes goes in a few statements for the whole run.
                        let routes: Vec<_> = rest.iter().map_while(|m| route_of(&m.input)).collect();
                        applied.extend(route::apply_many(&mut tx, &mut participants, &routes).await?);
                        routes.len()
                    }
                    WorkflowCommand::Transition(req) => {
                        applied.push(transition::apply(&mut tx, &mut participants, req).await?);
                        1
                    }
                    WorkflowCommand::RegisterClient(r) => {
                        applied.push(registration::apply(&mut tx, r).await?);
                        1
                    }
                };
                rest = &rest[taken..];
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
                Applied::Outcome(outcome) => outcome,
                Applied::Publish(items) => publish(&message.input, items),
            })
            .collect())
    }

    async fn probe(&self) -> Result<(), Unavailable> {
        db::probe(&self.pool).await
    }
}

/// The application and correlation ids of a route.
fn route_of(command: &WorkflowCommand) -> Option<(ApplicationId, CorrelationId)> {
    match command {
        WorkflowCommand::Route { application_id, correlation_id, .. } => Some((*application_id, *correlation_id)),
        _ => None,
    }
}

fn publish(command: &WorkflowCommand, items: Vec<NotificationRequest>) -> Outcome {
    if items.is_empty() {
        return Outcome::Done(Vec::new());
    }
    let (correlation_id, application_id) = (command.correlation_id(), command.application_id());
    let batch = NotificationBatch { schema: SCHEMA_VERSION, correlation_id, application_id, items };
    Outgoing::json(StageName::Notification, &batch, correlation_id, application_id.map(|a| a.to_string()))
        .map_or_else(|e| super::encode_failed(&e), |out| Outcome::Done(vec![out]))
}

/// Every message key this stage can ask for by name, for the locale test.
pub fn message_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        notify::PREVIOUS_ASSIGNEE_TEMPLATE,
        notify::ACTOR_TEMPLATE,
        notify::OPEN_BUTTON,
        notify::RATE_BUTTON,
        transition::REFUSED_TEMPLATE,
        transition::REFUSED_UNKNOWN_TEMPLATE,
        registration::REGISTERED_TEMPLATE,
        registration::LINKED_TEMPLATE,
        registration::REFUSED_TEMPLATE,
    ]
    .into_iter()
    .chain(registration::REFUSAL_KEYS.iter().copied())
    .map(str::to_owned)
    .collect();
    keys.extend(ariza_shared::workflow::TransitionName::ALL.iter().map(|t| notify::action_key(*t)));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use ariza_shared::domain::Locale;

    #[test]
    fn every_key_of_the_workflow_stage_exists_in_both_languages() {
        for locale in [Locale::Uz, Locale::Ru] {
            let defined = ariza_shared::i18n::defined_keys(locale);
            let missing: Vec<_> = message_keys().into_iter().filter(|k| !defined.contains(k)).collect();
            assert!(missing.is_empty(), "{locale}: missing {missing:?}");
        }
    }
}
