//! The archiver: drains the dead-letter queue into the `dead_letters` table, acking each message
//! only after the row is committed. The reason comes from the pipeline's headers or, for what the
//! broker dead-lettered itself (a delivery limit, a rejection), from `x-death`. Quorum queues cannot
//! be browsed without consuming, so the console and replay read the table. Each stored dead
//! letter counts in `ariza_dead_letters_archived_total` by stage and reason.

use crate::breaker::Breaker;
use crate::broker::{HeaderExt as _, field_table_to_json, x_death};
use crate::db;
use crate::runtime::next_batch;
use anyhow::Context as _;
use ariza_shared::config::Settings;
use ariza_shared::envelope::{self, DeadReason};
use ariza_shared::metrics::catalogue::DEAD_LETTERS_ARCHIVED;
use ariza_shared::topology::{Stage, Topology};
use chrono::{DateTime, TimeZone as _, Utc};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::Connection;
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One dead letter, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Archived {
    pub dedupe_key: String,
    pub stage: Option<String>,
    pub source_queue: Option<String>,
    pub reason: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub application_id: Option<uuid::Uuid>,
    pub correlation_id: Option<String>,
    pub message_id: Option<String>,
    pub payload: Vec<u8>,
    pub headers: serde_json::Value,
    pub death_history: serde_json::Value,
    pub first_failed_at: Option<DateTime<Utc>>,
}

fn millis(ms: u64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(i64::try_from(ms).ok()?).single()
}

/// Reads a dead-lettered delivery into a row.
pub fn archive_of(delivery: &Delivery, topology: &Topology) -> Archived {
    let props = &delivery.properties;
    let headers = props.headers().clone().unwrap_or_default();
    let deaths = x_death(&headers);
    let first_death = deaths.first();
    let death_queue = first_death.and_then(|d| d.get_str("queue"));
    let death_reason = first_death.and_then(|d| d.get_str("reason"));
    let pipeline_reason = headers.get_str(envelope::REASON);
    let reason = match (&pipeline_reason, death_reason.as_deref()) {
        (Some(r), _) => r.clone(),
        (None, Some("delivery_limit")) => DeadReason::DeliveryLimit.as_str().to_owned(),
        (None, _) => DeadReason::Broker.as_str().to_owned(),
    };
    let stage = headers.get_str(envelope::STAGE).or_else(|| {
        death_queue.as_deref().and_then(|q| topology.stage_of_queue(q)).map(|s| s.as_str().to_owned())
    });
    let message_id = props.message_id().as_ref().map(|m| m.as_str().to_owned());
    let dedupe_key = headers.get_str(envelope::DEAD_LETTER_ID).unwrap_or_else(|| {
        let count = first_death.and_then(|d| d.get_u64("count")).unwrap_or_default();
        let time = first_death.and_then(|d| d.get_u64("time")).unwrap_or_default();
        format!(
            "broker:{}:{}:{count}:{time}",
            message_id.as_deref().unwrap_or("-"),
            death_queue.as_deref().unwrap_or("-")
        )
    });
    let last_error = headers.get_str(envelope::LAST_ERROR).or_else(|| {
        death_reason.map(|r| format!("the broker dead-lettered it ({r}) from {}", death_queue.as_deref().unwrap_or("?")))
    });
    let attempts = headers
        .get_u64(envelope::ATTEMPT)
        .or_else(|| {
            // What the broker gave up on was delivered delivery_limit + 1 times.
            first_death.and_then(|d| d.get_u64("count"))
        })
        .unwrap_or_default();
    let mut shown_headers = headers.clone();
    shown_headers.inner_mut_remove("x-death");
    Archived {
        dedupe_key,
        stage,
        source_queue: death_queue,
        reason,
        attempts: i32::try_from(attempts).unwrap_or(i32::MAX),
        last_error,
        application_id: headers.get_str(envelope::APPLICATION_ID).and_then(|a| a.parse().ok()),
        correlation_id: props.correlation_id().as_ref().map(|c| c.as_str().to_owned()),
        message_id,
        payload: delivery.data.clone(),
        headers: field_table_to_json(&shown_headers),
        death_history: headers.inner().get("x-death").map_or(serde_json::json!([]), crate::broker::amqp_to_json),
        first_failed_at: headers.get_u64(envelope::FIRST_FAILED_AT).and_then(millis),
    }
}

/// Removes a header from a table (lapin's table has no remove).
trait RemoveHeader {
    fn inner_mut_remove(&mut self, key: &str);
}

