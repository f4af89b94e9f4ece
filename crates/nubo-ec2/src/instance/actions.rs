//! `StartInstances`, `StopInstances`, `RebootInstances` and
//! `TerminateInstances`: each moves every named instance in one
//! transaction (all exist and all may change, or nothing changes) into the
//! state the host agent then carries out.

use nubo_core::{Error, ResourceId};

use super::state::{user_transition_reason, InstanceState, StateReason};
use super::{incorrect_state, Instance};
use crate::placement::{self, Allocation, Host, Overcommit};
use crate::resource::{
    self, get_in_tx, store_err, update_in_tx, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;

/// One instance's change, as the state-changing calls answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub instance_id: ResourceId,
    pub previous: InstanceState,
    pub current: InstanceState,
}

/// Which call is moving the instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop { force: bool },
    Terminate,
    Reboot,
}

/// The pure rule: the state `instance` moves to under `action`, or the
/// error AWS answers. `None` = nothing to change (already there).
pub fn plan(instance: &Instance, action: Action) -> Result<Option<InstanceState>, Error> {
    use InstanceState::*;
    let id = &instance.id;
    let state = instance.state;
    match action {
        Action::Start => match state {
            Stopped => Ok(Some(Pending)),
            Pending | Running => Ok(None),
            _ => Err(incorrect_state(id, state, "started")),
        },
        Action::Stop { .. } => {
            if instance.disable_api_stop {
                return Err(Error::client(
                    "OperationNotPermitted",
                    format!(
                        "The instance '{id}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again."
                    ),
                ));
            }
            match state {
                Pending | Running => Ok(Some(Stopping)),
                Stopping | Stopped => Ok(None),
                _ => Err(incorrect_state(id, state, "stopped")),
            }
        }
        Action::Terminate => {
            if instance.disable_api_termination && state != Terminated {
                return Err(Error::client(
                    "OperationNotPermitted",
                    format!(
                        "The instance '{id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again."
                    ),
                ));
            }
            match state {
                ShuttingDown | Terminated => Ok(None),
                _ => Ok(Some(ShuttingDown)),
            }
        }
        Action::Reboot => match state {
            Pending | Running => Ok(None),
            _ => Err(incorrect_state(id, state, "rebooted")),
        },
    }
}

/// What happens to an instance's launch-time public address when an
/// Elastic IP is mapped to (`elastic_on_primary`) or taken off its primary
/// address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchAddress {
    Keep,
    Release,
    Claim,
}

/// The pure rule behind [`Ec2Service::elastic_ip_changed_in_tx`].
pub fn launch_address_after(instance: &Instance, elastic_on_primary: bool) -> LaunchAddress {
    use InstanceState::*;
    match (elastic_on_primary, instance.public_ip) {
        (true, Some(_)) => LaunchAddress::Release,
        (false, None)
            if instance.assign_public_ip && matches!(instance.state, Pending | Running) =>
        {
            LaunchAddress::Claim
        }
        _ => LaunchAddress::Keep,
    }
}

/// For `StartInstances`: a stopped instance keeps its place on its host,
/// but one resized while stopped may no longer fit there (AWS answers
/// `InsufficientInstanceCapacity` at start). `allocations` include the
/// instance itself, at its current type.
pub fn check_room_to_start(
    hosts: &[Host],
    allocations: &[Allocation],
    instance: &Instance,
    ratios: Overcommit,
) -> Result<(), Error> {
    let Some(t) = crate::instance_type::find(&instance.instance_type) else {
        return Ok(());
    };
    let Some(host) = hosts.iter().find(|h| h.id == instance.host_id) else {
        return Ok(());
    };
    let mut others = allocations.to_vec();
    if let Some(own) = others
        .iter()
        .position(|a| a.host_id == host.id && a.vcpus == t.vcpus && a.memory_mib == t.memory_mib)
    {
        others.remove(own);
    }
    let request = placement::Request {
        instance_type: t.name.to_string(),
        zone: None,
        vcpus: t.vcpus,
        memory_mib: t.memory_mib,
    };
    // A draining host still starts what it already holds.
    let host = Host {
        schedulable: true,
        ..host.clone()
    };
    placement::place(std::slice::from_ref(&host), &others, &request, ratios).map(|_| ())
}

