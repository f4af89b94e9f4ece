//! Route tables through the store: the main table of each VPC and its local
//! routes, create/describe/delete with AWS's refusals, subnet associations
//! (explicit, implicit, replaced, racing), dry runs and tenancy.

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::route_table::ops::CreateRouteTable;
use nubo_ec2::route_table::{effective_table, RouteTable, RouteTarget};
use nubo_ec2::subnet::ops::CreateSubnet;
use nubo_ec2::subnet::Subnet;
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, service, tag, tenant, A, B};

fn input(vpc: &ResourceId) -> CreateRouteTable {
    CreateRouteTable {
        vpc_id: vpc.clone(),
        client_token: None,
        tag_specifications: vec![],
    }
}

async fn create_table(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId) -> RouteTable {
    svc.create_route_table(scope, input(vpc))
        .await
        .unwrap_or_else(|e| panic!("create route table: {e:?}"))
}

async fn create_subnet(
    svc: &Ec2Service,
    scope: &RequestScope,
    vpc: &ResourceId,
    cidr: &str,
) -> Subnet {
    svc.create_subnet(
        scope,
        CreateSubnet {
            vpc_id: vpc.clone(),
            cidr_block: cidr.into(),
            availability_zone: None,
            availability_zone_id: None,
            tag_specifications: vec![],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("create subnet {cidr}: {e:?}"))
}

async fn tables_of(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId) -> Vec<RouteTable> {
    let (tables, next) = svc
        .describe_route_tables(
            scope,
            &[],
            &[filter("vpc-id", &[vpc.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(next, None);
    tables
}

async fn main_of(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId) -> RouteTable {
    let tables = tables_of(svc, scope, vpc).await;
    let mains: Vec<&RouteTable> = tables.iter().filter(|t| t.is_main()).collect();
    assert_eq!(mains.len(), 1, "{tables:?}");
    mains[0].clone()
}

fn local_blocks(t: &RouteTable) -> Vec<String> {
    t.routes
        .iter()
        .filter(|r| r.target == RouteTarget::Local)
        .map(|r| r.destination_cidr_block.to_string())
        .collect()
}

pub async fn main_table_lives_and_dies_with_its_vpc(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let main = main_of(&svc, &a, &vpc.id).await;
    assert_eq!(main.owner_id.as_str(), A);
    assert_eq!(local_blocks(&main), ["10.0.0.0/16"]);
    assert_eq!(main.routes[0].origin.as_str(), "CreateRouteTable");
    assert_eq!(main.routes[0].state.as_str(), "active");

    // Local routes follow the VPC's blocks, in every table.
    let custom = create_table(&svc, &a, &vpc.id).await;
    let assoc = svc
        .associate_vpc_cidr_block(&a, &vpc.id, "10.1.0.0/16")
        .await
        .unwrap();
    for t in tables_of(&svc, &a, &vpc.id).await {
        assert_eq!(local_blocks(&t), ["10.0.0.0/16", "10.1.0.0/16"], "{}", t.id);
    }
    svc.disassociate_vpc_cidr_block(&a, &assoc.association_id)
        .await
        .unwrap();
    for t in tables_of(&svc, &a, &vpc.id).await {
        assert_eq!(local_blocks(&t), ["10.0.0.0/16"], "{}", t.id);
    }

    assert_err!(
        svc.delete_route_table(&a, &main.id).await,
        Error::DependencyViolation(_)
    );
    // A custom table blocks DeleteVpc; the main one goes with it.
    assert_err!(
        svc.delete_vpc(&a, &vpc.id).await,
        Error::DependencyViolation(m) if m.contains(custom.id.as_str())
    );
    svc.delete_route_table(&a, &custom.id).await.unwrap();
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
    assert!(db
        .store
        .get_resource(A, main.id.as_str())
        .await
        .unwrap()
        .is_none());
    assert_err!(
        svc.describe_route_tables(&a, std::slice::from_ref(&main.id), &[], &Page::default())
            .await,
        Error::NotFound {
            code: "InvalidRouteTableID.NotFound",
            ..
        }
    );
}

pub async fn route_tables_create_describe_filter_delete(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let other = create_vpc(&svc, &a, "10.9.0.0/16", &[]).await;
    let mut tagged = input(&vpc.id);
    tagged.tag_specifications = vec![("route-table".into(), vec![tag("Name", "public")])];
    let public = svc.create_route_table(&a, tagged).await.unwrap();
    assert!(!public.is_main());
    assert_eq!(local_blocks(&public), ["10.0.0.0/16"]);

    let find = |filters: Vec<nubo_core::filter::Filter>| {
        let svc = svc.clone();
        let a = a.clone();
        async move {
            let (tables, _) = svc
                .describe_route_tables(&a, &[], &filters, &Page::default())
                .await
                .unwrap();
            tables.into_iter().map(|t| t.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find(vec![filter("tag:Name", &["public"])]).await,
        vec![public.id.clone()]
    );
    assert_eq!(find(vec![]).await.len(), 3);
    assert_eq!(
        find(vec![filter("association.main", &["true"])])
            .await
            .len(),
        2
    );
    assert_eq!(
        find(vec![
            filter("vpc-id", &[vpc.id.as_str()]),
            filter("association.main", &["false"])
        ])
        .await,
        Vec::<ResourceId>::new(),
        "an unassociated table has no association to match"
    );
    assert_eq!(
        find(vec![filter(
            "route.destination-cidr-block",
            &["10.9.0.0/16"]
        )])
        .await,
        [main_of(&svc, &a, &other.id).await.id]
    );
    assert_eq!(find(vec![filter("owner-id", &[A])]).await.len(), 3);
    assert_err!(
        svc.describe_route_tables(&a, &[], &[filter("route.bogus", &["x"])], &Page::default())
            .await,
        Error::InvalidParameterValue(_)
    );

    // Pagination walks every table once.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = Page::new(Some(5), token.as_deref(), 5, 100).unwrap();
        let (tables, next) = svc
            .describe_route_tables(&a, &[], &[], &page)
            .await
            .unwrap();
        seen.extend(tables.into_iter().map(|t| t.id));
        match next {
            Some(n) => token = Some(n),
            None => break,
        }
    }
    for _ in 0..4 {
        create_table(&svc, &a, &other.id).await;
    }
    let (first, next) = svc
        .describe_route_tables(&a, &[], &[], &Page::new(Some(5), None, 5, 100).unwrap())
        .await
        .unwrap();
    assert_eq!(first.len(), 5);
    let (rest, last) = svc
        .describe_route_tables(
            &a,
            &[],
            &[],
            &Page::new(Some(5), next.as_deref(), 5, 100).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!((rest.len(), last), (2, None));
    assert_eq!(seen.len(), 3);

    // Idempotent creation: one table per client token.
    let mut again = input(&vpc.id);
    again.client_token = Some("token-1".into());
    let t1 = svc.create_route_table(&a, again.clone()).await.unwrap();
    let t2 = svc.create_route_table(&a, again).await.unwrap();
    assert_eq!(t1.id, t2.id);
    let mut mismatch = input(&other.id);
    mismatch.client_token = Some("token-1".into());
    assert_err!(
        svc.create_route_table(&a, mismatch).await,
        Error::Client {
            code: "IdempotentParameterMismatch",
            ..
        }
    );

    svc.delete_route_table(&a, &public.id).await.unwrap();
    assert_err!(
        svc.delete_route_table(&a, &public.id).await,
        Error::NotFound {
            code: "InvalidRouteTableID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.create_route_table(&a, input(&ResourceId::from_stored("vpc-0000000000000000f")))
            .await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
}

pub async fn subnet_associations(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let elsewhere = create_vpc(&svc, &a, "10.9.0.0/16", &[]).await;
    let s1 = create_subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let s2 = create_subnet(&svc, &a, &vpc.id, "10.0.2.0/24").await;
    let main = main_of(&svc, &a, &vpc.id).await;
    let custom = create_table(&svc, &a, &vpc.id).await;
    let foreign = create_table(&svc, &a, &elsewhere.id).await;

    // Implicitly, every subnet uses the main table.
    let tables = tables_of(&svc, &a, &vpc.id).await;
    assert_eq!(effective_table(&tables, &s1.id).unwrap().id, main.id);

    let assoc = svc
        .associate_route_table(&a, &custom.id, &s1.id)
        .await
        .unwrap();
    assert!(assoc.id.as_str().starts_with("rtbassoc-"));
    let tables = tables_of(&svc, &a, &vpc.id).await;
    assert_eq!(effective_table(&tables, &s1.id).unwrap().id, custom.id);
    assert_eq!(effective_table(&tables, &s2.id).unwrap().id, main.id);

    assert_err!(
        svc.associate_route_table(&a, &custom.id, &s1.id).await,
        Error::Client {
            code: "Resource.AlreadyAssociated",
            ..
        }
    );
    assert_err!(
        svc.associate_route_table(&a, &main.id, &s1.id).await,
        Error::Client {
            code: "Resource.AlreadyAssociated",
            ..
        }
    );
    assert_err!(
        svc.associate_route_table(&a, &foreign.id, &s2.id).await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.delete_route_table(&a, &custom.id).await,
        Error::DependencyViolation(_)
    );

    // Replace moves the subnet's association to another table, with a new ID.
    let moved = svc
        .replace_route_table_association(&a, &assoc.id, &main.id)
        .await
        .unwrap();
    assert_ne!(moved.id, assoc.id);
    assert_eq!(moved.subnet_id.as_ref(), Some(&s1.id));
    assert_err!(
        svc.disassociate_route_table(&a, &assoc.id).await,
        Error::NotFound {
            code: "InvalidAssociationID.NotFound",
            ..
        }
    );
    let (with_s1, _) = svc
        .describe_route_tables(
            &a,
            &[],
            &[filter("association.subnet-id", &[s1.id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(with_s1.len(), 1);
    assert_eq!(with_s1[0].id, main.id);
    svc.disassociate_route_table(&a, &moved.id).await.unwrap();

    // The main association can be moved, never removed.
    let main_assoc = main
        .associations
        .iter()
        .find(|x| x.main)
        .unwrap()
        .id
        .clone();
    assert_err!(
        svc.disassociate_route_table(&a, &main_assoc).await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.replace_route_table_association(&a, &main_assoc, &foreign.id)
            .await,
        Error::InvalidParameterValue(_)
    );
    let new_main = svc
        .replace_route_table_association(&a, &main_assoc, &custom.id)
        .await
        .unwrap();
    assert!(new_main.main);
    assert_eq!(main_of(&svc, &a, &vpc.id).await.id, custom.id);
    svc.delete_route_table(&a, &main.id).await.unwrap();

    // Deleting a subnet drops its association.
    let assoc2 = svc
        .associate_route_table(&a, &custom.id, &s2.id)
        .await
        .unwrap();
    svc.delete_subnet(&a, &s2.id).await.unwrap();
    assert_err!(
        svc.disassociate_route_table(&a, &assoc2.id).await,
        Error::NotFound { .. }
    );
    svc.delete_subnet(&a, &s1.id).await.unwrap();
    // The new main table now goes with its VPC.
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
}

pub async fn racing_associations_of_one_subnet_admit_one(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let subnet = create_subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let mut tables = Vec::new();
    for _ in 0..4 {
        tables.push(create_table(&svc, &a, &vpc.id).await);
    }
    let replica = service(&db.replica().await, Limits::default());
    let mut tasks = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let svc = if i % 2 == 0 {
            svc.clone()
        } else {
            replica.clone()
        };
        let (a, t, s) = (a.clone(), t.id.clone(), subnet.id.clone());
        tasks.push(tokio::spawn(async move {
            svc.associate_route_table(&a, &t, &s).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Client {
                code: "Resource.AlreadyAssociated",
                ..
            }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 1);
    let (with_subnet, _) = svc
        .describe_route_tables(
            &a,
            &[],
            &[filter("association.subnet-id", &[subnet.id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(with_subnet.len(), 1);
}

pub async fn route_table_dry_runs_and_tenancy(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let subnet = create_subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let table = create_table(&svc, &a, &vpc.id).await;

    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.create_route_table(&dry, input(&vpc.id)).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.associate_route_table(&dry, &table.id, &subnet.id).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.delete_route_table(&dry, &table.id).await,
        Error::DryRunOperation
    );
    assert_eq!(tables_of(&svc, &a, &vpc.id).await.len(), 2);
    assert!(tables_of(&svc, &a, &vpc.id)
        .await
        .iter()
        .all(|t| t.associations.iter().all(|x| x.subnet_id.is_none())));

    // Another tenant sees nothing and touches nothing.
    let (theirs, _) = svc
        .describe_route_tables(&b, &[], &[], &Page::default())
        .await
        .unwrap();
    assert!(theirs.is_empty());
    assert_err!(
        svc.delete_route_table(&b, &table.id).await,
        Error::NotFound {
            code: "InvalidRouteTableID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.create_route_table(&b, input(&vpc.id)).await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    let assoc = svc
        .associate_route_table(&a, &table.id, &subnet.id)
        .await
        .unwrap();
    assert_err!(
        svc.disassociate_route_table(&b, &assoc.id).await,
        Error::NotFound {
            code: "InvalidAssociationID.NotFound",
            ..
        }
    );
}

/// A `ClientToken` is found by its marker, not by a scan, and deleting the
/// table it made removes the marker: nothing is left behind, and the token
/// then makes a new table.
pub async fn client_token_markers_go_with_their_table(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let before = db
        .store
        .list_all_resources(a.account.as_str(), &a.region)
        .await
        .unwrap()
        .len();
    let mut tokened = input(&vpc.id);
    tokened.client_token = Some("token-gone".into());
    let t1 = svc.create_route_table(&a, tokened.clone()).await.unwrap();
    assert_eq!(
        svc.create_route_table(&a, tokened.clone())
            .await
            .unwrap()
            .id,
        t1.id
    );
    svc.delete_route_table(&a, &t1.id).await.unwrap();
    let after = db
        .store
        .list_all_resources(a.account.as_str(), &a.region)
        .await
        .unwrap()
        .len();
    assert_eq!(after, before, "the table's token marker went with it");
    let t2 = svc.create_route_table(&a, tokened).await.unwrap();
    assert_ne!(t2.id, t1.id);
}
