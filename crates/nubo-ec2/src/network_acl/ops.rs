//! `CreateNetworkAcl`, `DescribeNetworkAcls`, `DeleteNetworkAcl`, the entry
//! actions, `ReplaceNetworkAclAssociation`, and the hooks the VPC and subnet
//! operations call inside their own transactions: the default ACL that
//! `CreateVpc` creates and `DeleteVpc` removes, and the association that
//! `CreateSubnet` adds to it and `DeleteSubnet` removes.

use nubo_core::filter::{self, Filter, Page};
use nubo_core::{Error, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::{ResourceRow, Tx};
use rand::Rng;

use super::entry::{add_entry, remove_entry, replace_entry, Entry, EntryInput};
use super::{Association, NetworkAcl, ASSOCIATION_PREFIX};
use crate::resource::{
    self, decode, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;
use crate::vpc::Vpc;

/// Validated input of `CreateNetworkAcl`.
#[derive(Debug, Clone)]
pub struct CreateNetworkAcl {
    pub vpc_id: ResourceId,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// What an entry action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryChange {
    Create(EntryInput),
    Replace(EntryInput),
    Delete { rule_number: i64, egress: bool },
}

/// Parses and validates a network ACL ID parameter.
pub fn parse_network_acl_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::NetworkAcl,
        "InvalidNetworkAclID.Malformed",
    )
}

/// A fresh association ID, `aclassoc-` and 17 hex digits as AWS writes them.
/// Associations are not resources of their own (they live in their ACL's
/// row and cannot be tagged), so they have no `ResourceKind`.
pub fn new_association_id() -> String {
    let mut rng = rand::thread_rng();
    let hex: String = (0..17)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect();
    format!("{ASSOCIATION_PREFIX}-{hex}")
}

fn association_not_found(id: &str) -> Error {
    Error::not_found(
        "InvalidAssociationID.NotFound",
        format!("The association ID '{id}' does not exist"),
    )
}

/// The decoded network ACLs among `rows` (other kinds are skipped).
pub(crate) fn acls_among(rows: &[ResourceRow]) -> Result<Vec<Versioned<NetworkAcl>>, Error> {
    rows.iter()
        .filter(|r| r.kind == ResourceKind::NetworkAcl.prefix())
        .map(decode)
        .collect()
}

async fn acls_of_vpc(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
) -> Result<Vec<Versioned<NetworkAcl>>, Error> {
    let rows = tx
        .list_children(scope.account.as_str(), vpc_id.as_str())
        .await
        .map_err(store_err)?;
    acls_among(&rows)
}

/// Creates `vpc`'s default ACL inside the VPC's creation transaction: rule
/// 100 admits all traffic in and out, ahead of the `*` deny entries.
pub(crate) async fn create_default(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc: &Vpc,
) -> Result<NetworkAcl, Error> {
    let mut entries = vec![Entry::allow_all(100, false), Entry::allow_all(100, true)];
    super::entry::sort_entries(&mut entries);
    let acl = NetworkAcl {
        id: ResourceId::generate(ResourceKind::NetworkAcl),
        owner_id: scope.account.clone(),
        vpc_id: vpc.id.clone(),
        is_default: true,
        entries,
        associations: vec![],
        tags: TagSet::new(),
    };
    tx.insert_resource(&new_row(scope, &acl)?)
        .await
        .map_err(store_err)?;
    Ok(acl)
}

/// For `CreateSubnet`: associates the new subnet with its VPC's default ACL,
/// in the subnet's transaction.
pub(crate) async fn associate_with_default(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
    subnet_id: &ResourceId,
) -> Result<(), Error> {
    let mut acl = acls_of_vpc(tx, scope, vpc_id)
        .await?
        .into_iter()
        .find(|a| a.value.is_default)
        .ok_or_else(|| Error::internal(format!("VPC {vpc_id} has no default network ACL")))?;
    acl.value.associations.push(Association {
        association_id: new_association_id(),
        subnet_id: subnet_id.clone(),
    });
    update_in_tx(tx, scope, &acl).await?;
    Ok(())
}

