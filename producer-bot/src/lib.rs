//! The bot: staff members create applications for clients in Telegram, in Uzbek or Russian, and act
//! on them (assign, start, complete, cancel); clients register, create their own, follow them and
//! rate the work. The bot only publishes (creation requests, transition requests, registrations):
//! validation, storage, the workflow and notifications are the workers' job.
//!
//! - [`session`]: the dialogue: where a staff member is ([`session::Step`]) and what they have
//!   entered so far ([`session::Draft`]), persisted in PostgreSQL by [`storage`] so a restart of
//!   the bot loses no draft.
//! - [`flow`]: what each message, command and button press does to a session.
//! - [`screens`]: what the staff member sees for each step, in their language.
//! - [`clients`]: searching clients by phone, name or id.
//! - [`people`]: who is talking: a staff member, a client, or someone new.
//! - [`work`] and [`applications`]: participants' and clients' lists, an application's card and
//!   its actions, published as transition requests.
//! - [`register`]: a client's registration, with their own shared contact.
//! - [`publisher`]: publishing with confirms, reconnecting when the broker comes back.
//! - [`run`]: long polling or a webhook, and the routing of updates.

pub mod applications;
pub mod clients;
pub mod flow;
pub mod people;
pub mod publisher;
pub mod register;
pub mod run;
pub mod screens;
pub mod session;
pub mod storage;
pub mod texts;
pub mod work;

pub use run::{BotApp, run_bot};
