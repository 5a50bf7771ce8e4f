//! Who hears about a transition, and what they read: the parties of the transition's definition
//! (each person once), the previous technician on a reassignment, and a confirmation to the actor
//! when they are not among them. Every message carries the same arguments, so any template can
//! say what it needs; buttons go where someone has something to do next.

use super::app::{App, StaffRef};
use ariza_shared::domain::{
    ApplicationId, GlobalAction, NotificationButton, NotificationMarkup, NotificationRequest, Recipient, Role,
};
use ariza_shared::errors::MessageArgs;
use ariza_shared::i18n::nested;
use ariza_shared::workflow::{Party, State, Transition, TransitionName};
use serde_json::json;
use sqlx::PgConnection;
use std::collections::HashMap;

/// Who took a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ActorRef {
    Staff { id: i64, role: Role, name: String },
    Client { id: i64, name: String },
}

impl ActorRef {
    pub(super) fn recipient(&self) -> Recipient {
        match self {
            ActorRef::Staff { id, .. } => Recipient::Staff { id: *id },
            ActorRef::Client { id, .. } => Recipient::Client { id: *id },
        }
    }

    pub(super) fn role(&self) -> Role {
        match self {
            ActorRef::Staff { role, .. } => *role,
            ActorRef::Client { .. } => Role::Client,
        }
    }

    fn name(&self) -> &str {
        match self {
            ActorRef::Staff { name, .. } | ActorRef::Client { name, .. } => name,
        }
    }
}

/// One applied transition, as its notifications need it. `app` is the application after the
/// transition (its new state and assignee).
pub(super) struct Event<'a> {
    pub app: &'a App,
    pub transition: &'a Transition,
    /// The prefix of every dedupe key: the transition's request id.
    pub request_id: uuid::Uuid,
    pub actor: &'a ActorRef,
    /// On a reassignment: the technician who had the application before.
    pub previous_assignee: Option<&'a StaffRef>,
    pub comment: Option<&'a str>,
    pub rating: Option<u8>,
}

/// Active staff of a role, looked up once per batch.
#[derive(Default)]
pub(super) struct ParticipantCache(HashMap<Role, Vec<i64>>);

impl ParticipantCache {
    async fn of(&mut self, tx: &mut PgConnection, role: Role) -> Result<Vec<i64>, sqlx::Error> {
        if let Some(ids) = self.0.get(&role) {
            return Ok(ids.clone());
        }
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM staff WHERE role = $1 AND active ORDER BY id")
            .bind(role.as_str())
            .fetch_all(&mut *tx)
            .await?;
        self.0.insert(role, ids.clone());
        Ok(ids)
    }
}

/// The template of the message to the technician who lost the application to another.
pub(crate) const PREVIOUS_ASSIGNEE_TEMPLATE: &str = "wf-assign-previous";
/// The template of the confirmation to an actor who is not among the transition's parties.
pub(crate) const ACTOR_TEMPLATE: &str = "wf-applied-actor";
/// The label of the button that opens an application's card.
pub(crate) const OPEN_BUTTON: &str = "wf-btn-open";
/// The label of a rating button, with `$score`.
pub(crate) const RATE_BUTTON: &str = "wf-btn-rate";

/// Every notification of `event`, each recipient once, in a stable order: the parties in the
/// order of the definition, the previous assignee, then the actor.
pub(super) async fn notifications(
    tx: &mut PgConnection,
    cache: &mut ParticipantCache,
    event: &Event<'_>,
) -> Result<Vec<NotificationRequest>, sqlx::Error> {
    let mut recipients: Vec<(String, Recipient, Option<NotificationMarkup>)> = Vec::new();
    let mut add = |template: String, recipient: Recipient, markup: Option<NotificationMarkup>| {
        if !recipients.iter().any(|(_, r, _)| *r == recipient) {
            recipients.push((template, recipient, markup));
        }
    };
    let t = event.transition;
    for party in t.notify {
        let found: Vec<Recipient> = match party {
            Party::Client => vec![Recipient::Client { id: event.app.client_id }],
            Party::Creator => event.app.creator.iter().map(|c| Recipient::Staff { id: c.id }).collect(),
            Party::Assignee => event.app.assignee.iter().map(|a| Recipient::Staff { id: a.id }).collect(),
            Party::Participants(role) => cache.of(tx, *role).await?.into_iter().map(|id| Recipient::Staff { id }).collect(),
        };
        for recipient in found {
            add(t.template_key(*party), recipient, markup(t.name, *party, event.app.id));
        }
    }
    if let Some(previous) = event.previous_assignee {
        add(PREVIOUS_ASSIGNEE_TEMPLATE.to_owned(), Recipient::Staff { id: previous.id }, None);
    }
    add(ACTOR_TEMPLATE.to_owned(), event.actor.recipient(), None);
    let args = args(event);
    Ok(recipients
        .into_iter()
        .map(|(template, recipient, markup)| NotificationRequest {
            recipient,
            template,
            args: args.clone(),
            dedupe_key: format!("{}:{recipient}", event.request_id),
            markup,
        })
        .collect())
}

