//! `AuthorizeSecurityGroupIngress/Egress`, `RevokeSecurityGroupIngress/Egress`,
//! `DescribeSecurityGroupRules` and `ModifySecurityGroupRules`. Rules live in
//! their group's row, so each call is one generation-guarded update of one
//! group; group references are checked in the same transaction.

use nubo_core::filter::{self, Filter, Page};
use nubo_core::tag::MAX_TAGS_PER_RESOURCE;
use nubo_core::{AccountId, Error, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::Tx;

use super::ops::{groups_among, parse_group_id, resolve_in_tx, GroupRef};
use super::rule::{
    check_additions, check_text, find_rules, normalize_ports, parse_rule_cidr, PeeredGroup,
    Protocol, Rule, RuleSpec, Target, MAX_RULES_PER_DIRECTION,
};
use super::{GroupRule, SecurityGroup};
use crate::resource::{
    self, get_in_tx, store_err, tags_for, update_in_tx, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;
use crate::vpc_peering::ops::active_peering_between_in_tx;

/// A referenced group as a request names it (`UserIdGroupPair`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPairInput {
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub user_id: Option<String>,
    pub description: Option<String>,
}

/// One `IpPermission` of a request: a protocol and port range applied to
/// each CIDR and each referenced group (one rule per peer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionInput {
    pub protocol: String,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    /// (CidrIp, Description).
    pub cidrs: Vec<(String, Option<String>)>,
    pub groups: Vec<GroupPairInput>,
}

/// One `SecurityGroupRule.N` of `ModifySecurityGroupRules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleUpdateInput {
    pub rule_id: ResourceId,
    pub protocol: String,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub cidr: Option<String>,
    pub referenced_group_id: Option<String>,
    pub description: Option<String>,
}

/// Parses and validates a security group rule ID parameter.
pub fn parse_rule_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::SecurityGroupRule,
        "InvalidSecurityGroupRuleId.Malformed",
    )
}

fn rule_not_found(id: &ResourceId) -> Error {
    Error::not_found(
        "InvalidSecurityGroupRuleId.NotFound",
        format!("The security group rule ID '{id}' does not exist"),
    )
}

fn check_description(description: &Option<String>) -> Result<(), Error> {
    match description {
        Some(d) => check_text("rule description", d),
        None => Ok(()),
    }
}

/// The target a group reference resolves to, read inside `tx`: a group of
/// the caller's in `owner`'s VPC (`owner` itself included), or a group of a
/// VPC peered with it by an active connection, the caller's or (with
/// `UserId`) another account's.
async fn resolve_pair(
    tx: &mut Tx,
    scope: &RequestScope,
    owner: &SecurityGroup,
    pair: &GroupPairInput,
    revoking: bool,
) -> Result<Target, Error> {
    if revoking {
        // A rule is revoked by the group it names, even when that reference
        // went stale (its peering was deleted, or the group itself), as on
        // AWS: the stored rule is found by group ID and account alone.
        if let Some(id) = pair.group_id.as_deref() {
            let user_id = match pair.user_id.as_deref() {
                Some(user) => AccountId::parse(user)?,
                None => scope.account.clone(),
            };
            return Ok(Target::Group {
                group_id: parse_group_id(id)?,
                user_id,
                peering: None,
            });
        }
    }
    if let Some(user) = pair.user_id.as_deref() {
        if user != scope.account.as_str() {
            return resolve_peer_pair(tx, scope, owner, user, pair).await;
        }
    }
    let group_id = match (pair.group_id.as_deref(), pair.group_name.as_deref()) {
        (Some(id), _) => parse_group_id(id)?,
        (None, Some(name)) => {
            let siblings = tx
                .list_children(scope.account.as_str(), owner.vpc_id.as_str())
                .await
                .map_err(store_err)?;
            groups_among(&siblings)?
                .into_iter()
                .find(|g| g.value.name == name)
                .map(|g| g.value.id)
                .ok_or_else(|| {
                    Error::not_found(
                        "InvalidGroup.NotFound",
                        format!(
                            "The security group '{name}' does not exist in VPC '{}'",
                            owner.vpc_id
                        ),
                    )
                })?
        }
        (None, None) => {
            return Err(Error::MissingParameter(
                "UserIdGroupPair GroupId or GroupName".into(),
            ))
        }
    };
    let mut peering = None;
    if group_id != owner.id {
        let other: Versioned<SecurityGroup> = get_in_tx(tx, scope, &group_id).await?;
        if other.value.vpc_id != owner.vpc_id {
            let pcx = active_peering_between_in_tx(
                tx,
                scope,
                &owner.vpc_id,
                &scope.account,
                &other.value.vpc_id,
            )
            .await?;
            match pcx {
                Some(pcx) => {
                    peering = Some(PeeredGroup {
                        vpc_id: other.value.vpc_id.clone(),
                        vpc_peering_connection_id: pcx,
                    })
                }
                None => return Err(Error::invalid(format!(
                    "You have specified two resources that belong to different networks: {} is in {}, {} is in {}.",
                    owner.id, owner.vpc_id, group_id, other.value.vpc_id
                ))),
            }
        }
    }
    Ok(Target::Group {
        group_id,
        user_id: scope.account.clone(),
        peering,
    })
}

