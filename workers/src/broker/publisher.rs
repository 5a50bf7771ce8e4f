//! Publishing with publisher confirms. Every publish is `mandatory`, so a message no queue takes
//! comes back as an error instead of vanishing, and a publish counts as done only when the broker
//! confirms it.

use super::HeaderExt as _;
use ariza_shared::envelope;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection};

/// Why a publish did not go through. All of them are worth retrying: the broker may be back, the
/// queue may be declared again, the overflowing queue may drain.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the broker connection failed: {0}")]
    Connection(#[from] lapin::Error),
    #[error("the broker refused the message (nack), probably a full queue with reject-publish")]
    Nacked,
    #[error("no queue is bound for {exchange}/{routing_key}: the message was returned")]
    Unroutable { exchange: String, routing_key: String },
}

/// A channel in confirm mode. Cheap to clone: clones share the channel.
#[derive(Clone, Debug)]
pub struct Publisher {
    channel: Channel,
}

impl Publisher {
    /// Opens a channel on `conn` and puts it in confirm mode.
    pub async fn open(conn: &Connection) -> Result<Self, PublishError> {
        let channel = conn.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        Ok(Self { channel })
    }

    /// Closes the channel (after waiting for outstanding confirms on the broker's side).
    pub async fn close(&self) -> Result<(), PublishError> {
        self.channel.close(200, ShortString::from("publisher closed")).await.map_err(PublishError::from)
    }

    /// Whether the underlying channel still works.
    pub fn is_usable(&self) -> bool {
        self.channel.status().connected()
    }

    /// Publishes and waits for the broker's confirm.
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let confirm = self
            .channel
            .basic_publish(
                ShortString::from(exchange),
                ShortString::from(routing_key),
                BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                body,
                properties,
            )
            .await?;
        match confirm.await? {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) | Confirmation::Nack(Some(_)) => Err(PublishError::Unroutable {
                exchange: exchange.to_owned(),
                routing_key: routing_key.to_owned(),
            }),
            Confirmation::Nack(None) => Err(PublishError::Nacked),
            // Confirm mode is always on for this channel; a missing confirm is not a success.
            Confirmation::NotRequested => Err(PublishError::Nacked),
        }
    }
}

/// Properties of a pipeline message: persistent, JSON, with its correlation id, a message id, the
/// schema version, the application id (when known) and the attempt number.
pub fn message_properties(correlation_id: &str, application_id: Option<&str>, attempt: u32) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.set_u64(envelope::SCHEMA, u64::from(ariza_shared::domain::SCHEMA_VERSION));
    headers.set_u64(envelope::ATTEMPT, u64::from(attempt));
    if let Some(id) = application_id {
        headers.set_str(envelope::APPLICATION_ID, id);
    }
    let now = chrono::Utc::now().timestamp();
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(ShortString::from("application/json"))
        .with_correlation_id(ShortString::from(correlation_id))
        .with_message_id(ShortString::from(uuid::Uuid::new_v4().to_string()))
        .with_timestamp(u64::try_from(now).unwrap_or_default())
        .with_headers(headers)
}
