//! Stage 4, notification: takes generic notification requests (recipient, template key, arguments,
//! buttons, dedupe key), renders each in its recipient's language and sends it through the Bot API.
//!
//! Each request becomes a `notifications` row (unique on its dedupe key) in the transaction that
//! sends it and records the send, so a redelivered request never sends a notification whose send
//! was recorded. A client with no linked Telegram chat gets the row stored as `waiting_link`, not
//! failed; when the same request comes again after the client linked their chat (the workflow
//! stage republishes them on registration), it is sent like a pending one. A blocked user (403)
//! is recorded as `blocked`; a message Telegram refuses (400) as `failed`; 5xx and network errors
//! retry the message through the delay tiers (what was sent stays sent) and count against the
//! breaker.
//!
//! The rows a batch sends are locked (`FOR UPDATE SKIP LOCKED`) from reading to recording, so two
//! batches carrying the same request (a redelivery upstream) never both send it: the one that got
//! the row sends it, the other leaves it alone. The clients they go to are share-locked first, so
//! a row is never parked as `waiting_link` while the client's link is being committed. Messages
//! to one chat go out in the order of the batch (a welcome before the notifications it releases).

use crate::breaker::Breaker;
use crate::db;
use crate::runtime::{Incoming, Outcome, Stage, Unavailable};
use crate::telegram::{SendError, TelegramClient};
use ariza_shared::domain::{Locale, NotificationBatch, NotificationMarkup, Recipient};
use ariza_shared::errors::MessageArgs;
use ariza_shared::topology::Stage as StageName;
use futures::future::join_all;
use serde_json::json;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, HashMap, HashSet};
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
    args: Json<MessageArgs>,
    markup: Option<Json<NotificationMarkup>>,
}

