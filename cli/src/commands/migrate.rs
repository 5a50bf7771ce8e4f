//! `ariza migrate`: applies the migrations compiled into this binary; `--status` lists them and
//! what is applied; `--revert-to VERSION --yes` runs the down steps of every applied migration
//! newer than VERSION, newest first. Down steps can delete data (docs/migrations.md says what each
//! loses), so a revert without `--yes` only prints its plan and exits non-zero. A database already
//! migrated further by a newer release is accepted with a warning, so a rolled-back release starts.

use anyhow::Context as _;
use ariza_shared::config::Settings;
use ariza_workers::db::MIGRATOR;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// List the migrations this binary carries and whether each is applied; change nothing.
    #[arg(long, conflicts_with = "revert_to")]
    pub status: bool,
    /// Revert every applied migration newer than VERSION, newest first (0 reverts them all).
    /// Down steps can delete data: take a backup first (docs/migrations.md).
    #[arg(long, value_name = "VERSION")]
    pub revert_to: Option<i64>,
    /// Really revert; without it `--revert-to` prints what it would do and exits with 1.
    #[arg(long, requires = "revert_to")]
    pub yes: bool,
}

pub async fn run(args: Args, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = ariza_workers::db::pool(&settings.database)?;
    let code = if args.status {
        status(&pool).await?
    } else if let Some(target) = args.revert_to {
        revert(&pool, target, args.yes).await?
    } else {
        apply(&pool).await?
    };
    pool.close().await;
    Ok(code)
}

/// The migrations this binary carries: version to description.
fn known() -> BTreeMap<i64, String> {
    MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| (m.version, m.description.to_string()))
        .collect()
}

/// The migrations recorded as applied (none when sqlx's table does not exist yet).
async fn applied(pool: &PgPool) -> anyhow::Result<BTreeMap<i64, String>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .context("connecting to the database")?;
    if !exists {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT version, description FROM _sqlx_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .context("reading _sqlx_migrations")?;
    Ok(rows.into_iter().collect())
}

/// Applies what is pending. A database that a newer release has already migrated further (a
/// release rolled back without reverting its migrations) is accepted with a warning: migrations
/// are additive until no rollback past them is possible (docs/migrations.md), so this release runs
/// on that schema; refusing would only stop the rolled-back release from starting.
async fn apply(pool: &PgPool) -> anyhow::Result<ExitCode> {
    let known = known();
    let applied = applied(pool).await?;
    let unknown: Vec<i64> = applied.keys().filter(|v| !known.contains_key(v)).copied().collect();
    if unknown.is_empty() {
        ariza_workers::db::migrate(pool).await?;
        println!("migrations applied");
        return Ok(ExitCode::SUCCESS);
    }
    let newest_known = known.keys().next_back().copied().unwrap_or(0);
    if let Some(older) = unknown.iter().find(|v| **v < newest_known) {
        anyhow::bail!(
            "migration {older} is applied but unknown to this binary, and older than its newest migration {newest_known}: \
             this database was migrated by a different build of ariza"
        );
    }
    let mut migrator = Migrator::with_migrations(MIGRATOR.iter().cloned().collect());
    migrator.set_ignore_missing(true);
    migrator.run(pool).await.context("running database migrations")?;
    let listed: Vec<String> = unknown.iter().map(ToString::to_string).collect();
    eprintln!(
        "warning: the schema is ahead of this release: migration(s) {} were applied by a newer release and are kept \
         (revert them with that release's `ariza migrate --revert-to`, see docs/runbooks.md)",
        listed.join(", ")
    );
    println!("migrations applied; the schema is ahead of this release");
    Ok(ExitCode::SUCCESS)
}

async fn status(pool: &PgPool) -> anyhow::Result<ExitCode> {
    let known = known();
    let applied = applied(pool).await?;
    for (version, description) in &known {
        let state = if applied.contains_key(version) { "applied" } else { "pending" };
        println!("{version}  {state:<8} {description}");
    }
    for (version, description) in applied.iter().filter(|(v, _)| !known.contains_key(v)) {
        println!("{version}  {:<8} {description} (applied by a newer release; this binary cannot revert it)", "unknown");
    }
    Ok(ExitCode::SUCCESS)
}

async fn revert(pool: &PgPool, target: i64, yes: bool) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(target >= 0, "--revert-to takes a migration version, or 0 for all");
    let known = known();
    anyhow::ensure!(target == 0 || known.contains_key(&target), "{target} is not a migration this binary knows (see --status)");
    let applied = applied(pool).await?;
    if let Some(newer) = applied.keys().find(|v| !known.contains_key(v)) {
        anyhow::bail!(
            "migration {newer} was applied by a newer release, which this binary cannot revert: \
             revert it with that release's `ariza migrate --revert-to` first (docs/runbooks.md)"
        );
    }
    let plan: Vec<(&i64, &String)> = applied.iter().rev().filter(|(v, _)| **v > target).collect();
    if plan.is_empty() {
        println!("nothing to revert: no applied migration is newer than {target}");
        return Ok(ExitCode::SUCCESS);
    }
    for (version, description) in &plan {
        println!("{} {version} {description}", if yes { "reverting" } else { "would revert" });
    }
    if !yes {
        eprintln!("nothing reverted: down steps can delete data (docs/migrations.md); take a backup, then add --yes");
        return Ok(ExitCode::FAILURE);
    }
    MIGRATOR.undo(pool, target).await.context("reverting migrations")?;
    println!("reverted {} migration(s); the schema is at {target}", plan.len());
    Ok(ExitCode::SUCCESS)
}
