//! The VPC peering connection lifecycle as AWS describes it, as pure rules:
//! which party may do what in which state ([`transition`]), when a pending
//! request has expired ([`effective_state`]), and how long a finished
//! connection stays visible to each party ([`visible_to`]).
//!
//! AWS's `provisioning` and `deleting` are instantaneous here (a control
//! plane write) and so never observed; `initiating-request` is only the
//! state `CreateVpcPeeringConnection` answers with.

use serde::{Deserialize, Serialize};

/// A pending request expires after this long (AWS: 7 days).
pub const EXPIRY_MS: i64 = 7 * DAY_MS;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The status code of a peering connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeeringState {
    InitiatingRequest,
    PendingAcceptance,
    Active,
    Rejected,
    Deleted,
    Failed,
    Expired,
}

impl PeeringState {
    pub const ALL: [PeeringState; 7] = [
        PeeringState::InitiatingRequest,
        PeeringState::PendingAcceptance,
        PeeringState::Active,
        PeeringState::Rejected,
        PeeringState::Deleted,
        PeeringState::Failed,
        PeeringState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PeeringState::InitiatingRequest => "initiating-request",
            PeeringState::PendingAcceptance => "pending-acceptance",
            PeeringState::Active => "active",
            PeeringState::Rejected => "rejected",
            PeeringState::Deleted => "deleted",
            PeeringState::Failed => "failed",
            PeeringState::Expired => "expired",
        }
    }

    /// Whether the connection still ties its two VPCs together (it blocks
    /// `DeleteVpc` and a second connection between the same VPCs).
    pub fn is_live(self) -> bool {
        match self {
            PeeringState::InitiatingRequest
            | PeeringState::PendingAcceptance
            | PeeringState::Active => true,
            PeeringState::Rejected
            | PeeringState::Deleted
            | PeeringState::Failed
            | PeeringState::Expired => false,
        }
    }
}

/// Which side of a connection the caller's account is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    Requester,
    Accepter,
    /// Both VPCs belong to the caller's account.
    Both,
}

/// What a party asks of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeeringAction {
    Accept,
    Reject,
    Delete,
}

/// Why [`transition`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The action is not this party's to take (`OperationNotPermitted`).
    NotPermitted,
    /// The connection is not in a state that allows it (`InvalidStateTransition`).
    InvalidState,
}

/// The state `action` by `party` moves a connection in state `from` to.
///
/// AWS: only the accepter accepts or rejects a pending request; either
/// owner deletes an active connection; only the requester deletes a pending
/// request (the accepter rejects it instead); nothing else moves.
pub fn transition(
    from: PeeringState,
    action: PeeringAction,
    party: Party,
) -> Result<PeeringState, Refusal> {
    use PeeringAction::*;
    use PeeringState::*;
    let accepter = matches!(party, Party::Accepter | Party::Both);
    let requester = matches!(party, Party::Requester | Party::Both);
    match (from, action) {
        (PendingAcceptance, Accept) if accepter => Ok(Active),
        (PendingAcceptance, Reject) if accepter => Ok(Rejected),
        (PendingAcceptance, Accept) | (PendingAcceptance, Reject) => Err(Refusal::NotPermitted),
        (PendingAcceptance, Delete) if requester => Ok(Deleted),
        (PendingAcceptance, Delete) => Err(Refusal::NotPermitted),
        (Active, Delete) => Ok(Deleted),
        (Active, Accept) | (Active, Reject) => Err(Refusal::InvalidState),
        (InitiatingRequest, Accept)
        | (InitiatingRequest, Reject)
        | (InitiatingRequest, Delete)
        | (Rejected, Accept)
        | (Rejected, Reject)
        | (Rejected, Delete)
        | (Deleted, Accept)
        | (Deleted, Reject)
        | (Deleted, Delete)
        | (Failed, Accept)
        | (Failed, Reject)
        | (Failed, Delete)
        | (Expired, Accept)
        | (Expired, Reject)
        | (Expired, Delete) => Err(Refusal::InvalidState),
    }
}

/// The state a stored connection is in at `now_ms`: a pending request past
/// its expiration time has expired (computed on read; nothing rewrites it).
pub fn effective_state(stored: PeeringState, expiration_ms: i64, now_ms: i64) -> PeeringState {
    if stored == PeeringState::PendingAcceptance && now_ms >= expiration_ms {
        PeeringState::Expired
    } else {
        stored
    }
}