impl Ec2Service {
    /// Applies `action` to every instance of `ids`.
    pub async fn change_instances(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        action: Action,
    ) -> Result<Vec<StateChange>, Error> {
        if ids.is_empty() {
            return Err(Error::MissingParameter("InstanceId".into()));
        }
        let changes = with_retry(|| self.change_instances_once(scope, ids, action)).await?;
        self.wake_agents();
        Ok(changes)
    }

    async fn change_instances_once(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        action: Action,
    ) -> Result<Vec<StateChange>, Error> {
        // Placement reads happen outside the transaction, as for RunInstances.
        let capacity = match action {
            Action::Start => Some((self.hosts().await?, self.allocations().await?)),
            _ => None,
        };
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut changes = Vec::with_capacity(ids.len());
        let mut seen = Vec::new();
        for id in ids {
            if seen.contains(id) {
                continue;
            }
            seen.push(id.clone());
            let mut instance: Versioned<Instance> = get_in_tx(&mut tx, scope, id).await?;
            let previous = instance.value.state;
            let next = plan(&instance.value, action)?;
            let now = chrono::Utc::now();
            let i = &mut instance.value;
            match (action, next) {
                (Action::Reboot, _) => {
                    i.reboots_requested += 1;
                }
                (Action::Stop { force }, None) if previous == InstanceState::Stopping && force => {
                    i.force_stop = true;
                }
                (_, None) => {
                    changes.push(StateChange {
                        instance_id: id.clone(),
                        previous,
                        current: previous,
                    });
                    continue;
                }
                (Action::Start, Some(next)) => {
                    if let Some((hosts, allocations)) = &capacity {
                        check_room_to_start(hosts, allocations, i, self.overcommit)?;
                    }
                    i.state = next;
                    i.state_reason = Some(StateReason {
                        code: "pending".into(),
                        message: "pending".into(),
                    });
                    i.state_transition_reason = String::new();
                    i.force_stop = false;
                    i.launch_time = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    let has_elastic_ip = self.primary_has_elastic_ip(&mut tx, scope, i).await?;
                    if i.assign_public_ip && i.public_ip.is_none() && !has_elastic_ip {
                        i.public_ip = Some(self.claim_any_public_ip(&mut tx, scope, &i.id).await?);
                    }
                }
                (Action::Stop { force }, Some(next)) => {
                    i.state = next;
                    i.force_stop = force;
                    i.state_reason = Some(StateReason::user_initiated());
                    i.state_transition_reason = user_transition_reason(now);
                }
                (Action::Terminate, Some(next)) => {
                    i.state = next;
                    i.state_reason = Some(StateReason::user_initiated());
                    i.state_transition_reason = user_transition_reason(now);
                }
            }
            update_in_tx(&mut tx, scope, &instance).await?;
            changes.push(StateChange {
                instance_id: id.clone(),
                previous,
                current: instance.value.state,
            });
        }
        let touched: Vec<&str> = seen.iter().map(|i| i.as_str()).collect();
        resource::commit(tx, scope, &touched).await?;
        Ok(changes)
    }

