//! Tenant and region isolation: another account's (or region's) VPC reads as
//! absent for every operation — the same NotFound a nonexistent ID gets — and
//! is left exactly as it was.

use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_ec2::tags::TagKey;
use nubo_ec2::vpc::ops::VpcAttribute;
use nubo_ec2::vpc::Vpc;
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{all_vpcs, create_vpc, describe_one, filter, service, tag, tenant, A, B};

/// Every operation `intruder` might try on `victim`'s VPC fails as NotFound.
async fn every_operation_is_not_found(svc: &Ec2Service, intruder: &RequestScope, victim: &Vpc) {
    let id = &victim.id;
    let ids = [id.to_string()];
    let not_found = |e: &Error| matches!(e, Error::NotFound { code: "InvalidVpcID.NotFound", message } if message.contains(id.as_str()));

    assert!(all_vpcs(svc, intruder).await.is_empty());
    let (found, _) = svc
        .describe_vpcs(
            intruder,
            &[],
            &[filter("vpc-id", &[id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert!(found.is_empty());
    let errors = [
        svc.describe_vpcs(intruder, std::slice::from_ref(id), &[], &Page::default())
            .await
            .map(|_| ())
            .unwrap_err(),
        svc.create_tags(intruder, &ids, &[tag("owned", "by-b")])
            .await
            .unwrap_err(),
        svc.delete_tags(
            intruder,
            &ids,
            &[TagKey {
                key: "Name".into(),
                value: None,
            }],
        )
        .await
        .unwrap_err(),
        svc.delete_tags(intruder, &ids, &[]).await.unwrap_err(),
        svc.describe_vpc_attribute(intruder, id, VpcAttribute::EnableDnsSupport)
            .await
            .map(|_| ())
            .unwrap_err(),
        svc.modify_vpc_attribute(intruder, id, VpcAttribute::EnableDnsSupport, false)
            .await
            .unwrap_err(),
        svc.associate_vpc_cidr_block(intruder, id, "10.1.0.0/16")
            .await
            .map(|_| ())
            .unwrap_err(),
        svc.delete_vpc(intruder, id).await.unwrap_err(),
    ];
    for (i, e) in errors.iter().enumerate() {
        assert!(not_found(e), "operation {i}: {e:?}");
    }
    let association = &victim.cidr_associations[0].association_id;
    assert_err!(
        svc.disassociate_vpc_cidr_block(intruder, association).await,
        Error::NotFound {
            code: "InvalidVpcCidrBlockAssociationID.NotFound",
            ..
        }
    );
    let (tags, _) = svc
        .describe_tags(intruder, &[], &Page::default())
        .await
        .unwrap();
    assert!(tags.is_empty(), "{tags:?}");
}

async fn victim_vpc(db: &TestDb, svc: &Ec2Service) -> (RequestScope, Vpc) {
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(svc, &a, "10.0.0.0/16", &[tag("Name", "a-private")]).await;
    svc.associate_vpc_cidr_block(&a, &vpc.id, "10.1.0.0/16")
        .await
        .unwrap();
    let vpc = describe_one(svc, &a, &vpc.id).await;
    (a, vpc)
}

async fn assert_unchanged(db: &TestDb, svc: &Ec2Service, a: &RequestScope, before: &Vpc) {
    assert_eq!(&describe_one(svc, a, &before.id).await, before);
    let row = db
        .store
        .get_resource(A, before.id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.generation, 2, "no write reached the VPC");
}

pub async fn other_accounts_cannot_see_or_touch_a_vpc(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let (a, victim) = victim_vpc(db, &svc).await;
    let b = tenant(&db.store, B).await;
    every_operation_is_not_found(&svc, &b, &victim).await;
    assert_unchanged(db, &svc, &a, &victim).await;

    // B's own VPC in the same range is fine and stays B's.
    let own = create_vpc(&svc, &b, "10.0.0.0/16", &[tag("Name", "b")]).await;
    assert_eq!(all_vpcs(&svc, &a).await, std::slice::from_ref(&victim));
    assert_eq!(all_vpcs(&svc, &b).await, std::slice::from_ref(&own));
    // Mixing one's own ID with another's is all-or-nothing, too.
    assert_err!(
        svc.create_tags(
            &b,
            &[own.id.to_string(), victim.id.to_string()],
            &[tag("x", "y")]
        )
        .await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    assert_eq!(describe_one(&svc, &b, &own.id).await, own);
    // An account that does not exist at all sees nothing either.
    let stranger = crate::scope("333333333333", crate::REGION);
    every_operation_is_not_found(&svc, &stranger, &victim).await;
    assert_unchanged(db, &svc, &a, &victim).await;
}

pub async fn other_regions_do_not_see_a_vpc(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let (a, victim) = victim_vpc(db, &svc).await;
    let elsewhere = crate::scope(A, "eu-west-1");

    every_operation_is_not_found(&svc, &elsewhere, &victim).await;
    assert_unchanged(db, &svc, &a, &victim).await;
}
