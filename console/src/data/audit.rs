//! The audit of created applications: who created which application, in which role, for which
//! client, when and from which source (staff for a client, or the client's own), filtered, paged
//! and exported as CSV. Phones are masked for viewers in all three.

use super::{PageOf, Paging, non_blank};
use crate::redact::Redactor;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// Audit filters; blank fields are ignored. Dates are whole days, `to` included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
    /// `staff` or `client`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The creator's role (`manager`, ..., `client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The creator's Telegram id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Part of the client's phone number (digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl AuditFilter {
    pub fn normalised(&self) -> Self {
        Self {
            from: self.from,
            to: self.to,
            source: non_blank(self.source.as_deref()),
            role: non_blank(self.role.as_deref()),
            creator: self.creator,
            kind: non_blank(self.kind.as_deref()),
            phone: non_blank(self.phone.as_deref()).map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>()).filter(|p| !p.is_empty()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct AuditRow {
    pub created_at: DateTime<Utc>,
    pub application_id: Uuid,
    pub number: i64,
    pub kind: String,
    pub creation_source: String,
    pub creator_telegram_id: i64,
    pub creator_name: Option<String>,
    pub creator_role: String,
    pub client_id: i64,
    pub client_name: String,
    pub client_phone: String,
    pub selection_method: Option<String>,
}

const FROM_WHERE: &str = "
    FROM staff_application_audit a
    JOIN service_requests r ON r.id = a.application_id
    JOIN clients c ON c.id = a.client_id
    LEFT JOIN staff s ON s.id = a.staff_id
    WHERE a.action = 'created'
      AND ($1::date IS NULL OR a.created_at >= $1::date)
      AND ($2::date IS NULL OR a.created_at < $2::date + 1)
      AND ($3::text IS NULL OR a.creation_source = $3)
      AND ($4::text IS NULL OR COALESCE(a.staff_role, 'client') = $4)
      AND ($5::bigint IS NULL OR r.creator_telegram_id = $5)
      AND ($6::text IS NULL OR a.kind = $6)
      AND ($7::text IS NULL OR c.phone LIKE '%' || $7 || '%')";

const COLUMNS: &str = "a.created_at, a.application_id, r.number, a.kind, a.creation_source, r.creator_telegram_id,
    s.full_name AS creator_name, COALESCE(a.staff_role, 'client') AS creator_role, c.id AS client_id, c.full_name AS client_name,
    c.phone AS client_phone, a.details->>'selection_method' AS selection_method";

/// One page of audit rows, newest first (`paging` `None`: all of them, for the CSV).
pub async fn rows(pool: &PgPool, filter: &AuditFilter, paging: Option<Paging>, r: &Redactor) -> Result<PageOf<AuditRow>, sqlx::Error> {
    let f = filter.normalised();
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) {FROM_WHERE}")))
        .bind(f.from)
        .bind(f.to)
        .bind(&f.source)
        .bind(&f.role)
        .bind(f.creator)
        .bind(&f.kind)
        .bind(&f.phone)
        .fetch_one(pool)
        .await?;
    let (limit, offset) = paging.map_or((None, 0), |p| (Some(p.limit()), p.offset()));
    let mut items: Vec<AuditRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} {FROM_WHERE} ORDER BY a.created_at DESC, a.id DESC LIMIT $8 OFFSET $9")))
            .bind(f.from)
            .bind(f.to)
            .bind(&f.source)
            .bind(&f.role)
            .bind(f.creator)
            .bind(&f.kind)
            .bind(&f.phone)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
    for row in &mut items {
        row.client_phone = r.phone(&row.client_phone);
    }
    let (page, per_page) = paging.map_or((1, u32::try_from(items.len()).unwrap_or(u32::MAX)), |p| (p.page, p.per_page));
    Ok(PageOf { total, page, per_page, items })
}

/// The CSV header, in the order of [`csv_line`].
pub const CSV_HEADER: &str =
    "created_at,application_id,number,kind,creation_source,creator_telegram_id,creator_name,creator_role,client_id,client_name,client_phone,selection_method";

/// One CSV field: quoted when needed, and a leading `=`, `@`, tab or a sign before a non-digit
/// neutralised, so a spreadsheet never runs a cell as a formula.
pub fn csv_field(value: &str) -> String {
    let mut chars = value.chars();
    let first = chars.next();
    let second = chars.next();
    let formula = match first {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !second.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    let value = if formula { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

pub fn csv_line(row: &AuditRow) -> String {
    [
        row.created_at.to_rfc3339(),
        row.application_id.to_string(),
        row.number.to_string(),
        row.kind.clone(),
        row.creation_source.clone(),
        row.creator_telegram_id.to_string(),
        row.creator_name.clone().unwrap_or_default(),
        row.creator_role.clone(),
        row.client_id.to_string(),
        row.client_name.clone(),
        row.client_phone.clone(),
        row.selection_method.clone().unwrap_or_default(),
    ]
    .iter()
    .map(|v| csv_field(v))
    .collect::<Vec<_>>()
    .join(",")
}

/// The whole CSV document of `rows`.
pub fn csv(rows: &[AuditRow]) -> String {
    let mut out = String::with_capacity(128 * (rows.len() + 1));
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&csv_line(row));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("Toshkent, 5"), "\"Toshkent, 5\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("+998901234567"), "+998901234567", "a phone stays a phone");
        assert_eq!(csv_field("-cmd"), "'-cmd");
    }

    #[test]
    fn the_phone_filter_keeps_only_digits() {
        let f = AuditFilter { phone: Some(" +998 90-12 ".into()), role: Some("".into()), ..AuditFilter::default() }.normalised();
        assert_eq!(f.phone.as_deref(), Some("9989012"));
        assert_eq!(f.role, None);
    }
}
