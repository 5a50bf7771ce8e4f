//! Stage 4, notification: takes generic notification requests (recipient, template key, arguments,
//! buttons, dedupe key), renders each in its recipient's language and sends it through the Bot API.
//!
//! Each request becomes a `notifications` row (unique on its dedupe key), written once, after its
//! send, in the transaction that decided to send it. A client with no linked Telegram chat gets the
//! row stored as `waiting_link`, not failed; when the same request comes again after the client
//! linked their chat (the workflow stage republishes them on registration), it is sent like a
//! pending one. A blocked user (403) is recorded as `blocked`; a message Telegram refuses (400) as
//! `failed`; 5xx and network errors retry the message through the delay tiers (what was sent stays
//! sent) and count against the breaker.
//!
//! The transaction first takes a transaction-scoped advisory lock on each of its dedupe keys, so
//! two batches carrying the same request (a redelivery upstream) never both send it: the second
//! waits until the first has committed its rows, then finds them sent. The clients the batch goes
//! to are share-locked next, so a row is never parked as `waiting_link` while the client's link is
//! being committed. Messages to one chat go out in the order of the batch (a welcome before the
//! notifications it releases).
//!
//! With Telegram's limits on, a batch is sent in rounds, each its own transaction: a round holds
//! only as many messages as the limits let through in about `telegram.send_round_ms` (five
//! messages to one chat by default), so a batch full of one busy chat's messages never holds its
//! locks, or a connection in a transaction, for minutes. After a transient failure, the chat's
//! messages in later rounds wait as well.
//!
//! Writing each row once, after the send, instead of inserting it before and updating it after,
//! halves the stage's writes: the update could not be a HOT update (the status is indexed), so it
//! wrote the row and every index entry a second time.

use crate::breaker::Breaker;
use crate::db;
use crate::runtime::{Incoming, Outcome, Stage, Unavailable};
use crate::telegram::{RoundCaps, SendError, TelegramClient};
use ariza_shared::domain::{Locale, NotificationBatch, NotificationMarkup, NotificationRequest, Recipient};
use ariza_shared::topology::Stage as StageName;
use futures::future::join_all;
use serde_json::json;
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

/// One request of a batch, with the event it belongs to.
struct Request<'a> {
    item: &'a NotificationRequest,
    application_id: Option<uuid::Uuid>,
    correlation_id: uuid::Uuid,
}

/// The requests of a batch in batch order, once per dedupe key, and the clients among their
/// recipients (sorted, for locking).
struct Requests<'a> {
    list: Vec<Request<'a>>,
    clients: Vec<i64>,
}

impl<'a> Requests<'a> {
    fn of(batch: &'a [Incoming<NotificationBatch>]) -> Self {
        let mut seen = HashSet::new();
        let mut list = Vec::new();
        for message in batch {
            for item in &message.input.items {
                if !seen.insert(item.dedupe_key.as_str()) {
                    continue;
                }
                list.push(Request {
                    item,
                    application_id: message.input.application_id.map(|a| a.0),
                    correlation_id: message.input.correlation_id.0,
                });
            }
        }
        Self::from_list(list)
    }

    fn from_list(list: Vec<Request<'a>>) -> Self {
        let mut clients: Vec<i64> = list
            .iter()
            .filter_map(|r| match r.item.recipient {
                Recipient::Client { id } => Some(id),
                _ => None,
            })
            .collect();
        clients.sort_unstable();
        clients.dedup();
        Self { list, clients }
    }

    /// The requests in rounds, in batch order. With Telegram's limits on, a round holds at most
    /// `caps.per_chat` requests to one recipient and `caps.total` in all, so that the limits let it
    /// finish in about `telegram.send_round_ms`; without them (`None`), the batch is one round.
    fn rounds(self, caps: Option<RoundCaps>) -> Vec<Requests<'a>> {
        let Some(caps) = caps else { return vec![self] };
        let mut rounds = Vec::new();
        let mut round: Vec<Request<'a>> = Vec::new();
        let mut per_recipient: HashMap<(&'static str, i64), usize> = HashMap::new();
        for request in self.list {
            let (kind, id, _) = recipient_columns(&request.item.recipient);
            let to_recipient = per_recipient.get(&(kind, id)).copied().unwrap_or(0);
            if to_recipient >= caps.per_chat || round.len() >= caps.total {
                rounds.push(Self::from_list(std::mem::take(&mut round)));
                per_recipient.clear();
            }
            *per_recipient.entry((kind, id)).or_default() += 1;
            round.push(request);
        }
        if !round.is_empty() {
            rounds.push(Self::from_list(round));
        }
        rounds
    }

