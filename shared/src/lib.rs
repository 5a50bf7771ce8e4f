//! The shared core of ariza: everything the bot, the workers and the command line agree on.
//!
//! Nothing in this crate does I/O except [`config`] (reads configuration files), [`telemetry`]
//! (installs the log subscriber), [`metrics`] (serves `/metrics`) and [`i18n`] (its texts are
//! compiled in).
//!
//! - [`domain`]: validated newtypes (phone numbers, addresses, texts), roles, application kinds and
//!   the messages that travel through the pipeline.
//! - [`permissions`]: the one role-permission matrix, checked by the bot and again by the pipeline.
//! - [`workflow`]: the application's state machine as data.
//! - [`errors`]: typed business errors, each with a message key in `locales/`.
//! - [`envelope`] and [`topology`]: AMQP headers, queue names and queue arguments.
//! - [`config`], [`telemetry`], [`metrics`], [`i18n`]: configuration, logging, Prometheus metrics
//!   and translated texts.

pub mod config;
pub mod domain;
pub mod envelope;
pub mod errors;
pub mod i18n;
pub mod i18n_keys;
pub mod metrics;
pub mod permissions;
pub mod telemetry;
pub mod topology;
pub mod validation;
pub mod workflow;
