//! The ariza pipeline's workers.
//!
//! - [`broker`]: RabbitMQ connections, topology, publisher confirms, headers.
//! - [`runtime`]: the stage runner every stage shares: batching, decoding, retries through the
//!   delay tiers, dead-lettering, acking only after the effect and the onward publish.
//! - [`stages`]: validation, persistence, workflow and notification.
//! - [`archiver`]: drains the dead-letter queue into the `dead_letters` table; [`dead_letters`]
//!   replays or discards what it stored.
//! - [`breaker`], [`fault`]: the circuit breaker around dependencies, and fault hooks for tests.
//! - [`db`], [`telegram`]: PostgreSQL and the Telegram Bot API.
//! - [`alerts`]: alerts on unusual creation activity, sent to administrators through the
//!   notification stage; [`queue_metrics`]: queue depths and consumer counts for Prometheus.
//! - [`pipeline`]: starts any set of the above in one process.

pub mod alerts;
pub mod archiver;
pub mod breaker;
pub mod broker;
pub mod db;
pub mod dead_letters;
pub mod fault;
pub mod pipeline;
pub mod queue_metrics;
pub mod runtime;
pub mod stages;
pub mod submit;
pub mod telegram;
