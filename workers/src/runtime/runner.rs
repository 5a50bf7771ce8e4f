//! The consume loop of one stage on one connection.

use super::acks::{Acked, Acks, Answer};
use super::decode::{decode_json, meta_of};
use super::finalize::{dead_letter, publish_onward, retry};
use super::metrics::StageMetrics;
use super::{Incoming, Meta, Outcome, Outgoing, Stage, Unavailable};
use crate::breaker::Breaker;
use crate::broker::{PublishError, Publisher};
use crate::fault::{FaultAction, FaultHook};
use anyhow::{Context as _, anyhow};
use ariza_shared::config::Settings;
use ariza_shared::envelope::DeadReason;
use ariza_shared::topology::Topology;
use futures::StreamExt as _;
use futures::future::join_all;
use lapin::message::Delivery;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{Connection, Consumer};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// An event about one message, with the fields that identify it: what a span per message would
/// add to the line, without creating a span for every message that goes through without a word.
macro_rules! message_event {
    ($level:ident, $stage:expr, $meta:expr, $($rest:tt)+) => {
        tracing::$level!(stage = %$stage, correlation_id = %$meta.correlation_id,
            application_id = $meta.application_id.as_deref().unwrap_or("-"), attempt = $meta.attempt, $($rest)+)
    };
}

/// The longest a stage waits for the broker to answer a set-up call before starting again.
const BROKER_CALL_BOUND: Duration = Duration::from_secs(10);

/// What a stage runner needs besides its stage.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub settings: Arc<Settings>,
    pub topology: Arc<Topology>,
    pub fault: Arc<dyn FaultHook>,
    pub breaker: Breaker,
}

/// How a batch ended, for the loop that spawned it.
enum BatchEnd {
    Settled,
    /// A dependency was down; the batch was requeued.
    Unavailable(Unavailable),
    /// A fault hook asked for a crash after commit.
    Crash,
    /// Acking or publishing failed because the channel or connection is gone.
    Broken(anyhow::Error),
}

/// What to do with one message after processing.
enum Settle {
    Onward(Vec<Outgoing>),
    Retry(String),
    Dead(DeadReason, String),
}

/// Consumes `stage`'s queue on `conn` until `shutdown` fires (then `Ok`) or the connection breaks
/// (then `Err`, and the caller reconnects).
pub async fn run_stage<S: Stage>(
    stage: Arc<S>,
    ctx: Arc<RunContext>,
    conn: &Connection,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let setup = async {
        let channel = conn.create_channel().await.context("opening the consume channel")?;
        channel.basic_qos(ctx.settings.amqp.prefetch, BasicQosOptions::default()).await?;
        crate::broker::declare(&channel, &ctx.topology).await?;
        let publisher = Publisher::open(conn).await.context("opening the publish channel")?;
        Ok::<_, anyhow::Error>((channel, publisher))
    };
    let (channel, publisher) = tokio::select! {
        () = shutdown.cancelled() => return Ok(()),
        ready = tokio::time::timeout(BROKER_CALL_BOUND, setup) => {
            ready.map_err(|_| anyhow!("the broker did not answer the stage's set-up within {BROKER_CALL_BOUND:?}"))??
        }
    };
    let mut in_flight: JoinSet<BatchEnd> = JoinSet::new();
    let metrics = Arc::new(StageMetrics::new(S::NAME, &ctx.topology.retry_tiers_ms));
    let result = consume(stage.clone(), ctx.clone(), &channel, &publisher, &metrics, &mut in_flight, shutdown).await;
    // However it ended: let the batches in flight finish (a notification already sent is then
    // also recorded, and not sent again after a redelivery), then close the consume channel
    // explicitly, so its unacked deliveries go back to the queue at once (on a
    // single-active-consumer queue, the next consumer takes over). Leaving that to the channels'
    // drop races the connection's own close, and a connection whose close failed would keep them.
    drain(&mut in_flight, &ctx.breaker, Duration::from_secs(10)).await.ok();
    let bound = Duration::from_secs(5);
    tokio::time::timeout(bound, channel.close(200, ShortString::from("stage stopped"))).await.ok();
    tokio::time::timeout(bound, publisher.close()).await.ok();
    match result {
        Err(e) if e.is::<BreakerOpened>() => {
            // The stage holds no message while its dependency is down: they wait in the queue.
            if probe_until_healthy(stage.as_ref(), &ctx, shutdown).await {
                Err(anyhow!("{} is healthy again; resuming", S::NAME))
            } else {
                Ok(())
            }
        }
        other => other,
    }
}