/// For `DeleteSubnet`: removes the subnet's association, in the subnet's transaction.
pub(crate) async fn disassociate_subnet(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
    subnet_id: &ResourceId,
) -> Result<(), Error> {
    for mut acl in acls_of_vpc(tx, scope, vpc_id).await? {
        let before = acl.value.associations.len();
        acl.value.associations.retain(|a| &a.subnet_id != subnet_id);
        if acl.value.associations.len() != before {
            update_in_tx(tx, scope, &acl).await?;
        }
    }
    Ok(())
}

impl Ec2Service {
    pub async fn create_network_acl(
        &self,
        scope: &RequestScope,
        input: CreateNetworkAcl,
    ) -> Result<NetworkAcl, Error> {
        with_retry(|| self.create_network_acl_once(scope, input.clone())).await
    }

    pub async fn delete_network_acl(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.delete_network_acl_once(scope, id)).await
    }

    /// `CreateNetworkAclEntry`, `ReplaceNetworkAclEntry`, `DeleteNetworkAclEntry`.
    pub async fn change_network_acl_entry(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        change: EntryChange,
    ) -> Result<(), Error> {
        with_retry(|| self.change_network_acl_entry_once(scope, id, &change)).await
    }

    /// Moves a subnet's association to ACL `id`; returns the new association ID.
    pub async fn replace_network_acl_association(
        &self,
        scope: &RequestScope,
        association_id: &str,
        id: &ResourceId,
    ) -> Result<String, Error> {
        with_retry(|| self.replace_network_acl_association_once(scope, association_id, id)).await
    }

    pub(crate) async fn create_network_acl_once(
        &self,
        scope: &RequestScope,
        input: CreateNetworkAcl,
    ) -> Result<NetworkAcl, Error> {
        let tags = tags_for(ResourceKind::NetworkAcl, &input.tag_specifications)?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, &input.vpc_id).await?;
        let acl = NetworkAcl {
            id: ResourceId::generate(ResourceKind::NetworkAcl),
            owner_id: scope.account.clone(),
            vpc_id: vpc.value.id.clone(),
            is_default: false,
            entries: vec![],
            associations: vec![],
            tags,
        };
        tx.insert_resource(&new_row(scope, &acl)?)
            .await
            .map_err(store_err)?;
        // Writing the VPC back bumps its generation, so a racing DeleteVpc
        // conflicts and re-runs from a fresh read (as CreateSubnet does)
        // instead of leaving this ACL orphaned.
        update_in_tx(&mut tx, scope, &vpc).await?;
        crate::resource::commit(tx, scope, &[acl.id.as_str()]).await?;
        Ok(acl)
    }

    /// `DescribeNetworkAcls`: explicit IDs must all exist; filters and pagination apply to the rest.
    pub async fn describe_network_acls(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<NetworkAcl>, Option<String>), Error> {
        filter::validate::<NetworkAcl>(filters)?;
        let mut acls: Vec<NetworkAcl> =
            resource::list_for_describe(&self.store, scope, ids, filters).await?;
        acls.retain(|a| filter::matches(a, filters));
        Ok(page.apply(acls, |a| a.id.as_str()))
    }

    pub(crate) async fn delete_network_acl_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let acl: Versioned<NetworkAcl> = get_in_tx(&mut tx, scope, id).await?;
        if acl.value.is_default {
            return Err(Error::DependencyViolation(format!(
                "The network ACL '{id}' is the default network ACL of VPC '{}' and cannot be deleted by a user.",
                acl.value.vpc_id
            )));
        }
        if !acl.value.associations.is_empty() {
            let subnets: Vec<&str> = acl
                .value
                .associations
                .iter()
                .map(|a| a.subnet_id.as_str())
                .collect();
            return Err(Error::DependencyViolation(format!(
                "The network ACL '{id}' has dependencies and cannot be deleted: it is associated with {}.",
                subnets.join(", ")
            )));
        }
        tx.delete_resource(scope.account.as_str(), id.as_str(), acl.generation)
            .await
            .map_err(store_err)?;
        crate::resource::commit(tx, scope, &[id.as_str()]).await
    }

    pub(crate) async fn change_network_acl_entry_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        change: &EntryChange,
    ) -> Result<(), Error> {
        // Validate before reading, so bad input changes nothing and costs no read.
        let entry = match change {
            EntryChange::Create(input) | EntryChange::Replace(input) => {
                Some(Entry::from_input(input)?)
            }
            EntryChange::Delete { .. } => None,
        };
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut acl: Versioned<NetworkAcl> = get_in_tx(&mut tx, scope, id).await?;
        let entries = &mut acl.value.entries;
        match (change, entry) {
            (EntryChange::Create(_), Some(entry)) => add_entry(entries, entry)?,
            (EntryChange::Replace(_), Some(entry)) => replace_entry(entries, entry)?,
            (
                EntryChange::Delete {
                    rule_number,
                    egress,
                },
                _,
            ) => remove_entry(entries, *rule_number, *egress)?,
            (EntryChange::Create(_) | EntryChange::Replace(_), None) => {
                return Err(Error::internal("an entry change without its entry"))
            }
        }
        update_in_tx(&mut tx, scope, &acl).await?;
        crate::resource::commit(tx, scope, &[id.as_str()]).await
    }

    pub(crate) async fn replace_network_acl_association_once(
        &self,
        scope: &RequestScope,
        association_id: &str,
        id: &ResourceId,
    ) -> Result<String, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut target: Versioned<NetworkAcl> = get_in_tx(&mut tx, scope, id).await?;
        let rows = tx
            .list_resources(
                scope.account.as_str(),
                &scope.region,
                ResourceKind::NetworkAcl.prefix(),
            )
            .await
            .map_err(store_err)?;
        let mut source = acls_among(&rows)?
            .into_iter()
            .find(|a| {
                a.value
                    .associations
                    .iter()
                    .any(|x| x.association_id == association_id)
            })
            .ok_or_else(|| association_not_found(association_id))?;
        if source.value.vpc_id != target.value.vpc_id {
            return Err(Error::invalid(format!(
                "Network ACL '{id}' is in VPC '{}', but association '{association_id}' is in VPC '{}'.",
                target.value.vpc_id, source.value.vpc_id
            )));
        }
        let position = source
            .value
            .associations
            .iter()
            .position(|x| x.association_id == association_id)
            .ok_or_else(|| association_not_found(association_id))?;
        let old = source.value.associations.remove(position);
        let moved = Association {
            association_id: new_association_id(),
            subnet_id: old.subnet_id,
        };
        let new_id = moved.association_id.clone();
        if source.value.id == target.value.id {
            source.value.associations.push(moved);
            update_in_tx(&mut tx, scope, &source).await?;
        } else {
            target.value.associations.push(moved);
            update_in_tx(&mut tx, scope, &source).await?;
            update_in_tx(&mut tx, scope, &target).await?;
        }
        crate::resource::commit(tx, scope, &[id.as_str(), source.value.id.as_str(), &new_id])
            .await?;
        Ok(new_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shapes() {
        let assoc = new_association_id();
        assert!(assoc.starts_with("aclassoc-"), "{assoc}");
        assert_eq!(assoc.len(), "aclassoc-".len() + 17);
        assert!(parse_network_acl_id("acl-0123abcd").is_ok());
        assert!(matches!(
            parse_network_acl_id("vpc-0123abcd"),
            Err(Error::Client {
                code: "InvalidNetworkAclID.Malformed",
                ..
            })
        ));
    }
}
