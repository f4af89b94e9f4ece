//! Subnet actions: decode parameters, call the EC2 service, render the
//! `Subnet` shape.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::subnet::ops::{parse_subnet_id, CreateSubnet, SubnetAttribute};
use nubo_ec2::subnet::Subnet;
use nubo_ec2::vpc::ops::parse_vpc_id;
use nubo_protocol::xml::XmlWriter;

use super::render;
use crate::call::Call;
use crate::server::Api;

/// The `Subnet` shape's members.
fn subnet(w: &mut XmlWriter, s: &Subnet) {
    w.leaf("subnetId", &s.id)
        .leaf("subnetArn", &s.arn)
        .leaf("state", s.state.as_str())
        .leaf("vpcId", &s.vpc_id)
        .leaf("cidrBlock", s.cidr_block)
        .leaf("availableIpAddressCount", s.available_ip_address_count())
        .leaf("availabilityZone", &s.availability_zone)
        .leaf("availabilityZoneId", &s.availability_zone_id)
        .leaf("defaultForAz", s.default_for_az)
        .leaf("mapPublicIpOnLaunch", s.map_public_ip_on_launch)
        .leaf("mapCustomerOwnedIpOnLaunch", false)
        .leaf("ownerId", &s.owner_id)
        .leaf("assignIpv6AddressOnCreation", false)
        .node("ipv6CidrBlockAssociationSet", |_| {})
        .leaf("enableDns64", false)
        .leaf("ipv6Native", false)
        .node("privateDnsNameOptionsOnLaunch", |w| {
            w.leaf("hostnameType", "ip-name")
                .leaf("enableResourceNameDnsARecord", false)
                .leaf("enableResourceNameDnsAAAARecord", false);
        });
    render::tag_set(w, &s.tags);
}

pub async fn create_subnet(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    if let Some(param) = [
        "Ipv6CidrBlock",
        "Ipv6Native",
        "Ipv4IpamPoolId",
        "Ipv4NetmaskLength",
        "Ipv6IpamPoolId",
        "Ipv6NetmaskLength",
        "OutpostArn",
    ]
    .into_iter()
    .find(|k| p.contains(k))
    {
        return Err(Error::invalid(format!(
            "The parameter {param} is not supported by this Nubo installation: subnets are IPv4 only, without IPAM pools or Outposts."
        )));
    }
    let input = CreateSubnet {
        vpc_id: parse_vpc_id(p.required("VpcId")?)?,
        cidr_block: p.required("CidrBlock")?.to_string(),
        availability_zone: p.get("AvailabilityZone").map(str::to_string),
        availability_zone_id: p.get("AvailabilityZoneId").map(str::to_string),
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
    };
    let created = api.ec2.create_subnet(&call.scope, input).await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("CreateSubnet");
    w.node("subnet", |w| subnet(w, &created));
    Ok(call.finish(w))
}

pub async fn describe_subnets(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("SubnetId")?
        .iter()
        .map(|id| parse_subnet_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (subnets, next) = api
        .ec2
        .describe_subnets(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeSubnets");
    w.items("subnetSet", &subnets, subnet);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_subnet(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_subnet_id(call.params.required("SubnetId")?)?;
    api.ec2.delete_subnet(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteSubnet");
    w.leaf("return", true);
    Ok(call.finish(w))
}

/// The attributes of `ModifySubnetAttribute` Nubo does not offer yet.
const UNSUPPORTED_ATTRIBUTES: &[&str] = &[
    "AssignIpv6AddressOnCreation",
    "MapCustomerOwnedIpOnLaunch",
    "CustomerOwnedIpv4Pool",
    "EnableDns64",
    "PrivateDnsHostnameTypeOnLaunch",
    "EnableResourceNameDnsARecordOnLaunch",
    "EnableResourceNameDnsAAAARecordOnLaunch",
    "EnableLniAtDeviceIndex",
    "DisableLniAtDeviceIndex",
];

pub async fn modify_subnet_attribute(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_subnet_id(p.required("SubnetId")?)?;
    if let Some(attr) = UNSUPPORTED_ATTRIBUTES
        .iter()
        .find(|a| p.keys().any(|k| k.split('.').next() == Some(**a)))
    {
        return Err(Error::invalid(format!(
            "The subnet attribute {attr} is not supported by this Nubo installation; only MapPublicIpOnLaunch can be modified."
        )));
    }
    let value = p
        .bool("MapPublicIpOnLaunch.Value")?
        .ok_or_else(|| Error::MissingParameter("MapPublicIpOnLaunch.Value".into()))?;
    api.ec2
        .modify_subnet_attribute(
            &call.scope,
            &id,
            SubnetAttribute::MapPublicIpOnLaunch,
            value,
        )
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("ModifySubnetAttribute");
    w.leaf("return", true);
    Ok(call.finish(w))
}
