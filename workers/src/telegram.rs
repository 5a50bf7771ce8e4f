//! The Telegram Bot API, for sending notifications. The base URL is configuration, so tests and
//! the benchmark point it at a local fake.
//!
//! Telegram's limits (about 30 messages/s per bot, 1/s per chat) are kept here; across processes
//! they hold because the notification queue has a single active consumer. A 429 pauses *all*
//! sending for its `retry_after` and is not counted as an attempt; a 403 (the user blocked the bot)
//! is permanent; 5xx and network errors are transient. Every answer is counted in
//! `ariza_notification_sends_total` by outcome, and each 429's pause in
//! `ariza_telegram_pause_seconds_total`.

use ariza_shared::config::TelegramSettings;
use ariza_shared::metrics::catalogue as m;
use metrics::{Counter, Histogram};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// 403: the user blocked the bot, or never started it. Permanent.
    #[error("blocked: {0}")]
    Blocked(String),
    /// 400 and the like: Telegram will never take this message. Permanent.
    #[error("rejected: {0}")]
    Rejected(String),
    /// 5xx, network, timeouts, or 429 for too long: try again later.
    #[error("transient: {0}")]
    Transient(String),
}

/// At most this many 429s in a row for one message before it counts as a transient failure.
const MAX_RETRY_AFTERS: u32 = 10;

struct Limits {
    global: DefaultDirectRateLimiter,
    per_chat: DefaultKeyedRateLimiter<i64>,
    /// How many messages a round of sends holds: see [`TelegramClient::round_caps`].
    round: RoundCaps,
}

/// How many messages one round of a notification batch may hold so that Telegram's limits let it
/// finish in about `telegram.send_round_ms`: per chat, and in all. Each is at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundCaps {
    pub per_chat: usize,
    pub total: usize,
}

impl RoundCaps {
    fn of(settings: &TelegramSettings) -> Self {
        let round = u128::from(settings.send_round_ms);
        let per_chat = round / u128::from(settings.per_chat_interval_ms.max(1));
        let total = round * u128::from(settings.global_per_second.max(1)) / 1000;
        let fit = |n: u128| usize::try_from(n).unwrap_or(usize::MAX).max(1);
        Self { per_chat: fit(per_chat), total: fit(total) }
    }
}

/// A Bot API client shared by every sender in the process.
pub struct TelegramClient {
    http: reqwest::Client,
    base_url: String,
    token: SecretString,
    /// `sendMessage`'s URL, parsed once (`None` when the base URL is not one: each send then fails
    /// as a transient error, as any other request would). Holds the token: never log it.
    send_message_url: Option<reqwest::Url>,
    limits: Option<Limits>,
    paused_until: Mutex<Option<Instant>>,
    metrics: SendMetrics,
}

/// The client's metric handles, registered once.
struct SendMetrics {
    sent: Counter,
    rate_limited: Counter,
    blocked: Counter,
    rejected: Counter,
    failed: Counter,
    pause_seconds: Counter,
    request_seconds: Histogram,
}

impl SendMetrics {
    fn new() -> Self {
        let outcome = |o: &'static str| metrics::counter!(m::NOTIFICATION_SENDS, "outcome" => o);
        Self {
            sent: outcome("sent"),
            rate_limited: outcome("rate_limited"),
            blocked: outcome("blocked"),
            rejected: outcome("rejected"),
            failed: outcome("failed"),
            pause_seconds: metrics::counter!(m::TELEGRAM_PAUSE_SECONDS),
            request_seconds: metrics::histogram!(m::TELEGRAM_REQUEST_SECONDS),
        }
    }
}

impl std::fmt::Debug for TelegramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramClient").field("base_url", &self.base_url).field("limits", &self.limits.is_some()).finish_non_exhaustive()
    }
}

