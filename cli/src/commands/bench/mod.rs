//! `ariza bench --count N [--rate R] [--with-limits]`: measures the pipeline end to end on this
//! machine, with the same code and configuration as `ariza workers`.
//!
//! What differs from production is only what must: the Bot API is a local fake
//! ([`ariza_fake_bot_api::FakeBotApi`]) on 127.0.0.1, Telegram's rate limits are lifted (unless
//! `--with-limits`), and the benchmark has its own database (dropped, created and migrated) and
//! its own queue prefix (its queues deleted at start and at the end), so it never touches
//! production data. The workers run in this process ([`Pipeline`] with every component), so the
//! peak RSS it reports includes the benchmark driver and the fake Bot API.
//!
//! - [`setup`]: the derived settings, the database, the queues, the staff.
//! - [`load`]: the synthetic requests and publishing them (backlog or steady rate).
//! - [`track`]: which request is done, polled from the database, and progress on stderr.
//! - [`report`]: the final checks and the one-line JSON report on stdout.
//!
//! An application is *done* when its `service_requests` row is routed and every one of its
//! `notifications` rows is final (`sent`, or `waiting_link` for a client without a chat); at the
//! end the fake Bot API's count of sent messages must equal the number of `sent` rows. Its latency
//! is the rows' `updated_at` minus the time the request was published (backlog) or scheduled
//! (`--rate`), both read from this machine's clock. Before the measured requests, `--warmup`
//! requests (100 by default) go through and are waited for, so the pools have connected; they
//! are not in the figures.

mod load;
mod report;
mod setup;
mod track;

use anyhow::{Context as _, bail};
use ariza_fake_bot_api::FakeBotApi;
use ariza_shared::config::Settings;
use ariza_workers::broker::{self, Publisher};
use ariza_workers::pipeline::{Component, Pipeline};
use lapin::types::ShortString;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How the load is offered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Everything at once, as fast as the broker confirms; measures throughput.
    Backlog,
    /// A steady `R` requests per second; measures latency under that load.
    Rate(f64),
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many creation requests to publish.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
    /// Offer a steady load of this many requests per second (latency), instead of publishing all
    /// of them at once (throughput).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Keep Telegram's rate limits on (30 messages/s, 1/s per chat) to measure the notification
    /// ceiling; use a small --count (e.g. 300).
    #[arg(long)]
    pub with_limits: bool,
    /// The benchmark's database on the configured PostgreSQL server; dropped and created again.
    #[arg(long, default_value = "ariza_bench")]
    pub database: String,
    /// The benchmark's queue prefix; its queues are deleted at start and at the end.
    #[arg(long, default_value = "ariza-bench")]
    pub prefix: String,
    /// Fail if not every request is done within this many seconds of the first publish.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
    /// How often the database is asked which requests are done, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub poll_ms: u64,
    /// Requests published (all at once) and waited for before the measurement, so that connection
    /// pools and caches are warm; they are not counted in the figures. 100 by default, none with
    /// --with-limits (where the sends themselves are what is measured).
    #[arg(long)]
    pub warmup: Option<u32>,
    /// Skip the RabbitMQ feature-flag check (for brokers the local rabbitmqctl cannot reach).
    #[arg(long)]
    pub skip_feature_check: bool,
}

impl Args {
    fn warmup(&self) -> u32 {
        self.warmup.unwrap_or(if self.with_limits { 0 } else { 100 })
    }

    fn mode(&self) -> anyhow::Result<Mode> {
        match self.rate {
            None => Ok(Mode::Backlog),
            Some(r) if r.is_finite() && r > 0.0 && r <= 100_000.0 => Ok(Mode::Rate(r)),
            Some(r) => bail!("--rate must be a positive number of requests per second (at most 100000), not {r}"),
        }
    }
}