    /// An Elastic IP was mapped to or taken off the primary address of
    /// interface `eni` (as it now is): when that is an instance's primary
    /// interface, its launch-time public address gives way to the Elastic
    /// IP, and a new one is assigned when the Elastic IP leaves a running
    /// instance (AWS). Returns the instance when it was written.
    pub(crate) async fn elastic_ip_changed_in_tx(
        &self,
        tx: &mut nubo_store::Tx,
        scope: &RequestScope,
        eni: &crate::network_interface::NetworkInterface,
    ) -> Result<Option<ResourceId>, Error> {
        let Some(attachment) = eni.attachment.as_ref().filter(|a| a.device_index == 0) else {
            return Ok(None);
        };
        let Some(row) = tx
            .get_resource(scope.account.as_str(), attachment.instance_id.as_str())
            .await
            .map_err(store_err)?
        else {
            return Ok(None);
        };
        let mut instance: Versioned<Instance> = resource::decode(&row)?;
        match launch_address_after(&instance.value, eni.association().is_some()) {
            LaunchAddress::Keep => return Ok(None),
            LaunchAddress::Release => {
                self.release_launch_public_ip(tx, scope, &mut instance.value)
                    .await?
            }
            LaunchAddress::Claim => {
                match self
                    .claim_any_public_ip(tx, scope, &instance.value.id)
                    .await
                {
                    Ok(ip) => instance.value.public_ip = Some(ip),
                    // An exhausted pool: the next start assigns one.
                    Err(Error::LimitExceeded { .. }) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        }
        update_in_tx(tx, scope, &instance).await?;
        Ok(Some(instance.value.id))
    }

    async fn primary_has_elastic_ip(
        &self,
        tx: &mut nubo_store::Tx,
        scope: &RequestScope,
        instance: &Instance,
    ) -> Result<bool, Error> {
        let row = tx
            .get_resource(
                scope.account.as_str(),
                instance.primary_interface_id.as_str(),
            )
            .await
            .map_err(store_err)?;
        Ok(match row {
            Some(r) => resource::decode::<crate::network_interface::NetworkInterface>(&r)?
                .value
                .association()
                .is_some(),
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::run::tests_support::instance_in;

    fn code(r: Result<Option<InstanceState>, Error>) -> String {
        match r {
            Ok(Some(s)) => s.as_str().into(),
            Ok(None) => "unchanged".into(),
            Err(Error::Client { code, .. }) => code.into(),
            Err(e) => format!("{e:?}"),
        }
    }

    #[test]
    fn the_table_of_user_actions() {
        use InstanceState::*;
        let rows = [
            (Running, Action::Stop { force: false }, "stopping"),
            (Stopped, Action::Stop { force: false }, "unchanged"),
            (
                Terminated,
                Action::Stop { force: true },
                "IncorrectInstanceState",
            ),
            (Stopped, Action::Start, "pending"),
            (Running, Action::Start, "unchanged"),
            (Stopping, Action::Start, "IncorrectInstanceState"),
            (Terminated, Action::Start, "IncorrectInstanceState"),
            (Stopped, Action::Terminate, "shutting-down"),
            (Terminated, Action::Terminate, "unchanged"),
            (Running, Action::Reboot, "unchanged"),
            (Stopped, Action::Reboot, "IncorrectInstanceState"),
        ];
        for (state, action, want) in rows {
            assert_eq!(
                code(plan(&instance_in(state), action)),
                want,
                "{state:?} {action:?}"
            );
        }
    }

    #[test]
    fn an_elastic_ip_replaces_the_launch_time_address() {
        use InstanceState::*;
        let mut i = instance_in(Running);
        i.assign_public_ip = true;
        i.public_ip = Some("198.51.100.9".parse().unwrap());
        assert_eq!(launch_address_after(&i, true), LaunchAddress::Release);
        assert_eq!(launch_address_after(&i, false), LaunchAddress::Keep);
        i.public_ip = None;
        assert_eq!(launch_address_after(&i, true), LaunchAddress::Keep);
        assert_eq!(launch_address_after(&i, false), LaunchAddress::Claim);
        // Stopped instances get theirs at start; unrequested ones never.
        i.state = Stopped;
        assert_eq!(launch_address_after(&i, false), LaunchAddress::Keep);
        i.state = Running;
        i.assign_public_ip = false;
        assert_eq!(launch_address_after(&i, false), LaunchAddress::Keep);
    }

    #[test]
    fn a_resized_stopped_instance_must_fit_its_host_to_start() {
        let host = Host {
            id: "local".into(),
            zones: vec!["us-east-1a".into()],
            vcpus: 2,
            memory_mib: 2048,
            schedulable: false,
        };
        let alloc = |memory_mib| Allocation {
            host_id: "local".into(),
            vcpus: 2,
            memory_mib,
        };
        let mut i = instance_in(InstanceState::Stopped);
        i.instance_type = "t3.small".into();
        let ratios = Overcommit::default();
        // Itself (2048 MiB) alone on a draining host: fits.
        let hosts = std::slice::from_ref(&host);
        assert!(check_room_to_start(hosts, &[alloc(2048)], &i, ratios).is_ok());
        // With another 512 MiB instance: no room.
        let err = check_room_to_start(hosts, &[alloc(512), alloc(2048)], &i, ratios);
        assert_eq!(code(err.map(|_| None)), "InsufficientInstanceCapacity");
        i.instance_type = "t3.nano".into();
        assert!(check_room_to_start(hosts, &[alloc(512), alloc(512)], &i, ratios).is_ok());
    }

    #[test]
    fn protections_refuse() {
        let mut i = instance_in(InstanceState::Running);
        i.disable_api_termination = true;
        assert_eq!(code(plan(&i, Action::Terminate)), "OperationNotPermitted");
        i.disable_api_stop = true;
        assert_eq!(
            code(plan(&i, Action::Stop { force: true })),
            "OperationNotPermitted"
        );
    }
}
