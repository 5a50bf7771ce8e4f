//! Publishing into the pipeline: creation requests (the one path the bot, `ariza submit` and the
//! benchmark share) and workflow commands (the bot's actions and registrations).

use crate::broker::{HeaderExt as _, PublishError, Publisher, message_properties};
use ariza_shared::domain::{CreationRequest, WorkflowCommand};
use ariza_shared::envelope;
use ariza_shared::metrics::catalogue::{CREATION_PUBLISHES, WORKFLOW_PUBLISHES};
use ariza_shared::topology::{Stage, Topology};

/// Publishes `req` to the validation stage and waits for the broker's confirm. When this returns
/// `Ok`, the request is durable in the broker. Counted in `ariza_creation_publishes_total`: a
/// caller that gives up waiting (drops this future) counts as `abandoned`.
pub async fn publish_creation(publisher: &Publisher, topology: &Topology, req: &CreationRequest) -> Result<(), PublishError> {
    let mut outcome = Abandoned(Some(Counted::Creation));
    let body = serde_json::to_vec(req).unwrap_or_default();
    let mut props = message_properties(&req.correlation_id.to_string(), Some(&req.application_id.to_string()), 1);
    if let Ok(ms) = u64::try_from(req.submitted_at.timestamp_millis()) {
        let mut headers = props.headers().clone().unwrap_or_default();
        headers.set_u64(envelope::SUBMITTED_AT, ms);
        props = props.with_headers(headers);
    }
    let result = publisher.publish(&topology.work_exchange(), Stage::Validation.as_str(), &body, props).await;
    outcome.settle(&result);
    result
}

/// What a publish counts as.
#[derive(Debug, Clone, Copy)]
enum Counted {
    Creation,
    Workflow(&'static str),
}

impl Counted {
    fn count(self, outcome: &'static str) {
        match self {
            Counted::Creation => metrics::counter!(CREATION_PUBLISHES, "outcome" => outcome).increment(1),
            Counted::Workflow(command) => {
                metrics::counter!(WORKFLOW_PUBLISHES, "command" => command, "outcome" => outcome).increment(1);
            }
        }
    }
}

/// Counts a publish: confirmed or failed when it ends, abandoned when its future is dropped
/// before the broker answered.
struct Abandoned(Option<Counted>);

impl Abandoned {
    fn settle<T, E>(&mut self, result: &Result<T, E>) {
        if let Some(counted) = self.0.take() {
            counted.count(if result.is_ok() { "confirmed" } else { "failed" });
        }
    }
}

impl Drop for Abandoned {
    fn drop(&mut self) {
        if let Some(counted) = self.0.take() {
            counted.count("abandoned");
        }
    }
}

/// Publishes a workflow command (an action on an application, a client's registration) to the
/// workflow stage and waits for the broker's confirm.
pub async fn publish_workflow(publisher: &Publisher, topology: &Topology, command: &WorkflowCommand) -> Result<(), PublishError> {
    let body = serde_json::to_vec(command).unwrap_or_default();
    let application_id = command.application_id().map(|a| a.to_string());
    let props = message_properties(&command.correlation_id().to_string(), application_id.as_deref(), 1);
    let name = match command {
        WorkflowCommand::Route { .. } => "route",
        WorkflowCommand::Transition(_) => "transition",
        WorkflowCommand::RegisterClient(_) => "register_client",
    };
    let mut outcome = Abandoned(Some(Counted::Workflow(name)));
    let result = publisher.publish(&topology.work_exchange(), Stage::Workflow.as_str(), &body, props).await;
    outcome.settle(&result);
    result
}