/// The stage stopped consuming because its breaker opened.
#[derive(Debug, thiserror::Error)]
#[error("the circuit breaker opened")]
struct BreakerOpened;

async fn consume<S: Stage>(
    stage: Arc<S>,
    ctx: Arc<RunContext>,
    channel: &lapin::Channel,
    publisher: &Publisher,
    metrics: &Arc<StageMetrics>,
    in_flight: &mut JoinSet<BatchEnd>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let queue = ctx.topology.queue(S::NAME);
    let permits = Arc::new(Semaphore::new(ctx.settings.pipeline.concurrency_of(S::NAME)));
    // One per consume channel: its delivery tags start at 1.
    let acks = Arc::new(Acks::new());

    let tag = format!("{}-{}", S::NAME, uuid::Uuid::new_v4().simple());
    let consuming = channel.basic_consume(
        ShortString::from(queue.as_str()),
        ShortString::from(tag.as_str()),
        BasicConsumeOptions::default(),
        FieldTable::default(),
    );
    // Bounded and interruptible: seen on RabbitMQ 3.10, a consume on a single-active-consumer
    // quorum queue right after the previous consumer's channel closed can go unanswered.
    // Starting again on a fresh connection recovers.
    let consumer = tokio::select! {
        () = shutdown.cancelled() => return Ok(()),
        consumer = tokio::time::timeout(BROKER_CALL_BOUND, consuming) => consumer
            .map_err(|_| anyhow!("the broker did not confirm the consumer on {queue} within {BROKER_CALL_BOUND:?}"))?
            .with_context(|| format!("consuming {queue}"))?,
    };
    tracing::info!(stage = %S::NAME, queue, "stage consuming");
    // The reader owns the consumer and hands over whole batches, so no batch is ever half taken
    // when this loop stops waiting for one. Dropping the set aborts it; what it had taken is
    // returned to the queue when the caller closes the channel.
    let (tx, mut batches) = mpsc::channel(1);
    let mut reader = JoinSet::new();
    reader.spawn(read_batches(consumer, permits.clone(), ctx.settings.pipeline.batch_max, ctx.settings.pipeline.batch_linger(), tx));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                channel.basic_cancel(ShortString::from(tag.as_str()), BasicCancelOptions::default()).await.ok();
                return Ok(());
            }
            Some(done) = in_flight.join_next() => {
                settle_batch_end(done, &ctx.breaker)?;
                if ctx.breaker.is_open() {
                    channel.basic_cancel(ShortString::from(tag.as_str()), BasicCancelOptions::default()).await.ok();
                    return Err(BreakerOpened.into());
                }
            }
            next = batches.recv() => match next {
                Some(Ok((permit, batch))) => {
                    let batch = Batch { deliveries: batch, acks: acks.clone(), _permit: permit };
                    in_flight.spawn(process_batch(stage.clone(), ctx.clone(), publisher.clone(), metrics.clone(), batch));
                }
                Some(Err(e)) => return Err(e),
                None => return Err(anyhow!("the batch reader stopped")),
            },
        }
    }
}

type BatchItem = anyhow::Result<(OwnedSemaphorePermit, Vec<Delivery>)>;

/// Reads batches off the consumer, one permit each, until the consumer ends.
async fn read_batches(mut consumer: Consumer, permits: Arc<Semaphore>, max: usize, linger: Duration, tx: mpsc::Sender<BatchItem>) {
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else { return };
        let batch = next_batch(&mut consumer, max, linger).await;
        let ended = batch.is_err();
        if tx.send(batch.map(|b| (permit, b))).await.is_err() || ended {
            return;
        }
    }
}

/// Waits for the batches in flight, up to `bound`.
async fn drain(in_flight: &mut JoinSet<BatchEnd>, breaker: &Breaker, bound: Duration) -> anyhow::Result<()> {
    let wait = async {
        while let Some(done) = in_flight.join_next().await {
            if let Ok(BatchEnd::Unavailable(_)) = &done {
                breaker.record_failure();
            }
            if let Ok(BatchEnd::Broken(e)) = done {
                return Err(e);
            }
        }
        Ok(())
    };
    tokio::time::timeout(bound, wait).await.unwrap_or_else(|_| {
        in_flight.abort_all();
        Err(anyhow!("batches still in flight after {bound:?}"))
    })
}

