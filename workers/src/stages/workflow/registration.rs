//! A client registers in the bot. The phone decides who they are: a client staff registered
//! earlier (no chat yet) is linked to the chat, keeping the name and address staff entered, and
//! the notifications that waited for the link are published again with their own dedupe keys, so
//! each is sent once, now; a new phone makes a new client. A phone linked to another chat, or a
//! chat already linked to another client, is refused. Idempotent by request id: a redelivery
//! publishes what the first delivery published.

use super::Applied;
use crate::runtime::Outcome;
use ariza_shared::domain::{
    Address, ClientRegistration, NotificationMarkup, NotificationRequest, PersonName, PhoneNumber, Recipient,
};
use ariza_shared::errors::{ClientValidationError, Field, MessageArgs, UserError};
use ariza_shared::i18n::nested;
use serde_json::json;
use sqlx::PgConnection;
use sqlx::types::Json;

/// The welcome of a new client, of a client linked to the record staff made, and the refusal.
pub(crate) const REGISTERED_TEMPLATE: &str = "client-registered";
pub(crate) const LINKED_TEMPLATE: &str = "client-linked";
pub(crate) const REFUSED_TEMPLATE: &str = "client-registration-refused";
/// The client menu under the welcome; the labels are the bot's keys.
pub(crate) const CLIENT_MENU: &[&[&str]] =
    &[&["bot-client-btn-new-connection", "bot-client-btn-new-technical"], &["bot-client-btn-my-applications"]];

/// Why a registration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RegistrationRefusal {
    #[error(transparent)]
    Invalid(#[from] ClientValidationError),
    #[error("the phone number is linked to another Telegram account")]
    PhoneLinkedElsewhere,
    #[error("this Telegram account is already linked to another client")]
    AlreadyRegistered,
}

impl UserError for RegistrationRefusal {
    fn message_key(&self) -> String {
        match self {
            RegistrationRefusal::Invalid(e) => e.message_key(),
            RegistrationRefusal::PhoneLinkedElsewhere => "error-phone-linked-elsewhere".to_owned(),
            RegistrationRefusal::AlreadyRegistered => "error-already-registered".to_owned(),
        }
    }

    fn message_args(&self) -> MessageArgs {
        match self {
            RegistrationRefusal::Invalid(e) => e.message_args(),
            _ => MessageArgs::new(),
        }
    }
}

/// The keys of the refusals this module adds, for the locale test.
pub(crate) const REFUSAL_KEYS: &[&str] = &["error-phone-linked-elsewhere", "error-already-registered"];

/// A registration's data, checked.
#[derive(Debug)]
struct Checked {
    name: PersonName,
    phone: PhoneNumber,
    address: Address,
}

fn check(r: &ClientRegistration) -> Result<Checked, ClientValidationError> {
    let field = |field, error| ClientValidationError::Field { field, error };
    Ok(Checked {
        name: PersonName::parse(&r.name).map_err(|e| field(Field::Name, e))?,
        phone: PhoneNumber::parse(&r.phone).map_err(ClientValidationError::Phone)?,
        address: Address::parse(&r.address).map_err(|e| field(Field::Address, e))?,
    })
}

/// A client record the phone or the chat matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Known {
    id: i64,
    chat: Option<i64>,
}

/// What the registration comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// The record with this phone gets the chat.
    Existing(i64),
    New,
}

/// Decides from the client with the phone and the client with the chat, without I/O.
fn decide(by_phone: Option<Known>, by_chat: Option<Known>, chat: i64) -> Result<Link, RegistrationRefusal> {
    match (by_phone, by_chat) {
        (Some(owner), _) if owner.chat.is_some_and(|c| c != chat) => Err(RegistrationRefusal::PhoneLinkedElsewhere),
        (Some(owner), Some(linked)) if linked.id != owner.id => Err(RegistrationRefusal::AlreadyRegistered),
        (Some(owner), _) => Ok(Link::Existing(owner.id)),
        (None, Some(_)) => Err(RegistrationRefusal::AlreadyRegistered),
        (None, None) => Ok(Link::New),
    }
}

