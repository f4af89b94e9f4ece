//! `CreateSubnet`, `DescribeSubnets`, `DeleteSubnet` and
//! `ModifySubnetAttribute`, with AWS's rules: a subnet's block lies inside one
//! of its VPC's blocks, overlaps no sibling, is /16–/28, and sits in one of
//! the region's zones.

use nubo_core::filter::{self, Filter, Page};
use nubo_core::{Error, Ipv4Cidr, ResourceId, ResourceKind, Tag};

use super::{Subnet, SubnetState};
use crate::region::{zones, AvailabilityZone};
use crate::resource::{
    self, decode, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;
use crate::vpc::Vpc;

/// Validated input of `CreateSubnet`.
#[derive(Debug, Clone)]
pub struct CreateSubnet {
    pub vpc_id: ResourceId,
    pub cidr_block: String,
    /// The zone by name (`us-east-1a`) …
    pub availability_zone: Option<String>,
    /// … or by ID (`use1-az1`); at most one of the two.
    pub availability_zone_id: Option<String>,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// The subnet attributes `ModifySubnetAttribute` handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubnetAttribute {
    MapPublicIpOnLaunch,
}

/// Parses and validates a subnet ID parameter.
pub fn parse_subnet_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(text, ResourceKind::Subnet, "InvalidSubnetID.Malformed")
}