/// The columns of [`Pending`] for a notification row `n`. The recipient's chat, language and
/// active flag are subqueries by primary key rather than joins, so that no plan scans the whole
/// table of clients for a batch (as one did on a fresh database, before its first `ANALYZE`).
macro_rules! pending_columns {
    () => {
        "n.id, n.dedupe_key, n.status, n.template_key, n.args, n.markup,
         CASE n.recipient_kind
              WHEN 'staff' THEN (SELECT s.telegram_id FROM staff s WHERE s.id = n.recipient_id)
              WHEN 'client' THEN (SELECT c.telegram_chat_id FROM clients c WHERE c.id = n.recipient_id)
              ELSE n.recipient_id END AS chat_id,
         CASE n.recipient_kind
              WHEN 'staff' THEN COALESCE((SELECT s.language FROM staff s WHERE s.id = n.recipient_id), n.language)
              WHEN 'client' THEN COALESCE((SELECT c.language FROM clients c WHERE c.id = n.recipient_id), n.language)
              ELSE n.language END AS language,
         CASE n.recipient_kind
              WHEN 'staff' THEN COALESCE((SELECT s.active FROM staff s WHERE s.id = n.recipient_id), TRUE)
              ELSE TRUE END AS active"
    };
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

/// The requests of a batch, as rows to insert, in batch order, once per dedupe key.
#[derive(Default)]
struct Requests {
    keys: Vec<String>,
    apps: Vec<Option<uuid::Uuid>>,
    corrs: Vec<uuid::Uuid>,
    kinds: Vec<&'static str>,
    ids: Vec<i64>,
    langs: Vec<Option<&'static str>>,
    templates: Vec<String>,
    args: Vec<serde_json::Value>,
    markups: Vec<Option<serde_json::Value>>,
    /// The clients among the recipients, to lock before deciding whether a row waits for a link.
    clients: Vec<i64>,
}

impl Requests {
    fn of(batch: &[Incoming<NotificationBatch>]) -> Self {
        let mut r = Requests::default();
        for message in batch {
            for item in &message.input.items {
                if r.keys.contains(&item.dedupe_key) {
                    continue;
                }
                let (kind, id, lang) = recipient_columns(&item.recipient);
                if let Recipient::Client { id } = item.recipient {
                    r.clients.push(id);
                }
                r.keys.push(item.dedupe_key.clone());
                r.apps.push(message.input.application_id.map(|a| a.0));
                r.corrs.push(message.input.correlation_id.0);
                r.kinds.push(kind);
                r.ids.push(id);
                r.langs.push(lang);
                r.templates.push(item.template.clone());
                r.args.push(serde_json::to_value(&item.args).unwrap_or_default());
                r.markups.push(item.markup.as_ref().and_then(|m| serde_json::to_value(m).ok()));
            }
        }
        r.clients.sort_unstable();
        r.clients.dedup();
        r
    }
}

impl Notification {
    /// Stores the batch's requests (once per dedupe key), then locks and reads the rows that may
    /// still be sent, in batch order. A request stored before (a redelivery) is read from its row;
    /// rows another batch holds are left to it.
    async fn claim(tx: &mut PgConnection, requests: &Requests) -> Result<Vec<Pending>, sqlx::Error> {
        if !requests.clients.is_empty() {
            sqlx::query("SELECT id FROM clients WHERE id = ANY($1) ORDER BY id FOR SHARE")
                .persistent(false)
                .bind(&requests.clients)
                .execute(&mut *tx)
                .await?;
        }
        // The rows this insert creates are this transaction's own until it commits: nobody else
        // can send them, and a concurrent insert of the same key waits for the commit.
        let mut rows: Vec<Pending> = sqlx::query_as(concat!(
            "WITH n AS (
                 INSERT INTO notifications (dedupe_key, application_id, correlation_id, recipient_kind, recipient_id,
                     language, template_key, args, markup)
                 SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::text[],
                                      $7::text[], $8::jsonb[], $9::jsonb[])
                 ON CONFLICT (dedupe_key) DO NOTHING
                 RETURNING *
             )
             SELECT ",
            pending_columns!(),
            " FROM n"
        ))
        .bind(&requests.keys)
        .bind(&requests.apps)
        .bind(&requests.corrs)
        .bind(&requests.kinds)
        .bind(&requests.ids)
        .bind(&requests.langs)
        .bind(&requests.templates)
        .bind(&requests.args)
        .bind(&requests.markups)
        .fetch_all(&mut *tx)
        .await?;
        if rows.len() < requests.keys.len() {
            let inserted: HashSet<&str> = rows.iter().map(|r| r.dedupe_key.as_str()).collect();
            let stored_before: Vec<&str> =
                requests.keys.iter().map(String::as_str).filter(|k| !inserted.contains(k)).collect();
            let mut earlier: Vec<Pending> = sqlx::query_as(concat!(
                "SELECT ",
                pending_columns!(),
                " FROM notifications n
                 WHERE n.dedupe_key = ANY($1) AND n.status IN ('pending', 'waiting_link')
                 FOR UPDATE OF n SKIP LOCKED"
            ))
            .persistent(false)
            .bind(&stored_before)
            .fetch_all(&mut *tx)
            .await?;
            rows.append(&mut earlier);
        }
        let position: HashMap<&str, usize> = requests.keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
        rows.sort_by_key(|r| position.get(r.dedupe_key.as_str()).copied().unwrap_or(usize::MAX));
        Ok(rows)
    }

    /// Sends the rows, one chat's in order and chats side by side. After a transient failure the
    /// rest of that chat's rows wait (unsent, still pending) so they do not overtake it.
    async fn deliver_all(&self, rows: &[Pending]) -> Vec<Update> {
        let mut by_chat: BTreeMap<Option<i64>, Vec<&Pending>> = BTreeMap::new();
        for row in rows {
            by_chat.entry(row.chat_id).or_default().push(row);
        }
        let chats = by_chat.into_values().map(|rows| async move {
            let mut updates = Vec::with_capacity(rows.len());
            let mut held_back = false;
            for row in rows {
                if held_back {
                    updates.push(Update::held_back(row));
                    continue;
                }
                if let Some(update) = self.deliver(row).await {
                    held_back = update.status == "pending";
                    updates.push(update);
                }
            }
            updates
        });
        join_all(chats).await.into_iter().flatten().collect()
    }

    async fn deliver(&self, row: &Pending) -> Option<Update> {
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
            if row.status == "waiting_link" {
                return None;
            }
            update.status = "waiting_link";
            return Some(update);
        };
        if !row.active {
            update.status = "failed";
            update.error = Some("the staff member is deactivated".into());
            return Some(update);
        }
        let text = ariza_shared::i18n::render(language, &row.template_key, &row.args.0);
        let markup = row.markup.as_ref().map(|m| reply_markup(language, &m.0));
        update.tried = 1;
        match self.telegram.send_message_with(chat_id, &text, markup.as_ref()).await {
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

    /// Records how the sends went. The times are when this statement runs (`clock_timestamp()`),
    /// after the sends: `now()` would be the start of the transaction, before them.
    async fn record(tx: &mut PgConnection, updates: &[Update]) -> Result<(), sqlx::Error> {
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
                 sent_at = CASE WHEN u.status = 'sent' THEN clock_timestamp() END, updated_at = clock_timestamp()
             FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::text[], $8::bigint[])
                  AS u(id, status, chat_id, language, text, tried, error, message_id)
             WHERE n.id = u.id AND n.status IN ('pending', 'waiting_link')",
        )
        .persistent(false)
        .bind(&ids)
        .bind(&statuses)
        .bind(&chats)
        .bind(&langs)
        .bind(&texts)
        .bind(&tried)
        .bind(&errors)
        .bind(&message_ids)
        .execute(&mut *tx)
        .await
        .map(drop)
    }

    /// Claims, sends and records the batch's rows in one transaction, so the row locks hold from
    /// the decision to send until the send is recorded.
    async fn send_batch(&self, requests: &Requests) -> Result<(Vec<Pending>, Vec<Update>), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let rows = Self::claim(&mut tx, requests).await?;
        let updates = self.deliver_all(&rows).await;
        Self::record(&mut tx, &updates).await?;
        tx.commit().await?;
        Ok((rows, updates))
    }
}