    fn keys(&self) -> Vec<&str> {
        self.list.iter().map(|r| r.item.dedupe_key.as_str()).collect()
    }
}

fn recipient_columns(r: &Recipient) -> (&'static str, i64, Option<&'static str>) {
    match r {
        Recipient::Client { id } => ("client", *id, None),
        Recipient::Staff { id } => ("staff", *id, None),
        Recipient::Chat { chat_id, language } => ("chat", *chat_id, Some(language.as_str())),
    }
}

/// What the database says about a request: the row an earlier delivery stored, if any, and the
/// recipient's chat, language and active flag as they are now.
#[derive(Debug, sqlx::FromRow)]
struct Found {
    /// The request's position in the batch, from 1.
    at: i64,
    stored_id: Option<i64>,
    stored_status: Option<String>,
    chat_id: Option<i64>,
    language: Option<String>,
    active: bool,
}

/// A request that may still be sent: new, or stored before as `pending` or `waiting_link`.
struct Pending<'r, 'a> {
    request: &'r Request<'a>,
    /// The row an earlier delivery stored, and its status.
    stored: Option<(i64, String)>,
    chat_id: Option<i64>,
    language: Option<String>,
    active: bool,
}

/// How a pending request ended this round: the row to write.
struct Update {
    /// Index into the pending requests.
    at: usize,
    status: &'static str,
    chat_id: Option<i64>,
    language: Option<String>,
    text: Option<String>,
    tried: i32,
    error: Option<String>,
    message_id: Option<i64>,
}

