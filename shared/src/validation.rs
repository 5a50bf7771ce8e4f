//! The validation stage's rules, without I/O: given a creation request and what the database says
//! about its creator and client, either a [`ValidatedCreation`] or the reason it is rejected.
//! The role is taken from the creator's record, never from the message.

use crate::domain::{
    Address, ApplicationKind, ClientRef, ClientUpdate, Comment, CreationRequest, CreationSource, PersonName,
    PhoneNumber, Role, ShortText, TextError, ValidatedClient, ValidatedClientUpdate, ValidatedCreation, ValidatedForm,
};
use crate::domain::TransitionRequest;
use crate::errors::{ClientValidationError, CreationError, Field, PermissionError, TransitionRejection};
use crate::workflow::TransitionName;
use crate::permissions;

/// The creator as the database knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatorRecord {
    /// A row in `staff`.
    Staff { id: i64, role: Role, active: bool, language: crate::domain::Locale },
    /// Not in `staff` (a client acting for themselves, or a stranger).
    NotStaff,
}

/// The client a request names, as the database knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRecord {
    pub id: i64,
    pub telegram_chat_id: Option<i64>,
    /// When a correction changes the phone: the client that already has the new number, if any.
    pub phone_owner: Option<i64>,
}

/// Checks `req` against the rules. `client` is the record of the client an `Existing` reference
/// names (`None` when there is no such client).
pub fn validate_creation(
    req: &CreationRequest,
    creator: &CreatorRecord,
    client: Option<ClientRecord>,
) -> Result<ValidatedCreation, CreationError> {
    let (staff_creator_id, creator_role) = check_creator(req, creator)?;
    let client = check_client(req, client)?;
    let form = check_form(req.kind, &req.form)?;
    Ok(ValidatedCreation {
        schema: crate::domain::SCHEMA_VERSION,
        application_id: req.application_id,
        correlation_id: req.correlation_id,
        source: req.source,
        creator_telegram_id: req.creator.telegram_id,
        staff_creator_id,
        creator_role,
        client,
        form,
        submitted_at: req.submitted_at,
    })
}

/// The checks that need no database: the claimed role may create the kind, and the client's
/// data and the form pass the field rules. The bot and `ariza submit` run these before publishing,
/// so bad input is refused before it reaches the queue; the pipeline runs them again.
pub fn precheck(req: &CreationRequest) -> Result<(), CreationError> {
    permissions::check_create(req.creator.role, req.kind)?;
    match &req.client {
        ClientRef::New(_) => {
            check_client(req, None)?;
        }
        ClientRef::Existing { update: Some(update), .. } => {
            check_update(update)?;
        }
        ClientRef::Existing { update: None, .. } => {}
    }
    check_form(req.kind, &req.form).map(drop)
}

fn check_creator(req: &CreationRequest, creator: &CreatorRecord) -> Result<(Option<i64>, Role), CreationError> {
    match (req.source, creator) {
        (CreationSource::Staff, CreatorRecord::NotStaff) => Err(PermissionError::UnknownStaff.into()),
        (CreationSource::Staff, CreatorRecord::Staff { active: false, .. }) => {
            Err(PermissionError::InactiveStaff.into())
        }
        (CreationSource::Staff, CreatorRecord::Staff { id, role, .. }) => {
            if req.creator.role != *role {
                return Err(PermissionError::RoleMismatch { claimed: req.creator.role, actual: *role }.into());
            }
            permissions::check_create(*role, req.kind)?;
            Ok((Some(*id), *role))
        }
        (CreationSource::Client, _) => {
            if req.creator.role != Role::Client {
                return Err(PermissionError::RoleMismatch { claimed: req.creator.role, actual: Role::Client }.into());
            }
            permissions::check_create(Role::Client, req.kind)?;
            Ok((None, Role::Client))
        }
    }
}

