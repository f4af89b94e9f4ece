//! The host side of instances: host registration, placement inputs, what a
//! host agent must run, and the transitions the agent reports back.
//!
//! Hosts are rows of the installation's system account (kind [`HOST_KIND`]);
//! an agent registers its host — in the all-in-one server the local agent
//! does it in-process through the same call a remote agent will use. The
//! agent reads every instance placed on its host with
//! [`Ec2Service::host_instances`], converges the host to each instance's
//! state, and reports what it did with [`Ec2Service::report`], which moves
//! the instance out of `pending`/`stopping`/`shutting-down` in one
//! transaction (releasing the launch-time public address at stop, deleting
//! the primary interface at termination).

use std::net::Ipv4Addr;

use nubo_core::{AccountId, Error, ResourceId, ResourceKind};
use nubo_store::ResourceRow;
use serde::{Deserialize, Serialize};

use super::state::{user_transition_reason, StateReason};
use super::{Instance, InstanceState, ShutdownBehavior};
use crate::network_interface::NetworkInterface;
use crate::placement::{Allocation, Host};
use crate::resource::bookkeeping_row;
use crate::resource::{
    self, decode, encode, store_err, update_in_tx, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;
use crate::subnet::Subnet;
use crate::vpc::{CidrState, Vpc};

/// The account that owns installation-wide rows (hosts, base images).
pub use nubo_core::SYSTEM_ACCOUNT_ID as SYSTEM_ACCOUNT;

/// The store kind of host rows.
pub const HOST_KIND: &str = "host";

/// A compute host as registered by its agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRecord {
    /// Stable name of the host (its hostname, or `local`).
    pub id: String,
    pub zones: Vec<String>,
    pub vcpus: u32,
    pub memory_mib: u64,
    pub schedulable: bool,
    /// The hypervisor driver (`container`, later `qemu`).
    pub hypervisor: String,
    /// RFC 3339, the last registration.
    pub registered_at: String,
}

fn host_row_id(id: &str) -> String {
    format!("{HOST_KIND}:{id}")
}

/// One instance a host must run, with what the agent needs to run it.
#[derive(Debug, Clone)]
pub struct HostInstance {
    pub account: AccountId,
    pub region: String,
    pub instance: Instance,
    /// Attached interfaces, primary (device index 0) first.
    pub interfaces: Vec<NetworkInterface>,
    /// The primary interface's subnet CIDR and the VPC's CIDR blocks.
    pub subnet_cidr: String,
    pub vpc_cidrs: Vec<String>,
    /// The image's root filesystem (the instance's read-only lower layer).
    pub image_rootfs: std::path::PathBuf,
}

/// Rows read for one `host_instances` call: preloaded whole kinds when the
/// host runs many instances, else looked up one by one.
#[derive(Default)]
struct RowCache {
    loaded: bool,
    rows: std::collections::HashMap<(String, String), ResourceRow>,
}

impl RowCache {
    const BULK_ABOVE: usize = 16;

    fn load(&mut self, rows: Vec<ResourceRow>) {
        self.loaded = true;
        for r in rows {
            self.rows.insert((r.account_id.clone(), r.id.clone()), r);
        }
    }

    async fn get(
        &self,
        ec2: &Ec2Service,
        account: &str,
        id: &str,
    ) -> Result<Option<ResourceRow>, Error> {
        if self.loaded {
            return Ok(self
                .rows
                .get(&(account.to_string(), id.to_string()))
                .cloned());
        }
        ec2.store.get_resource(account, id).await.map_err(store_err)
    }
}

/// What the agent did to an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Its processes run (after a launch, start or guest reboot).
    Started,
    /// It could not be started; `detail` says why.
    StartFailed(String),
    /// Its processes are gone after a stop.
    Stopped,
    /// The guest powered itself off.
    GuestPoweredOff,
    /// Everything of it is gone from the host.
    Destroyed,
    /// Reboot number `n` is done.
    Rebooted(u64),
}

