//! Security group actions: decode parameters (the `IpPermissions.N.*`
//! structures and the legacy flat `CidrIp`/`IpProtocol`/`FromPort`/`ToPort`
//! form), call the EC2 service, render `SecurityGroup`/`SecurityGroupRule`.

use std::collections::HashMap;

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::security_group::ops::{parse_group_id, CreateSecurityGroup, GroupRef};
use nubo_ec2::security_group::rule::{permissions, PeeredGroup, Rule, Target};
use nubo_ec2::security_group::rule_ops::{
    parse_rule_id, GroupPairInput, PermissionInput, RuleUpdateInput,
};
use nubo_ec2::security_group::{GroupRule, SecurityGroup};
use nubo_ec2::vpc::ops::parse_vpc_id;
use nubo_ec2::vpc_peering::PeeringState;
use nubo_protocol::query::Params;
use nubo_protocol::xml::XmlWriter;

use super::render::tag_set;
use crate::call::Call;
use crate::server::Api;

/// The group an Authorize/Revoke/Delete names: `GroupId`, else `GroupName`.
fn group_ref(p: &Params) -> Result<GroupRef, Error> {
    match (p.get("GroupId"), p.get("GroupName")) {
        (Some(id), _) => Ok(GroupRef::Id(parse_group_id(id)?)),
        (None, Some(name)) => Ok(GroupRef::Name(name.to_string())),
        (None, None) => Err(Error::MissingParameter("GroupId".into())),
    }
}

fn tag_specifications(p: &Params) -> Result<Vec<(String, Vec<nubo_core::Tag>)>, Error> {
    Ok(p.tag_specifications()?
        .into_iter()
        .map(|s| (s.resource_type, s.tags))
        .collect())
}

/// `UserIdGroupPair`s: botocore sends `IpPermissions.N.Groups.M.*` (the
/// member's `locationName`); `UserIdGroupPairs.M.*` is accepted too.
fn group_pairs(perm: &Params) -> Result<Vec<GroupPairInput>, Error> {
    let mut out = Vec::new();
    for prefix in ["Groups", "UserIdGroupPairs"] {
        for g in perm.structs(prefix)? {
            out.push(GroupPairInput {
                group_id: g.get("GroupId").map(str::to_string),
                group_name: g.get("GroupName").map(str::to_string),
                user_id: g.get("UserId").map(str::to_string),
                description: g.get("Description").map(str::to_string),
            });
        }
    }
    Ok(out)
}

