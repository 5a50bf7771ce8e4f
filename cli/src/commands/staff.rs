//! `ariza staff add|list|deactivate`: staff exist before the bot does.

use ariza_shared::config::Settings;
use ariza_shared::domain::{Locale, Role};
use ariza_workers::db::{self, staff};
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum StaffCommand {
    /// Register a staff member (or update their role and language, and activate them).
    Add {
        #[arg(long)]
        telegram_id: i64,
        /// manager, junior_manager, controller, call_centre_operator, technician or administrator
        #[arg(long)]
        role: Role,
        #[arg(long, default_value = "uz")]
        lang: Locale,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List staff.
    List,
    /// Deactivate a staff member: the pipeline then refuses their requests.
    Deactivate {
        #[arg(long)]
        telegram_id: i64,
    },
}

pub async fn run(cmd: StaffCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let pool = db::pool(&settings.database)?;
    match cmd {
        StaffCommand::Add { telegram_id, role, lang, name } => {
            if !role.is_staff() {
                eprintln!("ariza: `client` is not a staff role");
                return Ok(ExitCode::from(2));
            }
            let member = staff::upsert(&pool, telegram_id, role, lang, name.trim()).await?;
            println!("staff #{} telegram_id={} role={} lang={} active", member.id, member.telegram_id, member.role, member.language);
        }
        StaffCommand::List => {
            println!("{:>6}  {:>14}  {:<22}  {:<4}  {:<8}  name", "id", "telegram_id", "role", "lang", "active");
            for m in staff::list(&pool).await? {
                println!("{:>6}  {:>14}  {:<22}  {:<4}  {:<8}  {}", m.id, m.telegram_id, m.role, m.language, m.active, m.full_name);
            }
        }
        StaffCommand::Deactivate { telegram_id } => {
            if !staff::deactivate(&pool, telegram_id).await? {
                eprintln!("ariza: no staff member with telegram id {telegram_id}");
                return Ok(ExitCode::from(1));
            }
            println!("staff member {telegram_id} deactivated");
        }
    }
    Ok(ExitCode::SUCCESS)
}
