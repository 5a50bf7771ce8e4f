//! The operator console: one place that shows and fixes what the pipeline is doing.
//!
//! `ariza console serve` runs an axum server on 127.0.0.1 with a web UI (server-rendered HTML,
//! every text from `locales/{uz,ru}/console.ftl`) and a JSON API under `/api`; `ariza console ...`
//! is the API's command-line client ([`client`]).
//!
//! - [`auth`]: operators (the configured token, or console users with argon2-hashed passwords),
//!   roles (administrator, read-only viewer), sessions (cookie for the UI, bearer for the API).
//! - [`users`], [`actions`]: console users, and the log of every operator action.
//! - [`data`]: the queries behind each page: queues, dead letters, timelines, audit, reports,
//!   alerts. Nothing consumes from or requeues a RabbitMQ queue to look at it.
//! - [`redact`]: phone numbers masked for viewers, in pages, API answers and CSV alike.
//! - [`api`] and [`ui`]: the JSON API and the HTML pages over the same data.
//! - [`server`]: the router, its state and the server loop.

pub mod actions;
pub mod api;
pub mod auth;
pub mod broker;
pub mod client;
pub mod data;
pub mod error;
pub mod redact;
pub mod server;
pub mod throttle;
pub mod ui;
pub mod users;

pub use server::{AppState, router, serve};
