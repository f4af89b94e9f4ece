//! `AssignPrivateIpAddresses`, `UnassignPrivateIpAddresses`,
//! `AttachNetworkInterface` and `DetachNetworkInterface`. Secondary
//! addresses are allocated and released in the interface's transaction, so
//! the interface and its subnet's allocations always agree. Instances do not
//! exist yet, so no attach succeeds; the attachment record and detaching are
//! modelled for when they do.

use std::net::Ipv4Addr;

use nubo_core::{Error, ResourceId, ResourceKind};
use nubo_store::Tx;
use rand::Rng;

use super::ops::{check_count, check_distinct, check_total};
use super::{Attachment, InterfaceStatus, NetworkInterface, PrivateIp};
use crate::resource::{
    self, decode, get_in_tx, not_found, store_err, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;

/// Which secondary addresses `AssignPrivateIpAddresses` adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignAddresses {
    Explicit(Vec<Ipv4Addr>),
    Count(i64),
}

/// The primary interface (device index 0) of instance `instance`, which
/// must exist in the caller's account (`InvalidInstanceID.NotFound`
/// otherwise): what `AssociateAddress` and `CreateRoute` mean by an instance.
pub(crate) async fn primary_of_instance_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    instance: &ResourceId,
) -> Result<Versioned<NetworkInterface>, Error> {
    let row = tx
        .get_resource(scope.account.as_str(), instance.as_str())
        .await
        .map_err(store_err)?;
    match row {
        Some(r) if r.region == scope.region && r.kind == ResourceKind::Instance.prefix() => {}
        _ => return Err(not_found(ResourceKind::Instance, instance.as_str())),
    }
    let rows = tx
        .list_resources(
            scope.account.as_str(),
            &scope.region,
            ResourceKind::NetworkInterface.prefix(),
        )
        .await
        .map_err(store_err)?;
    for row in &rows {
        let eni: Versioned<NetworkInterface> = decode(row)?;
        let primary = eni
            .value
            .attachment
            .as_ref()
            .is_some_and(|a| &a.instance_id == instance && a.device_index == 0);
        if primary {
            return Ok(eni);
        }
    }
    Err(Error::client(
        "InvalidInstanceID",
        format!("The instance {instance} has no primary network interface."),
    ))
}

fn attachment_not_found(id: &str) -> Error {
    Error::not_found(
        "InvalidAttachmentID.NotFound",
        format!("The attachment ID '{id}' does not exist"),
    )
}

/// `AttachNetworkInterface`'s instance side: the instance is not going away
/// (`IncorrectInstanceState`) and has nothing at `device_index` yet
/// (AWS's `InvalidParameterValue`).
async fn check_attachable(
    tx: &mut Tx,
    scope: &RequestScope,
    instance: &crate::instance::Instance,
    device_index: i64,
) -> Result<(), Error> {
    use crate::instance::InstanceState;
    if matches!(
        instance.state,
        InstanceState::ShuttingDown | InstanceState::Terminated
    ) {
        return Err(crate::instance::incorrect_state(
            &instance.id,
            instance.state,
            "attached to",
        ));
    }
    let rows = tx
        .list_resources(
            scope.account.as_str(),
            &scope.region,
            ResourceKind::NetworkInterface.prefix(),
        )
        .await
        .map_err(store_err)?;
    for row in &rows {
        let eni: Versioned<NetworkInterface> = decode(row)?;
        if eni
            .value
            .attachment
            .as_ref()
            .is_some_and(|a| a.instance_id == instance.id && a.device_index == device_index)
        {
            return Err(Error::invalid(format!(
                "Instance '{}' already has an interface attached at device index '{device_index}'.",
                instance.id
            )));
        }
    }
    Ok(())
}

impl Ec2Service {
    /// Adds secondary addresses to an interface; returns those added.
    pub async fn assign_private_ip_addresses(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        addresses: AssignAddresses,
    ) -> Result<Vec<Ipv4Addr>, Error> {
        with_retry(|| self.assign_private_ip_addresses_once(scope, id, &addresses)).await
    }

    pub async fn unassign_private_ip_addresses(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        addresses: &[Ipv4Addr],
    ) -> Result<(), Error> {
        with_retry(|| self.unassign_private_ip_addresses_once(scope, id, addresses)).await
    }

    /// Attaches an interface to an instance; returns the attachment ID.
    pub async fn attach_network_interface(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        instance_id: &ResourceId,
        device_index: i64,
    ) -> Result<String, Error> {
        with_retry(|| self.attach_network_interface_once(scope, id, instance_id, device_index))
            .await
    }

    pub async fn detach_network_interface(
        &self,
        scope: &RequestScope,
        attachment_id: &str,
    ) -> Result<(), Error> {
        with_retry(|| self.detach_network_interface_once(scope, attachment_id)).await
    }

