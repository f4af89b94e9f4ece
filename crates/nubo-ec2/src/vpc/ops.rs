//! `CreateVpc`, `DescribeVpcs`, `DeleteVpc` and the VPC attributes.

use nubo_core::filter::{self, Filter, Page};
use nubo_core::{Error, Ipv4Cidr, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::Tx;

use super::{CidrAssociation, CidrState, Vpc, VpcState};
use crate::resource::{
    self, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};

/// Validated input of `CreateVpc`.
#[derive(Debug, Clone)]
pub struct CreateVpc {
    pub cidr_block: String,
    pub instance_tenancy: Option<String>,
    pub amazon_provided_ipv6: bool,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// The VPC attributes `ModifyVpcAttribute`/`DescribeVpcAttribute` handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VpcAttribute {
    EnableDnsSupport,
    EnableDnsHostnames,
    EnableNetworkAddressUsageMetrics,
}

impl VpcAttribute {
    pub fn parse(name: &str) -> Result<Self, Error> {
        match name {
            "enableDnsSupport" => Ok(VpcAttribute::EnableDnsSupport),
            "enableDnsHostnames" => Ok(VpcAttribute::EnableDnsHostnames),
            "enableNetworkAddressUsageMetrics" => {
                Ok(VpcAttribute::EnableNetworkAddressUsageMetrics)
            }
            other => Err(Error::invalid(format!(
                "Value ({other}) for parameter attribute is invalid. Unknown attribute."
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VpcAttribute::EnableDnsSupport => "enableDnsSupport",
            VpcAttribute::EnableDnsHostnames => "enableDnsHostnames",
            VpcAttribute::EnableNetworkAddressUsageMetrics => "enableNetworkAddressUsageMetrics",
        }
    }

    fn get(self, vpc: &Vpc) -> bool {
        match self {
            VpcAttribute::EnableDnsSupport => vpc.enable_dns_support,
            VpcAttribute::EnableDnsHostnames => vpc.enable_dns_hostnames,
            VpcAttribute::EnableNetworkAddressUsageMetrics => {
                vpc.enable_network_address_usage_metrics
            }
        }
    }

    fn set(self, vpc: &mut Vpc, value: bool) {
        match self {
            VpcAttribute::EnableDnsSupport => vpc.enable_dns_support = value,
            VpcAttribute::EnableDnsHostnames => vpc.enable_dns_hostnames = value,
            VpcAttribute::EnableNetworkAddressUsageMetrics => {
                vpc.enable_network_address_usage_metrics = value
            }
        }
    }
}

/// Parses a VPC CIDR block and checks AWS's /16–/28 size rule.
pub fn parse_vpc_cidr(text: &str) -> Result<Ipv4Cidr, Error> {
    let cidr: Ipv4Cidr = text.parse().map_err(|_| {
        Error::invalid(format!(
            "Value ({text}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        ))
    })?;
    if !(16..=28).contains(&cidr.prefix()) {
        return Err(Error::client(
            "InvalidVpc.Range",
            format!("The CIDR '{text}' is invalid."),
        ));
    }
    Ok(cidr)
}

/// Parses and validates a VPC ID parameter.
pub fn parse_vpc_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(text, ResourceKind::Vpc, "InvalidVpcID.Malformed")
}

/// A new VPC with one primary block, as `CreateVpc` (and the default VPC)
/// make it.
pub(crate) fn new_vpc(scope: &RequestScope, cidr: Ipv4Cidr, tenancy: String, tags: TagSet) -> Vpc {
    Vpc {
        id: ResourceId::generate(ResourceKind::Vpc),
        owner_id: scope.account.clone(),
        cidr_block: cidr,
        cidr_associations: vec![CidrAssociation {
            association_id: ResourceId::generate(ResourceKind::VpcCidrAssociation).to_string(),
            cidr_block: cidr,
            state: CidrState::Associated,
        }],
        state: VpcState::Available,
        dhcp_options_id: "default".into(),
        instance_tenancy: tenancy,
        is_default: false,
        enable_dns_support: true,
        enable_dns_hostnames: false,
        enable_network_address_usage_metrics: false,
        tags,
    }
}

impl Ec2Service {
    /// Inserts `vpc` with its default security group, main route table and
    /// default network ACL inside the caller's transaction, after checking
    /// the account's VPC quota; returns the main route table. `CreateVpc` and
    /// the default VPC both go through here.
    pub(crate) async fn insert_vpc_in_tx(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
        vpc: &Vpc,
    ) -> Result<crate::route_table::RouteTable, Error> {
        let count = tx
            .count_resources(
                scope.account.as_str(),
                &scope.region,
                ResourceKind::Vpc.prefix(),
            )
            .await
            .map_err(store_err)?;
        if count as usize >= self.limits.vpcs_per_region {
            return Err(Error::LimitExceeded {
                code: "VpcLimitExceeded",
                message: "The maximum number of VPCs has been reached.".into(),
            });
        }
        tx.insert_resource(&new_row(scope, vpc)?)
            .await
            .map_err(store_err)?;
        crate::security_group::ops::create_default(tx, scope, vpc).await?;
        let main = crate::route_table::ops::create_main(tx, scope, vpc).await?;
        crate::network_acl::ops::create_default(tx, scope, vpc).await?;
        Ok(main)
    }

    pub(crate) async fn create_vpc_once(
        &self,
        scope: &RequestScope,
        input: CreateVpc,
    ) -> Result<Vpc, Error> {
        let cidr = parse_vpc_cidr(&input.cidr_block)?;
        if input.amazon_provided_ipv6 {
            return Err(Error::invalid(
                "IPv6 CIDR blocks are not supported by this Nubo installation.",
            ));
        }
        let tenancy = input.instance_tenancy.unwrap_or_else(|| "default".into());
        if !matches!(tenancy.as_str(), "default" | "dedicated") {
            return Err(Error::invalid(format!(
                "Value ({tenancy}) for parameter instanceTenancy is invalid."
            )));
        }
        let tags = tags_for(ResourceKind::Vpc, &input.tag_specifications)?;
        let vpc = new_vpc(scope, cidr, tenancy, tags);
        let mut tx = self.store.begin().await.map_err(store_err)?;
        self.insert_vpc_in_tx(&mut tx, scope, &vpc).await?;
        crate::resource::commit(tx, scope, &[vpc.id.as_str()]).await?;
        Ok(vpc)
    }

    /// `DescribeVpcs`: explicit IDs must all exist; filters and pagination apply to the rest.
    pub async fn describe_vpcs(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<Vpc>, Option<String>), Error> {
        filter::validate::<Vpc>(filters)?;
        let mut vpcs: Vec<Vpc> = resource::list_or_get(&self.store, scope, ids).await?;
        vpcs.retain(|v| filter::matches(v, filters));
        Ok(page.apply(vpcs, |v| v.id.as_str()))
    }

    pub(crate) async fn delete_vpc_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, id).await?;
        let children = tx
            .list_children(scope.account.as_str(), id.as_str())
            .await
            .map_err(store_err)?;
        // Its flow logs go with it, as on AWS.
        let children = crate::flow_log::ops::delete_among_in_tx(&mut tx, scope, children).await?;
        // The default security group goes with its VPC; every other child blocks.
        let children = crate::resource::delete_with_vpc(
            &mut tx,
            scope,
            children,
            |g: &crate::security_group::SecurityGroup| g.is_default(),
        )
        .await?;
        let children = crate::resource::delete_with_vpc(
            &mut tx,
            scope,
            children,
            |t: &crate::route_table::RouteTable| t.is_main(),
        )
        .await?;
        // The default network ACL goes with its VPC too.
        let children = crate::resource::delete_with_vpc(
            &mut tx,
            scope,
            children,
            |a: &crate::network_acl::NetworkAcl| a.is_default && a.associations.is_empty(),
        )
        .await?;
        crate::internet_gateway::check_vpc_has_none(&mut tx, scope, id).await?;
        crate::vpc_peering::ops::check_vpc_has_none(&mut tx, scope, id).await?;
        if !children.is_empty() {
            let names: Vec<&str> = children.iter().map(|c| c.id.as_str()).collect();
            return Err(Error::DependencyViolation(format!(
                "The vpc '{id}' has dependencies and cannot be deleted: {}.",
                names.join(", ")
            )));
        }
        tx.delete_resource(scope.account.as_str(), id.as_str(), vpc.generation)
            .await
            .map_err(store_err)?;
        crate::resource::commit(tx, scope, &[id.as_str()]).await
    }

    pub async fn describe_vpc_attribute(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        attribute: VpcAttribute,
    ) -> Result<bool, Error> {
        let vpc: Versioned<Vpc> = resource::get(&self.store, scope, id).await?;
        Ok(attribute.get(&vpc.value))
    }

    /// `ModifyVpcAttribute`: one attribute per call, as on AWS.
    pub(crate) async fn modify_vpc_attribute_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        attribute: VpcAttribute,
        value: bool,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, id).await?;
        if attribute == VpcAttribute::EnableDnsHostnames && value && !vpc.value.enable_dns_support {
            return Err(Error::invalid(
                "Cannot enable DNS hostnames on a VPC without DNS support (enableDnsSupport).",
            ));
        }
        if attribute == VpcAttribute::EnableDnsSupport && !value && vpc.value.enable_dns_hostnames {
            return Err(Error::invalid(
                "Cannot disable DNS support while DNS hostnames are enabled (enableDnsHostnames).",
            ));
        }
        attribute.set(&mut vpc.value, value);
        update_in_tx(&mut tx, scope, &vpc).await?;
        crate::resource::commit(tx, scope, &[id.as_str()]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpc_cidr_sizes_follow_aws() {
        assert!(parse_vpc_cidr("10.0.0.0/16").is_ok());
        assert!(parse_vpc_cidr("10.0.0.0/28").is_ok());
        assert!(matches!(
            parse_vpc_cidr("10.0.0.0/15"),
            Err(Error::Client {
                code: "InvalidVpc.Range",
                ..
            })
        ));
        assert!(matches!(
            parse_vpc_cidr("10.0.0.0/29"),
            Err(Error::Client {
                code: "InvalidVpc.Range",
                ..
            })
        ));
        assert!(matches!(
            parse_vpc_cidr("10.0.0.1/16"),
            Err(Error::InvalidParameterValue(_))
        ));
        assert!(matches!(
            parse_vpc_cidr("banana"),
            Err(Error::InvalidParameterValue(_))
        ));
    }
}
