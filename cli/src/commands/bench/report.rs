//! The end of a run: the checks that what the workers recorded matches what the fake Bot API
//! received, the dead letters, and the report: a summary on stderr and one JSON object as the last
//! line on stdout.

use super::load::PublishStats;
use super::track::Tracker;
use super::{Args, Mode};
use ariza_fake_bot_api::FakeBotApi;
use ariza_shared::config::Settings;
use ariza_shared::topology::Topology;
use ariza_workers::telegram::TelegramClient;
use super::setup::Monitor;
use serde::Serialize;
use sqlx::PgPool;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A chat no notification goes to, for the counting probe.
const PROBE_CHAT: i64 = 1;

/// What the database and the fake Bot API hold at the end.
#[derive(Debug, Default)]
pub struct Checks {
    requests: i64,
    routed: i64,
    rejected: i64,
    statuses: BTreeMap<String, i64>,
    /// Notifications of the measured requests (not the warm-up) by status.
    measured: BTreeMap<String, i64>,
    /// Successful `sendMessage` calls the fake answered.
    fake_sent: Option<i64>,
    errors: Vec<String>,
}

/// Reads the final state. The fake forgets the calls it recorded during the run (to keep memory
/// flat), but its message ids count every successful send: one more send, the probe, gets id
/// `sent + 1`.
pub async fn final_checks(pool: &PgPool, settings: &Settings, bot: &FakeBotApi, measured: &[Uuid]) -> Checks {
    let mut checks = Checks::default();
    let counts = async {
        let (requests, routed): (i64, i64) =
            sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE state <> 'new') FROM service_requests").fetch_one(pool).await?;
        let rejected: i64 = sqlx::query_scalar("SELECT count(*) FROM rejected_requests").fetch_one(pool).await?;
        let statuses: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM notifications GROUP BY status").fetch_all(pool).await?;
        let measured: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM notifications WHERE application_id = ANY($1) GROUP BY status")
                .bind(measured)
                .fetch_all(pool)
                .await?;
        Ok::<_, sqlx::Error>((requests, routed, rejected, statuses, measured))
    };
    match counts.await {
        Ok((requests, routed, rejected, statuses, measured)) => {
            checks.requests = requests;
            checks.routed = routed;
            checks.rejected = rejected;
            checks.statuses = statuses.into_iter().collect();
            checks.measured = measured.into_iter().collect();
        }
        Err(e) => checks.errors.push(format!("reading the final counts: {e}")),
    }
    let mut probe_settings = settings.telegram.clone();
    probe_settings.rate_limits = false;
    probe_settings.api_base_url = bot.base_url().to_owned();
    match TelegramClient::new(&probe_settings) {
        Ok(client) => match client.send_message(PROBE_CHAT, "ariza bench: counting probe").await {
            Ok(id) => checks.fake_sent = Some(id - 1),
            Err(e) => checks.errors.push(format!("the counting probe to the fake Bot API failed: {e}")),
        },
        Err(e) => checks.errors.push(format!("a client for the counting probe: {e:#}")),
    }
    checks
}

/// Dead letters: archived in the table, plus any still in the dead-letter queue.
pub async fn dead_letters(pool: &PgPool, monitor: &Monitor, topology: &Topology) -> Result<i64, String> {
    let archived: i64 = sqlx::query_scalar("SELECT count(*) FROM dead_letters")
        .fetch_one(pool)
        .await
        .map_err(|e| format!("counting dead letters: {e}"))?;
    let channel = monitor.channel().await.map_err(|e| format!("{e:#}"))?;
    let queued = super::setup::queue_state(&channel, &topology.dead_queue()).await.map_err(|e| format!("{e:#}"))?.0;
    channel.close(200, "counted".into()).await.ok();
    Ok(archived + i64::from(queued))
}

/// How many requests the run published: `n` measured, after `warmup` that were not.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    pub n: usize,
    pub warmup: usize,
}

/// The figures of one run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub n: usize,
    pub warmup: usize,
    pub mode: &'static str,
    pub rate: Option<f64>,
    pub with_limits: bool,
    pub completed: usize,
    /// From the first publish to the last completion.
    pub seconds: f64,
    pub apps_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// The same, by when the watch noticed (adds up to one poll interval and the poll's query).
    pub p50_observed_ms: Option<f64>,
    pub p99_observed_ms: Option<f64>,
    pub publish_seconds: f64,
    pub publish_per_s: f64,
    pub max_schedule_lag_ms: f64,
    pub notifications_sent: i64,
    pub notifications_waiting_link: i64,
    pub notifications_per_s: f64,
    pub fake_sent: Option<i64>,
    pub peak_rss_mb: Option<f64>,
    pub dead_letters: Option<i64>,
    pub errors: Vec<String>,
    pub error_count: usize,
    pub database: String,
    pub prefix: String,
    pub poll_ms: u64,
}

