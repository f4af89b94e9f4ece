//! `DescribeVpcs`: explicit IDs, every filter family (attributes, tags,
//! wildcards, AND/OR), refusal of unknown filters, and pagination.

use nubo_core::filter::{Filter, Page};
use nubo_core::Error;
use nubo_ec2::vpc::ops::parse_vpc_id;
use nubo_ec2::vpc::Vpc;
use nubo_ec2::Limits;

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, ids, service, tag, tenant, A, B};

pub async fn describe_by_ids(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let v1 = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let v2 = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    create_vpc(&svc, &a, "10.2.0.0/16", &[]).await;

    let (got, _) = svc
        .describe_vpcs(&a, &[v2.id.clone(), v1.id.clone()], &[], &Page::default())
        .await
        .unwrap();
    let mut expected = ids(&[v1.clone(), v2.clone()]);
    expected.sort();
    assert_eq!(ids(&got), expected);

    let missing = parse_vpc_id("vpc-0123456789abcdef0").unwrap();
    assert_err!(
        svc.describe_vpcs(&a, &[v1.id.clone(), missing.clone()], &[], &Page::default())
            .await,
        Error::NotFound { code: "InvalidVpcID.NotFound", ref message }
            if message.contains(missing.as_str())
    );
    // IDs and filters combine: the filter narrows the listed IDs.
    let (got, _) = svc
        .describe_vpcs(
            &a,
            &[v1.id.clone(), v2.id.clone()],
            &[filter("cidr", &["10.1.0.0/16"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(ids(&got), ids(&[v2]));
}

pub async fn describe_filters(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let web = create_vpc(
        &svc,
        &a,
        "10.0.0.0/16",
        &[tag("Name", "web"), tag("env", "prod")],
    )
    .await;
    let db_vpc = create_vpc(
        &svc,
        &a,
        "10.1.0.0/16",
        &[tag("Name", "db"), tag("env", "prod-eu")],
    )
    .await;
    let dev = create_vpc(
        &svc,
        &a,
        "172.16.0.0/16",
        &[tag("Name", "dev"), tag("env", "dev")],
    )
    .await;
    svc.associate_vpc_cidr_block(&a, &dev.id, "172.17.0.0/16")
        .await
        .unwrap();

    let matching = |filters: Vec<Filter>| {
        let (svc, a) = (&svc, &a);
        async move {
            let (vpcs, next) = svc
                .describe_vpcs(a, &[], &filters, &Page::default())
                .await
                .unwrap_or_else(|e| panic!("{filters:?}: {e:?}"));
            assert_eq!(next, None);
            let mut got = ids(&vpcs);
            got.sort();
            got
        }
    };
    let sorted = |vpcs: &[&Vpc]| {
        let mut v: Vec<String> = vpcs.iter().map(|v| v.id.to_string()).collect();
        v.sort();
        v
    };

    assert_eq!(
        matching(vec![filter("tag:Name", &["web"])]).await,
        sorted(&[&web])
    );
    assert_eq!(
        matching(vec![filter("tag:Name", &["Web"])]).await,
        sorted(&[]),
        "case-sensitive"
    );
    assert_eq!(
        matching(vec![filter("tag:env", &["prod*"])]).await,
        sorted(&[&web, &db_vpc])
    );
    assert_eq!(
        matching(vec![filter("tag:Name", &["?e?"])]).await,
        sorted(&[&web, &dev])
    );
    assert_eq!(
        matching(vec![filter("cidr", &["10.1.0.0/16"])]).await,
        sorted(&[&db_vpc])
    );
    assert_eq!(
        matching(vec![filter("cidr", &["10.*"])]).await,
        sorted(&[&web, &db_vpc])
    );
    // The primary block only for `cidr`, every block for the association filter.
    assert_eq!(
        matching(vec![filter("cidr", &["172.17.0.0/16"])]).await,
        sorted(&[])
    );
    assert_eq!(
        matching(vec![filter(
            "cidr-block-association.cidr-block",
            &["172.17.0.0/16"]
        )])
        .await,
        sorted(&[&dev])
    );
    assert_eq!(
        matching(vec![filter("state", &["available"])]).await,
        sorted(&[&web, &db_vpc, &dev])
    );
    assert_eq!(
        matching(vec![filter("state", &["pending"])]).await,
        sorted(&[])
    );
    assert_eq!(
        matching(vec![filter("vpc-id", &[web.id.as_str()])]).await,
        sorted(&[&web])
    );
    assert_eq!(
        matching(vec![
            filter("owner-id", &[A]),
            filter("is-default", &["false"])
        ])
        .await,
        sorted(&[&web, &db_vpc, &dev])
    );
    assert_eq!(matching(vec![filter("owner-id", &[B])]).await, sorted(&[]));
    assert_eq!(
        matching(vec![filter("tag-key", &["env"])]).await,
        sorted(&[&web, &db_vpc, &dev])
    );
    assert_eq!(
        matching(vec![filter("tag-value", &["dev"])]).await,
        sorted(&[&dev])
    );
    // OR across the values of one filter, AND across filters.
    assert_eq!(
        matching(vec![filter("tag:Name", &["web", "dev"])]).await,
        sorted(&[&web, &dev])
    );
    assert_eq!(
        matching(vec![
            filter("tag:Name", &["web", "dev"]),
            filter("cidr", &["10.*"])
        ])
        .await,
        sorted(&[&web])
    );
    assert_eq!(
        matching(vec![filter("tag:missing", &["*"])]).await,
        sorted(&[])
    );
}

pub async fn unknown_or_empty_filters_are_refused(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    for bad in [
        filter("colour", &["red"]),
        filter("tag:", &["x"]),
        filter("Cidr", &["10.0.0.0/16"]),
        filter("cidr", &[]),
    ] {
        assert_err!(
            svc.describe_vpcs(&a, &[], std::slice::from_ref(&bad), &Page::default())
                .await,
            Error::InvalidParameterValue(_)
        );
    }
}

pub async fn pagination_walks_every_vpc_exactly_once(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let mut all = Vec::new();
    for i in 0..12 {
        let t = if i % 3 == 0 { "even" } else { "odd" };
        all.push(create_vpc(&svc, &a, &format!("10.{i}.0.0/16"), &[tag("kind", t)]).await);
    }
    let mut expected = ids(&all);
    expected.sort();

    let walk = |filters: Vec<Filter>| {
        let (svc, a) = (&svc, &a);
        async move {
            let (mut seen, mut pages, mut token) = (Vec::new(), Vec::new(), None::<String>);
            loop {
                let page = Page::new(Some(5), token.as_deref(), 5, 1000).unwrap();
                let (vpcs, next) = svc.describe_vpcs(a, &[], &filters, &page).await.unwrap();
                pages.push(vpcs.len());
                seen.extend(ids(&vpcs));
                match next {
                    Some(t) => token = Some(t),
                    None => return (seen, pages),
                }
            }
        }
    };
    let (seen, pages) = walk(vec![]).await;
    assert_eq!(pages, [5, 5, 2]);
    assert_eq!(seen, expected, "every VPC once, in ID order");

    // Pagination applies after filtering.
    let (seen, pages) = walk(vec![filter("tag:kind", &["odd"])]).await;
    assert_eq!(pages, [5, 3]);
    let mut odd: Vec<String> = ids(&all)
        .into_iter()
        .zip(&all)
        .filter(|(_, v)| v.tags.get("kind") == Some("odd"))
        .map(|(id, _)| id)
        .collect();
    odd.sort();
    assert_eq!(seen, odd);

    // A page exactly as large as what is left has no next token.
    let (vpcs, next) = svc
        .describe_vpcs(&a, &[], &[], &Page::new(Some(12), None, 5, 1000).unwrap())
        .await
        .unwrap();
    assert_eq!((vpcs.len(), next), (12, None));
    assert_err!(
        Page::new(Some(5), Some("not-a-token"), 5, 1000),
        Error::Client {
            code: "InvalidPaginationToken",
            ..
        }
    );
}

/// A `vpc-id` filter reads only the named VPCs' children (the parent index):
/// exact values, several values, wildcards (read the whole kind) and a VPC of
/// another account all give what the filter means.
pub async fn parent_filters_read_only_the_named_parents(db: &TestDb) {
    use nubo_ec2::subnet::ops::CreateSubnet;
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let v1 = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let v2 = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let theirs = create_vpc(&svc, &b, "10.2.0.0/16", &[]).await;
    let mut made = Vec::new();
    for (vpc, cidr) in [
        (&v1, "10.0.1.0/24"),
        (&v1, "10.0.2.0/24"),
        (&v2, "10.1.1.0/24"),
    ] {
        let input = CreateSubnet {
            vpc_id: vpc.id.clone(),
            cidr_block: cidr.into(),
            availability_zone: None,
            availability_zone_id: None,
            tag_specifications: vec![],
        };
        made.push(svc.create_subnet(&a, input).await.unwrap().id);
    }
    let subnets = |values: &[&str]| {
        let filters = vec![filter("vpc-id", values)];
        let svc = svc.clone();
        let a = a.clone();
        async move {
            let (got, _) = svc
                .describe_subnets(&a, &[], &filters, &Page::default())
                .await
                .unwrap();
            got.into_iter().map(|s| s.id).collect::<Vec<_>>()
        }
    };
    let mut first_two = made[..2].to_vec();
    first_two.sort();
    assert_eq!(subnets(&[v1.id.as_str()]).await, first_two);
    let mut all = made.clone();
    all.sort();
    assert_eq!(
        subnets(&[v1.id.as_str(), v2.id.as_str(), v1.id.as_str()]).await,
        all
    );
    assert_eq!(
        subnets(&["vpc-*"]).await,
        all,
        "wildcards read the whole kind"
    );
    assert!(subnets(&[theirs.id.as_str()]).await.is_empty());
    // Route tables, groups and ACLs of one VPC: its main table, default
    // group and default ACL.
    let one = vec![filter("vpc-id", &[v2.id.as_str()])];
    let (tables, _) = svc
        .describe_route_tables(&a, &[], &one, &Page::default())
        .await
        .unwrap();
    let (groups, _) = svc
        .describe_security_groups(&a, &[], &[], &one, &Page::default())
        .await
        .unwrap();
    let (acls, _) = svc
        .describe_network_acls(&a, &[], &one, &Page::default())
        .await
        .unwrap();
    assert_eq!((tables.len(), groups.len(), acls.len()), (1, 1, 1));
    assert!(tables[0].vpc_id == v2.id && groups[0].vpc_id == v2.id && acls[0].vpc_id == v2.id);
}
