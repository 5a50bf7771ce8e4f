//! What a staff member sees at each step: the text and the buttons, in their language. A screen is
//! drawn from the session alone (and, for search results, the database), so after a restart the
//! bot shows exactly where the staff member was.

use crate::clients;
use crate::people::Person;
use crate::session::{ChosenClient, ClientField, FormField, SearchBy, Session, Step, callback_data};
use crate::texts::{MenuEntry, kind, new_kind_button, role, t, ta};
use ariza_shared::domain::{ApplicationKind, Locale, Role};
use ariza_shared::permissions;
use serde_json::json;
use sqlx::PgPool;

/// One inline button: its label and its action (the part of `callback_data` after the step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub action: String,
}

impl Button {
    pub fn new(label: String, action: impl Into<String>) -> Self {
        Self { label, action: action.into() }
    }

    /// The `callback_data` for this button on a screen of step `step_no`.
    pub fn data(&self, step_no: u32) -> String {
        callback_data(step_no, &self.action)
    }
}

/// A message: text plus either inline buttons or, for the menu, a reply keyboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub text: String,
    pub buttons: Vec<Vec<Button>>,
    /// The main menu's reply keyboard (labels), instead of inline buttons.
    pub menu: Option<Vec<String>>,
    /// A reply keyboard with one button that shares the person's own contact (its label).
    pub contact: Option<String>,
}

impl Screen {
    /// A message with inline buttons.
    pub fn inline(text: String, buttons: Vec<Vec<Button>>) -> Self {
        Screen { text, buttons, menu: None, contact: None }
    }
}

/// How many pages of `size` rows `total` rows fill (at least one).
pub fn page_count(total: i64, size: u16) -> u32 {
    u32::try_from((total + i64::from(size) - 1) / i64::from(size.max(1))).unwrap_or(1).max(1)
}

/// Adds the row of previous/next buttons of page `page` (from 0) of `pages` to `buttons`: `pg<N>`
/// actions; no row for a single page.
pub fn push_pager(buttons: &mut Vec<Vec<Button>>, l: Locale, page: u32, pages: u32) {
    let mut row = Vec::new();
    if page > 0 {
        row.push(Button::new(t(l, "bot-btn-prev"), format!("pg{}", page - 1)));
    }
    if page + 1 < pages {
        row.push(Button::new(t(l, "bot-btn-next"), format!("pg{}", page + 1)));
    }
    if !row.is_empty() {
        buttons.push(row);
    }
}

/// Who is looking.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub name: &'a str,
    pub role: Role,
    pub locale: Locale,
}

fn cancel(l: Locale) -> Vec<Button> {
    vec![Button::new(t(l, "bot-btn-cancel"), "x")]
}

fn back_cancel(l: Locale) -> Vec<Button> {
    vec![Button::new(t(l, "bot-btn-back"), "bk"), Button::new(t(l, "bot-btn-cancel"), "x")]
}

/// The main menu: a button per kind the person may create, then their lists.
pub fn menu(person: &Person) -> Screen {
    let l = person.language;
    let client = person.client().is_some();
    let labels: Vec<String> = permissions::creatable_kinds(person.role)
        .iter()
        .map(|k| MenuEntry::New(*k))
        .chain(crate::work::menu_entries(person))
        .map(|entry| t(l, entry.key(client)))
        .collect();
    let text = if client {
        ta(l, "bot-client-menu", &[("name", json!(person.full_name))])
    } else {
        ta(l, "bot-menu", &[("name", json!(person.full_name)), ("role", json!(role(l, person.role)))])
    };
    Screen { text, buttons: Vec::new(), menu: Some(labels), contact: None }
}

fn client_card(l: Locale, client: &ChosenClient) -> String {
    let (name, phone, address) = client.shown();
    let id = match client {
        ChosenClient::Existing { id, .. } => json!(id),
        ChosenClient::New { .. } => json!(t(l, "bot-client-new")),
    };
    ta(l, "bot-client-card", &[("name", json!(name)), ("phone", json!(phone)), ("address", json!(address)), ("id", id)])
}

fn field_key(field: FormField) -> &'static str {
    match field {
        FormField::Address => "address",
        FormField::Tariff => "tariff",
        FormField::Problem => "problem",
        FormField::Comment => "comment",
    }
}

