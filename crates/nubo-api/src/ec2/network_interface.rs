//! Network interface actions: decode parameters, call the EC2 service,
//! render the `NetworkInterface` shape.

use std::net::Ipv4Addr;

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceKind};
use nubo_ec2::network_interface::addresses::AssignAddresses;
use nubo_ec2::network_interface::ops::{
    parse_network_interface_id, CreateNetworkInterface, InterfaceAttribute,
};
use nubo_ec2::network_interface::{IpAssociation, NetworkInterface, PrivateIp};
use nubo_ec2::security_group::ops::parse_group_id;
use nubo_ec2::subnet::ops::parse_subnet_id;
use nubo_protocol::query::Params;
use nubo_protocol::xml::XmlWriter;

use super::params::{ipv4, refuse_unsupported, single_change};
use super::render;
use crate::call::Call;
use crate::server::Api;

/// The `NetworkInterface` shape's members.
fn network_interface(w: &mut XmlWriter, n: &NetworkInterface) {
    w.leaf("networkInterfaceId", &n.id)
        .leaf("subnetId", &n.subnet_id)
        .leaf("vpcId", &n.vpc_id)
        .leaf("availabilityZone", &n.availability_zone)
        .leaf("availabilityZoneId", &n.availability_zone_id)
        .leaf("description", &n.description)
        .leaf("ownerId", &n.owner_id)
        .leaf("requesterManaged", n.requester_managed)
        .leaf("status", n.status.as_str())
        .leaf("macAddress", &n.mac_address)
        .leaf_opt("privateIpAddress", n.primary_ip())
        .leaf("privateDnsName", &n.private_dns_name)
        .leaf("sourceDestCheck", n.source_dest_check)
        .items("groupSet", &n.groups, |w, g| {
            w.leaf("groupId", &g.id).leaf("groupName", &g.name);
        });
    if let Some(a) = n.association() {
        w.node("association", |w| association(w, a));
    }
    if let Some(a) = &n.attachment {
        w.node("attachment", |w| {
            w.leaf("attachTime", &a.attach_time)
                .leaf("attachmentId", &a.id)
                .leaf("deleteOnTermination", a.delete_on_termination)
                .leaf("deviceIndex", a.device_index)
                .leaf("networkCardIndex", 0)
                .leaf("instanceId", &a.instance_id)
                .leaf("instanceOwnerId", &a.instance_owner_id)
                .leaf("status", &a.status);
        });
    }
    w.node("ipv6AddressesSet", |_| {})
        .items("privateIpAddressesSet", &n.private_ips, |w, p| {
            if let Some(a) = n.association_of(p.address) {
                w.node("association", |w| association(w, a));
            }
            w.leaf("privateIpAddress", p.address)
                .leaf(
                    "privateDnsName",
                    nubo_ec2::network_interface::private_dns_name(
                        dns_region(&n.private_dns_name),
                        p.address,
                    ),
                )
                .leaf("primary", p.primary);
        })
        .leaf("interfaceType", &n.interface_type)
        .leaf("ipv6Native", false)
        .leaf("denyAllIgwTraffic", false);
    render::tag_set(w, &n.tags);
}

/// The `NetworkInterfaceAssociation` shape's members: the Elastic IP on an address.
fn association(w: &mut XmlWriter, a: &IpAssociation) {
    w.leaf("allocationId", &a.allocation_id)
        .leaf("associationId", &a.association_id)
        .leaf("ipOwnerId", &a.ip_owner_id)
        .leaf("publicIp", a.public_ip);
}

/// The region a primary DNS name was made for (`us-east-1` names have none).
fn dns_region(name: &str) -> &str {
    name.strip_suffix(".compute.internal")
        .and_then(|rest| rest.split_once('.').map(|(_, region)| region))
        .unwrap_or("us-east-1")
}

