//! Which requests are done. The publisher records when each request was sent (or due); the watch
//! asks the database every `--poll-ms` which requests are done, and prints progress on stderr once
//! a second, with the ready messages in each stage queue.
//!
//! It asks about the applications the fake Bot API has just seen an "open" button for (the
//! participants' notification, sent in the same batch as the application's other notifications,
//! whose rows that batch then records), and every `SWEEP` about the oldest pending ones, for any
//! application whose notifications carry no button. Asking about every pending application at
//! every poll would cost the database more than some of the stages it measures.
//!
//! A request is done when all its application's notification rows are final. Its completion time
//! is the rows' `updated_at` (PostgreSQL's `clock_timestamp()` in the statement that recorded the
//! sends, after them), so how often the watch polls changes when the benchmark *notices*, not the
//! latency it reports; the time it noticed is kept too, for comparison.

use super::setup::{Monitor, queue_state};
use ariza_fake_bot_api::{FakeBotApi, SentMessage};
use ariza_shared::domain::{ApplicationId, GlobalAction};
use ariza_shared::topology::{Stage, Topology};
use chrono::{DateTime, Utc};
use lapin::Channel;
use sqlx::PgPool;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use uuid::Uuid;

/// The oldest pending requests asked about in one sweep; newer ones wait for their turn, which
/// does not change their measured latency (see the module doc). A sweep finds the applications
/// with no "open" button: those whose creator is also the role they are routed to (a manager's
/// connection request) get one message, the creator's, without it.
const WINDOW: usize = 128;
/// How often the watch also asks about the oldest pending requests: up to 640 applications a
/// second, a few milliseconds of the database's time each.
const SWEEP: Duration = Duration::from_millis(200);
/// Error messages kept for the report (all are counted).
const ERRORS_KEPT: usize = 20;

/// Every request's times, shared by the publisher and the watch.
#[derive(Debug)]
pub struct Tracker {
    ids: Vec<Uuid>,
    /// The sequence number of the first request, which its data follows from (see `load`).
    first_seq: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    index: HashMap<Uuid, usize>,
    sent_at: Vec<Option<DateTime<Utc>>>,
    done_at: Vec<Option<DateTime<Utc>>>,
    observed_at: Vec<Option<DateTime<Utc>>>,
    pending: BTreeSet<usize>,
    sent: usize,
    confirmed: usize,
    done: usize,
    failed: usize,
    errors: Vec<String>,
    error_count: usize,
}

/// Counts for the progress line.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub sent: usize,
    pub confirmed: usize,
    pub done: usize,
    pub failed: usize,
}

