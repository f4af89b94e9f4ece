//! Elastic IP actions: decode parameters, call the EC2 service, render the
//! `Address` shape. Associations are made and removed here too.

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId, ResourceKind};
use nubo_ec2::elastic_ip::association::{
    parse_association_id, AssociateAddress, AssociationTarget,
};
use nubo_ec2::elastic_ip::{
    parse_allocation_id, parse_public_ip, Address, AllocateAddress, AMAZON_POOL,
};
use nubo_ec2::network_interface::ops::parse_network_interface_id;
use nubo_protocol::xml::XmlWriter;

use super::params::ipv4;
use super::render;
use crate::call::Call;
use crate::server::Api;

/// The `Address` shape's members.
fn address(w: &mut XmlWriter, a: &Address) {
    w.leaf("publicIp", a.public_ip)
        .leaf("allocationId", &a.id)
        .leaf("domain", Address::DOMAIN);
    if let Some(m) = &a.association {
        w.leaf_opt("instanceId", m.instance_id.as_ref())
            .leaf("associationId", &m.id)
            .leaf("networkInterfaceId", &m.network_interface_id)
            .leaf("networkInterfaceOwnerId", &m.network_interface_owner_id)
            .leaf("privateIpAddress", m.private_ip);
    }
    render::tag_set(w, &a.tags);
    w.leaf("publicIpv4Pool", AMAZON_POOL)
        .leaf("networkBorderGroup", &a.network_border_group);
}

pub async fn allocate_address(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    if let Some(domain) = p.get("Domain") {
        if domain != Address::DOMAIN {
            return Err(Error::invalid(format!(
                "Value ({domain}) for parameter Domain is invalid. Only 'vpc' addresses exist here."
            )));
        }
    }
    if let Some(pool) = p.get("PublicIpv4Pool") {
        if pool != AMAZON_POOL {
            return Err(Error::invalid(format!(
                "Value ({pool}) for parameter PublicIpv4Pool is invalid. Only the '{AMAZON_POOL}' pool exists here."
            )));
        }
    }
    if p.contains("CustomerOwnedIpv4Pool") || p.contains("IpamPoolId") {
        return Err(Error::invalid(
            "Customer-owned and IPAM pools are not supported by this Nubo installation.",
        ));
    }
    if let Some(group) = p.get("NetworkBorderGroup") {
        if group != call.scope.region {
            return Err(Error::invalid(format!(
                "Value ({group}) for parameter NetworkBorderGroup is invalid. It must be the region {}.",
                call.scope.region
            )));
        }
    }
    let input = AllocateAddress {
        address: p.get("Address").map(parse_public_ip).transpose()?,
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
    };
    let allocated = api.ec2.allocate_public_address(&call.scope, &input).await?;
    call.touched.push(allocated.id.to_string());
    let mut w = call.response("AllocateAddress");
    w.leaf("publicIp", allocated.public_ip)
        .leaf("allocationId", &allocated.id)
        .leaf("publicIpv4Pool", AMAZON_POOL)
        .leaf("networkBorderGroup", &allocated.network_border_group)
        .leaf("domain", Address::DOMAIN);
    Ok(call.finish(w))
}

pub async fn describe_addresses(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("AllocationId")?
        .iter()
        .map(|id| parse_allocation_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let ips = p
        .list("PublicIp")?
        .iter()
        .map(|ip| parse_public_ip(ip))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    // DescribeAddresses is not paginated on AWS: every match comes back at once.
    let (addresses, _) = api
        .ec2
        .describe_addresses(&call.scope, &ids, &ips, &filters, &Page::default())
        .await?;
    let mut w = call.response("DescribeAddresses");
    w.items("addressesSet", &addresses, address);
    Ok(call.finish(w))
}

/// The caller's address with public IP `text` (deprecated `PublicIp` parameters).
async fn by_public_ip(api: &Api, call: &Call, text: &str) -> Result<Address, Error> {
    let ip = parse_public_ip(text)?;
    let (found, _) = api
        .ec2
        .describe_addresses(&call.scope, &[], &[ip], &[], &Page::default())
        .await?;
    found.into_iter().next().ok_or_else(|| {
        Error::not_found(
            "InvalidAddress.NotFound",
            format!("Address '{ip}' not found."),
        )
    })
}

pub async fn release_address(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = match (p.get("AllocationId"), p.get("PublicIp")) {
        (Some(id), _) => parse_allocation_id(id)?,
        // A VPC address named by its public IP: resolve it to its allocation.
        (None, Some(ip)) => by_public_ip(api, call, ip).await?.id,
        (None, None) => return Err(Error::MissingParameter("AllocationId".into())),
    };
    api.ec2.release_public_address(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("ReleaseAddress");
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn associate_address(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let allocation_id = match (p.get("AllocationId"), p.get("PublicIp")) {
        (Some(id), _) => parse_allocation_id(id)?,
        (None, Some(ip)) => by_public_ip(api, call, ip).await?.id,
        (None, None) => return Err(Error::MissingParameter("AllocationId".into())),
    };
    let target = match (p.get("NetworkInterfaceId"), p.get("InstanceId")) {
        (Some(_), Some(_)) => {
            return Err(Error::InvalidParameterCombination(
                "Only one of InstanceId and NetworkInterfaceId may be given.".into(),
            ))
        }
        (Some(eni), None) => AssociationTarget::NetworkInterface(parse_network_interface_id(eni)?),
        (None, Some(instance)) => AssociationTarget::Instance(ResourceId::parse(
            instance,
            ResourceKind::Instance,
            "InvalidInstanceID.Malformed",
        )?),
        (None, None) => return Err(Error::MissingParameter("InstanceId".into())),
    };
    let private_ip = p
        .get("PrivateIpAddress")
        .map(|a| ipv4(a, "PrivateIpAddress"))
        .transpose()?;
    let input = AssociateAddress {
        allocation_id,
        target,
        private_ip,
        allow_reassociation: p.bool("AllowReassociation")?.unwrap_or(false),
    };
    let association = api.ec2.associate_address(&call.scope, &input).await?;
    call.touched
        .extend([input.allocation_id.to_string(), association.to_string()]);
    let mut w = call.response("AssociateAddress");
    w.leaf("associationId", &association);
    Ok(call.finish(w))
}

pub async fn disassociate_address(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let association = match (p.get("AssociationId"), p.get("PublicIp")) {
        (Some(id), _) => parse_association_id(id)?,
        (None, Some(ip)) => match by_public_ip(api, call, ip).await?.association {
            Some(a) => a.id,
            None => {
                return Err(Error::not_found(
                    "InvalidAssociationID.NotFound",
                    format!("Address '{ip}' is not associated."),
                ))
            }
        },
        (None, None) => return Err(Error::MissingParameter("AssociationId".into())),
    };
    api.ec2
        .disassociate_address(&call.scope, &association)
        .await?;
    call.touched.push(association.to_string());
    let mut w = call.response("DisassociateAddress");
    w.leaf("return", true);
    Ok(call.finish(w))
}