/// A reference to another account's group (`UserId` + `GroupId`): AWS
/// answers `InvalidGroup.NotFound` unless the group exists in a VPC peered
/// with `owner`'s by an active connection.
async fn resolve_peer_pair(
    tx: &mut Tx,
    scope: &RequestScope,
    owner: &SecurityGroup,
    user: &str,
    pair: &GroupPairInput,
) -> Result<Target, Error> {
    let user_id = AccountId::parse(user)?;
    let Some(id) = pair.group_id.as_deref() else {
        return Err(Error::invalid(format!(
            "A security group of another account ({user}) must be named by its GroupId."
        )));
    };
    let group_id = parse_group_id(id)?;
    let missing = || {
        Error::not_found(
            "InvalidGroup.NotFound",
            format!("The security group '{group_id}' does not exist"),
        )
    };
    let peer_scope = crate::vpc_peering::access::scope_of(scope, &user_id);
    let other: Versioned<SecurityGroup> = match get_in_tx(tx, &peer_scope, &group_id).await {
        Ok(g) => g,
        Err(Error::NotFound { .. }) => return Err(missing()),
        Err(e) => return Err(e),
    };
    let pcx = active_peering_between_in_tx(tx, scope, &owner.vpc_id, &user_id, &other.value.vpc_id)
        .await?
        .ok_or_else(missing)?;
    Ok(Target::Group {
        group_id,
        user_id,
        peering: Some(PeeredGroup {
            vpc_id: other.value.vpc_id,
            vpc_peering_connection_id: pcx,
        }),
    })
}

/// Turns a request's permissions into one rule spec per peer, validating
/// protocols, ports, CIDRs, descriptions and group references.
async fn resolve_permissions(
    tx: &mut Tx,
    scope: &RequestScope,
    owner: &SecurityGroup,
    permissions: &[PermissionInput],
    revoking: bool,
) -> Result<Vec<RuleSpec>, Error> {
    if permissions.is_empty() {
        return Err(Error::MissingParameter("IpPermissions".into()));
    }
    let mut specs = Vec::new();
    for p in permissions {
        let protocol = Protocol::parse(&p.protocol)?;
        let (from_port, to_port) = normalize_ports(protocol, p.from_port, p.to_port)?;
        if p.cidrs.is_empty() && p.groups.is_empty() {
            return Err(Error::MissingParameter(
                "IpPermissions.N.IpRanges or IpPermissions.N.Groups".into(),
            ));
        }
        for (cidr, description) in &p.cidrs {
            check_description(description)?;
            specs.push(RuleSpec {
                protocol,
                from_port,
                to_port,
                target: Target::Cidr(parse_rule_cidr(cidr)?),
                description: description.clone(),
            });
        }
        for pair in &p.groups {
            check_description(&pair.description)?;
            specs.push(RuleSpec {
                protocol,
                from_port,
                to_port,
                target: resolve_pair(tx, scope, owner, pair, revoking).await?,
                description: pair.description.clone(),
            });
        }
    }
    Ok(specs)
}