    pub(crate) async fn assign_private_ip_addresses_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        addresses: &AssignAddresses,
    ) -> Result<Vec<Ipv4Addr>, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut eni: Versioned<NetworkInterface> = get_in_tx(&mut tx, scope, id).await?;
        let held = eni.value.private_ips.len();
        let wanted: Vec<Option<Ipv4Addr>> = match addresses {
            AssignAddresses::Explicit(list) => {
                check_distinct(list)?;
                check_total(held + list.len())?;
                list.iter().map(|a| Some(*a)).collect()
            }
            AssignAddresses::Count(count) => vec![None; check_count(*count, held)?],
        };
        let subnet_id = eni.value.subnet_id.clone();
        let mut added = Vec::with_capacity(wanted.len());
        for explicit in wanted {
            let address = self
                .allocate_address(&mut tx, scope, &subnet_id, explicit, id.as_str())
                .await?;
            eni.value.private_ips.push(PrivateIp {
                address,
                primary: false,
            });
            added.push(address);
        }
        update_in_tx(&mut tx, scope, &eni).await?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        Ok(added)
    }

    pub(crate) async fn unassign_private_ip_addresses_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        addresses: &[Ipv4Addr],
    ) -> Result<(), Error> {
        if addresses.is_empty() {
            return Err(Error::MissingParameter("PrivateIpAddress".into()));
        }
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut eni: Versioned<NetworkInterface> = get_in_tx(&mut tx, scope, id).await?;
        for address in addresses {
            match eni.value.private_ips.iter().find(|p| p.address == *address) {
                None => {
                    return Err(Error::invalid(format!(
                        "Some of the specified addresses are not assigned to interface {id}"
                    )))
                }
                Some(p) if p.primary => {
                    return Err(Error::invalid(format!(
                        "The primary private IP address {address} of interface {id} cannot be unassigned"
                    )))
                }
                Some(_) => {}
            }
        }
        let subnet_id = eni.value.subnet_id.clone();
        for address in addresses {
            // As on AWS, an Elastic IP on an unassigned address is
            // disassociated with it (and stays allocated).
            if let Some(association) = eni.value.association_of(*address) {
                let allocation = association.allocation_id.clone();
                crate::elastic_ip::association::release_in_tx(&mut tx, scope, &allocation).await?;
            }
            self.release_address(&mut tx, scope, &subnet_id, *address, id.as_str())
                .await?;
        }
        eni.value
            .private_ips
            .retain(|p| !addresses.contains(&p.address));
        eni.value
            .public_ips
            .retain(|a| !addresses.contains(&a.private_ip));
        update_in_tx(&mut tx, scope, &eni).await?;
        resource::commit(tx, scope, &[id.as_str()]).await
    }

    pub(crate) async fn attach_network_interface_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        instance_id: &ResourceId,
        device_index: i64,
    ) -> Result<String, Error> {
        if !(0..=31).contains(&device_index) {
            return Err(Error::invalid(format!(
                "Value ({device_index}) for parameter deviceIndex is invalid."
            )));
        }
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut eni: Versioned<NetworkInterface> = get_in_tx(&mut tx, scope, id).await?;
        let instance = tx
            .get_resource(scope.account.as_str(), instance_id.as_str())
            .await
            .map_err(store_err)?;
        let instance: Versioned<crate::instance::Instance> = match instance {
            Some(row)
                if row.region == scope.region && row.kind == ResourceKind::Instance.prefix() =>
            {
                decode(&row)?
            }
            _ => return Err(not_found(ResourceKind::Instance, instance_id.as_str())),
        };
        check_attachable(&mut tx, scope, &instance.value, device_index).await?;
        if eni.value.availability_zone != instance.value.availability_zone
            || eni.value.vpc_id != instance.value.vpc_id
        {
            return Err(Error::InvalidParameterCombination(format!(
                "You may not attach a network interface to an instance if they are not in the same availability zone and VPC ({id} is in {}, {instance_id} in {}).",
                eni.value.availability_zone, instance.value.availability_zone
            )));
        }
        if eni.value.attachment.is_some()
            || !eni.value.status.can_become(InterfaceStatus::Attaching)
        {
            return Err(Error::client(
                "InvalidNetworkInterface.InUse",
                format!("Interface: [{id}] in use."),
            ));
        }
        let attachment_id = format!("eni-attach-{:017x}", rand::thread_rng().gen::<u64>() >> 4);
        // Recorded as complete: the data plane plugs only device index 0
        // into instances so far (a secondary interface is a model object).
        eni.value.attachment = Some(Attachment {
            id: attachment_id.clone(),
            instance_id: instance_id.clone(),
            instance_owner_id: scope.account.clone(),
            device_index,
            status: "attached".into(),
            delete_on_termination: false,
            attach_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        eni.value.status = InterfaceStatus::InUse;
        update_in_tx(&mut tx, scope, &eni).await?;
        // Writing the instance back makes a racing termination conflict
        // (it would miss this interface otherwise).
        update_in_tx(&mut tx, scope, &instance).await?;
        resource::commit(tx, scope, &[id.as_str(), instance_id.as_str()]).await?;
        Ok(attachment_id)
    }

    pub(crate) async fn detach_network_interface_once(
        &self,
        scope: &RequestScope,
        attachment_id: &str,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let rows = tx
            .list_resources(
                scope.account.as_str(),
                &scope.region,
                ResourceKind::NetworkInterface.prefix(),
            )
            .await
            .map_err(store_err)?;
        for row in &rows {
            let mut eni: Versioned<NetworkInterface> = decode(row)?;
            if eni.value.attachment.as_ref().map(|a| a.id.as_str()) != Some(attachment_id) {
                continue;
            }
            if eni
                .value
                .attachment
                .as_ref()
                .is_some_and(|a| a.device_index == 0)
            {
                return Err(Error::client(
                    "OperationNotPermitted",
                    "The network interface at device index 0 cannot be detached.",
                ));
            }
            eni.value.attachment = None;
            eni.value.status = InterfaceStatus::Available;
            update_in_tx(&mut tx, scope, &eni).await?;
            let id = eni.value.id.clone();
            return resource::commit(tx, scope, &[id.as_str()]).await;
        }
        Err(attachment_not_found(attachment_id))
    }
}
