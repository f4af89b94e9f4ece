//! Network ACLs through the store: the default ACL of each VPC and the
//! association of every subnet with exactly one ACL, custom ACLs and their
//! entries with AWS's errors, moving associations, filters and pages, dry
//! runs, tenancy, and a subnet create racing an association move.

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::network_acl::entry::EntryInput;
use nubo_ec2::network_acl::ops::{CreateNetworkAcl, EntryChange};
use nubo_ec2::network_acl::{NetworkAcl, RuleAction};
use nubo_ec2::subnet::ops::CreateSubnet;
use nubo_ec2::subnet::Subnet;
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, service, tag, tenant, A, B};

async fn subnet(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId, cidr: &str) -> Subnet {
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

fn create_input(vpc: &ResourceId) -> CreateNetworkAcl {
    CreateNetworkAcl {
        vpc_id: vpc.clone(),
        tag_specifications: vec![],
    }
}

async fn create_acl(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId) -> NetworkAcl {
    svc.create_network_acl(scope, create_input(vpc))
        .await
        .unwrap_or_else(|e| panic!("create acl in {vpc}: {e:?}"))
}

async fn acls_of(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId) -> Vec<NetworkAcl> {
    let (acls, next) = svc
        .describe_network_acls(
            scope,
            &[],
            &[filter("vpc-id", &[vpc.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(next, None);
    acls
}

async fn acl(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> NetworkAcl {
    let (mut acls, _) = svc
        .describe_network_acls(scope, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"));
    assert_eq!(acls.len(), 1);
    acls.remove(0)
}

async fn default_acl(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId) -> NetworkAcl {
    let mut acls: Vec<NetworkAcl> = acls_of(svc, scope, vpc)
        .await
        .into_iter()
        .filter(|a| a.is_default)
        .collect();
    assert_eq!(acls.len(), 1, "{acls:?}");
    acls.remove(0)
}

fn tcp_entry(rule: i64, egress: bool, action: &str, from: i64, to: i64) -> EntryInput {
    EntryInput {
        rule_number: Some(rule),
        egress: Some(egress),
        rule_action: Some(action.into()),
        protocol: Some("6".into()),
        cidr_block: Some("10.0.0.0/8".into()),
        port_from: Some(from),
        port_to: Some(to),
        ..Default::default()
    }
}

/// (egress, rule number, action) of each described entry, in order.
fn shape(a: &NetworkAcl) -> Vec<(bool, i32, &'static str)> {
    a.described_entries()
        .iter()
        .map(|e| (e.egress, e.rule_number, e.rule_action.as_str()))
        .collect()
}

/// The subnet IDs associated with `a`.
fn subnets_of(a: &NetworkAcl) -> Vec<String> {
    a.associations
        .iter()
        .map(|x| x.subnet_id.to_string())
        .collect()
}

pub async fn default_acl_lives_and_dies_with_its_vpc(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let def = default_acl(&svc, &a, &vpc.id).await;
    assert!(def.id.as_str().starts_with("acl-"));
    assert_eq!(def.owner_id.as_str(), A);
    assert_eq!(
        shape(&def),
        vec![
            (true, 100, "allow"),
            (true, 32767, "deny"),
            (false, 100, "allow"),
            (false, 32767, "deny")
        ]
    );
    assert!(def
        .described_entries()
        .iter()
        .all(|e| e.protocol == -1 && e.cidr_block.to_string() == "0.0.0.0/0"));
    assert!(def.associations.is_empty());

    // Every new subnet is associated with the default ACL.
    let s1 = subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let s2 = subnet(&svc, &a, &vpc.id, "10.0.2.0/24").await;
    let def = acl(&svc, &a, &def.id).await;
    let mut subnets = subnets_of(&def);
    subnets.sort();
    let mut want = vec![s1.id.to_string(), s2.id.to_string()];
    want.sort();
    assert_eq!(subnets, want);
    assert!(def
        .associations
        .iter()
        .all(|x| x.association_id.starts_with("aclassoc-")));

    // The user cannot delete it.
    assert_err!(
        svc.delete_network_acl(&a, &def.id).await,
        Error::DependencyViolation(_)
    );

    // A deleted subnet's association goes with it.
    svc.delete_subnet(&a, &s1.id).await.unwrap();
    assert_eq!(
        subnets_of(&acl(&svc, &a, &def.id).await),
        vec![s2.id.to_string()]
    );
    svc.delete_subnet(&a, &s2.id).await.unwrap();
    assert!(acl(&svc, &a, &def.id).await.associations.is_empty());

    // DeleteVpc removes the default ACL; a custom ACL blocks it until deleted.
    let custom = create_acl(&svc, &a, &vpc.id).await;
    assert_err!(
        svc.delete_vpc(&a, &vpc.id).await,
        Error::DependencyViolation(m) if m.contains(custom.id.as_str())
    );
    svc.delete_network_acl(&a, &custom.id).await.unwrap();
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
    assert_err!(
        svc.describe_network_acls(&a, std::slice::from_ref(&def.id), &[], &Page::default())
            .await,
        Error::NotFound {
            code: "InvalidNetworkAclID.NotFound",
            ..
        }
    );
}

pub async fn custom_acl_entries_follow_aws_rules(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let created = svc
        .create_network_acl(
            &a,
            CreateNetworkAcl {
                vpc_id: vpc.id.clone(),
                tag_specifications: vec![("network-acl".into(), vec![tag("Name", "web")])],
            },
        )
        .await
        .unwrap();
    assert!(!created.is_default);
    assert_eq!(created.vpc_id, vpc.id);
    assert_eq!(created.tags.get("Name"), Some("web"));
    assert_eq!(
        shape(&created),
        vec![(true, 32767, "deny"), (false, 32767, "deny")]
    );
    let id = &created.id;
    let change = |c: EntryChange| svc.change_network_acl_entry(&a, id, c);

    change(EntryChange::Create(tcp_entry(100, false, "allow", 80, 80)))
        .await
        .unwrap();
    change(EntryChange::Create(tcp_entry(
        100, true, "allow", 1024, 65535,
    )))
    .await
    .unwrap();
    change(EntryChange::Create(EntryInput {
        rule_number: Some(90),
        egress: Some(false),
        rule_action: Some("deny".into()),
        protocol: Some("1".into()),
        cidr_block: Some("192.168.0.0/16".into()),
        icmp_type: Some(8),
        icmp_code: Some(-1),
        ..Default::default()
    }))
    .await
    .unwrap();
    let got = acl(&svc, &a, id).await;
    assert_eq!(
        shape(&got),
        vec![
            (true, 100, "allow"),
            (true, 32767, "deny"),
            (false, 90, "deny"),
            (false, 100, "allow"),
            (false, 32767, "deny")
        ]
    );
    let icmp = &got.entries.iter().find(|e| e.rule_number == 90).unwrap();
    assert_eq!(icmp.icmp_type_code, Some((8, -1)));
    assert_eq!(icmp.protocol, 1);

    let gen = crate::generation(&db.store, id).await;
    assert_err!(
        change(EntryChange::Create(tcp_entry(100, false, "deny", 22, 22))).await,
        Error::AlreadyExists {
            code: "NetworkAclEntryAlreadyExists",
            ..
        }
    );
    assert_err!(
        change(EntryChange::Replace(tcp_entry(101, false, "deny", 22, 22))).await,
        Error::NotFound {
            code: "InvalidNetworkAclEntry.NotFound",
            ..
        }
    );
    assert_err!(
        change(EntryChange::Delete {
            rule_number: 100,
            egress: false
        })
        .await
        .and(
            change(EntryChange::Delete {
                rule_number: 100,
                egress: false
            })
            .await
        ),
        Error::NotFound {
            code: "InvalidNetworkAclEntry.NotFound",
            ..
        }
    );
    assert_eq!(crate::generation(&db.store, id).await, gen + 1);
    for bad in [
        tcp_entry(0, false, "allow", 80, 80),
        tcp_entry(32767, false, "allow", 80, 80),
        tcp_entry(5, false, "maybe", 80, 80),
        tcp_entry(5, false, "allow", 90, 80),
        EntryInput {
            protocol: Some("banana".into()),
            ..tcp_entry(5, false, "allow", 80, 80)
        },
    ] {
        assert_err!(
            change(EntryChange::Create(bad.clone())).await,
            Error::InvalidParameterValue(_)
        );
    }
    assert_eq!(crate::generation(&db.store, id).await, gen + 1);

    // Replace keeps the rule number and direction and changes the rest.
    change(EntryChange::Replace(tcp_entry(100, true, "deny", 443, 443)))
        .await
        .unwrap();
    let e = acl(&svc, &a, id)
        .await
        .entries
        .into_iter()
        .find(|e| e.egress && e.rule_number == 100)
        .unwrap();
    assert_eq!(
        (e.rule_action, e.port_range),
        (RuleAction::Deny, Some((443, 443)))
    );

    // Twenty entries per direction.
    for n in 1..=19 {
        change(EntryChange::Create(tcp_entry(n, true, "allow", 1, 1)))
            .await
            .unwrap();
    }
    assert_err!(
        change(EntryChange::Create(tcp_entry(200, true, "allow", 1, 1))).await,
        Error::LimitExceeded {
            code: "NetworkAclEntryLimitExceeded",
            ..
        }
    );
    change(EntryChange::Create(tcp_entry(200, false, "allow", 1, 1)))
        .await
        .unwrap();

    // Entries of the default ACL can be changed too.
    let def = default_acl(&svc, &a, &vpc.id).await;
    svc.change_network_acl_entry(
        &a,
        &def.id,
        EntryChange::Delete {
            rule_number: 100,
            egress: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        shape(&acl(&svc, &a, &def.id).await),
        vec![
            (true, 100, "allow"),
            (true, 32767, "deny"),
            (false, 32767, "deny")
        ]
    );
}

pub async fn associations_move_between_acls_of_one_vpc(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let other_vpc = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let s = subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let def = default_acl(&svc, &a, &vpc.id).await;
    let custom = create_acl(&svc, &a, &vpc.id).await;
    let elsewhere = create_acl(&svc, &a, &other_vpc.id).await;
    let old = def.associations[0].association_id.clone();

    assert_err!(
        svc.replace_network_acl_association(&a, &old, &elsewhere.id)
            .await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.replace_network_acl_association(&a, "aclassoc-0123456789abcdef0", &custom.id)
            .await,
        Error::NotFound {
            code: "InvalidAssociationID.NotFound",
            ..
        }
    );
    let missing = ResourceId::from_stored("acl-0123456789abcdef0");
    assert_err!(
        svc.replace_network_acl_association(&a, &old, &missing)
            .await,
        Error::NotFound {
            code: "InvalidNetworkAclID.NotFound",
            ..
        }
    );

    let new = svc
        .replace_network_acl_association(&a, &old, &custom.id)
        .await
        .unwrap();
    assert_ne!(new, old);
    assert!(new.starts_with("aclassoc-"));
    assert!(acl(&svc, &a, &def.id).await.associations.is_empty());
    let moved = acl(&svc, &a, &custom.id).await;
    assert_eq!(moved.associations.len(), 1);
    assert_eq!(moved.associations[0].association_id, new);
    assert_eq!(moved.associations[0].subnet_id, s.id);
    // The old association ID is gone.
    assert_err!(
        svc.replace_network_acl_association(&a, &old, &def.id).await,
        Error::NotFound {
            code: "InvalidAssociationID.NotFound",
            ..
        }
    );

    // An associated ACL cannot be deleted; once its subnet is gone it can.
    assert_err!(
        svc.delete_network_acl(&a, &custom.id).await,
        Error::DependencyViolation(m) if m.contains(s.id.as_str())
    );
    svc.delete_subnet(&a, &s.id).await.unwrap();
    assert!(acl(&svc, &a, &custom.id).await.associations.is_empty());
    svc.delete_network_acl(&a, &custom.id).await.unwrap();
    assert_err!(
        svc.delete_network_acl(&a, &custom.id).await,
        Error::NotFound {
            code: "InvalidNetworkAclID.NotFound",
            ..
        }
    );
}

/// The sorted IDs of the ACLs one filter selects.
async fn find(svc: &Ec2Service, scope: &RequestScope, name: &str, values: &[&str]) -> Vec<String> {
    let (acls, _) = svc
        .describe_network_acls(scope, &[], &[filter(name, values)], &Page::default())
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let mut ids: Vec<String> = acls.iter().map(|x| x.id.to_string()).collect();
    ids.sort();
    ids
}

pub async fn acl_describe_filters_and_pages(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let s = subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let def = default_acl(&svc, &a, &vpc.id).await;
    let custom = create_acl(&svc, &a, &vpc.id).await;
    svc.change_network_acl_entry(
        &a,
        &custom.id,
        EntryChange::Create(tcp_entry(120, false, "allow", 22, 23)),
    )
    .await
    .unwrap();
    let both = {
        let mut v = vec![def.id.to_string(), custom.id.to_string()];
        v.sort();
        v
    };
    assert_eq!(
        find(&svc, &a, "default", &["true"]).await,
        vec![def.id.to_string()]
    );
    assert_eq!(
        find(&svc, &a, "default", &["false"]).await,
        vec![custom.id.to_string()]
    );
    assert_eq!(
        find(&svc, &a, "association.subnet-id", &[s.id.as_str()]).await,
        vec![def.id.to_string()]
    );
    assert_eq!(
        find(&svc, &a, "association.network-acl-id", &[def.id.as_str()]).await,
        vec![def.id.to_string()]
    );
    assert_eq!(find(&svc, &a, "entry.rule-number", &["32767"]).await, both);
    assert_eq!(
        find(&svc, &a, "entry.rule-number", &["120"]).await,
        vec![custom.id.to_string()]
    );
    assert_eq!(
        find(&svc, &a, "entry.port-range.from", &["22"]).await,
        vec![custom.id.to_string()]
    );
    assert_eq!(
        find(&svc, &a, "entry.port-range.to", &["23"]).await,
        vec![custom.id.to_string()]
    );
    assert_eq!(
        find(&svc, &a, "entry.protocol", &["6"]).await,
        vec![custom.id.to_string()]
    );
    assert_eq!(
        find(&svc, &a, "entry.cidr", &["10.0.0.0/8"]).await,
        vec![custom.id.to_string()]
    );
    assert_eq!(find(&svc, &a, "entry.rule-action", &["allow"]).await, both);
    assert_eq!(find(&svc, &a, "entry.egress", &["true"]).await, both);
    assert!(find(&svc, &a, "entry.icmp.type", &["8"]).await.is_empty());
    assert_eq!(find(&svc, &a, "owner-id", &[A]).await, both);
    assert_eq!(find(&svc, &a, "network-acl-id", &["acl-*"]).await, both);
    assert_err!(
        svc.describe_network_acls(&a, &[], &[filter("color", &["red"])], &Page::default())
            .await,
        Error::InvalidParameterValue(_)
    );

    // Pages of 5 walk every ACL exactly once.
    for cidr in ["10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16"] {
        create_vpc(&svc, &a, cidr, &[]).await;
    }
    let mut seen = vec![];
    let mut token: Option<String> = None;
    loop {
        let page = Page::new(Some(5), token.as_deref(), 5, 1000).unwrap();
        let (acls, next) = svc
            .describe_network_acls(&a, &[], &[], &page)
            .await
            .unwrap();
        assert!(acls.len() <= 5);
        seen.extend(acls.into_iter().map(|x| x.id.to_string()));
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), 5);
    assert_eq!(unique.len(), 5);
}

pub async fn acl_dry_runs_and_tenancy(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let d = RequestScope {
        dry_run: true,
        ..a.clone()
    };
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let s = subnet(&svc, &a, &vpc.id, "10.0.1.0/24").await;
    let custom = create_acl(&svc, &a, &vpc.id).await;
    let def = default_acl(&svc, &a, &vpc.id).await;
    let assoc = def.associations[0].association_id.clone();
    let gen = crate::generation(&db.store, &custom.id).await;
    let def_gen = crate::generation(&db.store, &def.id).await;

    assert_err!(
        svc.create_network_acl(&d, create_input(&vpc.id)).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.change_network_acl_entry(
            &d,
            &custom.id,
            EntryChange::Create(tcp_entry(1, false, "allow", 1, 1))
        )
        .await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.change_network_acl_entry(
            &d,
            &custom.id,
            EntryChange::Create(tcp_entry(0, false, "allow", 1, 1))
        )
        .await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.replace_network_acl_association(&d, &assoc, &custom.id)
            .await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.delete_network_acl(&d, &custom.id).await,
        Error::DryRunOperation
    );
    assert_eq!(acls_of(&svc, &a, &vpc.id).await.len(), 2);
    assert_eq!(crate::generation(&db.store, &custom.id).await, gen);
    assert_eq!(crate::generation(&db.store, &def.id).await, def_gen);

    // Another tenant sees nothing and can touch nothing.
    let (theirs, _) = svc
        .describe_network_acls(&b, &[], &[], &Page::default())
        .await
        .unwrap();
    assert!(theirs.is_empty());
    assert_err!(
        svc.describe_network_acls(&b, std::slice::from_ref(&custom.id), &[], &Page::default())
            .await,
        Error::NotFound {
            code: "InvalidNetworkAclID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.create_network_acl(&b, create_input(&vpc.id)).await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.delete_network_acl(&b, &custom.id).await,
        Error::NotFound { .. }
    );
    assert_err!(
        svc.change_network_acl_entry(
            &b,
            &custom.id,
            EntryChange::Create(tcp_entry(1, false, "allow", 1, 1))
        )
        .await,
        Error::NotFound { .. }
    );
    assert_err!(
        svc.replace_network_acl_association(&b, &assoc, &custom.id)
            .await,
        Error::NotFound { .. }
    );
    assert_eq!(
        subnets_of(&acl(&svc, &a, &def.id).await),
        vec![s.id.to_string()]
    );
}

/// Subnets created while their VPC's associations move never end up with
/// no ACL or two.
pub async fn racing_subnet_creates_and_moves_keep_one_acl_per_subnet(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let first = subnet(&svc, &a, &vpc.id, "10.0.0.0/24").await;
    let custom = create_acl(&svc, &a, &vpc.id).await;
    let def = default_acl(&svc, &a, &vpc.id).await;
    let mut assoc = def.associations[0].association_id.clone();
    let mut creates = Vec::new();
    for i in 1..=6 {
        let svc = svc.clone();
        let a = a.clone();
        let vpc_id = vpc.id.clone();
        creates.push(tokio::spawn(async move {
            subnet(&svc, &a, &vpc_id, &format!("10.0.{i}.0/24")).await
        }));
    }
    for round in 0..6 {
        let target = if round % 2 == 0 { &custom.id } else { &def.id };
        assoc = svc
            .replace_network_acl_association(&a, &assoc, target)
            .await
            .unwrap();
    }
    let mut subnets = vec![first.id.to_string()];
    for c in creates {
        subnets.push(c.await.unwrap().id.to_string());
    }
    let mut associated: Vec<String> = acls_of(&svc, &a, &vpc.id)
        .await
        .iter()
        .flat_map(subnets_of)
        .collect();
    associated.sort();
    subnets.sort();
    assert_eq!(associated, subnets);
}
