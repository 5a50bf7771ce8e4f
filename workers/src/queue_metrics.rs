//! Queue depths and consumer counts for the metrics: every queue of the topology is declared
//! passively on a timer, which reads its ready-message and consumer counts without touching a
//! message. Quorum queues cannot be browsed, and the management API may not be enabled; this
//! needs neither. Every worker process that runs this component reports the same values, so
//! dashboards take the `max` over instances.

use ariza_shared::config::Settings;
use ariza_shared::metrics::catalogue as m;
use ariza_shared::topology::{Stage, Topology};
use lapin::options::QueueDeclareOptions;
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection};
use metrics::{Counter, Gauge};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The longest one passive declare may take before the poll counts as failed.
const DECLARE_BOUND: Duration = Duration::from_secs(5);

/// One polled queue and its two gauges.
struct Polled {
    name: String,
    messages: Gauge,
    consumers: Gauge,
}

fn polled(topology: &Topology) -> Vec<Polled> {
    let gauges = |name: String, stage: &'static str, kind: &'static str| Polled {
        messages: metrics::gauge!(m::QUEUE_MESSAGES, "queue" => name.clone(), "stage" => stage, "kind" => kind),
        consumers: metrics::gauge!(m::QUEUE_CONSUMERS, "queue" => name.clone(), "stage" => stage, "kind" => kind),
        name,
    };
    let mut out = Vec::new();
    for stage in Stage::ALL {
        out.push(gauges(topology.queue(*stage), stage.as_str(), "work"));
        for tier in &topology.retry_tiers_ms {
            out.push(gauges(topology.retry_queue(*stage, *tier), stage.as_str(), "retry"));
        }
    }
    out.push(gauges(topology.dead_queue(), "all", "dead"));
    out
}

/// Polls until shutdown (`Ok`) or until the connection breaks (`Err`, and the supervisor
/// reconnects).
pub async fn run_queue_metrics(
    settings: &Settings,
    topology: &Topology,
    conn: &Connection,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let queues = polled(topology);
    let errors: Counter = metrics::counter!(m::QUEUE_POLL_ERRORS);
    // Declared like every component does, so the first poll does not race the stages' set-up.
    let setup = conn.create_channel().await?;
    crate::broker::declare(&setup, topology).await?;
    let mut channel: Option<Channel> = Some(setup);
    let mut tick = tokio::time::interval(settings.metrics.queue_poll_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        for queue in &queues {
            if !conn.status().connected() {
                anyhow::bail!("the broker connection closed");
            }
            // A failed passive declare (a queue not declared yet) closes its channel: open another.
            let ch = match &channel {
                Some(ch) if ch.status().connected() => ch.clone(),
                _ => {
                    let ch = conn.create_channel().await?;
                    channel = Some(ch.clone());
                    ch
                }
            };
            let declare = ch.queue_declare(
                ShortString::from(queue.name.as_str()),
                QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() },
                FieldTable::default(),
            );
            match tokio::time::timeout(DECLARE_BOUND, declare).await {
                Ok(Ok(q)) => {
                    queue.messages.set(f64::from(q.message_count()));
                    queue.consumers.set(f64::from(q.consumer_count()));
                }
                Ok(Err(e)) => {
                    errors.increment(1);
                    tracing::debug!(queue = queue.name, error = %e, "queue depth poll failed");
                    channel = None;
                }
                Err(_) => {
                    errors.increment(1);
                    tracing::warn!(queue = queue.name, "the broker did not answer a passive declare within {DECLARE_BOUND:?}");
                    channel = None;
                }
            }
        }
    }
    if let Some(ch) = channel {
        tokio::time::timeout(DECLARE_BOUND, ch.close(200, ShortString::from("queue metrics stopped"))).await.ok();
    }
    Ok(())
}
