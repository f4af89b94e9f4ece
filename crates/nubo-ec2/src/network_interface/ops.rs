//! `CreateNetworkInterface`, `DescribeNetworkInterfaces`,
//! `DeleteNetworkInterface` and `ModifyNetworkInterfaceAttribute`. An
//! interface's addresses come from [`Ec2Service::allocate_address`] in the
//! interface's own transaction (which also writes its subnet back), and its
//! groups are written back too, so a racing `DeleteSubnet` or
//! `DeleteSecurityGroup` conflicts and re-runs instead of missing it.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use nubo_core::filter::{self, Filter, Page};
use nubo_core::{Error, ResourceId, ResourceKind, Tag};
use nubo_store::Tx;
use rand::Rng;

use super::lifecycle::NewInterface;
use super::{
    GroupIdentifier, InterfaceStatus, NetworkInterface, PrivateIp, MAX_ADDRESSES_PER_INTERFACE,
    MAX_GROUPS_PER_INTERFACE,
};
use crate::resource::{
    self, decode, get_in_tx, store_err, tags_for, update_in_tx, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;
use crate::security_group::ops::groups_among;
use crate::security_group::SecurityGroup;
use crate::subnet::Subnet;

/// Validated input of `CreateNetworkInterface`.
#[derive(Debug, Clone, Default)]
pub struct CreateNetworkInterface {
    pub subnet_id: Option<ResourceId>,
    pub description: Option<String>,
    /// `PrivateIpAddress`: the primary address.
    pub private_ip_address: Option<Ipv4Addr>,
    /// `PrivateIpAddresses.N`: explicit addresses, at most one primary.
    pub private_ip_addresses: Vec<PrivateIp>,
    /// `SecondaryPrivateIpAddressCount`: secondaries picked automatically.
    pub secondary_private_ip_address_count: Option<i64>,
    /// `SecurityGroupId.N`; none means the VPC's default group.
    pub groups: Vec<ResourceId>,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// The one attribute a `ModifyNetworkInterfaceAttribute` call changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceAttribute {
    Description(String),
    SourceDestCheck(bool),
    Groups(Vec<ResourceId>),
}

/// The addresses a new interface asks for (pure): the primary (explicit or
/// automatic), explicit secondaries, and how many secondaries to pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPlan {
    pub primary: Option<Ipv4Addr>,
    pub secondaries: Vec<Ipv4Addr>,
    pub automatic: usize,
}

/// Parses and validates a network interface ID parameter.
pub fn parse_network_interface_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::NetworkInterface,
        "InvalidNetworkInterfaceID.Malformed",
    )
}

/// Checks a requested count of automatic secondary addresses.
pub(crate) fn check_count(count: i64, already: usize) -> Result<usize, Error> {
    if count < 1 {
        return Err(Error::invalid(format!(
            "Value ({count}) for parameter secondaryPrivateIpAddressCount is invalid. Expected a positive integer."
        )));
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    check_total(already.saturating_add(count))?;
    Ok(count)
}

/// Refuses more addresses on one interface than AWS allows.
pub(crate) fn check_total(total: usize) -> Result<(), Error> {
    if total > MAX_ADDRESSES_PER_INTERFACE {
        return Err(Error::client(
            "PrivateIpAddressLimitExceeded",
            format!(
                "Number of private addresses will exceed limit of {MAX_ADDRESSES_PER_INTERFACE} per interface."
            ),
        ));
    }
    Ok(())
}

/// Refuses an address named twice in one call.
pub(crate) fn check_distinct(addresses: &[Ipv4Addr]) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for a in addresses {
        if !seen.insert(*a) {
            return Err(Error::invalid(format!(
                "The address {a} is specified more than once."
            )));
        }
    }
    Ok(())
}

