//! Transit gateway route table actions, with their associations and
//! propagations: render the `TransitGatewayRouteTable`,
//! `TransitGatewayAssociation`, `TransitGatewayPropagation` and `Get…` shapes.

use nubo_core::filter::{Filter, Page};
use nubo_core::{Error, ResourceId};
use nubo_ec2::transit_gateway::propagation::TableLink;
use nubo_ec2::transit_gateway::route_table::TransitGatewayRouteTable;
use nubo_ec2::transit_gateway::{
    parse_attachment_id, parse_route_table_id, parse_transit_gateway_id,
};
use nubo_protocol::xml::XmlWriter;

use super::tag_specs;
use crate::call::Call;
use crate::ec2::render;
use crate::server::Api;

/// The `TransitGatewayRouteTable` shape's members.
fn route_table(w: &mut XmlWriter, t: &TransitGatewayRouteTable) {
    w.leaf("transitGatewayRouteTableId", &t.id)
        .leaf("transitGatewayId", &t.transit_gateway_id)
        .leaf("state", t.state.as_str())
        .leaf(
            "defaultAssociationRouteTable",
            t.default_association_route_table,
        )
        .leaf(
            "defaultPropagationRouteTable",
            t.default_propagation_route_table,
        )
        .leaf("creationTime", &t.creation_time);
    render::tag_set(w, &t.tags);
}

pub async fn create_route_table(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let gateway = parse_transit_gateway_id(p.required("TransitGatewayId")?)?;
    let specs = tag_specs(p, "TagSpecifications")?;
    let created = api
        .ec2
        .create_transit_gateway_route_table(&call.scope, &gateway, &specs)
        .await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("CreateTransitGatewayRouteTable");
    w.node("transitGatewayRouteTable", |w| route_table(w, &created));
    Ok(call.finish(w))
}

pub async fn describe_route_tables(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("TransitGatewayRouteTableIds")?
        .iter()
        .map(|id| parse_route_table_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (tables, next) = api
        .ec2
        .describe_transit_gateway_route_tables(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeTransitGatewayRouteTables");
    w.items("transitGatewayRouteTables", &tables, route_table);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_route_table(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_route_table_id(call.params.required("TransitGatewayRouteTableId")?)?;
    let deleted = api
        .ec2
        .delete_transit_gateway_route_table(&call.scope, &id)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteTransitGatewayRouteTable");
    w.node("transitGatewayRouteTable", |w| route_table(w, &deleted));
    Ok(call.finish(w))
}

/// The members shared by association and propagation shapes.
fn link(w: &mut XmlWriter, l: &TableLink, with_table: bool) {
    if with_table {
        w.leaf("transitGatewayRouteTableId", &l.route_table_id);
    }
    w.leaf("transitGatewayAttachmentId", &l.attachment.attachment_id)
        .leaf("resourceId", &l.attachment.resource_id)
        .leaf("resourceType", l.attachment.resource_type)
        .leaf("state", l.state);
}

fn table_and_attachment(call: &Call) -> Result<(ResourceId, ResourceId), Error> {
    let p = &call.params;
    Ok((
        parse_route_table_id(p.required("TransitGatewayRouteTableId")?)?,
        parse_attachment_id(p.required("TransitGatewayAttachmentId")?)?,
    ))
}

/// `AssociateTransitGatewayRouteTable` (`associate`) or `DisassociateTransitGatewayRouteTable`.
pub async fn associate(api: &Api, call: &mut Call, associate: bool) -> Result<String, Error> {
    let (table, attachment) = table_and_attachment(call)?;
    let done = api
        .ec2
        .set_transit_gateway_association(&call.scope, &table, &attachment, associate)
        .await?;
    call.touched
        .extend([table.to_string(), attachment.to_string()]);
    let mut w = call.response(if associate {
        "AssociateTransitGatewayRouteTable"
    } else {
        "DisassociateTransitGatewayRouteTable"
    });
    w.node("association", |w| link(w, &done, true));
    Ok(call.finish(w))
}

/// `EnableTransitGatewayRouteTablePropagation` (`enable`) or its inverse.
pub async fn propagate(api: &Api, call: &mut Call, enable: bool) -> Result<String, Error> {
    if call
        .params
        .contains("TransitGatewayRouteTableAnnouncementId")
    {
        return Err(Error::invalid(
            "Route table announcements are not offered by this Nubo installation yet.",
        ));
    }
    let (table, attachment) = table_and_attachment(call)?;
    let done = api
        .ec2
        .set_transit_gateway_propagation(&call.scope, &table, &attachment, enable)
        .await?;
    call.touched
        .extend([table.to_string(), attachment.to_string()]);
    let mut w = call.response(if enable {
        "EnableTransitGatewayRouteTablePropagation"
    } else {
        "DisableTransitGatewayRouteTablePropagation"
    });
    w.node("propagation", |w| link(w, &done, true));
    Ok(call.finish(w))
}

fn table_filters_page(call: &Call) -> Result<(ResourceId, Vec<Filter>, Page), Error> {
    let p = &call.params;
    Ok((
        parse_route_table_id(p.required("TransitGatewayRouteTableId")?)?,
        p.filters()?,
        Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?,
    ))
}

pub async fn get_associations(api: &Api, call: &mut Call) -> Result<String, Error> {
    let (table, filters, page) = table_filters_page(call)?;
    let (links, next) = api
        .ec2
        .get_transit_gateway_route_table_associations(&call.scope, &table, &filters, &page)
        .await?;
    let mut w = call.response("GetTransitGatewayRouteTableAssociations");
    w.items("associations", &links, |w, l| link(w, l, false));
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn get_propagations(api: &Api, call: &mut Call) -> Result<String, Error> {
    let (table, filters, page) = table_filters_page(call)?;
    let (links, next) = api
        .ec2
        .get_transit_gateway_route_table_propagations(&call.scope, &table, &filters, &page)
        .await?;
    let mut w = call.response("GetTransitGatewayRouteTablePropagations");
    w.items("transitGatewayRouteTablePropagations", &links, |w, l| {
        link(w, l, false)
    });
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}