impl Tracker {
    /// A tracker for `n` requests numbered from `first_seq`, their application ids chosen up front.
    pub fn new(n: usize, first_seq: usize) -> Self {
        let ids: Vec<Uuid> = (0..n).map(|_| ApplicationId::new().0).collect();
        let inner = Inner {
            index: ids.iter().enumerate().map(|(i, id)| (*id, i)).collect(),
            sent_at: vec![None; n],
            done_at: vec![None; n],
            observed_at: vec![None; n],
            ..Inner::default()
        };
        Self { ids, first_seq, inner: Mutex::new(inner) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Every request's application id.
    pub fn ids(&self) -> &[Uuid] {
        &self.ids
    }

    /// The sequence number of request `i`.
    pub fn seq(&self, i: usize) -> usize {
        self.first_seq + i
    }

    /// The application id of request `i`.
    pub fn id(&self, i: usize) -> Option<ApplicationId> {
        self.ids.get(i).copied().map(ApplicationId)
    }

    /// Request `i` was published (or was due) at `at`.
    pub fn sent(&self, i: usize, at: DateTime<Utc>) {
        let mut inner = self.lock();
        if let Some(slot) = inner.sent_at.get_mut(i) {
            *slot = Some(at);
            inner.pending.insert(i);
            inner.sent += 1;
        }
    }

    pub fn confirmed(&self) {
        self.lock().confirmed += 1;
    }

    /// Request `i` could not be published: it will never be done.
    pub fn failed(&self, i: usize, error: String) {
        let mut inner = self.lock();
        inner.pending.remove(&i);
        inner.failed += 1;
        push_error(&mut inner, error);
    }

    /// Records an error for the report.
    pub fn error(&self, error: String) {
        push_error(&mut self.lock(), error);
    }

    /// The oldest pending requests' application ids.
    fn window(&self) -> Vec<Uuid> {
        let inner = self.lock();
        inner.pending.iter().take(WINDOW).filter_map(|i| self.ids.get(*i).copied()).collect()
    }

    /// Those of `ids` still pending.
    fn still_pending(&self, ids: impl IntoIterator<Item = Uuid>) -> Vec<Uuid> {
        let inner = self.lock();
        ids.into_iter().filter(|id| inner.index.get(id).is_some_and(|i| inner.pending.contains(i))).collect()
    }

    /// Marks requests done: `(application id, completion time, every notification sent or
    /// waiting for a link)`.
    fn complete(&self, rows: &[(Uuid, DateTime<Utc>, bool)], observed: DateTime<Utc>) {
        let mut inner = self.lock();
        for (id, done_at, ok) in rows {
            let Some(i) = inner.index.get(id).copied() else { continue };
            if !inner.pending.remove(&i) {
                continue;
            }
            inner.done += 1;
            if let Some(slot) = inner.done_at.get_mut(i) {
                *slot = Some(*done_at);
            }
            if let Some(slot) = inner.observed_at.get_mut(i) {
                *slot = Some(observed);
            }
            if !ok {
                push_error(&mut inner, format!("application {id}: a notification ended failed or blocked"));
            }
        }
    }

    pub fn progress(&self) -> Progress {
        let inner = self.lock();
        Progress { sent: inner.sent, confirmed: inner.confirmed, done: inner.done, failed: inner.failed }
    }

    /// Latencies in milliseconds of the done requests, sorted: by the database's completion time,
    /// and by when the watch noticed.
    pub fn latencies_ms(&self) -> (Vec<f64>, Vec<f64>) {
        let inner = self.lock();
        let ms = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| {
            let (from, to) = (from?, to?);
            #[allow(clippy::cast_precision_loss)] // microseconds of a benchmark run fit in f64
            Some((to - from).num_microseconds()? as f64 / 1000.0)
        };
        let mut by_db: Vec<f64> = inner.sent_at.iter().zip(&inner.done_at).filter_map(|(s, d)| ms(*s, *d)).collect();
        let mut observed: Vec<f64> = inner.sent_at.iter().zip(&inner.observed_at).filter_map(|(s, o)| ms(*s, *o)).collect();
        by_db.sort_by(f64::total_cmp);
        observed.sort_by(f64::total_cmp);
        (by_db, observed)
    }

    /// The first send and the last completion.
    pub fn span(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let inner = self.lock();
        (inner.sent_at.iter().flatten().min().copied(), inner.done_at.iter().flatten().max().copied())
    }

    /// The kept error messages and how many there were.
    pub fn errors(&self) -> (Vec<String>, usize) {
        let inner = self.lock();
        (inner.errors.clone(), inner.error_count)
    }
}

fn push_error(inner: &mut Inner, error: String) {
    inner.error_count += 1;
    if inner.errors.len() < ERRORS_KEPT {
        inner.errors.push(error);
    }
}

/// Polls until every request is done (or could not be published), or the deadline.
#[derive(Debug)]
pub struct Watch<'a> {
    pub pool: &'a PgPool,
    pub tracker: &'a Tracker,
    pub bot: &'a FakeBotApi,
    pub monitor: &'a Monitor,
    pub topology: &'a Topology,
    pub poll: Duration,
    pub deadline: tokio::time::Instant,
}

impl Watch<'_> {
    /// Whether every request was done before the deadline.
    pub async fn run(&self) -> bool {
        let n = self.tracker.len();
        let start = tokio::time::Instant::now();
        let mut next_report = start + Duration::from_secs(1);
        let mut last_done = 0;
        let mut channel: Option<Channel> = None;
        let mut poll_failures = 0_usize;
        let mut candidates: HashSet<Uuid> = HashSet::new();
        let mut next_sweep = start;
        loop {
            candidates.extend(self.bot.take_sent_messages().iter().filter_map(opened_application));
            let mut ask = self.tracker.still_pending(candidates.drain());
            let now = tokio::time::Instant::now();
            if now >= next_sweep {
                // From now, not from the last due time: a slow poll does not bring sweeps back to back.
                next_sweep = now + SWEEP;
                ask.extend(self.tracker.window());
                ask.sort_unstable();
                ask.dedup();
            }
            if !ask.is_empty() {
                match done_among(self.pool, &ask).await {
                    Ok(rows) => {
                        self.tracker.complete(&rows, Utc::now());
                        // Asked about again at the next poll until the database shows them done.
                        candidates.extend(self.tracker.still_pending(ask));
                    }
                    Err(e) => {
                        candidates.extend(ask);
                        poll_failures += 1;
                        if poll_failures == 1 || poll_failures.is_multiple_of(100) {
                            eprintln!("[bench] polling the database failed ({poll_failures} so far): {e}");
                        }
                    }
                }
            }
            let progress = self.tracker.progress();
            let now = tokio::time::Instant::now();
            let finished = progress.done + progress.failed >= n;
            if finished || now >= self.deadline || now >= next_report {
                let depths = self.queue_depths(&mut channel).await;
                eprintln!(
                    "[bench] {:>6.1}s sent {}/{n} confirmed {} done {} (+{}/s) failed {} | ready: {depths}",
                    start.elapsed().as_secs_f64(),
                    progress.sent,
                    progress.confirmed,
                    progress.done,
                    progress.done - last_done,
                    progress.failed,
                );
                last_done = progress.done;
                next_report += Duration::from_secs(1);
                // The fake keeps every call it answers; forget them so the benchmark's memory
                // stays the workers' (the final count comes from the message ids, see report).
                candidates.extend(self.bot.take_sent_messages().iter().filter_map(opened_application));
                self.bot.clear();
            }
            if finished {
                return progress.failed == 0;
            }
            if now >= self.deadline {
                return false;
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Ready messages in each stage queue, in the retry tiers and in the dead letters.
    async fn queue_depths(&self, channel: &mut Option<Channel>) -> String {
        if channel.as_ref().is_none_or(|c| !c.status().connected()) {
            *channel = self.monitor.channel().await.ok();
        }
        let Some(ch) = channel.as_ref() else { return "unknown (no channel)".to_owned() };
        let mut out = Vec::new();
        for stage in Stage::ALL {
            let ready = queue_state(ch, &self.topology.queue(*stage)).await.map(|(m, _)| m);
            out.push(format!("{}={}", stage.as_str(), ready.map_or_else(|_| "?".to_owned(), |m| m.to_string())));
        }
        let mut retrying = 0;
        for stage in Stage::ALL {
            for tier in &self.topology.retry_tiers_ms {
                retrying += queue_state(ch, &self.topology.retry_queue(*stage, *tier)).await.map_or(0, |(m, _)| m);
            }
        }
        let dead = queue_state(ch, &self.topology.dead_queue()).await.map_or(0, |(m, _)| m);
        format!("{} retrying={retrying} dead={dead}", out.join(" "))
    }
}

/// The application whose "open" button a sent message carries.
fn opened_application(message: &SentMessage) -> Option<Uuid> {
    let rows = message.reply_markup.as_ref()?.get("inline_keyboard")?.as_array()?;
    rows.iter().flat_map(|row| row.as_array().into_iter().flatten()).find_map(|button| {
        match GlobalAction::parse(button.get("callback_data")?.as_str()?)? {
            GlobalAction::Open(app) => Some(app.0),
            GlobalAction::Rate(..) => None,
        }
    })
}

/// Which of `ids` are done: with every notification row final. (An application has notification
/// rows only once it is routed: the workflow stage publishes them after committing the route, and
/// the notification stage stores an application's rows together, in the transaction that records
/// their sends.) Asked per id, so that each is an index look-up, also on a fresh database without
/// statistics (where the planner scans the whole table for an `= ANY` of a few dozen ids).
async fn done_among(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<(Uuid, DateTime<Utc>, bool)>, sqlx::Error> {
    let rows: Vec<(Uuid, Option<DateTime<Utc>>, Option<bool>)> = sqlx::query_as(
        "SELECT a.id, d.at, d.ok
         FROM UNNEST($1::uuid[]) AS a(id)
         CROSS JOIN LATERAL (
             SELECT max(n.updated_at) AS at, bool_and(n.status IN ('sent', 'waiting_link')) AS ok,
                    bool_and(n.status <> 'pending') AS final
             FROM notifications n WHERE n.application_id = a.id
         ) d
         WHERE d.final",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(|(id, at, ok)| Some((id, at?, ok.unwrap_or(false)))).collect())
}