/// Buttons for the people with something to do next: participants open a new application, the
/// technician the one assigned to them, the client rates completed work.
fn markup(transition: TransitionName, party: Party, app: ApplicationId) -> Option<NotificationMarkup> {
    let open = || NotificationMarkup::Inline {
        rows: vec![vec![NotificationButton {
            label: OPEN_BUTTON.to_owned(),
            args: MessageArgs::new(),
            callback_data: GlobalAction::Open(app).data(),
        }]],
    };
    match (transition, party) {
        (_, Party::Participants(_)) | (TransitionName::Assign, Party::Assignee) => Some(open()),
        (TransitionName::Complete, Party::Client) => Some(rating_buttons(app)),
        _ => None,
    }
}

/// One row of five buttons, "⭐ 1" to "⭐ 5".
pub(super) fn rating_buttons(app: ApplicationId) -> NotificationMarkup {
    let row = (1..=5u8)
        .map(|score| NotificationButton {
            label: RATE_BUTTON.to_owned(),
            args: [("score".to_owned(), json!(score))].into_iter().collect(),
            callback_data: GlobalAction::Rate(app, score).data(),
        })
        .collect();
    NotificationMarkup::Inline { rows: vec![row] }
}

/// The key of a role's name.
pub(super) fn role_key(role: Role) -> String {
    format!("role-{}", role.as_str().replace('_', "-"))
}

fn state_key(state: State) -> String {
    format!("state-{}", state.as_str().replace('_', "-"))
}

/// The key of an action's name, as the actor's confirmation and a refusal say it.
pub(super) fn action_key(transition: TransitionName) -> String {
    format!("wf-action-{}", transition.as_str().replace('_', "-"))
}

/// The arguments every template of an event may use.
fn args(event: &Event<'_>) -> MessageArgs {
    let app = event.app;
    let mut args = app.args();
    args.insert("state".into(), nested(&state_key(event.transition.to), &MessageArgs::new()));
    args.insert("action".into(), nested(&action_key(event.transition.name), &MessageArgs::new()));
    args.insert("actor_name".into(), json!(event.actor.name()));
    args.insert("actor_role".into(), nested(&role_key(event.actor.role()), &MessageArgs::new()));
    if let Some(comment) = event.comment {
        args.insert("comment".into(), json!(comment));
    }
    if let Some(rating) = event.rating {
        args.insert("rating".into(), json!(rating));
    }
    if let Some(previous) = event.previous_assignee {
        args.insert("previous_assignee_name".into(), json!(previous.name));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rating_buttons_carry_scores_one_to_five() {
        let app = ApplicationId::new();
        let NotificationMarkup::Inline { rows } = rating_buttons(app) else { panic!("inline buttons") };
        assert_eq!(rows.len(), 1);
        let actions: Vec<_> = rows[0].iter().map(|b| GlobalAction::parse(&b.callback_data)).collect();
        assert_eq!(actions, (1..=5).map(|s| Some(GlobalAction::Rate(app, s))).collect::<Vec<_>>());
        assert!(rows[0].iter().all(|b| b.label == RATE_BUTTON && b.args.contains_key("score")));
    }

    #[test]
    fn participants_and_a_new_assignee_get_an_open_button_and_others_none() {
        let app = ApplicationId::new();
        let open = Some(GlobalAction::Open(app));
        let first = |m: Option<NotificationMarkup>| match m {
            Some(NotificationMarkup::Inline { rows }) => GlobalAction::parse(&rows[0][0].callback_data),
            _ => None,
        };
        assert_eq!(first(markup(TransitionName::Route, Party::Participants(Role::Manager), app)), open);
        assert_eq!(first(markup(TransitionName::Assign, Party::Assignee, app)), open);
        assert_eq!(markup(TransitionName::Assign, Party::Client, app), None);
        assert_eq!(markup(TransitionName::Cancel, Party::Assignee, app), None);
        assert_eq!(markup(TransitionName::Complete, Party::Creator, app), None);
        assert_eq!(first(markup(TransitionName::Complete, Party::Client, app)), Some(GlobalAction::Rate(app, 1)));
    }
}