/// What the EC2 service asks of the host agent directly (everything else
/// goes through the store): wake up now, and read an instance's console.
pub trait AgentLink: Send + Sync {
    /// Desired state changed: converge now rather than at the next tick.
    fn wake(&self);
    /// The instance's console output (`GetConsoleOutput`), empty when it
    /// has none yet.
    fn console_output(&self, instance_id: &str) -> Result<Vec<u8>, Error>;
}

impl Ec2Service {
    /// Connects the host agent (once; later calls are ignored).
    pub fn attach_agent(&self, link: std::sync::Arc<dyn AgentLink>) {
        let _ = self.agent.set(link);
    }

    /// Tells the agent that desired state changed.
    pub(crate) fn wake_agents(&self) {
        if let Some(agent) = self.agent.get() {
            agent.wake();
        }
    }

    /// Registers (or refreshes) a host.
    pub async fn register_host(&self, host: &HostRecord) -> Result<(), Error> {
        with_retry(|| self.register_host_once(host)).await
    }

    async fn register_host_once(&self, host: &HostRecord) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let id = host_row_id(&host.id);
        let body = encode(host)?;
        match tx
            .get_resource(SYSTEM_ACCOUNT, &id)
            .await
            .map_err(store_err)?
        {
            Some(row) => {
                tx.update_resource(SYSTEM_ACCOUNT, &id, row.generation, &body)
                    .await
                    .map_err(store_err)?;
            }
            None => {
                let row = bookkeeping_row(SYSTEM_ACCOUNT, "", HOST_KIND, id, None, host)?;
                tx.insert_resource(&row).await.map_err(store_err)?;
            }
        }
        tx.commit().await.map_err(store_err)
    }

    /// Every registered host, as the scheduler sees it.
    pub(crate) async fn hosts(&self) -> Result<Vec<Host>, Error> {
        let rows = self
            .store
            .list_kind_everywhere(HOST_KIND)
            .await
            .map_err(store_err)?;
        rows.iter()
            .map(|r| {
                let h: Versioned<HostRecord> = decode(r)?;
                Ok(Host {
                    id: h.value.id,
                    zones: h.value.zones,
                    vcpus: h.value.vcpus,
                    memory_mib: h.value.memory_mib,
                    schedulable: h.value.schedulable,
                })
            })
            .collect()
    }

    /// Every instance of the installation (all accounts and regions).
    pub(crate) async fn all_instances(&self) -> Result<Vec<(ResourceRow, Instance)>, Error> {
        let rows = self
            .store
            .list_kind_everywhere(ResourceKind::Instance.prefix())
            .await
            .map_err(store_err)?;
        rows.into_iter()
            .map(|r| {
                let i: Versioned<Instance> = decode(&r)?;
                Ok((r, i.value))
            })
            .collect()
    }

    /// What every instance that still holds capacity has been promised.
    pub(crate) async fn allocations(&self) -> Result<Vec<Allocation>, Error> {
        let mut out = Vec::new();
        for (_, i) in self.all_instances().await? {
            if !i.state.holds_capacity() {
                continue;
            }
            if let Some(t) = crate::instance_type::find(&i.instance_type) {
                out.push(Allocation {
                    host_id: i.host_id.clone(),
                    vcpus: t.vcpus,
                    memory_mib: t.memory_mib,
                });
            }
        }
        Ok(out)
    }

    /// Every instance placed on `host_id`, terminated ones included until
    /// they disappear, with the network facts the agent plugs in.
    pub async fn host_instances(&self, host_id: &str) -> Result<Vec<HostInstance>, Error> {
        let mine: Vec<(ResourceRow, Instance)> = self
            .all_instances()
            .await?
            .into_iter()
            .filter(|(_, i)| i.host_id == host_id)
            .collect();
        let live = mine
            .iter()
            .filter(|(_, i)| i.state != InstanceState::Terminated)
            .count();
        let mut rows = RowCache::default();
        if live > RowCache::BULK_ABOVE {
            // Many instances: three reads of whole kinds beat 3 × n lookups.
            for kind in [
                ResourceKind::NetworkInterface,
                ResourceKind::Subnet,
                ResourceKind::Vpc,
            ] {
                rows.load(
                    self.store
                        .list_kind_everywhere(kind.prefix())
                        .await
                        .map_err(store_err)?,
                );
            }
        }
        let mut out = Vec::with_capacity(mine.len());
        for (row, instance) in mine {
            let account = AccountId::parse(&row.account_id)?;
            let mut interfaces = Vec::new();
            if instance.state != InstanceState::Terminated {
                if let Some(eni) = rows
                    .get(
                        self,
                        &row.account_id,
                        instance.primary_interface_id.as_str(),
                    )
                    .await?
                {
                    interfaces.push(decode::<NetworkInterface>(&eni)?.value);
                }
            }
            let subnet_cidr = match rows
                .get(self, &row.account_id, instance.subnet_id.as_str())
                .await?
            {
                Some(r) => decode::<Subnet>(&r)?.value.cidr_block.to_string(),
                None => String::new(),
            };
            let vpc_cidrs = match rows
                .get(self, &row.account_id, instance.vpc_id.as_str())
                .await?
            {
                Some(r) => decode::<Vpc>(&r)?
                    .value
                    .cidr_associations
                    .iter()
                    .filter(|c| c.state == CidrState::Associated)
                    .map(|c| c.cidr_block.to_string())
                    .collect(),
                None => Vec::new(),
            };
            let image_rootfs = instance.image_rootfs.clone().into();
            out.push(HostInstance {
                image_rootfs,
                account,
                region: row.region,
                instance,
                interfaces,
                subnet_cidr,
                vpc_cidrs,
            });
        }
        Ok(out)
    }

    /// Records what the agent did to instance `id`; returns the instance as
    /// it now is (None when it is gone). An observation that no longer fits
    /// the instance's state (a user changed it meanwhile) changes nothing.
    pub async fn report(
        &self,
        account: &AccountId,
        region: &str,
        id: &ResourceId,
        observation: &Observation,
    ) -> Result<Option<Instance>, Error> {
        let scope = RequestScope::new(account.clone(), region);
        let now = with_retry(|| self.report_once(&scope, id, observation)).await?;
        if let Some(i) = &now {
            if i.state == InstanceState::Terminated {
                if let Some(key) = &i.image_content_key {
                    // Its image may have been deregistered while it ran.
                    self.remove_content(key).await;
                }
            }
        }
        Ok(now)
    }

    async fn report_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        observation: &Observation,
    ) -> Result<Option<Instance>, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let Some(row) = tx
            .get_resource(scope.account.as_str(), id.as_str())
            .await
            .map_err(store_err)?
        else {
            return Ok(None);
        };
        let mut instance: Versioned<Instance> = decode(&row)?;
        let i = &mut instance.value;
        let now = chrono::Utc::now();
        let next = match (observation, i.state) {
            (Observation::Started, InstanceState::Pending) => Some(InstanceState::Running),
            (Observation::StartFailed(detail), InstanceState::Pending) => {
                i.state_reason = Some(StateReason::launch_failed(detail));
                Some(InstanceState::ShuttingDown)
            }
            (Observation::Stopped, InstanceState::Stopping) => Some(InstanceState::Stopped),
            (Observation::GuestPoweredOff, InstanceState::Running | InstanceState::Pending) => {
                i.state_reason = Some(StateReason::instance_initiated());
                i.state_transition_reason = user_transition_reason(now);
                Some(match i.shutdown_behavior {
                    ShutdownBehavior::Stop => InstanceState::Stopping,
                    ShutdownBehavior::Terminate => InstanceState::ShuttingDown,
                })
            }
            (Observation::Destroyed, InstanceState::ShuttingDown) => {
                Some(InstanceState::Terminated)
            }
            // A reboot reported again (or an older one) changes nothing.
            (Observation::Rebooted(n), _) if *n > i.reboots_done => {
                i.reboots_done = *n;
                None
            }
            _ => return Ok(Some(instance.value)),
        };
        if let Some(next) = next {
            if !i.state.can_become(next) {
                return Err(Error::internal(format!(
                    "{id}: no transition {} -> {}",
                    i.state.as_str(),
                    next.as_str()
                )));
            }
            i.state = next;
            match next {
                InstanceState::Running => i.state_reason = None,
                InstanceState::Stopped => {
                    self.release_launch_public_ip(&mut tx, scope, &mut instance.value)
                        .await?
                }
                InstanceState::Terminated => {
                    self.release_launch_public_ip(&mut tx, scope, &mut instance.value)
                        .await?;
                    self.release_interfaces_in_tx(&mut tx, scope, &instance.value)
                        .await?;
                    instance.value.terminated_at =
                        Some(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                }
                _ => {}
            }
        }
        update_in_tx(&mut tx, scope, &instance).await?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        Ok(Some(instance.value))
    }

    /// Gives the launch-time public address back to the pool.
    pub(crate) async fn release_launch_public_ip(
        &self,
        tx: &mut nubo_store::Tx,
        scope: &RequestScope,
        instance: &mut Instance,
    ) -> Result<(), Error> {
        if let Some(ip) = instance.public_ip.take() {
            Self::release_public_ip_claim(tx, scope, ip).await?;
        }
        Ok(())
    }

    /// At termination: interfaces attached with `deleteOnTermination` are
    /// deleted (the primary one always is, unless the user changed it),
    /// the others detached.
    async fn release_interfaces_in_tx(
        &self,
        tx: &mut nubo_store::Tx,
        scope: &RequestScope,
        instance: &Instance,
    ) -> Result<(), Error> {
        // Every interface of the region: one attached later
        // (AttachNetworkInterface) may be in another subnet of the VPC.
        let rows = tx
            .list_resources(
                scope.account.as_str(),
                &scope.region,
                ResourceKind::NetworkInterface.prefix(),
            )
            .await
            .map_err(store_err)?;
        let mut attached: Vec<Versioned<NetworkInterface>> = Vec::new();
        for row in &rows {
            let eni: Versioned<NetworkInterface> = decode(row)?;
            if eni
                .value
                .attachment
                .as_ref()
                .is_some_and(|a| a.instance_id == instance.id)
            {
                attached.push(eni);
            }
        }
        // The primary interface, should the listing above have missed it.
        if !attached
            .iter()
            .any(|e| e.value.id == instance.primary_interface_id)
        {
            if let Some(row) = tx
                .get_resource(
                    scope.account.as_str(),
                    instance.primary_interface_id.as_str(),
                )
                .await
                .map_err(store_err)?
            {
                attached.push(decode(&row)?);
            }
        }
        for mut eni in attached {
            let delete = eni
                .value
                .attachment
                .as_ref()
                .is_some_and(|a| a.delete_on_termination);
            if delete {
                self.remove_interface_in_tx(tx, scope, &eni).await?;
            } else {
                eni.value.attachment = None;
                eni.value.status = crate::network_interface::InterfaceStatus::Available;
                update_in_tx(tx, scope, &eni).await?;
            }
        }
        Ok(())
    }

    /// Deletes terminated instances that have been visible long enough.
    pub async fn purge_terminated(&self) -> Result<usize, Error> {
        let now = chrono::Utc::now();
        let mut purged = 0;
        for (row, instance) in self.all_instances().await? {
            if instance.state != InstanceState::Terminated || !instance.expired(now) {
                continue;
            }
            let mut tx = self.store.begin().await.map_err(store_err)?;
            match tx
                .delete_resource(&row.account_id, &row.id, row.generation)
                .await
            {
                Ok(()) => {
                    tx.commit().await.map_err(store_err)?;
                    purged += 1;
                }
                Err(_) => tx.rollback().await.map_err(store_err)?,
            }
        }
        Ok(purged)
    }
}

/// `rows` without terminated instances (which block no deletion).
pub(crate) fn without_terminated(rows: Vec<ResourceRow>) -> Result<Vec<ResourceRow>, Error> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if row.kind == ResourceKind::Instance.prefix() {
            let i: Versioned<Instance> = decode(&row)?;
            if i.value.state == InstanceState::Terminated {
                continue;
            }
        }
        out.push(row);
    }
    Ok(out)
}

/// The addresses of `interfaces` (for the data plane).
pub fn primary_address(interfaces: &[NetworkInterface]) -> Option<Ipv4Addr> {
    interfaces.first().and_then(|i| i.primary_ip())
}
