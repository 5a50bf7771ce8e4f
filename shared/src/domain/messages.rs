//! The messages that travel through the pipeline, as JSON.
//!
//! A [`CreationRequest`] comes from outside (the bot, `ariza submit`) and is untrusted: its texts are
//! raw strings until the validation stage turns it into a [`ValidatedCreation`]. What the stages
//! publish to each other after that holds validated types. Every message carries the schema version
//! it was written with; a stage refuses versions it does not know.

use super::{Address, ApplicationKind, Comment, CreationSource, Locale, PersonName, PhoneNumber, Role, ShortText};
use crate::workflow::{State, TransitionName};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id: a version 7 UUID, which begins with the time it was made, so that the
            /// ids one process makes are in the order it made them. Rows keyed by them are
            /// appended at the end of their B-tree indexes, not scattered through them.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self)
            }
        }
    };
}

uuid_id!(
    /// The application's id, chosen by whoever creates the request. It is also the idempotency
    /// key: however often a request is delivered, it makes at most one application.
    ApplicationId
);
uuid_id!(
    /// Follows one request through every stage, in headers and on every log line.
    CorrelationId
);
uuid_id!(
    /// The idempotency key of one workflow action or registration: however often it is
    /// delivered, it is applied at most once.
    RequestId
);

/// Who asks for the application, as the message claims. The pipeline believes only the
/// Telegram id, and looks the role up itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creator {
    pub telegram_id: i64,
    pub role: Role,
}

/// A new client's data as typed by the person creating the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientData {
    pub name: String,
    pub phone: String,
    pub address: String,
    /// The client's language, when known (a client registering themselves); staff leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Locale>,
}

/// Corrections to an existing client's record, made while creating an application for them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl ClientUpdate {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.phone.is_none() && self.address.is_none()
    }
}

/// The client the application is for: one found by a search (with corrections, if their data
/// was out of date), or one to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientRef {
    Existing {
        client_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update: Option<ClientUpdate>,
    },
    New(ClientData),
}

/// The form as typed. A connection request has an address, an optional tariff and comment; a
/// technical request has the problem, an address and an optional comment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A request to create an application: what the bot and `ariza submit` publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreationRequest {
    pub schema: u32,
    pub application_id: ApplicationId,
    pub correlation_id: CorrelationId,
    pub kind: ApplicationKind,
    pub source: CreationSource,
    pub creator: Creator,
    pub client: ClientRef,
    pub form: Form,
    pub submitted_at: DateTime<Utc>,
}

/// A form that passed the field rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValidatedForm {
    Connection { address: Address, tariff: Option<ShortText>, comment: Option<Comment> },
    Technical { problem: Comment, address: Address, comment: Option<Comment> },
}

impl ValidatedForm {
    pub fn kind(&self) -> ApplicationKind {
        match self {
            ValidatedForm::Connection { .. } => ApplicationKind::Connection,
            ValidatedForm::Technical { .. } => ApplicationKind::Technical,
        }
    }

    pub fn address(&self) -> &Address {
        match self {
            ValidatedForm::Connection { address, .. } | ValidatedForm::Technical { address, .. } => address,
        }
    }
}

/// The client of a validated request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ValidatedClient {
    Existing {
        client_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update: Option<ValidatedClientUpdate>,
    },
    New {
        name: PersonName,
        phone: PhoneNumber,
        address: Address,
        /// The client's own Telegram chat when the client registers themselves.
        telegram_chat_id: Option<i64>,
        language: Locale,
    },
}

/// Corrections that passed the field rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedClientUpdate {
    pub name: Option<PersonName>,
    pub phone: Option<PhoneNumber>,
    pub address: Option<Address>,
}

