//! `RunInstances`: validation, idempotency, placement, and one transaction
//! that writes every instance of the request with its primary interface —
//! all of them or none (AWS's all-or-nothing at `MinCount`).

use std::net::Ipv4Addr;

use base64::Engine;
use nubo_core::{Error, ResourceId, ResourceKind, Tag};
use rand::Rng;

use super::state::InstanceState;
use super::{Instance, MetadataOptions, ShutdownBehavior, MAX_USER_DATA};
use crate::idempotency::{self, TokenUse};
use crate::network_interface::lifecycle::NewInterface;
use crate::network_interface::ops::{resolve_groups, AddressPlan};
use crate::network_interface::{private_dns_name, Attachment, InterfaceStatus, NetworkInterface};
use crate::placement;
use crate::resource::{
    self, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;
use crate::subnet::Subnet;

/// The type launched when `InstanceType` is absent (AWS's `m1.small` is a
/// previous-generation type this installation does not offer).
pub const DEFAULT_INSTANCE_TYPE: &str = "t3.micro";

/// Most instances one call may launch.
pub const MAX_COUNT: i64 = 100;

/// `NetworkInterface.N` of `RunInstances`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterfaceSpec {
    pub device_index: Option<i64>,
    pub network_interface_id: Option<ResourceId>,
    pub subnet_id: Option<ResourceId>,
    pub groups: Vec<ResourceId>,
    pub private_ip: Option<Ipv4Addr>,
    pub associate_public_ip: Option<bool>,
    pub delete_on_termination: Option<bool>,
    pub description: Option<String>,
}

/// Validated-on-entry input of `RunInstances`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunInstances {
    pub image_id: Option<ResourceId>,
    pub instance_type: Option<String>,
    pub min_count: Option<i64>,
    pub max_count: Option<i64>,
    pub subnet_id: Option<ResourceId>,
    pub interfaces: Vec<InterfaceSpec>,
    pub security_group_ids: Vec<ResourceId>,
    pub security_group_names: Vec<String>,
    pub private_ip: Option<Ipv4Addr>,
    pub key_name: Option<String>,
    pub user_data: Option<String>,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
    pub zone: Option<String>,
    pub client_token: Option<String>,
    pub disable_api_termination: bool,
    pub disable_api_stop: bool,
    pub shutdown_behavior: Option<ShutdownBehavior>,
    pub metadata_options: Option<MetadataOptions>,
}

/// What `RunInstances` answers: one reservation.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub reservation_id: String,
    pub owner_id: String,
    pub instances: Vec<super::InstanceView>,
}

/// The checks that need no store: counts, type, user data, combinations.
struct Checked {
    instance_type: crate::instance_type::InstanceType,
    min: usize,
    max: usize,
    image_id: ResourceId,
    interface: InterfaceSpec,
}