fn check_client(req: &CreationRequest, record: Option<ClientRecord>) -> Result<ValidatedClient, CreationError> {
    match &req.client {
        ClientRef::Existing { client_id, update } => {
            let update = update.as_ref().filter(|u| !u.is_empty()).map(check_update).transpose()?;
            let record = record.filter(|r| r.id == *client_id);
            let Some(record) = record else {
                return Err(ClientValidationError::NotFound { client_id: *client_id }.into());
            };
            if req.source == CreationSource::Client && record.telegram_chat_id != Some(req.creator.telegram_id) {
                return Err(ClientValidationError::NotLinked { client_id: *client_id }.into());
            }
            if record.phone_owner.is_some_and(|owner| owner != *client_id) {
                return Err(ClientValidationError::PhoneTaken.into());
            }
            Ok(ValidatedClient::Existing { client_id: *client_id, update })
        }
        ClientRef::New(data) => {
            let field = |field, error| ClientValidationError::Field { field, error };
            let name = PersonName::parse(&data.name).map_err(|e| field(Field::Name, e))?;
            let phone = PhoneNumber::parse(&data.phone).map_err(ClientValidationError::Phone)?;
            let address = Address::parse(&data.address).map_err(|e| field(Field::Address, e))?;
            let telegram_chat_id = (req.source == CreationSource::Client).then_some(req.creator.telegram_id);
            Ok(ValidatedClient::New { name, phone, address, telegram_chat_id, language: data.language.unwrap_or_default() })
        }
    }
}

/// Checks corrections to a client's record field by field.
pub fn check_update(update: &ClientUpdate) -> Result<ValidatedClientUpdate, ClientValidationError> {
    let field = |field, error| ClientValidationError::Field { field, error };
    Ok(ValidatedClientUpdate {
        name: update.name.as_deref().map(PersonName::parse).transpose().map_err(|e| field(Field::Name, e))?,
        phone: update.phone.as_deref().map(PhoneNumber::parse).transpose().map_err(ClientValidationError::Phone)?,
        address: update.address.as_deref().map(Address::parse).transpose().map_err(|e| field(Field::Address, e))?,
    })
}

/// The parts of a transition request beyond who and which, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionFields {
    pub assignee_staff_id: Option<i64>,
    pub comment: Option<Comment>,
    pub rating: Option<u8>,
}

/// The field rules of a transition request, without the database: `assign` names a technician,
/// `cancel` gives a reason, `complete` says what was done, `rate` is 1 to 5 (its comment is
/// optional, as is any other comment). The bot runs these before publishing; the workflow stage
/// runs them again.
pub fn check_transition_fields(req: &TransitionRequest) -> Result<TransitionFields, TransitionRejection> {
    let text = req.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let required = |field: Field| match text {
        None => Err(TransitionRejection::Field { field, error: TextError::Empty }),
        Some(c) => Comment::parse(c).map(Some).map_err(|error| TransitionRejection::Field { field, error }),
    };
    let comment = match req.transition {
        TransitionName::Route => {
            return Err(TransitionRejection::Illegal { transition: TransitionName::Route, from: req.expected_state });
        }
        TransitionName::Cancel => required(Field::Reason)?,
        TransitionName::Complete => required(Field::Report)?,
        _ => text
            .map(Comment::parse)
            .transpose()
            .map_err(|error| TransitionRejection::Field { field: Field::Comment, error })?,
    };
    let assignee_staff_id = match req.transition {
        TransitionName::Assign => Some(req.assignee_staff_id.ok_or(TransitionRejection::BadAssignee)?),
        _ => None,
    };
    let rating = match req.transition {
        TransitionName::Rate => Some(req.rating.filter(|r| (1..=5).contains(r)).ok_or(TransitionRejection::RatingOutOfRange)?),
        _ => None,
    };
    Ok(TransitionFields { assignee_staff_id, comment, rating })
}

/// An optional text: absent or blank is `None`, anything else must pass the rules.
fn optional<T>(value: Option<&String>, parse: fn(&str) -> Result<T, TextError>, field: Field) -> Result<Option<T>, CreationError> {
    match value.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse(v).map(Some).map_err(|error| CreationError::Field { field, error }),
    }
}

