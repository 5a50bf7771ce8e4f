//! Publishing confirmed applications. The connection is opened on first use and opened again after
//! it fails, so the bot keeps working across broker restarts; every publish waits for the broker's
//! confirm, within a time limit, so a staff member is told promptly when the broker is unreachable.

use ariza_shared::config::Settings;
use ariza_shared::domain::CreationRequest;
use ariza_workers::broker::{self, Publisher};
use tokio::sync::Mutex;

/// Why a request was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishFailed {
    #[error("the broker did not answer in time")]
    Timeout,
    #[error("{0:#}")]
    Broker(anyhow::Error),
}

#[derive(Debug)]
pub struct BotPublisher {
    settings: Settings,
    live: Mutex<Option<(lapin::Connection, Publisher)>>,
}

impl BotPublisher {
    pub fn new(settings: Settings) -> Self {
        Self { settings, live: Mutex::new(None) }
    }

    async fn open(&self) -> anyhow::Result<(lapin::Connection, Publisher)> {
        let conn = broker::connect(&self.settings.amqp, "bot").await?;
        let channel = conn.create_channel().await?;
        broker::declare(&channel, &self.settings.topology()).await?;
        let publisher = Publisher::open(&conn).await?;
        Ok((conn, publisher))
    }

    /// Publishes `req` and waits for the confirm.
    pub async fn publish(&self, req: &CreationRequest) -> Result<(), PublishFailed> {
        let attempt = async {
            let mut live = self.live.lock().await;
            if live.as_ref().is_none_or(|(conn, p)| !conn.status().connected() || !p.is_usable()) {
                *live = Some(self.open().await?);
            }
            let Some((_, publisher)) = live.as_ref() else {
                anyhow::bail!("no broker connection");
            };
            let result = ariza_workers::submit::publish_creation(publisher, &self.settings.topology(), req).await;
            if result.is_err() {
                // Start afresh next time: the channel may be unusable.
                *live = None;
            }
            result.map_err(anyhow::Error::from)
        };
        match tokio::time::timeout(self.settings.bot.publish_timeout(), attempt).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(PublishFailed::Broker(e)),
            Err(_) => {
                // The connection may be half-open behind a cut network: drop it.
                if let Ok(mut live) = self.live.try_lock() {
                    *live = None;
                }
                Err(PublishFailed::Timeout)
            }
        }
    }
}