fn settle_batch_end(done: Result<BatchEnd, tokio::task::JoinError>, breaker: &Breaker) -> anyhow::Result<()> {
    match done.context("a batch task panicked")? {
        BatchEnd::Settled => {
            breaker.record_success();
            Ok(())
        }
        BatchEnd::Unavailable(e) => {
            tracing::warn!(error = %e, breaker = breaker.name(), "dependency unavailable, batch requeued");
            breaker.record_failure();
            Ok(())
        }
        // Like a killed process: nothing of the batch is acked; the caller closes the channel.
        BatchEnd::Crash => Err(anyhow!("fault hook crashed the stage after commit")),
        BatchEnd::Broken(e) => Err(e),
    }
}

/// Probes until healthy (true) or shutdown (false), backing off between probes.
async fn probe_until_healthy<S: Stage>(stage: &S, ctx: &RunContext, shutdown: &CancellationToken) -> bool {
    let mut delay = ctx.settings.breaker.open_interval();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep(delay) => {}
        }
        match stage.probe().await {
            Ok(()) => {
                ctx.breaker.record_probe(true);
                return true;
            }
            Err(e) => {
                ctx.breaker.record_probe(false);
                tracing::warn!(stage = %S::NAME, error = %e, "probe failed, breaker stays open");
                delay = (delay * 2).min(ctx.settings.breaker.max_open_interval());
            }
        }
    }
}

/// Up to `max` deliveries: the first whenever it comes, the rest within `linger` of it.
pub(crate) async fn next_batch(consumer: &mut Consumer, max: usize, linger: Duration) -> anyhow::Result<Vec<Delivery>> {
    let first = consumer
        .next()
        .await
        .ok_or_else(|| anyhow!("the consumer was cancelled or its connection closed"))?
        .context("receiving a delivery")?;
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + linger;
    while batch.len() < max {
        match tokio::time::timeout_at(deadline, consumer.next()).await {
            Ok(Some(Ok(delivery))) => batch.push(delivery),
            Ok(Some(Err(e))) => return Err(e).context("receiving a delivery"),
            Ok(None) | Err(_) => break,
        }
    }
    Ok(batch)
}

/// Deliveries taken together, with the channel's answers and the concurrency permit they hold.
struct Batch {
    deliveries: Vec<Delivery>,
    acks: Arc<Acks>,
    _permit: OwnedSemaphorePermit,
}

