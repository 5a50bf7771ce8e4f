//! End-to-end tests of the operator console against the real RabbitMQ and PostgreSQL: the pipeline
//! runs in-process (tests/pipeline/support.rs), data is seeded with `ariza submit --source client`,
//! and the console is served on 127.0.0.1:0. One test drives the UI in headless Chromium.

#[path = "../pipeline/support.rs"]
mod support;

mod harness;

mod api;
mod browser;
mod cli;
mod reports;
