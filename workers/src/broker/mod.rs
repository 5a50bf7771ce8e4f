//! RabbitMQ: connecting (with a name the broker shows, and retries), declaring the topology from
//! [`ariza_shared::topology`], checking the feature flags it needs, and reading/writing headers.

mod headers;
mod publisher;

pub use headers::{HeaderExt, amqp_to_json, field_table_to_json, x_death};
pub use publisher::{PublishError, Publisher, message_properties};

use anyhow::{Context as _, anyhow};
use ariza_shared::config::AmqpSettings;
use ariza_shared::topology::{ArgValue, Topology};
use backon::{BackoffBuilder, ExponentialBuilder};
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use secrecy::ExposeSecret;
use std::str::FromStr as _;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The largest AMQP frame ariza asks for, unless the URL says otherwise (`?frame_max=`). lapin
/// keeps a send and a receive buffer of 32 frames per connection: at RabbitMQ's default of
/// 128 KiB that is 8 MiB a connection, most of an idle worker's memory with its seven
/// connections. ariza's messages are a few KiB; a larger one is carried in several frames.
pub const FRAME_MAX: u32 = 16 * 1024;

/// Opens one connection, named `<connection_name>:<role>` so operators can tell processes apart.
pub async fn connect(settings: &AmqpSettings, role: &str) -> anyhow::Result<Connection> {
    let name = format!("{}:{role}", settings.connection_name);
    let props = ConnectionProperties::default().with_connection_name(LongString::from(name));
    // The URL holds the password: it never goes into an error message.
    let mut uri = AMQPUri::from_str(settings.url.expose_secret()).map_err(|_| anyhow!("amqp.url is not an AMQP URL"))?;
    uri.query.frame_max = uri.query.frame_max.or(Some(FRAME_MAX));
    Connection::connect_uri(uri, props).await.context("connecting to RabbitMQ")
}

