//! A stage's metric handles, registered once when the stage starts on a connection: recording a
//! message is then an atomic add, with no label building or registry lookup per message. Every
//! label value comes from a closed set, so every series exists (at zero) from the start, and
//! `increase()` in an alert sees the first dead letter.

use ariza_shared::envelope::DeadReason;
use ariza_shared::metrics::catalogue as m;
use ariza_shared::topology::Stage;
use metrics::{Counter, Histogram};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub(crate) struct StageMetrics {
    processed: Counter,
    failed_transient: Counter,
    failed_permanent: Counter,
    /// One per retry tier, shortest first.
    retried: Vec<(u64, Counter)>,
    /// One per reason a stage itself dead-letters with (see [`DeadReason::ALL`]).
    dead: Vec<(DeadReason, Counter)>,
    requeued_unavailable: Counter,
    requeued_publish_failed: Counter,
    processing: Histogram,
    batch_size: Histogram,
    acked_at_once: Counter,
    acked_each: Counter,
    end_to_end: Histogram,
}

impl StageMetrics {
    pub(crate) fn new(stage: Stage, retry_tiers_ms: &[u64]) -> Self {
        let s = stage.as_str();
        Self {
            processed: metrics::counter!(m::STAGE_PROCESSED, "stage" => s),
            failed_transient: metrics::counter!(m::STAGE_FAILED, "stage" => s, "kind" => "transient"),
            failed_permanent: metrics::counter!(m::STAGE_FAILED, "stage" => s, "kind" => "permanent"),
            retried: retry_tiers_ms
                .iter()
                .map(|tier| (*tier, metrics::counter!(m::STAGE_RETRIED, "stage" => s, "tier_ms" => tier.to_string())))
                .collect(),
            dead: [DeadReason::Malformed, DeadReason::UnknownSchema, DeadReason::Permanent, DeadReason::RetriesExhausted]
                .into_iter()
                .map(|r| (r, metrics::counter!(m::STAGE_DEAD_LETTERED, "stage" => s, "reason" => r.as_str())))
                .collect(),
            requeued_unavailable: metrics::counter!(m::STAGE_REQUEUED, "stage" => s, "cause" => "unavailable"),
            requeued_publish_failed: metrics::counter!(m::STAGE_REQUEUED, "stage" => s, "cause" => "publish_failed"),
            processing: metrics::histogram!(m::STAGE_PROCESSING_SECONDS, "stage" => s),
            batch_size: metrics::histogram!(m::STAGE_BATCH_SIZE, "stage" => s),
            acked_at_once: metrics::counter!(m::STAGE_BATCH_ACKS, "stage" => s, "how" => "multiple"),
            acked_each: metrics::counter!(m::STAGE_BATCH_ACKS, "stage" => s, "how" => "each"),
            end_to_end: metrics::histogram!(m::END_TO_END_SECONDS, "stage" => s),
        }
    }

    pub(crate) fn batch(&self, size: usize) {
        #[allow(clippy::cast_precision_loss)]
        self.batch_size.record(size as f64);
    }

    /// A message settled onward: processed, with how long it took since its batch arrived and
    /// since it was submitted (when the envelope says).
    pub(crate) fn processed(&self, batch_started: Instant, submitted_at_ms: Option<u64>) {
        self.processed.increment(1);
        self.processing.record(batch_started.elapsed());
        if let Some(since) = submitted_at_ms.and_then(since_unix_ms) {
            self.end_to_end.record(since);
        }
    }

    pub(crate) fn retried(&self, tier_ms: u64) {
        self.failed_transient.increment(1);
        if let Some((_, c)) = self.retried.iter().find(|(t, _)| *t == tier_ms) {
            c.increment(1);
        }
    }

    pub(crate) fn dead_lettered(&self, reason: DeadReason) {
        if reason == DeadReason::RetriesExhausted {
            self.failed_transient.increment(1);
        } else {
            self.failed_permanent.increment(1);
        }
        if let Some((_, c)) = self.dead.iter().find(|(r, _)| *r == reason) {
            c.increment(1);
        }
    }

    pub(crate) fn settled(&self, batch_started: Instant) {
        self.processing.record(batch_started.elapsed());
    }

    /// A batch answered to the broker, with one `multiple` ack or one ack per message.
    pub(crate) fn answered(&self, at_once: bool) {
        if at_once { &self.acked_at_once } else { &self.acked_each }.increment(1);
    }

    pub(crate) fn requeued_unavailable(&self, n: usize) {
        self.requeued_unavailable.increment(u64::try_from(n).unwrap_or(u64::MAX));
    }

    pub(crate) fn requeued_publish_failed(&self) {
        self.requeued_publish_failed.increment(1);
    }
}

/// Time since a Unix-millisecond instant; `None` for one in the future (a skewed clock).
fn since_unix_ms(ms: u64) -> Option<Duration> {
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).ok()?;
    now.checked_sub(ms).map(Duration::from_millis)
}
