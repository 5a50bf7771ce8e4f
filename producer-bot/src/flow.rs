//! What each message, command and button press does to a person's session: creating an
//! application (staff for a client, or a client for themselves) here; acting on applications in
//! [`crate::work`]; a stranger's registration in [`crate::register`]. Permissions are checked here,
//! on the server, from the role in the `staff` table (or the client's own record), whatever buttons
//! a client shows: a typed command or a replayed button gets the same answer as the menu would.
//!
//! Bad input never loses what was entered: the step stays, the draft stays, and the person is told
//! what was wrong in their language.

use crate::clients::{self, QueryError};
use crate::people::{self, Person};
use crate::publisher::BotPublisher;
use crate::screens::kind_code;
use crate::session::{ChosenClient, ClientField, FormField, SearchBy, Session, Step};
use crate::storage::DialogueStorage;
use crate::texts::{t, ta};
use ariza_shared::config::Settings;
use ariza_shared::domain::{
    Address, ApplicationId, ApplicationKind, ClientData, ClientRef, ClientUpdate, Comment, CorrelationId, CreationRequest,
    CreationSource, Creator, Form, Locale, PersonName, PhoneNumber, Role, SCHEMA_VERSION, ShortText, TextError,
};
use ariza_shared::errors::{Field, UserError as _, field_error_key};
use ariza_shared::permissions;
use ariza_workers::db::staff;
use serde_json::json;
use sqlx::PgPool;

/// What the bot works with while handling one update.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub pool: &'a PgPool,
    pub settings: &'a Settings,
    pub publisher: &'a BotPublisher,
    pub storage: &'a DialogueStorage,
    pub chat_id: i64,
}

