//! Who is talking to the bot: a staff member (from `staff`), a client whose chat is linked to a
//! client record, or a person ariza does not know yet (who may register as a client).

use anyhow::Context as _;
use ariza_shared::domain::{Locale, Role};
use ariza_workers::db::staff::{self, StaffMember};
use sqlx::PgPool;

/// A client record linked to a Telegram chat.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClientAccount {
    pub id: i64,
    pub full_name: String,
    pub phone: String,
    pub address: String,
    pub language: String,
}

/// What kind of person it is, with their record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `staff.id`.
    Staff { id: i64 },
    Client(ClientAccount),
    /// Not in `staff` and no client record linked to this chat.
    Stranger,
}

/// The person behind an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub telegram_id: i64,
    /// The staff role, or [`Role::Client`] for clients and strangers.
    pub role: Role,
    pub language: Locale,
    pub full_name: String,
    pub kind: Kind,
}

impl Person {
    pub fn staff_id(&self) -> Option<i64> {
        match self.kind {
            Kind::Staff { id } => Some(id),
            _ => None,
        }
    }

    pub fn client(&self) -> Option<&ClientAccount> {
        match &self.kind {
            Kind::Client(c) => Some(c),
            _ => None,
        }
    }

    pub fn is_stranger(&self) -> bool {
        self.kind == Kind::Stranger
    }

    fn from_staff(s: StaffMember) -> Self {
        Person { telegram_id: s.telegram_id, role: s.role, language: s.language, full_name: s.full_name, kind: Kind::Staff { id: s.id } }
    }
}

/// The language Telegram reports for a user: Russian for Russian speakers, Uzbek otherwise.
pub fn telegram_locale(language_code: Option<&str>) -> Locale {
    match language_code {
        Some(code) if code.starts_with("ru") => Locale::Ru,
        _ => Locale::Uz,
    }
}

/// Recognises the person with Telegram id `telegram_id` (a private chat's id is the user's id).
/// An inactive staff member is nobody: they are neither staff nor a client.
pub async fn identify(pool: &PgPool, telegram_id: i64, language_code: Option<&str>) -> anyhow::Result<Option<Person>> {
    let found = staff::by_telegram_ids(pool, &[telegram_id]).await.context("looking up staff")?;
    if let Some(member) = found.into_iter().next() {
        return Ok(member.active.then(|| Person::from_staff(member)));
    }
    let client: Option<ClientAccount> = sqlx::query_as(
        "SELECT id, full_name, phone, address, language FROM clients WHERE telegram_chat_id = $1",
    )
    .bind(telegram_id)
    .fetch_optional(pool)
    .await
    .context("looking up the client")?;
    Ok(Some(match client {
        Some(c) => Person {
            telegram_id,
            role: Role::Client,
            language: c.language.parse().unwrap_or_default(),
            full_name: c.full_name.clone(),
            kind: Kind::Client(c),
        },
        None => Person {
            telegram_id,
            role: Role::Client,
            language: telegram_locale(language_code),
            full_name: String::new(),
            kind: Kind::Stranger,
        },
    }))
}

/// Switches a person's language and returns it. Staff and clients keep it in their record (the
/// notifications use it too); a stranger's lives in the session.
pub async fn switch_language(pool: &PgPool, person: &mut Person) -> anyhow::Result<Locale> {
    let new = if person.language == Locale::Uz { Locale::Ru } else { Locale::Uz };
    match &person.kind {
        Kind::Staff { .. } => {
            staff::upsert(pool, person.telegram_id, person.role, new, &person.full_name).await?;
        }
        Kind::Client(c) => {
            sqlx::query("UPDATE clients SET language = $2, updated_at = now() WHERE id = $1")
                .bind(c.id)
                .bind(new.as_str())
                .execute(pool)
                .await?;
        }
        Kind::Stranger => {}
    }
    person.language = new;
    Ok(new)
}
