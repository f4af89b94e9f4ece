//! Internet gateways through the store: lifecycle, attachment rules with
//! AWS's errors, the VPC's dependency on an attached gateway, racing
//! attachments, dry runs, tenancy, and routes to gateways (blackholed while
//! the gateway is detached).

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::internet_gateway::InternetGateway;
use nubo_ec2::route_table::RouteTarget;
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, service, tag, tenant, A, B};

async fn create(svc: &Ec2Service, scope: &RequestScope) -> InternetGateway {
    svc.create_internet_gateway(scope, &[])
        .await
        .unwrap_or_else(|e| panic!("create internet gateway: {e:?}"))
}

async fn one(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> InternetGateway {
    let (mut found, _) = svc
        .describe_internet_gateways(scope, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"));
    assert_eq!(found.len(), 1);
    found.remove(0)
}

pub async fn gateway_lifecycle_and_attachment_rules(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let other_vpc = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let igw = svc
        .create_internet_gateway(
            &a,
            &[("internet-gateway".into(), vec![tag("Name", "edge")])],
        )
        .await
        .unwrap();
    assert!(igw.id.as_str().starts_with("igw-"));
    assert_eq!((igw.vpc_id.clone(), igw.owner_id.as_str()), (None, A));
    let spare = create(&svc, &a).await;

    svc.attach_internet_gateway(&a, &igw.id, &vpc.id)
        .await
        .unwrap();
    assert_eq!(one(&svc, &a, &igw.id).await.vpc_id, Some(vpc.id.clone()));
    let (attached, _) = svc
        .describe_internet_gateways(
            &a,
            &[],
            &[filter("attachment.vpc-id", &[vpc.id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(attached.len(), 1);
    let (tagged, _) = svc
        .describe_internet_gateways(&a, &[], &[filter("tag:Name", &["edge"])], &Page::default())
        .await
        .unwrap();
    assert_eq!(tagged[0].id, igw.id);

    for (g, v) in [
        (&igw.id, &vpc.id),
        (&igw.id, &other_vpc.id),
        (&spare.id, &vpc.id),
    ] {
        assert_err!(
            svc.attach_internet_gateway(&a, g, v).await,
            Error::Client {
                code: "Resource.AlreadyAssociated",
                ..
            }
        );
    }
    assert_err!(
        svc.detach_internet_gateway(&a, &igw.id, &other_vpc.id)
            .await,
        Error::Client {
            code: "Gateway.NotAttached",
            ..
        }
    );
    assert_err!(
        svc.detach_internet_gateway(&a, &spare.id, &vpc.id).await,
        Error::Client {
            code: "Gateway.NotAttached",
            ..
        }
    );
    assert_err!(
        svc.delete_internet_gateway(&a, &igw.id).await,
        Error::DependencyViolation(_)
    );
    assert_err!(
        svc.delete_vpc(&a, &vpc.id).await,
        Error::DependencyViolation(m) if m.contains(igw.id.as_str())
    );

    svc.detach_internet_gateway(&a, &igw.id, &vpc.id)
        .await
        .unwrap();
    assert_eq!(one(&svc, &a, &igw.id).await.vpc_id, None);
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
    svc.delete_internet_gateway(&a, &igw.id).await.unwrap();
    assert_err!(
        svc.delete_internet_gateway(&a, &igw.id).await,
        Error::NotFound {
            code: "InvalidInternetGatewayID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.attach_internet_gateway(&a, &spare.id, &vpc.id).await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
}

pub async fn racing_attachments_to_one_vpc_admit_one(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let replica = service(&db.replica().await, Limits::default());
    let mut tasks = Vec::new();
    for i in 0..4 {
        let svc = if i % 2 == 0 {
            svc.clone()
        } else {
            replica.clone()
        };
        let igw = create(&svc, &a).await;
        let (a, v) = (a.clone(), vpc.id.clone());
        tasks.push(tokio::spawn(async move {
            svc.attach_internet_gateway(&a, &igw.id, &v).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(Error::Client {
                code: "Resource.AlreadyAssociated",
                ..
            }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 1);
    let (attached, _) = svc
        .describe_internet_gateways(
            &a,
            &[],
            &[filter("attachment.state", &["available"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(attached.len(), 1);
}

pub async fn gateway_dry_runs_and_tenancy(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let igw = create(&svc, &a).await;
    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.create_internet_gateway(&dry, &[]).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.attach_internet_gateway(&dry, &igw.id, &vpc.id).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.delete_internet_gateway(&dry, &igw.id).await,
        Error::DryRunOperation
    );
    let (all, _) = svc
        .describe_internet_gateways(&a, &[], &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].vpc_id, None);

    let (theirs, _) = svc
        .describe_internet_gateways(&b, &[], &[], &Page::default())
        .await
        .unwrap();
    assert!(theirs.is_empty());
    assert_err!(
        svc.delete_internet_gateway(&b, &igw.id).await,
        Error::NotFound {
            code: "InvalidInternetGatewayID.NotFound",
            ..
        }
    );
    let their_vpc = create_vpc(&svc, &b, "10.0.0.0/16", &[]).await;
    assert_err!(
        svc.attach_internet_gateway(&b, &igw.id, &their_vpc.id)
            .await,
        Error::NotFound {
            code: "InvalidInternetGatewayID.NotFound",
            ..
        }
    );
}

fn route_of(t: &nubo_ec2::route_table::RouteTable, dest: &str) -> Option<(String, &'static str)> {
    t.routes
        .iter()
        .find(|r| r.destination_cidr_block.to_string() == dest)
        .map(|r| (r.target.gateway_id().unwrap_or_default(), r.state.as_str()))
}

async fn table(
    svc: &Ec2Service,
    scope: &RequestScope,
    id: &ResourceId,
) -> nubo_ec2::route_table::RouteTable {
    let (mut found, _) = svc
        .describe_route_tables(scope, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap();
    found.remove(0)
}

pub async fn routes_to_gateways(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let other_vpc = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let rtb = svc
        .create_route_table(
            &a,
            nubo_ec2::route_table::ops::CreateRouteTable {
                vpc_id: vpc.id.clone(),
                client_token: None,
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let igw = create(&svc, &a).await;
    let elsewhere = create(&svc, &a).await;
    svc.attach_internet_gateway(&a, &elsewhere.id, &other_vpc.id)
        .await
        .unwrap();
    let anywhere = "0.0.0.0/0".parse().unwrap();
    let local = "10.0.0.0/16".parse().unwrap();

    // The gateway must be attached to the table's VPC.
    assert_err!(
        svc.create_route(&a, &rtb.id, anywhere, &RouteTarget::Gateway(igw.id.clone()))
            .await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.create_route(
            &a,
            &rtb.id,
            anywhere,
            &RouteTarget::Gateway(elsewhere.id.clone())
        )
        .await,
        Error::InvalidParameterValue(_)
    );
    svc.attach_internet_gateway(&a, &igw.id, &vpc.id)
        .await
        .unwrap();
    svc.create_route(&a, &rtb.id, anywhere, &RouteTarget::Gateway(igw.id.clone()))
        .await
        .unwrap();
    assert_eq!(
        route_of(&table(&svc, &a, &rtb.id).await, "0.0.0.0/0"),
        Some((igw.id.to_string(), "active"))
    );
    assert_err!(
        svc.create_route(&a, &rtb.id, anywhere, &RouteTarget::Gateway(igw.id.clone()))
            .await,
        Error::AlreadyExists {
            code: "RouteAlreadyExists",
            ..
        }
    );
    assert_err!(
        svc.delete_route(&a, &rtb.id, local).await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.replace_route(&a, &rtb.id, local, &RouteTarget::Gateway(igw.id.clone()))
            .await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.delete_route(&a, &rtb.id, "192.168.0.0/16".parse().unwrap())
            .await,
        Error::NotFound {
            code: "InvalidRoute.NotFound",
            ..
        }
    );

    // Detaching makes the route a blackhole; reattaching revives it.
    svc.detach_internet_gateway(&a, &igw.id, &vpc.id)
        .await
        .unwrap();
    assert_eq!(
        route_of(&table(&svc, &a, &rtb.id).await, "0.0.0.0/0"),
        Some((igw.id.to_string(), "blackhole"))
    );
    let (holes, _) = svc
        .describe_route_tables(
            &a,
            &[],
            &[filter("route.state", &["blackhole"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(holes.len(), 1);
    svc.attach_internet_gateway(&a, &igw.id, &vpc.id)
        .await
        .unwrap();
    assert_eq!(
        route_of(&table(&svc, &a, &rtb.id).await, "0.0.0.0/0").map(|r| r.1),
        Some("active")
    );

    // Dry runs change nothing; the route then goes.
    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.delete_route(&dry, &rtb.id, anywhere).await,
        Error::DryRunOperation
    );
    svc.delete_route(&a, &rtb.id, anywhere).await.unwrap();
    assert_eq!(route_of(&table(&svc, &a, &rtb.id).await, "0.0.0.0/0"), None);
    assert_err!(
        svc.replace_route(&a, &rtb.id, anywhere, &RouteTarget::Gateway(igw.id.clone()))
            .await,
        Error::NotFound {
            code: "InvalidRoute.NotFound",
            ..
        }
    );
    let b = tenant(&db.store, B).await;
    assert_err!(
        svc.delete_route(&b, &rtb.id, local).await,
        Error::NotFound {
            code: "InvalidRouteTableID.NotFound",
            ..
        }
    );
}
