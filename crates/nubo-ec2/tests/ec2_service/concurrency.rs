//! Racing writers through two replicas (two stores, two pools, and on
//! SQLite two writer locks) on one database: the quota holds and no update
//! is lost. On PostgreSQL these races end in serialization failures or
//! stale generations, which the service retries from a fresh read.

use nubo_core::Error;
use nubo_ec2::vpc::ops::VpcAttribute;
use nubo_ec2::Limits;

use crate::harness::TestDb;
use crate::{
    all_vpcs, create_input, create_vpc, describe_one, generation, service, tag, tags_of, tenant, A,
};

/// The quota check and the insert are one transaction: racing creates cannot
/// overshoot it.
pub async fn vpc_limit_holds_under_concurrent_creates(db: &TestDb) {
    let limits = Limits {
        vpcs_per_region: 2,
        ..Limits::default()
    };
    let replica = db.replica().await;
    let svcs = [
        service(&db.store, limits.clone()),
        service(&replica, limits),
    ];
    let a = tenant(&db.store, A).await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (svc, a) = (svcs[i % 2].clone(), a.clone());
            tokio::spawn(async move {
                svc.create_vpc(&a, create_input(&format!("10.{i}.0.0/16"), &[]))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(Error::LimitExceeded {
                code: "VpcLimitExceeded",
                ..
            }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 2);
    assert_eq!(all_vpcs(&svcs[0], &a).await.len(), 2);
    replica.close().await;
}

/// Twenty writers, split over two replicas, each add one key to the same VPC
/// at once: every key must land (the generation check turns a lost race into
/// a retry from a fresh read, never into a lost update).
pub async fn concurrent_create_tags_lose_no_update(db: &TestDb) {
    let replica = db.replica().await;
    let svcs = [
        service(&db.store, Limits::default()),
        service(&replica, Limits::default()),
    ];
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svcs[0], &a, "10.0.0.0/16", &[]).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (svc, a, id) = (svcs[i % 2].clone(), a.clone(), vpc.id.to_string());
            tokio::spawn(async move {
                svc.create_tags(&a, &[id], &[tag(&format!("writer-{i:02}"), &i.to_string())])
                    .await
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        if let Err(e) = t.await.unwrap() {
            panic!("writer {i} failed: {e:?}");
        }
    }
    let expected: Vec<_> = (0..20)
        .map(|i| (format!("writer-{i:02}"), i.to_string()))
        .collect();
    assert_eq!(tags_of(&svcs[1], &a, &vpc.id).await, expected);
    // Exactly one committed write per call.
    assert_eq!(generation(&db.store, &vpc.id).await, 21);
    replica.close().await;
}

/// Writers of different parts of one VPC (tags, an attribute, a CIDR block)
/// rewrite the whole stored body; none may undo another's change.
pub async fn concurrent_tags_and_attribute_change_lose_no_update(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (svc, a, id) = (svc.clone(), a.clone(), vpc.id.to_string());
        tasks.push(tokio::spawn(async move {
            svc.create_tags(&a, &[id], &[tag(&format!("k{i}"), "v")])
                .await
        }));
    }
    let (s, sc, id) = (svc.clone(), a.clone(), vpc.id.clone());
    tasks.push(tokio::spawn(async move {
        s.modify_vpc_attribute(&sc, &id, VpcAttribute::EnableDnsHostnames, true)
            .await
    }));
    let (s, sc, id) = (svc.clone(), a.clone(), vpc.id.clone());
    tasks.push(tokio::spawn(async move {
        s.associate_vpc_cidr_block(&sc, &id, "10.1.0.0/16")
            .await
            .map(|_| ())
    }));
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let after = describe_one(&svc, &a, &vpc.id).await;
    assert_eq!(after.tags.len(), 10);
    assert!(after.enable_dns_hostnames);
    assert_eq!(after.cidr_associations.len(), 2);
    assert_eq!(generation(&db.store, &vpc.id).await, 13);
}