fn check(input: &RunInstances) -> Result<Checked, Error> {
    let min = input
        .min_count
        .ok_or_else(|| Error::MissingParameter("MinCount".into()))?;
    let max = input
        .max_count
        .ok_or_else(|| Error::MissingParameter("MaxCount".into()))?;
    if min < 1 {
        return Err(Error::invalid(format!(
            "Value ({min}) for parameter minCount is invalid. Expected a positive integer."
        )));
    }
    if max < min {
        return Err(Error::invalid(format!(
            "Value ({max}) for parameter maxCount is invalid. Expected a value greater than or equal to minCount ({min})."
        )));
    }
    if min > MAX_COUNT {
        return Err(Error::LimitExceeded {
            code: "InstanceLimitExceeded",
            message: format!(
                "You have requested more instances ({min}) than your current instance limit of {MAX_COUNT} allows for the specified instance type."
            ),
        });
    }
    let max = max.min(MAX_COUNT);
    let image_id = input
        .image_id
        .clone()
        .ok_or_else(|| Error::MissingParameter("ImageId".into()))?;
    let type_name = input
        .instance_type
        .as_deref()
        .unwrap_or(DEFAULT_INSTANCE_TYPE);
    let instance_type = crate::instance_type::find(type_name)
        .ok_or_else(|| Error::invalid(format!("Invalid value '{type_name}' for InstanceType.")))?;
    if let Some(data) = &input.user_data {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|_| Error::invalid("Invalid BASE64 encoding of user data."))?;
        if raw.len() > MAX_USER_DATA {
            return Err(Error::invalid(format!(
                "User data is limited to {MAX_USER_DATA} bytes"
            )));
        }
    }
    if input.interfaces.len() > 1 {
        return Err(Error::invalid(
            "This installation launches instances with one network interface (device index 0); attach more with AttachNetworkInterface.",
        ));
    }
    let interface = match input.interfaces.first() {
        Some(spec) => {
            if input.subnet_id.is_some() {
                return Err(Error::InvalidParameterCombination(
                    "Network interfaces and an instance-level subnet ID may not be specified on the same request".into(),
                ));
            }
            if !input.security_group_ids.is_empty() || !input.security_group_names.is_empty() {
                return Err(Error::InvalidParameterCombination(
                    "Network interfaces and an instance-level security groups may not be specified on the same request".into(),
                ));
            }
            if input.private_ip.is_some() {
                return Err(Error::InvalidParameterCombination(
                    "Network interfaces and an instance-level private IP address may not be specified on the same request".into(),
                ));
            }
            if spec.device_index.unwrap_or(0) != 0 {
                return Err(Error::invalid(
                    "Each network interface requires a device index; the first must be 0.",
                ));
            }
            if spec.network_interface_id.is_some()
                && (spec.subnet_id.is_some()
                    || !spec.groups.is_empty()
                    || spec.private_ip.is_some()
                    || spec.associate_public_ip == Some(true))
            {
                return Err(Error::InvalidParameterCombination(
                    "A network interface ID may not be specified with a subnet, security groups, a private IP address or a public IP address request.".into(),
                ));
            }
            spec.clone()
        }
        None => InterfaceSpec {
            device_index: Some(0),
            subnet_id: input.subnet_id.clone(),
            groups: input.security_group_ids.clone(),
            private_ip: input.private_ip,
            ..InterfaceSpec::default()
        },
    };
    if max > 1 && (interface.private_ip.is_some() || interface.network_interface_id.is_some()) {
        return Err(Error::InvalidParameterCombination(
            "A private IP address or an existing network interface can be used by only one instance; set MaxCount to 1.".into(),
        ));
    }
    Ok(Checked {
        instance_type,
        min: min as usize,
        max: max as usize,
        image_id,
        interface,
    })
}

fn reservation_id() -> String {
    format!("r-{:017x}", rand::thread_rng().gen::<u64>() >> 4)
}

fn now_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A fingerprint of the request, for `ClientToken` reuse checks.
fn fingerprint(input: &RunInstances) -> String {
    format!("{input:?}")
}