impl Notification {
    /// Locks the batch's dedupe keys for the rest of the transaction, in one order for everyone,
    /// then share-locks the clients it goes to (by id, in order). A concurrent batch with a key in
    /// common waits here until this one commits; so does a batch to a client whose link to a chat
    /// is being committed. One statement for both, as a round trip costs more than either under
    /// light load: the subqueries of a select list without `FROM` run in their order, both always.
    /// The look-up that decides what to send must be a statement after this one, so that its
    /// snapshot is taken once the locks are held and sees what the batch waited for.
    async fn lock(tx: &mut PgConnection, requests: &Requests<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "SELECT (SELECT count(pg_advisory_xact_lock(h))
                     FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM UNNEST($1::text[]) AS k ORDER BY h) AS keys),
                    (SELECT count(*) FROM (SELECT id FROM clients WHERE id = ANY($2) ORDER BY id FOR SHARE) AS locked)",
        )
        .bind(requests.keys())
        .bind(&requests.clients)
        .execute(&mut *tx)
        .await
        .map(drop)
    }

    /// The requests that may still be sent, in batch order: those without a row, and those whose
    /// row an earlier delivery left `pending` or `waiting_link`. What was sent, blocked or failed
    /// before is left alone. The recipient's chat, language and active flag are subqueries by
    /// primary key rather than joins, so that no plan scans the whole table of clients for a batch
    /// (as one did on a fresh database, before its first `ANALYZE`).
    async fn claim<'r, 'a>(tx: &mut PgConnection, requests: &'r Requests<'a>) -> Result<Vec<Pending<'r, 'a>>, sqlx::Error> {
        let (mut kinds, mut ids, mut langs) = (Vec::new(), Vec::new(), Vec::new());
        for r in &requests.list {
            let (kind, id, lang) = recipient_columns(&r.item.recipient);
            kinds.push(kind);
            ids.push(id);
            langs.push(lang);
        }
        let found: Vec<Found> = sqlx::query_as(
            "SELECT q.at, n.id AS stored_id, n.status AS stored_status,
                    CASE q.kind
                         WHEN 'staff' THEN (SELECT s.telegram_id FROM staff s WHERE s.id = q.rid)
                         WHEN 'client' THEN (SELECT c.telegram_chat_id FROM clients c WHERE c.id = q.rid)
                         ELSE q.rid END AS chat_id,
                    CASE q.kind
                         WHEN 'staff' THEN COALESCE((SELECT s.language FROM staff s WHERE s.id = q.rid), q.lang)
                         WHEN 'client' THEN COALESCE((SELECT c.language FROM clients c WHERE c.id = q.rid), q.lang)
                         ELSE q.lang END AS language,
                    CASE q.kind
                         WHEN 'staff' THEN COALESCE((SELECT s.active FROM staff s WHERE s.id = q.rid), TRUE)
                         ELSE TRUE END AS active
             FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY AS q(key, kind, rid, lang, at)
             LEFT JOIN notifications n ON n.dedupe_key = q.key
             ORDER BY q.at",
        )
        .bind(requests.keys())
        .bind(&kinds)
        .bind(&ids)
        .bind(&langs)
        .fetch_all(&mut *tx)
        .await?;
        Ok(found
            .into_iter()
            .filter(|f| matches!(f.stored_status.as_deref(), None | Some("pending" | "waiting_link")))
            .filter_map(|f| {
                let request = requests.list.get(usize::try_from(f.at - 1).ok()?)?;
                Some(Pending {
                    request,
                    stored: f.stored_id.zip(f.stored_status),
                    chat_id: f.chat_id,
                    language: f.language,
                    active: f.active,
                })
            })
            .collect())
    }

    /// Sends the requests, one chat's in order and chats side by side. After a transient failure
    /// the rest of that chat's requests wait (unsent, pending) so they do not overtake it; the
    /// chat joins `stalled`, and its requests in the batch's later rounds wait too.
    async fn deliver_all(&self, pending: &[Pending<'_, '_>], stalled: &mut HashSet<i64>) -> Vec<Update> {
        let mut by_chat: BTreeMap<Option<i64>, Vec<(usize, &Pending<'_, '_>)>> = BTreeMap::new();
        for (at, p) in pending.iter().enumerate() {
            by_chat.entry(p.chat_id).or_default().push((at, p));
        }
        let stalled_before: &HashSet<i64> = stalled;
        let chats = by_chat.into_iter().map(|(chat, list)| async move {
            let mut updates = Vec::with_capacity(list.len());
            let mut held_back = chat.is_some_and(|c| stalled_before.contains(&c));
            for (at, p) in list {
                if held_back {
                    updates.push(Update::held_back(at, p));
                    continue;
                }
                if let Some(update) = self.deliver(at, p).await {
                    held_back = update.status == "pending";
                    updates.push(update);
                }
            }
            (chat.filter(|_| held_back), updates)
        });
        let done = join_all(chats).await;
        let mut all = Vec::with_capacity(pending.len());
        for (newly_stalled, updates) in done {
            stalled.extend(newly_stalled);
            all.extend(updates);
        }
        all
    }

    async fn deliver(&self, at: usize, p: &Pending<'_, '_>) -> Option<Update> {
        let language: Locale = p.language.as_deref().and_then(|l| l.parse().ok()).unwrap_or_default();
        let mut update = Update {
            at,
            status: "pending",
            chat_id: p.chat_id,
            language: Some(language.as_str().to_owned()),
            text: None,
            tried: 0,
            error: None,
            message_id: None,
        };
        let Some(chat_id) = p.chat_id else {
            if p.stored.as_ref().is_some_and(|(_, status)| status == "waiting_link") {
                return None;
            }
            update.status = "waiting_link";
            return Some(update);
        };
        if !p.active {
            update.status = "failed";
            update.error = Some("the staff member is deactivated".into());
            return Some(update);
        }
        let item = p.request.item;
        let text = ariza_shared::i18n::render(language, &item.template, &item.args);
        let markup = item.markup.as_ref().map(|m| reply_markup(language, m));
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

    /// Writes how the sends went: a new row for a request seen for the first time, an update of
    /// the row an earlier delivery stored otherwise. The times are when the statement runs
    /// (`clock_timestamp()`), after the sends: `now()` would be the start of the transaction.
    async fn record(tx: &mut PgConnection, pending: &[Pending<'_, '_>], updates: &[Update]) -> Result<(), sqlx::Error> {
        let (mut new, mut stored): (Vec<&Update>, Vec<(i64, &Update)>) = (Vec::new(), Vec::new());
        for update in updates {
            match &pending[update.at].stored {
                Some((id, _)) => stored.push((*id, update)),
                None => new.push(update),
            }
        }
        if !new.is_empty() {
            Self::insert(tx, pending, &new).await?;
        }
        if !stored.is_empty() {
            Self::update(tx, &stored).await?;
        }
        Ok(())
    }

    /// Inserts the rows of requests seen for the first time.
    async fn insert(tx: &mut PgConnection, pending: &[Pending<'_, '_>], new: &[&Update]) -> Result<(), sqlx::Error> {
        let requests: Vec<&Request<'_>> = new.iter().map(|u| pending[u.at].request).collect();
        let recipients: Vec<_> = requests.iter().map(|r| recipient_columns(&r.item.recipient)).collect();
        // JSON goes as text, cast in the statement: no `serde_json::Value` is built for it.
        let args: Vec<String> = requests.iter().map(|r| serde_json::to_string(&r.item.args).unwrap_or_else(|_| "{}".into())).collect();
        let markups: Vec<Option<String>> =
            requests.iter().map(|r| r.item.markup.as_ref().and_then(|m| serde_json::to_string(m).ok())).collect();
        sqlx::query(
            "INSERT INTO notifications (dedupe_key, application_id, correlation_id, recipient_kind, recipient_id,
                 template_key, args, markup, language, chat_id, text, status, attempts, last_error,
                 telegram_message_id, sent_at, updated_at)
             SELECT u.key, u.app, u.corr, u.kind, u.rid, u.template, u.args::json, u.markup::json, u.language,
                    u.chat_id, u.text, u.status, u.tried, u.error, u.message_id,
                    CASE WHEN u.status = 'sent' THEN clock_timestamp() END, clock_timestamp()
             FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[],
                         $9::text[], $10::bigint[], $11::text[], $12::text[], $13::int[], $14::text[], $15::bigint[])
                  AS u(key, app, corr, kind, rid, template, args, markup, language, chat_id, text, status, tried, error,
                       message_id)",
        )
        .bind(requests.iter().map(|r| r.item.dedupe_key.as_str()).collect::<Vec<_>>())
        .bind(requests.iter().map(|r| r.application_id).collect::<Vec<_>>())
        .bind(requests.iter().map(|r| r.correlation_id).collect::<Vec<_>>())
        .bind(recipients.iter().map(|r| r.0).collect::<Vec<_>>())
        .bind(recipients.iter().map(|r| r.1).collect::<Vec<_>>())
        .bind(requests.iter().map(|r| r.item.template.as_str()).collect::<Vec<_>>())
        .bind(&args)
        .bind(&markups)
        .bind(new.iter().map(|u| u.language.as_deref()).collect::<Vec<_>>())
        .bind(new.iter().map(|u| u.chat_id).collect::<Vec<_>>())
        .bind(new.iter().map(|u| u.text.as_deref()).collect::<Vec<_>>())
        .bind(new.iter().map(|u| u.status).collect::<Vec<_>>())
        .bind(new.iter().map(|u| u.tried).collect::<Vec<_>>())
        .bind(new.iter().map(|u| u.error.as_deref()).collect::<Vec<_>>())
        .bind(new.iter().map(|u| u.message_id).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map(drop)
    }

    /// Updates the rows an earlier delivery stored, by id.
    async fn update(tx: &mut PgConnection, stored: &[(i64, &Update)]) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE notifications n
             SET status = u.status, chat_id = u.chat_id, language = u.language, text = COALESCE(u.text, n.text),
                 attempts = n.attempts + u.tried, last_error = u.error, telegram_message_id = u.message_id,
                 sent_at = CASE WHEN u.status = 'sent' THEN clock_timestamp() END, updated_at = clock_timestamp()
             FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::text[], $8::bigint[])
                  AS u(id, status, chat_id, language, text, tried, error, message_id)
             WHERE n.id = u.id AND n.status IN ('pending', 'waiting_link')",
        )
        .bind(stored.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind(stored.iter().map(|(_, u)| u.status).collect::<Vec<_>>())
        .bind(stored.iter().map(|(_, u)| u.chat_id).collect::<Vec<_>>())
        .bind(stored.iter().map(|(_, u)| u.language.as_deref()).collect::<Vec<_>>())
        .bind(stored.iter().map(|(_, u)| u.text.as_deref()).collect::<Vec<_>>())
        .bind(stored.iter().map(|(_, u)| u.tried).collect::<Vec<_>>())
        .bind(stored.iter().map(|(_, u)| u.error.as_deref()).collect::<Vec<_>>())
        .bind(stored.iter().map(|(_, u)| u.message_id).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map(drop)
    }

    /// Locks, sends and records one round of the batch's requests in one transaction, so the key
    /// locks hold from the decision to send until the send is recorded. Adds the dedupe keys whose
    /// send failed for now (their messages are retried) to `failed`, with the error.
    async fn send_round(
        &self,
        round: &Requests<'_>,
        stalled: &mut HashSet<i64>,
        failed: &mut HashMap<String, String>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx, round).await?;
        let pending = Self::claim(&mut tx, round).await?;
        let updates = self.deliver_all(&pending, stalled).await;
        Self::record(&mut tx, &pending, &updates).await?;
        tx.commit().await?;
        failed.extend(
            updates
                .into_iter()
                .filter(|u| u.status == "pending")
                .map(|u| (pending[u.at].request.item.dedupe_key.clone(), u.error.unwrap_or_else(|| "send failed".into()))),
        );
        Ok(())
    }

    /// Sends the batch round by round (see [`Requests::rounds`]): each round is committed, and its
    /// locks released, before the next starts, so with Telegram's limits on a batch full of one
    /// busy chat's messages holds no transaction for longer than a round. Should a later round
    /// fail, the earlier ones stay recorded, and the messages' redelivery finds them sent.
    async fn send_batch(&self, requests: Requests<'_>) -> Result<HashMap<String, String>, sqlx::Error> {
        let mut failed = HashMap::new();
        let mut stalled = HashSet::new();
        for round in requests.rounds(self.telegram.round_caps()) {
            self.send_round(&round, &mut stalled, &mut failed).await?;
        }
        Ok(failed)
    }
}