/// Runs the benchmark; the exit code says whether every request was done, without dead letters
/// or errors.
pub async fn run(args: Args, settings: Settings) -> anyhow::Result<ExitCode> {
    let mode = args.mode()?;
    let n = usize::try_from(args.count).context("--count does not fit this machine")?;
    let warmup = usize::try_from(args.warmup()).context("--warmup does not fit this machine")?;
    if !args.skip_feature_check {
        broker::require_feature_flags(&settings.amqp).await?;
    }
    let bot = FakeBotApi::start(setup::TOKEN)?;
    let settings = setup::bench_settings(settings, &args, bot.base_url())?;
    let topology = settings.topology();
    eprintln!(
        "[bench] database {}, queue prefix {}, fake Bot API {}, Telegram rate limits {}",
        args.database,
        args.prefix,
        bot.base_url(),
        if args.with_limits { "on" } else { "off" }
    );

    setup::recreate_database(&settings, &args.database).await?;
    let pool = ariza_workers::db::stage_pool(&settings.database)?;
    ariza_workers::db::migrate(&pool).await?;
    let staff = setup::register_staff(&pool).await?;
    let watch_pool = setup::watch_pool(&settings)?;

    let monitor = setup::Monitor::connect(&settings.amqp).await?;
    setup::delete_queues(&monitor, &topology, false).await?;
    let channel = monitor.channel().await?;
    broker::declare(&channel, &topology).await?;
    channel.close(200, ShortString::from("declared")).await.ok();

    let pipeline = Pipeline::with_pool(settings.clone(), pool.clone())?;
    let shutdown = CancellationToken::new();
    let workers = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { pipeline.run(&Component::all(), shutdown).await })
    };

    let tracker = Arc::new(track::Tracker::new(n, 0));
    let phases = Phases { args: &args, mode, settings: &settings, staff: &staff, pool: &watch_pool, bot: &bot, monitor: &monitor };
    // Whatever happens here, the workers are stopped and the queues deleted below.
    let (finished, publish_stats) = phases.run(&tracker).await.unwrap_or_else(|e| {
        tracker.error(format!("{e:#}"));
        (false, None)
    });

    let checks = report::final_checks(&watch_pool, &settings, &bot, tracker.ids()).await;

    eprintln!("[bench] stopping the workers");
    shutdown.cancel();
    match tokio::time::timeout(Duration::from_secs(30), workers).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracker.error(format!("the workers stopped with an error: {e:#}")),
        Ok(Err(e)) => tracker.error(format!("the workers task failed: {e}")),
        Err(_) => tracker.error("the workers did not stop within 30 s".to_owned()),
    }
    let dead_letters = report::dead_letters(&watch_pool, &monitor, &topology).await;
    setup::delete_queues(&monitor, &topology, true).await.ok();
    monitor.close().await;
    pool.close().await;
    watch_pool.close().await;
    bot.shutdown();

    let expected = report::Expected { n, warmup };
    let report = report::Report::build(&args, mode, expected, finished, &tracker, publish_stats, checks, dead_letters);
    report.print();
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The measurement once the workers run: the warm-up, then the measured load.
struct Phases<'a> {
    args: &'a Args,
    mode: Mode,
    settings: &'a Settings,
    staff: &'a [setup::Creator],
    pool: &'a sqlx::PgPool,
    bot: &'a FakeBotApi,
    monitor: &'a setup::Monitor,
}

impl Phases<'_> {
    async fn run(&self, tracker: &Arc<track::Tracker>) -> anyhow::Result<(bool, Option<load::PublishStats>)> {
        let topology = self.settings.topology();
        setup::wait_for_consumers(self.monitor, &topology, Duration::from_secs(30)).await?;
        let publish_conn = broker::connect(&self.settings.amqp, "bench-publish").await?;
        let mut publishers = Vec::with_capacity(load::PUBLISH_CHANNELS);
        for _ in 0..load::PUBLISH_CHANNELS {
            publishers.push(Publisher::open(&publish_conn).await.context("opening a publish channel")?);
        }
        let driver = Driver {
            publishers: &publishers,
            topology: &topology,
            staff: self.staff,
            pool: self.pool,
            bot: self.bot,
            monitor: self.monitor,
            poll: Duration::from_millis(self.args.poll_ms.max(1)),
        };
        let warmup = usize::try_from(self.args.warmup()).unwrap_or(usize::MAX);
        let warmed = warmup == 0 || {
            eprintln!("[bench] warm-up: {warmup} requests at once, not measured");
            let warm = Arc::new(track::Tracker::new(warmup, tracker.len()));
            let (finished, _) = driver.drive(Mode::Backlog, &warm, Duration::from_secs(60)).await;
            for e in warm.errors().0 {
                tracker.error(format!("warm-up: {e}"));
            }
            finished
        };
        let result = if warmed {
            eprintln!("[bench] publishing {} requests ({})", tracker.len(), describe(self.mode));
            driver.drive(self.mode, tracker, Duration::from_secs(self.args.timeout_secs)).await
        } else {
            tracker.error("the warm-up did not complete within 60 s; nothing was measured".to_owned());
            (false, None)
        };
        publish_conn.close(200, ShortString::from("bench done")).await.ok();
        Ok(result)
    }
}

/// What one load phase needs.
struct Driver<'a> {
    publishers: &'a [Publisher],
    topology: &'a ariza_shared::topology::Topology,
    staff: &'a [setup::Creator],
    pool: &'a sqlx::PgPool,
    bot: &'a FakeBotApi,
    monitor: &'a setup::Monitor,
    poll: Duration,
}

impl Driver<'_> {
    /// Publishes the tracker's requests as `mode` says and waits until they are all done or
    /// `bound` has passed; returns whether all were done, and how publishing went.
    async fn drive(&self, mode: Mode, tracker: &Arc<track::Tracker>, bound: Duration) -> (bool, Option<load::PublishStats>) {
        let publishing = {
            let (tracker, topology) = (tracker.clone(), self.topology.clone());
            let (publishers, staff) = (self.publishers.to_vec(), self.staff.to_vec());
            tokio::spawn(async move { load::publish(mode, &publishers, &topology, &staff, &tracker).await })
        };
        let watch = track::Watch {
            pool: self.pool,
            tracker,
            bot: self.bot,
            monitor: self.monitor,
            topology: self.topology,
            poll: self.poll,
            deadline: tokio::time::Instant::now() + bound,
        };
        let finished = watch.run().await;
        let stats = match tokio::time::timeout(Duration::from_secs(10), publishing).await {
            Ok(Ok(stats)) => Some(stats),
            Ok(Err(e)) => {
                tracker.error(format!("the publishing task failed: {e}"));
                None
            }
            Err(_) => {
                tracker.error("publishing had not finished when the watch ended".to_owned());
                None
            }
        };
        (finished, stats)
    }
}

fn describe(mode: Mode) -> String {
    match mode {
        Mode::Backlog => "backlog: all at once".to_owned(),
        Mode::Rate(r) => format!("{r}/s"),
    }
}
