//! VPC actions: decode parameters, call the EC2 service, render.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::vpc::ops::{parse_vpc_id, CreateVpc, VpcAttribute};

use super::render;
use crate::call::Call;
use crate::server::Api;

pub async fn create_vpc(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    if p.contains("Ipv4IpamPoolId") || p.contains("Ipv6IpamPoolId") || p.contains("Ipv6Pool") {
        return Err(Error::invalid(
            "IPAM pools and IPv6 pools are not supported by this Nubo installation.",
        ));
    }
    let input = CreateVpc {
        cidr_block: p.required("CidrBlock")?.to_string(),
        instance_tenancy: p.get("InstanceTenancy").map(str::to_string),
        amazon_provided_ipv6: p.bool("AmazonProvidedIpv6CidrBlock")?.unwrap_or(false),
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
    };
    let vpc = api.ec2.create_vpc(&call.scope, input).await?;
    call.touched.push(vpc.id.to_string());
    let mut w = call.response("CreateVpc");
    w.node("vpc", |w| render::vpc(w, &vpc));
    Ok(call.finish(w))
}

/// `CreateDefaultVpc`: a new default VPC when the account has none here.
pub async fn create_default_vpc(api: &Api, call: &mut Call) -> Result<String, Error> {
    let vpc = api.ec2.create_default_vpc(&call.scope).await?;
    call.touched.push(vpc.id.to_string());
    let mut w = call.response("CreateDefaultVpc");
    w.node("vpc", |w| render::vpc(w, &vpc));
    Ok(call.finish(w))
}

pub async fn describe_vpcs(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("VpcId")?
        .iter()
        .map(|id| parse_vpc_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (vpcs, next) = api
        .ec2
        .describe_vpcs(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeVpcs");
    w.items("vpcSet", &vpcs, render::vpc);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_vpc(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_vpc_id(call.params.required("VpcId")?)?;
    api.ec2.delete_vpc(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteVpc");
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn modify_vpc_attribute(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_vpc_id(p.required("VpcId")?)?;
    let given: Vec<(VpcAttribute, bool)> = [
        (VpcAttribute::EnableDnsSupport, "EnableDnsSupport.Value"),
        (VpcAttribute::EnableDnsHostnames, "EnableDnsHostnames.Value"),
        (
            VpcAttribute::EnableNetworkAddressUsageMetrics,
            "EnableNetworkAddressUsageMetrics.Value",
        ),
    ]
    .into_iter()
    .map(|(attr, key)| Ok(p.bool(key)?.map(|v| (attr, v))))
    .collect::<Result<Vec<_>, Error>>()?
    .into_iter()
    .flatten()
    .collect();
    let (attribute, value) = match given.as_slice() {
        [one] => *one,
        [] => return Err(Error::MissingParameter("EnableDnsSupport, EnableDnsHostnames or EnableNetworkAddressUsageMetrics".into())),
        _ => {
            return Err(Error::InvalidParameterCombination(
                "Fields for multiple attribute types specified: enableDnsSupport, enableDnsHostnames, enableNetworkAddressUsageMetrics".into(),
            ))
        }
    };
    api.ec2
        .modify_vpc_attribute(&call.scope, &id, attribute, value)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("ModifyVpcAttribute");
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn describe_vpc_attribute(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_vpc_id(call.params.required("VpcId")?)?;
    let attribute = VpcAttribute::parse(call.params.required("Attribute")?)?;
    let value = api
        .ec2
        .describe_vpc_attribute(&call.scope, &id, attribute)
        .await?;
    let mut w = call.response("DescribeVpcAttribute");
    w.leaf("vpcId", &id).node(attribute.name(), |w| {
        w.leaf("value", value);
    });
    Ok(call.finish(w))
}

pub async fn associate_vpc_cidr_block(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_vpc_id(p.required("VpcId")?)?;
    if p.bool("AmazonProvidedIpv6CidrBlock")?.unwrap_or(false)
        || [
            "Ipv6CidrBlock",
            "Ipv6Pool",
            "Ipv6IpamPoolId",
            "Ipv4IpamPoolId",
        ]
        .iter()
        .any(|k| p.contains(k))
    {
        return Err(Error::invalid(
            "IPv6 CIDR blocks are not supported by this Nubo installation.",
        ));
    }
    let cidr = p.required("CidrBlock")?;
    let association = api
        .ec2
        .associate_vpc_cidr_block(&call.scope, &id, cidr)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("AssociateVpcCidrBlock");
    w.node("cidrBlockAssociation", |w| {
        render::cidr_association(w, &association)
    });
    w.leaf("vpcId", &id);
    Ok(call.finish(w))
}

pub async fn disassociate_vpc_cidr_block(api: &Api, call: &mut Call) -> Result<String, Error> {
    let association_id = call.params.required("AssociationId")?.to_string();
    let (vpc_id, association) = api
        .ec2
        .disassociate_vpc_cidr_block(&call.scope, &association_id)
        .await?;
    call.touched.push(vpc_id.to_string());
    let mut w = call.response("DisassociateVpcCidrBlock");
    w.node("cidrBlockAssociation", |w| {
        render::cidr_association(w, &association)
    });
    w.leaf("vpcId", &vpc_id);
    Ok(call.finish(w))
}
