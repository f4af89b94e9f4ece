//! `AssociateVpcCidrBlock` / `DisassociateVpcCidrBlock`: AWS's rules for
//! secondary IPv4 blocks, checked through the store.

use nubo_core::Error;
use nubo_ec2::vpc::{CidrState, Vpc};
use nubo_ec2::Limits;

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, describe_one, service, tenant, A};

/// The blocks of a VPC as described, primary first.
fn blocks(vpc: &Vpc) -> Vec<String> {
    vpc.cidr_associations
        .iter()
        .map(|a| a.cidr_block.to_string())
        .collect()
}

pub async fn secondary_cidr_rules(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;

    let added = svc
        .associate_vpc_cidr_block(&a, &vpc.id, "10.1.0.0/16")
        .await
        .unwrap();
    assert_eq!(added.cidr_block.to_string(), "10.1.0.0/16");
    assert_eq!(added.state, CidrState::Associated);
    assert!(added.association_id.starts_with("vpc-cidr-assoc-"));
    let described = describe_one(&svc, &a, &vpc.id).await;
    assert_eq!(blocks(&described), ["10.0.0.0/16", "10.1.0.0/16"]);
    assert_eq!(described.cidr_associations[1], added);
    assert_eq!(
        described.cidr_block.to_string(),
        "10.0.0.0/16",
        "the primary is unchanged"
    );

    // Overlap with the primary or with a secondary block, either way round.
    for overlapping in ["10.0.128.0/17", "10.0.0.0/16", "10.1.5.0/24", "10.0.0.0/28"] {
        assert_err!(
            svc.associate_vpc_cidr_block(&a, &vpc.id, overlapping).await,
            Error::Client { code: "InvalidVpc.Range", ref message } if message.contains(overlapping)
        );
    }
    // A block of another RFC 1918 range than the primary's.
    for other_private in ["192.168.0.0/16", "172.16.0.0/16"] {
        assert_err!(
            svc.associate_vpc_cidr_block(&a, &vpc.id, other_private)
                .await,
            Error::Client {
                code: "InvalidVpc.Range",
                ..
            }
        );
    }
    // The size rules of the primary apply, and the syntax rules.
    for wrong_size in ["10.8.0.0/15", "10.9.0.0/29"] {
        assert_err!(
            svc.associate_vpc_cidr_block(&a, &vpc.id, wrong_size).await,
            Error::Client {
                code: "InvalidVpc.Range",
                ..
            }
        );
    }
    assert_err!(
        svc.associate_vpc_cidr_block(&a, &vpc.id, "10.2.0.1/16")
            .await,
        Error::InvalidParameterValue(_)
    );
    assert_eq!(
        blocks(&describe_one(&svc, &a, &vpc.id).await),
        ["10.0.0.0/16", "10.1.0.0/16"],
        "refused blocks changed nothing"
    );

    // A publicly routable (non-RFC 1918) block may join a private VPC.
    svc.associate_vpc_cidr_block(&a, &vpc.id, "100.64.0.0/16")
        .await
        .unwrap();
    // The RFC 1918 rule binds only a VPC whose primary block is private.
    let public = create_vpc(&svc, &a, "100.65.0.0/16", &[]).await;
    svc.associate_vpc_cidr_block(&a, &public.id, "192.168.0.0/16")
        .await
        .unwrap();
    assert_eq!(
        blocks(&describe_one(&svc, &a, &vpc.id).await),
        ["10.0.0.0/16", "10.1.0.0/16", "100.64.0.0/16"]
    );
}

pub async fn cidr_quota_counts_the_primary_and_frees_on_disassociate(db: &TestDb) {
    let limits = Limits {
        cidr_blocks_per_vpc: 3,
        ..Limits::default()
    };
    let svc = service(&db.store, limits);
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let second = svc
        .associate_vpc_cidr_block(&a, &vpc.id, "10.1.0.0/16")
        .await
        .unwrap();
    svc.associate_vpc_cidr_block(&a, &vpc.id, "10.2.0.0/16")
        .await
        .unwrap();
    assert_err!(
        svc.associate_vpc_cidr_block(&a, &vpc.id, "10.3.0.0/16")
            .await,
        Error::Client {
            code: "CidrLimitExceeded",
            ..
        }
    );
    assert_eq!(
        describe_one(&svc, &a, &vpc.id)
            .await
            .cidr_associations
            .len(),
        3
    );

    let (owner, removed) = svc
        .disassociate_vpc_cidr_block(&a, &second.association_id)
        .await
        .unwrap();
    assert_eq!(owner, vpc.id);
    assert_eq!(removed.association_id, second.association_id);
    assert_eq!(removed.cidr_block, second.cidr_block);
    assert_eq!(removed.state, CidrState::Disassociating);
    assert_eq!(
        blocks(&describe_one(&svc, &a, &vpc.id).await),
        ["10.0.0.0/16", "10.2.0.0/16"]
    );
    // The freed slot, and the freed range, can be used again.
    let again = svc
        .associate_vpc_cidr_block(&a, &vpc.id, "10.1.0.0/16")
        .await
        .unwrap();
    assert_ne!(again.association_id, second.association_id);
    assert_err!(
        svc.associate_vpc_cidr_block(&a, &vpc.id, "10.3.0.0/16")
            .await,
        Error::Client {
            code: "CidrLimitExceeded",
            ..
        }
    );
}

pub async fn disassociation_refusals(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let secondary = svc
        .associate_vpc_cidr_block(&a, &vpc.id, "10.1.0.0/16")
        .await
        .unwrap();
    let primary = vpc.cidr_associations[0].association_id.clone();

    assert_err!(
        svc.disassociate_vpc_cidr_block(&a, &primary).await,
        Error::Client { code: "OperationNotPermitted", ref message } if message.contains(&primary)
    );
    for unknown in [
        "vpc-cidr-assoc-0123456789abcdef0",
        "vpc-cidr-assoc-",
        "bogus",
        "",
    ] {
        assert_err!(
            svc.disassociate_vpc_cidr_block(&a, unknown).await,
            Error::NotFound {
                code: "InvalidVpcCidrBlockAssociationID.NotFound",
                ..
            }
        );
    }
    // Another kind's well-formed ID is not an association ID.
    assert_err!(
        svc.disassociate_vpc_cidr_block(&a, vpc.id.as_str()).await,
        Error::NotFound {
            code: "InvalidVpcCidrBlockAssociationID.NotFound",
            ..
        }
    );
    assert_eq!(
        blocks(&describe_one(&svc, &a, &vpc.id).await),
        ["10.0.0.0/16", "10.1.0.0/16"],
        "refusals changed nothing"
    );

    svc.disassociate_vpc_cidr_block(&a, &secondary.association_id)
        .await
        .unwrap();
    assert_err!(
        svc.disassociate_vpc_cidr_block(&a, &secondary.association_id)
            .await,
        Error::NotFound {
            code: "InvalidVpcCidrBlockAssociationID.NotFound",
            ..
        }
    );
    // Once the VPC is gone, so are its associations.
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
    assert_err!(
        svc.disassociate_vpc_cidr_block(&a, &primary).await,
        Error::NotFound {
            code: "InvalidVpcCidrBlockAssociationID.NotFound",
            ..
        }
    );
}
