//! Business errors: what a staff member or a client is told when the rules say no. Each has a
//! message key in `locales/` (both languages) and the arguments that key takes.
//!
//! These are not failures of the system: the pipeline stores a rejected request with its reason
//! and tells the creator, it does not retry or dead-letter it.

use crate::domain::{ApplicationKind, PhoneError, Role, TextError};
use crate::workflow::{State, TransitionName};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The arguments of a message key.
pub type MessageArgs = BTreeMap<String, Value>;

/// A user-visible error: a key in `locales/` and its arguments.
pub trait UserError {
    fn message_key(&self) -> String;
    fn message_args(&self) -> MessageArgs {
        MessageArgs::new()
    }
}

/// The rules said no to this person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionError {
    #[error("a {role} may not create {kind} applications")]
    CannotCreate { role: Role, kind: ApplicationKind },
    #[error("a {role} may not {transition} an application")]
    CannotTransition { role: Role, transition: TransitionName },
    #[error("the sender is not registered staff")]
    UnknownStaff,
    #[error("the staff member is deactivated")]
    InactiveStaff,
    #[error("the message claims the role {claimed} but the staff member is a {actual}")]
    RoleMismatch { claimed: Role, actual: Role },
}

impl UserError for PermissionError {
    fn message_key(&self) -> String {
        match self {
            PermissionError::CannotCreate { .. } => "error-permission-create",
            PermissionError::CannotTransition { .. } => "error-permission-transition",
            PermissionError::UnknownStaff => "error-unknown-staff",
            PermissionError::InactiveStaff => "error-inactive-staff",
            PermissionError::RoleMismatch { .. } => "error-role-mismatch",
        }
        .to_owned()
    }

    fn message_args(&self) -> MessageArgs {
        match self {
            PermissionError::CannotCreate { role, kind } => {
                args([("role", json!(role.as_str())), ("kind", json!(kind.as_str()))])
            }
            PermissionError::CannotTransition { role, transition } => {
                args([("role", json!(role.as_str())), ("transition", json!(transition.as_str()))])
            }
            PermissionError::RoleMismatch { claimed, actual } => {
                args([("claimed", json!(claimed.as_str())), ("role", json!(actual.as_str()))])
            }
            PermissionError::UnknownStaff | PermissionError::InactiveStaff => MessageArgs::new(),
        }
    }
}

/// A field of a form or of a client's data, for field-specific messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    Address,
    Tariff,
    Problem,
    Comment,
    /// The reason of a cancellation.
    Reason,
    /// What a technician did, when completing.
    Report,
}

impl Field {
    pub const ALL: &'static [Field] =
        &[Field::Name, Field::Address, Field::Tariff, Field::Problem, Field::Comment, Field::Reason, Field::Report];

    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Address => "address",
            Field::Tariff => "tariff",
            Field::Problem => "problem",
            Field::Comment => "comment",
            Field::Reason => "reason",
            Field::Report => "report",
        }
    }
}

/// The client of a request is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientValidationError {
    #[error("client {field:?}: {error}")]
    Field { field: Field, error: TextError },
    #[error("client phone: {0}")]
    Phone(PhoneError),
    #[error("client {client_id} does not exist")]
    NotFound { client_id: i64 },
    #[error("client {client_id} is not linked to the sender's Telegram chat")]
    NotLinked { client_id: i64 },
    #[error("the new phone number belongs to another client")]
    PhoneTaken,
}

impl UserError for ClientValidationError {
    fn message_key(&self) -> String {
        match self {
            ClientValidationError::Field { field, error } => field_error_key(*field, *error),
            ClientValidationError::Phone(e) => e.message_key().to_owned(),
            ClientValidationError::NotFound { .. } => "error-client-not-found".to_owned(),
            ClientValidationError::NotLinked { .. } => "error-client-not-linked".to_owned(),
            ClientValidationError::PhoneTaken => "error-phone-taken".to_owned(),
        }
    }

    fn message_args(&self) -> MessageArgs {
        match self {
            ClientValidationError::Field { error: TextError::TooLong { max }, .. } => args([("max", json!(max))]),
            ClientValidationError::NotFound { client_id } | ClientValidationError::NotLinked { client_id } => {
                args([("client_id", json!(client_id))])
            }
            _ => MessageArgs::new(),
        }
    }
}

