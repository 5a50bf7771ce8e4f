//! End-to-end tests of the pipeline against the real RabbitMQ and PostgreSQL, with a fake Telegram
//! Bot API. Each test has its own database and its own queue names. Tests whose names start with
//! `serial_` touch the shared broker itself and run alone (see scripts/test.sh).

mod support;

mod alerts;
mod bench;
mod cli;
mod creation;
mod dead_letters;
mod failures;
mod metrics;
mod persistence;
mod plans;
mod processes;
mod workflow;
