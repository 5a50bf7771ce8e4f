//! The application's state machine, as data: states, the legal transitions of both kinds, and who
//! is told about each. Staff-created and client-created applications follow this one definition.
//! Who may *take* a transition is in [`crate::permissions::ROLE_PERMISSIONS`].
//!
//! ```text
//! new --route--> awaiting_manager (connection) | awaiting_controller (technical)
//! awaiting_* --assign--> assigned --start--> in_progress --complete--> completed --rate--> rated
//! in_progress --wait_equipment--> waiting_equipment --resume--> in_progress
//! any open state --cancel--> cancelled;   awaiting_* | assigned --withdraw (client)--> cancelled
//! ```

use crate::domain::{ApplicationKind, Role};

crate::domain::closed_set!(
    /// Where an application is in its life.
    State, "state" {
        New => "new",
        AwaitingManager => "awaiting_manager",
        AwaitingController => "awaiting_controller",
        Assigned => "assigned",
        InProgress => "in_progress",
        WaitingEquipment => "waiting_equipment",
        Completed => "completed",
        Rated => "rated",
        Cancelled => "cancelled",
    }
);

crate::domain::closed_set!(
    /// The actions that move an application from one state to another.
    TransitionName, "transition" {
        Route => "route",
        Assign => "assign",
        Start => "start",
        WaitEquipment => "wait_equipment",
        Resume => "resume",
        Complete => "complete",
        Rate => "rate",
        Cancel => "cancel",
        Withdraw => "withdraw",
    }
);

impl State {
    /// A state no transition leaves.
    pub fn is_final(self) -> bool {
        matches!(self, State::Rated | State::Cancelled)
    }
}

/// Who hears about a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// The application's client, in the client's language.
    Client,
    /// The staff member who created the application (staff-created applications only).
    Creator,
    /// Every active staff member of the role that now has the application.
    Participants(Role),
    /// The technician the application is assigned to.
    Assignee,
}

impl Party {
    /// The part of a notification template key that names the audience.
    pub const fn audience(self) -> &'static str {
        match self {
            Party::Client => "client",
            Party::Creator => "creator",
            Party::Participants(_) | Party::Assignee => "participant",
        }
    }
}

/// One legal edge of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub name: TransitionName,
    /// The kind it applies to; `None` for both.
    pub kind: Option<ApplicationKind>,
    pub from: &'static [State],
    pub to: State,
    pub notify: &'static [Party],
}

impl Transition {
    /// The template key of the notification for `party`: `wf-<transition>-<audience>`.
    pub fn template_key(&self, party: Party) -> String {
        format!("wf-{}-{}", self.name.as_str().replace('_', "-"), party.audience())
    }
}

const OPEN_BEFORE_WORK: &[State] = &[State::AwaitingManager, State::AwaitingController, State::Assigned];
const OPEN: &[State] = &[
    State::New,
    State::AwaitingManager,
    State::AwaitingController,
    State::Assigned,
    State::InProgress,
    State::WaitingEquipment,
];

/// Every legal transition. Routing depends on the kind: connection requests go to the managers,
/// technical requests to the controllers.
pub const WORKFLOW: &[Transition] = &[
    Transition {
        name: TransitionName::Route,
        kind: Some(ApplicationKind::Connection),
        from: &[State::New],
        to: State::AwaitingManager,
        notify: &[Party::Client, Party::Creator, Party::Participants(Role::Manager)],
    },
    Transition {
        name: TransitionName::Route,
        kind: Some(ApplicationKind::Technical),
        from: &[State::New],
        to: State::AwaitingController,
        notify: &[Party::Client, Party::Creator, Party::Participants(Role::Controller)],
    },
    Transition {
        name: TransitionName::Assign,
        kind: None,
        from: &[State::AwaitingManager, State::AwaitingController, State::Assigned],
        to: State::Assigned,
        notify: &[Party::Client, Party::Creator, Party::Assignee],
    },
    Transition {
        name: TransitionName::Start,
        kind: None,
        from: &[State::Assigned],
        to: State::InProgress,
        notify: &[Party::Client, Party::Creator],
    },
    Transition {
        name: TransitionName::WaitEquipment,
        kind: None,
        from: &[State::InProgress],
        to: State::WaitingEquipment,
        notify: &[Party::Client, Party::Creator],
    },
    Transition {
        name: TransitionName::Resume,
        kind: None,
        from: &[State::WaitingEquipment],
        to: State::InProgress,
        notify: &[Party::Client, Party::Creator],
    },
    Transition {
        name: TransitionName::Complete,
        kind: None,
        from: &[State::InProgress],
        to: State::Completed,
        notify: &[Party::Client, Party::Creator],
    },
    Transition {
        name: TransitionName::Rate,
        kind: None,
        from: &[State::Completed],
        to: State::Rated,
        notify: &[Party::Creator, Party::Assignee],
    },
    Transition {
        name: TransitionName::Cancel,
        kind: None,
        from: OPEN,
        to: State::Cancelled,
        notify: &[Party::Client, Party::Creator, Party::Assignee],
    },
    Transition {
        name: TransitionName::Withdraw,
        kind: None,
        from: OPEN_BEFORE_WORK,
        to: State::Cancelled,
        notify: &[Party::Creator, Party::Assignee],
    },
];

