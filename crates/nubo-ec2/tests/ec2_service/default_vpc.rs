//! The default VPC through the store: built as AWS builds it, provisioned once
//! per account and region (also when two replicas race on the first call),
//! not brought back after deletion except by `CreateDefaultVpc`, counted
//! against the VPC quota, and absent when turned off.

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::route_table::{RouteState, RouteTarget};
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{all_vpcs, create_vpc, filter, scope, service, tenant, A, B};

fn with_default(svc: Ec2Service) -> Ec2Service {
    svc.with_default_vpc(true)
}

/// The IDs of every row the account holds in the scope's region.
async fn rows(db: &TestDb, scope: &RequestScope) -> Vec<String> {
    db.store
        .list_all_resources(scope.account.as_str(), &scope.region)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| !r.kind.starts_with("default-vpc"))
        .map(|r| format!("{} {}", r.kind, r.id))
        .collect()
}

/// Deletes the default VPC the way a user must: route, gateway, subnets, VPC.
async fn tear_down(svc: &Ec2Service, a: &RequestScope, vpc_id: &ResourceId) {
    let (gateways, _) = svc
        .describe_internet_gateways(
            a,
            &[],
            &[filter("attachment.vpc-id", &[vpc_id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    for g in gateways {
        svc.detach_internet_gateway(a, &g.id, vpc_id).await.unwrap();
        svc.delete_internet_gateway(a, &g.id).await.unwrap();
    }
    let (subnets, _) = svc
        .describe_subnets(
            a,
            &[],
            &[filter("vpc-id", &[vpc_id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    for s in subnets {
        svc.delete_subnet(a, &s.id).await.unwrap();
    }
    svc.delete_vpc(a, vpc_id).await.unwrap();
}

pub async fn default_vpc_is_built_like_aws(db: &TestDb) {
    let svc = with_default(service(&db.store, Limits::default()));
    let a = tenant(&db.store, A).await;
    svc.ensure_default_vpc(&a).await.unwrap();
    svc.ensure_default_vpc(&a).await.unwrap();
    let vpcs = all_vpcs(&svc, &a).await;
    assert_eq!(vpcs.len(), 1, "{vpcs:?}");
    let vpc = &vpcs[0];
    assert!(vpc.is_default);
    assert_eq!(vpc.cidr_block.to_string(), "172.31.0.0/16");
    assert_eq!(svc.default_vpc_id(&a).await.unwrap(), Some(vpc.id.clone()));
    let (by_filter, _) = svc
        .describe_vpcs(
            &a,
            &[],
            &[filter("is-default", &["true"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_filter.len(), 1);

    let (subnets, _) = svc
        .describe_subnets(
            &a,
            &[],
            &[filter("default-for-az", &["true"])],
            &Page::default(),
        )
        .await
        .unwrap();
    let mut layout: Vec<(String, String)> = subnets
        .iter()
        .map(|s| (s.availability_zone.clone(), s.cidr_block.to_string()))
        .collect();
    layout.sort();
    assert_eq!(
        layout,
        [
            ("us-east-1a".to_string(), "172.31.0.0/20".to_string()),
            ("us-east-1b".to_string(), "172.31.16.0/20".to_string()),
            ("us-east-1c".to_string(), "172.31.32.0/20".to_string()),
        ]
    );
    assert!(subnets
        .iter()
        .all(|s| s.map_public_ip_on_launch && s.vpc_id == vpc.id));

    let (gateways, _) = svc
        .describe_internet_gateways(&a, &[], &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(gateways.len(), 1);
    assert_eq!(gateways[0].vpc_id, Some(vpc.id.clone()));
    let (tables, _) = svc
        .describe_route_tables(
            &a,
            &[],
            &[filter("association.main", &["true"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(tables.len(), 1);
    let default_route = tables[0]
        .routes
        .iter()
        .find(|r| r.destination_cidr_block.to_string() == "0.0.0.0/0")
        .expect("a default route");
    assert_eq!(
        (&default_route.target, default_route.state),
        (
            &RouteTarget::Gateway(gateways[0].id.clone()),
            RouteState::Active
        )
    );
    let (groups, _) = svc
        .describe_security_groups(&a, &[], &[], &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    let (acls, _) = svc
        .describe_network_acls(&a, &[], &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(acls.len(), 1);
    assert_eq!(acls[0].associations.len(), 3, "every default subnet");

    // Another tenant is provisioned separately and sees nothing of A's.
    let b = tenant(&db.store, B).await;
    assert!(all_vpcs(&svc, &b).await.is_empty());
    svc.ensure_default_vpc(&b).await.unwrap();
    let theirs = all_vpcs(&svc, &b).await;
    assert_eq!(theirs.len(), 1);
    assert_ne!(theirs[0].id, vpc.id);
    // A dry-run scope provisions nothing twice.
    let mut dry = a.clone();
    dry.dry_run = true;
    svc.ensure_default_vpc(&dry).await.unwrap();
    assert_eq!(all_vpcs(&svc, &a).await.len(), 1);
}

pub async fn deleted_default_vpc_stays_deleted_until_created_again(db: &TestDb) {
    let svc = with_default(service(&db.store, Limits::default()));
    let a = tenant(&db.store, A).await;
    svc.ensure_default_vpc(&a).await.unwrap();
    let vpc_id = svc.default_vpc_id(&a).await.unwrap().unwrap();
    assert_err!(
        svc.create_default_vpc(&a).await,
        Error::Client {
            code: "DefaultVpcAlreadyExists",
            ..
        }
    );
    assert_err!(
        svc.delete_vpc(&a, &vpc_id).await,
        Error::DependencyViolation(_)
    );
    tear_down(&svc, &a, &vpc_id).await;
    assert_eq!(rows(db, &a).await, Vec::<String>::new(), "nothing orphaned");

    // A fresh replica (empty cache) does not bring it back.
    let replica = with_default(service(&db.replica().await, Limits::default()));
    replica.ensure_default_vpc(&a).await.unwrap();
    assert!(all_vpcs(&replica, &a).await.is_empty());
    assert_eq!(replica.default_vpc_id(&a).await.unwrap(), None);

    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(svc.create_default_vpc(&dry).await, Error::DryRunOperation);
    assert!(all_vpcs(&svc, &a).await.is_empty());
    let again = svc.create_default_vpc(&a).await.unwrap();
    assert!(again.is_default);
    assert_ne!(again.id, vpc_id);
    assert_eq!(
        svc.default_vpc_id(&a).await.unwrap(),
        Some(again.id.clone())
    );
    let (subnets, _) = svc
        .describe_subnets(
            &a,
            &[],
            &[filter("vpc-id", &[again.id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(subnets.len(), 3);
    replica.ensure_default_vpc(&a).await.unwrap();
    assert_eq!(all_vpcs(&svc, &a).await.len(), 1);
}

pub async fn racing_first_calls_provision_once(db: &TestDb) {
    let a = tenant(&db.store, A).await;
    let one = with_default(service(&db.store, Limits::default()));
    let two = with_default(service(&db.replica().await, Limits::default()));
    let mut calls = Vec::new();
    for i in 0..6 {
        let svc = if i % 2 == 0 { one.clone() } else { two.clone() };
        let a = a.clone();
        calls.push(tokio::spawn(
            async move { svc.ensure_default_vpc(&a).await },
        ));
    }
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let vpcs = all_vpcs(&one, &a).await;
    assert_eq!(vpcs.len(), 1, "{vpcs:?}");
    let (subnets, _) = one
        .describe_subnets(&a, &[], &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(subnets.len(), 3);
}

pub async fn default_vpc_counts_against_the_quota_and_can_be_off(db: &TestDb) {
    let limits = Limits {
        vpcs_per_region: 2,
        ..Limits::default()
    };
    let svc = with_default(service(&db.store, limits.clone()));
    let a = tenant(&db.store, A).await;
    svc.ensure_default_vpc(&a).await.unwrap();
    create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    assert_err!(
        svc.create_vpc(&a, crate::create_input("10.1.0.0/16", &[]))
            .await,
        Error::LimitExceeded {
            code: "VpcLimitExceeded",
            ..
        }
    );

    // Turned off: nothing is provisioned.
    let off = service(&db.store, limits);
    let b = tenant(&db.store, B).await;
    off.ensure_default_vpc(&b).await.unwrap();
    assert!(all_vpcs(&off, &b).await.is_empty());
    assert_eq!(off.default_vpc_id(&b).await.unwrap(), None);
    let elsewhere = scope(B, "us-east-1");
    assert!(all_vpcs(&off, &elsewhere).await.is_empty());
}
