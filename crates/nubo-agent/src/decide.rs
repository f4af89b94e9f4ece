//! What the host must do for one instance: a pure function of the state the
//! store holds and what the hypervisor observes, so every combination is
//! unit-tested here and the runner only executes steps.

use nubo_compute::{ExitKind, Runtime};
use nubo_ec2::instance::{Instance, InstanceState};

/// One convergence step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do.
    Nothing,
    /// Plug the network, start the instance (idempotent), report `Started`.
    Launch,
    /// The instance should run but its processes are gone (guest reboot,
    /// crash, host restart): plug, start again; `ack` = clear the exit record.
    Relaunch { ack: bool },
    /// Stop then start, and report reboot number `n` done.
    Reboot(u64),
    /// The guest powered off: clear the exit record, report it.
    GuestPowerOff,
    /// Stop (gracefully unless `force`), unplug, report `Stopped`.
    Stop { force: bool },
    /// Stopped in the store but something runs: stop it, without a report.
    EnsureStopped,
    /// Remove every trace of the instance; `report` = report `Destroyed`.
    Destroy { report: bool },
}

/// The step for `instance`, whose runtime the hypervisor reports as
/// `runtime` (`None`: the host has no trace of it at all).
pub fn decide(instance: &Instance, runtime: Option<&Runtime>) -> Step {
    use InstanceState::*;
    let running = matches!(runtime, Some(Runtime::Running { .. }));
    match instance.state {
        Pending => Step::Launch,
        Running => match runtime {
            Some(Runtime::Running { .. }) => {
                if instance.reboots_requested > instance.reboots_done {
                    Step::Reboot(instance.reboots_requested)
                } else {
                    Step::Nothing
                }
            }
            Some(Runtime::Exited(ExitKind::PowerOff)) => Step::GuestPowerOff,
            Some(Runtime::Exited(_)) => Step::Relaunch { ack: true },
            Some(Runtime::Stopped) | None => Step::Relaunch { ack: false },
        },
        Stopping => Step::Stop {
            force: instance.force_stop,
        },
        Stopped if running => Step::EnsureStopped,
        Stopped => Step::Nothing,
        ShuttingDown => Step::Destroy { report: true },
        Terminated if runtime.is_some() => Step::Destroy { report: false },
        Terminated => Step::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_ec2::instance::InstanceState::*;

    fn instance(state: InstanceState) -> Instance {
        let json = format!(
            r#"{{"id":"i-0123456789abcdef0","owner_id":"123456789012","reservation_id":"r-1",
            "image_id":"ami-0123456789abcdef0","instance_type":"t3.micro","key_name":null,"public_key":null,
            "subnet_id":"subnet-0123456789abcdef0","vpc_id":"vpc-0123456789abcdef0","availability_zone":"us-east-1a",
            "primary_interface_id":"eni-0123456789abcdef0","private_ip":"10.0.1.5","private_dns_name":"x",
            "mac_address":"02:00:00:00:00:01","public_ip":null,"assign_public_ip":false,"state":"{}",
            "state_reason":null,"state_transition_reason":"","launch_time":"t","ami_launch_index":0,
            "client_token":null,"user_data":null,"disable_api_termination":false,"disable_api_stop":false,
            "shutdown_behavior":"stop","metadata_options":{{"http_tokens":"optional","http_put_response_hop_limit":1,
            "http_endpoint_enabled":true,"instance_metadata_tags":false}},"host_id":"local",
            "reboots_requested":0,"reboots_done":0,"terminated_at":null}}"#,
            state.as_str()
        );
        serde_json_from(&json)
    }

    fn serde_json_from(json: &str) -> Instance {
        // The store's own encoding: what the agent reads.
        serde_json::from_str(json).expect("instance json")
    }

    const RUNNING: Runtime = Runtime::Running { pid: 42 };

    #[test]
    fn pending_always_launches_idempotently() {
        assert_eq!(decide(&instance(Pending), None), Step::Launch);
        assert_eq!(decide(&instance(Pending), Some(&RUNNING)), Step::Launch);
    }

    #[test]
    fn running_instances_are_kept_running() {
        let i = instance(Running);
        assert_eq!(decide(&i, Some(&RUNNING)), Step::Nothing);
        assert_eq!(decide(&i, None), Step::Relaunch { ack: false });
        assert_eq!(
            decide(&i, Some(&Runtime::Stopped)),
            Step::Relaunch { ack: false }
        );
        assert_eq!(
            decide(&i, Some(&Runtime::Exited(ExitKind::Reboot))),
            Step::Relaunch { ack: true }
        );
        assert_eq!(
            decide(&i, Some(&Runtime::Exited(ExitKind::Crashed))),
            Step::Relaunch { ack: true }
        );
        assert_eq!(
            decide(&i, Some(&Runtime::Exited(ExitKind::PowerOff))),
            Step::GuestPowerOff
        );
    }

    #[test]
    fn reboot_requests_are_carried_out_once() {
        let mut i = instance(Running);
        i.reboots_requested = 2;
        i.reboots_done = 1;
        assert_eq!(decide(&i, Some(&RUNNING)), Step::Reboot(2));
        i.reboots_done = 2;
        assert_eq!(decide(&i, Some(&RUNNING)), Step::Nothing);
    }

    #[test]
    fn stops_and_terminations() {
        let mut i = instance(Stopping);
        assert_eq!(decide(&i, Some(&RUNNING)), Step::Stop { force: false });
        i.force_stop = true;
        assert_eq!(decide(&i, None), Step::Stop { force: true });
        assert_eq!(
            decide(&instance(Stopped), Some(&RUNNING)),
            Step::EnsureStopped
        );
        assert_eq!(
            decide(&instance(Stopped), Some(&Runtime::Stopped)),
            Step::Nothing
        );
        assert_eq!(
            decide(&instance(ShuttingDown), None),
            Step::Destroy { report: true }
        );
        assert_eq!(
            decide(&instance(Terminated), Some(&Runtime::Stopped)),
            Step::Destroy { report: false }
        );
        assert_eq!(decide(&instance(Terminated), None), Step::Nothing);
    }
}