async fn process_batch<S: Stage>(
    stage: Arc<S>,
    ctx: Arc<RunContext>,
    publisher: Publisher,
    metrics: Arc<StageMetrics>,
    batch: Batch,
) -> BatchEnd {
    let started = Instant::now();
    let deliveries = &batch.deliveries;
    metrics.batch(deliveries.len());
    // Decode; what cannot be decoded is settled as dead at once.
    let mut settles: Vec<Option<Settle>> = Vec::with_capacity(deliveries.len());
    let mut metas: Vec<Meta> = Vec::with_capacity(deliveries.len());
    let mut inputs: Vec<Incoming<S::Input>> = Vec::new();
    let mut input_positions: Vec<usize> = Vec::new();
    for (i, delivery) in deliveries.iter().enumerate() {
        let meta = meta_of(delivery);
        match decode_json::<S::Input>(&delivery.data, S::schema_of) {
            Err(e) => settles.push(Some(Settle::Dead(e.reason, e.error))),
            Ok(input) => match ctx.fault.before_process(S::NAME, meta.application_id.as_deref()) {
                Some(error) => settles.push(Some(Settle::Retry(error))),
                None => {
                    settles.push(None);
                    input_positions.push(i);
                    inputs.push(Incoming { input, meta: meta.clone() });
                }
            },
        }
        metas.push(meta);
    }

    if !inputs.is_empty() {
        let outcomes = match stage.process(&inputs).await {
            Ok(outcomes) => outcomes,
            Err(unavailable) => {
                if let Err(e) = batch.acks.answer(deliveries, &vec![Answer::Requeue; deliveries.len()]).await {
                    return BatchEnd::Broken(e.into());
                }
                metrics.requeued_unavailable(deliveries.len());
                return BatchEnd::Unavailable(unavailable);
            }
        };
        if outcomes.len() != inputs.len() {
            tracing::error!(stage = %S::NAME, "stage returned {} outcomes for {} messages", outcomes.len(), inputs.len());
        }
        for (pos, outcome) in input_positions.iter().zip(outcomes) {
            settles[*pos] = Some(match outcome {
                Outcome::Done(out) => Settle::Onward(out),
                Outcome::Retry(e) => Settle::Retry(e),
                Outcome::Permanent(e) => Settle::Dead(DeadReason::Permanent, e),
            });
        }
    }

    for (settle, meta) in settles.iter().zip(&metas) {
        if matches!(settle, Some(Settle::Onward(_)))
            && ctx.fault.after_commit(S::NAME, meta.application_id.as_deref()) == FaultAction::Crash
        {
            return BatchEnd::Crash;
        }
    }

    let settled = deliveries
        .iter()
        .zip(settles)
        .zip(&metas)
        .map(|((delivery, settle), meta)| settle_one::<S>(&ctx, &publisher, delivery, meta, settle));
    let settled: Vec<Option<Settled>> = join_all(settled).await;
    let answers: Vec<Answer> = settled.iter().map(|s| if s.is_some() { Answer::Ack } else { Answer::Requeue }).collect();
    match batch.acks.answer(deliveries, &answers).await {
        Ok(acked) => metrics.answered(acked == Acked::AtOnce),
        Err(e) => return BatchEnd::Broken(anyhow::Error::from(e).context("answering the broker")),
    }
    for (settled, meta) in settled.into_iter().zip(&metas) {
        match settled {
            Some(Settled::Onward) => metrics.processed(started, meta.submitted_at_ms),
            Some(Settled::Retried(tier)) => {
                metrics.retried(tier);
                metrics.settled(started);
            }
            Some(Settled::Dead(reason)) => {
                metrics.dead_lettered(reason);
                metrics.settled(started);
            }
            None => metrics.requeued_publish_failed(),
        }
    }
    BatchEnd::Settled
}

/// What became of a message once its publish was confirmed, for the metrics.
enum Settled {
    Onward,
    Retried(u64),
    Dead(DeadReason),
}

/// Publishes what follows a message and says what became of it once the broker confirmed, so it
/// can be acked; `None` when the publish failed and the message goes back to its queue instead
/// (its effect is idempotent, so doing it again is safe).
async fn settle_one<S: Stage>(
    ctx: &RunContext,
    publisher: &Publisher,
    delivery: &Delivery,
    meta: &Meta,
    settle: Option<Settle>,
) -> Option<Settled> {
    let topology = &ctx.topology;
    let published: Result<Settled, PublishError> = match settle {
        // Every message got a settle above; None cannot happen, and retrying is the safe answer.
        None => retry(publisher, topology, S::NAME, delivery, meta.attempt, "no outcome").await.map(Settled::Retried),
        Some(Settle::Onward(outgoing)) => {
            let results =
                join_all(outgoing.iter().map(|out| publish_onward(publisher, topology, out, 1, meta.submitted_at_ms))).await;
            results.into_iter().collect::<Result<(), _>>().map(|()| Settled::Onward)
        }
        Some(Settle::Retry(error)) if meta.attempt >= ctx.settings.amqp.max_attempts => {
            message_event!(error, S::NAME, meta, error, "retries exhausted, dead-lettering");
            let reason = DeadReason::RetriesExhausted;
            dead_letter(publisher, topology, S::NAME, delivery, reason, meta.attempt, &error).await.map(|()| Settled::Dead(reason))
        }
        Some(Settle::Retry(error)) => {
            let tier = retry(publisher, topology, S::NAME, delivery, meta.attempt, &error).await;
            if let Ok(tier) = &tier {
                message_event!(warn, S::NAME, meta, error, tier_ms = tier, "transient failure, retrying after a delay");
            }
            tier.map(Settled::Retried)
        }
        Some(Settle::Dead(reason, error)) => {
            message_event!(error, S::NAME, meta, error, reason = reason.as_str(), "dead-lettering");
            dead_letter(publisher, topology, S::NAME, delivery, reason, meta.attempt, &error).await.map(|()| Settled::Dead(reason))
        }
    };
    published.map_err(|e| message_event!(warn, S::NAME, meta, error = %e, "publish failed, returning the message to its queue")).ok()
}
