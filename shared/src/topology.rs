//! The queue topology as code: exchange and queue names, their arguments and bindings. The workers
//! declare exactly this at start-up and after every reconnect; the deploy definitions are checked
//! against it.
//!
//! ```text
//! publish --> <p>.work (direct) --stage--> <p>.<stage> (quorum) --> consumer
//!   transient failure --> <p>.<stage>.retry.<ttl>ms (quorum, TTL, no consumer)
//!                           --TTL expires, dead-letters--> <p>.work --stage--> <p>.<stage>
//!   permanent failure, retries exhausted, delivery limit --> <p>.dead (fanout) --> <p>.dead-letters
//!                                                             --> archiver --> dead_letters table
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The four worker stages, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Validation,
    Persistence,
    Workflow,
    Notification,
}

impl Stage {
    pub const ALL: &'static [Stage] = &[Stage::Validation, Stage::Persistence, Stage::Workflow, Stage::Notification];

    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Validation => "validation",
            Stage::Persistence => "persistence",
            Stage::Workflow => "workflow",
            Stage::Notification => "notification",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = crate::domain::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == s.trim())
            .ok_or_else(|| crate::domain::UnknownValue { what: "stage", value: s.to_owned() })
    }
}

/// A queue argument value, independent of the AMQP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// One queue to declare: its name, arguments and the binding that feeds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub name: String,
    pub args: Vec<(&'static str, ArgValue)>,
    /// `(exchange, routing key)`; `None` for queues fed through the default exchange.
    pub binding: Option<(String, String)>,
}

/// An exchange to declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeSpec {
    pub name: String,
    /// `direct` or `fanout`.
    pub kind: &'static str,
}

/// The settings the topology depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Prefix of every name, so several installations (or tests) share a broker.
    pub prefix: String,
    /// The retry delay tiers, in milliseconds, shortest first.
    pub retry_tiers_ms: Vec<u64>,
    /// The quorum queues' `x-delivery-limit`.
    pub delivery_limit: u32,
    /// Whether the notification queue has a single active consumer, which keeps Telegram's rate
    /// limits across processes.
    pub single_active_notification_consumer: bool,
}

impl Topology {
    /// Where every stage's input is published, with the stage's name as routing key.
    pub fn work_exchange(&self) -> String {
        format!("{}.work", self.prefix)
    }

    /// Where dead letters go, from the pipeline and from the broker.
    pub fn dead_exchange(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    /// The work queue of a stage.
    pub fn queue(&self, stage: Stage) -> String {
        format!("{}.{}", self.prefix, stage.as_str())
    }

    /// The delay queue of a stage for a tier.
    pub fn retry_queue(&self, stage: Stage, ttl_ms: u64) -> String {
        format!("{}.{}.retry.{ttl_ms}ms", self.prefix, stage.as_str())
    }

    /// The queue the archiver drains into the `dead_letters` table.
    pub fn dead_queue(&self) -> String {
        format!("{}.dead-letters", self.prefix)
    }

    /// The stage a queue of this topology belongs to, for reading `x-death`.
    pub fn stage_of_queue(&self, queue: &str) -> Option<Stage> {
        let rest = queue.strip_prefix(&self.prefix)?.strip_prefix('.')?;
        let name = rest.split('.').next()?;
        name.parse().ok()
    }

    pub fn exchanges(&self) -> Vec<ExchangeSpec> {
        vec![
            ExchangeSpec { name: self.work_exchange(), kind: "direct" },
            ExchangeSpec { name: self.dead_exchange(), kind: "fanout" },
        ]
    }

    /// Every queue, in the order to declare them.
    pub fn queues(&self) -> Vec<QueueSpec> {
        let safety = || {
            vec![
                ("x-queue-type", ArgValue::Str("quorum".into())),
                ("x-dead-letter-strategy", ArgValue::Str("at-least-once".into())),
                ("x-overflow", ArgValue::Str("reject-publish".into())),
            ]
        };
        let mut out = Vec::new();
        for stage in Stage::ALL {
            let mut args = safety();
            args.push(("x-dead-letter-exchange", ArgValue::Str(self.dead_exchange())));
            args.push(("x-delivery-limit", ArgValue::Int(i64::from(self.delivery_limit))));
            if *stage == Stage::Notification && self.single_active_notification_consumer {
                args.push(("x-single-active-consumer", ArgValue::Bool(true)));
            }
            out.push(QueueSpec {
                name: self.queue(*stage),
                args,
                binding: Some((self.work_exchange(), stage.as_str().to_owned())),
            });
            for ttl in &self.retry_tiers_ms {
                let mut args = safety();
                args.push(("x-message-ttl", ArgValue::Int(i64::try_from(*ttl).unwrap_or(i64::MAX))));
                args.push(("x-dead-letter-exchange", ArgValue::Str(self.work_exchange())));
                args.push(("x-dead-letter-routing-key", ArgValue::Str(stage.as_str().to_owned())));
                out.push(QueueSpec { name: self.retry_queue(*stage, *ttl), args, binding: None });
            }
        }
        out.push(QueueSpec {
            name: self.dead_queue(),
            args: vec![("x-queue-type", ArgValue::Str("quorum".into()))],
            binding: Some((self.dead_exchange(), String::new())),
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology() -> Topology {
        Topology {
            prefix: "ariza".into(),
            retry_tiers_ms: vec![1000, 10000],
            delivery_limit: 20,
            single_active_notification_consumer: true,
        }
    }

    #[test]
    fn retry_tiers_dead_letter_back_to_their_stage() {
        let t = topology();
        let tier = t.queues().into_iter().find(|q| q.name == "ariza.workflow.retry.10000ms").expect("declared");
        assert!(tier.args.contains(&("x-dead-letter-exchange", ArgValue::Str("ariza.work".into()))));
        assert!(tier.args.contains(&("x-dead-letter-routing-key", ArgValue::Str("workflow".into()))));
        assert!(tier.args.contains(&("x-message-ttl", ArgValue::Int(10000))));
    }

    #[test]
    fn work_queues_are_safe_quorum_queues() {
        let t = topology();
        for stage in Stage::ALL {
            let q = t.queues().into_iter().find(|q| q.name == t.queue(*stage)).expect("declared");
            for arg in [
                ("x-queue-type", ArgValue::Str("quorum".into())),
                ("x-dead-letter-strategy", ArgValue::Str("at-least-once".into())),
                ("x-overflow", ArgValue::Str("reject-publish".into())),
                ("x-delivery-limit", ArgValue::Int(20)),
            ] {
                assert!(q.args.contains(&arg), "{stage}: {arg:?}");
            }
        }
    }

    #[test]
    fn queues_map_back_to_their_stage() {
        let t = topology();
        assert_eq!(t.stage_of_queue("ariza.persistence"), Some(Stage::Persistence));
        assert_eq!(t.stage_of_queue("ariza.notification.retry.1000ms"), Some(Stage::Notification));
        assert_eq!(t.stage_of_queue("other.persistence"), None);
        assert_eq!(t.stage_of_queue("ariza.dead-letters"), None);
    }
}
