//! The domain: validated values and the messages of the pipeline. Parse once, at the edge, into
//! these types; code that holds one does not check it again.

mod kinds;
mod messages;
mod phone;
mod text;

pub(crate) use kinds::closed_set;
pub use kinds::{ApplicationKind, CreationSource, Locale, Role, UnknownValue};
pub use messages::{
    Actor, ApplicationId, ClientData, ClientRef, ClientRegistration, ClientUpdate, CorrelationId, CreationRequest,
    Creator, Form, GlobalAction, NotificationBatch, NotificationButton, NotificationMarkup, NotificationRequest,
    Recipient, RequestId, SCHEMA_VERSION, TransitionRequest, ValidatedClient, ValidatedClientUpdate,
    ValidatedCreation, ValidatedForm, WorkflowCommand,
};
pub use phone::{PhoneError, PhoneNumber, mask_phone as phone_mask};
pub use text::{Address, Comment, PersonName, ShortText, TextError};
