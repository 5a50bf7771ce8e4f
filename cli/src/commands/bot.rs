//! `ariza bot`: runs the staff bot (long polling, or a webhook when `bot.mode = "webhook"`) until
//! SIGTERM or Ctrl-C. Serves Prometheus metrics on `metrics.bot_listen`.

use ariza_bot::{BotApp, run_bot};
use ariza_shared::config::Settings;
use ariza_shared::metrics::{self, Process};
use secrecy::ExposeSecret as _;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    if settings.telegram.token.expose_secret().is_empty() {
        eprintln!("ariza: no bot token: set ARIZA__TELEGRAM__TOKEN (or run against `ariza fake-bot-api`)");
        return Ok(ExitCode::from(2));
    }
    let shutdown = CancellationToken::new();
    metrics::install();
    metrics::serve_configured(Process::Bot, &settings.metrics, shutdown.clone()).await;
    let pool = ariza_workers::db::pool(&settings.database)?;
    let app = Arc::new(BotApp::new(settings, pool));
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        super::shutdown_signal().await;
        trigger.cancel();
    });
    run_bot(app, shutdown, None).await?;
    Ok(ExitCode::SUCCESS)
}
