//! A person's dialogue with the bot: the step they are on and the draft they are filling (an
//! application, an action on one, or a client's registration). Every screen gets a new step
//! number; buttons carry it, so a button from an older screen (a stale button) is recognised and
//! changes nothing.

use ariza_shared::domain::{ApplicationId, ApplicationKind, ClientUpdate, Locale, RequestId};
use ariza_shared::workflow::{State, TransitionName};
use serde::{Deserialize, Serialize};

/// How to find a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchBy {
    Phone,
    Name,
    Id,
}

/// A field of a client's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientField {
    Name,
    Phone,
    Address,
}

/// A field of the application form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormField {
    Address,
    Tariff,
    Problem,
    Comment,
}

impl FormField {
    /// The fields of a kind, in the order they are asked.
    pub fn sequence(kind: ApplicationKind) -> &'static [FormField] {
        match kind {
            ApplicationKind::Connection => &[FormField::Address, FormField::Tariff, FormField::Comment],
            ApplicationKind::Technical => &[FormField::Problem, FormField::Address, FormField::Comment],
        }
    }

    /// Whether the field may be left empty.
    pub fn optional(self) -> bool {
        matches!(self, FormField::Tariff | FormField::Comment)
    }

    pub fn code(self) -> char {
        match self {
            FormField::Address => 'a',
            FormField::Tariff => 't',
            FormField::Problem => 'p',
            FormField::Comment => 'c',
        }
    }

    pub fn from_code(c: char) -> Option<Self> {
        [FormField::Address, FormField::Tariff, FormField::Problem, FormField::Comment].into_iter().find(|f| f.code() == c)
    }
}

impl ClientField {
    pub fn code(self) -> char {
        match self {
            ClientField::Name => 'n',
            ClientField::Phone => 'p',
            ClientField::Address => 'a',
        }
    }

    pub fn from_code(c: char) -> Option<Self> {
        [ClientField::Name, ClientField::Phone, ClientField::Address].into_iter().find(|f| f.code() == c)
    }
}

/// The client of the draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChosenClient {
    /// Found by a search; `update` holds corrections made in this dialogue.
    Existing { id: i64, name: String, phone: String, address: String, update: ClientUpdate },
    /// To be registered with the application.
    New { name: String, phone: String, address: String },
}

impl ChosenClient {
    /// The data as it will be after the corrections.
    pub fn shown(&self) -> (String, String, String) {
        match self {
            ChosenClient::Existing { name, phone, address, update, .. } => (
                update.name.clone().unwrap_or_else(|| name.clone()),
                update.phone.clone().unwrap_or_else(|| phone.clone()),
                update.address.clone().unwrap_or_else(|| address.clone()),
            ),
            ChosenClient::New { name, phone, address } => (name.clone(), phone.clone(), address.clone()),
        }
    }
}

/// A new client's data while it is being typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewClientDraft {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

/// The form while it is being filled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormDraft {
    pub address: Option<String>,
    pub tariff: Option<String>,
    pub problem: Option<String>,
    pub comment: Option<String>,
}

impl FormDraft {
    pub fn get(&self, field: FormField) -> Option<&String> {
        match field {
            FormField::Address => self.address.as_ref(),
            FormField::Tariff => self.tariff.as_ref(),
            FormField::Problem => self.problem.as_ref(),
            FormField::Comment => self.comment.as_ref(),
        }
    }

    pub fn set(&mut self, field: FormField, value: Option<String>) {
        match field {
            FormField::Address => self.address = value,
            FormField::Tariff => self.tariff = value,
            FormField::Problem => self.problem = value,
            FormField::Comment => self.comment = value,
        }
    }
}

/// Which applications a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// Waiting for the viewer's role (managers, controllers, administrators).
    Waiting,
    /// Assigned to the viewing technician and not finished.
    MyWork,
    /// The viewing client's own.
    Mine,
}

/// An action on an application, as chosen so far. Its request id is fixed before the first
/// publish, so a retry after a broker outage cannot apply it twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAction {
    pub request_id: RequestId,
    pub app: ApplicationId,
    pub number: i64,
    /// The state the person saw when they chose the action.
    pub seen: State,
    pub transition: TransitionName,
    pub assignee: Option<i64>,
    pub comment: Option<String>,
    pub rating: Option<u8>,
    /// The list to return to afterwards.
    pub back: Option<ListKind>,
}