/// `sendMessage`'s parameters, serialised once per message (and sent again as they are after a 429).
#[derive(Serialize)]
struct SendMessageBody<'a> {
    chat_id: i64,
    text: &'a str,
    link_preview_options: LinkPreviewOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_markup: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct LinkPreviewOptions {
    is_disabled: bool,
}

#[derive(Deserialize)]
struct ApiResponse {
    ok: bool,
    /// Only the field ariza uses of the sent `Message`; the rest is skipped, not built.
    #[serde(default)]
    result: Option<SentMessage>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

#[derive(Deserialize)]
struct SentMessage {
    #[serde(default)]
    message_id: i64,
}

#[derive(Deserialize)]
struct ResponseParameters {
    retry_after: Option<u64>,
}

impl TelegramClient {
    pub fn new(settings: &TelegramSettings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.request_timeout_ms))
            .pool_max_idle_per_host(64)
            .build()?;
        let limits = settings.rate_limits.then(|| {
            let global = NonZeroU32::new(settings.global_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
            let per_chat = Quota::with_period(Duration::from_millis(settings.per_chat_interval_ms.max(1)))
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
            Limits {
                global: RateLimiter::direct(Quota::per_second(global)),
                per_chat: RateLimiter::keyed(per_chat),
                round: RoundCaps::of(settings),
            }
        });
        let base_url = settings.api_base_url.trim_end_matches('/').to_owned();
        let send_message_url = reqwest::Url::parse(&method_url(&base_url, &settings.token, "sendMessage")).ok();
        Ok(Self {
            http,
            base_url,
            token: settings.token.clone(),
            send_message_url,
            limits,
            paused_until: Mutex::new(None),
            metrics: SendMetrics::new(),
        })
    }

    /// `{base}/bot{token}/{method}`. Holds the token: never log it.
    fn url(&self, method: &str) -> String {
        method_url(&self.base_url, &self.token, method)
    }

    async fn wait_while_paused(&self) {
        loop {
            let until = *self.paused_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }

    fn pause_for(&self, retry_after: Duration) {
        let mut paused = self.paused_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let until = Instant::now() + retry_after;
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// Sends a text message; returns Telegram's message id.
    pub async fn send_message(&self, chat_id: i64, text: &str) -> Result<i64, SendError> {
        self.send_message_with(chat_id, text, None).await
    }

    /// Sends a text message with buttons (`reply_markup`: an inline keyboard or a reply keyboard,
    /// as the Bot API takes it); returns Telegram's message id.
    pub async fn send_message_with(
        &self,
        chat_id: i64,
        text: &str,
        reply_markup: Option<&serde_json::Value>,
    ) -> Result<i64, SendError> {
        let body = SendMessageBody { chat_id, text, link_preview_options: LinkPreviewOptions { is_disabled: true }, reply_markup };
        let body = serde_json::to_vec(&body).map_err(|e| SendError::Rejected(format!("encoding the message: {e}")))?;
        let mut retry_afters = 0;
        loop {
            self.wait_while_paused().await;
            if let Some(limits) = &self.limits {
                limits.per_chat.until_key_ready(&chat_id).await;
                limits.global.until_ready().await;
            }
            let started = Instant::now();
            let request = match &self.send_message_url {
                Some(url) => self.http.post(url.clone()),
                None => self.http.post(self.url("sendMessage")),
            };
            let response = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone()).send().await;
            let response = match response {
                Ok(r) => r,
                // without_url: the URL holds the token.
                Err(e) => {
                    self.metrics.request_seconds.record(started.elapsed());
                    self.metrics.failed.increment(1);
                    return Err(SendError::Transient(e.without_url().to_string()));
                }
            };
            let status = response.status().as_u16();
            let parsed: Option<ApiResponse> = response.json().await.ok();
            self.metrics.request_seconds.record(started.elapsed());
            match status {
                200 if parsed.as_ref().is_some_and(|p| p.ok && p.result.is_some()) => self.metrics.sent.increment(1),
                429 => self.metrics.rate_limited.increment(1),
                403 => self.metrics.blocked.increment(1),
                400 | 404 => self.metrics.rejected.increment(1),
                _ => self.metrics.failed.increment(1),
            }
            let description = parsed.as_ref().and_then(|p| p.description.clone()).unwrap_or_else(|| format!("HTTP {status}"));
            match status {
                200 => {
                    return match parsed {
                        Some(ApiResponse { ok: true, result: Some(result), .. }) => Ok(result.message_id),
                        _ => Err(SendError::Transient(format!("unexpected answer: {description}"))),
                    };
                }
                429 => {
                    let secs = parsed.and_then(|p| p.parameters).and_then(|p| p.retry_after).unwrap_or(1);
                    retry_afters += 1;
                    tracing::warn!(retry_after_s = secs, "Telegram answered 429, pausing all sending");
                    self.metrics.pause_seconds.increment(secs);
                    self.pause_for(Duration::from_secs(secs));
                    if retry_afters >= MAX_RETRY_AFTERS {
                        return Err(SendError::Transient(format!("429 {MAX_RETRY_AFTERS} times: {description}")));
                    }
                }
                403 => return Err(SendError::Blocked(description)),
                400 | 404 => return Err(SendError::Rejected(description)),
                _ => return Err(SendError::Transient(format!("HTTP {status}: {description}"))),
            }
        }
    }

    /// A health check for the breaker: `getMe`.
    pub async fn get_me(&self) -> Result<(), String> {
        let response = self.http.post(self.url("getMe")).send().await.map_err(|e| e.without_url().to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("getMe answered HTTP {}", response.status().as_u16()))
        }
    }