/// Works out which addresses `input` asks for, with AWS's rules: one
/// primary at most, explicit secondaries or a count but not both, no address
/// twice, at most [`MAX_ADDRESSES_PER_INTERFACE`] in all.
pub fn plan_addresses(input: &CreateNetworkInterface) -> Result<AddressPlan, Error> {
    let listed_primaries: Vec<Ipv4Addr> = input
        .private_ip_addresses
        .iter()
        .filter(|p| p.primary)
        .map(|p| p.address)
        .collect();
    if listed_primaries.len() > 1 {
        return Err(Error::invalid(
            "Only one primary private IP address can be specified.",
        ));
    }
    let mut secondaries: Vec<Ipv4Addr> = input
        .private_ip_addresses
        .iter()
        .filter(|p| !p.primary)
        .map(|p| p.address)
        .collect();
    let primary = match (input.private_ip_address, listed_primaries.first()) {
        (Some(a), Some(b)) if a != *b => {
            return Err(Error::InvalidParameterCombination(
                "The primary address given in PrivateIpAddress differs from the one marked primary in PrivateIpAddresses.".into(),
            ))
        }
        (Some(a), _) => Some(a),
        (None, Some(b)) => Some(*b),
        // With no address marked primary, the first listed one is.
        (None, None) if !secondaries.is_empty() => Some(secondaries.remove(0)),
        (None, None) => None,
    };
    let mut explicit: Vec<Ipv4Addr> = primary.iter().copied().collect();
    explicit.extend(&secondaries);
    check_distinct(&explicit)?;
    let automatic = match input.secondary_private_ip_address_count {
        Some(_) if !secondaries.is_empty() => {
            return Err(Error::InvalidParameterCombination(
                "SecondaryPrivateIpAddressCount cannot be combined with secondary addresses in PrivateIpAddresses.".into(),
            ))
        }
        Some(count) => check_count(count, 1)?,
        None => 0,
    };
    check_total(1 + secondaries.len() + automatic)?;
    Ok(AddressPlan {
        primary,
        secondaries,
        automatic,
    })
}

/// Checks a description: at most 255 characters.
pub fn check_description(text: &str) -> Result<(), Error> {
    if text.chars().count() > 255 {
        return Err(Error::invalid(
            "Value for parameter description is invalid: at most 255 characters are allowed.",
        ));
    }
    Ok(())
}

/// A locally administered unicast MAC address (`02:` and five random bytes).
pub fn random_mac() -> String {
    let mut rng = rand::thread_rng();
    let mut mac = String::from("02");
    for _ in 0..5 {
        mac.push_str(&format!(":{:02x}", rng.gen::<u8>()));
    }
    mac
}

