//! Network ACL actions: decode parameters (an entry's `PortRange.From/To`
//! and `Icmp.Type/Code`), call the EC2 service, render the `NetworkAcl` shape.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::network_acl::entry::EntryInput;
use nubo_ec2::network_acl::ops::{parse_network_acl_id, CreateNetworkAcl, EntryChange};
use nubo_ec2::network_acl::{Entry, NetworkAcl};
use nubo_ec2::vpc::ops::parse_vpc_id;
use nubo_protocol::query::Params;
use nubo_protocol::xml::XmlWriter;

use super::render::tag_set;
use crate::call::Call;
use crate::server::Api;

/// The `NetworkAclEntry` shape's members.
fn entry(w: &mut XmlWriter, e: &Entry) {
    w.leaf("ruleNumber", e.rule_number)
        .leaf("protocol", e.protocol)
        .leaf("ruleAction", e.rule_action.as_str())
        .leaf("egress", e.egress)
        .leaf("cidrBlock", e.cidr_block);
    if let Some((icmp_type, code)) = e.icmp_type_code {
        w.node("icmpTypeCode", |w| {
            w.leaf("code", code).leaf("type", icmp_type);
        });
    }
    if let Some((from, to)) = e.port_range {
        w.node("portRange", |w| {
            w.leaf("from", from).leaf("to", to);
        });
    }
}

/// The `NetworkAcl` shape's members.
fn network_acl(w: &mut XmlWriter, a: &NetworkAcl) {
    w.leaf("networkAclId", &a.id)
        .leaf("vpcId", &a.vpc_id)
        .leaf("default", a.is_default)
        .items("entrySet", &a.described_entries(), entry)
        .items("associationSet", &a.associations, |w, assoc| {
            w.leaf("networkAclAssociationId", &assoc.association_id)
                .leaf("networkAclId", &a.id)
                .leaf("subnetId", &assoc.subnet_id);
        });
    tag_set(w, &a.tags);
    w.leaf("ownerId", &a.owner_id);
}

fn acl_id(p: &Params) -> Result<nubo_core::ResourceId, Error> {
    parse_network_acl_id(p.required("NetworkAclId")?)
}

/// The entry of a Create/ReplaceNetworkAclEntry call.
fn entry_input(p: &Params) -> Result<EntryInput, Error> {
    if p.contains("Ipv6CidrBlock") {
        return Err(Error::invalid(
            "The parameter Ipv6CidrBlock is not supported by this Nubo installation: network ACL entries are IPv4 only.",
        ));
    }
    Ok(EntryInput {
        rule_number: Some(
            p.int("RuleNumber")?
                .ok_or_else(|| Error::MissingParameter("RuleNumber".into()))?,
        ),
        egress: Some(
            p.bool("Egress")?
                .ok_or_else(|| Error::MissingParameter("Egress".into()))?,
        ),
        rule_action: Some(p.required("RuleAction")?.to_string()),
        protocol: Some(p.required("Protocol")?.to_string()),
        cidr_block: p.get("CidrBlock").map(str::to_string),
        port_from: p.int("PortRange.From")?,
        port_to: p.int("PortRange.To")?,
        icmp_type: p.int("Icmp.Type")?,
        icmp_code: p.int("Icmp.Code")?,
    })
}

pub async fn create_network_acl(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let input = CreateNetworkAcl {
        vpc_id: parse_vpc_id(p.required("VpcId")?)?,
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
    };
    let created = api.ec2.create_network_acl(&call.scope, input).await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("CreateNetworkAcl");
    w.node("networkAcl", |w| network_acl(w, &created));
    w.leaf_opt("clientToken", call.params.get("ClientToken"));
    Ok(call.finish(w))
}

pub async fn describe_network_acls(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("NetworkAclId")?
        .iter()
        .map(|id| parse_network_acl_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (acls, next) = api
        .ec2
        .describe_network_acls(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeNetworkAcls");
    w.items("networkAclSet", &acls, network_acl);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_network_acl(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = acl_id(&call.params)?;
    api.ec2.delete_network_acl(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteNetworkAcl");
    w.leaf("return", true);
    Ok(call.finish(w))
}

/// `CreateNetworkAclEntry`, `ReplaceNetworkAclEntry` and `DeleteNetworkAclEntry`.
pub async fn change_entry(api: &Api, call: &mut Call, action: &str) -> Result<String, Error> {
    let p = &call.params;
    let id = acl_id(p)?;
    let change = match action {
        "CreateNetworkAclEntry" => EntryChange::Create(entry_input(p)?),
        "ReplaceNetworkAclEntry" => EntryChange::Replace(entry_input(p)?),
        _ => EntryChange::Delete {
            rule_number: p
                .int("RuleNumber")?
                .ok_or_else(|| Error::MissingParameter("RuleNumber".into()))?,
            egress: p
                .bool("Egress")?
                .ok_or_else(|| Error::MissingParameter("Egress".into()))?,
        },
    };
    api.ec2
        .change_network_acl_entry(&call.scope, &id, change)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response(action);
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn replace_network_acl_association(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let association_id = p.required("AssociationId")?.to_string();
    let id = acl_id(p)?;
    let new_id = api
        .ec2
        .replace_network_acl_association(&call.scope, &association_id, &id)
        .await?;
    call.touched.push(id.to_string());
    call.touched.push(new_id.clone());
    let mut w = call.response("ReplaceNetworkAclAssociation");
    w.leaf("newAssociationId", &new_id);
    Ok(call.finish(w))
}
