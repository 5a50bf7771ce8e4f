//! Configuration: the base file compiled in, an optional environment overlay file, and
//! environment variables on top (`ARIZA__DATABASE__URL`, `ARIZA__TELEGRAM__TOKEN`, ...). Secrets are
//! [`SecretString`]s: they print as `[REDACTED]` and are exposed only where they are used.

use crate::topology::{Stage, Topology};
use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

const BASE: &str = include_str!("../../config/base.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub pipeline: PipelineSettings,
    pub breaker: BreakerSettings,
    pub telegram: TelegramSettings,
    pub log: LogSettings,
    pub bot: BotSettings,
    pub metrics: MetricsSettings,
    pub alerts: AlertSettings,
    pub console: ConsoleSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AmqpSettings {
    pub url: SecretString,
    pub prefix: String,
    pub prefetch: u16,
    pub delivery_limit: u32,
    pub retry_tiers_ms: Vec<u64>,
    pub max_attempts: u32,
    pub connection_name: String,
    pub management_url: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PipelineSettings {
    pub batch_max: usize,
    pub batch_linger_ms: u64,
    pub concurrency: usize,
    /// The notification stage's own `concurrency`: its batches wait for Telegram.
    pub notification_concurrency: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BreakerSettings {
    pub failure_threshold: u32,
    pub open_interval_ms: u64,
    pub max_open_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TelegramSettings {
    pub api_base_url: String,
    pub token: SecretString,
    pub rate_limits: bool,
    pub global_per_second: u32,
    pub per_chat_interval_ms: u64,
    /// With the limits on, how long one round of a notification batch should take: the stage
    /// sends a batch in rounds that the limits let finish in about this long, and commits each
    /// round's rows (releasing its locks) before the next.
    pub send_round_ms: u64,
    pub request_timeout_ms: u64,
}

/// How the bot receives updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BotMode {
    Polling,
    Webhook,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BotSettings {
    pub mode: BotMode,
    pub webhook_listen: String,
    pub webhook_url: String,
    pub webhook_secret: SecretString,
    pub tariffs: Vec<String>,
    pub page_size: u16,
    pub publish_timeout_ms: u64,
}

impl BotSettings {
    pub fn publish_timeout(&self) -> Duration {
        Duration::from_millis(self.publish_timeout_ms)
    }
}

/// Where each process serves its Prometheus metrics.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSettings {
    pub workers_listen: String,
    pub bot_listen: String,
    pub console_listen: String,
    pub queue_poll_interval_ms: u64,
}

impl MetricsSettings {
    pub fn queue_poll_interval(&self) -> Duration {
        Duration::from_millis(self.queue_poll_interval_ms.max(100))
    }
}

/// One creation-activity rule: more than `max` applications within `minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct BurstRule {
    pub enabled: bool,
    pub max: u32,
    pub minutes: u32,
}

/// Alerts on unusual creation activity.
#[derive(Debug, Clone, Deserialize)]
pub struct AlertSettings {
    pub enabled: bool,
    pub evaluate_interval_ms: u64,
    pub lookback_minutes: u32,
    pub staff_burst: BurstRule,
    pub client_phone_burst: BurstRule,
}

impl AlertSettings {
    pub fn evaluate_interval(&self) -> Duration {
        Duration::from_millis(self.evaluate_interval_ms)
    }
}

/// The operator console (`ariza console serve`) and its command-line client.
#[derive(Debug, Clone, Deserialize)]
pub struct ConsoleSettings {
    /// Where the console listens; loopback by default.
    pub listen: String,
    /// Where the command-line client finds the console.
    pub url: String,
    /// The operator token: a bearer token (and a login) with the administrator role. Empty: only
    /// console users can log in.
    pub token: SecretString,
    /// How long a login lasts.
    pub session_ttl_minutes: u64,
    /// Whether the session cookie is marked `Secure` (behind a TLS-terminating proxy).
    pub secure_cookie: bool,
    /// Rows per page in lists.
    pub page_size: u32,
    /// The workers' `/metrics` URLs (comma-separated) the queue page takes rates from when the
    /// management API is not enabled; empty: `metrics.workers_listen` on this host.
    pub workers_metrics: String,
}

impl ConsoleSettings {
    /// The operator token, if one is configured.
    pub fn operator_token(&self) -> Option<&str> {
        Some(self.token.expose_secret().trim()).filter(|t| !t.is_empty())
    }

    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session_ttl_minutes.saturating_mul(60))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

impl Settings {
    /// Loads the base configuration, the overlay `<ARIZA_CONFIG_DIR or ./config>/<ARIZA_ENV or
    /// local>.toml` when it exists, then `ARIZA__...` environment variables.
    pub fn load() -> Result<Self, config::ConfigError> {
        let dir = std::env::var_os("ARIZA_CONFIG_DIR").map_or_else(|| PathBuf::from("config"), PathBuf::from);
        let env = std::env::var("ARIZA_ENV").unwrap_or_else(|_| "local".to_owned());
        Self::load_from(Some(dir.join(format!("{env}.toml"))), true)
    }

    /// The base configuration with an optional overlay file, and the environment when asked.
    pub fn load_from(overlay: Option<PathBuf>, with_env: bool) -> Result<Self, config::ConfigError> {
        let mut builder = Config::builder().add_source(File::from_str(BASE, FileFormat::Toml));
        if let Some(path) = overlay {
            builder = builder.add_source(File::from(path).required(false));
        }
        if with_env {
            builder = builder.add_source(
                Environment::with_prefix("ARIZA")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("amqp.retry_tiers_ms")
                    .with_list_parse_key("bot.tariffs")
                    .try_parsing(true),
            );
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), config::ConfigError> {
        let bad = |m: &str| Err(config::ConfigError::Message(m.to_owned()));
        if self.amqp.delivery_limit < 20 {
            return bad("amqp.delivery_limit must be at least 20, so a few worker kills do not dead-letter a message");
        }
        if self.amqp.retry_tiers_ms.is_empty() {
            return bad("amqp.retry_tiers_ms needs at least one tier");
        }
        let pipeline = &self.pipeline;
        if self.amqp.max_attempts == 0 || pipeline.batch_max == 0 || pipeline.concurrency == 0 || pipeline.notification_concurrency == 0 {
            return bad(
                "amqp.max_attempts, pipeline.batch_max, pipeline.concurrency and pipeline.notification_concurrency must be positive",
            );
        }
        if self.bot.page_size == 0 || self.bot.page_size > 20 {
            return bad("bot.page_size must be between 1 and 20");
        }
        if self.console.session_ttl_minutes == 0 || self.console.page_size == 0 || self.console.page_size > 1000 {
            return bad("console.session_ttl_minutes must be positive and console.page_size between 1 and 1000");
        }
        if self.console.operator_token().is_some_and(|t| t.len() < 16) {
            return bad("console.token must be at least 16 characters (or empty for none)");
        }
        if self.amqp.prefix.is_empty() || self.amqp.prefix.contains(char::is_whitespace) {
            return bad("amqp.prefix must be a non-empty name without spaces");
        }
        for (name, listen) in [
            ("metrics.workers_listen", &self.metrics.workers_listen),
            ("metrics.bot_listen", &self.metrics.bot_listen),
            ("metrics.console_listen", &self.metrics.console_listen),
        ] {
            if !listen.trim().is_empty() && listen.trim().parse::<std::net::SocketAddr>().is_err() {
                return Err(config::ConfigError::Message(format!("{name} must be an address like 127.0.0.1:9464, or empty")));
            }
        }
        if self.alerts.evaluate_interval_ms == 0 || self.alerts.lookback_minutes == 0 {
            return bad("alerts.evaluate_interval_ms and alerts.lookback_minutes must be positive");
        }
        for (name, rule) in [("alerts.staff_burst", &self.alerts.staff_burst), ("alerts.client_phone_burst", &self.alerts.client_phone_burst)] {
            if rule.max == 0 || rule.minutes == 0 {
                return Err(config::ConfigError::Message(format!("{name}.max and {name}.minutes must be positive")));
            }
        }
        Ok(())
    }

    /// The queue topology these settings describe.
    pub fn topology(&self) -> Topology {
        let mut tiers = self.amqp.retry_tiers_ms.clone();
        tiers.sort_unstable();
        tiers.dedup();
        Topology {
            prefix: self.amqp.prefix.clone(),
            retry_tiers_ms: tiers,
            delivery_limit: self.amqp.delivery_limit,
            // Always on, whatever `telegram.rate_limits` says: queue arguments cannot change once
            // a queue exists, and one active sender is what keeps the limits across processes.
            single_active_notification_consumer: true,
        }
    }
}

impl AmqpSettings {
    /// The management API base URL, if one is configured.
    pub fn management_url(&self) -> Option<&str> {
        Some(self.management_url.expose_secret().trim()).filter(|s| !s.is_empty())
    }
}

impl PipelineSettings {
    pub fn batch_linger(&self) -> Duration {
        Duration::from_millis(self.batch_linger_ms)
    }

    /// How many batches `stage` works on at the same time, per process.
    pub fn concurrency_of(&self, stage: Stage) -> usize {
        match stage {
            Stage::Notification => self.notification_concurrency,
            _ => self.concurrency,
        }
    }
}

impl BreakerSettings {
    pub fn open_interval(&self) -> Duration {
        Duration::from_millis(self.open_interval_ms)
    }
    pub fn max_open_interval(&self) -> Duration {
        Duration::from_millis(self.max_open_interval_ms.max(self.open_interval_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_configuration_loads_and_keeps_secrets_out_of_debug() {
        let mut s = Settings::load_from(None, false).expect("base config");
        s.telegram.token = SecretString::from("123:very-secret");
        s.console.token = SecretString::from("console-very-secret-token");
        assert_eq!(s.amqp.delivery_limit, 20);
        let shown = format!("{s:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert_eq!(s.console.listen, "127.0.0.1:8090", "the console listens on loopback by default");
        assert!(!shown.contains("guest:guest"), "{shown}");
    }

    #[test]
    fn an_overlay_file_overrides_the_base() {
        let dir = std::env::temp_dir().join(format!("ariza-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("test.toml");
        std::fs::write(&path, "[amqp]\nprefix = \"staging\"\nretry_tiers_ms = [10, 20]\n").expect("write");
        let s = Settings::load_from(Some(path), false).expect("config");
        assert_eq!(s.amqp.prefix, "staging");
        assert_eq!(s.topology().retry_tiers_ms, vec![10, 20]);
        std::fs::remove_dir_all(dir).ok();
    }
}