pub(super) async fn apply(tx: &mut PgConnection, r: &ClientRegistration) -> Result<Applied, sqlx::Error> {
    let before: Option<Json<Vec<NotificationRequest>>> =
        sqlx::query_scalar("SELECT notifications FROM client_registrations WHERE request_id = $1")
            .bind(r.request_id.0)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(Json(items)) = before {
        return Ok(Applied::Publish(items));
    }
    let checked = match check(r) {
        Ok(c) => c,
        Err(e) => return refuse(tx, r, &e.into()).await,
    };
    // Locked: a registration and a notification deciding to wait for a link do not interleave
    // (the notification stage locks the client before it decides).
    let known: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, phone, telegram_chat_id FROM clients WHERE phone = $1 OR telegram_chat_id = $2 ORDER BY id FOR UPDATE",
    )
    .bind(checked.phone.as_str())
    .bind(r.telegram_chat_id)
    .fetch_all(&mut *tx)
    .await?;
    let by_phone = known.iter().find(|(_, phone, _)| phone == checked.phone.as_str()).map(|(id, _, chat)| Known { id: *id, chat: *chat });
    let by_chat = known.iter().find(|(_, _, chat)| *chat == Some(r.telegram_chat_id)).map(|(id, _, chat)| Known { id: *id, chat: *chat });
    let (client_id, template) = match decide(by_phone, by_chat, r.telegram_chat_id) {
        Err(refusal) => return refuse(tx, r, &refusal).await,
        Ok(Link::Existing(id)) => {
            sqlx::query("UPDATE clients SET telegram_chat_id = $2, language = $3, updated_at = now() WHERE id = $1")
                .bind(id)
                .bind(r.telegram_chat_id)
                .bind(r.language.as_str())
                .execute(&mut *tx)
                .await?;
            (id, LINKED_TEMPLATE)
        }
        Ok(Link::New) => {
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO clients (full_name, phone, address, telegram_chat_id, language) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(checked.name.as_str())
            .bind(checked.phone.as_str())
            .bind(checked.address.as_str())
            .bind(r.telegram_chat_id)
            .bind(r.language.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            match inserted {
                Some(id) => (id, REGISTERED_TEMPLATE),
                // Someone registered the phone or linked the chat since the lock: decide again.
                None => return Ok(Applied::Outcome(Outcome::Retry("the phone or chat was registered at the same moment".into()))),
            }
        }
    };
    let name: String = sqlx::query_scalar("SELECT full_name FROM clients WHERE id = $1").bind(client_id).fetch_one(&mut *tx).await?;
    let waiting = waiting_for_link(tx, client_id).await?;
    let mut args = MessageArgs::new();
    args.insert("name".into(), json!(name));
    args.insert("waiting".into(), json!(waiting.len()));
    let welcome = NotificationRequest {
        recipient: Recipient::Client { id: client_id },
        template: template.to_owned(),
        args,
        dedupe_key: r.request_id.to_string(),
        markup: Some(NotificationMarkup::Keyboard {
            rows: CLIENT_MENU.iter().map(|row| row.iter().map(|k| (*k).to_owned()).collect()).collect(),
        }),
    };
    let items: Vec<NotificationRequest> = std::iter::once(welcome).chain(waiting).collect();
    let outcome = if template == LINKED_TEMPLATE { "linked" } else { "registered" };
    store(tx, r, Some(client_id), outcome, None, &items).await?;
    Ok(Applied::Publish(items))
}

/// A stored notification: dedupe key, template, arguments, buttons.
type WaitingRow = (String, String, Json<MessageArgs>, Option<Json<NotificationMarkup>>);

/// The client's notifications that wait for a link, in the order they were made, as they were
/// requested (same dedupe keys, templates, arguments and buttons).
pub(super) async fn waiting_for_link(tx: &mut PgConnection, client_id: i64) -> Result<Vec<NotificationRequest>, sqlx::Error> {
    let rows: Vec<WaitingRow> = sqlx::query_as(
        "SELECT dedupe_key, template_key, args, markup FROM notifications
         WHERE recipient_kind = 'client' AND recipient_id = $1 AND status = 'waiting_link' ORDER BY id",
    )
    .bind(client_id)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(dedupe_key, template, args, markup)| NotificationRequest {
            recipient: Recipient::Client { id: client_id },
            template,
            args: args.0,
            dedupe_key,
            markup: markup.map(|m| m.0),
        })
        .collect())
}