/// The summary of the whole draft shown before confirming.
pub fn preview_text(l: Locale, s: &Session) -> String {
    let d = &s.draft;
    let kind_name = d.kind.map(|k| kind(l, k)).unwrap_or_default();
    let (name, phone, _) = d.client.as_ref().map(ChosenClient::shown).unwrap_or_default();
    let mut text = ta(
        l,
        "bot-preview",
        &[
            ("kind", json!(kind_name)),
            ("client", json!(name)),
            ("phone", json!(phone)),
            ("address", json!(d.form.address.clone().unwrap_or_default())),
        ],
    );
    for field in [FormField::Tariff, FormField::Problem, FormField::Comment] {
        if let Some(value) = d.form.get(field) {
            text.push('\n');
            text.push_str(&ta(l, &format!("bot-preview-{}", field_key(field)), &[("value", json!(value))]));
        }
    }
    text
}

fn ask_form(l: Locale, s: &Session, field: FormField, tariffs: &[String], editing: bool) -> Screen {
    let mut buttons = Vec::new();
    let mut text = match field {
        FormField::Tariff if tariffs.is_empty() => t(l, "bot-ask-tariff-text"),
        _ => t(l, &format!("bot-ask-{}", field_key(field))),
    };
    if let Some(current) = s.draft.form.get(field) {
        text.push_str(&format!("\n({current})"));
    }
    match field {
        FormField::Address => {
            if let Some(client) = &s.draft.client {
                let (_, _, address) = client.shown();
                buttons.push(vec![Button::new(ta(l, "bot-btn-client-address", &[("address", json!(address))]), "ca")]);
            }
        }
        FormField::Tariff => {
            for (i, tariff) in tariffs.iter().enumerate() {
                buttons.push(vec![Button::new(tariff.clone(), format!("t:{i}"))]);
            }
        }
        FormField::Problem | FormField::Comment => {}
    }
    if field.optional() {
        buttons.push(vec![Button::new(t(l, "bot-btn-skip"), "sk")]);
    }
    buttons.push(if editing { back_cancel(l) } else { cancel(l) });
    Screen { text, buttons, menu: None, contact: None }
}