/// What the staff member did.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    Text(&'a str),
    /// A shared contact: its phone number and whose contact it is.
    Contact { phone: &'a str, user_id: Option<i64> },
    /// A sticker, a photo, a voice message: anything without text.
    NotText,
    /// A button, by its action.
    Action(&'a str),
    /// A command (`/start`), with its arguments.
    Command(&'a str, &'a str),
}

/// What to show after handling.
#[derive(Debug, Default)]
pub struct Reply {
    /// An explanation shown above the screen: what was wrong, or what was done.
    pub notice: Option<String>,
    /// For a button press that changed nothing: a short answer shown by Telegram.
    pub toast: Option<String>,
    /// The screen the button was on is finished: replace it with this text, then show the menu.
    pub closed: Option<String>,
}

impl Reply {
    pub fn notice(text: String) -> Self {
        Reply { notice: Some(text), ..Reply::default() }
    }

    pub fn closed(text: String) -> Self {
        Reply { closed: Some(text), ..Reply::default() }
    }

    pub fn toast(text: String) -> Self {
        Reply { toast: Some(text), ..Reply::default() }
    }
}

pub fn text_error(l: Locale, field: Field, error: TextError) -> String {
    let max = match error {
        TextError::TooLong { max } => json!(max),
        TextError::Empty => json!(0),
    };
    ta(l, &field_error_key(field, error), &[("max", max)])
}

/// The first form field of the draft's kind.
fn first_field(s: &Session) -> FormField {
    s.draft.kind.map_or(FormField::Address, |k| FormField::sequence(k)[0])
}

/// The field after `field`, or `None` when the form is complete.
fn next_field(s: &Session, field: FormField) -> Option<FormField> {
    let seq = FormField::sequence(s.draft.kind.unwrap_or(ApplicationKind::Connection));
    seq.iter().position(|f| *f == field).and_then(|i| seq.get(i + 1)).copied()
}

/// Whether every required field of the form has a value.
fn form_complete(s: &Session) -> bool {
    s.draft.kind.is_some_and(|k| FormField::sequence(k).iter().all(|f| f.optional() || s.draft.form.get(*f).is_some()))
}

/// Starts a new application, of `kind` when the person chose one. A client's application is for
/// themselves: there is no client to find.
fn start(staff: &Person, s: &mut Session, kind: Option<ApplicationKind>) -> Reply {
    let l = staff.language;
    let kind = match kind {
        Some(k) => {
            if let Err(e) = permissions::check_create(staff.role, k) {
                s.go(Step::Menu);
                return Reply::notice(ta(l, &e.message_key(), &args_of(&e.message_args())));
            }
            Some(k)
        }
        None => match permissions::creatable_kinds(staff.role) {
            [] => {
                s.go(Step::Menu);
                let e = permissions::check_create(staff.role, ApplicationKind::Connection).err();
                return Reply::notice(e.map(|e| ta(l, &e.message_key(), &args_of(&e.message_args()))).unwrap_or_default());
            }
            [only] => Some(*only),
            _ => None,
        },
    };
    s.reset();
    s.draft.kind = kind;
    if let Some(own) = staff.client() {
        s.draft.client = Some(ChosenClient::Existing {
            id: own.id,
            name: own.full_name.clone(),
            phone: own.phone.clone(),
            address: own.address.clone(),
            update: ClientUpdate::default(),
        });
        s.go(match kind {
            None => Step::ChooseKind,
            Some(_) => Step::Form { field: first_field(s) },
        });
        return Reply::default();
    }
    s.go(Step::ChooseSearch);
    Reply::default()
}

pub fn args_of(args: &ariza_shared::errors::MessageArgs) -> Vec<(&str, serde_json::Value)> {
    args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
}

/// Handles one input.
pub async fn handle(ctx: &Ctx<'_>, staff: &mut Person, s: &mut Session, input: Input<'_>) -> anyhow::Result<Reply> {
    let l = staff.language;
    if staff.is_stranger() {
        return crate::register::handle(ctx, staff, s, input).await;
    }
    match input {
        Input::Command(command, args) => command_reply(ctx, staff, s, command, args).await,
        Input::Contact { .. } => Ok(Reply::notice(t(l, "bot-use-buttons"))),
        Input::NotText if s.step.wants_text() => Ok(Reply::notice(t(l, "bot-expected-text"))),
        Input::NotText => Ok(Reply::notice(t(l, "bot-use-buttons"))),
        Input::Text(text) if crate::work::owns(&s.step) => crate::work::on_text(ctx, staff, s, text).await,
        Input::Text(text) => on_text(ctx, staff, s, text).await,
        Input::Action("x") => {
            s.reset();
            Ok(Reply::closed(t(l, "bot-cancelled")))
        }
        Input::Action(action) if crate::work::owns(&s.step) => crate::work::on_action(ctx, staff, s, action).await,
        Input::Action(action) => on_action(ctx, staff, s, action).await,
    }
}

async fn command_reply(ctx: &Ctx<'_>, staff: &mut Person, s: &mut Session, command: &str, args: &str) -> anyhow::Result<Reply> {
    let l = staff.language;
    Ok(match command {
        "start" | "menu" => {
            s.reset();
            Reply::default()
        }
        "cancel" => {
            s.reset();
            Reply::notice(t(l, "bot-cancelled"))
        }
        "lang" => {
            let new = people::switch_language(ctx.pool, staff).await?;
            s.go(Step::Menu);
            Reply::notice(t(new, "bot-language-switched"))
        }
        "new" => start(staff, s, None),
        "new_connection" | "connection" => start(staff, s, Some(ApplicationKind::Connection)),
        "new_technical" | "technical" => start(staff, s, Some(ApplicationKind::Technical)),
        "addstaff" => add_staff(ctx, staff, args).await?,
        "app" | "apps" | "work" | "mine" => crate::work::command(ctx, staff, s, command, args).await?,
        _ => Reply::notice(t(l, "bot-use-buttons")),
    })
}

/// `/addstaff <telegram_id> <role> <uz|ru> [name]`, for administrators.
async fn add_staff(ctx: &Ctx<'_>, admin: &Person, args: &str) -> anyhow::Result<Reply> {
    let l = admin.language;
    if admin.role != Role::Administrator {
        return Ok(Reply::notice(t(l, "bot-admin-only")));
    }
    let mut parts = args.split_whitespace();
    let parsed = (
        parts.next().and_then(|id| id.parse::<i64>().ok()),
        parts.next().and_then(|r| r.parse::<Role>().ok()).filter(|r| r.is_staff()),
        parts.next().and_then(|lang| lang.parse::<Locale>().ok()),
    );
    let (Some(telegram_id), Some(role), Some(language)) = parsed else {
        return Ok(Reply::notice(t(l, "bot-addstaff-usage")));
    };
    let name: Vec<&str> = parts.collect();
    let member = staff::upsert(ctx.pool, telegram_id, role, language, &name.join(" ")).await?;
    Ok(Reply::notice(ta(
        l,
        "bot-staff-added",
        &[
            ("telegram_id", json!(member.telegram_id)),
            ("role", json!(crate::texts::role(l, member.role))),
            ("lang", json!(member.language.as_str())),
        ],
    )))
}

async fn on_text(ctx: &Ctx<'_>, staff: &mut Person, s: &mut Session, text: &str) -> anyhow::Result<Reply> {
    let l = staff.language;
    match s.step.clone() {
        // The menu's reply keyboard sends its labels as text (in either language, in case the
        // keyboard is from before a /lang switch); the menu's entries work from any step.
        _ if crate::texts::menu_entry(text).is_some() => match crate::texts::menu_entry(text) {
            Some(crate::texts::MenuEntry::New(kind)) => Ok(start(staff, s, Some(kind))),
            Some(entry) => crate::work::menu(ctx, staff, s, entry).await,
            None => Ok(Reply::notice(t(l, "bot-use-buttons"))),
        },
        Step::SearchInput { by } => match clients::check_query(by, text) {
            Err(QueryError::TooShort) => Ok(Reply::notice(t(l, "bot-search-too-short"))),
            Err(QueryError::NotAnId) => Ok(Reply::notice(t(l, "bot-id-invalid"))),
            Ok(()) => {
                let found = clients::search(ctx.pool, by, text, 0, ctx.settings.bot.page_size).await?;
                if found.total == 0 {
                    return Ok(Reply::notice(t(l, "bot-search-empty")));
                }
                s.go(Step::PickClient { by, query: text.trim().to_owned(), page: 0 });
                Ok(Reply::default())
            }
        },
        Step::NewClient { field } => new_client_field(ctx, l, s, field, text).await,
        Step::EditClient { field } => edit_client_field(ctx, l, s, field, text).await,
        Step::Form { field } => {
            if let Some(error) = set_form_field(l, s, field, text) {
                return Ok(Reply::notice(error));
            }
            s.go(match next_field(s, field) {
                Some(next) => Step::Form { field: next },
                None => Step::Preview,
            });
            Ok(Reply::default())
        }
        Step::EditForm { field } => {
            if let Some(error) = set_form_field(l, s, field, text) {
                return Ok(Reply::notice(error));
            }
            s.go(Step::Preview);
            Ok(Reply::default())
        }
        _ => Ok(Reply::notice(t(l, "bot-use-buttons"))),
    }
}

/// Checks and stores a form field; returns the explanation when it is refused.
fn set_form_field(l: Locale, s: &mut Session, field: FormField, text: &str) -> Option<String> {
    let checked = match field {
        FormField::Address => Address::parse(text).map(String::from).map_err(|e| text_error(l, Field::Address, e)),
        FormField::Tariff => ShortText::parse(text).map(String::from).map_err(|e| text_error(l, Field::Tariff, e)),
        FormField::Problem => Comment::parse(text).map(String::from).map_err(|e| text_error(l, Field::Problem, e)),
        FormField::Comment => Comment::parse(text).map(String::from).map_err(|e| text_error(l, Field::Comment, e)),
    };
    match checked {
        Ok(value) => {
            s.draft.form.set(field, Some(value));
            None
        }
        Err(explanation) => Some(explanation),
    }
}

fn parse_client_field(l: Locale, field: ClientField, text: &str) -> Result<String, String> {
    match field {
        ClientField::Name => PersonName::parse(text).map(String::from).map_err(|e| text_error(l, Field::Name, e)),
        ClientField::Address => Address::parse(text).map(String::from).map_err(|e| text_error(l, Field::Address, e)),
        ClientField::Phone => PhoneNumber::parse(text).map(String::from).map_err(|e| t(l, e.message_key())),
    }
}

async fn new_client_field(ctx: &Ctx<'_>, l: Locale, s: &mut Session, field: ClientField, text: &str) -> anyhow::Result<Reply> {
    let value = match parse_client_field(l, field, text) {
        Ok(v) => v,
        Err(explanation) => return Ok(Reply::notice(explanation)),
    };
    match field {
        ClientField::Name => {
            s.draft.new_client.name = Some(value);
            s.go(Step::NewClient { field: ClientField::Phone });
        }
        ClientField::Phone => {
            let phone = PhoneNumber::parse(&value).map_err(anyhow::Error::from)?;
            s.draft.new_client.phone = Some(value);
            match clients::by_phone(ctx.pool, &phone).await? {
                Some(existing) => s.go(Step::PhoneTaken { existing_id: existing.id }),
                None => s.go(Step::NewClient { field: ClientField::Address }),
            }
        }
        ClientField::Address => {
            let n = &s.draft.new_client;
            s.draft.client = Some(ChosenClient::New {
                name: n.name.clone().unwrap_or_default(),
                phone: n.phone.clone().unwrap_or_default(),
                address: value,
            });
            s.go(Step::ConfirmClient);
        }
    }
    Ok(Reply::default())
}

async fn edit_client_field(ctx: &Ctx<'_>, l: Locale, s: &mut Session, field: ClientField, text: &str) -> anyhow::Result<Reply> {
    let value = match parse_client_field(l, field, text) {
        Ok(v) => v,
        Err(explanation) => return Ok(Reply::notice(explanation)),
    };
    let own_id = match &s.draft.client {
        Some(ChosenClient::Existing { id, .. }) => Some(*id),
        _ => None,
    };
    if field == ClientField::Phone {
        let phone = PhoneNumber::parse(&value).map_err(anyhow::Error::from)?;
        if let Some(owner) = clients::by_phone(ctx.pool, &phone).await?
            && Some(owner.id) != own_id
        {
            return Ok(Reply::notice(t(l, "error-phone-taken")));
        }
    }
    match &mut s.draft.client {
        Some(ChosenClient::Existing { update, .. }) => match field {
            ClientField::Name => update.name = Some(value),
            ClientField::Phone => update.phone = Some(value),
            ClientField::Address => update.address = Some(value),
        },
        Some(ChosenClient::New { name, phone, address }) => match field {
            ClientField::Name => *name = value,
            ClientField::Phone => *phone = value,
            ClientField::Address => *address = value,
        },
        None => {}
    }
    s.go(Step::ConfirmClient);
    Ok(Reply::default())
}

async fn choose_existing(ctx: &Ctx<'_>, l: Locale, s: &mut Session, id: i64) -> anyhow::Result<Reply> {
    let Some(row) = clients::by_id(ctx.pool, id).await? else {
        return Ok(Reply::toast(ta(l, "error-client-not-found", &[("client_id", json!(id))])));
    };
    s.draft.client = Some(ChosenClient::Existing {
        id: row.id,
        name: row.full_name,
        phone: row.phone,
        address: row.address,
        update: ClientUpdate::default(),
    });
    s.go(Step::ConfirmClient);
    Ok(Reply::default())
}

fn stale(l: Locale) -> Reply {
    Reply::toast(t(l, "bot-stale-button"))
}

async fn on_action(ctx: &Ctx<'_>, staff: &mut Person, s: &mut Session, action: &str) -> anyhow::Result<Reply> {
    let l = staff.language;
    let tariffs = &ctx.settings.bot.tariffs;
    match (s.step.clone(), action) {
        (Step::ChooseSearch, "sp") => s.go(Step::SearchInput { by: SearchBy::Phone }),
        (Step::ChooseSearch, "sn") => s.go(Step::SearchInput { by: SearchBy::Name }),
        (Step::ChooseSearch, "si") => s.go(Step::SearchInput { by: SearchBy::Id }),
        (Step::ChooseSearch | Step::SearchInput { .. } | Step::PickClient { .. }, "nc") => {
            s.draft.new_client = Default::default();
            s.go(Step::NewClient { field: ClientField::Name });
        }
        (Step::SearchInput { .. } | Step::PickClient { .. }, "bk") => s.go(Step::ChooseSearch),
        (Step::PickClient { by, query, .. }, a) if a.starts_with("pg") => match a[2..].parse() {
            Ok(page) => s.go(Step::PickClient { by, query, page }),
            Err(_) => return Ok(stale(l)),
        },
        (Step::PickClient { .. }, a) if a.starts_with('c') => match a[1..].parse() {
            Ok(id) => return choose_existing(ctx, l, s, id).await,
            Err(_) => return Ok(stale(l)),
        },
        (Step::PhoneTaken { existing_id }, "ue") => return choose_existing(ctx, l, s, existing_id).await,
        (Step::PhoneTaken { .. }, "op") => s.go(Step::NewClient { field: ClientField::Phone }),
        (Step::ConfirmClient, "ok") => {
            let next = if s.draft.kind.is_none() {
                Step::ChooseKind
            } else if form_complete(s) {
                Step::Preview
            } else {
                Step::Form { field: first_field(s) }
            };
            s.go(next);
        }
        (Step::ConfirmClient, a) if a.starts_with("ec:") => match a[3..].chars().next().and_then(ClientField::from_code) {
            Some(field) => s.go(Step::EditClient { field }),
            None => return Ok(stale(l)),
        },
        (Step::ConfirmClient, "bk") => {
            s.draft.client = None;
            s.go(Step::ChooseSearch);
        }
        (Step::EditClient { .. }, "bk") => s.go(Step::ConfirmClient),
        (Step::ChooseKind, a) if a.starts_with("k:") => {
            let kind = ApplicationKind::ALL.iter().copied().find(|k| a[2..].starts_with(kind_code(*k)));
            let Some(kind) = kind else { return Ok(stale(l)) };
            // A replayed or forged button is checked like the menu.
            if let Err(e) = permissions::check_create(staff.role, kind) {
                return Ok(Reply::notice(ta(l, &e.message_key(), &args_of(&e.message_args()))));
            }
            s.draft.kind = Some(kind);
            s.go(Step::Form { field: first_field(s) });
        }
        (Step::Form { field } | Step::EditForm { field }, a) if matches!(a, "ca" | "sk") || a.starts_with("t:") => {
            let value = match (field, a) {
                (FormField::Address, "ca") => s.draft.client.as_ref().map(|c| c.shown().2),
                (f, "sk") if f.optional() => None,
                (FormField::Tariff, a) if a.starts_with("t:") => match a[2..].parse::<usize>().ok().and_then(|i| tariffs.get(i)) {
                    Some(tariff) => Some(tariff.clone()),
                    None => return Ok(stale(l)),
                },
                _ => return Ok(stale(l)),
            };
            s.draft.form.set(field, value);
            let editing = matches!(s.step, Step::EditForm { .. });
            s.go(match next_field(s, field) {
                Some(next) if !editing => Step::Form { field: next },
                _ => Step::Preview,
            });
        }
        (Step::EditForm { .. }, "bk") => s.go(Step::Preview),
        (Step::Preview, a) if a.starts_with("ef:") => match a[3..].chars().next().and_then(FormField::from_code) {
            Some(field) => s.go(Step::EditForm { field }),
            None => return Ok(stale(l)),
        },
        (Step::Preview, "ecl") if staff.client().is_none() => s.go(Step::ConfirmClient),
        (Step::Preview, "cf") | (Step::PublishFailed, "rt") => return confirm(ctx, staff, s).await,
        _ => return Ok(stale(l)),
    }
    Ok(Reply::default())
}

/// The creation request the draft describes.
fn request(staff: &Person, s: &Session, id: ApplicationId) -> Option<CreationRequest> {
    let kind = s.draft.kind?;
    let client = match s.draft.client.as_ref()? {
        ChosenClient::Existing { id, update, .. } => {
            ClientRef::Existing { client_id: *id, update: (!update.is_empty()).then(|| update.clone()) }
        }
        ChosenClient::New { name, phone, address } => {
            ClientRef::New(ClientData { name: name.clone(), phone: phone.clone(), address: address.clone(), language: None })
        }
    };
    let form = &s.draft.form;
    Some(CreationRequest {
        schema: SCHEMA_VERSION,
        application_id: id,
        correlation_id: CorrelationId::new(),
        kind,
        source: if staff.client().is_some() { CreationSource::Client } else { CreationSource::Staff },
        creator: Creator { telegram_id: staff.telegram_id, role: staff.role },
        client,
        form: Form {
            address: form.address.clone().unwrap_or_default(),
            tariff: form.tariff.clone(),
            problem: form.problem.clone(),
            comment: form.comment.clone(),
        },
        submitted_at: chrono::Utc::now(),
    })
}

/// Publishes the draft. The application id is fixed and saved before the first attempt, so a
/// retry (after a broker outage, or a restart of the bot) publishes the same application.
async fn confirm(ctx: &Ctx<'_>, staff: &Person, s: &mut Session) -> anyhow::Result<Reply> {
    let l = staff.language;
    let id = *s.draft.application_id.get_or_insert_with(ApplicationId::new);
    ctx.storage.save(ctx.chat_id, s).await?;
    let Some(req) = request(staff, s, id) else {
        s.go(Step::ChooseSearch);
        return Ok(Reply::notice(t(l, "bot-use-buttons")));
    };
    if let Err(e) = ariza_shared::validation::precheck(&req) {
        s.go(Step::Preview);
        return Ok(Reply::notice(ta(l, &e.message_key(), &args_of(&e.message_args()))));
    }
    match ctx.publisher.publish(&req).await {
        Ok(()) => {
            tracing::info!(application_id = %id, kind = %req.kind, "application published");
            let sent = format!("{}\n\n{}", crate::screens::preview_text(l, s), ta(l, "bot-sent", &[("id", json!(id.to_string()))]));
            s.reset();
            Ok(Reply { closed: Some(sent), ..Reply::default() })
        }
        Err(e) => {
            tracing::warn!(application_id = %id, error = %e, "publishing failed, draft kept");
            s.go(Step::PublishFailed);
            Ok(Reply::default())
        }
    }
}