async fn refuse(tx: &mut PgConnection, r: &ClientRegistration, refusal: &RegistrationRefusal) -> Result<Applied, sqlx::Error> {
    tracing::info!(request_id = %r.request_id, reason = %refusal, "client registration refused");
    let mut args = MessageArgs::new();
    args.insert("reason".into(), nested(&refusal.message_key(), &refusal.message_args()));
    let items = vec![NotificationRequest {
        recipient: Recipient::Chat { chat_id: r.telegram_chat_id, language: r.language },
        template: REFUSED_TEMPLATE.to_owned(),
        args,
        dedupe_key: r.request_id.to_string(),
        markup: None,
    }];
    store(tx, r, None, "refused", Some(refusal), &items).await?;
    Ok(Applied::Publish(items))
}

async fn store(
    tx: &mut PgConnection,
    r: &ClientRegistration,
    client_id: Option<i64>,
    outcome: &str,
    refusal: Option<&RegistrationRefusal>,
    items: &[NotificationRequest],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO client_registrations (request_id, correlation_id, telegram_chat_id, client_id, outcome, reason_key,
             reason_args, notifications)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (request_id) DO NOTHING",
    )
    .bind(r.request_id.0)
    .bind(r.correlation_id.0)
    .bind(r.telegram_chat_id)
    .bind(client_id)
    .bind(outcome)
    .bind(refusal.map(UserError::message_key))
    .bind(Json(refusal.map(UserError::message_args).unwrap_or_default()))
    .bind(Json(items))
    .execute(&mut *tx)
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: i64 = 500;

    #[test]
    fn a_record_staff_made_is_linked_not_duplicated() {
        assert_eq!(decide(Some(Known { id: 3, chat: None }), None, CHAT), Ok(Link::Existing(3)));
        let same = Known { id: 3, chat: Some(CHAT) };
        assert_eq!(decide(Some(same), Some(same), CHAT), Ok(Link::Existing(3)), "registering again is linking again");
        assert_eq!(decide(None, None, CHAT), Ok(Link::New));
    }

    #[test]
    fn a_phone_or_chat_of_someone_else_is_refused() {
        assert_eq!(
            decide(Some(Known { id: 3, chat: Some(CHAT + 1) }), None, CHAT),
            Err(RegistrationRefusal::PhoneLinkedElsewhere)
        );
        let mine = Known { id: 4, chat: Some(CHAT) };
        assert_eq!(decide(Some(Known { id: 3, chat: None }), Some(mine), CHAT), Err(RegistrationRefusal::AlreadyRegistered));
        assert_eq!(decide(None, Some(mine), CHAT), Err(RegistrationRefusal::AlreadyRegistered));
    }

    #[test]
    fn fields_are_checked_with_the_shared_rules() {
        let r = ClientRegistration {
            schema: ariza_shared::domain::SCHEMA_VERSION,
            request_id: ariza_shared::domain::RequestId::new(),
            correlation_id: ariza_shared::domain::CorrelationId::new(),
            telegram_chat_id: CHAT,
            name: "Dilnoza Karimova".into(),
            phone: "90 123 45 67".into(),
            address: "Toshkent".into(),
            language: ariza_shared::domain::Locale::Ru,
            requested_at: chrono::Utc::now(),
        };
        assert_eq!(check(&r).map(|c| c.phone.as_str().to_owned()).ok().as_deref(), Some("+998901234567"));
        let bad = ClientRegistration { phone: "123".into(), ..r.clone() };
        assert_eq!(RegistrationRefusal::from(check(&bad).expect_err("bad phone")).message_key(), "error-phone-invalid");
        let blank = ClientRegistration { address: " ".into(), ..r };
        assert_eq!(RegistrationRefusal::from(check(&blank).expect_err("blank")).message_key(), "error-address-empty");
    }
}
