//! The runner every stage shares. A stage only says how to process a batch of decoded messages;
//! the runner does the rest, the same way for all four:
//!
//! 1. take up to `batch_max` deliveries (waiting at most `batch_linger` after the first);
//! 2. decode each: a body that is not JSON, or not this stage's JSON, or of an unknown schema
//!    version, goes straight to the dead letters with its reason;
//! 3. let the stage process the batch (it commits its effect, in one transaction where it can);
//! 4. for each message, publish what follows (the next stage's input, a retry through a delay
//!    tier, or a dead letter), wait for the broker's confirms, and only then ack it (with one
//!    `multiple` ack for the whole batch when every earlier delivery is answered; see `acks.rs`).
//!
//! A dependency outage (the stage returns [`Unavailable`]) requeues the batch, counts against the
//! stage's circuit breaker, and when the breaker opens the runner cancels its consumer and probes
//! the dependency until it is healthy. A broken connection ends the run; the supervisor in
//! [`crate::pipeline`] reconnects, redeclares and starts it again.

mod acks;
mod decode;
mod finalize;
mod metrics;
mod runner;

pub use decode::{DecodeError, decode_json};
pub use runner::{RunContext, run_stage};
pub(crate) use runner::next_batch;

use ariza_shared::domain::CorrelationId;
use ariza_shared::topology::Stage as StageName;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;

/// What the runner knows about a delivery besides its body.
#[derive(Debug, Clone)]
pub struct Meta {
    pub correlation_id: String,
    pub application_id: Option<String>,
    /// 1 for the first delivery through the stage; each retry tier adds one.
    pub attempt: u32,
    pub redelivered: bool,
    /// When the creation request behind this message was submitted (Unix ms), if the envelope says.
    pub submitted_at_ms: Option<u64>,
}

/// A decoded message.
#[derive(Debug)]
pub struct Incoming<T> {
    pub input: T,
    pub meta: Meta,
}

/// A message for the next stage.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub stage: StageName,
    pub body: Vec<u8>,
    pub correlation_id: String,
    pub application_id: Option<String>,
}

impl Outgoing {
    /// Serialises `input` for `stage`.
    pub fn json<T: Serialize>(
        stage: StageName,
        input: &T,
        correlation_id: CorrelationId,
        application_id: Option<String>,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self { stage, body: serde_json::to_vec(input)?, correlation_id: correlation_id.to_string(), application_id })
    }
}

/// What became of one message.
#[derive(Debug)]
pub enum Outcome {
    /// The effect is committed (or was already); publish these, then ack.
    Done(Vec<Outgoing>),
    /// A transient failure: retry through the delay tiers, or dead-letter after the last attempt.
    Retry(String),
    /// No retry can help: dead-letter with this error.
    Permanent(String),
}

/// A dependency is down: nothing in the batch was done, requeue it and trip the breaker.
#[derive(Debug, thiserror::Error)]
#[error("{dependency} unavailable: {error}")]
pub struct Unavailable {
    pub dependency: &'static str,
    pub error: String,
}

/// A worker stage.
pub trait Stage: Send + Sync + 'static {
    /// The JSON this stage consumes.
    type Input: DeserializeOwned + Send + Sync + 'static;

    /// Which stage this is: its queue, its retry tiers, its name in dead letters.
    const NAME: StageName;

    /// The schema version the input says it is written in.
    fn schema_of(input: &Self::Input) -> u32;

    /// Processes a batch. One outcome per message, in order.
    fn process(&self, batch: &[Incoming<Self::Input>]) -> impl Future<Output = Result<Vec<Outcome>, Unavailable>> + Send;

    /// A health check of the stage's dependencies, used while its breaker is open.
    fn probe(&self) -> impl Future<Output = Result<(), Unavailable>> + Send;
}
