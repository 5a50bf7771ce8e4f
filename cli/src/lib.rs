//! The `ariza` command line: one program with a subcommand for each job.
//!
//! `main.rs` only calls [`main`]; each subcommand lives in [`commands`] so tests can call it.

// Printing is this crate's interface; the workspace lint is for libraries that should log.
#![allow(clippy::print_stdout)]

pub mod commands;

use ariza_shared::config::Settings;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// ariza: service applications for an internet provider's clients, created in Telegram and
/// processed by a RabbitMQ pipeline.
#[derive(Debug, Parser)]
#[command(name = "ariza", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the database migrations (`--status` lists them, `--revert-to` reverts).
    Migrate(commands::migrate::Args),
    /// Run the staff bot (long polling, or a webhook per configuration).
    Bot,
    /// Run the pipeline's workers: every stage and the archiver, or one of them.
    Workers(commands::workers::Args),
    /// Register, list or deactivate staff.
    #[command(subcommand)]
    Staff(commands::staff::StaffCommand),
    /// Publish one creation request, through the same code the bot uses.
    Submit(commands::submit::Args),
    /// List, show, replay or discard dead letters.
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(commands::dead_letters::DeadLettersCommand),
    /// The operator console: `serve` it, manage its users, or use its API from scripts.
    Console(commands::console::Args),
    /// Print the workflow state machine as a Mermaid diagram.
    Workflow,
    /// Serve a local fake Telegram Bot API that prints what it is sent (no Telegram needed).
    #[command(name = "fake-bot-api")]
    FakeBotApi(commands::fake_bot_api::Args),
    /// Print the queue topology as RabbitMQ definitions (deploy/rabbitmq/definitions.json).
    #[command(subcommand)]
    Topology(commands::topology::TopologyCommand),
    /// Measure the pipeline end to end: its own database and queues, a fake Bot API.
    Bench(commands::bench::Args),
}

/// Parses the command line, loads configuration, installs telemetry and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ariza: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    ariza_shared::telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ariza: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "command failed");
            eprintln!("ariza: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command.
pub async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Migrate(args) => commands::migrate::run(args, &settings).await,
        Command::Topology(cmd) => commands::topology::run(cmd, &settings),
        Command::Workers(args) => commands::workers::run(args, settings).await,
        Command::Bot => commands::bot::run(settings).await,
        Command::Staff(cmd) => commands::staff::run(cmd, &settings).await,
        Command::Submit(args) => commands::submit::run(args, &settings).await,
        Command::DeadLetters(cmd) => commands::dead_letters::run(cmd, &settings).await,
        Command::Console(args) => commands::console::run(args, settings).await,
        Command::FakeBotApi(args) => commands::fake_bot_api::run(args).await,
        Command::Bench(args) => commands::bench::run(args, settings).await,
        Command::Workflow => {
            println!("{}", ariza_shared::workflow::mermaid());
            Ok(ExitCode::SUCCESS)
        }
    }
}