/// The permissions of an Authorize/Revoke call, from `IpPermissions.N` or the
/// legacy flat parameters (not both).
fn permission_inputs(p: &Params) -> Result<Vec<PermissionInput>, Error> {
    const FLAT: [&str; 6] = [
        "IpProtocol",
        "FromPort",
        "ToPort",
        "CidrIp",
        "SourceSecurityGroupName",
        "SourceSecurityGroupOwnerId",
    ];
    let structured = p.structs("IpPermissions")?;
    let flat = FLAT.iter().any(|k| p.contains(k));
    if flat && !structured.is_empty() {
        return Err(Error::InvalidParameterCombination(
            "The parameter IpPermissions cannot be used with the parameters IpProtocol, FromPort, ToPort, CidrIp or SourceSecurityGroupName".into(),
        ));
    }
    if flat {
        let mut groups = Vec::new();
        if let Some(name) = p.get("SourceSecurityGroupName") {
            groups.push(GroupPairInput {
                group_name: Some(name.to_string()),
                user_id: p.get("SourceSecurityGroupOwnerId").map(str::to_string),
                ..Default::default()
            });
        }
        let protocol = match (p.get("IpProtocol"), groups.is_empty()) {
            (Some(proto), _) => proto.to_string(),
            // A legacy source-group grant without a protocol covers all traffic.
            (None, false) => "-1".to_string(),
            (None, true) => return Err(Error::MissingParameter("IpProtocol".into())),
        };
        return Ok(vec![PermissionInput {
            protocol,
            from_port: p.int("FromPort")?,
            to_port: p.int("ToPort")?,
            cidrs: p
                .get("CidrIp")
                .map(|c| vec![(c.to_string(), None)])
                .unwrap_or_default(),
            groups,
        }]);
    }
    structured
        .iter()
        .enumerate()
        .map(|(i, perm)| {
            if !perm.structs("Ipv6Ranges")?.is_empty() || !perm.structs("PrefixListIds")?.is_empty()
            {
                return Err(Error::invalid(
                    "IPv6 ranges and prefix lists are not supported by this Nubo installation.",
                ));
            }
            let cidrs = perm
                .structs("IpRanges")?
                .iter()
                .map(|r| {
                    Ok((
                        r.get("CidrIp")
                            .ok_or_else(|| {
                                Error::MissingParameter(format!(
                                    "IpPermissions.{}.IpRanges.N.CidrIp",
                                    i + 1
                                ))
                            })?
                            .to_string(),
                        r.get("Description").map(str::to_string),
                    ))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            Ok(PermissionInput {
                protocol: perm
                    .get("IpProtocol")
                    .ok_or_else(|| {
                        Error::MissingParameter(format!("IpPermissions.{}.IpProtocol", i + 1))
                    })?
                    .to_string(),
                from_port: perm.int("FromPort")?,
                to_port: perm.int("ToPort")?,
                cidrs,
                groups: group_pairs(perm)?,
            })
        })
        .collect()
}

/// Whether any of `rules` reaches a group of a peered VPC.
fn reaches_peers<'a>(mut rules: impl Iterator<Item = &'a Rule>) -> bool {
    rules.any(|r| {
        matches!(
            &r.target,
            Target::Group {
                peering: Some(_),
                ..
            }
        )
    })
}

/// The states of the peering connections the caller sees, when `needed`
/// (one read; none otherwise).
async fn peering_states(
    api: &Api,
    call: &Call,
    needed: bool,
) -> Result<HashMap<ResourceId, PeeringState>, Error> {
    if needed {
        api.ec2.peering_states(&call.scope).await
    } else {
        Ok(HashMap::new())
    }
}

/// `vpcId`, `vpcPeeringConnectionId` and `peeringStatus` of a reference to a
/// peered VPC's group; a connection the caller no longer sees reads `deleted`.
fn peered(w: &mut XmlWriter, p: &PeeredGroup, states: &HashMap<ResourceId, PeeringState>) {
    let status = states
        .get(&p.vpc_peering_connection_id)
        .copied()
        .unwrap_or(PeeringState::Deleted);
    w.leaf("peeringStatus", status.as_str())
        .leaf("vpcId", &p.vpc_id)
        .leaf("vpcPeeringConnectionId", &p.vpc_peering_connection_id);
}

/// The `SecurityGroup` shape's members.
fn security_group(
    w: &mut XmlWriter,
    call: &Call,
    g: &SecurityGroup,
    states: &HashMap<ResourceId, PeeringState>,
) {
    let ip_permissions = |w: &mut XmlWriter, egress: bool| {
        let name = if egress {
            "ipPermissionsEgress"
        } else {
            "ipPermissions"
        };
        w.items(name, permissions(g.rules(egress)), |w, perm| {
            w.leaf("ipProtocol", perm.protocol);
            w.leaf_opt("fromPort", perm.from_port)
                .leaf_opt("toPort", perm.to_port);
            let groups = perm.rules.iter().filter_map(|r| match &r.target {
                Target::Group {
                    group_id,
                    user_id,
                    peering,
                } => Some((r, group_id, user_id, peering)),
                Target::Cidr(_) => None,
            });
            w.items("groups", groups, |w, (r, group_id, user_id, peering)| {
                w.leaf("userId", user_id).leaf("groupId", group_id);
                if let Some(p) = peering {
                    peered(w, p, states);
                }
                w.leaf_opt("description", r.description.as_deref());
            });
            let ranges = perm.rules.iter().filter_map(|r| match &r.target {
                Target::Cidr(c) => Some((r, c)),
                Target::Group { .. } => None,
            });
            w.items("ipRanges", ranges, |w, (r, cidr)| {
                w.leaf("cidrIp", cidr)
                    .leaf_opt("description", r.description.as_deref());
            });
            w.node("ipv6Ranges", |_| {}).node("prefixListIds", |_| {});
        });
    };
    w.leaf("ownerId", &g.owner_id)
        .leaf("groupId", &g.id)
        .leaf("groupName", &g.name)
        .leaf("groupDescription", &g.description);
    ip_permissions(w, false);
    ip_permissions(w, true);
    w.leaf("vpcId", &g.vpc_id).leaf(
        "securityGroupArn",
        call.ec2_arn("security-group", g.id.as_str()),
    );
    tag_set(w, &g.tags);
}

/// The `SecurityGroupRule` shape's members.
fn security_group_rule(
    w: &mut XmlWriter,
    call: &Call,
    r: &GroupRule,
    states: &HashMap<ResourceId, PeeringState>,
) {
    let rule = &r.rule;
    w.leaf("securityGroupRuleId", &rule.id)
        .leaf("groupId", &r.group_id)
        .leaf("groupOwnerId", &r.owner_id)
        .leaf("isEgress", r.is_egress)
        .leaf("ipProtocol", rule.protocol)
        .leaf("fromPort", rule.from_port.unwrap_or(-1))
        .leaf("toPort", rule.to_port.unwrap_or(-1));
    match &rule.target {
        Target::Cidr(c) => {
            w.leaf("cidrIpv4", c);
        }
        Target::Group {
            group_id,
            user_id,
            peering,
        } => {
            w.node("referencedGroupInfo", |w| {
                w.leaf("groupId", group_id).leaf("userId", user_id);
                if let Some(p) = peering {
                    peered(w, p, states);
                }
            });
        }
    }
    w.leaf_opt("description", rule.description.as_deref());
    tag_set(w, &rule.tags);
    w.leaf(
        "securityGroupRuleArn",
        call.ec2_arn("security-group-rule", rule.id.as_str()),
    );
}

/// The `RevokedSecurityGroupRule` shape's members.
fn revoked_rule(w: &mut XmlWriter, r: &GroupRule) {
    let rule = &r.rule;
    w.leaf("securityGroupRuleId", &rule.id)
        .leaf("groupId", &r.group_id)
        .leaf("isEgress", r.is_egress)
        .leaf("ipProtocol", rule.protocol)
        .leaf("fromPort", rule.from_port.unwrap_or(-1))
        .leaf("toPort", rule.to_port.unwrap_or(-1));
    match &rule.target {
        Target::Cidr(c) => w.leaf("cidrIpv4", c),
        Target::Group { group_id, .. } => w.leaf("referencedGroupId", group_id),
    };
    w.leaf_opt("description", rule.description.as_deref());
}

pub async fn create_security_group(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let input = CreateSecurityGroup {
        name: p.required("GroupName")?.to_string(),
        description: p.required("GroupDescription")?.to_string(),
        vpc_id: parse_vpc_id(p.required("VpcId")?)?,
        tag_specifications: tag_specifications(p)?,
    };
    let group = api.ec2.create_security_group(&call.scope, input).await?;
    call.touched.push(group.id.to_string());
    let mut w = call.response("CreateSecurityGroup");
    w.leaf("groupId", &group.id);
    tag_set(&mut w, &group.tags);
    w.leaf(
        "securityGroupArn",
        call.ec2_arn("security-group", group.id.as_str()),
    );
    Ok(call.finish(w))
}

pub async fn describe_security_groups(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("GroupId")?
        .iter()
        .map(|id| parse_group_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let names = p.list("GroupName")?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (groups, next) = api
        .ec2
        .describe_security_groups(&call.scope, &ids, &names, &filters, &page)
        .await?;
    let needed = reaches_peers(
        groups
            .iter()
            .flat_map(|g| g.ingress.iter().chain(&g.egress)),
    );
    let states = peering_states(api, call, needed).await?;
    let mut w = call.response("DescribeSecurityGroups");
    w.items("securityGroupInfo", &groups, |w, g| {
        security_group(w, call, g, &states)
    });
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn delete_security_group(api: &Api, call: &mut Call) -> Result<String, Error> {
    let group = group_ref(&call.params)?;
    let id = api.ec2.delete_security_group(&call.scope, &group).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeleteSecurityGroup");
    w.leaf("return", true).leaf("groupId", &id);
    Ok(call.finish(w))
}

pub async fn authorize(
    api: &Api,
    call: &mut Call,
    action: &str,
    egress: bool,
) -> Result<String, Error> {
    let p = &call.params;
    let group = group_ref(p)?;
    let inputs = permission_inputs(p)?;
    let specs = tag_specifications(p)?;
    let added = api
        .ec2
        .authorize_security_group(&call.scope, &group, egress, &inputs, &specs)
        .await?;
    if let Some(first) = added.first() {
        call.touched.push(first.group_id.to_string());
    }
    call.touched
        .extend(added.iter().map(|r| r.rule.id.to_string()));
    let needed = reaches_peers(added.iter().map(|r| &r.rule));
    let states = peering_states(api, call, needed).await?;
    let mut w = call.response(action);
    w.leaf("return", true);
    w.items("securityGroupRuleSet", &added, |w, r| {
        security_group_rule(w, call, r, &states)
    });
    Ok(call.finish(w))
}

pub async fn revoke(
    api: &Api,
    call: &mut Call,
    action: &str,
    egress: bool,
) -> Result<String, Error> {
    let p = &call.params;
    let group = group_ref(p)?;
    let inputs = permission_inputs(p)?;
    let rule_ids = p
        .list("SecurityGroupRuleId")?
        .iter()
        .map(|id| parse_rule_id(id))
        .collect::<Result<Vec<ResourceId>, _>>()?;
    let revoked = api
        .ec2
        .revoke_security_group(&call.scope, &group, egress, &inputs, &rule_ids)
        .await?;
    if let Some(first) = revoked.first() {
        call.touched.push(first.group_id.to_string());
    }
    call.touched
        .extend(revoked.iter().map(|r| r.rule.id.to_string()));
    let mut w = call.response(action);
    w.leaf("return", true);
    w.items("revokedSecurityGroupRuleSet", &revoked, revoked_rule);
    Ok(call.finish(w))
}

pub async fn describe_security_group_rules(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = p
        .list("SecurityGroupRuleId")?
        .iter()
        .map(|id| parse_rule_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = p.filters()?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (rules, next) = api
        .ec2
        .describe_security_group_rules(&call.scope, &ids, &filters, &page)
        .await?;
    let needed = reaches_peers(rules.iter().map(|r| &r.rule));
    let states = peering_states(api, call, needed).await?;
    let mut w = call.response("DescribeSecurityGroupRules");
    w.items("securityGroupRuleSet", &rules, |w, r| {
        security_group_rule(w, call, r, &states)
    });
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn modify_security_group_rules(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let group_id = parse_group_id(p.required("GroupId")?)?;
    let updates = p
        .structs("SecurityGroupRule")?
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let n = i + 1;
            let missing =
                |field: &str| Error::MissingParameter(format!("SecurityGroupRule.{n}.{field}"));
            let rule_id = parse_rule_id(
                u.get("SecurityGroupRuleId")
                    .ok_or_else(|| missing("SecurityGroupRuleId"))?,
            )?;
            let field = |name: &str| u.get(&format!("SecurityGroupRule.{name}"));
            if field("CidrIpv6").is_some() || field("PrefixListId").is_some() {
                return Err(Error::invalid(
                    "IPv6 ranges and prefix lists are not supported by this Nubo installation.",
                ));
            }
            Ok(RuleUpdateInput {
                rule_id,
                protocol: field("IpProtocol")
                    .ok_or_else(|| missing("SecurityGroupRule.IpProtocol"))?
                    .to_string(),
                from_port: u.int("SecurityGroupRule.FromPort")?,
                to_port: u.int("SecurityGroupRule.ToPort")?,
                cidr: field("CidrIpv4").map(str::to_string),
                referenced_group_id: field("ReferencedGroupId").map(str::to_string),
                description: field("Description").map(str::to_string),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    api.ec2
        .modify_security_group_rules(&call.scope, &group_id, &updates)
        .await?;
    call.touched.push(group_id.to_string());
    let mut w = call.response("ModifySecurityGroupRules");
    w.leaf("return", true);
    Ok(call.finish(w))
}
