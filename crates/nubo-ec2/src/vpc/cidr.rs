//! `AssociateVpcCidrBlock` and `DisassociateVpcCidrBlock`, with AWS's rules
//! for secondary IPv4 blocks: same size limits as the primary, no overlap, a
//! per-VPC quota, and no mixing of RFC 1918 ranges; a block that still holds
//! subnets stays.

use nubo_core::{Error, Ipv4Cidr, ResourceId, ResourceKind};

use super::ops::parse_vpc_cidr;
use super::{CidrAssociation, CidrState, Vpc};
use crate::resource::{
    self, get_in_tx, store_err, update_in_tx, Ec2Service, RequestScope, Versioned,
};

const RFC1918: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

fn rfc1918_range(cidr: &Ipv4Cidr) -> Option<usize> {
    RFC1918.iter().position(|r| {
        r.parse::<Ipv4Cidr>()
            .is_ok_and(|range| range.contains(cidr))
    })
}

/// Checks whether `new` may join the blocks of `vpc` (pure, for unit tests).
pub fn check_secondary_cidr(vpc: &Vpc, new: &Ipv4Cidr, quota: usize) -> Result<(), Error> {
    if vpc.cidr_associations.len() >= quota {
        return Err(Error::client(
            "CidrLimitExceeded",
            format!(
                "This network '{}' has met its maximum number of allowed CIDRs: {quota}",
                vpc.id
            ),
        ));
    }
    if let Some(existing) = vpc
        .cidr_associations
        .iter()
        .find(|a| a.cidr_block.overlaps(new))
    {
        return Err(Error::client(
            "InvalidVpc.Range",
            format!(
                "The CIDR '{new}' conflicts with the CIDR '{}' of VPC '{}'.",
                existing.cidr_block, vpc.id
            ),
        ));
    }
    let primary = rfc1918_range(&vpc.cidr_block);
    let candidate = rfc1918_range(new);
    if let (Some(p), Some(c)) = (primary, candidate) {
        if p != c {
            return Err(Error::client(
                "InvalidVpc.Range",
                format!(
                    "The CIDR '{new}' is restricted. Use a CIDR from the same private address range as the current VPC CIDR, or use a publicly-routable CIDR."
                ),
            ));
        }
    }
    Ok(())
}

impl Ec2Service {
    /// Adds a secondary IPv4 block; returns the VPC ID and the new association.
    pub(crate) async fn associate_vpc_cidr_block_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        cidr_text: &str,
    ) -> Result<CidrAssociation, Error> {
        let cidr = parse_vpc_cidr(cidr_text)?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, id).await?;
        check_secondary_cidr(&vpc.value, &cidr, self.limits.cidr_blocks_per_vpc)?;
        let association = CidrAssociation {
            association_id: ResourceId::generate(ResourceKind::VpcCidrAssociation).to_string(),
            cidr_block: cidr,
            state: CidrState::Associated,
        };
        vpc.value.cidr_associations.push(association.clone());
        update_in_tx(&mut tx, scope, &vpc).await?;
        crate::route_table::ops::sync_local_routes_in_tx(&mut tx, scope, &vpc.value).await?;
        crate::resource::commit(tx, scope, &[id.as_str(), &association.association_id]).await?;
        Ok(association)
    }

    /// Removes a secondary IPv4 block by association ID; returns the VPC ID
    /// and the association as it leaves (`disassociating`).
    pub(crate) async fn disassociate_vpc_cidr_block_once(
        &self,
        scope: &RequestScope,
        association_id: &str,
    ) -> Result<(ResourceId, CidrAssociation), Error> {
        let not_found = || {
            Error::not_found(
                "InvalidVpcCidrBlockAssociationID.NotFound",
                format!("The vpc CIDR block association ID '{association_id}' does not exist"),
            )
        };
        if ResourceKind::of_id(association_id) != Some(ResourceKind::VpcCidrAssociation) {
            return Err(not_found());
        }
        let owner = resource::list::<Vpc>(&self.store, scope)
            .await?
            .into_iter()
            .find(|v| {
                v.cidr_associations
                    .iter()
                    .any(|a| a.association_id == association_id)
            })
            .ok_or_else(not_found)?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, &owner.id).await?;
        let index = vpc
            .value
            .cidr_associations
            .iter()
            .position(|a| a.association_id == association_id)
            .ok_or_else(not_found)?;
        if vpc.value.cidr_associations[index].cidr_block == vpc.value.cidr_block {
            return Err(Error::client(
                "OperationNotPermitted",
                format!(
                    "The vpc CIDR block with association ID {association_id} may not be disassociated. It is the primary IPv4 CIDR block of the VPC"
                ),
            ));
        }
        let block = vpc.value.cidr_associations[index].cidr_block;
        let subnets = crate::subnet::ops::subnets_of(&mut tx, scope, &vpc.value.id).await?;
        if let Some(inside) = subnets.iter().find(|s| block.contains(&s.cidr_block)) {
            return Err(Error::client(
                "InvalidCidrBlock.InUse",
                format!(
                    "The vpc {} currently has a subnet within CIDR block {block} ({}).",
                    vpc.value.id, inside.id
                ),
            ));
        }
        let mut removed = vpc.value.cidr_associations.remove(index);
        update_in_tx(&mut tx, scope, &vpc).await?;
        crate::route_table::ops::sync_local_routes_in_tx(&mut tx, scope, &vpc.value).await?;
        crate::resource::commit(tx, scope, &[vpc.value.id.as_str(), association_id]).await?;
        removed.state = CidrState::Disassociating;
        Ok((vpc.value.id, removed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::{AccountId, TagSet};

    fn vpc(primary: &str) -> Vpc {
        let cidr: Ipv4Cidr = primary.parse().unwrap();
        Vpc {
            id: ResourceId::generate(ResourceKind::Vpc),
            owner_id: AccountId::parse("123456789012").unwrap(),
            cidr_block: cidr,
            cidr_associations: vec![CidrAssociation {
                association_id: "vpc-cidr-assoc-1".into(),
                cidr_block: cidr,
                state: CidrState::Associated,
            }],
            state: super::super::VpcState::Available,
            dhcp_options_id: "default".into(),
            instance_tenancy: "default".into(),
            is_default: false,
            enable_dns_support: true,
            enable_dns_hostnames: false,
            enable_network_address_usage_metrics: false,
            tags: TagSet::new(),
        }
    }

    #[test]
    fn secondary_blocks_follow_aws_rules() {
        let v = vpc("10.0.0.0/16");
        assert!(check_secondary_cidr(&v, &"10.1.0.0/16".parse().unwrap(), 5).is_ok());
        assert!(check_secondary_cidr(&v, &"100.64.0.0/16".parse().unwrap(), 5).is_ok());
        assert!(
            check_secondary_cidr(&v, &"10.0.128.0/17".parse().unwrap(), 5).is_err(),
            "overlap"
        );
        assert!(
            check_secondary_cidr(&v, &"192.168.0.0/16".parse().unwrap(), 5).is_err(),
            "mixed RFC 1918"
        );
        assert!(
            check_secondary_cidr(&v, &"10.1.0.0/16".parse().unwrap(), 1).is_err(),
            "quota"
        );
    }
}
