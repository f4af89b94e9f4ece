//! Network interfaces through the store: addresses allocated from the
//! subnet in the interface's own transaction (explicit, automatic,
//! secondary, exhausted), the groups of the interface's VPC, the
//! dependencies that keep subnets and groups alive, attachments, tenancy and
//! dry runs.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId, ResourceKind};
use nubo_ec2::network_interface::addresses::AssignAddresses;
use nubo_ec2::network_interface::ops::{CreateNetworkInterface, InterfaceAttribute};
use nubo_ec2::network_interface::{InterfaceStatus, NetworkInterface, PrivateIp};
use nubo_ec2::security_group::ops::{CreateSecurityGroup, GroupRef};
use nubo_ec2::subnet::ops::CreateSubnet;
use nubo_ec2::subnet::Subnet;
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, service, tag, tenant, A, B};

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

async fn subnet(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId, cidr: &str) -> Subnet {
    svc.create_subnet(
        scope,
        CreateSubnet {
            vpc_id: vpc.clone(),
            cidr_block: cidr.into(),
            availability_zone: Some("us-east-1b".into()),
            availability_zone_id: None,
            tag_specifications: vec![],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("create subnet {cidr}: {e:?}"))
}

async fn group(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId, name: &str) -> ResourceId {
    svc.create_security_group(
        scope,
        CreateSecurityGroup {
            name: name.into(),
            description: "test".into(),
            vpc_id: vpc.clone(),
            tag_specifications: vec![],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("create group {name}: {e:?}"))
    .id
}

fn on(subnet: &Subnet) -> CreateNetworkInterface {
    CreateNetworkInterface {
        subnet_id: Some(subnet.id.clone()),
        ..Default::default()
    }
}

async fn create(
    svc: &Ec2Service,
    scope: &RequestScope,
    input: CreateNetworkInterface,
) -> NetworkInterface {
    svc.create_network_interface(scope, input)
        .await
        .unwrap_or_else(|e| panic!("create interface: {e:?}"))
}

async fn one(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> NetworkInterface {
    let (mut enis, _) = svc
        .describe_network_interfaces(scope, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"));
    assert_eq!(enis.len(), 1);
    enis.remove(0)
}

async fn available(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> u64 {
    let (subnets, _) = svc
        .describe_subnets(scope, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap();
    subnets[0].available_ip_address_count()
}

fn addresses(eni: &NetworkInterface) -> Vec<Ipv4Addr> {
    eni.private_ips.iter().map(|p| p.address).collect()
}

pub async fn eni_create_describe_delete(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let sn = subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let first = create(&svc, &a, on(&sn)).await;
    assert_eq!(
        first.primary_ip(),
        Some(ip("10.0.1.4")),
        "lowest free address"
    );
    assert_eq!(first.vpc_id, vpc.id);
    assert_eq!(first.availability_zone, "us-east-1b");
    assert_eq!(first.status, InterfaceStatus::Available);
    assert_eq!(first.interface_type, "interface");
    assert!(first.source_dest_check);
    assert_eq!(first.private_dns_name, "ip-10-0-1-4.ec2.internal");
    assert_eq!(first.groups.len(), 1);
    assert_eq!(first.groups[0].name, "default", "the VPC's default group");
    assert!(first.mac_address.starts_with("02:"));

    let second = create(
        &svc,
        &a,
        CreateNetworkInterface {
            description: Some("db".into()),
            private_ip_address: Some(ip("10.0.1.50")),
            secondary_private_ip_address_count: Some(2),
            tag_specifications: vec![("network-interface".into(), vec![tag("Name", "db")])],
            ..on(&sn)
        },
    )
    .await;
    assert_eq!(
        addresses(&second),
        vec![ip("10.0.1.50"), ip("10.0.1.5"), ip("10.0.1.6")]
    );
    assert_ne!(first.mac_address, second.mac_address);
    assert_eq!(one(&svc, &a, &second.id).await, second);
    assert_eq!(available(&svc, &a, &sn.id).await, 251 - 4);

    assert_eq!(
        ids_where(
            &svc,
            &a,
            vec![filter("addresses.private-ip-address", &["10.0.1.6"])]
        )
        .await,
        vec![second.id.clone()]
    );
    assert_eq!(
        ids_where(&svc, &a, vec![filter("private-ip-address", &["10.0.1.6"])]).await,
        Vec::<ResourceId>::new(),
        "private-ip-address is the primary only"
    );
    assert_eq!(
        ids_where(
            &svc,
            &a,
            vec![filter("description", &["d*"]), filter("tag:Name", &["db"])]
        )
        .await,
        vec![second.id.clone()]
    );
    assert_eq!(
        ids_where(
            &svc,
            &a,
            vec![filter("mac-address", &[first.mac_address.as_str()])]
        )
        .await,
        vec![first.id.clone()]
    );
    assert_eq!(
        ids_where(
            &svc,
            &a,
            vec![
                filter("status", &["available"]),
                filter("vpc-id", &[vpc.id.as_str()])
            ]
        )
        .await
        .len(),
        2
    );
    assert!(
        ids_where(&svc, &a, vec![filter("attachment.status", &["attached"])])
            .await
            .is_empty()
    );
    assert_err!(
        svc.describe_network_interfaces(&a, &[], &[filter("bogus", &["x"])], &Page::default())
            .await,
        Error::InvalidParameterValue(_)
    );
    let missing = ResourceId::generate(ResourceKind::NetworkInterface);
    assert_err!(
        svc.describe_network_interfaces(&a, &[first.id.clone(), missing], &[], &Page::default())
            .await,
        Error::NotFound {
            code: "InvalidNetworkInterfaceID.NotFound",
            ..
        }
    );

    // Pages of two walk every interface once.
    for _ in 0..3 {
        create(&svc, &a, on(&sn)).await;
    }
    let mut seen = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let page = Page::new(Some(5), token.as_deref(), 5, 1000).unwrap();
        let (enis, next) = svc
            .describe_network_interfaces(&a, &[], &[], &page)
            .await
            .unwrap();
        for e in enis {
            assert!(seen.insert(e.id));
        }
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);

    svc.delete_network_interface(&a, &second.id).await.unwrap();
    assert_eq!(
        available(&svc, &a, &sn.id).await,
        251 - 4,
        "three freed, three taken"
    );
    assert_err!(
        svc.delete_network_interface(&a, &second.id).await,
        Error::NotFound {
            code: "InvalidNetworkInterfaceID.NotFound",
            ..
        }
    );
    // The freed primary can be handed out again.
    let again = create(
        &svc,
        &a,
        CreateNetworkInterface {
            private_ip_address: Some(ip("10.0.1.50")),
            ..on(&sn)
        },
    )
    .await;
    assert_eq!(again.primary_ip(), Some(ip("10.0.1.50")));
}

pub async fn eni_address_rules(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let sn = subnet(&svc, &a, &vpc.id, "10.0.2.0/28").await;
    let with_primary = |addr: &str| CreateNetworkInterface {
        private_ip_address: Some(ip(addr)),
        ..on(&sn)
    };
    let held = create(&svc, &a, with_primary("10.0.2.10")).await;
    assert_err!(
        svc.create_network_interface(&a, with_primary("10.0.2.10"))
            .await,
        Error::Client {
            code: "InvalidIPAddress.InUse",
            ..
        }
    );
    assert_err!(
        svc.create_network_interface(&a, with_primary("10.0.3.10"))
            .await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.create_network_interface(&a, with_primary("10.0.2.1"))
            .await,
        Error::InvalidParameterValue(_)
    );
    let listed = create(
        &svc,
        &a,
        CreateNetworkInterface {
            private_ip_addresses: vec![
                PrivateIp {
                    address: ip("10.0.2.12"),
                    primary: false,
                },
                PrivateIp {
                    address: ip("10.0.2.11"),
                    primary: true,
                },
            ],
            ..on(&sn)
        },
    )
    .await;
    assert_eq!(addresses(&listed), vec![ip("10.0.2.11"), ip("10.0.2.12")]);
    assert!(listed.private_ips[0].primary && !listed.private_ips[1].primary);

    // Secondary addresses: assign, refuse in-use, unassign, never the primary.
    let added = svc
        .assign_private_ip_addresses(&a, &held.id, AssignAddresses::Count(2))
        .await
        .unwrap();
    assert_eq!(added, vec![ip("10.0.2.4"), ip("10.0.2.5")]);
    assert_err!(
        svc.assign_private_ip_addresses(
            &a,
            &held.id,
            AssignAddresses::Explicit(vec![ip("10.0.2.12")])
        )
        .await,
        Error::Client {
            code: "InvalidIPAddress.InUse",
            ..
        }
    );
    assert_err!(
        svc.unassign_private_ip_addresses(&a, &held.id, &[ip("10.0.2.10")])
            .await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.unassign_private_ip_addresses(&a, &held.id, &[ip("10.0.2.12")])
            .await,
        Error::InvalidParameterValue(_)
    );
    svc.unassign_private_ip_addresses(&a, &held.id, &[ip("10.0.2.4")])
        .await
        .unwrap();
    assert_eq!(
        addresses(&one(&svc, &a, &held.id).await),
        vec![ip("10.0.2.10"), ip("10.0.2.5")]
    );

    // A /28 has 11 usable addresses: 4 are held, 7 remain.
    assert_eq!(available(&svc, &a, &sn.id).await, 7);
    let before = all_ids(&svc, &a).await;
    assert_err!(
        svc.create_network_interface(
            &a,
            CreateNetworkInterface {
                secondary_private_ip_address_count: Some(7),
                ..on(&sn)
            }
        )
        .await,
        Error::Client {
            code: "InsufficientFreeAddressesInSubnet",
            ..
        }
    );
    assert_eq!(
        all_ids(&svc, &a).await,
        before,
        "a failed create leaves nothing"
    );
    assert_eq!(available(&svc, &a, &sn.id).await, 7);
    for _ in 0..7 {
        create(&svc, &a, on(&sn)).await;
    }
    assert_err!(
        svc.create_network_interface(&a, on(&sn)).await,
        Error::Client {
            code: "InsufficientFreeAddressesInSubnet",
            ..
        }
    );
    assert_err!(
        svc.assign_private_ip_addresses(&a, &held.id, AssignAddresses::Count(1))
            .await,
        Error::Client {
            code: "InsufficientFreeAddressesInSubnet",
            ..
        }
    );
}

async fn ids_where(
    svc: &Ec2Service,
    scope: &RequestScope,
    filters: Vec<nubo_core::filter::Filter>,
) -> Vec<ResourceId> {
    let (enis, _) = svc
        .describe_network_interfaces(scope, &[], &filters, &Page::default())
        .await
        .unwrap();
    enis.into_iter().map(|e| e.id).collect()
}

async fn all_ids(svc: &Ec2Service, scope: &RequestScope) -> Vec<ResourceId> {
    let (enis, _) = svc
        .describe_network_interfaces(scope, &[], &[], &Page::default())
        .await
        .unwrap();
    enis.into_iter().map(|e| e.id).collect()
}

pub async fn eni_groups_subnets_and_dependencies(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let other_vpc = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let sn = subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let web = group(&svc, &a, &vpc.id, "web").await;
    let db_group = group(&svc, &a, &vpc.id, "db").await;
    let elsewhere = group(&svc, &a, &other_vpc.id, "web").await;
    assert_err!(
        svc.create_network_interface(
            &a,
            CreateNetworkInterface {
                groups: vec![web.clone(), elsewhere.clone()],
                ..on(&sn)
            }
        )
        .await,
        Error::Client {
            code: "InvalidParameter",
            ..
        }
    );
    assert_err!(
        svc.create_network_interface(
            &a,
            CreateNetworkInterface {
                groups: vec![ResourceId::generate(ResourceKind::SecurityGroup)],
                ..on(&sn)
            }
        )
        .await,
        Error::NotFound {
            code: "InvalidGroup.NotFound",
            ..
        }
    );
    assert_err!(
        svc.create_network_interface(
            &a,
            CreateNetworkInterface {
                subnet_id: Some(ResourceId::generate(ResourceKind::Subnet)),
                ..Default::default()
            }
        )
        .await,
        Error::NotFound {
            code: "InvalidSubnetID.NotFound",
            ..
        }
    );
    let eni = create(
        &svc,
        &a,
        CreateNetworkInterface {
            groups: vec![web.clone()],
            ..on(&sn)
        },
    )
    .await;
    assert_eq!(eni.groups.len(), 1);
    assert_eq!(eni.groups[0].id, web);
    assert_err!(
        svc.delete_security_group(&a, &GroupRef::Id(web.clone())).await,
        Error::DependencyViolation(ref m) if m.contains(web.as_str())
    );
    assert_err!(
        svc.delete_subnet(&a, &sn.id).await,
        Error::DependencyViolation(ref m) if m.contains(eni.id.as_str())
    );
    assert_err!(
        svc.delete_vpc(&a, &vpc.id).await,
        Error::DependencyViolation(_)
    );

    // One attribute per call.
    svc.modify_network_interface_attribute(
        &a,
        &eni.id,
        InterfaceAttribute::Groups(vec![db_group.clone(), db_group.clone()]),
    )
    .await
    .unwrap();
    svc.modify_network_interface_attribute(&a, &eni.id, InterfaceAttribute::SourceDestCheck(false))
        .await
        .unwrap();
    svc.modify_network_interface_attribute(
        &a,
        &eni.id,
        InterfaceAttribute::Description("now db".into()),
    )
    .await
    .unwrap();
    assert_err!(
        svc.modify_network_interface_attribute(
            &a,
            &eni.id,
            InterfaceAttribute::Groups(vec![elsewhere.clone()])
        )
        .await,
        Error::Client {
            code: "InvalidParameter",
            ..
        }
    );
    let now = one(&svc, &a, &eni.id).await;
    assert_eq!(
        now.groups.iter().map(|g| &g.id).collect::<Vec<_>>(),
        vec![&db_group]
    );
    assert!(!now.source_dest_check);
    assert_eq!(now.description, "now db");
    svc.delete_security_group(&a, &GroupRef::Id(web))
        .await
        .unwrap();
    assert_err!(
        svc.delete_security_group(&a, &GroupRef::Id(db_group.clone()))
            .await,
        Error::DependencyViolation(_)
    );

    svc.delete_network_interface(&a, &eni.id).await.unwrap();
    svc.delete_security_group(&a, &GroupRef::Id(db_group))
        .await
        .unwrap();
    svc.delete_subnet(&a, &sn.id).await.unwrap();
}

pub async fn eni_attachments_dry_runs_and_tenancy(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let sn = subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let eni = create(&svc, &a, on(&sn)).await;
    let instance = ResourceId::generate(ResourceKind::Instance);
    assert_err!(
        svc.attach_network_interface(&a, &eni.id, &instance, 1)
            .await,
        Error::NotFound {
            code: "InvalidInstanceID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.detach_network_interface(&a, "eni-attach-0123456789abcdef0")
            .await,
        Error::NotFound {
            code: "InvalidAttachmentID.NotFound",
            ..
        }
    );
    assert_eq!(one(&svc, &a, &eni.id).await.attachment, None);

    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.create_network_interface(&dry, on(&sn)).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.assign_private_ip_addresses(&dry, &eni.id, AssignAddresses::Count(1))
            .await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.modify_network_interface_attribute(
            &dry,
            &eni.id,
            InterfaceAttribute::SourceDestCheck(false)
        )
        .await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.delete_network_interface(&dry, &eni.id).await,
        Error::DryRunOperation
    );
    assert_eq!(one(&svc, &a, &eni.id).await, eni, "dry runs change nothing");
    assert_eq!(all_ids(&svc, &a).await, vec![eni.id.clone()]);
    assert_eq!(available(&svc, &a, &sn.id).await, 250);

    assert!(all_ids(&svc, &b).await.is_empty());
    let missing = |r: Result<(), Error>| {
        assert_err!(
            r,
            Error::NotFound {
                code: "InvalidNetworkInterfaceID.NotFound",
                ..
            }
        )
    };
    missing(
        svc.describe_network_interfaces(&b, std::slice::from_ref(&eni.id), &[], &Page::default())
            .await
            .map(|_| ()),
    );
    missing(svc.delete_network_interface(&b, &eni.id).await);
    missing(
        svc.modify_network_interface_attribute(
            &b,
            &eni.id,
            InterfaceAttribute::SourceDestCheck(false),
        )
        .await,
    );
    missing(
        svc.assign_private_ip_addresses(&b, &eni.id, AssignAddresses::Count(1))
            .await
            .map(|_| ()),
    );
    assert_err!(
        svc.create_network_interface(&b, on(&sn)).await,
        Error::NotFound {
            code: "InvalidSubnetID.NotFound",
            ..
        }
    );
    assert_eq!(one(&svc, &a, &eni.id).await, eni);
}

pub async fn concurrent_creates_never_share_an_address(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let sn = subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (svc, a, input) = (svc.clone(), a.clone(), on(&sn));
        tasks.push(tokio::spawn(async move {
            svc.create_network_interface(&a, input).await
        }));
    }
    let mut seen = BTreeSet::new();
    for t in tasks {
        let eni = t.await.unwrap().unwrap();
        assert!(seen.insert(eni.primary_ip().unwrap()), "{eni:?}");
    }
    assert_eq!(available(&svc, &a, &sn.id).await, 251 - 8);
}
