//! Internet gateway actions: decode parameters, call the EC2 service, render
//! the `InternetGateway` shape.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::internet_gateway::{parse_internet_gateway_id, InternetGateway};
use nubo_ec2::vpc::ops::parse_vpc_id;
use nubo_protocol::xml::XmlWriter;

use super::render;
use crate::call::Call;
use crate::server::Api;

/// The `InternetGateway` shape's members.
fn internet_gateway(w: &mut XmlWriter, g: &InternetGateway) {
    w.items("attachmentSet", g.vpc_id.iter(), |w, vpc| {
        w.leaf("state", InternetGateway::ATTACHED_STATE)
            .leaf("vpcId", vpc);
    })
    .leaf("internetGatewayId", &g.id)
    .leaf("ownerId", &g.owner_id);
    render::tag_set(w, &g.tags);
}

pub async fn create_internet_gateway(api: &Api, call: &mut Call) -> Result<String, Error> {
    let specs: Vec<_> = call
        .params
        .tag_specifications()?
        .into_iter()
        .map(|s| (s.resource_type, s.tags))
        .collect();
    let created = api.ec2.create_internet_gateway(&call.scope, &specs).await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("CreateInternetGateway");
    w.node("internetGateway", |w| internet_gateway(w, &created));
    Ok(call.finish(w))
}

pub async fn describe_internet_gateways(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("InternetGatewayId")?
        .iter()
        .map(|id| parse_internet_gateway_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (gateways, next) = api
        .ec2
        .describe_internet_gateways(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeInternetGateways");
    w.items("internetGatewaySet", &gateways, internet_gateway);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_internet_gateway(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_internet_gateway_id(call.params.required("InternetGatewayId")?)?;
    api.ec2.delete_internet_gateway(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteInternetGateway");
    w.leaf("return", true);
    Ok(call.finish(w))
}

/// `AttachInternetGateway` (`attach`) or `DetachInternetGateway`.
pub async fn attach_or_detach(
    api: &Api,
    call: &mut Call,
    action: &str,
    attach: bool,
) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_internet_gateway_id(p.required("InternetGatewayId")?)?;
    let vpc = parse_vpc_id(p.required("VpcId")?)?;
    if attach {
        api.ec2
            .attach_internet_gateway(&call.scope, &id, &vpc)
            .await?;
    } else {
        api.ec2
            .detach_internet_gateway(&call.scope, &id, &vpc)
            .await?;
    }
    call.touched.extend([id.to_string(), vpc.to_string()]);
    let mut w = call.response(action);
    w.leaf("return", true);
    Ok(call.finish(w))
}
