//! Every metric an ariza process exports: its name, type, labels and meaning. Code records metrics
//! only through these names, the exporter describes them from this table, and the deploy tests
//! check that every name in `deploy/prometheus/alerts.yml` and the Grafana dashboard is one of
//! them. Label values come from closed sets (stage names, reasons, outcomes), never from data.

/// How a metric is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One exported metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

pub const BUILD_INFO: &str = "ariza_build_info";

pub const STAGE_PROCESSED: &str = "ariza_stage_processed_total";
pub const STAGE_FAILED: &str = "ariza_stage_failed_total";
pub const STAGE_RETRIED: &str = "ariza_stage_retried_total";
pub const STAGE_DEAD_LETTERED: &str = "ariza_stage_dead_lettered_total";
pub const STAGE_REQUEUED: &str = "ariza_stage_requeued_total";
pub const STAGE_PROCESSING_SECONDS: &str = "ariza_stage_processing_seconds";
pub const STAGE_BATCH_SIZE: &str = "ariza_stage_batch_size";
pub const STAGE_BATCH_ACKS: &str = "ariza_stage_batch_acks_total";
pub const END_TO_END_SECONDS: &str = "ariza_end_to_end_seconds";

pub const BREAKER_OPEN: &str = "ariza_breaker_open";
pub const BREAKER_OPENED: &str = "ariza_breaker_opened_total";
pub const BREAKER_PROBES: &str = "ariza_breaker_probes_total";

pub const QUEUE_MESSAGES: &str = "ariza_queue_messages";
pub const QUEUE_CONSUMERS: &str = "ariza_queue_consumers";
pub const QUEUE_POLL_ERRORS: &str = "ariza_queue_poll_errors_total";

pub const NOTIFICATION_SENDS: &str = "ariza_notification_sends_total";
pub const TELEGRAM_PAUSE_SECONDS: &str = "ariza_telegram_pause_seconds_total";
pub const TELEGRAM_REQUEST_SECONDS: &str = "ariza_telegram_request_seconds";

pub const DEAD_LETTERS_ARCHIVED: &str = "ariza_dead_letters_archived_total";

pub const CREATION_PUBLISHES: &str = "ariza_creation_publishes_total";
pub const WORKFLOW_PUBLISHES: &str = "ariza_workflow_publishes_total";
pub const BOT_UPDATES: &str = "ariza_bot_updates_total";

/// Metrics only the bot process exports (the workers' scrape does not have them).
pub const BOT_ONLY: &[&str] = &[WORKFLOW_PUBLISHES, BOT_UPDATES];

pub const CREATION_ALERTS: &str = "ariza_creation_alerts_total";
pub const ALERT_EVALUATIONS: &str = "ariza_alert_evaluations_total";

