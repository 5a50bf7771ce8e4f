//! Tests of what an operator deploys: the migrations' way back, the RabbitMQ definitions file,
//! the configuration reference, the monitoring files against the exported metrics, the staff and
//! administrator guides against the bot's texts and permissions, and the scale-out
//! onto a three-node RabbitMQ cluster. They run
//! against the real PostgreSQL and RabbitMQ on this machine (`ARIZA_TEST_DATABASE_URL`,
//! `ARIZA_TEST_AMQP_URL`), each with its own database, vhost or nodes. The cluster test's name
//! starts with `serial_`: it is heavy and runs alone (see scripts/test.sh).

mod rabbit_cluster;
mod support;

mod cluster;
mod configuration;
mod definitions;
mod guides;
mod migrations;
mod monitoring;
