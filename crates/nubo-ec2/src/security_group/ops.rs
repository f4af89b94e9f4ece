//! `CreateSecurityGroup`, `DescribeSecurityGroups`, `DeleteSecurityGroup`,
//! and the default group that `CreateVpc` creates and `DeleteVpc` removes in
//! the VPC's own transaction.

use nubo_core::filter::{self, Filter, Page};
use std::net::Ipv4Addr;

use nubo_core::{Error, Ipv4Cidr, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::{ResourceRow, Tx};

use super::rule::{check_text, Protocol, Rule, Target};
use super::{SecurityGroup, DEFAULT_GROUP_NAME};
use crate::resource::{
    self, decode, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;
use crate::vpc::Vpc;

/// Validated input of `CreateSecurityGroup`.
#[derive(Debug, Clone)]
pub struct CreateSecurityGroup {
    pub name: String,
    pub description: String,
    pub vpc_id: ResourceId,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// How a call names a group: by ID, or (for the actions that allow it) by
/// name, which must then be unambiguous among the caller's groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    Id(ResourceId),
    Name(String),
}

/// Parses and validates a security group ID parameter.
pub fn parse_group_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::SecurityGroup,
        "InvalidGroupId.Malformed",
    )
}

/// Checks a new group's name: AWS's characters and length, not `sg-…`, not
/// the reserved `default`.
pub fn check_group_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::MissingParameter("GroupName".into()));
    }
    check_text("group name", name)?;
    if name.to_ascii_lowercase().starts_with("sg-") {
        return Err(Error::invalid(format!(
            "Invalid group name '{name}': group names may not be in the format sg-*."
        )));
    }
    if name == DEFAULT_GROUP_NAME {
        return Err(Error::invalid(
            "Cannot use reserved security group name: default",
        ));
    }
    Ok(())
}

fn group_not_found(name: &str) -> Error {
    Error::not_found(
        "InvalidGroup.NotFound",
        format!("The security group '{name}' does not exist"),
    )
}

/// A fresh rule with a new `sgr-` ID.
fn new_rule(protocol: Protocol, target: Target) -> Rule {
    Rule {
        id: ResourceId::generate(ResourceKind::SecurityGroupRule),
        protocol,
        from_port: None,
        to_port: None,
        target,
        description: None,
        tags: TagSet::new(),
    }
}

/// The egress rule every new group starts with: all traffic to anywhere.
fn allow_all_egress() -> Result<Rule, Error> {
    let anywhere = Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0)
        .ok_or_else(|| Error::internal("0.0.0.0/0 is not a CIDR"))?;
    Ok(new_rule(Protocol::All, Target::Cidr(anywhere)))
}

/// The decoded security groups among `rows` (other kinds are skipped).
pub(crate) fn groups_among(rows: &[ResourceRow]) -> Result<Vec<Versioned<SecurityGroup>>, Error> {
    rows.iter()
        .filter(|r| r.kind == ResourceKind::SecurityGroup.prefix())
        .map(decode)
        .collect()
}

/// The tags of each rule of the group stored in `row`, for `DescribeTags`.
pub(crate) fn rule_tags(row: &ResourceRow) -> Result<Vec<(String, ResourceKind, TagSet)>, Error> {
    let group: Versioned<SecurityGroup> = decode(row)?;
    Ok(group
        .value
        .ingress
        .into_iter()
        .chain(group.value.egress)
        .filter(|r| !r.tags.is_empty())
        .map(|r| (r.id.to_string(), ResourceKind::SecurityGroupRule, r.tags))
        .collect())
}

/// Resolves `group` to the caller's group, read inside `tx`.
pub(crate) async fn resolve_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    group: &GroupRef,
) -> Result<Versioned<SecurityGroup>, Error> {
    match group {
        GroupRef::Id(id) => get_in_tx(tx, scope, id).await,
        GroupRef::Name(name) => {
            let rows = tx
                .list_resources(
                    scope.account.as_str(),
                    &scope.region,
                    ResourceKind::SecurityGroup.prefix(),
                )
                .await
                .map_err(store_err)?;
            let mut found: Vec<_> = groups_among(&rows)?
                .into_iter()
                .filter(|g| &g.value.name == name)
                .collect();
            match found.len() {
                0 => Err(group_not_found(name)),
                1 => Ok(found.remove(0)),
                _ => Err(Error::invalid(format!(
                    "The security group name '{name}' is used in several VPCs; name the group by GroupId."
                ))),
            }
        }
    }
}

/// Creates `vpc`'s default group inside the VPC's creation transaction: it
/// admits all traffic from its own members and lets all traffic out.
pub(crate) async fn create_default(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc: &Vpc,
) -> Result<SecurityGroup, Error> {
    let id = ResourceId::generate(ResourceKind::SecurityGroup);
    let group = SecurityGroup {
        ingress: vec![new_rule(
            Protocol::All,
            Target::Group {
                group_id: id.clone(),
                user_id: scope.account.clone(),
                peering: None,
            },
        )],
        egress: vec![allow_all_egress()?],
        id,
        owner_id: scope.account.clone(),
        vpc_id: vpc.id.clone(),
        name: DEFAULT_GROUP_NAME.into(),
        description: "default VPC security group".into(),
        tags: TagSet::new(),
    };
    tx.insert_resource(&new_row(scope, &group)?)
        .await
        .map_err(store_err)?;
    Ok(group)
}

