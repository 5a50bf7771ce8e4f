//! Every queue of the topology (each stage's queue, its retry tiers, the dead-letter queue) with
//! its depth and consumers, and publish/deliver/ack rates when the RabbitMQ management API is
//! configured (`amqp.management_url`). Without it, depths and consumers come from passive
//! declares, which read a queue's counters without touching its messages.

use super::worker_rates::{RateSampler, Rates};
use ariza_shared::config::AmqpSettings;
use ariza_shared::topology::{Stage, Topology};
use lapin::Connection;
use lapin::options::QueueDeclareOptions;
use lapin::types::{FieldTable, ShortString};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a queue is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    Work,
    Retry,
    Dead,
}

impl QueueKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            QueueKind::Work => "work",
            QueueKind::Retry => "retry",
            QueueKind::Dead => "dead",
        }
    }
}

/// One queue's numbers. `None` means the source could not tell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueStats {
    pub name: String,
    pub kind: QueueKind,
    pub stage: Option<String>,
    /// The delay of a retry tier.
    pub ttl_ms: Option<u64>,
    pub messages: Option<u64>,
    pub messages_ready: Option<u64>,
    pub messages_unacknowledged: Option<u64>,
    pub consumers: Option<u64>,
    /// Messages per second, from the management API.
    pub publish_rate: Option<f64>,
    pub deliver_rate: Option<f64>,
    pub ack_rate: Option<f64>,
    /// The queue does not exist on the broker (no worker declared it yet).
    pub missing: bool,
}

/// Where the numbers came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsSource {
    ManagementApi,
    PassiveDeclare,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuesReport {
    pub source: StatsSource,
    /// Why the management API was not used, when it is configured but failed.
    pub management_error: Option<String>,
    /// Without the management API: whether the rates came from the workers' metrics, or why not.
    #[serde(default)]
    pub rates_from_workers: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rates_error: Option<String>,
    pub queues: Vec<QueueStats>,
}

/// The topology's queues, unmeasured.
fn skeleton(topology: &Topology) -> Vec<QueueStats> {
    topology
        .queues()
        .into_iter()
        .map(|q| {
            let (kind, ttl_ms) = if q.name == topology.dead_queue() {
                (QueueKind::Dead, None)
            } else if let Some(ttl) = q.name.rsplit_once(".retry.").and_then(|(_, t)| t.strip_suffix("ms")?.parse().ok()) {
                (QueueKind::Retry, Some(ttl))
            } else {
                (QueueKind::Work, None)
            };
            QueueStats {
                stage: topology.stage_of_queue(&q.name).map(Stage::as_str).map(str::to_owned),
                name: q.name,
                kind,
                ttl_ms,
                messages: None,
                messages_ready: None,
                messages_unacknowledged: None,
                consumers: None,
                publish_rate: None,
                deliver_rate: None,
                ack_rate: None,
                missing: false,
            }
        })
        .collect()
}

/// Measures every queue: through the management API when configured, otherwise (or when it fails)
/// through passive declares on `conn`, with the rates the workers' metrics give.
pub async fn report(
    amqp: &AmqpSettings,
    topology: &Topology,
    conn: Option<&Connection>,
    sampler: &RateSampler,
) -> anyhow::Result<QueuesReport> {
    let mut queues = skeleton(topology);
    let mut management_error = None;
    if let Some(url) = amqp.management_url() {
        match management(url, amqp.url.expose_secret(), &mut queues).await {
            Ok(()) => {
                return Ok(QueuesReport {
                    source: StatsSource::ManagementApi,
                    management_error: None,
                    rates_from_workers: false,
                    rates_error: None,
                    queues,
                });
            }
            Err(e) => management_error = Some(e),
        }
    }
    let conn = conn.ok_or_else(|| anyhow::anyhow!("no broker connection"))?;
    passive(conn, &mut queues).await?;
    let (rates_from_workers, rates_error) = if sampler.configured() {
        match sampler.rates().await {
            Ok(rates) => {
                apply_rates(topology, &rates, &mut queues);
                (true, None)
            }
            Err(e) => (false, Some(e)),
        }
    } else {
        (false, None)
    };
    Ok(QueuesReport { source: StatsSource::PassiveDeclare, management_error, rates_from_workers, rates_error, queues })
}

/// What the workers' counters say about each queue: a stage's work queue is acked (and
/// delivered) at the rate the stage settles messages; a delay tier is published to at the rate of
/// retries into it; the dead-letter queue at the rate of dead letters.
fn apply_rates(topology: &Topology, rates: &Rates, queues: &mut [QueueStats]) {
    for q in queues.iter_mut() {
        match (q.kind, q.stage.as_deref(), q.ttl_ms) {
            (QueueKind::Work, Some(stage), _) => {
                let settled = rates.processed.get(stage).copied().unwrap_or(0.0);
                q.ack_rate = Some(settled);
                q.deliver_rate = Some(settled);
            }
            (QueueKind::Retry, Some(stage), Some(tier)) => {
                q.publish_rate = Some(rates.retried.get(&(stage.to_owned(), tier)).copied().unwrap_or(0.0));
            }
            (QueueKind::Dead, _, _) if q.name == topology.dead_queue() => q.publish_rate = Some(rates.dead_lettered),
            _ => {}
        }
    }
}