impl Report {
    #[allow(clippy::too_many_arguments)] // one call site, each argument a different part of the run
    pub fn build(
        args: &Args,
        mode: Mode,
        expected: Expected,
        finished: bool,
        tracker: &Tracker,
        publish: Option<PublishStats>,
        checks: Checks,
        dead_letters: Result<i64, String>,
    ) -> Report {
        let Expected { n, warmup } = expected;
        let total = n + warmup;
        let (by_db, observed) = tracker.latencies_ms();
        let completed = by_db.len();
        let (first, last) = tracker.span();
        let seconds = match (first, last) {
            (Some(first), Some(last)) => secs(last - first),
            _ => 0.0,
        };
        let per_s = |count: f64| if seconds > 0.0 { round(count / seconds) } else { 0.0 };
        let (publish_seconds, max_lag_ms) =
            publish.map_or((0.0, 0.0), |p| (secs(p.finished - p.started), p.max_lag.as_secs_f64() * 1000.0));
        let sent = checks.statuses.get("sent").copied().unwrap_or_default();
        let measured_sent = checks.measured.get("sent").copied().unwrap_or_default();
        let measured_waiting = checks.measured.get("waiting_link").copied().unwrap_or_default();

        let (mut errors, tracked_errors) = tracker.errors();
        let mut error_count = tracked_errors;
        let mut fail = |e: String| {
            error_count += 1;
            errors.push(e);
        };
        if !finished || completed < n {
            fail(format!("only {completed} of {n} requests were done within {} s", args.timeout_secs));
        }
        for e in checks.errors {
            fail(e);
        }
        if checks.requests != to_i64(total) || checks.routed != to_i64(total) {
            fail(format!("{} applications stored and {} routed, expected {total} of each", checks.requests, checks.routed));
        }
        if checks.rejected > 0 {
            fail(format!("{} requests were rejected by validation", checks.rejected));
        }
        let unfinished: i64 = checks.statuses.iter().filter(|(s, _)| !matches!(s.as_str(), "sent" | "waiting_link")).map(|(_, c)| c).sum();
        if unfinished > 0 {
            fail(format!("{unfinished} notifications are not sent or waiting for a link: {:?}", checks.statuses));
        }
        if checks.fake_sent.is_some_and(|f| f != sent) {
            fail(format!("the fake Bot API answered {} sends but {sent} notifications are recorded as sent", checks.fake_sent.unwrap_or_default()));
        }
        let dead = match dead_letters {
            Ok(count) => {
                if count > 0 {
                    fail(format!("{count} dead letters"));
                }
                Some(count)
            }
            Err(e) => {
                fail(e);
                None
            }
        };

        #[allow(clippy::cast_precision_loss)] // counts of a benchmark run fit in f64
        let (n_f, completed_f, sent_f) = (n as f64, completed as f64, measured_sent as f64);
        Report {
            n,
            warmup,
            mode: match mode {
                Mode::Backlog => "backlog",
                Mode::Rate(_) => "rate",
            },
            rate: match mode {
                Mode::Backlog => None,
                Mode::Rate(r) => Some(r),
            },
            with_limits: args.with_limits,
            completed,
            seconds: round(seconds),
            apps_per_s: per_s(completed_f),
            p50_ms: percentile(&by_db, 0.50),
            p90_ms: percentile(&by_db, 0.90),
            p99_ms: percentile(&by_db, 0.99),
            max_ms: percentile(&by_db, 1.0),
            p50_observed_ms: percentile(&observed, 0.50),
            p99_observed_ms: percentile(&observed, 0.99),
            publish_seconds: round(publish_seconds),
            publish_per_s: if publish_seconds > 0.0 { round(n_f / publish_seconds) } else { 0.0 },
            max_schedule_lag_ms: round(max_lag_ms),
            notifications_sent: measured_sent,
            notifications_waiting_link: measured_waiting,
            notifications_per_s: per_s(sent_f),
            fake_sent: checks.fake_sent,
            peak_rss_mb: peak_rss_mb(),
            dead_letters: dead,
            errors,
            error_count,
            database: args.database.clone(),
            prefix: args.prefix.clone(),
            poll_ms: args.poll_ms,
        }
    }

    /// Every request done, no dead letter, no error.
    pub fn passed(&self) -> bool {
        self.completed == self.n && self.dead_letters == Some(0) && self.error_count == 0
    }

    /// A summary on stderr, then the JSON object as the last line on stdout.
    #[allow(clippy::print_stdout)] // the report is the command's output
    pub fn print(&self) {
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"));
        eprintln!(
            "[bench] {} of {} done in {:.2} s: {:.1} apps/s; latency p50 {} p99 {} (observed p99 {}); peak RSS {} MB; dead letters {}; errors {}",
            self.completed,
            self.n,
            self.seconds,
            self.apps_per_s,
            ms(self.p50_ms),
            ms(self.p99_ms),
            ms(self.p99_observed_ms),
            self.peak_rss_mb.map_or_else(|| "?".to_owned(), |m| format!("{m:.1}")),
            self.dead_letters.map_or_else(|| "?".to_owned(), |d| d.to_string()),
            self.error_count,
        );
        for e in &self.errors {
            eprintln!("[bench] error: {e}");
        }
        match serde_json::to_string(self) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("[bench] cannot write the report: {e}"),
        }
    }
}

fn secs(d: chrono::TimeDelta) -> f64 {
    #[allow(clippy::cast_precision_loss)] // microseconds of a benchmark run fit in f64
    let us = d.num_microseconds().unwrap_or(i64::MAX) as f64;
    us / 1e6
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0 < rank <= len
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).map(|v| round(*v))
}

/// The process's peak resident set (VmHWM), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(round(kb / 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&v, 1.0), Some(100.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn the_peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_mb().is_some_and(|mb| mb > 0.0));
        }
    }
}