impl Update {
    /// A row not tried because an earlier message to the same chat failed: it stays pending and
    /// its message is retried.
    fn held_back(row: &Pending) -> Self {
        Update {
            id: row.id,
            status: "pending",
            chat_id: row.chat_id,
            language: row.language.clone(),
            text: None,
            tried: 0,
            error: Some("an earlier message to the same chat was not sent".into()),
            message_id: None,
        }
    }
}

/// The Bot API's `reply_markup` for `markup`, its labels in `language`.
fn reply_markup(language: Locale, markup: &NotificationMarkup) -> serde_json::Value {
    match markup {
        NotificationMarkup::Inline { rows } => {
            let rows: Vec<Vec<serde_json::Value>> = rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|b| json!({ "text": ariza_shared::i18n::render(language, &b.label, &b.args), "callback_data": b.callback_data }))
                        .collect()
                })
                .collect();
            json!({ "inline_keyboard": rows })
        }
        NotificationMarkup::Keyboard { rows } => {
            let rows: Vec<Vec<serde_json::Value>> = rows
                .iter()
                .map(|row| row.iter().map(|key| json!({ "text": ariza_shared::i18n::plain(language, key) })).collect())
                .collect();
            json!({ "keyboard": rows, "resize_keyboard": true })
        }
    }
}

impl Stage for Notification {
    type Input = NotificationBatch;
    const NAME: StageName = StageName::Notification;

    fn schema_of(input: &NotificationBatch) -> u32 {
        input.schema
    }

    #[tracing::instrument(skip_all, fields(size = batch.len()))]
    async fn process(&self, batch: &[Incoming<NotificationBatch>]) -> Result<Vec<Outcome>, Unavailable> {
        let requests = Requests::of(batch);
        let (rows, updates) = match self.send_batch(&requests).await {
            Ok(done) => done,
            Err(e) => return db::fail_all(&e, batch.len()),
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use ariza_shared::domain::{ApplicationId, GlobalAction, NotificationButton};

    #[test]
    fn buttons_are_rendered_in_the_recipients_language() {
        let app = ApplicationId::new();
        let inline = NotificationMarkup::Inline {
            rows: vec![vec![NotificationButton {
                label: "wf-btn-rate".into(),
                args: [("score".to_owned(), json!(3))].into_iter().collect(),
                callback_data: GlobalAction::Rate(app, 3).data(),
            }]],
        };
        let value = reply_markup(Locale::Ru, &inline);
        assert_eq!(value["inline_keyboard"][0][0]["text"], "⭐ 3");
        assert_eq!(value["inline_keyboard"][0][0]["callback_data"], GlobalAction::Rate(app, 3).data());
        let open = NotificationMarkup::Keyboard { rows: vec![vec!["wf-btn-open".into()]] };
        assert_eq!(reply_markup(Locale::Uz, &open)["keyboard"][0][0]["text"], ariza_shared::i18n::plain(Locale::Uz, "wf-btn-open"));
        assert_eq!(reply_markup(Locale::Uz, &open)["resize_keyboard"], true);
        assert_ne!(reply_markup(Locale::Ru, &open), reply_markup(Locale::Uz, &open));
    }
}
