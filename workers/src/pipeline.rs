//! Starts any set of the pipeline's components in one process, each under its own supervisor:
//! when its connection drops or the broker restarts, the component reconnects, redeclares the
//! topology and carries on. All four stages, the archiver, the creation-activity alerts and the
//! queue metrics run together by default; operators can run one stage per process to scale it
//! alone.

use crate::breaker::Breaker;
use crate::fault::{FaultHook, NoFaults};
use crate::runtime::{RunContext, Stage, run_stage};
use crate::stages::{notification::Notification, persistence::Persistence, validation::Validation, workflow::Workflow};
use crate::telegram::TelegramClient;
use crate::{alerts, archiver, broker, db, queue_metrics};
use ariza_shared::config::Settings;
use ariza_shared::domain::UnknownValue;
use ariza_shared::topology::{Stage as StageName, Topology};
use lapin::types::ShortString;
use sqlx::PgPool;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Something that consumes a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    Stage(StageName),
    Archiver,
    /// Evaluates the creation-activity rules and sends fired alerts to administrators.
    Alerts,
    /// Reads queue depths and consumer counts for the metrics.
    QueueMetrics,
}

impl Component {
    /// Every component, as `ariza workers` runs them by default.
    pub fn all() -> Vec<Component> {
        let mut all: Vec<Component> = StageName::ALL.iter().map(|s| Component::Stage(*s)).collect();
        all.extend([Component::Archiver, Component::Alerts, Component::QueueMetrics]);
        all
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Component::Stage(s) => s.fmt(f),
            Component::Archiver => f.write_str("archiver"),
            Component::Alerts => f.write_str("alerts"),
            Component::QueueMetrics => f.write_str("queue-metrics"),
        }
    }
}

impl FromStr for Component {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "archiver" => Ok(Component::Archiver),
            "alerts" => Ok(Component::Alerts),
            "queue-metrics" => Ok(Component::QueueMetrics),
            other => other.parse().map(Component::Stage).map_err(|_| UnknownValue { what: "stage", value: other.to_owned() }),
        }
    }
}

/// Everything the components share in one process.
#[derive(Debug, Clone)]
pub struct Pipeline {
    settings: Arc<Settings>,
    topology: Arc<Topology>,
    pool: PgPool,
    telegram: Arc<TelegramClient>,
    fault: Arc<dyn FaultHook>,
    breakers: HashMap<Component, Breaker>,
}

impl Pipeline {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let pool = db::stage_pool(&settings.database)?;
        Self::with_pool(settings, pool)
    }

    pub fn with_pool(settings: Settings, pool: PgPool) -> anyhow::Result<Self> {
        let telegram = Arc::new(TelegramClient::new(&settings.telegram)?);
        // The components that consume a queue have a breaker; alerts and queue metrics skip a tick.
        let breakers = Component::all()
            .into_iter()
            .filter(|c| matches!(c, Component::Stage(_) | Component::Archiver))
            .map(|c| (c, Breaker::new(c.to_string(), settings.breaker.failure_threshold)))
            .collect();
        Ok(Self {
            topology: Arc::new(settings.topology()),
            settings: Arc::new(settings),
            pool,
            telegram,
            fault: Arc::new(NoFaults),
            breakers,
        })
    }

    /// Replaces the fault hook (tests only).
    #[must_use]
    pub fn with_fault_hook(mut self, fault: Arc<dyn FaultHook>) -> Self {
        self.fault = fault;
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The circuit breaker of a component.
    pub fn breaker(&self, component: Component) -> Breaker {
        self.breakers.get(&component).cloned().unwrap_or_else(|| Breaker::new(component.to_string(), 1))
    }

    /// Runs `components` until `shutdown` fires, then lets in-flight work finish and returns.
    pub async fn run(&self, components: &[Component], shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        for component in components {
            let this = self.clone();
            let component = *component;
            let shutdown = shutdown.clone();
            tasks.spawn(async move { this.supervise(component, &shutdown).await });
        }
        while let Some(done) = tasks.join_next().await {
            done?;
        }
        Ok(())
    }

    /// Keeps one component running: connect, run, and on any failure reconnect with backoff.
    async fn supervise(&self, component: Component, shutdown: &CancellationToken) {
        let mut delays = broker::reconnect_backoff();
        loop {
            let Some(conn) = broker::connect_with_retry(&self.settings.amqp, &component.to_string(), shutdown).await else {
                return;
            };
            let started = std::time::Instant::now();
            let result = self.run_once(component, &conn, shutdown).await;
            if started.elapsed() > std::time::Duration::from_secs(10) {
                // It ran fine for a while: the next trouble starts from the shortest delay again.
                delays = broker::reconnect_backoff();
            }
            // Bounded: a broker that no longer answers must not hold up the reconnect.
            let closing = conn.close(200, ShortString::from("ariza worker stopping"));
            tokio::time::timeout(std::time::Duration::from_secs(5), closing).await.ok();
            match result {
                Ok(()) => return,
                Err(e) => {
                    let delay = delays.next().unwrap_or(std::time::Duration::from_secs(5));
                    tracing::warn!(%component, error = format!("{e:#}"), ?delay, "component stopped, reconnecting");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    async fn run_once(&self, component: Component, conn: &lapin::Connection, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let pool = self.pool.clone();
        match component {
            Component::Stage(StageName::Validation) => self.run_stage(Validation::new(pool), component, conn, shutdown).await,
            Component::Stage(StageName::Persistence) => self.run_stage(Persistence::new(pool), component, conn, shutdown).await,
            Component::Stage(StageName::Workflow) => self.run_stage(Workflow::new(pool), component, conn, shutdown).await,
            Component::Stage(StageName::Notification) => {
                let stage = Notification::new(pool, self.telegram.clone(), self.breaker(component));
                self.run_stage(stage, component, conn, shutdown).await
            }
            Component::Archiver => {
                archiver::run_archiver(&self.pool, &self.settings, &self.topology, &self.breaker(component), conn, shutdown).await
            }
            Component::Alerts => alerts::run_alerts(&self.pool, &self.settings, &self.topology, conn, shutdown).await,
            Component::QueueMetrics => queue_metrics::run_queue_metrics(&self.settings, &self.topology, conn, shutdown).await,
        }
    }

    async fn run_stage<S: Stage>(
        &self,
        stage: S,
        component: Component,
        conn: &lapin::Connection,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let ctx = RunContext {
            settings: self.settings.clone(),
            topology: self.topology.clone(),
            fault: self.fault.clone(),
            breaker: self.breaker(component),
        };
        run_stage(Arc::new(stage), Arc::new(ctx), conn, shutdown).await
    }
}