async fn passive(conn: &Connection, queues: &mut [QueueStats]) -> anyhow::Result<()> {
    let mut channel = conn.create_channel().await?;
    let options = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
    for q in queues.iter_mut() {
        match channel.queue_declare(ShortString::from(q.name.as_str()), options, FieldTable::default()).await {
            Ok(declared) => {
                q.messages_ready = Some(u64::from(declared.message_count()));
                q.messages = q.messages_ready;
                q.consumers = Some(u64::from(declared.consumer_count()));
            }
            Err(_) => {
                // A passive declare of a missing queue closes the channel: take a new one.
                q.missing = true;
                channel = conn.create_channel().await?;
            }
        }
    }
    channel.close(200, ShortString::from("measured")).await.ok();
    Ok(())
}

/// The vhost an AMQP URL names (its path, percent-decoded; `/` when empty).
pub fn vhost_of(amqp_url: &str) -> String {
    let path = reqwest::Url::parse(amqp_url).map(|u| u.path().trim_start_matches('/').to_owned()).unwrap_or_default();
    let decoded = percent_decode(&path);
    if decoded.is_empty() { "/".to_owned() } else { decoded }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[derive(Deserialize)]
struct Rate {
    rate: f64,
}

#[derive(Deserialize, Default)]
struct MessageStats {
    publish_details: Option<Rate>,
    deliver_get_details: Option<Rate>,
    ack_details: Option<Rate>,
}

#[derive(Deserialize)]
struct ManagedQueue {
    name: String,
    messages: Option<u64>,
    messages_ready: Option<u64>,
    messages_unacknowledged: Option<u64>,
    consumers: Option<u64>,
    #[serde(default)]
    message_stats: Option<MessageStats>,
}

/// Fills `queues` from `GET /api/queues/<vhost>`. Errors are short texts without the URL (which
/// holds the password).
async fn management(base: &str, amqp_url: &str, queues: &mut [QueueStats]) -> Result<(), String> {
    let mut url = reqwest::Url::parse(base).map_err(|_| "amqp.management_url is not a URL".to_owned())?;
    let user = url.username().to_owned();
    let password = url.password().map(str::to_owned);
    url.set_username("").ok();
    url.set_password(None).ok();
    let endpoint = url
        .join(&format!("api/queues/{}", percent_encode_segment(&vhost_of(amqp_url))))
        .map_err(|_| "amqp.management_url cannot be extended".to_owned())?;
    let response = reqwest::Client::new()
        .get(endpoint)
        .basic_auth(user, password)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("management API: {}", e.without_url()))?;
    let listed: Vec<ManagedQueue> = response.json().await.map_err(|e| format!("management API answer: {}", e.without_url()))?;
    for q in queues.iter_mut() {
        match listed.iter().find(|m| m.name == q.name) {
            Some(m) => {
                q.messages = m.messages;
                q.messages_ready = m.messages_ready;
                q.messages_unacknowledged = m.messages_unacknowledged;
                q.consumers = m.consumers;
                let stats = m.message_stats.as_ref();
                q.publish_rate = stats.and_then(|s| s.publish_details.as_ref()).map(|r| r.rate);
                q.deliver_rate = stats.and_then(|s| s.deliver_get_details.as_ref()).map(|r| r.rate);
                q.ack_rate = stats.and_then(|s| s.ack_details.as_ref()).map(|r| r.rate);
            }
            None => q.missing = true,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vhost_comes_from_the_amqp_url() {
        assert_eq!(vhost_of("amqp://guest:guest@127.0.0.1:5672/%2f"), "/");
        assert_eq!(vhost_of("amqp://u:p@host:5672/ariza"), "ariza");
        assert_eq!(vhost_of("amqp://host"), "/");
        assert_eq!(percent_encode_segment("/"), "%2F");
    }

    #[test]
    fn every_queue_of_the_topology_is_classified() {
        let t = Topology { prefix: "p".into(), retry_tiers_ms: vec![50, 100], delivery_limit: 20, single_active_notification_consumer: true };
        let queues = skeleton(&t);
        assert_eq!(queues.len(), 4 * 3 + 1);
        let tier = queues.iter().find(|q| q.name == "p.workflow.retry.100ms").expect("tier");
        assert_eq!((tier.kind, tier.ttl_ms, tier.stage.as_deref()), (QueueKind::Retry, Some(100), Some("workflow")));
        assert_eq!(queues.iter().find(|q| q.name == "p.dead-letters").map(|q| q.kind), Some(QueueKind::Dead));
        assert_eq!(queues.iter().find(|q| q.name == "p.validation").map(|q| q.kind), Some(QueueKind::Work));
    }
}
