//! `ariza console ...`: runs the operator console (`serve`), manages its users (`user`, directly
//! in the database), and is the console API's command-line client for scripts (`dead-letters`,
//! `timeline`, `audit`, `reports`, `queues`, `alerts`), authenticated with the operator token
//! (`ARIZA__CONSOLE__TOKEN`) or as a console user (`--user`, password from
//! `ARIZA_CONSOLE_PASSWORD` or the first line of stdin).

use ariza_console::auth::OperatorRole;
use ariza_console::client::{ClientError, ConsoleClient};
use ariza_console::{AppState, users};
use ariza_shared::config::Settings;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::io::BufRead as _;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// Where a password comes from when not typed interactively.
pub const PASSWORD_ENV: &str = "ARIZA_CONSOLE_PASSWORD";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The console's address (default: console.url).
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Log in as this console user instead of using the operator token.
    #[arg(long, global = true)]
    pub user: Option<String>,
    #[command(subcommand)]
    pub command: ConsoleCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConsoleCommand {
    /// Run the console: web UI and JSON API on console.listen (127.0.0.1:8090).
    Serve,
    /// Add, list or deactivate console users (in the database; no console needed).
    #[command(subcommand)]
    User(UserCommand),
    /// Every queue with its depth, consumers and rates.
    Queues {
        #[arg(long)]
        json: bool,
    },
    /// List, show, replay or discard dead letters.
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(DeadLetterCommand),
    /// An application's timeline (by id), or the applications matching a phone, number or creator.
    Timeline { query: String },
    /// The audit of created applications, as a table or CSV.
    Audit {
        #[command(flatten)]
        filter: AuditArgs,
        /// Print the CSV export.
        #[arg(long)]
        csv: bool,
        #[arg(long)]
        json: bool,
    },
    /// Staff-created against client-created applications, per day, role and staff member; rejections.
    Reports {
        /// First day, YYYY-MM-DD (default: 29 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today).
        #[arg(long)]
        to: Option<String>,
    },
    /// Creation-activity alerts; `--ack ID` acknowledges one.
    Alerts {
        #[arg(long)]
        open: bool,
        #[arg(long)]
        ack: Option<i64>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a user (or reset their password and role). The password comes from
    /// ARIZA_CONSOLE_PASSWORD or the first line of stdin.
    Add {
        name: String,
        /// admin (administrator) or viewer (read-only, phones masked)
        #[arg(long)]
        role: OperatorRole,
    },
    List,
    /// Deactivate a user; their sessions end at once.
    Deactivate { name: String },
}

#[derive(Debug, Clone, clap::Args)]
pub struct DeadLetterFilterArgs {
    #[arg(long)]
    pub stage: Option<String>,
    #[arg(long)]
    pub reason: Option<String>,
    /// dead (default), replayed, discarded or all
    #[arg(long)]
    pub status: Option<String>,
    /// Text in the error, the payload or the application id.
    #[arg(long)]
    pub text: Option<String>,
}

impl DeadLetterFilterArgs {
    fn json(&self) -> Value {
        json!({ "stage": self.stage, "reason": self.reason, "status": self.status, "text": self.text })
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        [("stage", &self.stage), ("reason", &self.reason), ("status", &self.status), ("text", &self.text)]
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
            .collect()
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum DeadLetterCommand {
    /// List dead letters, newest first (`--group` counts them by reason).
    List {
        #[command(flatten)]
        filter: DeadLetterFilterArgs,
        #[arg(long, default_value_t = 1)]
        page: u32,
        #[arg(long)]
        per_page: Option<u32>,
        #[arg(long)]
        group: bool,
        #[arg(long)]
        json: bool,
    },
    /// One dead letter with its payload, headers and death history.
    Show { id: i64 },
    /// Replay the given ids, or all matching the filter, to the stage each died in.
    Replay {
        #[arg(long = "id")]
        ids: Vec<i64>,
        #[arg(long)]
        all_matching: bool,
        #[command(flatten)]
        filter: DeadLetterFilterArgs,
    },
    /// Discard the given ids, or all matching the filter. Without --yes, says how many it would.
    Discard {
        #[arg(long = "id")]
        ids: Vec<i64>,
        #[arg(long)]
        all_matching: bool,
        #[command(flatten)]
        filter: DeadLetterFilterArgs,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long)]
    pub to: Option<String>,
    /// staff or client
    #[arg(long)]
    pub source: Option<String>,
    #[arg(long)]
    pub role: Option<String>,
    /// The creator's Telegram id.
    #[arg(long)]
    pub creator: Option<i64>,
    #[arg(long)]
    pub kind: Option<String>,
    /// Part of the client's phone.
    #[arg(long)]
    pub phone: Option<String>,
}

impl AuditArgs {
    fn query(&self) -> Vec<(&'static str, String)> {
        let creator = self.creator.map(|c| c.to_string());
        [
            ("from", &self.from),
            ("to", &self.to),
            ("source", &self.source),
            ("role", &self.role),
            ("creator", &creator),
            ("kind", &self.kind),
            ("phone", &self.phone),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
    }
}

fn query_string(pairs: &[(&str, String)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect();
            format!("{k}={v}")
        })
        .collect();
    if encoded.is_empty() { String::new() } else { format!("?{}", encoded.join("&")) }
}

/// The password for `user add` or `--user`: the environment, or the first line of stdin.
fn read_password() -> anyhow::Result<SecretString> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(SecretString::from(p));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!line.is_empty(), "no password: set {PASSWORD_ENV} or pipe it on stdin");
    Ok(SecretString::from(line))
}

