//! Transit gateway route actions: static routes and
//! `SearchTransitGatewayRoutes`; render the `TransitGatewayRoute` shape.

use nubo_core::Error;
use nubo_ec2::route_table::routes::parse_destination;
use nubo_ec2::transit_gateway::planner::TgwRoute;
use nubo_ec2::transit_gateway::routes::RouteTarget;
use nubo_ec2::transit_gateway::{parse_attachment_id, parse_route_table_id};
use nubo_protocol::xml::XmlWriter;

use crate::call::Call;
use crate::server::Api;

/// The `TransitGatewayRoute` shape's members; `state` overrides the route's
/// own (a deleted route is answered `deleted`).
fn route(w: &mut XmlWriter, r: &TgwRoute, state: Option<&str>) {
    w.leaf("destinationCidrBlock", r.destination);
    if !r.attachments.is_empty() {
        w.items("transitGatewayAttachments", &r.attachments, |w, a| {
            w.leaf("resourceId", &a.resource_id)
                .leaf("transitGatewayAttachmentId", &a.attachment_id)
                .leaf("resourceType", a.resource_type);
        });
    }
    w.leaf("type", r.route_type.as_str())
        .leaf("state", state.unwrap_or(r.state.as_str()));
}

/// `CreateTransitGatewayRoute` or (`replace`) `ReplaceTransitGatewayRoute`.
pub async fn write_route(
    api: &Api,
    call: &mut Call,
    action: &str,
    replace: bool,
) -> Result<String, Error> {
    let p = &call.params;
    let table = parse_route_table_id(p.required("TransitGatewayRouteTableId")?)?;
    let destination = parse_destination(p.required("DestinationCidrBlock")?)?;
    let attachment = p
        .get("TransitGatewayAttachmentId")
        .filter(|v| !v.is_empty())
        .map(parse_attachment_id)
        .transpose()?;
    let target = RouteTarget::from_params(attachment, p.bool("Blackhole")?.unwrap_or(false))?;
    let written = api
        .ec2
        .write_transit_gateway_route(&call.scope, &table, destination, target, replace)
        .await?;
    call.touched.push(table.to_string());
    let mut w = call.response(action);
    w.node("route", |w| route(w, &written, None));
    Ok(call.finish(w))
}

pub async fn delete_route(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let table = parse_route_table_id(p.required("TransitGatewayRouteTableId")?)?;
    let destination = parse_destination(p.required("DestinationCidrBlock")?)?;
    let deleted = api
        .ec2
        .delete_transit_gateway_route(&call.scope, &table, destination)
        .await?;
    call.touched.push(table.to_string());
    let mut w = call.response("DeleteTransitGatewayRoute");
    w.node("route", |w| route(w, &deleted, Some("deleted")));
    Ok(call.finish(w))
}

pub async fn search_routes(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let table = parse_route_table_id(p.required("TransitGatewayRouteTableId")?)?;
    let filters = p.filters()?;
    if filters.is_empty() {
        return Err(Error::MissingParameter("Filters".into()));
    }
    if p.get("NextToken").is_some_and(|t| !t.is_empty()) {
        return Err(Error::invalid(
            "SearchTransitGatewayRoutes does not paginate: narrow the filters or raise MaxResults.",
        ));
    }
    let max = match p.int("MaxResults")? {
        None => 1000,
        Some(n) if (5..=1000).contains(&n) => n as usize,
        Some(n) => {
            return Err(Error::invalid(format!(
                "Value ( {n} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000."
            )))
        }
    };
    let (routes, more) = api
        .ec2
        .search_transit_gateway_routes(&call.scope, &table, &filters, max)
        .await?;
    let mut w = call.response("SearchTransitGatewayRoutes");
    w.items("routeSet", &routes, |w, r| route(w, r, None));
    w.leaf("additionalRoutesAvailable", more);
    Ok(call.finish(w))
}
