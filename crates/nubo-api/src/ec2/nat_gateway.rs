//! NAT gateway actions: decode parameters, call the EC2 service, render the
//! `NatGateway` shape.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::elastic_ip::parse_allocation_id;
use nubo_ec2::nat_gateway::ops::CreateNatGateway;
use nubo_ec2::nat_gateway::{parse_nat_gateway_id, ConnectivityType, NatGateway, NatGatewayState};
use nubo_ec2::subnet::ops::parse_subnet_id;
use nubo_protocol::xml::XmlWriter;

use super::params::{ipv4, refuse_unsupported};
use super::render;
use crate::call::Call;
use crate::server::Api;

/// The `NatGateway` shape's members, with `state` as given (a create answers
/// `pending` whatever the stored state, as AWS does).
fn nat_gateway(w: &mut XmlWriter, g: &NatGateway, state: NatGatewayState) {
    w.leaf("createTime", &g.create_time)
        .leaf_opt("deleteTime", g.delete_time.as_ref());
    if let Some(f) = &g.failure {
        w.leaf("failureCode", &f.code)
            .leaf("failureMessage", &f.message);
    }
    w.items("natGatewayAddressSet", &g.addresses, |w, a| {
        w.leaf_opt("allocationId", a.allocation_id.as_ref())
            .leaf("networkInterfaceId", &a.network_interface_id)
            .leaf("privateIp", a.private_ip)
            .leaf_opt("publicIp", a.public_ip)
            .leaf_opt("associationId", a.association_id.as_ref())
            .leaf("isPrimary", a.is_primary)
            .leaf("status", "succeeded");
    })
    .leaf("natGatewayId", &g.id)
    .leaf("state", state.as_str())
    .leaf("subnetId", &g.subnet_id)
    .leaf("vpcId", &g.vpc_id);
    render::tag_set(w, &g.tags);
    w.leaf("connectivityType", g.connectivity_type.as_str());
}

pub async fn create_nat_gateway(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    refuse_unsupported(
        p,
        &[
            "SecondaryAllocationId",
            "SecondaryPrivateIpAddress",
            "SecondaryPrivateIpAddressCount",
            "AvailabilityMode",
            "AvailabilityZoneAddress",
            "VpcId",
        ],
        "NAT gateways are zonal, with one address",
    )?;
    let private_ip = p
        .get("PrivateIpAddress")
        .map(|a| ipv4(a, "PrivateIpAddress"))
        .transpose()?;
    let input = CreateNatGateway {
        subnet_id: parse_subnet_id(p.required("SubnetId")?)?,
        allocation_id: p.get("AllocationId").map(parse_allocation_id).transpose()?,
        connectivity_type: p
            .get("ConnectivityType")
            .map(ConnectivityType::parse)
            .transpose()?
            .unwrap_or(ConnectivityType::Public),
        private_ip,
        client_token: p.get("ClientToken").map(str::to_string),
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
    };
    let created = api.ec2.create_nat_gateway(&call.scope, &input).await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("CreateNatGateway");
    w.leaf_opt("clientToken", input.client_token.as_ref());
    w.node("natGateway", |w| {
        nat_gateway(w, &created, NatGatewayState::Pending)
    });
    Ok(call.finish(w))
}

pub async fn describe_nat_gateways(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("NatGatewayId")?
        .iter()
        .map(|id| parse_nat_gateway_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (gateways, next) = api
        .ec2
        .describe_nat_gateways(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeNatGateways");
    w.items("natGatewaySet", &gateways, |w, g| {
        nat_gateway(w, g, g.state)
    });
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_nat_gateway(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_nat_gateway_id(call.params.required("NatGatewayId")?)?;
    api.ec2.delete_nat_gateway(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteNatGateway");
    w.leaf("natGatewayId", &id);
    Ok(call.finish(w))
}