/// Connects, retrying with exponential backoff until it succeeds or `shutdown` fires.
pub async fn connect_with_retry(
    settings: &AmqpSettings,
    role: &str,
    shutdown: &CancellationToken,
) -> Option<Connection> {
    let mut delays = reconnect_backoff();
    loop {
        match connect(settings, role).await {
            Ok(conn) => return Some(conn),
            Err(e) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(5));
                tracing::warn!(error = format!("{e:#}"), ?delay, role, "RabbitMQ unreachable, retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// The delays between reconnection attempts: 100 ms doubling to 5 s, with jitter, forever.
pub fn reconnect_backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

fn to_amqp(value: &ArgValue) -> AMQPValue {
    match value {
        ArgValue::Str(s) => AMQPValue::LongString(LongString::from(s.as_str())),
        ArgValue::Int(i) => AMQPValue::LongLongInt(*i),
        ArgValue::Bool(b) => AMQPValue::Boolean(*b),
    }
}

/// Declares every exchange, queue and binding of the topology. Declaring is idempotent, so every
/// process does it at start-up and after every reconnect.
pub async fn declare(channel: &Channel, topology: &Topology) -> anyhow::Result<()> {
    let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
    for exchange in topology.exchanges() {
        let kind = if exchange.kind == "fanout" { ExchangeKind::Fanout } else { ExchangeKind::Direct };
        channel
            .exchange_declare(ShortString::from(exchange.name.as_str()), kind, durable, FieldTable::default())
            .await
            .with_context(|| format!("declaring exchange {}", exchange.name))?;
    }
    let durable = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    for queue in topology.queues() {
        let mut args = FieldTable::default();
        for (key, value) in &queue.args {
            args.insert(ShortString::from(*key), to_amqp(value));
        }
        channel
            .queue_declare(ShortString::from(queue.name.as_str()), durable, args)
            .await
            .with_context(|| format!("declaring queue {} (if its arguments changed, see docs/runbooks)", queue.name))?;
        if let Some((exchange, key)) = &queue.binding {
            channel
                .queue_bind(
                    ShortString::from(queue.name.as_str()),
                    ShortString::from(exchange.as_str()),
                    ShortString::from(key.as_str()),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .with_context(|| format!("binding queue {}", queue.name))?;
        }
    }
    Ok(())
}

/// What the feature-flag check found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum FeatureFlags {
    /// Every flag the topology needs is enabled.
    Enabled,
    /// These flags are off.
    Disabled(Vec<String>),
    /// Neither the management API nor a local `rabbitmqctl` could be asked.
    Unknown(String),
}

/// Flags the topology needs: quorum queues, and `stream_queue`, which at-least-once
/// dead-lettering depends on in RabbitMQ 3.10.
pub const REQUIRED_FEATURE_FLAGS: &[&str] = &["quorum_queue", "stream_queue"];

/// Asks the broker which feature flags are on: through the management API when
/// `amqp.management_url` is configured, otherwise through the local `rabbitmqctl` (the workers
/// usually run beside the broker; elsewhere the check says it could not ask).
pub async fn check_feature_flags(settings: &AmqpSettings) -> FeatureFlags {
    match settings.management_url() {
        Some(url) => check_feature_flags_http(url).await,
        None => check_feature_flags_cli().await,
    }
}

/// The flags that are not `enabled` in a list of `(name, state)`.
fn disabled_flags<'a>(states: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> FeatureFlags {
    let disabled: Vec<String> = REQUIRED_FEATURE_FLAGS
        .iter()
        .filter(|flag| !states.clone().any(|(name, state)| name == **flag && state == "enabled"))
        .map(|f| (*f).to_owned())
        .collect();
    if disabled.is_empty() { FeatureFlags::Enabled } else { FeatureFlags::Disabled(disabled) }
}

async fn check_feature_flags_http(url: &str) -> FeatureFlags {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return FeatureFlags::Unknown("amqp.management_url is not a URL".to_owned());
    };
    let user = parsed.username().to_owned();
    let password = parsed.password().map(str::to_owned);
    // The credentials go in the Authorization header, never in a URL that could be logged.
    parsed.set_username("").ok();
    parsed.set_password(None).ok();
    let Ok(endpoint) = parsed.join("api/feature-flags") else {
        return FeatureFlags::Unknown("amqp.management_url cannot be extended".to_owned());
    };
    let client = reqwest::Client::new();
    let request = client.get(endpoint).basic_auth(user, password).timeout(Duration::from_secs(10));
    let flags: Vec<serde_json::Value> = match request.send().await.and_then(reqwest::Response::error_for_status) {
        Ok(response) => match response.json().await {
            Ok(flags) => flags,
            Err(e) => return FeatureFlags::Unknown(format!("management API answer: {}", e.without_url())),
        },
        Err(e) => return FeatureFlags::Unknown(format!("management API: {}", e.without_url())),
    };
    let states: Vec<(&str, &str)> = flags
        .iter()
        .filter_map(|f| Some((f.get("name")?.as_str()?, f.get("state")?.as_str()?)))
        .collect();
    disabled_flags(states.iter().copied())
}

async fn check_feature_flags_cli() -> FeatureFlags {
    let output = tokio::process::Command::new("rabbitmqctl")
        .args(["-q", "list_feature_flags", "name", "state"])
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(Duration::from_secs(20), output).await {
        Ok(Ok(out)) if out.status.success() => out,
        Ok(Ok(out)) => return FeatureFlags::Unknown(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        Ok(Err(e)) => return FeatureFlags::Unknown(format!("rabbitmqctl: {e}")),
        Err(_) => return FeatureFlags::Unknown("rabbitmqctl did not answer in 20 s".to_owned()),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let states = text.lines().filter_map(|line| {
        let mut cols = line.split_whitespace();
        Some((cols.next()?, cols.next()?))
    });
    disabled_flags(states)
}

/// Runs the check at start-up: a disabled flag is an error that says how to fix it; a check that
/// could not run is a warning.
pub async fn require_feature_flags(settings: &AmqpSettings) -> anyhow::Result<()> {
    match check_feature_flags(settings).await {
        FeatureFlags::Enabled => Ok(()),
        FeatureFlags::Disabled(flags) => anyhow::bail!(
            "RabbitMQ feature flag(s) {} disabled: quorum queues with x-dead-letter-strategy=at-least-once need them. \
             Enable with `rabbitmqctl enable_feature_flag {}` and start again.",
            flags.join(", "),
            flags.first().map_or("stream_queue", String::as_str)
        ),
        FeatureFlags::Unknown(why) => {
            tracing::warn!(why, "could not check RabbitMQ feature flags (quorum_queue, stream_queue); continuing");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_flag_is_named() {
        let states = [("quorum_queue", "enabled"), ("stream_queue", "disabled")];
        assert_eq!(disabled_flags(states.iter().copied()), FeatureFlags::Disabled(vec!["stream_queue".into()]));
        let states = [("quorum_queue", "enabled"), ("stream_queue", "enabled"), ("other", "disabled")];
        assert_eq!(disabled_flags(states.iter().copied()), FeatureFlags::Enabled);
    }
}