/// A creation request that passed validation: the creator's identity and role come from the
/// `staff` table (or the client's own record), not from the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedCreation {
    pub schema: u32,
    pub application_id: ApplicationId,
    pub correlation_id: CorrelationId,
    pub source: CreationSource,
    pub creator_telegram_id: i64,
    /// The creator's row in `staff`, for staff-created applications.
    pub staff_creator_id: Option<i64>,
    pub creator_role: Role,
    pub client: ValidatedClient,
    pub form: ValidatedForm,
    pub submitted_at: DateTime<Utc>,
}


/// Someone acting on an application, as the message claims. The workflow stage believes only the
/// Telegram id: it looks the role up in `staff` (or the client up by their chat) itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub telegram_id: i64,
    pub role: Role,
}

/// A participant or a client asks to move an application: assign, start, complete, cancel, rate…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRequest {
    pub schema: u32,
    /// Chosen by the bot when the button is pressed; a second delivery changes nothing.
    pub request_id: RequestId,
    pub application_id: ApplicationId,
    pub correlation_id: CorrelationId,
    pub transition: TransitionName,
    pub actor: Actor,
    /// The state the actor saw when choosing the action. If the application has moved on since
    /// (someone else acted first, or the button is stale), the request changes nothing and the
    /// actor is told.
    pub expected_state: State,
    /// The technician (`staff.id`) for `assign`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_staff_id: Option<i64>,
    /// The reason of a cancellation, the report of a completion, the comment of a rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// 1 to 5, for `rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    pub requested_at: DateTime<Utc>,
}

/// A client registers in the bot: a new client record, or the link of their Telegram chat to the
/// record staff made earlier for the same phone (then the notifications that waited for the link
/// are sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistration {
    pub schema: u32,
    pub request_id: RequestId,
    pub correlation_id: CorrelationId,
    /// The client's own chat; the bot has checked that the shared contact is the sender's own.
    pub telegram_chat_id: i64,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub language: Locale,
    pub requested_at: DateTime<Utc>,
}

/// What the workflow stage consumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkflowCommand {
    /// The first transition of a new application: route it to the role that handles its kind.
    Route { schema: u32, application_id: ApplicationId, correlation_id: CorrelationId },
    /// Every later transition, asked for by a participant or the client.
    Transition(TransitionRequest),
    /// A client registers or links their chat.
    RegisterClient(ClientRegistration),
}

impl WorkflowCommand {
    pub fn schema(&self) -> u32 {
        match self {
            WorkflowCommand::Route { schema, .. } => *schema,
            WorkflowCommand::Transition(t) => t.schema,
            WorkflowCommand::RegisterClient(r) => r.schema,
        }
    }

    pub fn correlation_id(&self) -> CorrelationId {
        match self {
            WorkflowCommand::Route { correlation_id, .. } => *correlation_id,
            WorkflowCommand::Transition(t) => t.correlation_id,
            WorkflowCommand::RegisterClient(r) => r.correlation_id,
        }
    }

    /// The application the command is about, if any.
    pub fn application_id(&self) -> Option<ApplicationId> {
        match self {
            WorkflowCommand::Route { application_id, .. } => Some(*application_id),
            WorkflowCommand::Transition(t) => Some(t.application_id),
            WorkflowCommand::RegisterClient(_) => None,
        }
    }
}

/// A button under a notification. Its label is a message key rendered in the recipient's
/// language; its `callback_data` is a [`GlobalAction`], which the bot understands whatever
/// dialogue the recipient is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationButton {
    pub label: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, serde_json::Value>,
    pub callback_data: String,
}

/// Buttons that go with a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NotificationMarkup {
    /// Inline buttons under the message.
    Inline { rows: Vec<Vec<NotificationButton>> },
    /// A reply keyboard (the bot's menu), by message keys of its labels.
    Keyboard { rows: Vec<Vec<String>> },
}

/// What a button under a notification does. Unlike the buttons of a dialogue, these are not tied
/// to a step: they can be pressed days later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalAction {
    /// Open the application's card (for a participant, with the actions they may take).
    Open(ApplicationId),
    /// The client rates a completed application.
    Rate(ApplicationId, u8),
}

