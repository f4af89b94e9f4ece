//! VPC peering connection actions: decode parameters, call the EC2 service,
//! render the `VpcPeeringConnection` shape.

use nubo_core::filter::Page;
use nubo_core::{AccountId, Error};
use nubo_ec2::vpc::ops::parse_vpc_id;
use nubo_ec2::vpc_peering::ops::CreateVpcPeeringConnection;
use nubo_ec2::vpc_peering::options::PeeringOptionsRequest;
use nubo_ec2::vpc_peering::{
    parse_vpc_peering_connection_id, rfc3339, PeerVpcInfo, VpcPeeringConnection,
};
use nubo_protocol::query::Params;
use nubo_protocol::xml::XmlWriter;

use super::render;
use crate::call::Call;
use crate::server::Api;

/// The `PeeringConnectionOptions` shape's members for one side.
fn peering_options(w: &mut XmlWriter, s: &PeerVpcInfo) {
    w.leaf(
        "allowDnsResolutionFromRemoteVpc",
        s.allow_dns_resolution_from_remote_vpc,
    )
    .leaf("allowEgressFromLocalClassicLinkToRemoteVpc", false)
    .leaf("allowEgressFromLocalVpcToRemoteClassicLink", false);
}

/// The `VpcPeeringConnectionVpcInfo` shape's members.
fn vpc_info(w: &mut XmlWriter, s: &PeerVpcInfo) {
    if let Some(primary) = s.cidr_blocks.first() {
        w.leaf("cidrBlock", primary);
    }
    w.items("cidrBlockSet", &s.cidr_blocks, |w, c| {
        w.leaf("cidrBlock", c);
    })
    .leaf("ownerId", &s.owner_id)
    .node("peeringOptions", |w| peering_options(w, s))
    .leaf("vpcId", &s.vpc_id)
    .leaf("region", &s.region);
}

/// The `VpcPeeringConnection` shape's members.
fn connection(w: &mut XmlWriter, c: &VpcPeeringConnection) {
    w.node("accepterVpcInfo", |w| vpc_info(w, &c.accepter));
    if c.shows_expiration() {
        w.leaf("expirationTime", rfc3339(c.expiration_ms));
    }
    w.node("requesterVpcInfo", |w| vpc_info(w, &c.requester))
        .node("status", |w| {
            w.leaf("code", c.state.as_str())
                .leaf("message", c.status_message());
        });
    render::tag_set(w, &c.tags);
    w.leaf("vpcPeeringConnectionId", &c.id);
}

pub async fn create_vpc_peering_connection(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let input = CreateVpcPeeringConnection {
        vpc_id: parse_vpc_id(p.required("VpcId")?)?,
        peer_vpc_id: parse_vpc_id(p.required("PeerVpcId")?)?,
        peer_owner_id: p.get("PeerOwnerId").map(AccountId::parse).transpose()?,
        peer_region: p.get("PeerRegion").map(str::to_string),
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
    };
    let created = api
        .ec2
        .create_vpc_peering_connection(&call.scope, input)
        .await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("CreateVpcPeeringConnection");
    w.node("vpcPeeringConnection", |w| connection(w, &created));
    Ok(call.finish(w))
}

pub async fn accept_vpc_peering_connection(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_vpc_peering_connection_id(call.params.required("VpcPeeringConnectionId")?)?;
    let accepted = api
        .ec2
        .accept_vpc_peering_connection(&call.scope, &id)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("AcceptVpcPeeringConnection");
    w.node("vpcPeeringConnection", |w| connection(w, &accepted));
    Ok(call.finish(w))
}

/// `RejectVpcPeeringConnection` (`delete` false) or `DeleteVpcPeeringConnection`.
pub async fn reject_or_delete(
    api: &Api,
    call: &mut Call,
    action: &str,
    delete: bool,
) -> Result<String, Error> {
    let id = parse_vpc_peering_connection_id(call.params.required("VpcPeeringConnectionId")?)?;
    if delete {
        api.ec2
            .delete_vpc_peering_connection(&call.scope, &id)
            .await?;
    } else {
        api.ec2
            .reject_vpc_peering_connection(&call.scope, &id)
            .await?;
    }
    call.touched.push(id.to_string());
    let mut w = call.response(action);
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn describe_vpc_peering_connections(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("VpcPeeringConnectionId")?
        .iter()
        .map(|id| parse_vpc_peering_connection_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (found, next) = api
        .ec2
        .describe_vpc_peering_connections(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeVpcPeeringConnections");
    w.items("vpcPeeringConnectionSet", &found, connection);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

/// One side's `PeeringConnectionOptionsRequest`, if the request has any of it.
fn options_request(p: &Params, prefix: &str) -> Result<Option<PeeringOptionsRequest>, Error> {
    let field = |name: &str| p.bool(&format!("{prefix}.{name}"));
    let request = PeeringOptionsRequest {
        allow_dns_resolution_from_remote_vpc: field("AllowDnsResolutionFromRemoteVpc")?,
        allow_egress_from_local_classic_link_to_remote_vpc: field(
            "AllowEgressFromLocalClassicLinkToRemoteVpc",
        )?,
        allow_egress_from_local_vpc_to_remote_classic_link: field(
            "AllowEgressFromLocalVpcToRemoteClassicLink",
        )?,
    };
    Ok((request != PeeringOptionsRequest::default()).then_some(request))
}

pub async fn modify_vpc_peering_connection_options(
    api: &Api,
    call: &mut Call,
) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_vpc_peering_connection_id(p.required("VpcPeeringConnectionId")?)?;
    let requester = options_request(p, "RequesterPeeringConnectionOptions")?;
    let accepter = options_request(p, "AccepterPeeringConnectionOptions")?;
    let changed = api
        .ec2
        .modify_vpc_peering_connection_options(
            &call.scope,
            &id,
            requester.clone(),
            accepter.clone(),
        )
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("ModifyVpcPeeringConnectionOptions");
    // AWS answers with the sides the request changed.
    if accepter.is_some() {
        w.node("accepterPeeringConnectionOptions", |w| {
            peering_options(w, &changed.accepter)
        });
    }
    if requester.is_some() {
        w.node("requesterPeeringConnectionOptions", |w| {
            peering_options(w, &changed.requester)
        });
    }
    Ok(call.finish(w))
}
