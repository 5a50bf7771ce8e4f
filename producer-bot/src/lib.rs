//! The staff bot: staff members create applications for clients in Telegram, in Uzbek or Russian,
//! and the bot publishes each confirmed one into the pipeline. It only publishes: validation,
//! storage and notifications are the workers' job.
//!
//! - [`session`]: the dialogue: where a staff member is ([`session::Step`]) and what they have
//!   entered so far ([`session::Draft`]), persisted in PostgreSQL by [`storage`] so a restart of
//!   the bot loses no draft.
//! - [`flow`]: what each message, command and button press does to a session.
//! - [`screens`]: what the staff member sees for each step, in their language.
//! - [`clients`]: searching clients by phone, name or id.
//! - [`publisher`]: publishing with confirms, reconnecting when the broker comes back.
//! - [`run`]: long polling or a webhook, and the routing of updates.

pub mod clients;
pub mod flow;
pub mod publisher;
pub mod run;
pub mod screens;
pub mod session;
pub mod storage;
pub mod texts;

pub use run::{BotApp, run_bot};
