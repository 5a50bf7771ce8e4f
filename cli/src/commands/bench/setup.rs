//! The benchmark's own world: settings derived from the loaded ones, a database dropped, created
//! and migrated, the topology's queues deleted (so every run starts from empty queues), and one
//! staff member per role that creates applications.

use super::Args;
use anyhow::{Context as _, bail};
use ariza_shared::config::Settings;
use ariza_shared::domain::{Locale, Role};
use ariza_shared::topology::{Stage, Topology};
use ariza_workers::db::staff;
use ariza_shared::config::AmqpSettings;
use ariza_workers::broker;
use lapin::{Channel, Connection};
use lapin::options::{ExchangeDeleteOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{FieldTable, ShortString};
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::Connection as _;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::str::FromStr as _;
use std::time::Duration;

/// The token the fake Bot API accepts.
pub const TOKEN: &str = "4242:ariza-bench";

/// The staff the requests come from: one per role that may create applications.
const STAFF: [(i64, Role, Locale); 4] = [
    (990_000_001, Role::Manager, Locale::Uz),
    (990_000_002, Role::JuniorManager, Locale::Ru),
    (990_000_003, Role::Controller, Locale::Uz),
    (990_000_004, Role::CallCentreOperator, Locale::Ru),
];

/// A registered creator: their Telegram id and role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Creator {
    pub telegram_id: i64,
    pub role: Role,
}

/// The loaded settings with the benchmark's database, queue prefix and fake Bot API. Refuses a
/// database or prefix that is the configured (production) one.
pub fn bench_settings(mut settings: Settings, args: &Args, bot_api: &str) -> anyhow::Result<Settings> {
    check_database_name(&args.database)?;
    let configured = PgConnectOptions::from_str(settings.database.url.expose_secret())
        .context("database.url is not a PostgreSQL URL")?;
    if configured.get_database() == Some(args.database.as_str()) {
        bail!("--database {} is the configured database: the benchmark drops its database, choose another", args.database);
    }
    if args.prefix == settings.amqp.prefix {
        bail!("--prefix {} is the configured queue prefix: the benchmark deletes its queues, choose another", args.prefix);
    }
    let url = with_database(settings.database.url.expose_secret(), &args.database)?;
    settings.database.url = SecretString::from(url);
    settings.amqp.prefix.clone_from(&args.prefix);
    settings.amqp.connection_name = format!("{}-bench", settings.amqp.connection_name);
    settings.telegram.api_base_url = bot_api.to_owned();
    settings.telegram.token = SecretString::from(TOKEN);
    settings.telegram.rate_limits = args.with_limits;
    Ok(settings)
}

/// A plain lower-case identifier, so it can be put in `CREATE DATABASE` as it is.
fn check_database_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if !first_ok || name.len() > 63 || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        bail!("--database must be a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters), not {name:?}");
    }
    Ok(())
}

/// `url` with its database (the path) replaced by `name`; the server, credentials and
/// parameters are kept.
pub fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").context("database.url is not a URL")? + 3;
    let authority_end = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

/// Drops the benchmark database (closing its connections) and creates it empty.
pub async fn recreate_database(settings: &Settings, name: &str) -> anyhow::Result<()> {
    let admin = PgConnectOptions::from_str(settings.database.url.expose_secret())
        .context("database.url is not a PostgreSQL URL")?
        .database("postgres")
        .application_name("ariza-bench");
    let mut conn = PgConnection::connect_with(&admin).await.context("connecting to the postgres database")?;
    // The name passed check_database_name: a plain identifier.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut conn)
        .await
        .with_context(|| format!("dropping database {name}"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .with_context(|| format!("creating database {name}"))?;
    conn.close().await.ok();
    Ok(())
}

/// The benchmark's own broker connection, for deleting, declaring and asking about queues. It
/// connects again when the broker dropped it, so a broker restart during a run still leaves a
/// report and deleted queues.
#[derive(Debug)]
pub struct Monitor {
    amqp: AmqpSettings,
    conn: tokio::sync::Mutex<Option<Connection>>,
}

impl Monitor {
    pub async fn connect(amqp: &AmqpSettings) -> anyhow::Result<Self> {
        let conn = broker::connect(amqp, "bench-monitor").await?;
        Ok(Self { amqp: amqp.clone(), conn: tokio::sync::Mutex::new(Some(conn)) })
    }

    /// A new channel, on a new connection if the old one is gone.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        let mut conn = self.conn.lock().await;
        if let Some(current) = conn.as_ref().filter(|c| c.status().connected())
            && let Ok(channel) = current.create_channel().await
        {
            return Ok(channel);
        }
        let fresh = broker::connect(&self.amqp, "bench-monitor").await?;
        let channel = fresh.create_channel().await.context("opening a monitor channel")?;
        *conn = Some(fresh);
        Ok(channel)
    }

    pub async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            conn.close(200, ShortString::from("bench done")).await.ok();
        }
    }
}

