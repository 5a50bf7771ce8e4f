//! `ariza dead-letters list|show|replay|discard`: the operator's view of the dead letters, read from
//! the table the archiver fills.

use ariza_shared::config::Settings;
use ariza_workers::broker::{self, Publisher};
use ariza_workers::db;
use ariza_workers::dead_letters::{self, Filter};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct FilterArgs {
    /// Only these ids.
    #[arg(long = "id")]
    pub ids: Vec<i64>,
    #[arg(long)]
    pub stage: Option<String>,
    #[arg(long)]
    pub reason: Option<String>,
    /// Text in the error or the payload.
    #[arg(long)]
    pub text: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
}

impl FilterArgs {
    fn filter(&self, status: Option<String>) -> Filter {
        Filter {
            ids: (!self.ids.is_empty()).then(|| self.ids.clone()),
            stage: self.stage.clone(),
            reason: self.reason.clone(),
            status,
            text: self.text.clone(),
            limit: self.limit,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum DeadLettersCommand {
    /// List dead letters, newest first.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// dead (default), replayed, discarded or all
        #[arg(long)]
        status: Option<String>,
    },
    /// Show one dead letter with its payload, headers and death history.
    Show { id: i64 },
    /// Republish matching dead letters to the stage they died in.
    Replay {
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Mark matching dead letters discarded. Needs --yes.
    Discard {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(cmd: DeadLettersCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = db::pool(&settings.database)?;
    match cmd {
        DeadLettersCommand::List { filter, status } => {
            for d in dead_letters::list(&pool, &filter.filter(status)).await? {
                println!(
                    "#{:<6} {:<9} {:<12} {:<17} attempts={:<2} app={} {}",
                    d.id,
                    d.status,
                    d.stage.as_deref().unwrap_or("?"),
                    d.reason,
                    d.attempts,
                    d.application_id.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
                    d.last_error.as_deref().unwrap_or("")
                );
            }
        }
        DeadLettersCommand::Show { id } => {
            let found = dead_letters::list(&pool, &Filter { ids: Some(vec![id]), status: Some("all".into()), ..Filter::default() }).await?;
            let Some(d) = found.into_iter().next() else {
                eprintln!("ariza: no dead letter #{id}");
                return Ok(ExitCode::from(1));
            };
            println!("dead letter #{} ({})", d.id, d.status);
            println!("stage:      {}", d.stage.as_deref().unwrap_or("?"));
            println!("reason:     {}", d.reason);
            println!("attempts:   {}", d.attempts);
            println!("error:      {}", d.last_error.as_deref().unwrap_or(""));
            println!("first/last: {:?} / {}", d.first_failed_at, d.last_failed_at);
            println!("payload:    {}", String::from_utf8_lossy(&d.payload));
            println!("headers:    {}", d.headers);
            println!("deaths:     {}", d.death_history);
        }
        DeadLettersCommand::Replay { filter } => {
            let conn = broker::connect(&settings.amqp, "replay").await?;
            let publisher = Publisher::open(&conn).await?;
            let report = dead_letters::replay(&pool, &publisher, &settings.topology(), &filter.filter(None)).await?;
            conn.close(200, "done".into()).await.ok();
            println!("replayed: {:?}", report.replayed);
            for (id, why) in report.skipped {
                println!("skipped #{id}: {why}");
            }
        }
        DeadLettersCommand::Discard { filter, yes } => {
            if !yes {
                let n = dead_letters::list(&pool, &filter.filter(None)).await?.len();
                eprintln!("ariza: this would discard {n} dead letter(s); run again with --yes to confirm");
                return Ok(ExitCode::from(2));
            }
            let ids = dead_letters::discard(&pool, &filter.filter(None)).await?;
            println!("discarded: {ids:?}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
