//! The one role-permission matrix. The bot decides which buttons to show from it, and the
//! pipeline checks it again against the creator's row in `staff`, so a forged message or a
//! typed command cannot get around it.

use crate::domain::{ApplicationKind, Role};
use crate::errors::PermissionError;
use crate::workflow::TransitionName;

/// What one role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolePermissions {
    pub role: Role,
    /// The kinds of application the role may create.
    pub create: &'static [ApplicationKind],
    /// The workflow transitions the role may take.
    pub transitions: &'static [TransitionName],
}

use ApplicationKind::{Connection, Technical};
use TransitionName::{Assign, Cancel, Complete, Rate, Resume, Start, WaitEquipment, Withdraw};

/// Which role may create which kind, and take which transition. `route` is taken by the
/// pipeline for whoever may create the kind.
pub const ROLE_PERMISSIONS: &[RolePermissions] = &[
    RolePermissions { role: Role::Manager, create: &[Connection, Technical], transitions: &[Assign, Cancel] },
    RolePermissions { role: Role::JuniorManager, create: &[Connection], transitions: &[] },
    RolePermissions { role: Role::Controller, create: &[Connection, Technical], transitions: &[Assign, Cancel] },
    RolePermissions { role: Role::CallCentreOperator, create: &[Connection, Technical], transitions: &[Cancel] },
    RolePermissions {
        role: Role::Technician,
        create: &[],
        transitions: &[Start, WaitEquipment, Resume, Complete],
    },
    RolePermissions { role: Role::Administrator, create: &[], transitions: &[Assign, Cancel] },
    RolePermissions { role: Role::Client, create: &[Connection, Technical], transitions: &[Withdraw, Rate] },
];

/// The permissions of `role`.
pub fn of(role: Role) -> &'static RolePermissions {
    ROLE_PERMISSIONS
        .iter()
        .find(|p| p.role == role)
        .unwrap_or(&RolePermissions { role: Role::Client, create: &[], transitions: &[] })
}

/// The kinds `role` may create, in menu order.
pub fn creatable_kinds(role: Role) -> &'static [ApplicationKind] {
    of(role).create
}

/// Whether `role` may create an application of `kind`.
pub fn check_create(role: Role, kind: ApplicationKind) -> Result<(), PermissionError> {
    if of(role).create.contains(&kind) {
        Ok(())
    } else {
        Err(PermissionError::CannotCreate { role, kind })
    }
}

/// Whether `role` may take `transition`.
pub fn check_transition(role: Role, transition: TransitionName) -> Result<(), PermissionError> {
    if of(role).transitions.contains(&transition) {
        Ok(())
    } else {
        Err(PermissionError::CannotTransition { role, transition })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_exactly_one_row() {
        for role in Role::ALL {
            assert_eq!(ROLE_PERMISSIONS.iter().filter(|p| p.role == *role).count(), 1, "{role}");
        }
    }

    #[test]
    fn a_junior_manager_creates_connection_requests_only() {
        assert!(check_create(Role::JuniorManager, Connection).is_ok());
        assert_eq!(
            check_create(Role::JuniorManager, Technical),
            Err(PermissionError::CannotCreate { role: Role::JuniorManager, kind: Technical })
        );
    }

    #[test]
    fn manager_controller_and_call_centre_create_both_kinds() {
        for role in [Role::Manager, Role::Controller, Role::CallCentreOperator] {
            for kind in ApplicationKind::ALL {
                assert!(check_create(role, *kind).is_ok(), "{role} {kind}");
            }
        }
        assert!(check_create(Role::Technician, Connection).is_err());
    }

    #[test]
    fn every_transition_but_route_is_someones_to_take() {
        for name in TransitionName::ALL.iter().filter(|t| **t != TransitionName::Route) {
            assert!(ROLE_PERMISSIONS.iter().any(|p| p.transitions.contains(name)), "{name}");
        }
        assert!(ROLE_PERMISSIONS.iter().all(|p| !p.transitions.contains(&TransitionName::Route)));
    }
}
