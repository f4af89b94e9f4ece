//! The EC2 instance lifecycle as an explicit state machine.
//!
//! ```text
//!   RunInstances ──► pending ──(agent: started)──► running
//!                      ▲                              │ StopInstances / guest poweroff
//!        StartInstances│                              ▼
//!                   stopped ◄──(agent: stopped)── stopping
//!   TerminateInstances from pending/running/stopping/stopped ──► shutting-down
//!                   ──(agent: destroyed)──► terminated ──(an hour later)──► gone
//! ```
//!
//! API calls move an instance into the *-ing states (the desired state);
//! the host agent, which does the work, moves it out of them. Both sides ask
//! [`InstanceState::can_become`] first, so no code path can invent a
//! transition AWS does not have.

use serde::{Deserialize, Serialize};

/// AWS's `InstanceStateName`, with its numeric code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

impl InstanceState {
    pub const ALL: [InstanceState; 6] = [
        InstanceState::Pending,
        InstanceState::Running,
        InstanceState::ShuttingDown,
        InstanceState::Terminated,
        InstanceState::Stopping,
        InstanceState::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
        }
    }

    /// AWS's state code (the low byte of `instanceState.code`).
    pub fn code(self) -> u32 {
        match self {
            InstanceState::Pending => 0,
            InstanceState::Running => 16,
            InstanceState::ShuttingDown => 32,
            InstanceState::Terminated => 48,
            InstanceState::Stopping => 64,
            InstanceState::Stopped => 80,
        }
    }

    pub fn parse(text: &str) -> Option<InstanceState> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the instance may move from `self` to `next`.
    pub fn can_become(self, next: InstanceState) -> bool {
        use InstanceState::*;
        matches!(
            (self, next),
            (Pending, Running)
                | (Pending, Stopping)
                | (Pending, ShuttingDown)
                | (Running, Stopping)
                | (Running, ShuttingDown)
                | (Running, Pending) // guest reboot after a crash: re-launched
                | (Stopping, Stopped)
                | (Stopping, ShuttingDown)
                | (Stopped, Pending)
                | (Stopped, ShuttingDown)
                | (ShuttingDown, Terminated)
        )
    }

    /// Whether the host must keep the instance's processes running.
    pub fn wants_processes(self) -> bool {
        matches!(self, InstanceState::Pending | InstanceState::Running)
    }

    /// Whether the instance still holds capacity on its host (every state
    /// but terminated: a stopped instance keeps its disk and its place).
    pub fn holds_capacity(self) -> bool {
        !matches!(self, InstanceState::Terminated)
    }
}

/// Why the instance last changed state, as `stateReason` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReason {
    pub code: String,
    pub message: String,
}

impl StateReason {
    fn new(code: &str, message: &str) -> StateReason {
        StateReason {
            code: code.into(),
            message: message.into(),
        }
    }

    /// StopInstances / TerminateInstances by a user.
    pub fn user_initiated() -> StateReason {
        Self::new(
            "Client.UserInitiatedShutdown",
            "Client.UserInitiatedShutdown: User initiated shutdown",
        )
    }

    /// `poweroff` inside the guest.
    pub fn instance_initiated() -> StateReason {
        Self::new(
            "Client.InstanceInitiatedShutdown",
            "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
        )
    }

    /// The instance could not be started on its host.
    pub fn launch_failed(detail: &str) -> StateReason {
        Self::new(
            "Server.InternalError",
            &format!("Server.InternalError: Internal error on launch: {detail}"),
        )
    }
}

/// `stateTransitionReason`: what AWS writes when a user stops or terminates
/// an instance (`User initiated (2026-11-23 18:00:00 GMT)`).
pub fn user_transition_reason(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("User initiated ({})", at.format("%Y-%m-%d %H:%M:%S GMT"))
}

#[cfg(test)]
mod tests {
    use super::InstanceState::*;
    use super::*;

    #[test]
    fn codes_and_names_are_aws_s() {
        let table: Vec<_> = InstanceState::ALL
            .iter()
            .map(|s| (s.as_str(), s.code()))
            .collect();
        assert_eq!(
            table,
            [
                ("pending", 0),
                ("running", 16),
                ("shutting-down", 32),
                ("terminated", 48),
                ("stopping", 64),
                ("stopped", 80)
            ]
        );
        for s in InstanceState::ALL {
            assert_eq!(InstanceState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn terminated_is_final_and_everything_can_terminate() {
        for s in InstanceState::ALL {
            assert!(!Terminated.can_become(s));
            if s != Terminated && s != ShuttingDown {
                assert!(s.can_become(ShuttingDown), "{s:?}");
            }
        }
    }

    #[test]
    fn stop_start_goes_through_the_ing_states() {
        assert!(Running.can_become(Stopping));
        assert!(!Running.can_become(Stopped));
        assert!(Stopping.can_become(Stopped));
        assert!(Stopped.can_become(Pending));
        assert!(!Stopped.can_become(Running));
        assert!(!Stopping.can_become(Running));
    }

    #[test]
    fn user_reason_is_aws_worded() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T18:00:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            user_transition_reason(at),
            "User initiated (2026-11-23 18:00:05 GMT)"
        );
    }
}