/// Parses a subnet CIDR block and checks AWS's /16–/28 size rule.
pub fn parse_subnet_cidr(text: &str) -> Result<Ipv4Cidr, Error> {
    let cidr: Ipv4Cidr = text.parse().map_err(|_| {
        Error::invalid(format!(
            "Value ({text}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        ))
    })?;
    if !(16..=28).contains(&cidr.prefix()) {
        return Err(invalid_range(text));
    }
    Ok(cidr)
}

fn invalid_range(cidr: &str) -> Error {
    Error::client(
        "InvalidSubnet.Range",
        format!("The CIDR '{cidr}' is invalid."),
    )
}

/// Checks `cidr` against its VPC's blocks and its sibling subnets (pure, for unit tests).
pub fn check_subnet_cidr(vpc: &Vpc, siblings: &[Subnet], cidr: &Ipv4Cidr) -> Result<(), Error> {
    if !vpc
        .cidr_associations
        .iter()
        .any(|a| a.cidr_block.contains(cidr))
    {
        return Err(invalid_range(&cidr.to_string()));
    }
    if siblings.iter().any(|s| s.cidr_block.overlaps(cidr)) {
        return Err(Error::client(
            "InvalidSubnet.Conflict",
            format!("The CIDR '{cidr}' conflicts with another subnet"),
        ));
    }
    Ok(())
}

/// The zone a subnet goes to: the one named, or else the region's first.
pub fn pick_zone(
    zones: &[AvailabilityZone],
    name: Option<&str>,
    id: Option<&str>,
) -> Result<AvailabilityZone, Error> {
    let unknown = |param: &str, value: &str, list: Vec<&str>| {
        Error::invalid(format!(
            "Value ({value}) for parameter {param} is invalid. Subnets can currently only be created in the following availability zones: {}.",
            list.join(", ")
        ))
    };
    match (name, id) {
        (Some(_), Some(_)) => Err(Error::InvalidParameterCombination(
            "Only one of availabilityZone and availabilityZoneId may be specified.".into(),
        )),
        (Some(name), None) => zones
            .iter()
            .find(|z| z.name == name)
            .cloned()
            .ok_or_else(|| {
                unknown(
                    "availabilityZone",
                    name,
                    zones.iter().map(|z| z.name.as_str()).collect(),
                )
            }),
        (None, Some(id)) => zones.iter().find(|z| z.id == id).cloned().ok_or_else(|| {
            unknown(
                "availabilityZoneId",
                id,
                zones.iter().map(|z| z.id.as_str()).collect(),
            )
        }),
        (None, None) => zones
            .first()
            .cloned()
            .ok_or_else(|| Error::internal("the region has no availability zones")),
    }
}

/// The subnets of VPC `vpc_id`, as the transaction sees them.
pub(crate) async fn subnets_of(
    tx: &mut nubo_store::Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
) -> Result<Vec<Subnet>, Error> {
    let rows = tx
        .list_children(scope.account.as_str(), vpc_id.as_str())
        .await
        .map_err(store_err)?;
    rows.iter()
        .filter(|r| r.kind == ResourceKind::Subnet.prefix())
        .map(|r| decode::<Subnet>(r).map(|v| v.value))
        .collect()
}

/// A new subnet of `vpc_id` in `zone`, as `CreateSubnet` (and the default
/// VPC) make it.
pub(crate) fn new_subnet(
    scope: &RequestScope,
    vpc_id: &ResourceId,
    cidr: Ipv4Cidr,
    zone: AvailabilityZone,
    tags: nubo_core::TagSet,
) -> Subnet {
    let id = ResourceId::generate(ResourceKind::Subnet);
    Subnet {
        arn: format!("arn:aws:ec2:{}:{}:subnet/{id}", scope.region, scope.account),
        id,
        vpc_id: vpc_id.clone(),
        owner_id: scope.account.clone(),
        cidr_block: cidr,
        availability_zone: zone.name,
        availability_zone_id: zone.id,
        state: SubnetState::Available,
        default_for_az: false,
        map_public_ip_on_launch: false,
        allocations: Vec::new(),
        tags,
    }
}

/// Inserts `subnet` inside the caller's transaction: checks its block
/// against its VPC and siblings, writes the VPC back and associates the
/// subnet with the VPC's default network ACL. `CreateSubnet` and the default
/// VPC both go through here.
pub(crate) async fn insert_subnet_in_tx(
    tx: &mut nubo_store::Tx,
    scope: &RequestScope,
    subnet: &Subnet,
) -> Result<(), Error> {
    let vpc: Versioned<Vpc> = get_in_tx(tx, scope, &subnet.vpc_id).await?;
    let siblings = subnets_of(tx, scope, &subnet.vpc_id).await?;
    check_subnet_cidr(&vpc.value, &siblings, &subnet.cidr_block)?;
    // Writing the VPC back bumps its generation, so a concurrent sibling
    // create, CIDR disassociation or VPC delete conflicts and re-runs
    // from a fresh read instead of missing this subnet.
    update_in_tx(tx, scope, &vpc).await?;
    tx.insert_resource(&new_row(scope, subnet)?)
        .await
        .map_err(store_err)?;
    crate::network_acl::ops::associate_with_default(tx, scope, &vpc.value.id, &subnet.id).await
}

impl Ec2Service {
    pub async fn create_subnet(
        &self,
        scope: &RequestScope,
        input: CreateSubnet,
    ) -> Result<Subnet, Error> {
        with_retry(|| self.create_subnet_once(scope, input.clone())).await
    }

    pub async fn delete_subnet(&self, scope: &RequestScope, id: &ResourceId) -> Result<(), Error> {
        with_retry(|| self.delete_subnet_once(scope, id)).await
    }

    pub async fn modify_subnet_attribute(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        attribute: SubnetAttribute,
        value: bool,
    ) -> Result<(), Error> {
        with_retry(|| self.modify_subnet_attribute_once(scope, id, attribute, value)).await
    }

    pub(crate) async fn create_subnet_once(
        &self,
        scope: &RequestScope,
        input: CreateSubnet,
    ) -> Result<Subnet, Error> {
        let cidr = parse_subnet_cidr(&input.cidr_block)?;
        let zone = pick_zone(
            &zones(&self.regions, &scope.region),
            input.availability_zone.as_deref(),
            input.availability_zone_id.as_deref(),
        )?;
        let tags = tags_for(ResourceKind::Subnet, &input.tag_specifications)?;
        let subnet = new_subnet(scope, &input.vpc_id, cidr, zone, tags);
        let mut tx = self.store.begin().await.map_err(store_err)?;
        insert_subnet_in_tx(&mut tx, scope, &subnet).await?;
        crate::resource::commit(tx, scope, &[subnet.id.as_str()]).await?;
        Ok(subnet)
    }

    /// `DescribeSubnets`: explicit IDs must all exist; filters and pagination apply to the rest.
    pub async fn describe_subnets(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<Subnet>, Option<String>), Error> {
        filter::validate::<Subnet>(filters)?;
        let mut subnets: Vec<Subnet> =
            resource::list_for_describe(&self.store, scope, ids, filters).await?;
        subnets.retain(|s| filter::matches(s, filters));
        Ok(page.apply(subnets, |s| s.id.as_str()))
    }

    pub(crate) async fn delete_subnet_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let subnet: Versioned<Subnet> = get_in_tx(&mut tx, scope, id).await?;
        let children = tx
            .list_children(scope.account.as_str(), id.as_str())
            .await
            .map_err(store_err)?;
        // Its flow logs go with it, as on AWS; any other child blocks.
        let children = crate::flow_log::ops::delete_among_in_tx(&mut tx, scope, children).await?;
        // Terminated instances stay visible for a while but hold nothing.
        let children = crate::instance::host::without_terminated(children)?;
        let mut holders: Vec<&str> = subnet
            .value
            .allocations
            .iter()
            .map(|a| a.owner.as_str())
            .chain(children.iter().map(|c| c.id.as_str()))
            .collect();
        holders.sort();
        holders.dedup();
        if !holders.is_empty() {
            return Err(Error::DependencyViolation(format!(
                "The subnet '{id}' has dependencies and cannot be deleted: {}.",
                holders.join(", ")
            )));
        }
        crate::route_table::ops::forget_subnet_in_tx(&mut tx, scope, &subnet.value.vpc_id, id)
            .await?;
        crate::network_acl::ops::disassociate_subnet(&mut tx, scope, &subnet.value.vpc_id, id)
            .await?;
        tx.delete_resource(scope.account.as_str(), id.as_str(), subnet.generation)
            .await
            .map_err(store_err)?;
        crate::resource::commit(tx, scope, &[id.as_str()]).await
    }

    pub(crate) async fn modify_subnet_attribute_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        attribute: SubnetAttribute,
        value: bool,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut subnet: Versioned<Subnet> = get_in_tx(&mut tx, scope, id).await?;
        match attribute {
            SubnetAttribute::MapPublicIpOnLaunch => subnet.value.map_public_ip_on_launch = value,
        }
        update_in_tx(&mut tx, scope, &subnet).await?;
        crate::resource::commit(tx, scope, &[id.as_str()]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vpc::{CidrAssociation, CidrState, VpcState};
    use crate::RegionConfig;
    use nubo_core::{AccountId, TagSet};

    fn vpc(blocks: &[&str]) -> Vpc {
        let cidrs: Vec<Ipv4Cidr> = blocks.iter().map(|b| b.parse().unwrap()).collect();
        Vpc {
            id: ResourceId::generate(ResourceKind::Vpc),
            owner_id: AccountId::parse("123456789012").unwrap(),
            cidr_block: cidrs[0],
            cidr_associations: cidrs
                .iter()
                .map(|c| CidrAssociation {
                    association_id: "vpc-cidr-assoc-1".into(),
                    cidr_block: *c,
                    state: CidrState::Associated,
                })
                .collect(),
            state: VpcState::Available,
            dhcp_options_id: "default".into(),
            instance_tenancy: "default".into(),
            is_default: false,
            enable_dns_support: true,
            enable_dns_hostnames: false,
            enable_network_address_usage_metrics: false,
            tags: TagSet::new(),
        }
    }

    fn subnet(v: &Vpc, cidr: &str) -> Subnet {
        Subnet {
            id: ResourceId::generate(ResourceKind::Subnet),
            arn: String::new(),
            vpc_id: v.id.clone(),
            owner_id: v.owner_id.clone(),
            cidr_block: cidr.parse().unwrap(),
            availability_zone: "us-east-1a".into(),
            availability_zone_id: "use1-az1".into(),
            state: SubnetState::Available,
            default_for_az: false,
            map_public_ip_on_launch: false,
            allocations: vec![],
            tags: TagSet::new(),
        }
    }

    fn code(r: Result<(), Error>) -> Option<&'static str> {
        match r {
            Err(Error::Client { code, .. }) => Some(code),
            Err(other) => panic!("{other:?}"),
            Ok(()) => None,
        }
    }

    #[test]
    fn subnet_blocks_follow_aws_rules() {
        let v = vpc(&["10.0.0.0/16", "10.1.0.0/24"]);
        let siblings = [subnet(&v, "10.0.1.0/24")];
        let check = |c: &str| code(check_subnet_cidr(&v, &siblings, &c.parse().unwrap()));
        assert_eq!(check("10.0.2.0/24"), None);
        assert_eq!(check("10.1.0.0/28"), None, "inside a secondary block");
        assert_eq!(check("10.0.0.0/16"), Some("InvalidSubnet.Conflict"));
        assert_eq!(check("10.0.1.128/25"), Some("InvalidSubnet.Conflict"));
        assert_eq!(
            check("10.1.0.0/23"),
            Some("InvalidSubnet.Range"),
            "spans out"
        );
        assert_eq!(check("10.2.0.0/24"), Some("InvalidSubnet.Range"));
        assert!(matches!(
            parse_subnet_cidr("10.0.0.0/29"),
            Err(Error::Client {
                code: "InvalidSubnet.Range",
                ..
            })
        ));
        assert!(matches!(
            parse_subnet_cidr("10.0.0.0/15"),
            Err(Error::Client {
                code: "InvalidSubnet.Range",
                ..
            })
        ));
        assert!(matches!(
            parse_subnet_cidr("10.0.0.1/24"),
            Err(Error::InvalidParameterValue(_))
        ));
    }

    #[test]
    fn zones_by_name_or_id() {
        let zs = zones(&RegionConfig::default_regions(), "us-east-1");
        assert_eq!(pick_zone(&zs, None, None).unwrap().name, "us-east-1a");
        assert_eq!(
            pick_zone(&zs, Some("us-east-1b"), None).unwrap().id,
            "use1-az2"
        );
        assert_eq!(
            pick_zone(&zs, None, Some("use1-az3")).unwrap().name,
            "us-east-1c"
        );
        assert_eq!(
            pick_zone(&zs, Some("us-east-1d"), None).unwrap_err(),
            Error::invalid("Value (us-east-1d) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: us-east-1a, us-east-1b, us-east-1c.")
        );
        assert!(matches!(
            pick_zone(&zs, None, Some("use1-az9")),
            Err(Error::InvalidParameterValue(m)) if m.contains("use1-az1, use1-az2, use1-az3")
        ));
        assert!(matches!(
            pick_zone(&zs, Some("us-east-1a"), Some("use1-az1")),
            Err(Error::InvalidParameterCombination(_))
        ));
    }
}
