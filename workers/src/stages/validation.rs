//! Stage 1, validation: schema (done by the runner), field rules, and permissions decided from
//! the creator's row in `staff` (active, role), never from the role the message claims. A request
//! that fails is not retried: it is stored as rejected with its reason, and its creator is told
//! why, in their language.

use crate::db::{self, staff};
use crate::runtime::{Incoming, Outcome, Outgoing, Stage, Unavailable};
use ariza_shared::domain::{
    ClientRef, CreationRequest, CreationSource, Locale, NotificationBatch, NotificationRequest, PhoneNumber, Recipient,
    SCHEMA_VERSION,
};
use ariza_shared::errors::{CreationError, MessageArgs, UserError as _};
use ariza_shared::topology::Stage as StageName;
use ariza_shared::validation::{ClientRecord, CreatorRecord, validate_creation};
use sqlx::PgPool;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Validation {
    pool: PgPool,
}

impl Validation {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// A rejection to store and announce.
struct Rejection<'a> {
    req: &'a CreationRequest,
    error: CreationError,
}

impl Stage for Validation {
    type Input = CreationRequest;
    const NAME: StageName = StageName::Validation;

    fn schema_of(input: &CreationRequest) -> u32 {
        input.schema
    }

    async fn process(&self, batch: &[Incoming<CreationRequest>]) -> Result<Vec<Outcome>, Unavailable> {
        let telegram_ids: Vec<i64> = batch.iter().map(|m| m.input.creator.telegram_id).collect();
        let client_ids: Vec<i64> = batch
            .iter()
            .filter_map(|m| match m.input.client {
                ClientRef::Existing { client_id, .. } => Some(client_id),
                ClientRef::New(_) => None,
            })
            .collect();
        // New phone numbers in corrections, to tell whether another client already has one.
        let new_phones: Vec<String> = batch.iter().filter_map(|m| corrected_phone(&m.input)).collect();
        // One connection for the look-ups, and no statement for a look-up with nothing to find:
        // under light load a batch is one or two requests, and each statement is a round trip.
        let lookups = async {
            let mut conn = self.pool.acquire().await?;
            let staff = staff::by_telegram_ids(&mut *conn, &telegram_ids).await?;
            let clients: Vec<(i64, Option<i64>)> = if client_ids.is_empty() {
                Vec::new()
            } else {
                sqlx::query_as("SELECT id, telegram_chat_id FROM clients WHERE id = ANY($1)")
                    .bind(&client_ids)
                    .fetch_all(&mut *conn)
                    .await?
            };
            let owners: Vec<(String, i64)> = if new_phones.is_empty() {
                Vec::new()
            } else {
                sqlx::query_as("SELECT phone, id FROM clients WHERE phone = ANY($1)")
                    .bind(&new_phones)
                    .fetch_all(&mut *conn)
                    .await?
            };
            Ok::<_, sqlx::Error>((staff, clients, owners))
        };
        let (staff, clients, owners) = match lookups.await {
            Ok(found) => found,
            Err(e) => return db::fail_all(&e, batch.len()),
        };
        let staff: HashMap<i64, _> = staff.into_iter().map(|s| (s.telegram_id, s)).collect();
        let owners: HashMap<String, i64> = owners.into_iter().collect();
        let clients: HashMap<i64, (i64, Option<i64>)> = clients.into_iter().map(|(id, chat)| (id, (id, chat))).collect();

        let mut outcomes = Vec::with_capacity(batch.len());
        let mut rejections = Vec::new();
        for message in batch {
            let req = &message.input;
            let creator = staff.get(&req.creator.telegram_id).map_or(CreatorRecord::NotStaff, |s| CreatorRecord::Staff {
                id: s.id,
                role: s.role,
                active: s.active,
                language: s.language,
            });
            let client = match req.client {
                ClientRef::Existing { client_id, .. } => clients.get(&client_id).map(|(id, chat)| ClientRecord {
                    id: *id,
                    telegram_chat_id: *chat,
                    phone_owner: corrected_phone(req).and_then(|p| owners.get(&p).copied()),
                }),
                ClientRef::New(_) => None,
            };
            match validate_creation(req, &creator, client) {
                Ok(valid) => outcomes.push(
                    Outgoing::json(StageName::Persistence, &valid, req.correlation_id, Some(req.application_id.to_string()))
                        .map_or_else(|e| super::encode_failed(&e), |out| Outcome::Done(vec![out])),
                ),
                Err(error) => {
                    tracing::info!(application_id = %req.application_id, reason = %error, "request rejected");
                    let notify = rejection_recipient(req, &creator, client);
                    outcomes.push(Outcome::Done(notify.map(|to| rejection_notice(req, &error, to)).into_iter().collect()));
                    rejections.push(Rejection { req, error });
                }
            }
        }
        if !rejections.is_empty()
            && let Err(e) = store_rejections(&self.pool, &rejections).await
        {
            return db::fail_all(&e, batch.len());
        }
        Ok(outcomes)
    }