/// A small pool of its own for the benchmark's polling, so it takes no connection from the
/// workers' pool. Its sessions are set up as the stages' are (one generic plan per statement, no
/// sequential scan where an index serves): the watch asks the same question a few hundred times a
/// run, and planning it again at each poll cost PostgreSQL more than answering it, work the
/// benchmark would otherwise count against the workers it measures.
pub fn watch_pool(settings: &Settings) -> anyhow::Result<PgPool> {
    let mut db = settings.database.clone();
    db.max_connections = 2;
    ariza_workers::db::stage_pool(&db)
}

/// Registers the staff and returns them as creators.
pub async fn register_staff(pool: &PgPool) -> anyhow::Result<Vec<Creator>> {
    let mut creators = Vec::with_capacity(STAFF.len());
    for (telegram_id, role, language) in STAFF {
        staff::upsert(pool, telegram_id, role, language, &format!("Bench {role}"))
            .await
            .with_context(|| format!("registering the {role}"))?;
        creators.push(Creator { telegram_id, role });
    }
    Ok(creators)
}

/// Deletes every queue of the topology (and, at the end, its exchanges). Deleting a queue that
/// does not exist is not an error; a refused delete closes the channel, so each gets a fresh one.
pub async fn delete_queues(monitor: &Monitor, topology: &Topology, exchanges_too: bool) -> anyhow::Result<()> {
    let mut channel = monitor.channel().await?;
    for queue in topology.queues() {
        if let Err(e) = channel.queue_delete(ShortString::from(queue.name.as_str()), QueueDeleteOptions::default()).await {
            tracing::debug!(queue = queue.name, error = %e, "queue not deleted");
            channel = monitor.channel().await?;
        }
    }
    if exchanges_too {
        for exchange in topology.exchanges() {
            if channel.exchange_delete(ShortString::from(exchange.name.as_str()), ExchangeDeleteOptions::default()).await.is_err() {
                channel = monitor.channel().await?;
            }
        }
    }
    channel.close(200, ShortString::from("queues deleted")).await.ok();
    Ok(())
}

/// Messages ready in a queue and its consumers, asked with a passive declare.
pub async fn queue_state(channel: &Channel, name: &str) -> anyhow::Result<(u32, u32)> {
    let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
    let queue = channel
        .queue_declare(ShortString::from(name), passive, FieldTable::default())
        .await
        .with_context(|| format!("asking about queue {name}"))?;
    Ok((queue.message_count(), queue.consumer_count()))
}

/// Waits until every stage queue and the dead-letter queue have a consumer, so the clock starts
/// with the workers ready.
pub async fn wait_for_consumers(monitor: &Monitor, topology: &Topology, bound: Duration) -> anyhow::Result<()> {
    let mut names: Vec<String> = Stage::ALL.iter().map(|s| topology.queue(*s)).collect();
    names.push(topology.dead_queue());
    let deadline = tokio::time::Instant::now() + bound;
    let mut channel = monitor.channel().await?;
    loop {
        let mut ready = true;
        for name in &names {
            match queue_state(&channel, name).await {
                Ok((_, consumers)) if consumers > 0 => {}
                Ok(_) => ready = false,
                Err(_) => {
                    ready = false;
                    channel = monitor.channel().await?;
                }
            }
        }
        if ready {
            channel.close(200, ShortString::from("consumers ready")).await.ok();
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("the workers did not start consuming every queue within {bound:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        let cases = [
            ("postgres://postgres@127.0.0.1:5432/ariza", "postgres://postgres@127.0.0.1:5432/ariza_bench"),
            ("postgres://u:p%2Fw@db:5432/ariza?sslmode=disable", "postgres://u:p%2Fw@db:5432/ariza_bench?sslmode=disable"),
            ("postgres://postgres@localhost", "postgres://postgres@localhost/ariza_bench"),
            ("postgresql://h/x?application_name=a", "postgresql://h/ariza_bench?application_name=a"),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "ariza_bench").expect("a URL"), expected);
        }
        assert!(with_database("not a url", "x").is_err());
    }

    #[test]
    fn only_plain_identifiers_are_database_names() {
        assert!(check_database_name("ariza_bench").is_ok());
        assert!(check_database_name("b2").is_ok());
        for bad in ["", "Ariza", "2x", "a-b", "a; DROP DATABASE ariza", "a\"b"] {
            assert!(check_database_name(bad).is_err(), "{bad}");
        }
    }
}
