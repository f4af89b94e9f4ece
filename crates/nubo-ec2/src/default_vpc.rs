//! The default VPC every account has in every region, built as AWS builds
//! it: 172.31.0.0/16 (`isDefault`), one /20 subnet per availability zone in
//! zone order (`defaultForAz`, `mapPublicIpOnLaunch`), an attached internet
//! gateway and a `0.0.0.0/0` route to it in the main route table, plus the
//! default security group and network ACL every VPC gets.
//!
//! It is provisioned lazily, the first time an account touches EC2 in a
//! region ([`Ec2Service::ensure_default_vpc`], called by the API edge before
//! every EC2 action), in ONE transaction built from the same `*_in_tx`
//! functions `CreateVpc`, `CreateSubnet`, `CreateInternetGateway`,
//! `AttachInternetGateway` and `CreateRoute` use. The same transaction
//! inserts a *marker* row whose store ID is derived from the account and
//! region, so the provisioning happens once per account and region, ever:
//! two replicas racing on a first call collide on the marker's primary key
//! and the loser keeps the winner's VPC; deleting the default VPC does not
//! bring it back (only `CreateDefaultVpc` does). An in-memory cache of the
//! pairs already seen keeps the common path free of any store access.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use nubo_core::{Error, Ipv4Cidr, ResourceId, ResourceKind, TagSet};
use nubo_store::{ResourceRow, StoreError, Tx};

use crate::region::zones;
use crate::resource::{self, store_err, Ec2Service, RequestScope};
use crate::retry::with_retry;
use crate::route_table::RouteTarget;
use crate::vpc::Vpc;

/// The default VPC's block, as on AWS.
pub const DEFAULT_VPC_CIDR: &str = "172.31.0.0/16";

/// The store kind of marker rows (no resource kind: tag actions and
/// `Describe*` never see them).
const MARKER_KIND: &str = "default-vpc-marker";

/// The (account, region) pairs known to have been provisioned.
pub type ProvisionedCache = Arc<Mutex<HashSet<(String, String)>>>;

/// The store ID of the marker of `scope`'s account and region: unique per
/// pair, and of no resource kind.
pub(crate) fn marker_id(scope: &RequestScope) -> String {
    format!("default-vpc.{}.{}", scope.region, scope.account)
}

/// The default subnets' blocks: consecutive /20s of 172.31.0.0/16, one per
/// zone in zone order (at most 16, all a /16 holds) (pure, for unit tests).
pub fn default_subnet_cidrs(zone_count: usize) -> Vec<Ipv4Cidr> {
    (0..zone_count.min(16))
        .filter_map(|i| format!("172.31.{}.0/20", i * 16).parse().ok())
        .collect()
}

fn already_exists() -> Error {
    Error::client(
        "DefaultVpcAlreadyExists",
        "A Default VPC already exists for this account in this region.",
    )
}

impl Ec2Service {
    /// Provisions the caller's default VPC in the caller's region unless that
    /// was done before (or default VPCs are turned off). Costs one lock of an
    /// in-memory set once the pair is known.
    pub async fn ensure_default_vpc(&self, scope: &RequestScope) -> Result<(), Error> {
        if !self.default_vpc {
            return Ok(());
        }
        let key = (scope.account.to_string(), scope.region.clone());
        if self.is_provisioned(&key) {
            return Ok(());
        }
        // Provisioning is the account's initial state, not the caller's
        // request: it is real even in a dry run, and not audited as the call.
        let system = RequestScope::new(scope.account.clone(), scope.region.clone());
        with_retry(|| self.provision_once(&system)).await?;
        if let Ok(mut set) = self.provisioned.lock() {
            set.insert(key);
        }
        Ok(())
    }

    fn is_provisioned(&self, key: &(String, String)) -> bool {
        self.provisioned
            .lock()
            .map(|set| set.contains(key))
            .unwrap_or(false)
    }