/// Whether `viewer` still sees a connection in `state` that got there at
/// `since_ms`, `acted` being the party that deleted or rejected it. AWS keeps
/// finished connections visible for a while: a failed one 2 hours to the
/// requester only; a rejected one 2 days to the requester and 2 hours to the
/// accepter; a deleted one 2 hours to the party that deleted it and 2 days to
/// the other (2 hours within one account); an expired one 2 days to both.
pub fn visible_to(
    state: PeeringState,
    since_ms: i64,
    acted: Option<Party>,
    viewer: Party,
    now_ms: i64,
) -> bool {
    let window = match state {
        PeeringState::InitiatingRequest
        | PeeringState::PendingAcceptance
        | PeeringState::Active => return true,
        PeeringState::Failed => match viewer {
            Party::Accepter => return false,
            Party::Requester | Party::Both => 2 * HOUR_MS,
        },
        PeeringState::Rejected => match viewer {
            Party::Requester => 2 * DAY_MS,
            Party::Accepter | Party::Both => 2 * HOUR_MS,
        },
        PeeringState::Deleted => match viewer {
            Party::Both => 2 * HOUR_MS,
            _ if Some(viewer) == acted => 2 * HOUR_MS,
            Party::Requester | Party::Accepter => 2 * DAY_MS,
        },
        PeeringState::Expired => 2 * DAY_MS,
    };
    now_ms < since_ms.saturating_add(window)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTIES: [Party; 3] = [Party::Requester, Party::Accepter, Party::Both];
    const ACTIONS: [PeeringAction; 3] = [
        PeeringAction::Accept,
        PeeringAction::Reject,
        PeeringAction::Delete,
    ];

    #[test]
    fn every_state_action_and_party_has_the_aws_answer() {
        use PeeringAction::*;
        use PeeringState::*;
        for from in PeeringState::ALL {
            for action in ACTIONS {
                for party in PARTIES {
                    let expected = match (from, action, party) {
                        (PendingAcceptance, Accept, Party::Accepter | Party::Both) => Ok(Active),
                        (PendingAcceptance, Reject, Party::Accepter | Party::Both) => Ok(Rejected),
                        (PendingAcceptance, Accept | Reject, Party::Requester) => {
                            Err(Refusal::NotPermitted)
                        }
                        (PendingAcceptance, Delete, Party::Requester | Party::Both) => Ok(Deleted),
                        (PendingAcceptance, Delete, Party::Accepter) => Err(Refusal::NotPermitted),
                        (Active, Delete, _) => Ok(Deleted),
                        _ => Err(Refusal::InvalidState),
                    };
                    assert_eq!(
                        transition(from, action, party),
                        expected,
                        "{from:?} {action:?} by {party:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_pending_request_expires_after_seven_days_and_nothing_else_does() {
        let created = 1_000_000;
        let expires = created + EXPIRY_MS;
        let pending = PeeringState::PendingAcceptance;
        assert_eq!(effective_state(pending, expires, expires - 1), pending);
        assert_eq!(
            effective_state(pending, expires, expires),
            PeeringState::Expired
        );
        for s in PeeringState::ALL {
            if s != pending {
                assert_eq!(effective_state(s, expires, expires + DAY_MS), s);
            }
        }
    }

    #[test]
    fn finished_connections_stay_visible_for_aws_windows() {
        let t = 10 * DAY_MS;
        let seen = |state, acted, viewer, after| visible_to(state, t, acted, viewer, t + after);
        for viewer in PARTIES {
            assert!(seen(PeeringState::Active, None, viewer, 30 * DAY_MS));
            assert!(seen(PeeringState::Expired, None, viewer, 2 * DAY_MS - 1));
            assert!(!seen(PeeringState::Expired, None, viewer, 2 * DAY_MS));
        }
        assert!(!seen(PeeringState::Failed, None, Party::Accepter, 0));
        assert!(seen(PeeringState::Failed, None, Party::Requester, HOUR_MS));
        assert!(!seen(
            PeeringState::Failed,
            None,
            Party::Requester,
            2 * HOUR_MS
        ));
        let rejected = Some(Party::Accepter);
        assert!(seen(
            PeeringState::Rejected,
            rejected,
            Party::Requester,
            DAY_MS
        ));
        assert!(!seen(
            PeeringState::Rejected,
            rejected,
            Party::Accepter,
            DAY_MS
        ));
        let by_requester = Some(Party::Requester);
        assert!(!seen(
            PeeringState::Deleted,
            by_requester,
            Party::Requester,
            3 * HOUR_MS
        ));
        assert!(seen(
            PeeringState::Deleted,
            by_requester,
            Party::Accepter,
            3 * HOUR_MS
        ));
        assert!(!seen(
            PeeringState::Deleted,
            by_requester,
            Party::Accepter,
            2 * DAY_MS
        ));
        assert!(!seen(
            PeeringState::Deleted,
            Some(Party::Both),
            Party::Both,
            3 * HOUR_MS
        ));
    }

    #[test]
    fn only_pending_and_active_connections_are_live() {
        for s in PeeringState::ALL {
            let live = matches!(
                s,
                PeeringState::InitiatingRequest
                    | PeeringState::PendingAcceptance
                    | PeeringState::Active
            );
            assert_eq!(s.is_live(), live, "{s:?}");
        }
    }
}
