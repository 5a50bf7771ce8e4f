//! What happens to a message after its stage is done with it: the onward publish, a retry through
//! a delay tier, or a dead letter, each confirmed by the broker before the message is acked.

use super::Outgoing;
use crate::broker::{HeaderExt as _, PublishError, Publisher, message_properties};
use ariza_shared::envelope::{self, DeadReason};
use ariza_shared::topology::{Stage, Topology};
use backon::{BackoffBuilder, ExponentialBuilder};
use lapin::message::Delivery;
use lapin::types::FieldTable;
use std::time::Duration;

/// Publishes the next stage's input, carrying on when the request was submitted.
pub async fn publish_onward(
    publisher: &Publisher,
    topology: &Topology,
    out: &Outgoing,
    attempt_of_next: u32,
    submitted_at_ms: Option<u64>,
) -> Result<(), PublishError> {
    let mut props = message_properties(&out.correlation_id, out.application_id.as_deref(), attempt_of_next);
    if let Some(ms) = submitted_at_ms {
        let mut headers = props.headers().clone().unwrap_or_default();
        headers.set_u64(envelope::SUBMITTED_AT, ms);
        props = props.with_headers(headers);
    }
    publisher.publish(&topology.work_exchange(), out.stage.as_str(), &out.body, props).await
}

/// The delay tier for the retry after failed attempt `attempt` (1-based): exponential backoff with
/// jitter over the tiers' range, rounded down to a tier. The jitter spreads a burst of failures
/// over neighbouring tiers, so they do not all come back at once.
pub fn choose_tier(tiers_ms: &[u64], attempt: u32) -> u64 {
    let (Some(&first), Some(&last)) = (tiers_ms.first(), tiers_ms.last()) else {
        return 1000;
    };
    let delay = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(first))
        .with_max_delay(Duration::from_millis(last))
        .with_factor(tier_factor(tiers_ms))
        .with_jitter()
        .without_max_times()
        .build()
        .nth(usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX))
        .unwrap_or(Duration::from_millis(last));
    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    tiers_ms.iter().copied().filter(|t| *t <= delay_ms).max().unwrap_or(first)
}

/// The growth factor that walks from the first tier to the last in as many steps as there are tiers.
fn tier_factor(tiers_ms: &[u64]) -> f32 {
    match (tiers_ms.first(), tiers_ms.last(), tiers_ms.len()) {
        (Some(&a), Some(&b), n) if n > 1 && a > 0 => {
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            let f = ((b as f64 / a as f64).powf(1.0 / (n as f64 - 1.0))) as f32;
            f.max(1.0)
        }
        _ => 2.0,
    }
}

fn failure_headers(delivery: &Delivery, error: &str) -> FieldTable {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    if headers.get_u64(envelope::FIRST_FAILED_AT).is_none() {
        let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default();
        headers.set_u64(envelope::FIRST_FAILED_AT, now);
    }
    headers.set_str(envelope::LAST_ERROR, &envelope::cut_error(error));
    headers
}

/// Sends a failed message to a delay tier with its attempt count raised; it comes back to the
/// stage when the tier's TTL expires.
pub async fn retry(
    publisher: &Publisher,
    topology: &Topology,
    stage: Stage,
    delivery: &Delivery,
    attempt: u32,
    error: &str,
) -> Result<u64, PublishError> {
    let tier = choose_tier(&topology.retry_tiers_ms, attempt);
    let mut headers = failure_headers(delivery, error);
    headers.set_u64(envelope::ATTEMPT, u64::from(attempt) + 1);
    let props = delivery.properties.clone().with_headers(headers);
    publisher.publish("", &topology.retry_queue(stage, tier), &delivery.data, props).await?;
    Ok(tier)
}

/// Parks a message in the dead letters with the stage, the reason, the attempts and the error.
pub async fn dead_letter(
    publisher: &Publisher,
    topology: &Topology,
    stage: Stage,
    delivery: &Delivery,
    reason: DeadReason,
    attempts: u32,
    error: &str,
) -> Result<(), PublishError> {
    let mut headers = failure_headers(delivery, error);
    headers.set_str(envelope::STAGE, stage.as_str());
    headers.set_str(envelope::REASON, reason.as_str());
    headers.set_u64(envelope::ATTEMPT, u64::from(attempts));
    headers.set_str(envelope::DEAD_LETTER_ID, &uuid::Uuid::new_v4().to_string());
    let props = delivery.properties.clone().with_headers(headers);
    publisher.publish(&topology.dead_exchange(), stage.as_str(), &delivery.data, props).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_walk_up_the_tiers_and_stay_within_them() {
        let tiers = [1000, 5000, 30000, 120_000];
        for attempt in 1..12 {
            let t = choose_tier(&tiers, attempt);
            assert!(tiers.contains(&t), "{t}");
        }
        let late: Vec<u64> = (0..50).map(|_| choose_tier(&tiers, 10)).collect();
        assert!(late.iter().all(|t| *t >= 30000), "late attempts use the long tiers: {late:?}");
        assert_eq!(choose_tier(&tiers, 1), 1000);
    }
}
