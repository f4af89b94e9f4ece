//! Transit gateway route table actions: render the
//! `TransitGatewayRouteTable` shape.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::transit_gateway::route_table::TransitGatewayRouteTable;
use nubo_ec2::transit_gateway::{parse_route_table_id, parse_transit_gateway_id};
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