impl RemoveHeader for FieldTable {
    fn inner_mut_remove(&mut self, key: &str) {
        let kept: std::collections::BTreeMap<ShortString, AMQPValue> =
            self.inner().iter().filter(|(k, _)| k.as_str() != key).map(|(k, v)| (k.clone(), v.clone())).collect();
        *self = FieldTable::from(kept);
    }
}

async fn store(pool: &PgPool, rows: &[Archived]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for r in rows {
        sqlx::query(
            "INSERT INTO dead_letters (dedupe_key, stage, source_queue, reason, attempts, last_error, application_id,
                 correlation_id, message_id, payload, headers, death_history, first_failed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, COALESCE($13, now()))
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(&r.dedupe_key)
        .bind(&r.stage)
        .bind(&r.source_queue)
        .bind(&r.reason)
        .bind(r.attempts)
        .bind(&r.last_error)
        .bind(r.application_id)
        .bind(&r.correlation_id)
        .bind(&r.message_id)
        .bind(&r.payload)
        .bind(&r.headers)
        .bind(&r.death_history)
        .bind(r.first_failed_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// `ariza_dead_letters_archived_total` for every stage (and "unknown") and every reason (and
/// "other"), registered at start so each series exists from zero.
struct ArchivedCounters {
    counters: Vec<(Option<Stage>, Option<DeadReason>, metrics::Counter)>,
}

impl ArchivedCounters {
    fn new() -> Self {
        let stages = Stage::ALL.iter().copied().map(Some).chain([None]);
        let counters = stages
            .flat_map(|stage| {
                DeadReason::ALL.iter().copied().map(Some).chain([None]).map(move |reason| {
                    let counter = metrics::counter!(DEAD_LETTERS_ARCHIVED,
                        "stage" => stage.map_or("unknown", Stage::as_str),
                        "reason" => reason.map_or("other", DeadReason::as_str));
                    (stage, reason, counter)
                })
            })
            .collect();
        Self { counters }
    }

    /// Counts one archived row; its stage and reason come from headers, so they are matched
    /// against the closed sets rather than used as labels.
    fn count(&self, row: &Archived) {
        let stage = row.stage.as_deref().and_then(|s| s.parse::<Stage>().ok());
        let reason = DeadReason::parse(&row.reason);
        if let Some((_, _, c)) = self.counters.iter().find(|(s, r, _)| *s == stage && *r == reason) {
            c.increment(1);
        }
    }
}

/// Consumes the dead-letter queue until shutdown (`Ok`) or a broken connection (`Err`).
pub async fn run_archiver(
    pool: &PgPool,
    settings: &Settings,
    topology: &Topology,
    breaker: &Breaker,
    conn: &Connection,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let channel = conn.create_channel().await?;
    channel.basic_qos(settings.amqp.prefetch, BasicQosOptions::default()).await?;
    crate::broker::declare(&channel, topology).await?;
    let queue = topology.dead_queue();
    let mut consumer = channel
        .basic_consume(
            ShortString::from(queue.as_str()),
            ShortString::from(format!("archiver-{}", uuid::Uuid::new_v4().simple())),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consuming {queue}"))?;
    tracing::info!(queue, "archiver consuming");
    let archived = ArchivedCounters::new();
    loop {
        let batch = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            batch = next_batch(&mut consumer, settings.pipeline.batch_max, settings.pipeline.batch_linger()) => batch?,
        };
        let rows: Vec<Archived> = batch.iter().map(|d| archive_of(d, topology)).collect();
        match store(pool, &rows).await {
            Ok(()) => {
                breaker.record_success();
                for (delivery, row) in batch.iter().zip(&rows) {
                    tracing::info!(reason = row.reason, stage = row.stage.as_deref().unwrap_or("-"), "dead letter archived");
                    delivery.acker.ack(BasicAckOptions::default()).await?;
                    archived.count(row);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not archive dead letters, returning them to the queue");
                for delivery in &batch {
                    delivery.acker.nack(BasicNackOptions { requeue: true, multiple: false }).await?;
                }
                if db::is_outage(&e) && breaker.record_failure() {
                    let mut delay = settings.breaker.open_interval();
                    loop {
                        tokio::select! {
                            () = shutdown.cancelled() => return Ok(()),
                            () = tokio::time::sleep(delay) => {}
                        }
                        let healthy = db::probe(pool).await.is_ok();
                        breaker.record_probe(healthy);
                        if healthy {
                            break;
                        }
                        delay = (delay * 2).min(settings.breaker.max_open_interval());
                    }
                } else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}