impl Ec2Service {
    /// `RunInstances`.
    pub async fn run_instances(
        &self,
        scope: &RequestScope,
        input: &RunInstances,
    ) -> Result<Reservation, Error> {
        let checked = check(input)?;
        if let Some(token) = &input.client_token {
            if token.len() > 64 {
                return Err(Error::invalid(
                    "Value for parameter clientToken is invalid. Tokens are at most 64 characters.",
                ));
            }
        }
        let image = self.launchable_image(scope, &checked.image_id).await?;
        let rootfs = image
            .rootfs_dir(&*self.image_library())
            .to_string_lossy()
            .into_owned();
        let content_key = match &image.content {
            crate::image::ImageContent::Library { key } => Some(key.clone()),
            crate::image::ImageContent::HostPath { .. } => None,
        };
        let public_key = match &input.key_name {
            Some(name) => Some(self.key_pair_public_key(scope, name).await?),
            None => None,
        };
        let instance_tags = tags_for(
            ResourceKind::Instance,
            &only(&input.tag_specifications, "instance"),
        )?;
        let interface_tags = tags_for(
            ResourceKind::NetworkInterface,
            &only(&input.tag_specifications, "network-interface"),
        )?;
        for (kind, _) in &input.tag_specifications {
            if kind != "instance" && kind != "network-interface" {
                return Err(Error::invalid(format!(
                    "'{kind}' is not a valid taggable resource type for this operation."
                )));
            }
        }
        let reservation = with_retry(|| {
            self.run_instances_once(
                scope,
                input,
                &checked,
                &image.id,
                &rootfs,
                &content_key,
                public_key.as_deref(),
                &instance_tags,
                &interface_tags,
            )
        })
        .await?;
        self.wake_agents();
        Ok(reservation)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_instances_once(
        &self,
        scope: &RequestScope,
        input: &RunInstances,
        checked: &Checked,
        image_id: &ResourceId,
        image_rootfs: &str,
        image_content_key: &Option<String>,
        public_key: Option<&str>,
        instance_tags: &nubo_core::TagSet,
        interface_tags: &nubo_core::TagSet,
    ) -> Result<Reservation, Error> {
        // Placement reads first (outside the transaction: capacity is
        // re-checked by nobody, like AWS a rare race may overcommit a host
        // by one request).
        let hosts = self.hosts().await?;
        let allocations = self.allocations().await?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        // The token's marker generation, when it names a reservation that has
        // disappeared since (purged an hour after termination): a fresh launch.
        let mut stale_token = None;
        if let Some(token) = &input.client_token {
            if let Some((used, generation)) =
                idempotency::earlier_use(&mut tx, scope, "RunInstances", token).await?
            {
                let vanished = tx
                    .get_resource(scope.account.as_str(), used.resource_id.as_str())
                    .await
                    .map_err(store_err)?
                    .is_none();
                if vanished {
                    stale_token = Some(generation);
                } else {
                    if used.fingerprint != fingerprint(input) {
                        return Err(idempotency::mismatch(token));
                    }
                    tx.rollback().await.map_err(store_err)?;
                    return self.reservation_of(scope, &used.resource_id).await;
                }
            }
        }
        let spec = &checked.interface;
        let existing_eni: Option<Versioned<NetworkInterface>> = match &spec.network_interface_id {
            Some(id) => Some(get_in_tx(&mut tx, scope, id).await?),
            None => None,
        };
        let subnet: Versioned<Subnet> = match (&existing_eni, &spec.subnet_id) {
            (Some(eni), _) => get_in_tx(&mut tx, scope, &eni.value.subnet_id).await?,
            (None, Some(id)) => get_in_tx(&mut tx, scope, id).await?,
            (None, None) => {
                self.default_subnet_in_tx(&mut tx, scope, input.zone.as_deref())
                    .await?
            }
        };
        let subnet = subnet.value;
        if let Some(zone) = &input.zone {
            if zone != &subnet.availability_zone {
                return Err(Error::invalid(format!(
                    "The subnet {} is in availability zone {}, not in the requested {zone}.",
                    subnet.id, subnet.availability_zone
                )));
            }
        }
        if let Some(ip) = spec.private_ip {
            if !subnet.cidr_block.contains_addr(ip) {
                return Err(Error::invalid(format!(
                    "Address {ip} does not fall within the subnet's address range"
                )));
            }
        }
        let mut group_ids = spec.groups.clone();
        if !input.security_group_names.is_empty() {
            group_ids.extend(
                self.group_ids_by_name_in_tx(
                    &mut tx,
                    scope,
                    &subnet.vpc_id,
                    &input.security_group_names,
                )
                .await?,
            );
        }
        let request = placement::Request {
            instance_type: checked.instance_type.name.to_string(),
            zone: Some(subnet.availability_zone.clone()),
            vcpus: checked.instance_type.vcpus,
            memory_mib: checked.instance_type.memory_mib,
        };
        let placed = placement::place_many(
            &hosts,
            &allocations,
            &request,
            self.overcommit,
            checked.min,
            checked.max,
        )?;
        let assign_public = spec
            .associate_public_ip
            .unwrap_or(subnet.map_public_ip_on_launch);
        let reservation_id = reservation_id();
        let launch_time = now_timestamp();
        let metadata_options = input.metadata_options.clone().unwrap_or_default();
        let mut views = Vec::with_capacity(placed.len());
        let mut touched = Vec::new();
        let macs = self.taken_macs().await?;
        for (index, host) in placed.iter().enumerate() {
            let id = ResourceId::generate(ResourceKind::Instance);
            let attachment = Attachment {
                id: format!("eni-attach-{:017x}", rand::thread_rng().gen::<u64>() >> 4),
                instance_id: id.clone(),
                instance_owner_id: scope.account.clone(),
                device_index: 0,
                status: "attached".into(),
                delete_on_termination: spec.delete_on_termination.unwrap_or(true),
                attach_time: launch_time.clone(),
            };
            let eni = match &existing_eni {
                Some(eni) => {
                    let mut eni = eni.clone();
                    if eni.value.attachment.is_some()
                        || eni.value.status != InterfaceStatus::Available
                    {
                        return Err(Error::client(
                            "InvalidNetworkInterface.InUse",
                            format!("Interface: [{}] in use.", eni.value.id),
                        ));
                    }
                    eni.value.attachment = Some(Attachment {
                        delete_on_termination: spec.delete_on_termination.unwrap_or(false),
                        ..attachment
                    });
                    eni.value.status = InterfaceStatus::InUse;
                    update_in_tx(&mut tx, scope, &eni).await?;
                    eni.value
                }
                None => {
                    let groups =
                        resolve_groups(&mut tx, scope, &subnet.vpc_id, &subnet.id, &group_ids)
                            .await?;
                    let new = NewInterface {
                        id: ResourceId::generate(ResourceKind::NetworkInterface),
                        description: spec.description.clone().unwrap_or_default(),
                        plan: AddressPlan {
                            primary: spec.private_ip,
                            secondaries: Vec::new(),
                            automatic: 0,
                        },
                        groups,
                        interface_type: "interface",
                        requester_managed: false,
                        status: InterfaceStatus::InUse,
                        source_dest_check: true,
                        mac_address: unused_mac(&macs),
                        tags: interface_tags.clone(),
                    };
                    let mut eni = self
                        .insert_interface_in_tx(&mut tx, scope, &subnet, new)
                        .await?;
                    eni.value.attachment = Some(attachment);
                    update_in_tx(&mut tx, scope, &eni).await?;
                    eni.value
                }
            };
            let private_ip = eni
                .primary_ip()
                .ok_or_else(|| Error::internal("new interface has no address"))?;
            let public_ip = if assign_public && eni.association().is_none() {
                Some(self.claim_any_public_ip(&mut tx, scope, &id).await?)
            } else {
                None
            };
            let instance = Instance {
                id: id.clone(),
                owner_id: scope.account.clone(),
                reservation_id: reservation_id.clone(),
                image_id: image_id.clone(),
                image_rootfs: image_rootfs.to_string(),
                image_content_key: image_content_key.clone(),
                instance_type: checked.instance_type.name.to_string(),
                key_name: input.key_name.clone(),
                public_key: public_key.map(str::to_string),
                subnet_id: subnet.id.clone(),
                vpc_id: subnet.vpc_id.clone(),
                availability_zone: subnet.availability_zone.clone(),
                primary_interface_id: eni.id.clone(),
                private_ip,
                private_dns_name: private_dns_name(&scope.region, private_ip),
                mac_address: eni.mac_address.clone(),
                public_ip,
                assign_public_ip: assign_public,
                state: InstanceState::Pending,
                state_reason: Some(super::StateReason {
                    code: "pending".into(),
                    message: "pending".into(),
                }),
                state_transition_reason: String::new(),
                launch_time: launch_time.clone(),
                ami_launch_index: index as u32,
                client_token: input.client_token.clone(),
                user_data: input.user_data.clone(),
                disable_api_termination: input.disable_api_termination,
                disable_api_stop: input.disable_api_stop,
                shutdown_behavior: input.shutdown_behavior.unwrap_or_default(),
                metadata_options: metadata_options.clone(),
                host_id: host.id.clone(),
                reboots_requested: 0,
                reboots_done: 0,
                terminated_at: None,
                force_stop: false,
                tags: instance_tags.clone(),
            };
            tx.insert_resource(&new_row(scope, &instance)?)
                .await
                .map_err(store_err)?;
            touched.push(id.to_string());
            touched.push(eni.id.to_string());
            views.push(super::InstanceView {
                instance,
                interfaces: vec![eni],
            });
        }
        if let Some(token) = &input.client_token {
            let used = TokenUse {
                resource_id: views[0].instance.id.clone(),
                fingerprint: fingerprint(input),
            };
            idempotency::record_use(&mut tx, scope, "RunInstances", token, &used, stale_token)
                .await?;
        }
        let touched: Vec<&str> = touched.iter().map(String::as_str).collect();
        resource::commit(tx, scope, &touched).await?;
        Ok(Reservation {
            reservation_id,
            owner_id: scope.account.to_string(),
            instances: views,
        })
    }

    /// The reservation of instance `first` (a `ClientToken` retry answers
    /// the original launch).
    async fn reservation_of(
        &self,
        scope: &RequestScope,
        first: &ResourceId,
    ) -> Result<Reservation, Error> {
        let view = self
            .describe_instance_views(scope, std::slice::from_ref(first))
            .await?;
        let reservation_id = view
            .first()
            .map(|v| v.instance.reservation_id.clone())
            .ok_or_else(|| Error::internal("client token names a vanished instance"))?;
        let all = self.describe_instance_views(scope, &[]).await?;
        Ok(Reservation {
            reservation_id: reservation_id.clone(),
            owner_id: scope.account.to_string(),
            instances: all
                .into_iter()
                .filter(|v| v.instance.reservation_id == reservation_id)
                .collect(),
        })
    }

    /// The default VPC's subnet for a launch with no subnet: the one in
    /// `zone`, else the first by zone.
    async fn default_subnet_in_tx(
        &self,
        tx: &mut nubo_store::Tx,
        scope: &RequestScope,
        zone: Option<&str>,
    ) -> Result<Versioned<Subnet>, Error> {
        let vpc = self.default_vpc_id(scope).await?.ok_or_else(|| {
            Error::client(
                "VPCIdNotSpecified",
                "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.",
            )
        })?;
        let children = tx
            .list_children(scope.account.as_str(), vpc.as_str())
            .await
            .map_err(store_err)?;
        let mut subnets: Vec<Versioned<Subnet>> = children
            .iter()
            .filter(|r| r.kind == ResourceKind::Subnet.prefix())
            .map(resource::decode)
            .collect::<Result<_, _>>()?;
        subnets.retain(|s| s.value.default_for_az);
        subnets.sort_by(|a, b| a.value.availability_zone.cmp(&b.value.availability_zone));
        match zone {
            Some(z) => subnets.into_iter().find(|s| s.value.availability_zone == z),
            None => subnets.into_iter().next(),
        }
        .ok_or_else(|| {
            Error::client(
                "MissingInput",
                "No subnets found for the default VPC. Please specify a subnet.",
            )
        })
    }

    /// Group IDs for `SecurityGroup.N` names, in VPC `vpc`.
    async fn group_ids_by_name_in_tx(
        &self,
        tx: &mut nubo_store::Tx,
        scope: &RequestScope,
        vpc: &ResourceId,
        names: &[String],
    ) -> Result<Vec<ResourceId>, Error> {
        let children = tx
            .list_children(scope.account.as_str(), vpc.as_str())
            .await
            .map_err(store_err)?;
        let groups: Vec<crate::security_group::SecurityGroup> = children
            .iter()
            .filter(|r| r.kind == ResourceKind::SecurityGroup.prefix())
            .map(|r| resource::decode(r).map(|v: Versioned<_>| v.value))
            .collect::<Result<_, _>>()?;
        names
            .iter()
            .map(|name| {
                groups
                    .iter()
                    .find(|g| &g.name == name)
                    .map(|g| g.id.clone())
                    .ok_or_else(|| {
                        Error::not_found(
                            "InvalidGroup.NotFound",
                            format!("The security group '{name}' does not exist in VPC '{vpc}'"),
                        )
                    })
            })
            .collect()
    }

    /// Every MAC address in use on the installation.
    pub(crate) async fn taken_macs(&self) -> Result<std::collections::BTreeSet<String>, Error> {
        let rows = self
            .store
            .list_kind_everywhere(ResourceKind::NetworkInterface.prefix())
            .await
            .map_err(store_err)?;
        rows.iter()
            .map(|r| resource::decode::<NetworkInterface>(r).map(|e| e.value.mac_address))
            .collect()
    }
}

/// A random locally administered MAC that is not in `taken`.
fn unused_mac(taken: &std::collections::BTreeSet<String>) -> String {
    loop {
        let mac = crate::network_interface::ops::random_mac();
        if !taken.contains(&mac) {
            return mac;
        }
    }
}

fn only(specs: &[(String, Vec<Tag>)], kind: &str) -> Vec<(String, Vec<Tag>)> {
    specs.iter().filter(|(k, _)| k == kind).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> RunInstances {
        RunInstances {
            image_id: Some(ResourceId::from_stored("ami-0123456789abcdef0")),
            min_count: Some(1),
            max_count: Some(1),
            ..RunInstances::default()
        }
    }

    fn code(e: Error) -> String {
        match e {
            Error::Client { code, .. } => code.to_string(),
            Error::InvalidParameterValue(_) => "InvalidParameterValue".into(),
            Error::InvalidParameterCombination(_) => "InvalidParameterCombination".into(),
            Error::MissingParameter(p) => format!("MissingParameter:{p}"),
            Error::LimitExceeded { code, .. } => code.to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn counts_are_checked() {
        let mut r = base();
        r.min_count = None;
        assert_eq!(code(check(&r).err().unwrap()), "MissingParameter:MinCount");
        let mut r = base();
        r.min_count = Some(0);
        assert_eq!(code(check(&r).err().unwrap()), "InvalidParameterValue");
        let mut r = base();
        r.min_count = Some(3);
        r.max_count = Some(2);
        assert_eq!(code(check(&r).err().unwrap()), "InvalidParameterValue");
        let mut r = base();
        r.min_count = Some(500);
        r.max_count = Some(500);
        assert_eq!(code(check(&r).err().unwrap()), "InstanceLimitExceeded");
        let mut r = base();
        r.max_count = Some(500);
        assert_eq!(check(&r).unwrap().max, MAX_COUNT as usize);
    }

    #[test]
    fn type_and_user_data_are_checked() {
        let mut r = base();
        r.instance_type = Some("x9.huge".into());
        assert_eq!(code(check(&r).err().unwrap()), "InvalidParameterValue");
        assert_eq!(
            check(&base()).unwrap().instance_type.name,
            DEFAULT_INSTANCE_TYPE
        );
        let mut r = base();
        r.user_data = Some("not base64!".into());
        assert_eq!(code(check(&r).err().unwrap()), "InvalidParameterValue");
        let mut r = base();
        r.user_data = Some(base64::engine::general_purpose::STANDARD.encode(vec![b'x'; 20_000]));
        assert_eq!(code(check(&r).err().unwrap()), "InvalidParameterValue");
    }

    #[test]
    fn interface_combinations_are_checked() {
        let mut r = base();
        r.subnet_id = Some(ResourceId::from_stored("subnet-0123456789abcdef0"));
        r.interfaces = vec![InterfaceSpec::default()];
        assert_eq!(
            code(check(&r).err().unwrap()),
            "InvalidParameterCombination"
        );
        let mut r = base();
        r.private_ip = Some("10.0.0.5".parse().unwrap());
        r.max_count = Some(2);
        assert_eq!(
            code(check(&r).err().unwrap()),
            "InvalidParameterCombination"
        );
        let mut r = base();
        r.interfaces = vec![InterfaceSpec {
            network_interface_id: Some(ResourceId::from_stored("eni-0123456789abcdef0")),
            associate_public_ip: Some(true),
            ..InterfaceSpec::default()
        }];
        assert_eq!(
            code(check(&r).err().unwrap()),
            "InvalidParameterCombination"
        );
    }
}

/// Instances for other modules' unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub(crate) fn instance_in(state: InstanceState) -> Instance {
        Instance {
            id: ResourceId::from_stored("i-0123456789abcdef0"),
            owner_id: nubo_core::AccountId::parse("123456789012").unwrap(),
            reservation_id: "r-0123456789abcdef0".into(),
            image_id: ResourceId::from_stored("ami-0123456789abcdef0"),
            image_rootfs: "/var/lib/nubo/base-images/debian-12/rootfs".into(),
            image_content_key: None,
            instance_type: "t3.micro".into(),
            key_name: None,
            public_key: None,
            subnet_id: ResourceId::from_stored("subnet-0123456789abcdef0"),
            vpc_id: ResourceId::from_stored("vpc-0123456789abcdef0"),
            availability_zone: "us-east-1a".into(),
            primary_interface_id: ResourceId::from_stored("eni-0123456789abcdef0"),
            private_ip: "10.0.1.5".parse().unwrap(),
            private_dns_name: "ip-10-0-1-5.ec2.internal".into(),
            mac_address: "02:00:00:00:00:01".into(),
            public_ip: None,
            assign_public_ip: false,
            state,
            state_reason: None,
            state_transition_reason: String::new(),
            launch_time: "2026-11-23T18:00:00.000Z".into(),
            ami_launch_index: 0,
            client_token: None,
            user_data: None,
            disable_api_termination: false,
            disable_api_stop: false,
            shutdown_behavior: ShutdownBehavior::Stop,
            metadata_options: MetadataOptions::default(),
            host_id: "local".into(),
            reboots_requested: 0,
            reboots_done: 0,
            terminated_at: None,
            force_stop: false,
            tags: Default::default(),
        }
    }
}