/// `CreateTags`/`DeleteTags` on a rule: applies `change` to the tags of rule
/// `id`, inside the group row that holds it (read and written in `tx`).
pub(crate) async fn retag_rule_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    id: &str,
    change: &(dyn Fn(&mut TagSet) + Sync),
) -> Result<(), Error> {
    let not_found = || crate::resource::not_found(ResourceKind::SecurityGroupRule, id);
    let rows = tx
        .list_resources(
            scope.account.as_str(),
            &scope.region,
            ResourceKind::SecurityGroup.prefix(),
        )
        .await
        .map_err(store_err)?;
    let mut group = groups_among(&rows)?
        .into_iter()
        .find(|g| {
            g.value
                .ingress
                .iter()
                .chain(&g.value.egress)
                .any(|r| r.id.as_str() == id)
        })
        .ok_or_else(not_found)?;
    let rule = group
        .value
        .ingress
        .iter_mut()
        .chain(group.value.egress.iter_mut())
        .find(|r| r.id.as_str() == id)
        .ok_or_else(not_found)?;
    change(&mut rule.tags);
    if rule.tags.len() > MAX_TAGS_PER_RESOURCE {
        return Err(Error::client(
            "TagLimitExceeded",
            format!("The maximum number of tags for resource '{id}' ({MAX_TAGS_PER_RESOURCE}) has been reached."),
        ));
    }
    update_in_tx(tx, scope, &group).await?;
    Ok(())
}

fn group_rules(group: &SecurityGroup, egress: bool, rules: Vec<Rule>) -> Vec<GroupRule> {
    rules
        .into_iter()
        .map(|rule| GroupRule {
            group_id: group.id.clone(),
            owner_id: group.owner_id.clone(),
            is_egress: egress,
            rule,
        })
        .collect()
}

impl Ec2Service {
    /// Adds rules to one direction of a group; returns the new rules.
    pub async fn authorize_security_group(
        &self,
        scope: &RequestScope,
        group: &GroupRef,
        egress: bool,
        permissions: &[PermissionInput],
        tag_specifications: &[(String, Vec<Tag>)],
    ) -> Result<Vec<GroupRule>, Error> {
        with_retry(|| {
            self.authorize_security_group_once(
                scope,
                group,
                egress,
                permissions,
                tag_specifications,
            )
        })
        .await
    }

    /// Removes rules, named by their permissions or by rule ID; returns the
    /// removed rules.
    pub async fn revoke_security_group(
        &self,
        scope: &RequestScope,
        group: &GroupRef,
        egress: bool,
        permissions: &[PermissionInput],
        rule_ids: &[ResourceId],
    ) -> Result<Vec<GroupRule>, Error> {
        with_retry(|| self.revoke_security_group_once(scope, group, egress, permissions, rule_ids))
            .await
    }

    pub async fn modify_security_group_rules(
        &self,
        scope: &RequestScope,
        group_id: &ResourceId,
        updates: &[RuleUpdateInput],
    ) -> Result<(), Error> {
        with_retry(|| self.modify_security_group_rules_once(scope, group_id, updates)).await
    }

    pub(crate) async fn authorize_security_group_once(
        &self,
        scope: &RequestScope,
        group: &GroupRef,
        egress: bool,
        permissions: &[PermissionInput],
        tag_specifications: &[(String, Vec<Tag>)],
    ) -> Result<Vec<GroupRule>, Error> {
        let tags = tags_for(ResourceKind::SecurityGroupRule, tag_specifications)?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut group = resolve_in_tx(&mut tx, scope, group).await?;
        let specs = resolve_permissions(&mut tx, scope, &group.value, permissions, false).await?;
        check_additions(group.value.rules(egress), &specs, MAX_RULES_PER_DIRECTION)?;
        let added: Vec<Rule> = specs
            .into_iter()
            .map(|s| {
                Rule::new(
                    ResourceId::generate(ResourceKind::SecurityGroupRule),
                    s,
                    tags.clone(),
                )
            })
            .collect();
        group.value.rules_mut(egress).extend(added.iter().cloned());
        update_in_tx(&mut tx, scope, &group).await?;
        let mut touched = vec![group.value.id.as_str()];
        touched.extend(added.iter().map(|r| r.id.as_str()));
        crate::resource::commit(tx, scope, &touched).await?;
        Ok(group_rules(&group.value, egress, added))
    }