pub async fn create_network_interface(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    refuse_unsupported(
        p,
        &[
            "Ipv4Prefix",
            "Ipv4PrefixCount",
            "Ipv6Prefix",
            "Ipv6PrefixCount",
            "Ipv6Addresses",
            "Ipv6AddressCount",
            "EnablePrimaryIpv6",
            "ConnectionTrackingSpecification",
            "Operator",
        ],
        "network interfaces have IPv4 addresses only, without prefixes",
    )?;
    if let Some(kind) = p.get("InterfaceType").filter(|t| *t != "interface") {
        return Err(Error::invalid(format!(
            "The interface type {kind} is not supported by this Nubo installation; only 'interface' is."
        )));
    }
    let private_ip_addresses = p
        .structs("PrivateIpAddresses")?
        .iter()
        .map(|s| {
            Ok(PrivateIp {
                address: ipv4(s.required("PrivateIpAddress")?, "privateIpAddress")?,
                primary: s.bool("Primary")?.unwrap_or(false),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let input = CreateNetworkInterface {
        subnet_id: Some(parse_subnet_id(p.required("SubnetId")?)?),
        description: p.get("Description").map(str::to_string),
        private_ip_address: p
            .get("PrivateIpAddress")
            .map(|a| ipv4(a, "privateIpAddress"))
            .transpose()?,
        private_ip_addresses,
        secondary_private_ip_address_count: p.int("SecondaryPrivateIpAddressCount")?,
        groups: p
            .list("SecurityGroupId")?
            .iter()
            .map(|g| parse_group_id(g))
            .collect::<Result<_, _>>()?,
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
    };
    let created = api.ec2.create_network_interface(&call.scope, input).await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("CreateNetworkInterface");
    w.node("networkInterface", |w| network_interface(w, &created));
    w.leaf_opt("clientToken", call.params.get("ClientToken"));
    Ok(call.finish(w))
}

pub async fn describe_network_interfaces(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("NetworkInterfaceId")?
        .iter()
        .map(|id| parse_network_interface_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (enis, next) = api
        .ec2
        .describe_network_interfaces(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeNetworkInterfaces");
    w.items("networkInterfaceSet", &enis, network_interface);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_network_interface(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_network_interface_id(call.params.required("NetworkInterfaceId")?)?;
    api.ec2.delete_network_interface(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteNetworkInterface");
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn modify_network_interface_attribute(
    api: &Api,
    call: &mut Call,
) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_network_interface_id(p.required("NetworkInterfaceId")?)?;
    refuse_unsupported(
        p,
        &[
            "Attachment",
            "EnaSrdSpecification",
            "EnablePrimaryIpv6",
            "ConnectionTrackingSpecification",
            "AssociatePublicIpAddress",
            "AssociatedSubnetId",
        ],
        "only Description, SourceDestCheck and SecurityGroupId can be modified",
    )?;
    let mut attributes = Vec::new();
    if let Some(text) = p.get("Description.Value") {
        attributes.push(InterfaceAttribute::Description(text.to_string()));
    }
    if let Some(value) = p.bool("SourceDestCheck.Value")? {
        attributes.push(InterfaceAttribute::SourceDestCheck(value));
    }
    let groups = p.list("SecurityGroupId")?;
    if !groups.is_empty() {
        attributes.push(InterfaceAttribute::Groups(
            groups
                .iter()
                .map(|g| parse_group_id(g))
                .collect::<Result<_, _>>()?,
        ));
    }
    let attribute = single_change(
        attributes,
        "Description, SourceDestCheck or SecurityGroupId",
    )?;
    api.ec2
        .modify_network_interface_attribute(&call.scope, &id, attribute)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("ModifyNetworkInterfaceAttribute");
    w.leaf("return", true);
    Ok(call.finish(w))
}

fn addresses_of(p: &Params) -> Result<Vec<Ipv4Addr>, Error> {
    p.list("PrivateIpAddress")?
        .iter()
        .map(|a| ipv4(a, "privateIpAddress"))
        .collect()
}

pub async fn assign_private_ip_addresses(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_network_interface_id(p.required("NetworkInterfaceId")?)?;
    refuse_unsupported(
        p,
        &["Ipv4Prefix", "Ipv4PrefixCount"],
        "network interfaces have no prefixes",
    )?;
    if p.bool("AllowReassignment")? == Some(true) {
        return Err(Error::invalid(
            "The parameter AllowReassignment is not supported by this Nubo installation: an address in use elsewhere cannot be moved.",
        ));
    }
    let explicit = addresses_of(p)?;
    let count = p.int("SecondaryPrivateIpAddressCount")?;
    let addresses = match (explicit.is_empty(), count) {
        (false, Some(_)) => {
            return Err(Error::InvalidParameterCombination(
                "Specify either PrivateIpAddress or SecondaryPrivateIpAddressCount, not both."
                    .into(),
            ))
        }
        (false, None) => AssignAddresses::Explicit(explicit),
        (true, Some(n)) => AssignAddresses::Count(n),
        (true, None) => {
            return Err(Error::MissingParameter(
                "PrivateIpAddress or SecondaryPrivateIpAddressCount".into(),
            ))
        }
    };
    let added = api
        .ec2
        .assign_private_ip_addresses(&call.scope, &id, addresses)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("AssignPrivateIpAddresses");
    w.leaf("networkInterfaceId", &id)
        .items("assignedPrivateIpAddressesSet", &added, |w, a| {
            w.leaf("privateIpAddress", a);
        })
        .leaf("return", true);
    Ok(call.finish(w))
}

pub async fn unassign_private_ip_addresses(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_network_interface_id(p.required("NetworkInterfaceId")?)?;
    refuse_unsupported(p, &["Ipv4Prefix"], "network interfaces have no prefixes")?;
    let addresses = addresses_of(p)?;
    api.ec2
        .unassign_private_ip_addresses(&call.scope, &id, &addresses)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("UnassignPrivateIpAddresses");
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn attach_network_interface(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_network_interface_id(p.required("NetworkInterfaceId")?)?;
    let instance = nubo_core::ResourceId::parse(
        p.required("InstanceId")?,
        ResourceKind::Instance,
        "InvalidInstanceID.Malformed",
    )?;
    let device_index = p
        .int("DeviceIndex")?
        .ok_or_else(|| Error::MissingParameter("DeviceIndex".into()))?;
    refuse_unsupported(
        p,
        &["NetworkCardIndex", "EnaSrdSpecification", "EnaQueueCount"],
        "interfaces attach on network card 0 without ENA options",
    )?;
    let attachment = api
        .ec2
        .attach_network_interface(&call.scope, &id, &instance, device_index)
        .await?;
    call.touched.extend([id.to_string(), instance.to_string()]);
    let mut w = call.response("AttachNetworkInterface");
    w.leaf("attachmentId", attachment)
        .leaf("networkCardIndex", 0);
    Ok(call.finish(w))
}

pub async fn detach_network_interface(api: &Api, call: &mut Call) -> Result<String, Error> {
    let attachment = call.params.required("AttachmentId")?.to_string();
    call.params.bool("Force")?;
    api.ec2
        .detach_network_interface(&call.scope, &attachment)
        .await?;
    call.touched.push(attachment);
    let mut w = call.response("DetachNetworkInterface");
    w.leaf("return", true);
    Ok(call.finish(w))
}