/// The screen of the session's current step.
pub async fn render(pool: &PgPool, person: &Person, s: &Session, tariffs: &[String], page_size: u16) -> Result<Screen, sqlx::Error> {
    if person.is_stranger() {
        return Ok(crate::register::render(person, s));
    }
    if crate::work::owns(&s.step) {
        return crate::work::render(pool, person, s, page_size).await;
    }
    let v = Viewer { name: &person.full_name, role: person.role, locale: person.language };
    let l = v.locale;
    let header = s.draft.kind.map(|k| format!("{}\n\n", kind(l, k))).unwrap_or_default();
    let inline = |text: String, buttons: Vec<Vec<Button>>| Screen { text: format!("{header}{text}"), buttons, menu: None, contact: None };
    Ok(match &s.step {
        Step::Menu => menu(person),
        Step::ChooseSearch => inline(
            t(l, "bot-search-how"),
            vec![
                vec![Button::new(t(l, "bot-btn-by-phone"), "sp"), Button::new(t(l, "bot-btn-by-name"), "sn")],
                vec![Button::new(t(l, "bot-btn-by-id"), "si"), Button::new(t(l, "bot-btn-new-client"), "nc")],
                cancel(l),
            ],
        ),
        Step::SearchInput { by } => {
            let key = match by {
                SearchBy::Phone => "bot-ask-search-phone",
                SearchBy::Name => "bot-ask-search-name",
                SearchBy::Id => "bot-ask-search-id",
            };
            inline(t(l, key), vec![vec![Button::new(t(l, "bot-btn-new-client"), "nc")], back_cancel(l)])
        }
        Step::PickClient { by, query, page } => {
            let found = clients::search(pool, *by, query, *page, page_size).await?;
            let pages = page_count(found.total, page_size);
            let mut buttons: Vec<Vec<Button>> = found
                .rows
                .iter()
                .map(|c| vec![Button::new(format!("{} · {}", c.full_name, c.phone), format!("c{}", c.id))])
                .collect();
            push_pager(&mut buttons, l, *page, pages);
            buttons.push(vec![Button::new(t(l, "bot-btn-new-client"), "nc")]);
            buttons.push(back_cancel(l));
            let text = ta(l, "bot-search-results", &[("count", json!(found.total)), ("page", json!(page + 1)), ("pages", json!(pages))]);
            inline(text, buttons)
        }
        Step::NewClient { field } | Step::EditClient { field } => {
            let key = match field {
                ClientField::Name => "bot-ask-client-name",
                ClientField::Phone => "bot-ask-client-phone",
                ClientField::Address => "bot-ask-client-address",
            };
            let mut text = String::new();
            if matches!(s.step, Step::NewClient { .. }) {
                let n = &s.draft.new_client;
                for value in [&n.name, &n.phone].into_iter().flatten() {
                    text.push_str(&format!("✔ {value}\n"));
                }
            }
            text.push_str(&t(l, key));
            let last = if matches!(s.step, Step::EditClient { .. }) { back_cancel(l) } else { cancel(l) };
            inline(text, vec![last])
        }
        Step::PhoneTaken { existing_id } => {
            let existing = clients::by_id(pool, *existing_id).await?;
            let (name, address) = existing.map(|c| (c.full_name, c.address)).unwrap_or_default();
            inline(
                ta(l, "bot-phone-exists", &[("name", json!(name)), ("address", json!(address))]),
                vec![
                    vec![Button::new(t(l, "bot-btn-use-existing"), "ue")],
                    vec![Button::new(t(l, "bot-btn-other-phone"), "op")],
                    cancel(l),
                ],
            )
        }
        Step::ConfirmClient => {
            let card = s.draft.client.as_ref().map(|c| client_card(l, c)).unwrap_or_default();
            inline(
                format!("{card}\n\n{}", t(l, "bot-confirm-client")),
                vec![
                    vec![Button::new(t(l, "bot-btn-client-ok"), "ok")],
                    vec![
                        Button::new(t(l, "bot-btn-edit-name"), "ec:n"),
                        Button::new(t(l, "bot-btn-edit-phone"), "ec:p"),
                        Button::new(t(l, "bot-btn-edit-address"), "ec:a"),
                    ],
                    back_cancel(l),
                ],
            )
        }
        Step::ChooseKind => inline(
            t(l, "bot-choose-kind"),
            permissions::creatable_kinds(v.role)
                .iter()
                .map(|k| vec![Button::new(new_kind_button(l, *k), format!("k:{}", kind_code(*k)))])
                .chain(std::iter::once(cancel(l)))
                .collect(),
        ),
        Step::Form { field } => {
            let screen = ask_form(l, s, *field, tariffs, false);
            inline(screen.text, screen.buttons)
        }
        Step::EditForm { field } => {
            let screen = ask_form(l, s, *field, tariffs, true);
            inline(screen.text, screen.buttons)
        }
        Step::Preview => {
            let mut edits = vec![Button::new(t(l, "bot-btn-edit-form-address"), "ef:a")];
            match s.draft.kind {
                Some(ApplicationKind::Technical) => edits.push(Button::new(t(l, "bot-btn-edit-form-problem"), "ef:p")),
                _ => edits.push(Button::new(t(l, "bot-btn-edit-form-tariff"), "ef:t")),
            }
            edits.push(Button::new(t(l, "bot-btn-edit-form-comment"), "ef:c"));
            let mut buttons = vec![vec![Button::new(t(l, "bot-btn-confirm"), "cf")], edits];
            // A client's application is for themselves: there is no client to change.
            if person.client().is_none() {
                buttons.push(vec![Button::new(t(l, "bot-btn-edit-client"), "ecl")]);
            }
            buttons.push(cancel(l));
            Screen { text: preview_text(l, s), buttons, menu: None, contact: None }
        }
        Step::PublishFailed => Screen {
            text: format!("{}\n\n{}", preview_text(l, s), t(l, "bot-publish-failed")),
            buttons: vec![vec![Button::new(t(l, "bot-btn-retry"), "rt")], cancel(l)],
            menu: None,
            contact: None,
        },
        _ => Screen { text: t(l, "bot-use-buttons"), buttons: Vec::new(), menu: None, contact: None },
    })
}

/// The one-letter code of a kind in `callback_data`.
pub fn kind_code(k: ApplicationKind) -> char {
    match k {
        ApplicationKind::Connection => 'c',
        ApplicationKind::Technical => 't',
    }
}
