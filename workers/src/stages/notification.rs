//! Stage 4, notification: takes generic notification requests (recipient, template key, arguments,
//! dedupe key), renders each in its recipient's language and sends it through the Bot API.
//!
//! Each request becomes a `notifications` row first (unique on its dedupe key), so a redelivered
//! request never sends a notification whose send was recorded. A client with no linked Telegram
//! chat gets the row stored as `waiting_link`, not failed. A blocked user (403) is recorded as
//! `blocked`; a message Telegram refuses (400) as `failed`; 5xx and network errors retry the
//! message through the delay tiers (what was sent stays sent) and count against the breaker.

use crate::breaker::Breaker;
use crate::db;
use crate::runtime::{Incoming, Outcome, Stage, Unavailable};
use crate::telegram::{SendError, TelegramClient};
use ariza_shared::domain::{Locale, NotificationBatch, Recipient};
use ariza_shared::topology::Stage as StageName;
use futures::future::join_all;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Notification {
    pool: PgPool,
    telegram: Arc<TelegramClient>,
    breaker: Breaker,
}

impl Notification {
    pub fn new(pool: PgPool, telegram: Arc<TelegramClient>, breaker: Breaker) -> Self {
        Self { pool, telegram, breaker }
    }
}

/// A notification row as the sender needs it.
#[derive(Debug, sqlx::FromRow)]
struct Pending {
    id: i64,
    dedupe_key: String,
    status: String,
    chat_id: Option<i64>,
    language: Option<String>,
    active: bool,
    template_key: String,
    args: sqlx::types::Json<ariza_shared::errors::MessageArgs>,
}

/// The new state of a row after this round.
struct Update {
    id: i64,
    status: &'static str,
    chat_id: Option<i64>,
    language: Option<String>,
    text: Option<String>,
    tried: i32,
    error: Option<String>,
    message_id: Option<i64>,
}

fn recipient_columns(r: &Recipient) -> (&'static str, i64, Option<&'static str>) {
    match r {
        Recipient::Client { id } => ("client", *id, None),
        Recipient::Staff { id } => ("staff", *id, None),
        Recipient::Chat { chat_id, language } => ("chat", *chat_id, Some(language.as_str())),
    }
}

