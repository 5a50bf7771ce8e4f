//! Fault hooks: points where a test can make a stage fail the way production can, so the
//! recovery paths are exercised for real (a crash after commit and before ack; a transient error).
//! In production the hook is [`NoFaults`].

use ariza_shared::topology::Stage;
use std::fmt::Debug;

/// What to do at a fault point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    Continue,
    /// Drop the broker connection without acking, as a killed process would.
    Crash,
}

/// Injects faults. Every method defaults to doing nothing.
pub trait FaultHook: Send + Sync + Debug {
    /// After the stage committed its effect for this message, before the onward publish and ack.
    fn after_commit(&self, _stage: Stage, _application_id: Option<&str>) -> FaultAction {
        FaultAction::Continue
    }

    /// Before the stage processes this message: `Some(error)` makes it fail transiently.
    fn before_process(&self, _stage: Stage, _application_id: Option<&str>) -> Option<String> {
        None
    }
}

/// The production hook: no faults.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFaults;

impl FaultHook for NoFaults {}
