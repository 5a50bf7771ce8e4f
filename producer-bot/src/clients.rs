//! Finding clients: by phone (any part of the number, typed any usual way), by name (a part,
//! ignoring case) or by id. Read-only: new clients are created by the pipeline.

use crate::session::SearchBy;
use ariza_shared::domain::PhoneNumber;
use sqlx::PgPool;

/// A client as the bot shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClientRow {
    pub id: i64,
    pub full_name: String,
    pub phone: String,
    pub address: String,
    /// The client's own Telegram chat, once they have registered in the bot.
    pub telegram_chat_id: Option<i64>,
}

/// One page of results and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub rows: Vec<ClientRow>,
    pub total: i64,
}

/// Why a query cannot be searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    TooShort,
    NotAnId,
}

/// What to look for, from what was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Digits(String),
    Name(String),
    Id(i64),
}

fn pattern(by: SearchBy, query: &str) -> Result<Pattern, QueryError> {
    match by {
        SearchBy::Phone => {
            // A whole number in any usual form, or the digits of a part of one.
            if let Ok(phone) = PhoneNumber::parse(query) {
                return Ok(Pattern::Digits(phone.as_str().trim_start_matches('+').to_owned()));
            }
            let digits: String = query.chars().filter(char::is_ascii_digit).collect();
            if digits.len() < 3 { Err(QueryError::TooShort) } else { Ok(Pattern::Digits(digits)) }
        }
        SearchBy::Name => {
            let name = query.trim().to_lowercase();
            if name.chars().count() < 2 { Err(QueryError::TooShort) } else { Ok(Pattern::Name(name)) }
        }
        SearchBy::Id => query.trim().trim_start_matches('#').parse().map(Pattern::Id).map_err(|_| QueryError::NotAnId),
    }
}

/// Checks a query before it is searched.
pub fn check_query(by: SearchBy, query: &str) -> Result<(), QueryError> {
    pattern(by, query).map(drop)
}

/// Page `page` (from 0) of the clients matching `query`.
pub async fn search(pool: &PgPool, by: SearchBy, query: &str, page: u32, page_size: u16) -> Result<Page, sqlx::Error> {
    let Ok(pattern) = pattern(by, query) else {
        return Ok(Page { rows: Vec::new(), total: 0 });
    };
    let (digits, name, id) = match pattern {
        Pattern::Digits(d) => (Some(d), None, None),
        Pattern::Name(n) => (None, Some(n), None),
        Pattern::Id(i) => (None, None, Some(i)),
    };
    let limit = i64::from(page_size);
    let offset = i64::from(page) * limit;
    let rows: Vec<(i64, String, String, String, Option<i64>, i64)> = sqlx::query_as(
        "SELECT id, full_name, phone, address, telegram_chat_id, count(*) OVER () FROM clients
         WHERE ($1::text IS NULL OR phone LIKE '%' || $1 || '%')
           AND ($2::text IS NULL OR lower(full_name) LIKE '%' || $2 || '%')
           AND ($3::bigint IS NULL OR id = $3)
         ORDER BY full_name, id
         LIMIT $4 OFFSET $5",
    )
    .bind(digits)
    .bind(name)
    .bind(id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = rows.first().map_or(0, |r| r.5);
    Ok(Page {
        rows: rows
            .into_iter()
            .map(|(id, full_name, phone, address, telegram_chat_id, _)| ClientRow { id, full_name, phone, address, telegram_chat_id })
            .collect(),
        total,
    })
}

/// The client with this id.
pub async fn by_id(pool: &PgPool, id: i64) -> Result<Option<ClientRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, full_name, phone, address, telegram_chat_id FROM clients WHERE id = $1").bind(id).fetch_optional(pool).await
}

/// The client with this phone (canonical form).
pub async fn by_phone(pool: &PgPool, phone: &PhoneNumber) -> Result<Option<ClientRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, full_name, phone, address, telegram_chat_id FROM clients WHERE phone = $1")
        .bind(phone.as_str())
        .fetch_optional(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_queries_accept_whole_numbers_and_parts() {
        assert_eq!(pattern(SearchBy::Phone, "90 123 45 67"), Ok(Pattern::Digits("998901234567".into())));
        assert_eq!(pattern(SearchBy::Phone, "45-67"), Ok(Pattern::Digits("4567".into())));
        assert_eq!(pattern(SearchBy::Phone, "4"), Err(QueryError::TooShort));
        assert_eq!(pattern(SearchBy::Name, "  ALi "), Ok(Pattern::Name("ali".into())));
        assert_eq!(pattern(SearchBy::Id, "#125"), Ok(Pattern::Id(125)));
        assert_eq!(pattern(SearchBy::Id, "abc"), Err(QueryError::NotAnId));
    }
}
