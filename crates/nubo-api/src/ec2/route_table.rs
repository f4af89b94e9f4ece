//! Route table and route actions: decode parameters, call the EC2 service,
//! render the `RouteTable`, `RouteTableAssociation` and `Route` shapes.

use nubo_core::filter::Page;
use nubo_core::{Error, Ipv4Cidr, ResourceId, ResourceKind};
use nubo_ec2::internet_gateway::parse_internet_gateway_id;
use nubo_ec2::route_table::association::parse_association_id;
use nubo_ec2::route_table::ops::{parse_route_table_id, CreateRouteTable};
use nubo_ec2::route_table::routes::parse_destination;
use nubo_ec2::route_table::{Association, Route, RouteTable, RouteTarget};
use nubo_ec2::subnet::ops::parse_subnet_id;
use nubo_ec2::vpc::ops::parse_vpc_id;
use nubo_protocol::xml::XmlWriter;

use super::render;
use crate::call::Call;
use crate::server::Api;

/// The `RouteTableAssociation` shape's members.
fn association(w: &mut XmlWriter, table: &RouteTable, a: &Association) {
    w.leaf("main", a.main)
        .leaf("routeTableAssociationId", &a.id)
        .leaf("routeTableId", &table.id)
        .leaf_opt("subnetId", a.subnet_id.as_ref())
        .leaf_opt("gatewayId", a.gateway_id.as_ref())
        .node("associationState", |w| {
            w.leaf("state", "associated");
        });
}

/// The `Route` shape's members.
fn route(w: &mut XmlWriter, r: &Route) {
    w.leaf("destinationCidrBlock", r.destination_cidr_block)
        .leaf_opt("gatewayId", r.target.gateway_id().as_ref());
    match &r.target {
        RouteTarget::Local | RouteTarget::Gateway(_) => {}
        RouteTarget::NatGateway(id) => {
            w.leaf("natGatewayId", id);
        }
        RouteTarget::VpcPeeringConnection(id) => {
            w.leaf("vpcPeeringConnectionId", id);
        }
        RouteTarget::TransitGateway(id) => {
            w.leaf("transitGatewayId", id);
        }
        RouteTarget::NetworkInterface(id) => {
            w.leaf("networkInterfaceId", id);
        }
        RouteTarget::Instance(id) => {
            w.leaf("instanceId", id);
        }
    }
    w.leaf("origin", r.origin.as_str())
        .leaf("state", r.state.as_str());
}

/// The `RouteTable` shape's members.
fn route_table(w: &mut XmlWriter, t: &RouteTable) {
    w.items("associationSet", &t.associations, |w, a| {
        association(w, t, a)
    })
    .node("propagatingVgwSet", |_| {})
    .leaf("routeTableId", &t.id)
    .items("routeSet", &t.routes, route);
    render::tag_set(w, &t.tags);
    w.leaf("vpcId", &t.vpc_id).leaf("ownerId", &t.owner_id);
}

pub async fn create_route_table(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let input = CreateRouteTable {
        vpc_id: parse_vpc_id(p.required("VpcId")?)?,
        client_token: p.get("ClientToken").map(str::to_string),
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
    };
    let token = input.client_token.clone();
    let created = api.ec2.create_route_table(&call.scope, input).await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("CreateRouteTable");
    w.node("routeTable", |w| route_table(w, &created));
    w.leaf_opt("clientToken", token);
    Ok(call.finish(w))
}

