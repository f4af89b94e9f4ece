//! `DryRun=true`: every mutating operation validates exactly as a real call
//! does — answering with the real error when the call would fail — and
//! otherwise answers `DryRunOperation` and changes nothing.

use nubo_core::{Error, ResourceId};
use nubo_ec2::tags::TagKey;
use nubo_ec2::vpc::ops::VpcAttribute;
use nubo_ec2::{Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{all_vpcs, create_input, create_vpc, describe_one, service, tag, tenant, A};

fn dry(scope: &RequestScope) -> RequestScope {
    RequestScope {
        dry_run: true,
        ..scope.clone()
    }
}

pub async fn dry_runs_validate_and_change_nothing(db: &TestDb) {
    let limits = Limits {
        vpcs_per_region: 2,
        ..Limits::default()
    };
    let svc = service(&db.store, limits);
    let a = tenant(&db.store, A).await;
    let d = dry(&a);
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[tag("Name", "web")]).await;
    let secondary = svc
        .associate_vpc_cidr_block(&a, &vpc.id, "10.1.0.0/16")
        .await
        .unwrap();
    let before = describe_one(&svc, &a, &vpc.id).await;
    let ids = [vpc.id.to_string()];

    assert_err!(
        svc.create_vpc(&d, create_input("10.2.0.0/16", &[])).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.create_tags(&d, &ids, &[tag("env", "prod")]).await,
        Error::DryRunOperation
    );
    assert_err!(svc.delete_tags(&d, &ids, &[]).await, Error::DryRunOperation);
    assert_err!(
        svc.modify_vpc_attribute(&d, &vpc.id, VpcAttribute::EnableDnsHostnames, true)
            .await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.associate_vpc_cidr_block(&d, &vpc.id, "10.2.0.0/16")
            .await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.disassociate_vpc_cidr_block(&d, &secondary.association_id)
            .await,
        Error::DryRunOperation
    );
    assert_err!(svc.delete_vpc(&d, &vpc.id).await, Error::DryRunOperation);

    assert_eq!(describe_one(&svc, &a, &vpc.id).await, before);
    assert_eq!(all_vpcs(&svc, &a).await.len(), 1);
    let row = db.store.get_resource(A, vpc.id.as_str()).await.unwrap();
    assert_eq!(row.unwrap().generation, 2, "no dry run wrote");

    // A dry run of a call that would fail fails the same way.
    let missing = ResourceId::from_stored("vpc-0123456789abcdef0");
    assert_err!(
        svc.create_vpc(&d, create_input("10.0.0.0/29", &[])).await,
        Error::Client {
            code: "InvalidVpc.Range",
            ..
        }
    );
    assert_err!(
        svc.delete_vpc(&d, &missing).await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.create_tags(&d, &[missing.to_string()], &[tag("k", "v")])
            .await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.delete_tags(
            &d,
            &ids,
            &[TagKey {
                key: "aws:x".into(),
                value: None
            }]
        )
        .await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.associate_vpc_cidr_block(&d, &vpc.id, "192.168.0.0/16")
            .await,
        Error::Client {
            code: "InvalidVpc.Range",
            ..
        }
    );
    assert_err!(
        svc.disassociate_vpc_cidr_block(&d, &before.cidr_associations[0].association_id)
            .await,
        Error::Client {
            code: "OperationNotPermitted",
            ..
        }
    );
    create_vpc(&svc, &a, "10.2.0.0/16", &[]).await;
    assert_err!(
        svc.create_vpc(&d, create_input("10.3.0.0/16", &[])).await,
        Error::LimitExceeded {
            code: "VpcLimitExceeded",
            ..
        }
    );
}
