//! Subnets through the store: `CreateSubnet`'s rules, `DescribeSubnets`'
//! filters and pages, the VPC's dependency checks, tenancy, dry runs, and the
//! address allocator as ENIs and instances will use it — inside their own
//! transaction, never handing out an address twice, even concurrently.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::retry::with_retry;
use nubo_ec2::subnet::ops::{CreateSubnet, SubnetAttribute};
use nubo_ec2::subnet::{Subnet, SubnetState};
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, describe_one, filter, service, tag, tenant, A, B};

fn input(vpc: &ResourceId, cidr: &str) -> CreateSubnet {
    CreateSubnet {
        vpc_id: vpc.clone(),
        cidr_block: cidr.into(),
        availability_zone: None,
        availability_zone_id: None,
        tag_specifications: vec![],
    }
}

async fn create(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId, cidr: &str) -> Subnet {
    svc.create_subnet(scope, input(vpc, cidr))
        .await
        .unwrap_or_else(|e| panic!("create subnet {cidr}: {e:?}"))
}

async fn all(svc: &Ec2Service, scope: &RequestScope) -> Vec<Subnet> {
    let (subnets, next) = svc
        .describe_subnets(scope, &[], &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(next, None);
    subnets
}

async fn one(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> Subnet {
    let (mut subnets, _) = svc
        .describe_subnets(scope, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"));
    assert_eq!(subnets.len(), 1);
    subnets.remove(0)
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Allocates in a transaction of its own, committed, as an ENI create would.
async fn allocate(
    svc: &Ec2Service,
    db: &TestDb,
    scope: &RequestScope,
    subnet: &ResourceId,
    explicit: Option<Ipv4Addr>,
    owner: &str,
) -> Result<Ipv4Addr, Error> {
    with_retry(|| async {
        let mut tx = db.store.begin().await.map_err(Error::from)?;
        let addr = svc
            .allocate_address(&mut tx, scope, subnet, explicit, owner)
            .await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(addr)
    })
    .await
}

async fn release(
    svc: &Ec2Service,
    db: &TestDb,
    scope: &RequestScope,
    subnet: &ResourceId,
    addr: Ipv4Addr,
    owner: &str,
) -> bool {
    let mut tx = db.store.begin().await.unwrap();
    let released = svc
        .release_address(&mut tx, scope, subnet, addr, owner)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    released
}

pub async fn subnet_create_describe_delete(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;

    let mut with_tags = input(&vpc.id, "10.0.1.0/24");
    with_tags.availability_zone = Some("us-east-1b".into());
    with_tags.tag_specifications = vec![("subnet".into(), vec![tag("Name", "web")])];
    let created = svc.create_subnet(&a, with_tags).await.unwrap();
    assert!(created.id.as_str().starts_with("subnet-"));
    assert_eq!(
        created.arn,
        format!("arn:aws:ec2:us-east-1:{A}:subnet/{}", created.id)
    );
    assert_eq!(created.vpc_id, vpc.id);
    assert_eq!(created.owner_id.as_str(), A);
    assert_eq!(created.cidr_block.to_string(), "10.0.1.0/24");
    assert_eq!(created.availability_zone, "us-east-1b");
    assert_eq!(created.availability_zone_id, "use1-az2");
    assert_eq!(created.state, SubnetState::Available);
    assert!(!created.default_for_az && !created.map_public_ip_on_launch);
    assert_eq!(created.available_ip_address_count(), 251);
    assert_eq!(created.tags.get("Name"), Some("web"));
    assert_eq!(one(&svc, &a, &created.id).await, created);

    let mut by_id = input(&vpc.id, "10.0.2.0/28");
    by_id.availability_zone_id = Some("use1-az3".into());
    let small = svc.create_subnet(&a, by_id).await.unwrap();
    assert_eq!(small.availability_zone, "us-east-1c");
    assert_eq!(small.available_ip_address_count(), 11);
    let default_zone = create(&svc, &a, &vpc.id, "10.0.3.0/24").await;
    assert_eq!(default_zone.availability_zone, "us-east-1a");
    let mut expected: Vec<String> = [&created, &small, &default_zone]
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    expected.sort();
    let listed: Vec<String> = all(&svc, &a)
        .await
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(listed, expected, "sorted by ID");

    // The VPC cannot go while it has subnets, and says which.
    assert_err!(
        svc.delete_vpc(&a, &vpc.id).await,
        Error::DependencyViolation(ref m) if m.contains(created.id.as_str()) && m.contains(vpc.id.as_str())
    );
    svc.modify_subnet_attribute(&a, &created.id, SubnetAttribute::MapPublicIpOnLaunch, true)
        .await
        .unwrap();
    assert!(one(&svc, &a, &created.id).await.map_public_ip_on_launch);

    for s in [&created, &small, &default_zone] {
        svc.delete_subnet(&a, &s.id).await.unwrap();
    }
    assert!(all(&svc, &a).await.is_empty());
    assert_err!(
        svc.describe_subnets(&a, std::slice::from_ref(&created.id), &[], &Page::default())
            .await,
        Error::NotFound { code: "InvalidSubnetID.NotFound", ref message } if message.contains(created.id.as_str())
    );
    assert_err!(
        svc.delete_subnet(&a, &created.id).await,
        Error::NotFound {
            code: "InvalidSubnetID.NotFound",
            ..
        }
    );
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
}

pub async fn subnet_invalid_create_input_is_refused_and_changes_nothing(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    svc.associate_vpc_cidr_block(&a, &vpc.id, "10.1.0.0/24")
        .await
        .unwrap();
    let existing = create(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let try_create = |cidr: &'static str| {
        let (svc, a, id) = (&svc, &a, vpc.id.clone());
        async move { svc.create_subnet(a, input(&id, cidr)).await }
    };

    for outside in ["10.2.0.0/24", "10.1.0.0/23", "192.168.0.0/24"] {
        assert_err!(
            try_create(outside).await,
            Error::Client { code: "InvalidSubnet.Range", ref message }
                if message == &format!("The CIDR '{outside}' is invalid.")
        );
    }
    for size in ["10.0.0.0/15", "10.0.0.0/29", "10.0.0.0/32"] {
        assert_err!(
            try_create(size).await,
            Error::Client {
                code: "InvalidSubnet.Range",
                ..
            }
        );
    }
    for overlapping in ["10.0.1.0/24", "10.0.1.128/25", "10.0.0.0/16", "10.0.0.0/23"] {
        assert_err!(
            try_create(overlapping).await,
            Error::Client { code: "InvalidSubnet.Conflict", ref message }
                if message == &format!("The CIDR '{overlapping}' conflicts with another subnet")
        );
    }
    for malformed in ["10.0.2.1/24", "banana", ""] {
        assert_err!(try_create(malformed).await, Error::InvalidParameterValue(_));
    }
    let mut zone = input(&vpc.id, "10.0.2.0/24");
    zone.availability_zone = Some("us-west-2a".into());
    assert_err!(
        svc.create_subnet(&a, zone).await,
        Error::InvalidParameterValue(ref m) if m.contains("us-east-1a, us-east-1b, us-east-1c")
    );
    let mut zone_id = input(&vpc.id, "10.0.2.0/24");
    zone_id.availability_zone_id = Some("use1-az7".into());
    assert_err!(
        svc.create_subnet(&a, zone_id).await,
        Error::InvalidParameterValue(_)
    );
    let mut wrong_tags = input(&vpc.id, "10.0.2.0/24");
    wrong_tags.tag_specifications = vec![("vpc".into(), vec![tag("k", "v")])];
    assert_err!(
        svc.create_subnet(&a, wrong_tags).await,
        Error::InvalidParameterValue(_)
    );
    let missing = ResourceId::from_stored("vpc-0123456789abcdef0");
    assert_err!(
        svc.create_subnet(&a, input(&missing, "10.0.2.0/24")).await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    assert_eq!(all(&svc, &a).await, vec![existing]);

    // The boundaries are accepted: a /16 in a secondary /16, a /28 in a /24 block.
    let big = create_vpc(&svc, &a, "172.16.0.0/16", &[]).await;
    create(&svc, &a, &big.id, "172.16.0.0/16").await;
    create(&svc, &a, &vpc.id, "10.1.0.240/28").await;
}

pub async fn cidr_block_with_subnets_cannot_be_disassociated(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let secondary = svc
        .associate_vpc_cidr_block(&a, &vpc.id, "10.1.0.0/16")
        .await
        .unwrap();
    let inside = create(&svc, &a, &vpc.id, "10.1.2.0/24").await;
    create(&svc, &a, &vpc.id, "10.0.2.0/24").await;
    assert_err!(
        svc.disassociate_vpc_cidr_block(&a, &secondary.association_id)
            .await,
        Error::Client { code: "InvalidCidrBlock.InUse", ref message } if message.contains("10.1.0.0/16")
    );
    assert_eq!(
        describe_one(&svc, &a, &vpc.id)
            .await
            .cidr_associations
            .len(),
        2
    );
    svc.delete_subnet(&a, &inside.id).await.unwrap();
    svc.disassociate_vpc_cidr_block(&a, &secondary.association_id)
        .await
        .unwrap();
    // With the block gone, its range is no longer the VPC's.
    assert_err!(
        svc.create_subnet(&a, input(&vpc.id, "10.1.2.0/24")).await,
        Error::Client {
            code: "InvalidSubnet.Range",
            ..
        }
    );
}

pub async fn describe_filters_and_pages(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let other = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let mut web = input(&vpc.id, "10.0.1.0/24");
    web.availability_zone = Some("us-east-1b".into());
    web.tag_specifications = vec![("subnet".into(), vec![tag("tier", "web")])];
    let web = svc.create_subnet(&a, web).await.unwrap();
    let db_subnet = create(&svc, &a, &vpc.id, "10.0.2.0/28").await;
    let far = create(&svc, &a, &other.id, "10.1.0.0/24").await;
    svc.modify_subnet_attribute(&a, &far.id, SubnetAttribute::MapPublicIpOnLaunch, true)
        .await
        .unwrap();

    let q = |name: &str, values: &[&str]| {
        let (svc, a, f) = (&svc, &a, filter(name, values));
        async move {
            let (found, _) = svc
                .describe_subnets(a, &[], &[f], &Page::default())
                .await
                .unwrap();
            found.into_iter().map(|s| s.id).collect::<BTreeSet<_>>()
        }
    };
    let set = |items: &[&Subnet]| items.iter().map(|s| s.id.clone()).collect::<BTreeSet<_>>();
    let vpc_id = vpc.id.as_str();
    let web_arn = web.arn.as_str();
    assert_eq!(q("vpc-id", &[vpc_id]).await, set(&[&web, &db_subnet]));
    assert_eq!(q("availability-zone", &["us-east-1b"]).await, set(&[&web]));
    assert_eq!(
        q("availability-zone-id", &["use1-az1"]).await,
        set(&[&db_subnet, &far])
    );
    for name in ["cidr-block", "cidr", "cidrBlock"] {
        assert_eq!(
            q(name, &["10.0.2.0/28"]).await,
            set(&[&db_subnet]),
            "{name}"
        );
    }
    assert_eq!(
        q("available-ip-address-count", &["11"]).await,
        set(&[&db_subnet])
    );
    assert_eq!(q("map-public-ip-on-launch", &["true"]).await, set(&[&far]));
    assert_eq!(q("default-for-az", &["false"]).await.len(), 3);
    assert_eq!(q("owner-id", &[A]).await.len(), 3);
    assert_eq!(q("state", &["available"]).await.len(), 3);
    assert_eq!(q("subnet-arn", &[web_arn]).await, set(&[&web]));
    assert_eq!(q("tag:tier", &["web"]).await, set(&[&web]));
    assert_eq!(q("tag-key", &["tier"]).await, set(&[&web]));
    assert_eq!(q("cidr-block", &["10.0.*"]).await, set(&[&web, &db_subnet]));
    assert_err!(
        svc.describe_subnets(&a, &[], &[filter("flavour", &["x"])], &Page::default())
            .await,
        Error::InvalidParameterValue(_)
    );
    // IDs and filters combine.
    let (found, _) = svc
        .describe_subnets(
            &a,
            &[web.id.clone(), far.id.clone()],
            &[filter("vpc-id", &[vpc_id])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(found, vec![web.clone()]);

    for i in 3..10 {
        create(&svc, &a, &vpc.id, &format!("10.0.{i}.0/24")).await;
    }
    let everything: Vec<ResourceId> = all(&svc, &a).await.into_iter().map(|s| s.id).collect();
    assert_eq!(everything.len(), 10);
    let (mut seen, mut token) = (Vec::new(), None::<String>);
    loop {
        let page = Page::new(Some(5), token.as_deref(), 5, 1000).unwrap();
        let (got, next) = svc.describe_subnets(&a, &[], &[], &page).await.unwrap();
        assert!(got.len() <= 5);
        seen.extend(got.into_iter().map(|s| s.id));
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, everything);
}

pub async fn addresses_are_allocated_once_and_block_deletion(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let subnet = create(&svc, &a, &vpc.id, "10.0.0.0/28").await;
    let id = &subnet.id;

    assert_eq!(
        allocate(&svc, db, &a, id, None, "eni-1").await,
        Ok(ip("10.0.0.4"))
    );
    assert_eq!(
        allocate(&svc, db, &a, id, Some(ip("10.0.0.9")), "eni-2").await,
        Ok(ip("10.0.0.9"))
    );
    assert_eq!(
        allocate(&svc, db, &a, id, None, "eni-3").await,
        Ok(ip("10.0.0.5"))
    );
    assert_err!(
        allocate(&svc, db, &a, id, Some(ip("10.0.0.9")), "eni-4").await,
        Error::Client {
            code: "InvalidIPAddress.InUse",
            ..
        }
    );
    assert_err!(
        allocate(&svc, db, &a, id, Some(ip("10.0.1.9")), "eni-4").await,
        Error::InvalidParameterValue(ref m)
            if m == "Address 10.0.1.9 does not fall within the subnet's address range"
    );
    for reserved in ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.15"] {
        assert_err!(
            allocate(&svc, db, &a, id, Some(ip(reserved)), "eni-4").await,
            Error::InvalidParameterValue(_)
        );
    }
    assert_eq!(one(&svc, &a, id).await.available_ip_address_count(), 8);

    // A rolled-back transaction allocates nothing.
    let mut tx = db.store.begin().await.unwrap();
    svc.allocate_address(&mut tx, &a, id, None, "eni-rolled-back")
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(one(&svc, &a, id).await.available_ip_address_count(), 8);

    // A subnet with addresses in use cannot be deleted, nor its VPC.
    assert_err!(
        svc.delete_subnet(&a, id).await,
        Error::DependencyViolation(ref m) if m.contains("eni-1") && m.contains(id.as_str())
    );
    let mut got = BTreeSet::new();
    for i in 0..8 {
        got.insert(
            allocate(&svc, db, &a, id, None, &format!("eni-fill-{i}"))
                .await
                .unwrap(),
        );
    }
    assert_eq!(got.len(), 8);
    assert_eq!(one(&svc, &a, id).await.available_ip_address_count(), 0);
    assert_err!(
        allocate(&svc, db, &a, id, None, "eni-too-many").await,
        Error::Client { code: "InsufficientFreeAddressesInSubnet", ref message } if message.contains(id.as_str())
    );

    assert!(
        !release(&svc, db, &a, id, ip("10.0.0.4"), "eni-2").await,
        "not eni-2's"
    );
    assert!(release(&svc, db, &a, id, ip("10.0.0.4"), "eni-1").await);
    assert!(
        !release(&svc, db, &a, id, ip("10.0.0.4"), "eni-1").await,
        "idempotent"
    );
    assert_eq!(
        allocate(&svc, db, &a, id, None, "eni-5").await,
        Ok(ip("10.0.0.4"))
    );

    let held: Vec<(Ipv4Addr, String)> = one(&svc, &a, id)
        .await
        .allocations
        .into_iter()
        .map(|x| (x.address, x.owner))
        .collect();
    assert_eq!(held.len(), 11);
    for (addr, owner) in held {
        assert!(release(&svc, db, &a, id, addr, &owner).await);
    }
    assert_eq!(one(&svc, &a, id).await.available_ip_address_count(), 11);
    svc.delete_subnet(&a, id).await.unwrap();
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
}

pub async fn concurrent_allocations_never_share_an_address(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let subnet = create(&svc, &a, &vpc.id, "10.0.0.0/28").await;
    // Half the callers go through a second server replica on the same database.
    let replica_store = db.replica().await;
    let replica = service(&replica_store, Limits::default());

    let mut tasks = Vec::new();
    for i in 0..16 {
        let (svc, store) = if i % 2 == 0 {
            (svc.clone(), db.store.clone())
        } else {
            (replica.clone(), replica_store.clone())
        };
        let (a, id) = (a.clone(), subnet.id.clone());
        tasks.push(tokio::spawn(async move {
            with_retry(|| async {
                let mut tx = store.begin().await.map_err(Error::from)?;
                let addr = svc
                    .allocate_address(&mut tx, &a, &id, None, &format!("eni-{i}"))
                    .await?;
                tx.commit().await.map_err(Error::from)?;
                Ok(addr)
            })
            .await
        }));
    }
    let mut won = BTreeSet::new();
    let mut exhausted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(addr) => assert!(won.insert(addr), "{addr} handed out twice"),
            Err(Error::Client {
                code: "InsufficientFreeAddressesInSubnet",
                ..
            }) => exhausted += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(won.len(), 11);
    assert_eq!(exhausted, 5);
    let stored = one(&svc, &a, &subnet.id).await;
    assert_eq!(stored.allocations.len(), 11);
    assert_eq!(stored.available_ip_address_count(), 0);
    replica_store.close().await;
}

pub async fn other_accounts_cannot_see_or_touch_a_subnet(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let subnet = create(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let not_found = |r: Result<(), Error>| {
        assert!(
            matches!(
                r,
                Err(Error::NotFound {
                    code: "InvalidSubnetID.NotFound",
                    ..
                })
            ),
            "{r:?}"
        )
    };

    assert!(all(&svc, &b).await.is_empty());
    not_found(
        svc.describe_subnets(&b, std::slice::from_ref(&subnet.id), &[], &Page::default())
            .await
            .map(|_| ()),
    );
    not_found(svc.delete_subnet(&b, &subnet.id).await);
    not_found(
        svc.modify_subnet_attribute(&b, &subnet.id, SubnetAttribute::MapPublicIpOnLaunch, true)
            .await,
    );
    not_found(
        allocate(&svc, db, &b, &subnet.id, None, "eni-b")
            .await
            .map(|_| ()),
    );
    assert_err!(
        svc.create_subnet(&b, input(&vpc.id, "10.0.2.0/24")).await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    // Nor from another region of the same account.
    let west = crate::scope(A, "us-west-2");
    not_found(svc.delete_subnet(&west, &subnet.id).await);
    assert_eq!(all(&svc, &a).await, vec![subnet]);
}

pub async fn subnet_dry_runs_validate_and_change_nothing(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let subnet = create(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let mut dry = a.clone();
    dry.dry_run = true;

    assert_err!(
        svc.create_subnet(&dry, input(&vpc.id, "10.0.2.0/24")).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.create_subnet(&dry, input(&vpc.id, "10.0.1.0/24")).await,
        Error::Client {
            code: "InvalidSubnet.Conflict",
            ..
        }
    );
    assert_err!(
        svc.delete_subnet(&dry, &subnet.id).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.modify_subnet_attribute(&dry, &subnet.id, SubnetAttribute::MapPublicIpOnLaunch, true)
            .await,
        Error::DryRunOperation
    );
    assert_eq!(all(&svc, &a).await, vec![subnet]);
}

/// Racing creates of overlapping subnets over two replicas: the VPC's
/// generation serializes them, so exactly one of each overlapping group wins
/// and the losers see the conflict with the winner.
pub async fn concurrent_overlapping_creates_admit_one(db: &TestDb) {
    let replica_store = db.replica().await;
    let svcs = [
        service(&db.store, Limits::default()),
        service(&replica_store, Limits::default()),
    ];
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svcs[0], &a, "10.0.0.0/16", &[]).await;
    // Eight racers: /24s and /25s of the same two /24 blocks.
    let cidrs = [
        "10.0.1.0/24",
        "10.0.1.0/25",
        "10.0.1.128/25",
        "10.0.1.0/24",
        "10.0.2.0/24",
        "10.0.2.0/25",
        "10.0.2.128/25",
        "10.0.2.0/24",
    ];
    let tasks: Vec<_> = cidrs
        .iter()
        .enumerate()
        .map(|(i, cidr)| {
            let (svc, a, vpc_id) = (svcs[i % 2].clone(), a.clone(), vpc.id.clone());
            let cidr = cidr.to_string();
            tokio::spawn(async move { svc.create_subnet(&a, input(&vpc_id, &cidr)).await })
        })
        .collect();
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => {}
            Err(Error::Client {
                code: "InvalidSubnet.Conflict",
                ..
            }) => conflicts += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let created = all(&svcs[0], &a).await;
    assert_eq!(created.len() + conflicts, cidrs.len());
    for (i, x) in created.iter().enumerate() {
        for y in &created[i + 1..] {
            assert!(
                !x.cidr_block.overlaps(&y.cidr_block),
                "{} and {} overlap",
                x.cidr_block,
                y.cidr_block
            );
        }
    }
    // Each /24 block holds either its /24 or one or both of its /25s.
    assert!((2..=4).contains(&created.len()), "{created:?}");
    replica_store.close().await;
}

/// A subnet created while its block is being disassociated either lands
/// before (and the disassociation is refused) or is refused after: never a
/// subnet outside its VPC's blocks.
pub async fn disassociation_racing_subnet_creation_leaves_no_orphan(db: &TestDb) {
    let replica_store = db.replica().await;
    let svcs = [
        service(&db.store, Limits::default()),
        service(&replica_store, Limits::default()),
    ];
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svcs[0], &a, "10.0.0.0/16", &[]).await;
    for round in 0..4u8 {
        let block = format!("10.{}.0.0/16", round + 1);
        let assoc = svcs[0]
            .associate_vpc_cidr_block(&a, &vpc.id, &block)
            .await
            .unwrap();
        let create = {
            let (svc, a, vpc_id) = (svcs[0].clone(), a.clone(), vpc.id.clone());
            let cidr = format!("10.{}.0.0/24", round + 1);
            tokio::spawn(async move { svc.create_subnet(&a, input(&vpc_id, &cidr)).await })
        };
        let disassociate = {
            let (svc, a) = (svcs[1].clone(), a.clone());
            tokio::spawn(async move {
                svc.disassociate_vpc_cidr_block(&a, &assoc.association_id)
                    .await
            })
        };
        let (created, removed) = (create.await.unwrap(), disassociate.await.unwrap());
        match (&created, &removed) {
            (
                Ok(_),
                Err(Error::Client {
                    code: "InvalidCidrBlock.InUse",
                    ..
                }),
            ) => {}
            (
                Err(Error::Client {
                    code: "InvalidSubnet.Range",
                    ..
                }),
                Ok(_),
            ) => {}
            other => panic!("round {round}: {other:?}"),
        }
        let blocks = describe_one(&svcs[0], &a, &vpc.id).await.cidr_associations;
        for s in all(&svcs[0], &a).await {
            assert!(
                blocks.iter().any(|b| b.cidr_block.contains(&s.cidr_block)),
                "{} outside the VPC's blocks",
                s.cidr_block
            );
        }
    }
    replica_store.close().await;
}