impl GlobalAction {
    /// The `callback_data` (at most 41 bytes, within Telegram's 64).
    pub fn data(self) -> String {
        match self {
            GlobalAction::Open(id) => format!("o|{id}"),
            GlobalAction::Rate(id, score) => format!("r|{id}|{score}"),
        }
    }

    pub fn parse(data: &str) -> Option<Self> {
        let mut parts = data.split('|');
        let action = match (parts.next()?, parts.next()?.parse::<ApplicationId>().ok()?, parts.next()) {
            ("o", id, None) => GlobalAction::Open(id),
            ("r", id, Some(score)) => GlobalAction::Rate(id, score.parse().ok().filter(|s| (1..=5).contains(s))?),
            _ => return None,
        };
        parts.next().is_none().then_some(action)
    }
}

/// Who a notification goes to. The notification stage looks up the chat and the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Recipient {
    /// A client (`clients.id`); waits for a link when the client has no Telegram chat yet.
    Client { id: i64 },
    /// A staff member (`staff.id`).
    Staff { id: i64 },
    /// A Telegram chat with no record yet (a client whose registration was refused).
    Chat { chat_id: i64, language: Locale },
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Client { id } => write!(f, "client:{id}"),
            Recipient::Staff { id } => write!(f, "staff:{id}"),
            Recipient::Chat { chat_id, .. } => write!(f, "chat:{chat_id}"),
        }
    }
}

/// One message to one person: a template key from `locales/` and its arguments. The dedupe key
/// makes the send happen at most once however often the request is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRequest {
    pub recipient: Recipient,
    pub template: String,
    #[serde(default)]
    pub args: BTreeMap<String, serde_json::Value>,
    pub dedupe_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markup: Option<NotificationMarkup>,
}

/// What the notification stage consumes: the notifications of one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationBatch {
    pub schema: u32,
    pub correlation_id: CorrelationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<ApplicationId>,
    pub items: Vec<NotificationRequest>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_version_7_and_in_the_order_they_were_made() {
        let ids: Vec<ApplicationId> = (0..1000).map(|_| ApplicationId::new()).collect();
        assert!(ids.iter().all(|id| id.0.get_version_num() == 7), "{:?}", ids[0]);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "not in order");
        // The database orders `uuid` by its bytes, as `Uuid`'s `Ord` does: the text form sorts the same.
        assert!(ids.windows(2).all(|w| w[0].to_string() < w[1].to_string()));
    }

    #[test]
    fn global_actions_round_trip_within_64_bytes() {
        let id = ApplicationId::new();
        for action in [GlobalAction::Open(id), GlobalAction::Rate(id, 1), GlobalAction::Rate(id, 5)] {
            let data = action.data();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(GlobalAction::parse(&data), Some(action));
        }
        for bad in ["o|nope", &format!("r|{id}|6"), &format!("r|{id}|0"), &format!("o|{id}|1"), "12|ok", ""] {
            assert_eq!(GlobalAction::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn workflow_commands_are_tagged_json() {
        let t = TransitionRequest {
            schema: SCHEMA_VERSION,
            request_id: RequestId::new(),
            application_id: ApplicationId::new(),
            correlation_id: CorrelationId::new(),
            transition: TransitionName::Assign,
            actor: Actor { telegram_id: 7, role: Role::Manager },
            expected_state: State::AwaitingManager,
            assignee_staff_id: Some(3),
            comment: None,
            rating: None,
            requested_at: Utc::now(),
        };
        let json = serde_json::to_value(WorkflowCommand::Transition(t.clone())).expect("ser");
        assert_eq!(json["type"], "transition");
        assert_eq!(json["transition"], "assign");
        let back: WorkflowCommand = serde_json::from_value(json).expect("de");
        assert_eq!(back, WorkflowCommand::Transition(t));
    }
}
