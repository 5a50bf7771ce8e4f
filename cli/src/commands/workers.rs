//! `ariza workers [--stage S]...`: runs the pipeline until SIGTERM or Ctrl-C, then drains. Serves
//! Prometheus metrics on `metrics.workers_listen`.

use ariza_shared::config::Settings;
use ariza_shared::metrics::{self, Process};
use ariza_workers::pipeline::{Component, Pipeline};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run only these components (validation, persistence, workflow, notification, archiver,
    /// alerts, queue-metrics); all of them by default. Repeat to run several.
    #[arg(long = "stage", value_name = "STAGE")]
    pub stages: Vec<Component>,
    /// Skip the RabbitMQ feature-flag check (for brokers the local rabbitmqctl cannot reach).
    #[arg(long)]
    pub skip_feature_check: bool,
}

pub async fn run(args: Args, settings: Settings) -> anyhow::Result<ExitCode> {
    if !args.skip_feature_check {
        ariza_workers::broker::require_feature_flags(&settings.amqp).await?;
    }
    let components = if args.stages.is_empty() { Component::all() } else { args.stages };
    let shutdown = CancellationToken::new();
    // Before the pipeline: its metric handles are taken when it is built.
    metrics::install();
    metrics::serve_configured(Process::Workers, &settings.metrics, shutdown.clone()).await;
    let pipeline = Pipeline::new(settings)?;
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        super::shutdown_signal().await;
        tracing::info!("shutting down: finishing the messages in flight");
        trigger.cancel();
    });
    let names: Vec<String> = components.iter().map(ToString::to_string).collect();
    tracing::info!(components = names.join(","), "ariza workers starting");
    pipeline.run(&components, shutdown).await?;
    tracing::info!("ariza workers stopped");
    Ok(ExitCode::SUCCESS)
}