/// Resolves `ids` (or, when empty, the VPC's default group) to groups of VPC
/// `vpc_id` and writes each back, so a racing `DeleteSecurityGroup`
/// conflicts instead of deleting a group an interface is about to use.
pub(crate) async fn resolve_groups(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
    subnet_id: &ResourceId,
    ids: &[ResourceId],
) -> Result<Vec<GroupIdentifier>, Error> {
    let mut wanted: Vec<ResourceId> = Vec::new();
    for id in ids {
        if !wanted.contains(id) {
            wanted.push(id.clone());
        }
    }
    if wanted.len() > MAX_GROUPS_PER_INTERFACE {
        return Err(Error::client(
            "SecurityGroupsPerInterfaceLimitExceeded",
            format!(
                "The maximum number of security groups per interface ({MAX_GROUPS_PER_INTERFACE}) has been reached."
            ),
        ));
    }
    let mut groups: Vec<Versioned<SecurityGroup>> = Vec::new();
    if wanted.is_empty() {
        let children = tx
            .list_children(scope.account.as_str(), vpc_id.as_str())
            .await
            .map_err(store_err)?;
        let default = groups_among(&children)?
            .into_iter()
            .find(|g| g.value.is_default())
            .ok_or_else(|| Error::internal(format!("VPC {vpc_id} has no default group")))?;
        groups.push(default);
    } else {
        for id in &wanted {
            let group: Versioned<SecurityGroup> = get_in_tx(tx, scope, id).await?;
            if &group.value.vpc_id != vpc_id {
                return Err(Error::client(
                    "InvalidParameter",
                    format!(
                        "Security group {id} and subnet {subnet_id} belong to different networks."
                    ),
                ));
            }
            groups.push(group);
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for group in &groups {
        update_in_tx(tx, scope, group).await?;
        out.push(GroupIdentifier {
            id: group.value.id.clone(),
            name: group.value.name.clone(),
        });
    }
    Ok(out)
}

/// For `DeleteSecurityGroup`: refuses while an interface uses group `id`.
pub(crate) async fn check_group_unused(
    tx: &mut Tx,
    scope: &RequestScope,
    id: &ResourceId,
) -> Result<(), Error> {
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
        if eni.value.uses_group(id) {
            return Err(Error::DependencyViolation(format!(
                "resource {id} has a dependent object ({})",
                eni.value.id
            )));
        }
    }
    Ok(())
}

impl Ec2Service {
    pub async fn create_network_interface(
        &self,
        scope: &RequestScope,
        input: CreateNetworkInterface,
    ) -> Result<NetworkInterface, Error> {
        with_retry(|| self.create_network_interface_once(scope, &input)).await
    }

    pub async fn delete_network_interface(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.delete_network_interface_once(scope, id)).await
    }

    pub async fn modify_network_interface_attribute(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        attribute: InterfaceAttribute,
    ) -> Result<(), Error> {
        with_retry(|| self.modify_network_interface_attribute_once(scope, id, &attribute)).await
    }

    /// A MAC address no interface of this installation has.
    pub(crate) async fn unused_mac(&self) -> Result<String, Error> {
        let mut taken = BTreeSet::new();
        for account in self.store.list_accounts().await.map_err(store_err)? {
            for region in &self.regions {
                let rows = self
                    .store
                    .list_resources(
                        &account.id,
                        &region.name,
                        ResourceKind::NetworkInterface.prefix(),
                    )
                    .await
                    .map_err(store_err)?;
                for row in &rows {
                    let eni: Versioned<NetworkInterface> = decode(row)?;
                    taken.insert(eni.value.mac_address);
                }
            }
        }
        loop {
            let mac = random_mac();
            if !taken.contains(&mac) {
                return Ok(mac);
            }
        }
    }

    pub(crate) async fn create_network_interface_once(
        &self,
        scope: &RequestScope,
        input: &CreateNetworkInterface,
    ) -> Result<NetworkInterface, Error> {
        let subnet_id = input
            .subnet_id
            .clone()
            .ok_or_else(|| Error::MissingParameter("SubnetId".into()))?;
        let description = input.description.clone().unwrap_or_default();
        check_description(&description)?;
        let plan = plan_addresses(input)?;
        let tags = tags_for(ResourceKind::NetworkInterface, &input.tag_specifications)?;
        let mac_address = self.unused_mac().await?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let subnet: Versioned<Subnet> = get_in_tx(&mut tx, scope, &subnet_id).await?;
        let vpc_id = subnet.value.vpc_id.clone();
        let groups = resolve_groups(&mut tx, scope, &vpc_id, &subnet_id, &input.groups).await?;
        let spec = NewInterface {
            id: ResourceId::generate(ResourceKind::NetworkInterface),
            description,
            plan,
            groups,
            interface_type: "interface",
            requester_managed: false,
            status: InterfaceStatus::Available,
            source_dest_check: true,
            mac_address,
            tags,
        };
        let eni = self
            .insert_interface_in_tx(&mut tx, scope, &subnet.value, spec)
            .await?
            .value;
        resource::commit(tx, scope, &[eni.id.as_str()]).await?;
        Ok(eni)
    }

    /// `DescribeNetworkInterfaces`: explicit IDs must all exist; filters and pagination apply to the rest.
    pub async fn describe_network_interfaces(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<NetworkInterface>, Option<String>), Error> {
        filter::validate::<NetworkInterface>(filters)?;
        let mut enis: Vec<NetworkInterface> =
            resource::list_for_describe(&self.store, scope, ids, filters).await?;
        enis.retain(|e| filter::matches(e, filters));
        Ok(page.apply(enis, |e| e.id.as_str()))
    }

    pub(crate) async fn delete_network_interface_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let eni: Versioned<NetworkInterface> = get_in_tx(&mut tx, scope, id).await?;
        // A requester-managed interface (a NAT gateway's) is in use for as
        // long as its owner lives; its owner removes it.
        if eni.value.attachment.is_some() || eni.value.status != InterfaceStatus::Available {
            return Err(Error::client(
                "InvalidNetworkInterface.InUse",
                format!("Interface: [{id}] in use."),
            ));
        }
        self.remove_interface_in_tx(&mut tx, scope, &eni).await?;
        resource::commit(tx, scope, &[id.as_str()]).await
    }

    pub(crate) async fn modify_network_interface_attribute_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        attribute: &InterfaceAttribute,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut eni: Versioned<NetworkInterface> = get_in_tx(&mut tx, scope, id).await?;
        match attribute {
            InterfaceAttribute::Description(text) => {
                check_description(text)?;
                eni.value.description = text.clone();
            }
            InterfaceAttribute::SourceDestCheck(value) => eni.value.source_dest_check = *value,
            InterfaceAttribute::Groups(ids) => {
                if ids.is_empty() {
                    return Err(Error::MissingParameter("SecurityGroupId".into()));
                }
                let (vpc_id, subnet_id) = (eni.value.vpc_id.clone(), eni.value.subnet_id.clone());
                eni.value.groups = resolve_groups(&mut tx, scope, &vpc_id, &subnet_id, ids).await?;
            }
        }
        update_in_tx(&mut tx, scope, &eni).await?;
        resource::commit(tx, scope, &[id.as_str()]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn listed(items: &[(&str, bool)]) -> Vec<PrivateIp> {
        items
            .iter()
            .map(|(a, primary)| PrivateIp {
                address: ip(a),
                primary: *primary,
            })
            .collect()
    }

    fn code(r: Result<AddressPlan, Error>) -> String {
        match r {
            Err(Error::Client { code, .. }) => code.to_string(),
            Err(Error::InvalidParameterValue(_)) => "InvalidParameterValue".into(),
            Err(Error::InvalidParameterCombination(_)) => "InvalidParameterCombination".into(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn address_plans_follow_aws_rules() {
        let automatic = plan_addresses(&CreateNetworkInterface::default()).unwrap();
        assert_eq!(
            automatic,
            AddressPlan {
                primary: None,
                secondaries: vec![],
                automatic: 0
            }
        );
        let input = CreateNetworkInterface {
            private_ip_address: Some(ip("10.0.0.10")),
            secondary_private_ip_address_count: Some(2),
            ..Default::default()
        };
        let plan = plan_addresses(&input).unwrap();
        assert_eq!(plan.primary, Some(ip("10.0.0.10")));
        assert_eq!(plan.automatic, 2);

        let input = CreateNetworkInterface {
            private_ip_addresses: listed(&[("10.0.0.11", false), ("10.0.0.10", true)]),
            ..Default::default()
        };
        let plan = plan_addresses(&input).unwrap();
        assert_eq!(plan.primary, Some(ip("10.0.0.10")));
        assert_eq!(plan.secondaries, vec![ip("10.0.0.11")]);

        let input = CreateNetworkInterface {
            private_ip_addresses: listed(&[("10.0.0.12", false), ("10.0.0.13", false)]),
            ..Default::default()
        };
        let plan = plan_addresses(&input).unwrap();
        assert_eq!(plan.primary, Some(ip("10.0.0.12")), "the first is primary");
        assert_eq!(plan.secondaries, vec![ip("10.0.0.13")]);

        let two_primaries = CreateNetworkInterface {
            private_ip_addresses: listed(&[("10.0.0.10", true), ("10.0.0.11", true)]),
            ..Default::default()
        };
        assert_eq!(
            code(plan_addresses(&two_primaries)),
            "InvalidParameterValue"
        );
        let disagreeing = CreateNetworkInterface {
            private_ip_address: Some(ip("10.0.0.9")),
            private_ip_addresses: listed(&[("10.0.0.10", true)]),
            ..Default::default()
        };
        assert_eq!(
            code(plan_addresses(&disagreeing)),
            "InvalidParameterCombination"
        );
        let twice = CreateNetworkInterface {
            private_ip_address: Some(ip("10.0.0.9")),
            private_ip_addresses: listed(&[("10.0.0.9", false)]),
            ..Default::default()
        };
        assert_eq!(code(plan_addresses(&twice)), "InvalidParameterValue");
        let both = CreateNetworkInterface {
            private_ip_addresses: listed(&[("10.0.0.10", true), ("10.0.0.11", false)]),
            secondary_private_ip_address_count: Some(1),
            ..Default::default()
        };
        assert_eq!(code(plan_addresses(&both)), "InvalidParameterCombination");
        let too_many = CreateNetworkInterface {
            secondary_private_ip_address_count: Some(50),
            ..Default::default()
        };
        assert_eq!(
            code(plan_addresses(&too_many)),
            "PrivateIpAddressLimitExceeded"
        );
        let zero = CreateNetworkInterface {
            secondary_private_ip_address_count: Some(0),
            ..Default::default()
        };
        assert_eq!(code(plan_addresses(&zero)), "InvalidParameterValue");
    }

    #[test]
    fn macs_are_locally_administered_unicast() {
        let mac = random_mac();
        assert_eq!(mac.len(), 17);
        assert!(mac.starts_with("02:"));
        assert!(mac.split(':').all(|b| u8::from_str_radix(b, 16).is_ok()));
        assert!(parse_network_interface_id("eni-0123abcd").is_ok());
        assert!(matches!(
            parse_network_interface_id("eni-zz"),
            Err(Error::Client {
                code: "InvalidNetworkInterfaceID.Malformed",
                ..
            })
        ));
        assert!(check_description(&"d".repeat(255)).is_ok());
        assert!(check_description(&"d".repeat(256)).is_err());
    }
}