/// Why a transition cannot be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("{transition} is not possible from {from} for a {kind} application")]
    Illegal { transition: TransitionName, from: State, kind: ApplicationKind },
}

impl TransitionError {
    pub const fn message_key(self) -> &'static str {
        "error-transition-illegal"
    }
}

/// The transition `name` from `from` for an application of `kind`, if the machine allows it.
pub fn find(name: TransitionName, kind: ApplicationKind, from: State) -> Result<&'static Transition, TransitionError> {
    WORKFLOW
        .iter()
        .find(|t| t.name == name && t.kind.is_none_or(|k| k == kind) && t.from.contains(&from))
        .ok_or(TransitionError::Illegal { transition: name, from, kind })
}

/// Renders the machine as a Mermaid state diagram, generated from [`WORKFLOW`] so the docs
/// cannot drift from the code.
pub fn mermaid() -> String {
    let mut out = String::from("stateDiagram-v2\n    [*] --> new\n");
    for t in WORKFLOW {
        for from in t.from {
            let label = match t.kind {
                Some(kind) => format!("{} ({kind})", t.name),
                None => t.name.to_string(),
            };
            out.push_str(&format!("    {from} --> {}: {label}\n", t.to));
        }
    }
    out.push_str("    rated --> [*]\n    cancelled --> [*]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_routed_to_its_own_role() {
        let conn = find(TransitionName::Route, ApplicationKind::Connection, State::New).expect("legal");
        assert_eq!(conn.to, State::AwaitingManager);
        let tech = find(TransitionName::Route, ApplicationKind::Technical, State::New).expect("legal");
        assert_eq!(tech.to, State::AwaitingController);
    }

    #[test]
    fn illegal_transitions_are_refused() {
        assert!(find(TransitionName::Complete, ApplicationKind::Connection, State::AwaitingManager).is_err());
        assert!(find(TransitionName::Route, ApplicationKind::Technical, State::AwaitingController).is_err());
        assert!(find(TransitionName::Withdraw, ApplicationKind::Technical, State::InProgress).is_err());
        for t in WORKFLOW {
            assert!(!t.from.iter().any(|s| s.is_final()), "{:?} leaves a final state", t.name);
        }
    }

    #[test]
    fn every_state_is_reachable_from_new() {
        let mut reached = vec![State::New];
        let mut changed = true;
        while changed {
            changed = false;
            for t in WORKFLOW {
                if t.from.iter().any(|s| reached.contains(s)) && !reached.contains(&t.to) {
                    reached.push(t.to);
                    changed = true;
                }
            }
        }
        for state in State::ALL {
            assert!(reached.contains(state), "{state} is unreachable");
        }
    }

    /// Who is told, in the words of docs/workflow.md.
    fn party_name(party: Party, kind: Option<ApplicationKind>) -> String {
        let name = match party {
            Party::Client => "the client".to_owned(),
            Party::Creator => "the staff creator".to_owned(),
            Party::Participants(role) => format!("active {role}s"),
            Party::Assignee => "the assigned technician".to_owned(),
        };
        match (party, kind) {
            (Party::Participants(_), Some(kind)) => format!("{name} ({kind})"),
            _ => name,
        }
    }

    /// The table of docs/workflow.md: who may take each transition, and who is told.
    fn doc_table() -> String {
        let mut out = String::from("| transition | who may take it | who is told |\n|---|---|---|\n");
        for name in TransitionName::ALL {
            let takers: Vec<&str> = crate::permissions::ROLE_PERMISSIONS
                .iter()
                .filter(|p| p.transitions.contains(name))
                .map(|p| p.role.as_str())
                .collect();
            let takers = if takers.is_empty() { "the pipeline, for a new application".to_owned() } else { takers.join(", ") };
            let mut told: Vec<String> = Vec::new();
            for t in WORKFLOW.iter().filter(|t| t.name == *name) {
                for party in t.notify {
                    let party = party_name(*party, t.kind);
                    if !told.contains(&party) {
                        told.push(party);
                    }
                }
            }
            out.push_str(&format!("| `{name}` | {takers} | {} |\n", told.join(", ")));
        }
        out
    }

    #[test]
    fn docs_workflow_md_shows_the_machine_and_the_permissions_of_the_code() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/workflow.md");
        let doc = std::fs::read_to_string(&path).expect("docs/workflow.md");
        let diagram = doc
            .split("```mermaid\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("docs/workflow.md has a mermaid block");
        assert_eq!(diagram, mermaid(), "docs/workflow.md's diagram differs from the code: paste `ariza workflow`");
        let table = doc_table();
        assert!(doc.contains(&table), "docs/workflow.md's table differs from the code; it should read:\n{table}");
    }

    #[test]
    fn at_most_one_edge_matches_any_action() {
        for t in WORKFLOW {
            for kind in ApplicationKind::ALL {
                for from in t.from {
                    let matches = WORKFLOW
                        .iter()
                        .filter(|o| o.name == t.name && o.kind.is_none_or(|k| k == *kind) && o.from.contains(from))
                        .count();
                    assert!(matches <= 1, "{} from {from} for {kind} is ambiguous", t.name);
                }
            }
        }
    }
}
