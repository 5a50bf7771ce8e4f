//! Prometheus metrics for every ariza process (the workers, the bot, the console): one recorder per
//! process, installed by [`install`], and `GET /metrics` served from axum by [`serve`] on the
//! process's configured address (`[metrics]`). What is exported is listed in [`catalogue`];
//! docs/monitoring.md explains each metric and the alerts built on them.
//!
//! Install the recorder before building what records (the pipeline, the bot): handles taken
//! before it record nothing.

pub mod catalogue;

pub use catalogue::{CATALOGUE, Kind, MetricDef, lookup};

use crate::config::MetricsSettings;
use anyhow::Context as _;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Latency buckets (seconds): from a millisecond to the longest retry tier and beyond.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0,
];
/// Batch size buckets: powers of two up to well past `pipeline.batch_max`'s default.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
/// How often histogram samples are folded in when nobody scrapes, so memory stays bounded.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Which ariza process serves the metrics: it picks the listen address and labels `ariza_build_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Workers,
    Bot,
    Console,
}

impl Process {
    pub const fn as_str(self) -> &'static str {
        match self {
            Process::Workers => "workers",
            Process::Bot => "bot",
            Process::Console => "console",
        }
    }

    /// The configured listen address of this process; empty means no endpoint.
    pub fn listen(self, settings: &MetricsSettings) -> &str {
        match self {
            Process::Workers => settings.workers_listen.trim(),
            Process::Bot => settings.bot_listen.trim(),
            Process::Console => settings.console_listen.trim(),
        }
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

fn builder() -> PrometheusBuilder {
    let with_buckets = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(catalogue::STAGE_BATCH_SIZE.into()), BATCH_BUCKETS));
    // Only an empty bucket list fails, and these are constants.
    with_buckets.unwrap_or_else(|_| PrometheusBuilder::new())
}

/// Installs the process-wide Prometheus recorder and describes every metric of the catalogue.
/// Idempotent: later calls return the handle of the first.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = builder().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder was installed first: /metrics will be empty");
            }
            for m in CATALOGUE {
                match m.kind {
                    Kind::Counter => metrics::describe_counter!(m.name, m.help),
                    Kind::Gauge => metrics::describe_gauge!(m.name, m.help),
                    Kind::Histogram => metrics::describe_histogram!(m.name, m.help),
                }
            }
            handle
        })
        .clone()
}

/// `GET /metrics` in the Prometheus text format, for a process that serves it on its own router.
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response() }
        }),
    )
}

/// Installs the recorder, marks `ariza_build_info` for `process`, and serves `/metrics` on
/// `listen` until `shutdown`. Returns the bound address (`127.0.0.1:0` picks a free port), or
/// `None` when `listen` is empty (the endpoint is off). A bind failure is an error: the caller
/// decides whether the process runs on without its endpoint.
pub async fn serve(process: Process, listen: &str, shutdown: CancellationToken) -> anyhow::Result<Option<SocketAddr>> {
    let handle = install();
    metrics::gauge!(catalogue::BUILD_INFO, "process" => process.as_str(), "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let listen = listen.trim();
    if listen.is_empty() {
        return Ok(None);
    }
    let addr: SocketAddr = listen.parse().with_context(|| format!("the metrics address {listen:?} is not host:port"))?;
    let tcp = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding the metrics endpoint on {addr}"))?;
    let bound = tcp.local_addr()?;
    let upkeep = handle.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => upkeep.run_upkeep(),
            }
        }
    });
    let app = router(handle);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(tcp, app).with_graceful_shutdown(shutdown.cancelled_owned()).await {
            tracing::error!(error = %e, "the metrics endpoint failed");
        }
    });
    tracing::info!(%bound, process = process.as_str(), "serving Prometheus metrics at /metrics");
    Ok(Some(bound))
}

/// Like [`serve`] on the process's configured address, but a failure to bind is logged and the
/// process carries on without its endpoint: metrics must never stop the work.
pub async fn serve_configured(process: Process, settings: &MetricsSettings, shutdown: CancellationToken) -> Option<SocketAddr> {
    match serve(process, process.listen(settings), shutdown).await {
        Ok(bound) => bound,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                process = process.as_str(),
                "no metrics endpoint: give each process on this host its own metrics.*_listen address"
            );
            None
        }
    }
}
