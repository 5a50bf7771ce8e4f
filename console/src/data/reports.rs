//! Reports over a date range: staff-created against client-created applications per day, per
//! creator role and per staff member, and why requests were rejected.

use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// The range, whole days with `to` included; the last 30 days by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
}

impl ReportRange {
    pub fn resolved(&self) -> (NaiveDate, NaiveDate) {
        let to = self.to.unwrap_or_else(|| Utc::now().date_naive());
        let from = self.from.unwrap_or(to - Duration::days(29));
        if from <= to { (from, to) } else { (to, from) }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct DayRow {
    pub day: NaiveDate,
    pub staff: i64,
    pub client: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct RoleRow {
    pub role: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct StaffRow {
    pub staff_id: i64,
    pub telegram_id: i64,
    pub name: String,
    pub role: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct RejectionRow {
    pub reason_key: String,
    pub count: i64,
    /// One stored reason text of this kind, in its creator's language.
    pub example: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reports {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub staff_created: i64,
    pub client_created: i64,
    pub rejected: i64,
    /// Every day of the range, days without applications included.
    pub per_day: Vec<DayRow>,
    pub per_role: Vec<RoleRow>,
    pub per_staff: Vec<StaffRow>,
    pub rejections: Vec<RejectionRow>,
}

pub async fn reports(pool: &PgPool, range: ReportRange) -> Result<Reports, sqlx::Error> {
    let (from, to) = range.resolved();
    let per_day: Vec<DayRow> = sqlx::query_as(
        "SELECT d::date AS day,
                count(r.id) FILTER (WHERE r.created_by_staff) AS staff,
                count(r.id) FILTER (WHERE NOT r.created_by_staff) AS client
         FROM generate_series($1::date, $2::date, interval '1 day') AS d
         LEFT JOIN service_requests r ON r.created_at >= d AND r.created_at < d + interval '1 day'
         GROUP BY d ORDER BY d",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let per_role: Vec<RoleRow> = sqlx::query_as(
        "SELECT COALESCE(staff_creator_role, 'client') AS role, count(*) AS count FROM service_requests
         WHERE created_at >= $1::date AND created_at < $2::date + 1 GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let per_staff: Vec<StaffRow> = sqlx::query_as(
        "SELECT s.id AS staff_id, s.telegram_id, s.full_name AS name, r.staff_creator_role AS role, count(*) AS count
         FROM service_requests r JOIN staff s ON s.id = r.staff_creator_id
         WHERE r.created_by_staff AND r.created_at >= $1::date AND r.created_at < $2::date + 1
         GROUP BY s.id, s.telegram_id, s.full_name, r.staff_creator_role ORDER BY count(*) DESC, s.full_name",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let rejections: Vec<RejectionRow> = sqlx::query_as(
        "SELECT reason_key, count(*) AS count, min(reason_text) AS example FROM rejected_requests
         WHERE created_at >= $1::date AND created_at < $2::date + 1 GROUP BY reason_key ORDER BY count(*) DESC, reason_key",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let staff_created = per_day.iter().map(|d| d.staff).sum();
    let client_created = per_day.iter().map(|d| d.client).sum();
    let rejected = rejections.iter().map(|r| r.count).sum();
    Ok(Reports { from, to, staff_created, client_created, rejected, per_day, per_role, per_staff, rejections })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_range_is_the_last_thirty_days_and_reversed_ranges_are_put_right() {
        let (from, to) = ReportRange::default().resolved();
        assert_eq!((to - from).num_days(), 29);
        let a = NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
        let b = NaiveDate::from_ymd_opt(2026, 11, 5).expect("date");
        assert_eq!(ReportRange { from: Some(b), to: Some(a) }.resolved(), (a, b));
    }
}