fn check_form(kind: ApplicationKind, form: &crate::domain::Form) -> Result<ValidatedForm, CreationError> {
    let address = Address::parse(&form.address).map_err(|error| CreationError::Field { field: Field::Address, error })?;
    let comment = optional(form.comment.as_ref(), Comment::parse, Field::Comment)?;
    let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    match kind {
        ApplicationKind::Connection => {
            if present(&form.problem) {
                return Err(CreationError::UnexpectedField { kind, field: Field::Problem });
            }
            let tariff = optional(form.tariff.as_ref(), ShortText::parse, Field::Tariff)?;
            Ok(ValidatedForm::Connection { address, tariff, comment })
        }
        ApplicationKind::Technical => {
            if present(&form.tariff) {
                return Err(CreationError::UnexpectedField { kind, field: Field::Tariff });
            }
            let problem = Comment::parse(form.problem.as_deref().unwrap_or_default())
                .map_err(|error| CreationError::Field { field: Field::Problem, error })?;
            Ok(ValidatedForm::Technical { problem, address, comment })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ApplicationId, ClientData, CorrelationId, Creator, Form, Locale};

    fn request(kind: ApplicationKind, role: Role, client: ClientRef) -> CreationRequest {
        CreationRequest {
            schema: crate::domain::SCHEMA_VERSION,
            application_id: ApplicationId::new(),
            correlation_id: CorrelationId::new(),
            kind,
            source: if role == Role::Client { CreationSource::Client } else { CreationSource::Staff },
            creator: Creator { telegram_id: 42, role },
            client,
            form: Form {
                address: "Toshkent, Yunusobod 4-12".into(),
                problem: (kind == ApplicationKind::Technical).then(|| "Internet ishlamayapti".into()),
                ..Form::default()
            },
            submitted_at: chrono::Utc::now(),
        }
    }

    fn new_client() -> ClientRef {
        ClientRef::New(ClientData {
            name: "Dilnoza Karimova".into(),
            phone: "90 123 45 67".into(),
            address: "Toshkent".into(),
            language: None,
        })
    }

    fn staff(role: Role) -> CreatorRecord {
        CreatorRecord::Staff { id: 7, role, active: true, language: Locale::Ru }
    }

    #[test]
    fn the_role_comes_from_the_staff_record_not_the_message() {
        let req = request(ApplicationKind::Technical, Role::Manager, new_client());
        let err = validate_creation(&req, &staff(Role::JuniorManager), None).expect_err("forged");
        assert_eq!(
            err,
            CreationError::Permission(PermissionError::RoleMismatch { claimed: Role::Manager, actual: Role::JuniorManager })
        );
    }

    #[test]
    fn a_junior_managers_technical_request_is_rejected() {
        let req = request(ApplicationKind::Technical, Role::JuniorManager, new_client());
        let err = validate_creation(&req, &staff(Role::JuniorManager), None).expect_err("not allowed");
        assert!(matches!(err, CreationError::Permission(PermissionError::CannotCreate { .. })));
    }

    #[test]
    fn strangers_and_deactivated_staff_are_rejected() {
        let req = request(ApplicationKind::Connection, Role::Manager, new_client());
        assert!(validate_creation(&req, &CreatorRecord::NotStaff, None).is_err());
        let inactive = CreatorRecord::Staff { id: 1, role: Role::Manager, active: false, language: Locale::Uz };
        assert_eq!(validate_creation(&req, &inactive, None), Err(PermissionError::InactiveStaff.into()));
    }

    #[test]
    fn a_valid_request_is_normalised() {
        let req = request(ApplicationKind::Connection, Role::CallCentreOperator, new_client());
        let ok = validate_creation(&req, &staff(Role::CallCentreOperator), None).expect("valid");
        assert_eq!(ok.staff_creator_id, Some(7));
        let ValidatedClient::New { phone, telegram_chat_id, .. } = ok.client else { panic!("new client") };
        assert_eq!(phone.as_str(), "+998901234567");
        assert_eq!(telegram_chat_id, None);
    }

    #[test]
    fn field_errors_name_the_field() {
        let mut req = request(ApplicationKind::Technical, Role::Controller, new_client());
        req.form.problem = Some("   ".into());
        assert_eq!(
            validate_creation(&req, &staff(Role::Controller), None),
            Err(CreationError::Field { field: Field::Problem, error: TextError::Empty })
        );
        let mut req = request(ApplicationKind::Connection, Role::Controller, new_client());
        req.form.address = String::new();
        assert_eq!(
            validate_creation(&req, &staff(Role::Controller), None),
            Err(CreationError::Field { field: Field::Address, error: TextError::Empty })
        );
    }

    #[test]
    fn a_missing_client_is_rejected() {
        let req = request(ApplicationKind::Connection, Role::Manager, ClientRef::Existing { client_id: 5, update: None });
        assert_eq!(
            validate_creation(&req, &staff(Role::Manager), None),
            Err(ClientValidationError::NotFound { client_id: 5 }.into())
        );
    }

    #[test]
    fn corrections_are_checked_and_a_phone_of_another_client_is_refused() {
        let update = ClientUpdate { phone: Some("90 765 43 21".into()), ..ClientUpdate::default() };
        let req = request(ApplicationKind::Connection, Role::Manager, ClientRef::Existing { client_id: 5, update: Some(update) });
        let mine = ClientRecord { id: 5, telegram_chat_id: None, phone_owner: Some(5) };
        let ok = validate_creation(&req, &staff(Role::Manager), Some(mine)).expect("valid");
        let ValidatedClient::Existing { update: Some(u), .. } = ok.client else { panic!("update kept") };
        assert_eq!(u.phone.map(|p| p.as_str().to_owned()).as_deref(), Some("+998907654321"));
        let taken = ClientRecord { id: 5, telegram_chat_id: None, phone_owner: Some(6) };
        assert_eq!(validate_creation(&req, &staff(Role::Manager), Some(taken)), Err(ClientValidationError::PhoneTaken.into()));
        let bad = ClientUpdate { address: Some("  ".into()), ..ClientUpdate::default() };
        let req = request(ApplicationKind::Connection, Role::Manager, ClientRef::Existing { client_id: 5, update: Some(bad) });
        assert!(precheck(&req).is_err());
    }

    #[test]
    fn a_client_may_only_create_for_their_own_record() {
        let req = request(ApplicationKind::Connection, Role::Client, ClientRef::Existing { client_id: 5, update: None });
        let other = ClientRecord { id: 5, telegram_chat_id: Some(99), phone_owner: None };
        assert_eq!(
            validate_creation(&req, &CreatorRecord::NotStaff, Some(other)),
            Err(ClientValidationError::NotLinked { client_id: 5 }.into())
        );
        let own = ClientRecord { id: 5, telegram_chat_id: Some(42), phone_owner: None };
        assert!(validate_creation(&req, &CreatorRecord::NotStaff, Some(own)).is_ok());
    }

    fn transition(name: TransitionName) -> TransitionRequest {
        TransitionRequest {
            schema: crate::domain::SCHEMA_VERSION,
            request_id: crate::domain::RequestId::new(),
            application_id: ApplicationId::new(),
            correlation_id: CorrelationId::new(),
            transition: name,
            actor: crate::domain::Actor { telegram_id: 1, role: Role::Manager },
            expected_state: crate::workflow::State::AwaitingManager,
            assignee_staff_id: None,
            comment: None,
            rating: None,
            requested_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn transitions_need_what_their_action_needs() {
        assert_eq!(check_transition_fields(&transition(TransitionName::Assign)), Err(TransitionRejection::BadAssignee));
        let assign = TransitionRequest { assignee_staff_id: Some(5), ..transition(TransitionName::Assign) };
        assert_eq!(check_transition_fields(&assign).map(|f| f.assignee_staff_id), Ok(Some(5)));
        let blank = TransitionRequest { comment: Some("  \u{7} ".into()), ..transition(TransitionName::Cancel) };
        assert_eq!(
            check_transition_fields(&blank),
            Err(TransitionRejection::Field { field: Field::Reason, error: TextError::Empty })
        );
        assert!(matches!(
            check_transition_fields(&transition(TransitionName::Complete)),
            Err(TransitionRejection::Field { field: Field::Report, .. })
        ));
        for bad in [None, Some(0), Some(6)] {
            let rate = TransitionRequest { rating: bad, ..transition(TransitionName::Rate) };
            assert_eq!(check_transition_fields(&rate), Err(TransitionRejection::RatingOutOfRange));
        }
        let rate = TransitionRequest { rating: Some(5), ..transition(TransitionName::Rate) };
        assert_eq!(check_transition_fields(&rate).map(|f| (f.rating, f.comment)), Ok((Some(5), None)));
        assert!(check_transition_fields(&transition(TransitionName::Route)).is_err());
    }
}
