//! A local fake of the Telegram Bot API, for tests and the `ariza bench` command.
//!
//! [`FakeBotApi::start`] serves `/bot{token}/{method}` on `127.0.0.1` at a
//! random port; point a bot client (e.g. teloxide's `Bot::set_api_url`) at
//! [`FakeBotApi::base_url`]. Every request is recorded as a [`Call`];
//! successful `sendMessage` calls are also kept as [`SentMessage`]s.
//! Failures can be scripted per method ([`FakeBotApi::push_response`]) or per
//! chat ([`FakeBotApi::set_fail_chat`]), updates can be fed to `getUpdates`
//! long polling ([`FakeBotApi::push_update`]), and tests wait for traffic
//! with [`FakeBotApi::wait_for_messages`] / [`FakeBotApi::wait_for_calls`]
//! instead of sleeping.
//!
//! Method names are matched case-insensitively (`sendMessage`, `SendMessage`)
//! and recorded in lower case (`"sendmessage"`). Parameters may come as JSON,
//! form-urlencoded body or query string.

mod answers;
mod params;
mod record;
mod script;
mod server;
mod state;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use axum::serve::ListenerExt as _;
use serde_json::Value;
use tokio::sync::oneshot;

pub use record::{Call, SentMessage};
pub use script::ScriptedResponse;

use state::Shared;

/// Handle to a running fake Bot API server. Dropping it stops the server.
pub struct FakeBotApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
}

impl FakeBotApi {
    /// Binds `127.0.0.1:0` and serves the fake on the current Tokio runtime.
    ///
    /// Requests whose URL token differs from `token` get HTTP 401 (and are
    /// recorded with `token_ok == false`). Fails when called outside a Tokio
    /// runtime or when the socket cannot be bound.
    pub fn start(token: &str) -> anyhow::Result<FakeBotApi> {
        Self::start_on(token, 0)
    }

    /// Like [`FakeBotApi::start`], on `127.0.0.1:port` (0 picks a free port): for running the
    /// pipeline locally without Telegram (`ariza fake-bot-api`).
    pub fn start_on(token: &str, port: u16) -> anyhow::Result<FakeBotApi> {
        let runtime = tokio::runtime::Handle::try_current()
            .context("FakeBotApi::start must be called within a Tokio runtime")?;
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .with_context(|| format!("binding the fake Bot API on 127.0.0.1:{port}"))?;
        listener
            .set_nonblocking(true)
            .context("making the fake Bot API socket non-blocking")?;
        let addr = listener
            .local_addr()
            .context("reading the fake Bot API address")?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .context("registering the fake Bot API socket with Tokio")?
            .tap_io(|tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "fake Bot API: cannot set TCP_NODELAY");
                }
            });

        let shared = Arc::new(Shared::new(token));
        let app = server::router(Arc::clone(&shared));
        let (shutdown, stop) = oneshot::channel::<()>();
        runtime.spawn(async move {
            // A dropped sender stops the server as well as an explicit signal.
            let stopped = async move {
                let _ = stop.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::error!(error = %e, "fake Bot API server failed");
            }
        });
        tracing::debug!(%addr, "fake Bot API listening");

        Ok(FakeBotApi {
            shared,
            addr,
            base_url: format!("http://{addr}"),
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token the fake accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// All recorded calls, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// Recorded calls of one method (matched case-insensitively).
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        let method = method.to_ascii_lowercase();
        let state = self.shared.lock();
        state
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Number of recorded calls of one method, without copying them.
    pub fn call_count(&self, method: &str) -> usize {
        let method = method.to_ascii_lowercase();
        self.shared.lock().counts.get(&method).copied().unwrap_or(0)
    }

    /// `sendMessage` calls that got the default (successful) answer, oldest first.
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }

    /// Takes the successful `sendMessage` calls recorded so far, oldest first: each is returned
    /// once, and the next call returns only what came after.
    pub fn take_sent_messages(&self) -> Vec<SentMessage> {
        std::mem::take(&mut self.shared.lock().sent)
    }

    /// Number of successful `sendMessage` calls, without copying them.
    pub fn sent_count(&self) -> usize {
        self.shared.lock().sent.len()
    }

    /// Forgets recorded calls and sent messages. Scripted answers, failing
    /// chats, queued updates and the message id counter are kept.
    pub fn clear(&self) {
        let mut state = self.shared.lock();
        state.calls.clear();
        state.sent.clear();
        state.counts.clear();
    }

    /// Queues an update for `getUpdates`, assigning an increasing `update_id`
    /// when it has none. Returns the update id.
    pub fn push_update(&self, update: Value) -> i64 {
        let id = self.shared.lock().push_update(update);
        self.shared.updates_changed.notify_waiters();
        id
    }

    /// Answers the next call of `method` with `resp` instead of the default
    /// (one-shot, FIFO per method; matched case-insensitively).
    pub fn push_response(&self, method: &str, resp: ScriptedResponse) {
        let method = method.to_ascii_lowercase();
        self.shared
            .lock()
            .scripted
            .entry(method)
            .or_default()
            .push_back(resp);
    }

    /// Answers every `sendMessage` to `chat_id` with `resp` until
    /// [`clear_fail_chat`](Self::clear_fail_chat).
    pub fn set_fail_chat(&self, chat_id: i64, resp: ScriptedResponse) {
        self.shared.lock().fail_chats.insert(chat_id, resp);
    }

    /// Holds every answer (but `getUpdates`, which has its own wait) for `latency` before
    /// sending it, as a distant server would; zero, the default, answers at once. The call is
    /// recorded when it arrives.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.set_latency(latency);
    }

    /// Lets `sendMessage` to `chat_id` succeed again.
    pub fn clear_fail_chat(&self, chat_id: i64) {
        self.shared.lock().fail_chats.remove(&chat_id);
    }

    /// Resolves with all sent messages once at least `n` `sendMessage` calls
    /// succeeded; errors after `timeout` with a summary of what was received.
    pub async fn wait_for_messages(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<SentMessage>> {
        self.shared
            .wait_calls(timeout, |s| (s.sent.len() >= n).then(|| s.sent.clone()))
            .await
            .map_err(|summary| {
                anyhow!(
                    "timed out after {timeout:?} waiting for {n} sent messages; received {summary}"
                )
            })
    }

    /// Resolves with the calls of `method` once at least `n` were recorded
    /// (whatever their answer); errors after `timeout` with a summary.
    pub async fn wait_for_calls(
        &self,
        method: &str,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Call>> {
        let method = method.to_ascii_lowercase();
        self.shared
            .wait_calls(timeout, |s| {
                let count = s.counts.get(&method).copied().unwrap_or(0);
                (count >= n).then(|| {
                    s.calls
                        .iter()
                        .filter(|c| c.method == method)
                        .cloned()
                        .collect()
                })
            })
            .await
            .map_err(|summary| {
                anyhow!(
                    "timed out after {timeout:?} waiting for {n} {method} calls; received {summary}"
                )
            })
    }

    /// Stops the server gracefully: no new connections are accepted, pending
    /// `getUpdates` polls return at once and in-flight requests finish.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            self.shared.close();
            let _ = tx.send(());
        }
    }
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for FakeBotApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeBotApi")
            .field("base_url", &self.base_url)
            .field("running", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}