impl Update {
    /// A request not tried because an earlier message to the same chat failed: it stays pending
    /// and its message is retried.
    fn held_back(at: usize, p: &Pending<'_, '_>) -> Self {
        Update {
            at,
            status: "pending",
            chat_id: p.chat_id,
            language: p.language.clone(),
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
        let failed = match self.send_batch(requests).await {
            Ok(failed) => failed,
            Err(e) => return db::fail_all(&e, batch.len()),
        };
        self.telegram.forget_quiet_chats();
        Ok(batch
            .iter()
            .map(|message| {
                let error = message.input.items.iter().find_map(|item| failed.get(&item.dedupe_key));
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
    use crate::runtime::Meta;
    use ariza_shared::domain::{ApplicationId, CorrelationId, GlobalAction, NotificationButton, SCHEMA_VERSION};

    fn incoming(items: &[(Recipient, &str)]) -> Incoming<NotificationBatch> {
        let items = items
            .iter()
            .map(|(recipient, key)| NotificationRequest {
                recipient: *recipient,
                template: "wf-btn-open".into(),
                args: BTreeMap::new(),
                dedupe_key: (*key).to_owned(),
                markup: None,
            })
            .collect();
        let input = NotificationBatch { schema: SCHEMA_VERSION, correlation_id: CorrelationId::new(), application_id: None, items };
        let meta = Meta { correlation_id: String::new(), application_id: None, attempt: 1, redelivered: false, submitted_at_ms: None };
        Incoming { input, meta }
    }

    fn keys_of(rounds: &[Requests<'_>]) -> Vec<Vec<String>> {
        rounds.iter().map(|r| r.keys().into_iter().map(str::to_owned).collect()).collect()
    }

    #[test]
    fn with_the_limits_a_batch_goes_in_rounds_that_keep_its_order_and_each_rounds_caps() {
        let (a, b, c) = (Recipient::Staff { id: 1 }, Recipient::Client { id: 7 }, Recipient::Chat { chat_id: 9, language: Locale::Ru });
        let batch = [
            incoming(&[(a, "a1"), (b, "b1")]),
            incoming(&[(a, "a2"), (a, "a3"), (b, "b1")]),
            incoming(&[(c, "c1"), (b, "b2"), (c, "c2"), (c, "c3"), (a, "a4")]),
        ];
        let caps = RoundCaps { per_chat: 2, total: 4 };
        let rounds = Requests::of(&batch).rounds(Some(caps));
        // a3 would be a's third: a new round. The copy of b1 is sent once. c3 would be the fifth.
        assert_eq!(keys_of(&rounds), [vec!["a1", "b1", "a2"], vec!["a3", "c1", "b2", "c2"], vec!["c3", "a4"]]);
        // Each round locks its own clients only.
        assert_eq!(rounds.iter().map(|r| r.clients.clone()).collect::<Vec<_>>(), [vec![7], vec![7], vec![]]);

        // Without the limits: one round, as the batch came.
        let one = Requests::of(&batch).rounds(None);
        assert_eq!(keys_of(&one), [vec!["a1", "b1", "a2", "a3", "c1", "b2", "c2", "c3", "a4"]]);
        assert_eq!(one[0].clients, [7]);
        // A round of one message per chat, and an empty batch.
        let singles = Requests::of(&batch[..1]).rounds(Some(RoundCaps { per_chat: 1, total: 1 }));
        assert_eq!(keys_of(&singles), [vec!["a1"], vec!["b1"]]);
        assert!(Requests::of(&[]).rounds(Some(caps)).is_empty());
    }

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
