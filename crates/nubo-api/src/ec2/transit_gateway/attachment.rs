//! Transit gateway VPC attachment actions: render the
//! `TransitGatewayVpcAttachment` and `TransitGatewayAttachment` shapes.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::subnet::ops::parse_subnet_id;
use nubo_ec2::transit_gateway::attachment::{
    CreateVpcAttachment, ModifyVpcAttachment, TransitGatewayAttachment, VpcAttachmentOptionsInput,
};
use nubo_ec2::transit_gateway::{parse_attachment_id, parse_transit_gateway_id};
use nubo_ec2::vpc::ops::parse_vpc_id;
use nubo_protocol::query::Params;
use nubo_protocol::xml::XmlWriter;

use super::{tag_specs, toggle};
use crate::call::Call;
use crate::ec2::render;
use crate::server::Api;

/// The `TransitGatewayVpcAttachment` shape's members.
fn vpc_attachment(w: &mut XmlWriter, a: &TransitGatewayAttachment) {
    let o = &a.options;
    w.leaf("transitGatewayAttachmentId", &a.id)
        .leaf("transitGatewayId", &a.transit_gateway_id)
        .leaf("vpcId", &a.vpc_id)
        .leaf("vpcOwnerId", &a.vpc_owner_id)
        .leaf("state", a.state.as_str())
        .items("subnetIds", a.subnet_ids(), |w, id| {
            w.text(id);
        })
        .leaf("creationTime", &a.creation_time)
        .node("options", |w| {
            w.leaf("dnsSupport", o.dns_support.as_str())
                .leaf(
                    "securityGroupReferencingSupport",
                    o.security_group_referencing_support.as_str(),
                )
                .leaf("ipv6Support", o.ipv6_support.as_str())
                .leaf("applianceModeSupport", o.appliance_mode_support.as_str());
        });
    render::tag_set(w, &a.tags);
}

/// The `TransitGatewayAttachment` shape's members.
fn any_attachment(w: &mut XmlWriter, a: &TransitGatewayAttachment) {
    w.leaf("transitGatewayAttachmentId", &a.id)
        .leaf("transitGatewayId", &a.transit_gateway_id)
        .leaf("transitGatewayOwnerId", &a.transit_gateway_owner_id)
        .leaf("resourceOwnerId", &a.vpc_owner_id)
        .leaf("resourceType", TransitGatewayAttachment::RESOURCE_TYPE)
        .leaf("resourceId", &a.vpc_id)
        .leaf("state", a.state.as_str());
    if let Some(table) = &a.association {
        w.node("association", |w| {
            w.leaf("transitGatewayRouteTableId", table)
                .leaf("state", TransitGatewayAttachment::ASSOCIATED);
        });
    }
    w.leaf("creationTime", &a.creation_time);
    render::tag_set(w, &a.tags);
}

fn options(p: &Params) -> Result<VpcAttachmentOptionsInput, Error> {
    Ok(VpcAttachmentOptionsInput {
        dns_support: toggle(p, "Options.DnsSupport")?,
        security_group_referencing_support: toggle(p, "Options.SecurityGroupReferencingSupport")?,
        ipv6_support: toggle(p, "Options.Ipv6Support")?,
        appliance_mode_support: toggle(p, "Options.ApplianceModeSupport")?,
    })
}

fn subnet_list(p: &Params, key: &str) -> Result<Vec<nubo_core::ResourceId>, Error> {
    p.list(key)?.iter().map(|s| parse_subnet_id(s)).collect()
}

pub async fn create_vpc_attachment(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let transit_gateway_id = parse_transit_gateway_id(p.required("TransitGatewayId")?)?;
    let vpc_id = parse_vpc_id(p.required("VpcId")?)?;
    let subnet_ids = subnet_list(p, "SubnetIds")?;
    if subnet_ids.is_empty() {
        return Err(Error::MissingParameter("SubnetIds".into()));
    }
    let input = CreateVpcAttachment {
        transit_gateway_id,
        vpc_id,
        subnet_ids,
        options: options(p)?,
        tag_specifications: tag_specs(p, "TagSpecifications")?,
    };
    let created = api
        .ec2
        .create_transit_gateway_vpc_attachment(&call.scope, input)
        .await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("CreateTransitGatewayVpcAttachment");
    w.node("transitGatewayVpcAttachment", |w| {
        vpc_attachment(w, &created)
    });
    Ok(call.finish(w))
}

fn ids_and_page(
    p: &Params,
) -> Result<
    (
        Vec<nubo_core::ResourceId>,
        Vec<nubo_core::filter::Filter>,
        Page,
    ),
    Error,
> {
    let ids = p
        .list("TransitGatewayAttachmentIds")?
        .iter()
        .map(|id| parse_attachment_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    Ok((ids, filters, page))
}

pub async fn describe_vpc_attachments(api: &Api, call: &mut Call) -> Result<String, Error> {
    let (ids, filters, page) = ids_and_page(&call.params)?;
    let (found, next) = api
        .ec2
        .describe_transit_gateway_vpc_attachments(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeTransitGatewayVpcAttachments");
    w.items("transitGatewayVpcAttachments", &found, vpc_attachment);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn describe_attachments(api: &Api, call: &mut Call) -> Result<String, Error> {
    let (ids, filters, page) = ids_and_page(&call.params)?;
    let (found, next) = api
        .ec2
        .describe_transit_gateway_attachments(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeTransitGatewayAttachments");
    w.items("transitGatewayAttachments", &found, any_attachment);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_vpc_attachment(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_attachment_id(call.params.required("TransitGatewayAttachmentId")?)?;
    let deleted = api
        .ec2
        .delete_transit_gateway_vpc_attachment(&call.scope, &id)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteTransitGatewayVpcAttachment");
    w.node("transitGatewayVpcAttachment", |w| {
        vpc_attachment(w, &deleted)
    });
    Ok(call.finish(w))
}

pub async fn modify_vpc_attachment(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_attachment_id(p.required("TransitGatewayAttachmentId")?)?;
    let input = ModifyVpcAttachment {
        add_subnet_ids: subnet_list(p, "AddSubnetIds")?,
        remove_subnet_ids: subnet_list(p, "RemoveSubnetIds")?,
        options: options(p)?,
    };
    let modified = api
        .ec2
        .modify_transit_gateway_vpc_attachment(&call.scope, &id, input)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("ModifyTransitGatewayVpcAttachment");
    w.node("transitGatewayVpcAttachment", |w| {
        vpc_attachment(w, &modified)
    });
    Ok(call.finish(w))
}