    async fn probe(&self) -> Result<(), Unavailable> {
        db::probe(&self.pool).await
    }
}

/// The canonical form of the new phone in a correction, if there is a valid one.
fn corrected_phone(req: &CreationRequest) -> Option<String> {
    match &req.client {
        ClientRef::Existing { update: Some(update), .. } => {
            update.phone.as_deref().and_then(|p| PhoneNumber::parse(p).ok()).map(String::from)
        }
        _ => None,
    }
}

/// Who hears about a rejection: the staff member who asked, or the client who asked for
/// themselves. A stranger (no staff row) is not written to.
fn rejection_recipient(req: &CreationRequest, creator: &CreatorRecord, client: Option<ClientRecord>) -> Option<Recipient> {
    match (req.source, creator) {
        (CreationSource::Staff, CreatorRecord::Staff { id, .. }) => Some(Recipient::Staff { id: *id }),
        (CreationSource::Staff, CreatorRecord::NotStaff) => None,
        (CreationSource::Client, _) => match (&req.client, client) {
            (ClientRef::Existing { .. }, Some(c)) if c.telegram_chat_id == Some(req.creator.telegram_id) => {
                Some(Recipient::Client { id: c.id })
            }
            (ClientRef::New(data), _) => {
                Some(Recipient::Chat { chat_id: req.creator.telegram_id, language: data.language.unwrap_or(Locale::Uz) })
            }
            _ => None,
        },
    }
}

fn rejection_notice(req: &CreationRequest, error: &CreationError, to: Recipient) -> Outgoing {
    let mut args = MessageArgs::new();
    args.insert("reason".into(), ariza_shared::i18n::nested(&error.message_key(), &error.message_args()));
    let batch = NotificationBatch {
        schema: SCHEMA_VERSION,
        correlation_id: req.correlation_id,
        application_id: Some(req.application_id),
        items: vec![NotificationRequest {
            recipient: to,
            template: "app-created-rejected".into(),
            args,
            dedupe_key: format!("{}:rejected", req.application_id),
            markup: None,
        }],
    };
    Outgoing {
        stage: StageName::Notification,
        body: serde_json::to_vec(&batch).unwrap_or_default(),
        correlation_id: req.correlation_id.to_string(),
        application_id: Some(req.application_id.to_string()),
    }
}

async fn store_rejections(pool: &PgPool, rejections: &[Rejection<'_>]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for r in rejections {
        sqlx::query(
            "INSERT INTO rejected_requests (application_id, correlation_id, creator_telegram_id, claimed_role,
                 creation_source, kind, reason_key, reason_args, reason_text, payload)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (application_id) DO NOTHING",
        )
        .bind(r.req.application_id.0)
        .bind(r.req.correlation_id.0)
        .bind(r.req.creator.telegram_id)
        .bind(r.req.creator.role.as_str())
        .bind(r.req.source.as_str())
        .bind(r.req.kind.as_str())
        .bind(r.error.message_key())
        .bind(sqlx::types::Json(r.error.message_args()))
        .bind(r.error.to_string())
        .bind(sqlx::types::Json(masked_payload(r.req)))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The request as stored with its rejection: a new client's phone is kept only masked, since the
/// client was never registered.
fn masked_payload(req: &CreationRequest) -> serde_json::Value {
    let mut value = serde_json::to_value(req).unwrap_or_default();
    if let Some(phone) = value.pointer_mut("/client/phone")
        && let Some(raw) = phone.as_str()
    {
        *phone = serde_json::Value::String(ariza_shared::telemetry::mask_phone(raw));
    }
    value
}
