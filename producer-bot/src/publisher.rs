//! Publishing confirmed applications. The connection is opened on first use and opened again after
//! it fails, so the bot keeps working across broker restarts; every publish waits for the broker's
//! confirm, within a time limit, so a staff member is told promptly when the broker is unreachable.

use ariza_shared::config::Settings;
use ariza_shared::domain::{CreationRequest, WorkflowCommand};
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

    /// The live publisher, connecting first when there is none or it broke.
    async fn publisher(&self) -> anyhow::Result<Publisher> {
        let mut live = self.live.lock().await;
        if live.as_ref().is_none_or(|(conn, p)| !conn.status().connected() || !p.is_usable()) {
            *live = Some(self.open().await?);
        }
        live.as_ref().map(|(_, p)| p.clone()).ok_or_else(|| anyhow::anyhow!("no broker connection"))
    }

    /// Forgets the connection, so the next publish opens a new one.
    async fn reset(&self) {
        *self.live.lock().await = None;
    }

    /// Publishes `req` and waits for the confirm. The lock is held only to get the channel, so
    /// many staff members' confirms are in flight on it at once.
    pub async fn publish(&self, req: &CreationRequest) -> Result<(), PublishFailed> {
        self.confirmed(|publisher, topology| async move {
            ariza_workers::submit::publish_creation(&publisher, &topology, req).await
        })
        .await
    }

    /// Publishes an action on an application or a client's registration to the workflow stage.
    pub async fn publish_workflow(&self, command: &WorkflowCommand) -> Result<(), PublishFailed> {
        self.confirmed(|publisher, topology| async move {
            ariza_workers::submit::publish_workflow(&publisher, &topology, command).await
        })
        .await
    }

    /// Runs one publish within the time limit, starting afresh next time when it fails.
    async fn confirmed<F, Fut>(&self, publish: F) -> Result<(), PublishFailed>
    where
        F: FnOnce(Publisher, ariza_shared::topology::Topology) -> Fut,
        Fut: std::future::Future<Output = Result<(), ariza_workers::broker::PublishError>>,
    {
        let attempt = async {
            let publisher = self.publisher().await?;
            publish(publisher, self.settings.topology()).await.map_err(anyhow::Error::from)
        };
        let result = match tokio::time::timeout(self.settings.bot.publish_timeout(), attempt).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => PublishFailed::Broker(e),
            Err(_) => PublishFailed::Timeout,
        };
        // The channel may be unusable, or half-open behind a cut network: start afresh next time.
        self.reset().await;
        Err(result)
    }
}
