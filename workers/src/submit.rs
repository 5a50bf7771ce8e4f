//! Publishing a creation request: the one path the bot, `ariza submit` and the benchmark share.

use crate::broker::{PublishError, Publisher, message_properties};
use ariza_shared::domain::{CreationRequest, WorkflowCommand};
use ariza_shared::topology::{Stage, Topology};

/// Publishes `req` to the validation stage and waits for the broker's confirm. When this returns
/// `Ok`, the request is durable in the broker.
pub async fn publish_creation(publisher: &Publisher, topology: &Topology, req: &CreationRequest) -> Result<(), PublishError> {
    let body = serde_json::to_vec(req).unwrap_or_default();
    let props = message_properties(&req.correlation_id.to_string(), Some(&req.application_id.to_string()), 1);
    publisher.publish(&topology.work_exchange(), Stage::Validation.as_str(), &body, props).await
}

/// Publishes a workflow command (an action on an application, a client's registration) to the
/// workflow stage and waits for the broker's confirm.
pub async fn publish_workflow(publisher: &Publisher, topology: &Topology, command: &WorkflowCommand) -> Result<(), PublishError> {
    let body = serde_json::to_vec(command).unwrap_or_default();
    let application_id = command.application_id().map(|a| a.to_string());
    let props = message_properties(&command.correlation_id().to_string(), application_id.as_deref(), 1);
    publisher.publish(&topology.work_exchange(), Stage::Workflow.as_str(), &body, props).await
}
