//! The console's own broker connection, opened on first use and reopened when it dropped: replays
//! publish through it (with confirms), and without the management API the queue page reads depths
//! through passive declares on it. It never consumes.

use anyhow::Context as _;
use ariza_shared::config::Settings;
use ariza_workers::broker::{self, Publisher};
use lapin::Connection;
use lapin::types::ShortString;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long opening the connection may take before the request fails as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Open {
    conn: Arc<Connection>,
    publisher: Publisher,
}

/// A shared, lazily opened connection.
#[derive(Debug, Clone)]
pub struct ConsoleBroker {
    settings: Arc<Settings>,
    open: Arc<Mutex<Option<Open>>>,
}

impl ConsoleBroker {
    pub fn new(settings: Arc<Settings>) -> Self {
        Self { settings, open: Arc::new(Mutex::new(None)) }
    }

    /// A connection and a confirm-mode publisher on it, with the topology declared (so a replay
    /// is routable even on a broker that lost its queues).
    pub async fn get(&self) -> anyhow::Result<(Arc<Connection>, Publisher)> {
        let mut open = self.open.lock().await;
        if let Some(o) = open.as_ref()
            && o.conn.status().connected()
            && o.publisher.is_usable()
        {
            return Ok((o.conn.clone(), o.publisher.clone()));
        }
        let connecting = async {
            let conn = broker::connect(&self.settings.amqp, "console").await?;
            let channel = conn.create_channel().await?;
            broker::declare(&channel, &self.settings.topology()).await?;
            channel.close(200, ShortString::from("declared")).await.ok();
            let publisher = Publisher::open(&conn).await?;
            anyhow::Ok(Open { conn: Arc::new(conn), publisher })
        };
        let fresh = tokio::time::timeout(CONNECT_TIMEOUT, connecting).await.context("connecting to RabbitMQ timed out")??;
        let handles = (fresh.conn.clone(), fresh.publisher.clone());
        *open = Some(fresh);
        Ok(handles)
    }

    /// Closes the connection, if open.
    pub async fn close(&self) {
        if let Some(o) = self.open.lock().await.take() {
            o.conn.close(200, ShortString::from("console stopping")).await.ok();
        }
    }
}