pub async fn run(args: Args, settings: Settings) -> anyhow::Result<ExitCode> {
    match args.command {
        ConsoleCommand::Serve => serve(settings).await,
        ConsoleCommand::User(cmd) => user(cmd, &settings).await,
        command => {
            let url = args.url.unwrap_or_else(|| settings.console.url.clone());
            let token = settings.console.operator_token().map(|t| SecretString::from(t.to_owned()));
            let mut client = ConsoleClient::new(&url, if args.user.is_some() { None } else { token })?;
            if let Some(name) = &args.user {
                client.login(name, &read_password()?).await.map_err(anyhow::Error::from)?;
            } else if settings.console.operator_token().is_none() {
                eprintln!("ariza: no credentials: set ARIZA__CONSOLE__TOKEN, or use --user NAME");
                return Ok(ExitCode::from(2));
            }
            let result = client_command(&client, command).await;
            if args.user.is_some() {
                client.logout().await.ok();
            }
            match result {
                Ok(code) => Ok(code),
                Err(ClientError::Api { status, code, message, .. }) if code == "confirmation_required" => {
                    eprintln!("ariza: {message} ({status}); run again with --yes to confirm");
                    Ok(ExitCode::from(2))
                }
                Err(e) => {
                    eprintln!("ariza: {e}");
                    Ok(ExitCode::from(if e.status().is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403) { 3 } else { 1 }))
                }
            }
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let listen = settings.console.listen.clone();
    let pool = ariza_workers::db::pool(&settings.database)?;
    if settings.console.operator_token().is_none() && users::list(&pool).await.map(|u| u.is_empty()).unwrap_or(true) {
        tracing::warn!("no operator token and no console users: nobody can log in (ariza console user add NAME --role admin)");
    }
    let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| anyhow::anyhow!("binding the console on {listen}: {e}"))?;
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        super::shutdown_signal().await;
        trigger.cancel();
    });
    ariza_shared::metrics::install();
    ariza_shared::metrics::serve_configured(ariza_shared::metrics::Process::Console, &settings.metrics, shutdown.clone()).await;
    println!("ariza console on http://{}/", listener.local_addr()?);
    ariza_console::serve(listener, AppState::new(settings, pool), shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

async fn user(cmd: UserCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = ariza_workers::db::pool(&settings.database)?;
    match cmd {
        UserCommand::Add { name, role } => {
            let password = read_password()?;
            match users::upsert(&pool, name.trim(), role, password).await {
                Ok(user) => println!("console user {} ({}) ready", user.name, user.role),
                Err(users::UserError::Other(e)) => return Err(e),
                Err(e) => {
                    eprintln!("ariza: {e}");
                    return Ok(ExitCode::from(2));
                }
            }
        }
        UserCommand::List => {
            for u in users::list(&pool).await? {
                println!("{:<24} {:<14} active={} since {}", u.name, u.role, u.active, u.created_at.format("%Y-%m-%d"));
            }
        }
        UserCommand::Deactivate { name } => {
            if !users::deactivate(&pool, &name).await? {
                eprintln!("ariza: no console user {name}");
                return Ok(ExitCode::from(1));
            }
            println!("console user {name} deactivated");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

async fn client_command(client: &ConsoleClient, command: ConsoleCommand) -> Result<ExitCode, ClientError> {
    match command {
        ConsoleCommand::Serve | ConsoleCommand::User(_) => unreachable!("handled before a client is made"),
        ConsoleCommand::Queues { json } => {
            let report: Value = client.get("/api/queues").await?;
            if json {
                print_json(&report);
            } else {
                println!("source: {}", s(&report["source"]));
                for q in report["queues"].as_array().into_iter().flatten() {
                    println!(
                        "{:<44} {:<6} messages={:<6} consumers={:<3} publish/s={} ack/s={}",
                        s(&q["name"]),
                        s(&q["kind"]),
                        q["messages"],
                        q["consumers"],
                        q["publish_rate"],
                        q["ack_rate"]
                    );
                }
            }
        }
        ConsoleCommand::DeadLetters(cmd) => return dead_letters(client, cmd).await,
        ConsoleCommand::Timeline { query } => {
            if let Ok(id) = uuid::Uuid::parse_str(query.trim()) {
                print_json(&client.get::<Value>(&format!("/api/applications/{id}/timeline")).await?);
            } else {
                let hits: Value = client.get(&format!("/api/applications{}", query_string(&[("q", query)]))).await?;
                for h in hits.as_array().into_iter().flatten() {
                    println!(
                        "{} #{} {:<10} {:<20} {:<7} client={} {} creator={} ({})",
                        s(&h["id"]),
                        h["number"],
                        s(&h["kind"]),
                        s(&h["state"]),
                        s(&h["creation_source"]),
                        s(&h["client_name"]),
                        s(&h["client_phone"]),
                        s(&h["creator_name"]),
                        h["creator_telegram_id"]
                    );
                }
            }
        }
        ConsoleCommand::Audit { filter, csv, json } => {
            let q = query_string(&filter.query());
            if csv {
                print!("{}", client.get_text(&format!("/api/audit.csv{q}")).await?);
            } else {
                let page: Value = client.get(&format!("/api/audit{q}")).await?;
                if json {
                    print_json(&page);
                } else {
                    for r in page["items"].as_array().into_iter().flatten() {
                        println!(
                            "{} #{} {:<10} {:<6} {:<20} {} ({}) client={} {}",
                            s(&r["created_at"]),
                            r["number"],
                            s(&r["kind"]),
                            s(&r["creation_source"]),
                            s(&r["creator_role"]),
                            s(&r["creator_name"]),
                            r["creator_telegram_id"],
                            s(&r["client_name"]),
                            s(&r["client_phone"])
                        );
                    }
                    println!("{} row(s)", page["total"]);
                }
            }
        }
        ConsoleCommand::Reports { from, to } => {
            let pairs: Vec<(&str, String)> = [("from", from), ("to", to)].into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
            print_json(&client.get::<Value>(&format!("/api/reports{}", query_string(&pairs))).await?);
        }
        ConsoleCommand::Alerts { open, ack } => {
            if let Some(id) = ack {
                print_json(&client.post::<_, Value>(&format!("/api/alerts/{id}/acknowledge"), &json!({})).await?);
            } else {
                let q = if open { "?open=true" } else { "" };
                print_json(&client.get::<Value>(&format!("/api/alerts{q}")).await?);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn dead_letters(client: &ConsoleClient, cmd: DeadLetterCommand) -> Result<ExitCode, ClientError> {
    match cmd {
        DeadLetterCommand::List { filter, page, per_page, group, json } => {
            let mut pairs = filter.query();
            if group {
                let groups: Value = client.get(&format!("/api/dead-letters/groups{}", query_string(&pairs))).await?;
                if json {
                    print_json(&groups);
                } else {
                    for g in groups.as_array().into_iter().flatten() {
                        println!("{:<20} {:>6}  stages={}", s(&g["reason"]), g["count"], g["stages"]);
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            pairs.push(("page", page.to_string()));
            if let Some(n) = per_page {
                pairs.push(("per_page", n.to_string()));
            }
            let list: Value = client.get(&format!("/api/dead-letters{}", query_string(&pairs))).await?;
            if json {
                print_json(&list);
            } else {
                for d in list["items"].as_array().into_iter().flatten() {
                    println!(
                        "#{:<6} {:<9} {:<12} {:<17} attempts={:<2} first={} last={} app={} {}",
                        d["id"],
                        s(&d["status"]),
                        s(&d["stage"]),
                        s(&d["reason"]),
                        d["attempts"],
                        s(&d["first_failed_at"]),
                        s(&d["last_failed_at"]),
                        s(&d["application_id"]),
                        s(&d["last_error"])
                    );
                }
                println!("page {} · {} matching", list["page"], list["total"]);
            }
        }
        DeadLetterCommand::Show { id } => print_json(&client.get::<Value>(&format!("/api/dead-letters/{id}")).await?),
        DeadLetterCommand::Replay { ids, all_matching, filter } => {
            let body = json!({ "ids": ids, "all_matching": all_matching, "filter": filter.json() });
            let outcome: Value = client.post("/api/dead-letters/replay", &body).await?;
            println!("replayed: {}", outcome["replayed"]);
            for skipped in outcome["skipped"].as_array().into_iter().flatten() {
                println!("skipped #{}: {}", skipped["id"], s(&skipped["why"]));
            }
        }
        DeadLetterCommand::Discard { ids, all_matching, filter, yes } => {
            let body = json!({ "ids": ids, "all_matching": all_matching, "filter": filter.json(), "confirm": yes });
            let outcome: Value = client.post("/api/dead-letters/discard", &body).await?;
            println!("discarded: {}", outcome["discarded"]);
        }
    }
    Ok(ExitCode::SUCCESS)
}