    pub(crate) async fn revoke_security_group_once(
        &self,
        scope: &RequestScope,
        group: &GroupRef,
        egress: bool,
        permissions: &[PermissionInput],
        rule_ids: &[ResourceId],
    ) -> Result<Vec<GroupRule>, Error> {
        if permissions.is_empty() && rule_ids.is_empty() {
            return Err(Error::MissingParameter(
                "IpPermissions or SecurityGroupRuleId".into(),
            ));
        }
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut group = resolve_in_tx(&mut tx, scope, group).await?;
        let mut positions = Vec::new();
        for id in rule_ids {
            let i = group
                .value
                .rules(egress)
                .iter()
                .position(|r| &r.id == id)
                .ok_or_else(|| rule_not_found(id))?;
            positions.push(i);
        }
        if !permissions.is_empty() {
            let specs =
                resolve_permissions(&mut tx, scope, &group.value, permissions, true).await?;
            positions.extend(find_rules(group.value.rules(egress), &specs)?);
        }
        positions.sort_unstable();
        positions.dedup();
        let rules = group.value.rules_mut(egress);
        let mut revoked: Vec<Rule> = positions.iter().rev().map(|&i| rules.remove(i)).collect();
        revoked.reverse();
        update_in_tx(&mut tx, scope, &group).await?;
        let mut touched = vec![group.value.id.as_str()];
        touched.extend(revoked.iter().map(|r| r.id.as_str()));
        crate::resource::commit(tx, scope, &touched).await?;
        Ok(group_rules(&group.value, egress, revoked))
    }

    /// `DescribeSecurityGroupRules`: named rule IDs must all exist; filters
    /// and pagination (by rule ID) apply to the rest.
    pub async fn describe_security_group_rules(
        &self,
        scope: &RequestScope,
        rule_ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<GroupRule>, Option<String>), Error> {
        filter::validate::<GroupRule>(filters)?;
        let groups: Vec<SecurityGroup> = resource::list(&self.store, scope).await?;
        let mut rules: Vec<GroupRule> = groups.iter().flat_map(GroupRule::all_of).collect();
        if let Some(missing) = rule_ids
            .iter()
            .find(|id| !rules.iter().any(|r| &r.rule.id == *id))
        {
            return Err(rule_not_found(missing));
        }
        if !rule_ids.is_empty() {
            rules.retain(|r| rule_ids.contains(&r.rule.id));
        }
        rules.retain(|r| filter::matches(r, filters));
        rules.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
        Ok(page.apply(rules, |r| r.rule.id.as_str()))
    }

    pub(crate) async fn modify_security_group_rules_once(
        &self,
        scope: &RequestScope,
        group_id: &ResourceId,
        updates: &[RuleUpdateInput],
    ) -> Result<(), Error> {
        if updates.is_empty() {
            return Err(Error::MissingParameter("SecurityGroupRule".into()));
        }
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut group: Versioned<SecurityGroup> = get_in_tx(&mut tx, scope, group_id).await?;
        for update in updates {
            let egress = if group.value.ingress.iter().any(|r| r.id == update.rule_id) {
                false
            } else if group.value.egress.iter().any(|r| r.id == update.rule_id) {
                true
            } else {
                return Err(rule_not_found(&update.rule_id));
            };
            let pair = match (&update.cidr, &update.referenced_group_id) {
                (Some(_), Some(_)) => return Err(Error::InvalidParameterCombination(
                    "A security group rule has either a CidrIpv4 or a ReferencedGroupId, not both."
                        .into(),
                )),
                (None, None) => {
                    return Err(Error::MissingParameter(
                        "SecurityGroupRule.N.SecurityGroupRule.CidrIpv4 or ReferencedGroupId"
                            .into(),
                    ))
                }
                (Some(cidr), None) => PermissionInput {
                    cidrs: vec![(cidr.clone(), update.description.clone())],
                    ..Default::default()
                },
                (None, Some(id)) => PermissionInput {
                    groups: vec![GroupPairInput {
                        group_id: Some(id.clone()),
                        description: update.description.clone(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            };
            let permission = PermissionInput {
                protocol: update.protocol.clone(),
                from_port: update.from_port,
                to_port: update.to_port,
                ..pair
            };
            let spec = resolve_permissions(
                &mut tx,
                scope,
                &group.value,
                std::slice::from_ref(&permission),
                false,
            )
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("a rule update resolved to no rule"))?;
            let rules = group.value.rules_mut(egress);
            let others: Vec<Rule> = rules
                .iter()
                .filter(|r| r.id != update.rule_id)
                .cloned()
                .collect();
            check_additions(
                &others,
                std::slice::from_ref(&spec),
                MAX_RULES_PER_DIRECTION,
            )?;
            if let Some(rule) = rules.iter_mut().find(|r| r.id == update.rule_id) {
                let tags = std::mem::take(&mut rule.tags);
                *rule = Rule::new(update.rule_id.clone(), spec, tags);
            }
        }
        update_in_tx(&mut tx, scope, &group).await?;
        let mut touched = vec![group_id.as_str()];
        touched.extend(updates.iter().map(|u| u.rule_id.as_str()));
        crate::resource::commit(tx, scope, &touched).await
    }
}