pub async fn describe_route_tables(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("RouteTableId")?
        .iter()
        .map(|id| parse_route_table_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 100)?;
    let (tables, next) = api
        .ec2
        .describe_route_tables(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeRouteTables");
    w.items("routeTableSet", &tables, route_table);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_route_table(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_route_table_id(call.params.required("RouteTableId")?)?;
    api.ec2.delete_route_table(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteRouteTable");
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn associate_route_table(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let table = parse_route_table_id(p.required("RouteTableId")?)?;
    if p.contains("PublicIpv4Pool") {
        return Err(Error::invalid(
            "Public IPv4 pools are not supported by this Nubo installation.",
        ));
    }
    let created = match (p.get("SubnetId"), p.get("GatewayId")) {
        (Some(_), Some(_)) => {
            return Err(Error::InvalidParameterCombination(
                "Only one of SubnetId and GatewayId may be specified.".into(),
            ))
        }
        (None, Some(gateway)) => {
            let gateway = parse_internet_gateway_id(gateway)?;
            api.ec2
                .associate_route_table_with_gateway(&call.scope, &table, &gateway)
                .await?
        }
        (subnet, None) => {
            let subnet =
                parse_subnet_id(subnet.ok_or_else(|| Error::MissingParameter("SubnetId".into()))?)?;
            api.ec2
                .associate_route_table(&call.scope, &table, &subnet)
                .await?
        }
    };
    call.touched
        .extend([table.to_string(), created.id.to_string()]);
    let mut w = call.response("AssociateRouteTable");
    w.leaf("associationId", &created.id)
        .node("associationState", |w| {
            w.leaf("state", "associated");
        });
    Ok(call.finish(w))
}

pub async fn disassociate_route_table(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_association_id(call.params.required("AssociationId")?)?;
    api.ec2.disassociate_route_table(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DisassociateRouteTable");
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn replace_route_table_association(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_association_id(p.required("AssociationId")?)?;
    let table = parse_route_table_id(p.required("RouteTableId")?)?;
    let created = api
        .ec2
        .replace_route_table_association(&call.scope, &id, &table)
        .await?;
    call.touched
        .extend([id.to_string(), created.id.to_string()]);
    let mut w = call.response("ReplaceRouteTableAssociation");
    w.leaf("newAssociationId", &created.id)
        .node("associationState", |w| {
            w.leaf("state", "associated");
        });
    Ok(call.finish(w))
}

/// Route targets and destinations Nubo does not offer yet.
const UNSUPPORTED_ROUTE_PARAMS: &[&str] = &[
    "DestinationIpv6CidrBlock",
    "DestinationPrefixListId",
    "EgressOnlyInternetGatewayId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "VpcEndpointId",
    "CoreNetworkArn",
    "OdbNetworkArn",
    "LocalTarget",
];

/// The table and destination of a route call, after refusing what is not offered.
fn route_key(call: &Call) -> Result<(ResourceId, Ipv4Cidr), Error> {
    let p = &call.params;
    if let Some(param) = UNSUPPORTED_ROUTE_PARAMS.iter().find(|k| p.contains(k)) {
        return Err(Error::invalid(format!(
            "The parameter {param} is not supported by this Nubo installation yet: routes take an IPv4 DestinationCidrBlock and one of GatewayId, NatGatewayId, VpcPeeringConnectionId, TransitGatewayId, NetworkInterfaceId or InstanceId."
        )));
    }
    let table = parse_route_table_id(p.required("RouteTableId")?)?;
    let destination = parse_destination(p.required("DestinationCidrBlock")?)?;
    Ok((table, destination))
}

/// A target parameter of `CreateRoute`/`ReplaceRoute`: its name, the kind of
/// ID it takes, the error code of a malformed one, and the target it makes.
type TargetParam = (
    &'static str,
    ResourceKind,
    &'static str,
    fn(ResourceId) -> RouteTarget,
);

const TARGET_PARAMS: &[TargetParam] = &[
    (
        "GatewayId",
        ResourceKind::InternetGateway,
        "InvalidInternetGatewayID.Malformed",
        RouteTarget::Gateway,
    ),
    (
        "NatGatewayId",
        ResourceKind::NatGateway,
        "InvalidNatGatewayID.Malformed",
        RouteTarget::NatGateway,
    ),
    (
        "VpcPeeringConnectionId",
        ResourceKind::VpcPeeringConnection,
        "InvalidVpcPeeringConnectionID.Malformed",
        RouteTarget::VpcPeeringConnection,
    ),
    (
        "TransitGatewayId",
        ResourceKind::TransitGateway,
        "InvalidTransitGatewayID.Malformed",
        RouteTarget::TransitGateway,
    ),
    (
        "NetworkInterfaceId",
        ResourceKind::NetworkInterface,
        "InvalidNetworkInterfaceID.Malformed",
        RouteTarget::NetworkInterface,
    ),
    (
        "InstanceId",
        ResourceKind::Instance,
        "InvalidInstanceID.Malformed",
        RouteTarget::Instance,
    ),
];

/// The route's target: exactly one of [`TARGET_PARAMS`] (`local` is only
/// the VPC's own blocks).
fn route_target(call: &Call) -> Result<RouteTarget, Error> {
    let given: Vec<_> = TARGET_PARAMS
        .iter()
        .filter_map(|t| call.params.get(t.0).map(|v| (t, v)))
        .collect();
    let ((param, kind, malformed, make), value) = match given.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::MissingParameter(
                "The request must contain exactly one of gatewayId, natGatewayId, vpcPeeringConnectionId, transitGatewayId, networkInterfaceId or instanceId.".into(),
            ))
        }
        _ => {
            return Err(Error::InvalidParameterCombination(
                "The request must contain exactly one of gatewayId, natGatewayId, vpcPeeringConnectionId, transitGatewayId, networkInterfaceId or instanceId.".into(),
            ))
        }
    };
    if *param == "GatewayId" && value == "local" {
        return Err(Error::invalid(
            "The target local is reserved for the VPC's own CIDR blocks; it cannot be given to a route.",
        ));
    }
    if *param == "GatewayId" && ResourceKind::of_id(value) != Some(*kind) {
        return Err(Error::invalid(format!(
            "The gateway {value} is not supported by this Nubo installation: GatewayId takes an internet gateway (igw-)."
        )));
    }
    Ok(make(ResourceId::parse(value, *kind, malformed)?))
}

/// `CreateRoute` (`replace` false) or `ReplaceRoute`.
pub async fn write_route(
    api: &Api,
    call: &mut Call,
    action: &str,
    replace: bool,
) -> Result<String, Error> {
    let (table, destination) = route_key(call)?;
    let target = route_target(call)?;
    if replace {
        api.ec2
            .replace_route(&call.scope, &table, destination, &target)
            .await?;
    } else {
        api.ec2
            .create_route(&call.scope, &table, destination, &target)
            .await?;
    }
    call.touched.push(table.to_string());
    let mut w = call.response(action);
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn delete_route(api: &Api, call: &mut Call) -> Result<String, Error> {
    let (table, destination) = route_key(call)?;
    api.ec2
        .delete_route(&call.scope, &table, destination)
        .await?;
    call.touched.push(table.to_string());
    let mut w = call.response("DeleteRoute");
    w.leaf("return", true);
    Ok(call.finish(w))
}
