//! End-to-end tests of the staff bot against a fake Telegram Bot API, with the real pipeline,
//! RabbitMQ and PostgreSQL behind it. Each test has its own database, queues and fake Bot API.

#[path = "../pipeline/support.rs"]
mod support;

mod driver;
mod flows;
mod guards;
mod lifecycle;