/// The table. Histograms are exported as `<name>_bucket`, `<name>_sum` and `<name>_count`.
pub const CATALOGUE: &[MetricDef] = &[
    MetricDef {
        name: BUILD_INFO,
        kind: Kind::Gauge,
        labels: &["process", "version"],
        help: "Always 1: which ariza process (workers, bot, console) and version serves these metrics.",
    },
    MetricDef {
        name: STAGE_PROCESSED,
        kind: Kind::Counter,
        labels: &["stage"],
        help: "Messages a stage finished: effect committed, onward messages confirmed, message acked.",
    },
    MetricDef {
        name: STAGE_FAILED,
        kind: Kind::Counter,
        labels: &["stage", "kind"],
        help: "Failed attempts by kind: transient (retried through a delay tier, or dead-lettered once attempts run out) or permanent (dead-lettered at once; includes undecodable messages).",
    },
    MetricDef {
        name: STAGE_RETRIED,
        kind: Kind::Counter,
        labels: &["stage", "tier_ms"],
        help: "Messages sent to a retry delay tier after a transient failure, by tier.",
    },
    MetricDef {
        name: STAGE_DEAD_LETTERED,
        kind: Kind::Counter,
        labels: &["stage", "reason"],
        help: "Messages a stage dead-lettered, by reason (malformed, unknown_schema, permanent_error, retries_exhausted).",
    },
    MetricDef {
        name: STAGE_REQUEUED,
        kind: Kind::Counter,
        labels: &["stage", "cause"],
        help: "Messages handed back to their queue unsettled: a dependency was unavailable, or the onward publish failed.",
    },
    MetricDef {
        name: STAGE_PROCESSING_SECONDS,
        kind: Kind::Histogram,
        labels: &["stage"],
        help: "Per message: from the stage receiving its batch to the message being settled (acked).",
    },
    MetricDef {
        name: STAGE_BATCH_SIZE,
        kind: Kind::Histogram,
        labels: &["stage"],
        help: "Messages per batch a stage took from its queue.",
    },
    MetricDef {
        name: STAGE_BATCH_ACKS,
        kind: Kind::Counter,
        labels: &["stage", "how"],
        help: "Batches answered to the broker: `multiple` with one ack frame (every earlier delivery was answered), `each` with one ack per message (an earlier batch was still at work).",
    },
    MetricDef {
        name: END_TO_END_SECONDS,
        kind: Kind::Histogram,
        labels: &["stage"],
        help: "From the creation request's submission to the stage finishing its message (the notification stage: the application fully processed).",
    },
    MetricDef {
        name: BREAKER_OPEN,
        kind: Kind::Gauge,
        labels: &["component"],
        help: "1 while the component's circuit breaker is open (its consumer is cancelled, its dependency probed), else 0.",
    },
    MetricDef {
        name: BREAKER_OPENED,
        kind: Kind::Counter,
        labels: &["component"],
        help: "Times the component's circuit breaker opened.",
    },
    MetricDef {
        name: BREAKER_PROBES,
        kind: Kind::Counter,
        labels: &["component", "result"],
        help: "Health probes of an open breaker's dependency, by result (healthy, unhealthy).",
    },
    MetricDef {
        name: QUEUE_MESSAGES,
        kind: Kind::Gauge,
        labels: &["queue", "stage", "kind"],
        help: "Messages ready in a queue (not counting those delivered and unacked), read by passive declares. kind: work, retry or dead.",
    },
    MetricDef {
        name: QUEUE_CONSUMERS,
        kind: Kind::Gauge,
        labels: &["queue", "stage", "kind"],
        help: "Consumers of a queue, read by passive declares. Retry tiers never have any.",
    },
    MetricDef {
        name: QUEUE_POLL_ERRORS,
        kind: Kind::Counter,
        labels: &[],
        help: "Queue depth polls that failed (a missing queue, a broken channel).",
    },
    MetricDef {
        name: NOTIFICATION_SENDS,
        kind: Kind::Counter,
        labels: &["outcome"],
        help: "Bot API sendMessage answers: sent, rate_limited (429: all sending paused, then retried), blocked (403), rejected (400/404), failed (5xx, network, timeout).",
    },
    MetricDef {
        name: TELEGRAM_PAUSE_SECONDS,
        kind: Kind::Counter,
        labels: &[],
        help: "Seconds of retry_after that Telegram's 429 answers asked for; all sending pauses meanwhile.",
    },
    MetricDef {
        name: TELEGRAM_REQUEST_SECONDS,
        kind: Kind::Histogram,
        labels: &[],
        help: "Round trip of one sendMessage request to the Bot API.",
    },
    MetricDef {
        name: DEAD_LETTERS_ARCHIVED,
        kind: Kind::Counter,
        labels: &["stage", "reason"],
        help: "Dead letters the archiver stored in the dead_letters table, by stage and reason (including the broker's own: delivery_limit, broker).",
    },
    MetricDef {
        name: CREATION_PUBLISHES,
        kind: Kind::Counter,
        labels: &["outcome"],
        help: "Creation requests published (by the bot or ariza submit): confirmed by the broker, failed (refused, unroutable, connection), abandoned (timed out before the confirm).",
    },
    MetricDef {
        name: WORKFLOW_PUBLISHES,
        kind: Kind::Counter,
        labels: &["command", "outcome"],
        help: "Workflow commands the bot published (command: transition, register_client): confirmed by the broker, failed, or abandoned (timed out before the confirm).",
    },
    MetricDef {
        name: BOT_UPDATES,
        kind: Kind::Counter,
        labels: &["kind", "outcome"],
        help: "Telegram updates the bot handled (kind: message, callback): ok, or error (the person was asked to try again).",
    },
    MetricDef {
        name: CREATION_ALERTS,
        kind: Kind::Counter,
        labels: &["rule"],
        help: "Creation-activity alerts raised, by rule (staff_burst, client_phone_burst).",
    },
    MetricDef {
        name: ALERT_EVALUATIONS,
        kind: Kind::Counter,
        labels: &["result"],
        help: "Evaluations of the creation-activity rules, by result (ok, failed).",
    },
];

/// The definition of `name`, also when `name` is a histogram's `_bucket`, `_sum` or `_count` series.
pub fn lookup(name: &str) -> Option<&'static MetricDef> {
    CATALOGUE.iter().find(|m| m.name == name).or_else(|| {
        let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s))?;
        CATALOGUE.iter().find(|m| m.name == base && m.kind == Kind::Histogram)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions() {
        let mut seen = std::collections::BTreeSet::new();
        for m in CATALOGUE {
            assert!(seen.insert(m.name), "{} twice", m.name);
            assert!(m.name.starts_with("ariza_"), "{}", m.name);
            assert!(m.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", m.name);
            match m.kind {
                Kind::Counter => assert!(m.name.ends_with("_total"), "a counter ends in _total: {}", m.name),
                Kind::Gauge | Kind::Histogram => assert!(!m.name.ends_with("_total"), "{}", m.name),
            }
        }
    }

    #[test]
    fn histogram_series_resolve_to_their_histogram() {
        assert_eq!(lookup("ariza_stage_processing_seconds_bucket").map(|m| m.name), Some(STAGE_PROCESSING_SECONDS));
        assert_eq!(lookup("ariza_stage_processed_total").map(|m| m.kind), Some(Kind::Counter));
        assert!(lookup("ariza_stage_processed_total_count").is_none());
        assert!(lookup("ariza_nothing").is_none());
    }
}
