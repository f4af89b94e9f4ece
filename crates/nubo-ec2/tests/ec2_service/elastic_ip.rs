//! Elastic IPs through the store: allocation from the shared public pool,
//! the per-account quota, pool exhaustion, describe by ID, IP and filter,
//! release, dry runs, tenancy, and concurrent allocators in two accounts on
//! two replicas never handing out one address twice.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use nubo_core::filter::Page;
use nubo_core::{Error, Ipv4Cidr, ResourceId};
use nubo_ec2::elastic_ip::{Address, AllocateAddress};
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{filter, service, tag, tenant, A, B};

fn pool_limits(pool: &str, per_account: usize) -> Limits {
    Limits {
        public_pool: vec![pool.parse::<Ipv4Cidr>().unwrap()],
        elastic_ips_per_region: per_account,
        ..Limits::default()
    }
}

async fn allocate(svc: &Ec2Service, scope: &RequestScope) -> Result<Address, Error> {
    svc.allocate_public_address(scope, &AllocateAddress::default())
        .await
}

async fn describe_all(svc: &Ec2Service, scope: &RequestScope) -> Vec<Address> {
    svc.describe_addresses(scope, &[], &[], &[], &Page::default())
        .await
        .unwrap()
        .0
}

pub async fn allocate_describe_release(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let tagged = svc
        .allocate_public_address(
            &a,
            &AllocateAddress {
                address: None,
                tag_specifications: vec![("elastic-ip".into(), vec![tag("Name", "web")])],
            },
        )
        .await
        .unwrap();
    assert!(tagged.id.as_str().starts_with("eipalloc-"));
    let pool: Ipv4Cidr = "198.51.100.0/24".parse().unwrap();
    assert!(pool.contains_addr(tagged.public_ip));
    assert_eq!(tagged.network_border_group, "us-east-1");
    let wanted: Ipv4Addr = if tagged.public_ip == Ipv4Addr::new(198, 51, 100, 9) {
        Ipv4Addr::new(198, 51, 100, 10)
    } else {
        Ipv4Addr::new(198, 51, 100, 9)
    };
    let explicit = svc
        .allocate_public_address(
            &a,
            &AllocateAddress {
                address: Some(wanted),
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    assert_eq!(explicit.public_ip, wanted);
    // The same address again, or one outside the pool, is refused.
    let again = AllocateAddress {
        address: Some(wanted),
        tag_specifications: vec![],
    };
    assert_err!(
        svc.allocate_public_address(&a, &again).await,
        Error::Client {
            code: "InvalidAddress.InUse",
            ..
        }
    );
    let outside = AllocateAddress {
        address: Some(Ipv4Addr::new(8, 8, 8, 8)),
        tag_specifications: vec![],
    };
    assert_err!(
        svc.allocate_public_address(&a, &outside).await,
        Error::InvalidParameterValue(_)
    );
    let wrong_type = AllocateAddress {
        address: None,
        tag_specifications: vec![("vpc".into(), vec![tag("k", "v")])],
    };
    assert_err!(
        svc.allocate_public_address(&a, &wrong_type).await,
        Error::InvalidParameterValue(_)
    );
    assert_eq!(describe_all(&svc, &a).await.len(), 2);

    // By ID, by public IP, by filter.
    let (by_id, _) = svc
        .describe_addresses(
            &a,
            std::slice::from_ref(&tagged.id),
            &[],
            &[],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_id, vec![tagged.clone()]);
    let (by_ip, _) = svc
        .describe_addresses(&a, &[], &[wanted], &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(by_ip, vec![explicit.clone()]);
    let (by_tag, _) = svc
        .describe_addresses(
            &a,
            &[],
            &[],
            &[filter("tag:Name", &["web"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_tag, vec![tagged.clone()]);
    let wanted_text = wanted.to_string();
    let (by_filter, _) = svc
        .describe_addresses(
            &a,
            &[],
            &[],
            &[
                filter("public-ip", &[wanted_text.as_str()]),
                filter("domain", &["vpc"]),
            ],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_filter, vec![explicit.clone()]);
    let (unassociated, _) = svc
        .describe_addresses(
            &a,
            &[],
            &[],
            &[filter("association-id", &["*"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert!(unassociated.is_empty());
    assert_err!(
        svc.describe_addresses(&a, &[], &[], &[filter("color", &["red"])], &Page::default())
            .await,
        Error::InvalidParameterValue(_)
    );
    let missing = ResourceId::from_stored("eipalloc-00000000000000000");
    assert_err!(
        svc.describe_addresses(
            &a,
            std::slice::from_ref(&missing),
            &[],
            &[],
            &Page::default()
        )
        .await,
        Error::NotFound {
            code: "InvalidAllocationID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.describe_addresses(
            &a,
            &[],
            &[Ipv4Addr::new(203, 0, 113, 1)],
            &[],
            &Page::default()
        )
        .await,
        Error::NotFound {
            code: "InvalidAddress.NotFound",
            ..
        }
    );

    // Release frees the address for anyone, and the ID is gone.
    svc.release_public_address(&a, &explicit.id).await.unwrap();
    assert_err!(
        svc.release_public_address(&a, &explicit.id).await,
        Error::NotFound {
            code: "InvalidAllocationID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.release_public_address(&a, &missing).await,
        Error::NotFound {
            code: "InvalidAllocationID.NotFound",
            ..
        }
    );
    let b = tenant(&db.store, B).await;
    let reused = svc.allocate_public_address(&b, &again).await.unwrap();
    assert_eq!(reused.public_ip, wanted);
    assert_eq!(describe_all(&svc, &a).await, vec![tagged]);
}

pub async fn quota_and_pool_exhaustion(db: &TestDb) {
    // A /30 pool holds two usable addresses.
    let svc = service(&db.store, pool_limits("198.51.100.0/30", 1));
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let first = allocate(&svc, &a).await.unwrap();
    assert_err!(
        allocate(&svc, &a).await,
        Error::LimitExceeded {
            code: "AddressLimitExceeded",
            ..
        }
    );
    let second = allocate(&svc, &b).await.unwrap();
    assert_ne!(first.public_ip, second.public_ip);
    let c = tenant(&db.store, "333333333333").await;
    assert_err!(
        allocate(&svc, &c).await,
        Error::LimitExceeded {
            code: "AddressLimitExceeded",
            ..
        }
    );
    assert!(describe_all(&svc, &c).await.is_empty());
    svc.release_public_address(&a, &first.id).await.unwrap();
    let third = allocate(&svc, &c).await.unwrap();
    assert_eq!(third.public_ip, first.public_ip);
}

pub async fn elastic_ip_dry_runs_and_tenancy(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(allocate(&svc, &dry).await, Error::DryRunOperation);
    assert!(describe_all(&svc, &a).await.is_empty());
    let address = allocate(&svc, &a).await.unwrap();
    assert_err!(
        svc.release_public_address(&dry, &address.id).await,
        Error::DryRunOperation
    );
    assert_eq!(describe_all(&svc, &a).await.len(), 1);

    // Another account sees nothing and can release nothing.
    assert!(describe_all(&svc, &b).await.is_empty());
    assert_err!(
        svc.describe_addresses(
            &b,
            std::slice::from_ref(&address.id),
            &[],
            &[],
            &Page::default()
        )
        .await,
        Error::NotFound {
            code: "InvalidAllocationID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.describe_addresses(&b, &[], &[address.public_ip], &[], &Page::default())
            .await,
        Error::NotFound {
            code: "InvalidAddress.NotFound",
            ..
        }
    );
    assert_err!(
        svc.release_public_address(&b, &address.id).await,
        Error::NotFound {
            code: "InvalidAllocationID.NotFound",
            ..
        }
    );
    // Nor can it take the address explicitly.
    let taken = AllocateAddress {
        address: Some(address.public_ip),
        tag_specifications: vec![],
    };
    assert_err!(
        svc.allocate_public_address(&b, &taken).await,
        Error::Client {
            code: "InvalidAddress.InUse",
            ..
        }
    );
    assert_eq!(describe_all(&svc, &a).await, vec![address]);
}

pub async fn concurrent_allocations_across_accounts_never_share_an_address(db: &TestDb) {
    // Fourteen usable addresses, sixteen allocators in two accounts on two replicas.
    let limits = pool_limits("198.51.100.0/28", 100);
    let primary = service(&db.store, limits.clone());
    let replica = service(&db.replica().await, limits);
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let svc = if i % 2 == 0 {
            primary.clone()
        } else {
            replica.clone()
        };
        let scope = if i % 4 < 2 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { allocate(&svc, &scope).await }));
    }
    let mut ips = Vec::new();
    let mut exhausted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(address) => ips.push(address.public_ip),
            Err(Error::LimitExceeded {
                code: "AddressLimitExceeded",
                ..
            }) => exhausted += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    let unique: HashSet<Ipv4Addr> = ips.iter().copied().collect();
    assert_eq!(unique.len(), ips.len(), "an address was handed out twice");
    assert_eq!((ips.len(), exhausted), (14, 2));
    let mut described: Vec<Ipv4Addr> = describe_all(&primary, &a)
        .await
        .into_iter()
        .chain(describe_all(&primary, &b).await)
        .map(|x| x.public_ip)
        .collect();
    described.sort();
    let mut allocated = ips;
    allocated.sort();
    assert_eq!(described, allocated);
}