    async fn provision_once(&self, scope: &RequestScope) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let marker = marker_id(scope);
        if tx
            .get_resource(scope.account.as_str(), &marker)
            .await
            .map_err(store_err)?
            .is_some()
        {
            return tx.rollback().await.map_err(store_err);
        }
        // The marker goes in first: a concurrent first call on another
        // replica collides here and keeps the winner's default VPC.
        match insert_marker(&mut tx, scope).await {
            Err(StoreError::AlreadyExists) => return tx.rollback().await.map_err(store_err),
            other => other.map_err(store_err)?,
        }
        let count = tx
            .count_resources(
                scope.account.as_str(),
                &scope.region,
                ResourceKind::Vpc.prefix(),
            )
            .await
            .map_err(store_err)?;
        // An account already at its VPC quota (an operator's tiny quota) gets
        // no default VPC rather than a failing first call.
        let vpc = if (count as usize) < self.limits.vpcs_per_region {
            Some(self.build_default_vpc_in_tx(&mut tx, scope).await?)
        } else {
            None
        };
        let mut touched = vec![marker.as_str()];
        touched.extend(vpc.as_ref().map(|v| v.id.as_str()));
        resource::commit(tx, scope, &touched).await
    }

    /// `CreateDefaultVpc`: builds a new default VPC when the account has none
    /// in the region (`DefaultVpcAlreadyExists` otherwise).
    pub async fn create_default_vpc(&self, scope: &RequestScope) -> Result<Vpc, Error> {
        with_retry(|| self.create_default_vpc_once(scope)).await
    }

    async fn create_default_vpc_once(&self, scope: &RequestScope) -> Result<Vpc, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        if self.default_vpc_in_tx(&mut tx, scope).await?.is_some() {
            return Err(already_exists());
        }
        // The marker records that the pair was provisioned, so the lazy path
        // never adds a second default VPC after this one.
        if tx
            .get_resource(scope.account.as_str(), &marker_id(scope))
            .await
            .map_err(store_err)?
            .is_none()
        {
            insert_marker(&mut tx, scope).await.map_err(store_err)?;
        }
        let vpc = self.build_default_vpc_in_tx(&mut tx, scope).await?;
        resource::commit(tx, scope, &[vpc.id.as_str()]).await?;
        Ok(vpc)
    }

    /// The caller's default VPC in the caller's region, if it has one (for
    /// `DescribeAccountAttributes`' `default-vpc`).
    pub async fn default_vpc_id(&self, scope: &RequestScope) -> Result<Option<ResourceId>, Error> {
        let vpcs: Vec<Vpc> = resource::list(&self.store, scope).await?;
        Ok(vpcs.into_iter().find(|v| v.is_default).map(|v| v.id))
    }

    async fn default_vpc_in_tx(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
    ) -> Result<Option<Vpc>, Error> {
        let rows = tx
            .list_resources(
                scope.account.as_str(),
                &scope.region,
                ResourceKind::Vpc.prefix(),
            )
            .await
            .map_err(store_err)?;
        for row in &rows {
            let vpc: resource::Versioned<Vpc> = resource::decode(row)?;
            if vpc.value.is_default {
                return Ok(Some(vpc.value));
            }
        }
        Ok(None)
    }

    /// Builds the default VPC and everything in it inside the caller's
    /// transaction, through the same functions the API actions use.
    async fn build_default_vpc_in_tx(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
    ) -> Result<Vpc, Error> {
        let cidr: Ipv4Cidr = DEFAULT_VPC_CIDR.parse().map_err(Error::internal)?;
        let mut vpc = crate::vpc::ops::new_vpc(scope, cidr, "default".into(), TagSet::new());
        vpc.is_default = true;
        // AWS's default VPC resolves public DNS hostnames for its instances.
        vpc.enable_dns_hostnames = true;
        let main = self.insert_vpc_in_tx(tx, scope, &vpc).await?;
        let region_zones = zones(&self.regions, &scope.region);
        for (zone, block) in region_zones
            .into_iter()
            .zip(default_subnet_cidrs(usize::MAX))
        {
            let mut subnet =
                crate::subnet::ops::new_subnet(scope, &vpc.id, block, zone, TagSet::new());
            subnet.default_for_az = true;
            subnet.map_public_ip_on_launch = true;
            crate::subnet::ops::insert_subnet_in_tx(tx, scope, &subnet).await?;
        }
        let gateway = crate::internet_gateway::insert_in_tx(tx, scope, TagSet::new()).await?;
        crate::internet_gateway::attach_in_tx(tx, scope, &gateway.id, &vpc.id).await?;
        let anywhere: Ipv4Cidr = "0.0.0.0/0".parse().map_err(Error::internal)?;
        crate::route_table::routes::write_route_in_tx(
            tx,
            scope,
            &main.id,
            anywhere,
            &RouteTarget::Gateway(gateway.id.clone()),
            false,
        )
        .await?;
        Ok(vpc)
    }
}

async fn insert_marker(tx: &mut Tx, scope: &RequestScope) -> Result<(), StoreError> {
    let now = Utc::now();
    tx.insert_resource(&ResourceRow {
        account_id: scope.account.to_string(),
        region: scope.region.clone(),
        kind: MARKER_KIND.to_string(),
        id: marker_id(scope),
        parent_id: None,
        generation: 1,
        body: "{}".to_string(),
        created_at: now,
        updated_at: now,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::AccountId;

    #[test]
    fn default_subnets_are_consecutive_slash_20s_in_zone_order() {
        let blocks: Vec<String> = default_subnet_cidrs(3)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            blocks,
            ["172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"]
        );
        let all = default_subnet_cidrs(40);
        assert_eq!(all.len(), 16);
        assert_eq!(all[15].to_string(), "172.31.240.0/20");
        let vpc: Ipv4Cidr = DEFAULT_VPC_CIDR.parse().unwrap();
        assert!(all.iter().all(|b| vpc.contains(b)));
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| !a.overlaps(b)));
        }
    }

    #[test]
    fn markers_are_per_account_and_region_and_name_no_resource_kind() {
        let a = RequestScope::new(AccountId::parse("123456789012").unwrap(), "us-east-1");
        let b = RequestScope::new(AccountId::parse("210987654321").unwrap(), "us-east-1");
        let c = RequestScope::new(AccountId::parse("123456789012").unwrap(), "eu-west-1");
        assert_eq!(marker_id(&a), "default-vpc.us-east-1.123456789012");
        assert_ne!(marker_id(&a), marker_id(&b));
        assert_ne!(marker_id(&a), marker_id(&c));
        assert_eq!(ResourceKind::of_id(&marker_id(&a)), None);
    }
}