/// Why an application could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreationError {
    #[error(transparent)]
    Permission(#[from] PermissionError),
    #[error(transparent)]
    Client(#[from] ClientValidationError),
    #[error("form {field:?}: {error}")]
    Field { field: Field, error: TextError },
    #[error("a {kind} application does not take a {field:?}")]
    UnexpectedField { kind: ApplicationKind, field: Field },
}

impl UserError for CreationError {
    fn message_key(&self) -> String {
        match self {
            CreationError::Permission(e) => e.message_key(),
            CreationError::Client(e) => e.message_key(),
            CreationError::Field { field, error } => field_error_key(*field, *error),
            CreationError::UnexpectedField { .. } => "error-field-unexpected".to_owned(),
        }
    }

    fn message_args(&self) -> MessageArgs {
        match self {
            CreationError::Permission(e) => e.message_args(),
            CreationError::Client(e) => e.message_args(),
            CreationError::Field { error: TextError::TooLong { max }, .. } => args([("max", json!(max))]),
            CreationError::Field { .. } => MessageArgs::new(),
            CreationError::UnexpectedField { kind, field } => {
                args([("kind", json!(kind.as_str())), ("field", json!(field.as_str()))])
            }
        }
    }
}

/// A workflow action that cannot be applied. Not a failure: the actor is told why, and nothing
/// changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionRejection {
    #[error(transparent)]
    Permission(#[from] PermissionError),
    #[error("{transition} is not possible from {from}")]
    Illegal { transition: TransitionName, from: State },
    #[error("the application does not exist")]
    NoSuchApplication,
    #[error("the assignee is not an active technician")]
    BadAssignee,
    /// The application moved on since the actor saw it: someone else acted first, or the button
    /// was pressed again.
    #[error("the application is now {state}, not {expected}")]
    Stale { expected: State, state: State },
    /// A technician acting on work assigned to someone else, a client on another's application.
    #[error("the application is not the actor's")]
    NotYours,
    /// No client record is linked to the sender's chat.
    #[error("the sender is not a registered client")]
    UnknownClient,
    #[error("{field:?}: {error}")]
    Field { field: Field, error: TextError },
    #[error("a rating is from 1 to 5")]
    RatingOutOfRange,
}

impl UserError for TransitionRejection {
    fn message_key(&self) -> String {
        match self {
            TransitionRejection::Permission(e) => e.message_key(),
            TransitionRejection::Illegal { .. } => "error-transition-illegal".to_owned(),
            TransitionRejection::NoSuchApplication => "error-application-not-found".to_owned(),
            TransitionRejection::BadAssignee => "error-bad-assignee".to_owned(),
            TransitionRejection::Stale { .. } => "error-transition-stale".to_owned(),
            TransitionRejection::NotYours => "error-transition-not-yours".to_owned(),
            TransitionRejection::UnknownClient => "error-unknown-client".to_owned(),
            TransitionRejection::Field { field, error } => field_error_key(*field, *error),
            TransitionRejection::RatingOutOfRange => "error-rating-range".to_owned(),
        }
    }

    fn message_args(&self) -> MessageArgs {
        match self {
            TransitionRejection::Permission(e) => e.message_args(),
            TransitionRejection::Illegal { transition, from } => {
                args([("transition", json!(transition.as_str())), ("state", json!(from.as_str()))])
            }
            TransitionRejection::Stale { expected, state } => {
                args([("expected", json!(expected.as_str())), ("state", json!(state.as_str()))])
            }
            TransitionRejection::Field { error: TextError::TooLong { max }, .. } => args([("max", json!(max))]),
            _ => MessageArgs::new(),
        }
    }
}

/// The key for a field's text error: `error-<field>-empty` or `error-<field>-too-long`.
pub fn field_error_key(field: Field, error: TextError) -> String {
    match error {
        TextError::Empty => format!("error-{}-empty", field.as_str()),
        TextError::TooLong { .. } => format!("error-{}-too-long", field.as_str()),
    }
}

/// Every message key the errors of this module can produce, for the locale completeness test.
pub fn all_error_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "error-permission-create",
        "error-permission-transition",
        "error-unknown-staff",
        "error-inactive-staff",
        "error-role-mismatch",
        "error-client-not-found",
        "error-client-not-linked",
        "error-phone-taken",
        "error-field-unexpected",
        "error-transition-illegal",
        "error-application-not-found",
        "error-bad-assignee",
        "error-transition-stale",
        "error-transition-not-yours",
        "error-unknown-client",
        "error-rating-range",
        PhoneError::Empty.message_key(),
        PhoneError::WrongShape.message_key(),
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for field in Field::ALL {
        for error in [TextError::Empty, TextError::TooLong { max: 1 }] {
            keys.push(field_error_key(*field, error));
        }
    }
    keys
}

fn args<const N: usize>(pairs: [(&str, Value); N]) -> MessageArgs {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
