//! PostgreSQL: the pool, the embedded migrations, and telling an outage (retry later, breaker)
//! apart from an error in the data (the message itself is wrong).

pub mod staff;

use crate::runtime::{Outcome, Unavailable};
use anyhow::Context as _;
use ariza_shared::config::DatabaseSettings;
use secrecy::ExposeSecret;
use sqlx::{Connection as _, PgPool};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// The migrations in `migrations/`, compiled in.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// A pool that connects lazily, so a process starts (and waits, breaker open) while the database
/// is down instead of refusing to start.
pub fn pool(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    Ok(pool_with(settings, connect_options(settings)?))
}

/// The pool of the pipeline's components (stages, archiver, alerts), lazy like [`pool`], whose
/// sessions plan each statement once.
///
/// Every statement the stages run finds its rows by key (`WHERE id = ANY($1)`, `UPDATE … FROM
/// UNNEST`, inserts), and is kept as a prepared statement with one generic plan for the life of
/// the connection (`plan_cache_mode` `force_generic_plan`): under light load a batch is one or two
/// messages, and planning each batch's statements again cost PostgreSQL more than running them.
/// A generic plan made while a table is small (a fresh database, before its first `ANALYZE`)
/// would scan the whole table for as long as the connection lives, so these sessions plan no
/// sequential scan where an index can serve (`enable_seqscan` off), and no JIT compilation (the
/// cost of a scan that has no index to use instead then crosses its thresholds).
///
/// The pool checks a connection's health when it is returned (sqlx pings it then, always) and, by
/// default, again when it is handed out. Under light load each batch takes a connection returned
/// a few milliseconds before, so the second check is a round trip per transaction that finds
/// nothing the first did not. These pools check again only a connection that has been idle for a
/// second or longer (`RECHECK_AFTER_IDLE`), which is where a dead one (PostgreSQL restarted)
/// waits. A connection that dies within that window fails its batch as an outage: the messages go
/// back to their queue and the breaker counts it, as for any statement a restart cuts off.
pub fn stage_pool(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let options = connect_options(settings)?.options([
        ("plan_cache_mode", "force_generic_plan"),
        ("enable_seqscan", "off"),
        ("jit", "off"),
    ]);
    Ok(pool_options(settings)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= RECHECK_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options))
}

/// How long a stage pool's connection may have been idle and still be handed out unchecked.
const RECHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

fn connect_options(settings: &DatabaseSettings) -> anyhow::Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(settings.url.expose_secret())
        .context("database.url is not a PostgreSQL URL")?
        .application_name("ariza"))
}

fn pool_with(settings: &DatabaseSettings, options: PgConnectOptions) -> PgPool {
    pool_options(settings).connect_lazy_with(options)
}

fn pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
}

/// Applies the migrations that have not run yet.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("running database migrations")
}

/// Whether an error means the database cannot be reached or is refusing connections, as
/// opposed to refusing this statement.
pub fn is_outage(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01-03: shutdown, crash, cannot connect now;
            // 53300: too many connections; 55000: e.g. database not accepting connections.
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300" | "55000")
        }),
        _ => false,
    }
}

/// Whether an error is a violated constraint or bad data: retrying the same message cannot help.
pub fn is_data_error(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code.starts_with("23") || code.starts_with("22")),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::TypeNotFound { .. } => true,
        _ => false,
    }
}

/// The database as a dependency that is down.
pub fn unavailable(error: &sqlx::Error) -> Unavailable {
    Unavailable { dependency: "database", error: error.to_string() }
}

/// What a failed statement means for one message: an outage for the whole batch, or a
/// permanent or transient failure of this message.
pub fn classify(error: &sqlx::Error) -> Result<Outcome, Unavailable> {
    if is_outage(error) {
        Err(unavailable(error))
    } else if is_data_error(error) {
        Ok(Outcome::Permanent(format!("database refused the data: {error}")))
    } else {
        Ok(Outcome::Retry(format!("database error: {error}")))
    }
}

/// A failure that affects every message of a batch alike: an outage stops the whole batch (it is
/// requeued and the breaker counts it); anything else retries each message through the tiers.
pub fn fail_all(error: &sqlx::Error, n: usize) -> Result<Vec<Outcome>, Unavailable> {
    if is_outage(error) {
        return Err(unavailable(error));
    }
    let text = format!("database error: {error}");
    Ok((0..n).map(|_| Outcome::Retry(text.clone())).collect())
}

/// A health check: one round trip.
pub async fn probe(pool: &PgPool) -> Result<(), Unavailable> {
    sqlx::query("SELECT 1").execute(pool).await.map(drop).map_err(|e| unavailable(&e))
}
