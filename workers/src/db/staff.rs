//! The `staff` table: staff exist before the bot does, registered by `ariza staff add`.

use ariza_shared::domain::{Locale, Role};
use sqlx::PgPool;

/// One staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: i64,
    pub telegram_id: i64,
    pub full_name: String,
    pub role: Role,
    pub language: Locale,
    pub active: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    telegram_id: i64,
    full_name: String,
    role: String,
    language: String,
    active: bool,
}

impl TryFrom<Row> for StaffMember {
    type Error = sqlx::Error;
    fn try_from(r: Row) -> Result<Self, Self::Error> {
        let decode = |e: ariza_shared::domain::UnknownValue| sqlx::Error::Decode(Box::new(e));
        Ok(StaffMember {
            id: r.id,
            telegram_id: r.telegram_id,
            full_name: r.full_name,
            role: r.role.parse().map_err(decode)?,
            language: r.language.parse().map_err(decode)?,
            active: r.active,
        })
    }
}

/// Registers a staff member, or updates the role, language and name of one already registered
/// (and activates them again).
pub async fn upsert(
    pool: &PgPool,
    telegram_id: i64,
    role: Role,
    language: Locale,
    full_name: &str,
) -> Result<StaffMember, sqlx::Error> {
    if !role.is_staff() {
        return Err(sqlx::Error::Protocol("a client is not a staff role".into()));
    }
    let row: Row = sqlx::query_as(
        "INSERT INTO staff (telegram_id, role, language, full_name) VALUES ($1, $2, $3, $4)
         ON CONFLICT (telegram_id) DO UPDATE
           SET role = EXCLUDED.role, language = EXCLUDED.language,
               full_name = CASE WHEN EXCLUDED.full_name = '' THEN staff.full_name ELSE EXCLUDED.full_name END,
               active = TRUE, updated_at = now()
         RETURNING id, telegram_id, full_name, role, language, active",
    )
    .bind(telegram_id)
    .bind(role.as_str())
    .bind(language.as_str())
    .bind(full_name)
    .fetch_one(pool)
    .await?;
    row.try_into()
}

/// Every staff member, active first, then by role and id.
pub async fn list(pool: &PgPool) -> Result<Vec<StaffMember>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, telegram_id, full_name, role, language, active FROM staff ORDER BY active DESC, role, id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// Deactivates a staff member; returns whether one was found.
pub async fn deactivate(pool: &PgPool, telegram_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE staff SET active = FALSE, updated_at = now() WHERE telegram_id = $1")
        .bind(telegram_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The staff members with these Telegram ids (active or not).
pub async fn by_telegram_ids(db: impl sqlx::PgExecutor<'_>, ids: &[i64]) -> Result<Vec<StaffMember>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, telegram_id, full_name, role, language, active FROM staff WHERE telegram_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}