impl Notification {
    /// Stores every request of the batch (once per dedupe key) and reads back their state.
    async fn register(&self, batch: &[Incoming<NotificationBatch>]) -> Result<Vec<Pending>, sqlx::Error> {
        let mut keys = Vec::new();
        let (mut apps, mut corrs, mut kinds, mut ids, mut langs, mut templates, mut args) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for message in batch {
            for item in &message.input.items {
                let (kind, id, lang) = recipient_columns(&item.recipient);
                keys.push(item.dedupe_key.clone());
                apps.push(message.input.application_id.map(|a| a.0));
                corrs.push(message.input.correlation_id.0);
                kinds.push(kind);
                ids.push(id);
                langs.push(lang);
                templates.push(item.template.clone());
                args.push(serde_json::to_value(&item.args).unwrap_or_default());
            }
        }
        sqlx::query(
            "INSERT INTO notifications (dedupe_key, application_id, correlation_id, recipient_kind, recipient_id,
                 language, template_key, args)
             SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::jsonb[])
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(&keys)
        .bind(&apps)
        .bind(&corrs)
        .bind(&kinds)
        .bind(&ids)
        .bind(&langs)
        .bind(&templates)
        .bind(&args)
        .execute(&self.pool)
        .await?;
        sqlx::query_as(
            "SELECT n.id, n.dedupe_key, n.status, n.template_key, n.args,
                    CASE n.recipient_kind WHEN 'staff' THEN s.telegram_id WHEN 'client' THEN c.telegram_chat_id
                         ELSE n.recipient_id END AS chat_id,
                    COALESCE(n.language, s.language, c.language) AS language,
                    COALESCE(s.active, TRUE) AS active
             FROM notifications n
             LEFT JOIN staff s ON n.recipient_kind = 'staff' AND s.id = n.recipient_id
             LEFT JOIN clients c ON n.recipient_kind = 'client' AND c.id = n.recipient_id
             WHERE n.dedupe_key = ANY($1)",
        )
        .bind(&keys)
        .fetch_all(&self.pool)
        .await
    }

    async fn deliver(&self, row: &Pending) -> Option<Update> {
        if row.status != "pending" {
            return None;
        }
        let language: Locale = row.language.as_deref().and_then(|l| l.parse().ok()).unwrap_or_default();
        let mut update = Update {
            id: row.id,
            status: "pending",
            chat_id: row.chat_id,
            language: Some(language.as_str().to_owned()),
            text: None,
            tried: 0,
            error: None,
            message_id: None,
        };
        let Some(chat_id) = row.chat_id else {
            update.status = "waiting_link";
            return Some(update);
        };
        if !row.active {
            update.status = "failed";
            update.error = Some("the staff member is deactivated".into());
            return Some(update);
        }
        let text = ariza_shared::i18n::render(language, &row.template_key, &row.args.0);
        update.tried = 1;
        match self.telegram.send_message(chat_id, &text).await {
            Ok(message_id) => {
                self.breaker.record_success();
                update.status = "sent";
                update.message_id = Some(message_id);
            }
            Err(SendError::Blocked(e)) => {
                update.status = "blocked";
                update.error = Some(e);
            }
            Err(SendError::Rejected(e)) => {
                update.status = "failed";
                update.error = Some(e);
            }
            Err(SendError::Transient(e)) => {
                self.breaker.record_failure();
                update.error = Some(e);
            }
        }
        update.text = Some(text);
        Some(update)
    }

    async fn record(&self, updates: &[Update]) -> Result<(), sqlx::Error> {
        if updates.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = updates.iter().map(|u| u.id).collect();
        let statuses: Vec<&str> = updates.iter().map(|u| u.status).collect();
        let chats: Vec<Option<i64>> = updates.iter().map(|u| u.chat_id).collect();
        let langs: Vec<Option<String>> = updates.iter().map(|u| u.language.clone()).collect();
        let texts: Vec<Option<String>> = updates.iter().map(|u| u.text.clone()).collect();
        let tried: Vec<i32> = updates.iter().map(|u| u.tried).collect();
        let errors: Vec<Option<String>> = updates.iter().map(|u| u.error.clone()).collect();
        let message_ids: Vec<Option<i64>> = updates.iter().map(|u| u.message_id).collect();
        sqlx::query(
            "UPDATE notifications n
             SET status = u.status, chat_id = u.chat_id, language = u.language, text = COALESCE(u.text, n.text),
                 attempts = n.attempts + u.tried, last_error = u.error, telegram_message_id = u.message_id,
                 sent_at = CASE WHEN u.status = 'sent' THEN now() END, updated_at = now()
             FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::text[], $8::bigint[])
                  AS u(id, status, chat_id, language, text, tried, error, message_id)
             WHERE n.id = u.id AND n.status = 'pending'",
        )
        .bind(&ids)
        .bind(&statuses)
        .bind(&chats)
        .bind(&langs)
        .bind(&texts)
        .bind(&tried)
        .bind(&errors)
        .bind(&message_ids)
        .execute(&self.pool)
        .await
        .map(drop)
    }
}

impl Stage for Notification {
    type Input = NotificationBatch;
    const NAME: StageName = StageName::Notification;

    fn schema_of(input: &NotificationBatch) -> u32 {
        input.schema
    }

    async fn process(&self, batch: &[Incoming<NotificationBatch>]) -> Result<Vec<Outcome>, Unavailable> {
        let rows = match self.register(batch).await {
            Ok(rows) => rows,
            Err(e) => return db::fail_all(&e, batch.len()),
        };
        let updates: Vec<Update> = join_all(rows.iter().map(|row| self.deliver(row))).await.into_iter().flatten().collect();
        if let Err(e) = self.record(&updates).await {
            return db::fail_all(&e, batch.len());
        }
        self.telegram.forget_quiet_chats();
        let failed: HashMap<i64, &str> = updates
            .iter()
            .filter(|u| u.status == "pending")
            .map(|u| (u.id, u.error.as_deref().unwrap_or("send failed")))
            .collect();
        let by_key: HashMap<&str, i64> = rows.iter().map(|r| (r.dedupe_key.as_str(), r.id)).collect();
        Ok(batch
            .iter()
            .map(|message| {
                let error = message
                    .input
                    .items
                    .iter()
                    .filter_map(|item| by_key.get(item.dedupe_key.as_str()).and_then(|id| failed.get(id)))
                    .next();
                match error {
                    Some(e) => Outcome::Retry(format!("Telegram: {e}")),
                    None => Outcome::Done(Vec::new()),
                }
            })
            .collect())
    }

    async fn probe(&self) -> Result<(), Unavailable> {
        db::probe(&self.pool).await?;
        self.telegram.get_me().await.map_err(|error| Unavailable { dependency: "Telegram Bot API", error })
    }
}