    /// How many messages one round of sends may hold; `None` with the limits off, when a batch is
    /// sent in one round.
    pub fn round_caps(&self) -> Option<RoundCaps> {
        self.limits.as_ref().map(|l| l.round)
    }

    /// Forgets per-chat limiter state of chats that have been quiet, so memory stays bounded.
    pub fn forget_quiet_chats(&self) {
        if let Some(limits) = &self.limits {
            limits.per_chat.retain_recent();
        }
    }
}

/// `{base}/bot{token}/{method}`. Holds the token: never log it.
fn method_url(base_url: &str, token: &SecretString, method: &str) -> String {
    format!("{base_url}/bot{}/{method}", token.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(global_per_second: u32, per_chat_interval_ms: u64, send_round_ms: u64) -> TelegramSettings {
        TelegramSettings {
            api_base_url: "http://127.0.0.1:9".into(),
            token: SecretString::from("1:t"),
            rate_limits: true,
            global_per_second,
            per_chat_interval_ms,
            send_round_ms,
            request_timeout_ms: 1000,
        }
    }

    #[test]
    fn a_round_holds_what_the_limits_let_through_in_its_time_and_at_least_one() {
        // Telegram's limits and the default round: 5 s at 1/s per chat and 30/s in all.
        assert_eq!(RoundCaps::of(&settings(30, 1000, 5000)), RoundCaps { per_chat: 5, total: 150 });
        assert_eq!(RoundCaps::of(&settings(30, 1000, 2500)), RoundCaps { per_chat: 2, total: 75 });
        // A round shorter than one chat's interval still sends one message per chat.
        assert_eq!(RoundCaps::of(&settings(30, 1000, 0)), RoundCaps { per_chat: 1, total: 1 });
        assert_eq!(RoundCaps::of(&settings(0, 0, 300)), RoundCaps { per_chat: 300, total: 1 });
    }

    #[test]
    fn without_the_limits_a_batch_is_one_round() {
        let mut s = settings(30, 1000, 5000);
        assert_eq!(TelegramClient::new(&s).expect("client").round_caps(), Some(RoundCaps { per_chat: 5, total: 150 }));
        s.rate_limits = false;
        assert_eq!(TelegramClient::new(&s).expect("client").round_caps(), None);
    }
}