impl Ec2Service {
    pub async fn create_security_group(
        &self,
        scope: &RequestScope,
        input: CreateSecurityGroup,
    ) -> Result<SecurityGroup, Error> {
        with_retry(|| self.create_security_group_once(scope, input.clone())).await
    }

    /// Deletes a group; returns its ID.
    pub async fn delete_security_group(
        &self,
        scope: &RequestScope,
        group: &GroupRef,
    ) -> Result<ResourceId, Error> {
        with_retry(|| self.delete_security_group_once(scope, group)).await
    }

    pub(crate) async fn create_security_group_once(
        &self,
        scope: &RequestScope,
        input: CreateSecurityGroup,
    ) -> Result<SecurityGroup, Error> {
        check_group_name(&input.name)?;
        if input.description.is_empty() {
            return Err(Error::MissingParameter("GroupDescription".into()));
        }
        check_text("group description", &input.description)?;
        let tags = tags_for(ResourceKind::SecurityGroup, &input.tag_specifications)?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, &input.vpc_id).await?;
        let siblings = tx
            .list_children(scope.account.as_str(), vpc.value.id.as_str())
            .await
            .map_err(store_err)?;
        if groups_among(&siblings)?
            .iter()
            .any(|g| g.value.name == input.name)
        {
            return Err(Error::AlreadyExists {
                code: "InvalidGroup.Duplicate",
                message: format!(
                    "The security group '{}' already exists for VPC '{}'",
                    input.name, vpc.value.id
                ),
            });
        }
        let group = SecurityGroup {
            id: ResourceId::generate(ResourceKind::SecurityGroup),
            owner_id: scope.account.clone(),
            vpc_id: vpc.value.id.clone(),
            name: input.name,
            description: input.description,
            ingress: vec![],
            egress: vec![allow_all_egress()?],
            tags,
        };
        tx.insert_resource(&new_row(scope, &group)?)
            .await
            .map_err(store_err)?;
        // Writing the VPC back bumps its generation, so a racing create of the
        // same name or a racing DeleteVpc conflicts and re-runs from a fresh
        // read (as CreateSubnet does) instead of missing this group.
        update_in_tx(&mut tx, scope, &vpc).await?;
        crate::resource::commit(tx, scope, &[group.id.as_str()]).await?;
        Ok(group)
    }

    /// `DescribeSecurityGroups`: named IDs and names must all exist; filters
    /// and pagination apply to the rest.
    pub async fn describe_security_groups(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        names: &[String],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<SecurityGroup>, Option<String>), Error> {
        filter::validate::<SecurityGroup>(filters)?;
        // Group names are looked up among all the account's groups.
        let narrowing = if names.is_empty() { filters } else { &[] };
        let mut groups: Vec<SecurityGroup> =
            resource::list_for_describe(&self.store, scope, ids, narrowing).await?;
        if !names.is_empty() {
            if ids.is_empty() {
                if let Some(missing) = names.iter().find(|n| !groups.iter().any(|g| &g.name == *n))
                {
                    return Err(group_not_found(missing));
                }
            }
            groups.retain(|g| names.contains(&g.name));
        }
        groups.retain(|g| filter::matches(g, filters));
        Ok(page.apply(groups, |g| g.id.as_str()))
    }

    pub(crate) async fn delete_security_group_once(
        &self,
        scope: &RequestScope,
        group: &GroupRef,
    ) -> Result<ResourceId, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let group = resolve_in_tx(&mut tx, scope, group).await?;
        let id = group.value.id.clone();
        if group.value.is_default() {
            return Err(Error::client(
                "CannotDelete",
                format!(
                    "the specified group: \"{id}\" name: \"{DEFAULT_GROUP_NAME}\" cannot be deleted by a user"
                ),
            ));
        }
        let siblings = tx
            .list_children(scope.account.as_str(), group.value.vpc_id.as_str())
            .await
            .map_err(store_err)?;
        if groups_among(&siblings)?
            .iter()
            .any(|g| g.value.references(&id))
        {
            return Err(Error::DependencyViolation(format!(
                "resource {id} has a dependent object"
            )));
        }
        crate::network_interface::ops::check_group_unused(&mut tx, scope, &id).await?;
        tx.delete_resource(scope.account.as_str(), id.as_str(), group.generation)
            .await
            .map_err(store_err)?;
        crate::resource::commit(tx, scope, &[id.as_str()]).await?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_aws_rules() {
        assert!(check_group_name("web").is_ok());
        assert!(check_group_name("sgweb").is_ok());
        assert!(check_group_name(&"n".repeat(255)).is_ok());
        assert!(check_group_name(&"n".repeat(256)).is_err());
        assert!(check_group_name("sg-web").is_err());
        assert!(check_group_name("SG-web").is_err());
        assert!(check_group_name("default").is_err());
        assert!(matches!(
            check_group_name(""),
            Err(Error::MissingParameter(_))
        ));
        assert!(parse_group_id("sg-0123abcd").is_ok());
        assert!(matches!(
            parse_group_id("vpc-0123abcd"),
            Err(Error::Client {
                code: "InvalidGroupId.Malformed",
                ..
            })
        ));
    }
}
