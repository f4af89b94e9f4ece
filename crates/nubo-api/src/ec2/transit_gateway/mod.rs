//! Transit gateway actions: decode parameters, call the EC2 service, render
//! the `TransitGateway` shape. Attachments are in [`attachment`]; route
//! tables, associations, propagations and routes in [`route_table`].

pub mod attachment;
pub mod route_table;
pub mod routes;

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::transit_gateway::gateway::{
    CreateTransitGateway, TransitGateway, TransitGatewayRequestOptions,
};
use nubo_ec2::transit_gateway::modify::ModifyTransitGatewayOptions;
use nubo_ec2::transit_gateway::{parse_transit_gateway_id, Toggle};
use nubo_protocol::query::Params;
use nubo_protocol::xml::XmlWriter;

use super::render;
use crate::call::Call;
use crate::server::Api;

/// An optional `enable`/`disable` parameter.
pub(crate) fn toggle(p: &Params, key: &str) -> Result<Option<Toggle>, Error> {
    p.get(key).map(|v| Toggle::parse(key, v)).transpose()
}

/// The `(resourceType, tags)` pairs of a tag specification list named `prefix`.
pub(crate) fn tag_specs(
    p: &Params,
    prefix: &str,
) -> Result<Vec<(String, Vec<nubo_core::Tag>)>, Error> {
    Ok(p.tag_specifications_named(prefix)?
        .into_iter()
        .map(|s| (s.resource_type, s.tags))
        .collect())
}

/// `Options.AmazonSideAsn`, a number.
fn asn(p: &Params) -> Result<Option<i64>, Error> {
    p.get("Options.AmazonSideAsn")
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                Error::invalid(format!(
                    "Value ({v}) for parameter amazonSideAsn is invalid. Expecting a number."
                ))
            })
        })
        .transpose()
}

/// The `TransitGateway` shape's members.
fn transit_gateway(w: &mut XmlWriter, g: &TransitGateway) {
    let o = &g.options;
    w.leaf("transitGatewayId", &g.id)
        .leaf("transitGatewayArn", &g.arn)
        .leaf("state", g.state.as_str())
        .leaf("ownerId", &g.owner_id)
        .leaf_opt("description", g.description.as_ref())
        .leaf("creationTime", &g.creation_time)
        .node("options", |w| {
            w.leaf("amazonSideAsn", o.amazon_side_asn);
            if !o.transit_gateway_cidr_blocks.is_empty() {
                w.items(
                    "transitGatewayCidrBlocks",
                    &o.transit_gateway_cidr_blocks,
                    |w, c| {
                        w.text(c);
                    },
                );
            }
            w.leaf(
                "autoAcceptSharedAttachments",
                o.auto_accept_shared_attachments.as_str(),
            )
            .leaf(
                "defaultRouteTableAssociation",
                o.default_route_table_association.as_str(),
            )
            .leaf_opt(
                "associationDefaultRouteTableId",
                o.association_default_route_table_id.as_ref(),
            )
            .leaf(
                "defaultRouteTablePropagation",
                o.default_route_table_propagation.as_str(),
            )
            .leaf_opt(
                "propagationDefaultRouteTableId",
                o.propagation_default_route_table_id.as_ref(),
            )
            .leaf("vpnEcmpSupport", o.vpn_ecmp_support.as_str())
            .leaf("dnsSupport", o.dns_support.as_str())
            .leaf(
                "securityGroupReferencingSupport",
                o.security_group_referencing_support.as_str(),
            )
            .leaf("multicastSupport", o.multicast_support.as_str());
        });
    render::tag_set(w, &g.tags);
}

pub async fn create_transit_gateway(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let asn = asn(p)?;
    let input = CreateTransitGateway {
        description: p.get("Description").map(str::to_string),
        options: TransitGatewayRequestOptions {
            amazon_side_asn: asn,
            auto_accept_shared_attachments: toggle(p, "Options.AutoAcceptSharedAttachments")?,
            default_route_table_association: toggle(p, "Options.DefaultRouteTableAssociation")?,
            default_route_table_propagation: toggle(p, "Options.DefaultRouteTablePropagation")?,
            vpn_ecmp_support: toggle(p, "Options.VpnEcmpSupport")?,
            dns_support: toggle(p, "Options.DnsSupport")?,
            security_group_referencing_support: toggle(
                p,
                "Options.SecurityGroupReferencingSupport",
            )?,
            multicast_support: toggle(p, "Options.MulticastSupport")?,
            transit_gateway_cidr_blocks: p.list("Options.TransitGatewayCidrBlocks")?,
        },
        tag_specifications: tag_specs(p, "TagSpecification")?,
    };
    let created = api.ec2.create_transit_gateway(&call.scope, input).await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("CreateTransitGateway");
    w.node("transitGateway", |w| transit_gateway(w, &created));
    Ok(call.finish(w))
}

pub async fn describe_transit_gateways(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("TransitGatewayIds")?
        .iter()
        .map(|id| parse_transit_gateway_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (gateways, next) = api
        .ec2
        .describe_transit_gateways(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeTransitGateways");
    w.items("transitGatewaySet", &gateways, transit_gateway);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_transit_gateway(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_transit_gateway_id(call.params.required("TransitGatewayId")?)?;
    let deleted = api.ec2.delete_transit_gateway(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteTransitGateway");
    w.node("transitGateway", |w| transit_gateway(w, &deleted));
    Ok(call.finish(w))
}

pub async fn modify_transit_gateway(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_transit_gateway_id(p.required("TransitGatewayId")?)?;
    let table = |key: &str| -> Result<Option<nubo_core::ResourceId>, Error> {
        p.get(key)
            .filter(|v| !v.is_empty())
            .map(nubo_ec2::transit_gateway::parse_route_table_id)
            .transpose()
    };
    if p.contains("Options.EncryptionSupport") {
        return Err(Error::invalid(
            "Encryption support is not offered by this Nubo installation yet.",
        ));
    }
    let options = ModifyTransitGatewayOptions {
        add_transit_gateway_cidr_blocks: p.list("Options.AddTransitGatewayCidrBlocks")?,
        remove_transit_gateway_cidr_blocks: p.list("Options.RemoveTransitGatewayCidrBlocks")?,
        vpn_ecmp_support: toggle(p, "Options.VpnEcmpSupport")?,
        dns_support: toggle(p, "Options.DnsSupport")?,
        security_group_referencing_support: toggle(p, "Options.SecurityGroupReferencingSupport")?,
        auto_accept_shared_attachments: toggle(p, "Options.AutoAcceptSharedAttachments")?,
        default_route_table_association: toggle(p, "Options.DefaultRouteTableAssociation")?,
        association_default_route_table_id: table("Options.AssociationDefaultRouteTableId")?,
        default_route_table_propagation: toggle(p, "Options.DefaultRouteTablePropagation")?,
        propagation_default_route_table_id: table("Options.PropagationDefaultRouteTableId")?,
        amazon_side_asn: asn(p)?,
    };
    let description = p.get("Description").map(str::to_string);
    let modified = api
        .ec2
        .modify_transit_gateway(&call.scope, &id, description, options)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("ModifyTransitGateway");
    w.node("transitGateway", |w| transit_gateway(w, &modified));
    Ok(call.finish(w))
}
