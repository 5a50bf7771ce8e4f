//! State shared between the HTTP handlers and the [`FakeBotApi`](crate::FakeBotApi) handle.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::{Instant, timeout_at};

use crate::record::{Call, SentMessage};
use crate::script::ScriptedResponse;

/// Everything behind the single mutex; each request locks it once.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) calls: Vec<Call>,
    pub(crate) sent: Vec<SentMessage>,
    /// Number of recorded calls per normalised method name.
    pub(crate) counts: HashMap<String, usize>,
    pub(crate) scripted: HashMap<String, VecDeque<ScriptedResponse>>,
    pub(crate) fail_chats: HashMap<i64, ScriptedResponse>,
    /// Pending updates as `(update_id, update)`.
    pub(crate) updates: VecDeque<(i64, Value)>,
    pub(crate) last_update_id: i64,
    pub(crate) last_message_id: i64,
    /// Current text of every message sent through the fake, by message id,
    /// so edit answers can carry the full message.
    pub(crate) texts: HashMap<i64, String>,
}

impl State {
    pub(crate) fn record(&mut self, call: Call) {
        match self.counts.get_mut(&call.method) {
            Some(count) => *count += 1,
            None => {
                self.counts.insert(call.method.clone(), 1);
            }
        }
        self.calls.push(call);
    }

    pub(crate) fn next_message_id(&mut self) -> i64 {
        self.last_message_id += 1;
        self.last_message_id
    }

    /// Queues an update, assigning `update_id` when it is missing.
    pub(crate) fn push_update(&mut self, mut update: Value) -> i64 {
        let id = match update.get("update_id").and_then(Value::as_i64) {
            Some(id) => id,
            None => {
                let id = self.last_update_id + 1;
                if let Some(obj) = update.as_object_mut() {
                    obj.insert("update_id".to_owned(), id.into());
                } else {
                    tracing::warn!(%update, "fake Bot API: queued update is not a JSON object");
                }
                id
            }
        };
        self.last_update_id = self.last_update_id.max(id);
        self.updates.push_back((id, update));
        id
    }

    /// Applies the `offset` of a `getUpdates` call: updates with a smaller id
    /// are confirmed and forgotten; a negative offset keeps only the last
    /// `-offset` updates.
    pub(crate) fn confirm_updates(&mut self, offset: i64) {
        if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            let drop = self.updates.len().saturating_sub(keep);
            self.updates.drain(..drop);
        } else {
            self.updates.retain(|(id, _)| *id >= offset);
        }
    }

    pub(crate) fn pending_updates(&self, limit: usize) -> Vec<Value> {
        self.updates
            .iter()
            .take(limit)
            .map(|(_, u)| u.clone())
            .collect()
    }

    /// Human-readable summary of what was received, for timeout errors.
    pub(crate) fn summary(&self) -> String {
        const SHOWN: usize = 20;
        let mut out = format!("{} sendMessage answered ok", self.sent.len());
        for m in self.sent.iter().take(SHOWN) {
            let text: String = m.text.chars().take(80).collect();
            let _ = write!(out, "\n  #{} to chat {}: {text:?}", m.message_id, m.chat_id);
        }
        if self.sent.len() > SHOWN {
            let _ = write!(out, "\n  ... and {} more", self.sent.len() - SHOWN);
        }
        let mut counts: Vec<_> = self.counts.iter().collect();
        counts.sort();
        let _ = write!(out, "\ncalls per method: {counts:?}");
        let failed: Vec<_> = self
            .calls
            .iter()
            .filter(|c| !c.is_success())
            .take(SHOWN)
            .map(|c| format!("{} -> {}", c.method, c.status))
            .collect();
        if !failed.is_empty() {
            let _ = write!(out, "\nfailed calls: {failed:?}");
        }
        out
    }
}

/// State plus the notifications waiters subscribe to.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) token: String,
    pub(crate) bot_id: i64,
    state: Mutex<State>,
    /// Signalled after every recorded call.
    pub(crate) calls_changed: Notify,
    /// Signalled when an update is queued or the server shuts down.
    pub(crate) updates_changed: Notify,
    closing: AtomicBool,
    /// How long every answer but `getUpdates` is held back, in microseconds.
    latency_us: AtomicU64,
}

impl Shared {
    pub(crate) fn new(token: &str) -> Self {
        // Real tokens look like `123456:ABC...`; the bot id is the number.
        let bot_id = token
            .split(':')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or(1);
        Self {
            token: token.to_owned(),
            bot_id,
            state: Mutex::default(),
            calls_changed: Notify::new(),
            updates_changed: Notify::new(),
            closing: AtomicBool::new(false),
            latency_us: AtomicU64::new(0),
        }
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        self.latency_us.store(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::Relaxed))
    }

    /// Locks the state. A panic while holding the lock cannot leave it
    /// inconsistent in a way that matters for a test fake, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.updates_changed.notify_waiters();
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Waits until `check` returns `Some` (re-evaluated after every recorded
    /// call) or the timeout passes; on timeout returns the state summary.
    pub(crate) async fn wait_calls<T>(
        &self,
        timeout: Duration,
        check: impl Fn(&State) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut notified = pin!(self.calls_changed.notified());
            // Register before checking so a call recorded in between still wakes us.
            notified.as_mut().enable();
            if let Some(found) = check(&self.lock()) {
                return Ok(found);
            }
            if timeout_at(deadline, notified).await.is_err() {
                let state = self.lock();
                return check(&state).ok_or_else(|| state.summary());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn updates_get_ids_and_offsets_confirm_them() {
        let mut s = State::default();
        assert_eq!(s.push_update(json!({ "message": {} })), 1);
        assert_eq!(s.push_update(json!({ "update_id": 10 })), 10);
        assert_eq!(s.push_update(json!({})), 11);
        s.confirm_updates(10);
        assert_eq!(
            s.pending_updates(100),
            vec![json!({ "update_id": 10 }), json!({ "update_id": 11 })]
        );
        s.confirm_updates(-1);
        assert_eq!(s.pending_updates(100), vec![json!({ "update_id": 11 })]);
        s.confirm_updates(12);
        assert!(s.pending_updates(100).is_empty());
    }

    #[test]
    fn bot_id_comes_from_token() {
        assert_eq!(Shared::new("123:abc").bot_id, 123);
        assert_eq!(Shared::new("nonsense").bot_id, 1);
    }
}