/// Everything entered so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// Chosen from the menu, or later when the role may create both kinds.
    pub kind: Option<ApplicationKind>,
    pub new_client: NewClientDraft,
    pub client: Option<ChosenClient>,
    pub form: FormDraft,
    /// Fixed at the first confirm, so retrying after a broker outage cannot create two.
    pub application_id: Option<ApplicationId>,
    /// An action on an application being chosen or published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<PendingAction>,
    /// A client's registration: fixed at the first confirm, like an application id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<RequestId>,
}

/// Where the staff member is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Step {
    #[default]
    Menu,
    ChooseSearch,
    SearchInput { by: SearchBy },
    PickClient { by: SearchBy, query: String, page: u32 },
    NewClient { field: ClientField },
    /// The phone typed for a new client belongs to this client.
    PhoneTaken { existing_id: i64 },
    ConfirmClient,
    EditClient { field: ClientField },
    ChooseKind,
    Form { field: FormField },
    Preview,
    EditForm { field: FormField },
    PublishFailed,
    /// A page of applications.
    Apps { list: ListKind, page: u32 },
    /// Waiting for an application's number.
    FindApp,
    /// One application, with the actions the person may take; `seen` is its state as shown.
    Card { app: ApplicationId, seen: State, back: Option<ListKind> },
    /// Choosing the technician for the pending assignment.
    PickTechnician { page: u32 },
    /// Typing the reason, report or comment of the pending action.
    ActionText,
    /// Publishing the pending action failed; it can be retried.
    ActionFailed,
    /// A person Telegram knows but ariza does not, registering as a client.
    Register { field: ClientField },
    RegisterConfirm,
    RegisterFailed,
    /// The registration is published and waits for the pipeline.
    RegisterSent,
}

impl Step {
    /// Whether the step waits for typed text (rather than a button).
    pub fn wants_text(&self) -> bool {
        matches!(
            self,
            Step::SearchInput { .. }
                | Step::NewClient { .. }
                | Step::EditClient { .. }
                | Step::Form { .. }
                | Step::EditForm { .. }
                | Step::FindApp
                | Step::ActionText
                | Step::Register { .. }
        )
    }
}

/// One chat's dialogue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Increases with every screen; buttons carry it.
    pub step_no: u32,
    pub step: Step,
    pub draft: Draft,
    /// The language a person without a record chose with /lang.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
}

impl Session {
    /// Moves to `step`, invalidating the buttons of earlier screens.
    pub fn go(&mut self, step: Step) {
        self.step = step;
        self.step_no = self.step_no.wrapping_add(1);
    }

    /// Back to the menu with an empty draft.
    pub fn reset(&mut self) {
        self.draft = Draft::default();
        self.go(Step::Menu);
    }
}

/// A button's `callback_data`: the step number and a short action, well within Telegram's 64
/// bytes.
pub fn callback_data(step_no: u32, action: &str) -> String {
    format!("{step_no}|{action}")
}

/// Splits `callback_data` into its step number and action.
pub fn parse_callback(data: &str) -> Option<(u32, &str)> {
    let (step, action) = data.split_once('|')?;
    Some((step.parse().ok()?, action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_stays_within_telegrams_64_bytes() {
        for action in ["sp", "c9223372036854775807", "pg4294967295", "ef:c", "t:19", "retry"] {
            let data = callback_data(u32::MAX, action);
            assert!(data.len() <= 64, "{data}");
            assert_eq!(parse_callback(&data), Some((u32::MAX, action)));
        }
        assert_eq!(parse_callback("garbage"), None);
    }

    #[test]
    fn a_session_round_trips_through_json() {
        let mut s = Session::default();
        s.draft.kind = Some(ApplicationKind::Technical);
        s.go(Step::PickClient { by: SearchBy::Name, query: "ali".into(), page: 2 });
        let json = serde_json::to_value(&s).expect("ser");
        assert_eq!(serde_json::from_value::<Session>(json).expect("de"), s);
    }
}
