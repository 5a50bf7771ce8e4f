//! A person ariza does not know registers as a client: name, phone (shared with Telegram's contact
//! button, and only their own contact is taken), address. A client staff registered earlier with
//! the same phone is linked, not duplicated: the pipeline keeps that record and sends the
//! notifications that were waiting for the link. The bot only publishes the registration.

use crate::clients;
use crate::flow::{Ctx, Input, Reply, text_error};
use crate::people::Person;
use crate::screens::{Button, Screen};
use crate::session::{ChosenClient, ClientField, Session, Step};
use crate::texts::{t, ta};
use ariza_shared::domain::{
    Address, ClientRegistration, ClientUpdate, CorrelationId, Locale, PersonName, PhoneNumber, RequestId, SCHEMA_VERSION,
    WorkflowCommand,
};
use ariza_shared::errors::Field;
use serde_json::json;

fn is_registration(step: &Step) -> bool {
    matches!(step, Step::Register { .. } | Step::RegisterConfirm | Step::RegisterFailed | Step::RegisterSent)
}

/// Handles a stranger's input.
pub async fn handle(ctx: &Ctx<'_>, person: &mut Person, s: &mut Session, input: Input<'_>) -> anyhow::Result<Reply> {
    if let Some(locale) = s.locale {
        person.language = locale;
    }
    let l = person.language;
    if let Input::Command("lang", _) = input {
        let new = if l == Locale::Uz { Locale::Ru } else { Locale::Uz };
        s.locale = Some(new);
        person.language = new;
        if !is_registration(&s.step) {
            s.go(Step::Register { field: ClientField::Name });
        }
        return Ok(Reply::notice(t(new, "bot-language-switched")));
    }
    // /cancel always starts over (a registration the pipeline refused, say); /start does too,
    // unless one is on its way.
    if matches!(input, Input::Command("cancel", _)) || (matches!(input, Input::Command("start", _)) && s.step != Step::RegisterSent) {
        s.reset();
        s.go(Step::Register { field: ClientField::Name });
        return Ok(Reply::default());
    }
    if !is_registration(&s.step) {
        // The first words of someone new: the welcome, which asks for their name.
        s.reset();
        s.go(Step::Register { field: ClientField::Name });
        return Ok(Reply::default());
    }
    match (s.step.clone(), input) {
        (Step::RegisterSent, _) => Ok(Reply::notice(t(l, "bot-register-pending"))),
        (Step::Register { field: ClientField::Phone }, Input::Contact { phone, user_id }) => {
            if user_id != Some(person.telegram_id) {
                return Ok(Reply::notice(t(l, "bot-register-not-own-contact")));
            }
            let phone = match PhoneNumber::parse(phone) {
                Ok(p) => p,
                Err(e) => return Ok(Reply::notice(t(l, e.message_key()))),
            };
            if let Some(existing) = clients::by_phone(ctx.pool, &phone).await? {
                if existing.telegram_chat_id.is_some_and(|chat| chat != person.telegram_id) {
                    return Ok(Reply::notice(t(l, "bot-register-phone-linked")));
                }
                // Staff registered this client: their record is kept and linked.
                s.draft.client = Some(ChosenClient::Existing {
                    id: existing.id,
                    name: existing.full_name,
                    phone: existing.phone,
                    address: existing.address,
                    update: ClientUpdate::default(),
                });
                s.draft.new_client.phone = Some(phone.as_str().to_owned());
                s.go(Step::RegisterConfirm);
                return Ok(Reply::default());
            }
            s.draft.new_client.phone = Some(phone.as_str().to_owned());
            s.go(next_missing(s));
            Ok(Reply::default())
        }
        (Step::Register { field: ClientField::Phone }, Input::Text(_)) => Ok(Reply::notice(t(l, "bot-register-use-contact"))),
        (Step::Register { field }, Input::Text(text)) => {
            let checked = match field {
                ClientField::Name => PersonName::parse(text).map(String::from).map_err(|e| text_error(l, Field::Name, e)),
                ClientField::Address | ClientField::Phone => {
                    Address::parse(text).map(String::from).map_err(|e| text_error(l, Field::Address, e))
                }
            };
            match checked {
                Ok(value) => {
                    match field {
                        ClientField::Name => s.draft.new_client.name = Some(value),
                        ClientField::Address | ClientField::Phone => s.draft.new_client.address = Some(value),
                    }
                    s.go(next_missing(s));
                    Ok(Reply::default())
                }
                Err(explanation) => Ok(Reply::notice(explanation)),
            }
        }
        (Step::Register { .. }, Input::Contact { .. } | Input::NotText) => Ok(Reply::notice(t(l, "bot-expected-text"))),
        (Step::RegisterConfirm, Input::Action("ok")) | (Step::RegisterFailed, Input::Action("rt")) => confirm(ctx, person, s).await,
        (Step::RegisterConfirm, Input::Action(a)) if a.starts_with("ec:") && s.draft.client.is_none() => {
            match a[3..].chars().next().and_then(ClientField::from_code) {
                Some(field @ (ClientField::Name | ClientField::Address)) => {
                    s.go(Step::Register { field });
                    Ok(Reply::default())
                }
                _ => Ok(Reply::toast(t(l, "bot-stale-button"))),
            }
        }
        (_, Input::Action("x")) => {
            s.reset();
            s.go(Step::Register { field: ClientField::Name });
            Ok(Reply::closed(t(l, "bot-cancelled")))
        }
        (_, Input::Action(_)) => Ok(Reply::toast(t(l, "bot-stale-button"))),
        _ => Ok(Reply::notice(t(l, "bot-use-buttons"))),
    }
}

