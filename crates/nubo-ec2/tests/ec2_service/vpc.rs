//! `CreateVpc`, `DeleteVpc`, input validation, the VPC quota and the DNS
//! attributes (`DescribeVpcs` is in `describe`).

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::vpc::ops::{CreateVpc, VpcAttribute};
use nubo_ec2::vpc::{CidrState, VpcState};
use nubo_ec2::Limits;

use crate::harness::{assert_err, TestDb};
use crate::{
    all_vpcs, create_input, create_vpc, describe_one, ids, service, tag, tag_pairs, tenant, A, B,
};

pub async fn create_describe_delete(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;

    let created = create_vpc(&svc, &a, "10.0.0.0/16", &[tag("Name", "web")]).await;
    assert_eq!(created.cidr_block.to_string(), "10.0.0.0/16");
    assert_eq!(created.owner_id.as_str(), A);
    assert_eq!(created.state, VpcState::Available);
    assert_eq!(created.instance_tenancy, "default");
    assert!(created.enable_dns_support);
    assert!(!created.enable_dns_hostnames);
    assert!(!created.is_default);
    assert_eq!(created.cidr_associations.len(), 1);
    assert_eq!(created.cidr_associations[0].cidr_block, created.cidr_block);
    assert_eq!(created.cidr_associations[0].state, CidrState::Associated);
    assert_eq!(tag_pairs(&created), crate::pairs(&[("Name", "web")]));

    // What was returned is exactly what was stored.
    assert_eq!(describe_one(&svc, &a, &created.id).await, created);
    let mut dedicated = create_input("10.1.0.0/16", &[]);
    dedicated.instance_tenancy = Some("dedicated".into());
    let second = svc.create_vpc(&a, dedicated).await.unwrap();
    assert_eq!(second.instance_tenancy, "dedicated");
    assert_ne!(second.id, created.id);
    let mut expected = ids(&[created.clone(), second.clone()]);
    expected.sort();
    assert_eq!(ids(&all_vpcs(&svc, &a).await), expected, "sorted by ID");

    svc.delete_vpc(&a, &created.id).await.unwrap();
    assert_eq!(
        ids(&all_vpcs(&svc, &a).await),
        ids(std::slice::from_ref(&second))
    );
    assert_err!(
        svc.describe_vpcs(&a, std::slice::from_ref(&created.id), &[], &Page::default())
            .await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.delete_vpc(&a, &created.id).await,
        Error::NotFound { code: "InvalidVpcID.NotFound", ref message }
            if message.contains(created.id.as_str())
    );
    assert_err!(
        svc.describe_vpc_attribute(&a, &created.id, VpcAttribute::EnableDnsSupport)
            .await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
}

pub async fn invalid_create_input_is_refused_and_changes_nothing(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let create = |input: CreateVpc| {
        let (svc, a) = (&svc, &a);
        async move { svc.create_vpc(a, input).await }
    };

    for too_big_or_small in ["10.0.0.0/15", "10.0.0.0/8", "10.0.0.0/29", "10.0.0.0/32"] {
        assert_err!(
            create(create_input(too_big_or_small, &[])).await,
            Error::Client {
                code: "InvalidVpc.Range",
                ..
            }
        );
    }
    for not_a_network in ["10.0.0.1/16", "10.0.0.0", "10.0.0.0/33", "banana", ""] {
        assert_err!(
            create(create_input(not_a_network, &[])).await,
            Error::InvalidParameterValue(_)
        );
    }
    let mut tenancy = create_input("10.0.0.0/16", &[]);
    tenancy.instance_tenancy = Some("host".into());
    assert_err!(create(tenancy).await, Error::InvalidParameterValue(_));
    let mut ipv6 = create_input("10.0.0.0/16", &[]);
    ipv6.amazon_provided_ipv6 = true;
    assert_err!(create(ipv6).await, Error::InvalidParameterValue(_));
    let mut wrong_type = create_input("10.0.0.0/16", &[]);
    wrong_type.tag_specifications = vec![("subnet".into(), vec![tag("k", "v")])];
    assert_err!(create(wrong_type).await, Error::InvalidParameterValue(_));
    let mut twice = create_input("10.0.0.0/16", &[tag("a", "1")]);
    twice
        .tag_specifications
        .push(("vpc".into(), vec![tag("b", "2")]));
    assert_err!(create(twice).await, Error::InvalidParameterValue(_));
    assert_err!(
        create(create_input("10.0.0.0/16", &[tag("aws:owner", "x")])).await,
        Error::InvalidParameterValue(_)
    );
    let fifty_one: Vec<_> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    assert_err!(
        create(create_input("10.0.0.0/16", &fifty_one)).await,
        Error::Client {
            code: "TagLimitExceeded",
            ..
        }
    );

    assert!(all_vpcs(&svc, &a).await.is_empty(), "nothing was created");
    // The boundaries themselves are accepted.
    create_vpc(&svc, &a, "10.0.0.0/16", &fifty_one[..50]).await;
    create_vpc(&svc, &a, "10.1.0.0/28", &[]).await;
}

pub async fn vpc_limit_per_account_and_region(db: &TestDb) {
    let limits = Limits {
        vpcs_per_region: 2,
        ..Limits::default()
    };
    let svc = service(&db.store, limits);
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let first = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    assert_err!(
        svc.create_vpc(&a, create_input("10.2.0.0/16", &[])).await,
        Error::LimitExceeded {
            code: "VpcLimitExceeded",
            ..
        }
    );
    assert_eq!(all_vpcs(&svc, &a).await.len(), 2);
    // The quota is per account and per region.
    create_vpc(&svc, &b, "10.0.0.0/16", &[]).await;
    create_vpc(&svc, &b, "10.1.0.0/16", &[]).await;
    let west = crate::scope(A, "us-west-2");
    create_vpc(&svc, &west, "10.0.0.0/16", &[]).await;
    // Deleting frees a slot.
    svc.delete_vpc(&a, &first.id).await.unwrap();
    create_vpc(&svc, &a, "10.2.0.0/16", &[]).await;
    assert_err!(
        svc.create_vpc(&a, create_input("10.3.0.0/16", &[])).await,
        Error::LimitExceeded {
            code: "VpcLimitExceeded",
            ..
        }
    );
}

pub async fn dns_attributes_depend_on_each_other(db: &TestDb) {
    use VpcAttribute::{EnableDnsHostnames as Hostnames, EnableDnsSupport as Support};
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let get = |attr: VpcAttribute| {
        let (svc, a, id) = (&svc, &a, &vpc.id);
        async move { svc.describe_vpc_attribute(a, id, attr).await.unwrap() }
    };
    assert!(get(Support).await);
    assert!(!get(Hostnames).await);
    assert!(!get(VpcAttribute::EnableNetworkAddressUsageMetrics).await);

    svc.modify_vpc_attribute(&a, &vpc.id, Hostnames, true)
        .await
        .unwrap();
    assert!(get(Hostnames).await);
    // Support cannot go while hostnames rely on it.
    assert_err!(
        svc.modify_vpc_attribute(&a, &vpc.id, Support, false).await,
        Error::InvalidParameterValue(_)
    );
    assert!(get(Support).await, "unchanged by the refused call");

    svc.modify_vpc_attribute(&a, &vpc.id, Hostnames, false)
        .await
        .unwrap();
    svc.modify_vpc_attribute(&a, &vpc.id, Support, false)
        .await
        .unwrap();
    assert!(!get(Support).await);
    // Hostnames need support.
    assert_err!(
        svc.modify_vpc_attribute(&a, &vpc.id, Hostnames, true).await,
        Error::InvalidParameterValue(_)
    );
    assert!(!get(Hostnames).await, "unchanged by the refused call");
    // Setting an attribute to its current value is allowed.
    svc.modify_vpc_attribute(&a, &vpc.id, Hostnames, false)
        .await
        .unwrap();

    svc.modify_vpc_attribute(
        &a,
        &vpc.id,
        VpcAttribute::EnableNetworkAddressUsageMetrics,
        true,
    )
    .await
    .unwrap();
    let described = crate::describe_one(&svc, &a, &vpc.id).await;
    assert!(described.enable_network_address_usage_metrics);
    assert!(!described.enable_dns_support && !described.enable_dns_hostnames);

    assert_err!(
        VpcAttribute::parse("enableDnsSupport "),
        Error::InvalidParameterValue(_)
    );
    let missing = ResourceId::from_stored("vpc-0123456789abcdef0");
    assert_err!(
        svc.modify_vpc_attribute(&a, &missing, Support, true).await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
}
