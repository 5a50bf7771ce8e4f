//! The four stages: validation -> persistence -> workflow -> notification.

pub mod notification;
pub mod persistence;
pub mod validation;
pub mod workflow;

use crate::runtime::Outcome;

/// Turns a serialisation failure of our own message into a permanent outcome (it is a bug, and
/// retrying will not fix it).
pub(crate) fn encode_failed(e: &serde_json::Error) -> Outcome {
    Outcome::Permanent(format!("could not encode the next stage's message: {e}"))
}