/// The first field still missing, or the confirmation when all are there.
fn next_missing(s: &Session) -> Step {
    let n = &s.draft.new_client;
    if n.name.is_none() {
        Step::Register { field: ClientField::Name }
    } else if n.phone.is_none() {
        Step::Register { field: ClientField::Phone }
    } else if n.address.is_none() {
        Step::Register { field: ClientField::Address }
    } else {
        Step::RegisterConfirm
    }
}

/// The name and address registered: a found record's, or what was typed.
fn name_and_address(s: &Session) -> (String, String) {
    let n = &s.draft.new_client;
    match &s.draft.client {
        Some(ChosenClient::Existing { name, address, .. }) => (name.clone(), address.clone()),
        _ => (n.name.clone().unwrap_or_default(), n.address.clone().unwrap_or_default()),
    }
}

/// The registration as it will be published.
fn registration(person: &Person, s: &Session, request_id: RequestId) -> ClientRegistration {
    let n = &s.draft.new_client;
    let (name, address) = name_and_address(s);
    ClientRegistration {
        schema: SCHEMA_VERSION,
        request_id,
        correlation_id: CorrelationId(request_id.0),
        telegram_chat_id: person.telegram_id,
        name,
        phone: n.phone.clone().unwrap_or_default(),
        address,
        language: person.language,
        requested_at: chrono::Utc::now(),
    }
}

async fn confirm(ctx: &Ctx<'_>, person: &Person, s: &mut Session) -> anyhow::Result<Reply> {
    let l = person.language;
    let request_id = *s.draft.registration.get_or_insert_with(RequestId::new);
    ctx.storage.save(ctx.chat_id, s).await?;
    let command = WorkflowCommand::RegisterClient(registration(person, s, request_id));
    match ctx.publisher.publish_workflow(&command).await {
        Ok(()) => {
            tracing::info!(request_id = %request_id, "client registration published");
            let summary = summary(l, s);
            s.go(Step::RegisterSent);
            Ok(Reply::closed(format!("{summary}\n\n{}", t(l, "bot-register-sent"))))
        }
        Err(e) => {
            tracing::warn!(error = %e, "publishing a registration failed, kept for a retry");
            s.go(Step::RegisterFailed);
            Ok(Reply::default())
        }
    }
}

fn summary(l: Locale, s: &Session) -> String {
    let n = &s.draft.new_client;
    let (name, address) = name_and_address(s);
    ta(
        l,
        "bot-register-confirm",
        &[("name", json!(name)), ("phone", json!(n.phone.clone().unwrap_or_default())), ("address", json!(address))],
    )
}

/// The screen of a registration step.
pub fn render(person: &Person, s: &Session) -> Screen {
    let l = s.locale.unwrap_or(person.language);
    let cancel = || vec![Button::new(t(l, "bot-btn-cancel"), "x")];
    match &s.step {
        Step::Register { field: ClientField::Phone } => Screen {
            text: t(l, "bot-register-ask-phone"),
            buttons: Vec::new(),
            menu: None,
            contact: Some(t(l, "bot-btn-share-contact")),
        },
        Step::Register { field: ClientField::Address } => Screen::inline(t(l, "bot-register-ask-address"), vec![cancel()]),
        Step::Register { field: ClientField::Name } if s.draft.new_client.name.is_some() => {
            Screen::inline(t(l, "bot-register-ask-name"), vec![cancel()])
        }
        Step::RegisterConfirm if s.draft.client.is_some() => Screen::inline(
            format!("{}\n\n{}", t(l, "bot-register-found"), summary(l, s)),
            vec![vec![Button::new(t(l, "bot-btn-its-me"), "ok")], cancel()],
        ),
        Step::RegisterConfirm => Screen::inline(
            summary(l, s),
            vec![
                vec![Button::new(t(l, "bot-btn-register"), "ok")],
                vec![Button::new(t(l, "bot-btn-edit-name"), "ec:n"), Button::new(t(l, "bot-btn-edit-address"), "ec:a")],
                cancel(),
            ],
        ),
        Step::RegisterFailed => Screen::inline(
            format!("{}\n\n{}", summary(l, s), t(l, "bot-register-failed")),
            vec![vec![Button::new(t(l, "bot-btn-retry"), "rt")], cancel()],
        ),
        Step::RegisterSent => Screen::inline(t(l, "bot-register-pending"), Vec::new()),
        _ => Screen::inline(
            format!("{}\n\n{}", ta(l, "bot-register-welcome", &[("id", json!(person.telegram_id))]), t(l, "bot-register-ask-name")),
            Vec::new(),
        ),
    }
}
