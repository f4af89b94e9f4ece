//! Security groups: the default group of each VPC, create/describe/delete,
//! ingress and egress rules with AWS's errors, rule IDs, dry runs and tenancy.

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::security_group::ops::{CreateSecurityGroup, GroupRef};
use nubo_ec2::security_group::rule_ops::{GroupPairInput, PermissionInput, RuleUpdateInput};
use nubo_ec2::security_group::{GroupRule, Protocol, SecurityGroup, Target};
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, service, tag, tenant, A, B};

fn create_input(vpc: &ResourceId, name: &str) -> CreateSecurityGroup {
    CreateSecurityGroup {
        name: name.into(),
        description: format!("{name} servers"),
        vpc_id: vpc.clone(),
        tag_specifications: vec![],
    }
}

async fn create_group(
    svc: &Ec2Service,
    scope: &RequestScope,
    vpc: &ResourceId,
    name: &str,
) -> SecurityGroup {
    svc.create_security_group(scope, create_input(vpc, name))
        .await
        .unwrap_or_else(|e| panic!("create group {name}: {e:?}"))
}

async fn groups_of(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId) -> Vec<SecurityGroup> {
    let (groups, next) = svc
        .describe_security_groups(
            scope,
            &[],
            &[],
            &[filter("vpc-id", &[vpc.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(next, None);
    groups
}

async fn group(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> SecurityGroup {
    let (mut groups, _) = svc
        .describe_security_groups(scope, std::slice::from_ref(id), &[], &[], &Page::default())
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"));
    assert_eq!(groups.len(), 1);
    groups.remove(0)
}

fn tcp(port: i64, cidr: &str) -> PermissionInput {
    PermissionInput {
        protocol: "tcp".into(),
        from_port: Some(port),
        to_port: Some(port),
        cidrs: vec![(cidr.into(), None)],
        groups: vec![],
    }
}

fn from_group(protocol: &str, id: &ResourceId) -> PermissionInput {
    PermissionInput {
        protocol: protocol.into(),
        groups: vec![GroupPairInput {
            group_id: Some(id.to_string()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn authorize(
    svc: &Ec2Service,
    scope: &RequestScope,
    id: &ResourceId,
    egress: bool,
    perms: &[PermissionInput],
) -> Result<Vec<GroupRule>, Error> {
    svc.authorize_security_group(scope, &GroupRef::Id(id.clone()), egress, perms, &[])
        .await
}

pub async fn default_group_lives_and_dies_with_its_vpc(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;

    let groups = groups_of(&svc, &a, &vpc.id).await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    let default = &groups[0];
    assert_eq!(default.name, "default");
    assert_eq!(default.description, "default VPC security group");
    assert_eq!(default.owner_id.as_str(), A);
    assert_eq!(default.ingress.len(), 1);
    let ingress = &default.ingress[0];
    assert_eq!(ingress.protocol, Protocol::All);
    assert_eq!(
        ingress.target,
        Target::Group {
            group_id: default.id.clone(),
            user_id: a.account.clone(),
            peering: None,
        }
    );
    assert_eq!(default.egress.len(), 1);
    assert_eq!(default.egress[0].protocol, Protocol::All);
    assert_eq!(
        default.egress[0].target,
        Target::Cidr("0.0.0.0/0".parse().unwrap())
    );

    assert_err!(
        svc.delete_security_group(&a, &GroupRef::Id(default.id.clone()))
            .await,
        Error::Client {
            code: "CannotDelete",
            ..
        }
    );
    // Another group blocks DeleteVpc; the default group does not.
    let web = create_group(&svc, &a, &vpc.id, "web").await;
    assert_err!(
        svc.delete_vpc(&a, &vpc.id).await,
        Error::DependencyViolation(ref m) if m.contains(web.id.as_str())
    );
    assert_eq!(
        groups_of(&svc, &a, &vpc.id).await.len(),
        2,
        "nothing deleted"
    );
    svc.delete_security_group(&a, &GroupRef::Id(web.id.clone()))
        .await
        .unwrap();
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
    assert_err!(
        svc.describe_security_groups(
            &a,
            std::slice::from_ref(&default.id),
            &[],
            &[],
            &Page::default()
        )
        .await,
        Error::NotFound {
            code: "InvalidGroup.NotFound",
            ..
        }
    );
    assert!(db
        .store
        .get_resource(A, default.id.as_str())
        .await
        .unwrap()
        .is_none());
}

pub async fn create_describe_filter_delete(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let other_vpc = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;

    let mut input = create_input(&vpc.id, "web");
    input.tag_specifications = vec![("security-group".into(), vec![tag("Name", "web")])];
    let web = svc.create_security_group(&a, input).await.unwrap();
    assert_eq!(web.vpc_id, vpc.id);
    assert!(web.ingress.is_empty());
    assert_eq!(web.egress.len(), 1, "new groups may send anywhere");
    assert_eq!(group(&svc, &a, &web.id).await, web);
    let db_group = create_group(&svc, &a, &vpc.id, "db").await;
    // The same name in another VPC is another group.
    let web2 = create_group(&svc, &a, &other_vpc.id, "web").await;

    assert_err!(
        svc.create_security_group(&a, create_input(&vpc.id, "web"))
            .await,
        Error::AlreadyExists {
            code: "InvalidGroup.Duplicate",
            ..
        }
    );
    for bad in ["sg-web", "default", "caf\u{e9}"] {
        assert_err!(
            svc.create_security_group(&a, create_input(&vpc.id, bad))
                .await,
            Error::InvalidParameterValue(_)
        );
    }
    let missing_vpc = ResourceId::from_stored("vpc-0123456789abcdef0");
    assert_err!(
        svc.create_security_group(&a, create_input(&missing_vpc, "x"))
            .await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    let mut wrong_type = create_input(&vpc.id, "x");
    wrong_type.tag_specifications = vec![("vpc".into(), vec![tag("a", "b")])];
    assert_err!(
        svc.create_security_group(&a, wrong_type).await,
        Error::InvalidParameterValue(_)
    );

    let q = |filters: Vec<nubo_core::filter::Filter>| {
        let (svc, a) = (&svc, &a);
        async move {
            let (groups, _) = svc
                .describe_security_groups(a, &[], &[], &filters, &Page::default())
                .await
                .unwrap();
            let mut ids: Vec<String> = groups.iter().map(|g| g.id.to_string()).collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        q(vec![filter("group-name", &["web"])]).await,
        sorted(vec![web.id.to_string(), web2.id.to_string()])
    );
    assert_eq!(
        q(vec![
            filter("group-name", &["web"]),
            filter("vpc-id", &[vpc.id.as_str()])
        ])
        .await,
        vec![web.id.to_string()]
    );
    assert_eq!(
        q(vec![filter("tag:Name", &["web"])]).await,
        vec![web.id.to_string()]
    );
    assert_eq!(
        q(vec![filter("description", &["db *"])]).await,
        vec![db_group.id.to_string()]
    );
    assert_eq!(
        q(vec![
            filter("egress.ip-permission.cidr", &["0.0.0.0/0"]),
            filter("group-name", &["db"])
        ])
        .await,
        vec![db_group.id.to_string()]
    );
    assert_err!(
        svc.describe_security_groups(&a, &[], &[], &[filter("flavour", &["x"])], &Page::default())
            .await,
        Error::InvalidParameterValue(_)
    );
    // By name: every name must exist.
    let (by_name, _) = svc
        .describe_security_groups(&a, &[], &["db".into()], &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(by_name, vec![db_group.clone()]);
    assert_err!(
        svc.describe_security_groups(&a, &[], &["nope".into()], &[], &Page::default())
            .await,
        Error::NotFound {
            code: "InvalidGroup.NotFound",
            ..
        }
    );

    // Pagination walks every group once (2 default groups + 3).
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = Page::new(Some(2), token.as_deref(), 1, 1000).unwrap();
        let (groups, next) = svc
            .describe_security_groups(&a, &[], &[], &[], &page)
            .await
            .unwrap();
        seen.extend(groups.into_iter().map(|g| g.id.to_string()));
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(sorted(seen.clone()), seen, "ID order");

    // Delete by name is refused while ambiguous, fine when not.
    assert_err!(
        svc.delete_security_group(&a, &GroupRef::Name("web".into()))
            .await,
        Error::InvalidParameterValue(_)
    );
    let deleted = svc
        .delete_security_group(&a, &GroupRef::Name("db".into()))
        .await
        .unwrap();
    assert_eq!(deleted, db_group.id);
    assert_err!(
        svc.delete_security_group(&a, &GroupRef::Id(db_group.id.clone()))
            .await,
        Error::NotFound {
            code: "InvalidGroup.NotFound",
            ..
        }
    );
}

pub async fn authorize_and_revoke_rules(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let web = create_group(&svc, &a, &vpc.id, "web").await;
    let app = create_group(&svc, &a, &vpc.id, "app").await;

    let added = authorize(
        &svc,
        &a,
        &web.id,
        false,
        &[
            tcp(22, "10.0.0.0/8"),
            tcp(443, "0.0.0.0/0"),
            from_group("-1", &app.id),
        ],
    )
    .await
    .unwrap();
    assert_eq!(added.len(), 3);
    assert!(added.iter().all(|r| !r.is_egress && r.group_id == web.id));
    let described = group(&svc, &a, &web.id).await;
    assert_eq!(
        described
            .ingress
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
        added.iter().map(|r| r.rule.id.clone()).collect::<Vec<_>>()
    );
    assert_eq!(described.ingress[1].from_port, Some(443));

    // Same rule again (with another description) is a duplicate; nothing changes.
    let mut again = tcp(22, "10.0.0.0/8");
    again.cidrs[0].1 = Some("other".into());
    assert_err!(
        authorize(&svc, &a, &web.id, false, &[tcp(80, "0.0.0.0/0"), again]).await,
        Error::AlreadyExists {
            code: "InvalidPermission.Duplicate",
            ..
        }
    );
    assert_eq!(group(&svc, &a, &web.id).await.ingress.len(), 3);

    // Input errors.
    for bad in [
        PermissionInput {
            protocol: "tcp".into(),
            from_port: Some(80),
            to_port: Some(22),
            cidrs: vec![("0.0.0.0/0".into(), None)],
            groups: vec![],
        },
        PermissionInput {
            protocol: "tcp".into(),
            from_port: Some(0),
            to_port: Some(70000),
            cidrs: vec![("0.0.0.0/0".into(), None)],
            groups: vec![],
        },
        PermissionInput {
            protocol: "bogus".into(),
            from_port: None,
            to_port: None,
            cidrs: vec![("0.0.0.0/0".into(), None)],
            groups: vec![],
        },
        tcp(22, "10.0.0.1/8"),
        tcp(22, "10.0.0.0/33"),
    ] {
        assert_err!(
            authorize(&svc, &a, &web.id, false, &[bad]).await,
            Error::InvalidParameterValue(_)
        );
    }
    let missing = ResourceId::from_stored("sg-0123456789abcdef0");
    assert_err!(
        authorize(&svc, &a, &web.id, false, &[from_group("tcp", &missing)]).await,
        Error::InvalidParameterValue(_) | Error::NotFound { .. }
    );
    let mut full = from_group("-1", &missing);
    full.protocol = "-1".into();
    assert_err!(
        authorize(&svc, &a, &web.id, false, &[full]).await,
        Error::NotFound {
            code: "InvalidGroup.NotFound",
            ..
        }
    );
    assert_err!(
        authorize(&svc, &a, &missing, false, &[tcp(22, "0.0.0.0/0")]).await,
        Error::NotFound {
            code: "InvalidGroup.NotFound",
            ..
        }
    );
    // A group of another VPC cannot be referenced (without an active peering
    // connection: see vpc_peering.rs).
    let other_vpc = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let elsewhere = create_group(&svc, &a, &other_vpc.id, "elsewhere").await;
    assert_err!(
        authorize(&svc, &a, &web.id, false, &[from_group("-1", &elsewhere.id)]).await,
        Error::InvalidParameterValue(_)
    );
    // Another account's group does not exist for the caller unless their
    // VPCs are peered (see vpc_peering.rs).
    let mut cross = from_group("-1", &app.id);
    cross.groups[0].user_id = Some(B.into());
    assert_err!(
        authorize(&svc, &a, &web.id, false, &[cross]).await,
        Error::NotFound {
            code: "InvalidGroup.NotFound",
            ..
        }
    );

    // Egress: the default allow-all plus one more; revoke both ways.
    authorize(&svc, &a, &web.id, true, &[tcp(5432, "10.0.0.0/16")])
        .await
        .unwrap();
    let all_out = PermissionInput {
        protocol: "-1".into(),
        cidrs: vec![("0.0.0.0/0".into(), None)],
        ..Default::default()
    };
    let revoked = svc
        .revoke_security_group(
            &a,
            &GroupRef::Id(web.id.clone()),
            true,
            std::slice::from_ref(&all_out),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);
    assert!(revoked[0].is_egress);
    assert_err!(
        svc.revoke_security_group(&a, &GroupRef::Id(web.id.clone()), true, &[all_out], &[])
            .await,
        Error::NotFound {
            code: "InvalidPermission.NotFound",
            ..
        }
    );
    // Revoking by rule ID; an unknown rule ID is NotFound and changes nothing.
    let ssh = added[0].rule.id.clone();
    let unknown = ResourceId::from_stored("sgr-0123456789abcdef0");
    assert_err!(
        svc.revoke_security_group(
            &a,
            &GroupRef::Id(web.id.clone()),
            false,
            &[],
            &[ssh.clone(), unknown]
        )
        .await,
        Error::NotFound {
            code: "InvalidSecurityGroupRuleId.NotFound",
            ..
        }
    );
    svc.revoke_security_group(
        &a,
        &GroupRef::Id(web.id.clone()),
        false,
        &[],
        std::slice::from_ref(&ssh),
    )
    .await
    .unwrap();
    let now = group(&svc, &a, &web.id).await;
    assert_eq!(now.ingress.len(), 2);
    assert_eq!(now.egress.len(), 1);
    assert_eq!(now.egress[0].from_port, Some(5432));

    // DescribeSecurityGroupRules and ModifySecurityGroupRules.
    let (rules, _) = svc
        .describe_security_group_rules(
            &a,
            &[],
            &[filter("group-id", &[web.id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(rules.len(), 3);
    let https = added[1].rule.id.clone();
    svc.modify_security_group_rules(
        &a,
        &web.id,
        &[RuleUpdateInput {
            rule_id: https.clone(),
            protocol: "tcp".into(),
            from_port: Some(8443),
            to_port: Some(8443),
            cidr: Some("192.168.0.0/16".into()),
            referenced_group_id: None,
            description: Some("alt https".into()),
        }],
    )
    .await
    .unwrap();
    let (rules, _) = svc
        .describe_security_group_rules(&a, std::slice::from_ref(&https), &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].rule.from_port, Some(8443));
    assert_eq!(rules[0].rule.description.as_deref(), Some("alt https"));
    assert_err!(
        svc.describe_security_group_rules(&a, &[ssh], &[], &Page::default())
            .await,
        Error::NotFound {
            code: "InvalidSecurityGroupRuleId.NotFound",
            ..
        }
    );
}

pub async fn referenced_groups_cannot_be_deleted(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let web = create_group(&svc, &a, &vpc.id, "web").await;
    let app = create_group(&svc, &a, &vpc.id, "app").await;
    assert_err!(
        authorize(&svc, &a, &web.id, false, &[from_group("tcp", &app.id)]).await,
        Error::InvalidParameterValue(ref m) if m.contains("portRange")
    );
    let mut perm = from_group("tcp", &app.id);
    perm.from_port = Some(8080);
    perm.to_port = Some(8080);
    authorize(&svc, &a, &web.id, false, &[perm.clone()])
        .await
        .unwrap();
    // A group referencing itself can still go.
    authorize(&svc, &a, &web.id, false, &[from_group("-1", &web.id)])
        .await
        .unwrap();

    assert_err!(
        svc.delete_security_group(&a, &GroupRef::Id(app.id.clone())).await,
        Error::DependencyViolation(ref m) if m == &format!("resource {} has a dependent object", app.id)
    );
    svc.revoke_security_group(&a, &GroupRef::Id(web.id.clone()), false, &[perm], &[])
        .await
        .unwrap();
    svc.delete_security_group(&a, &GroupRef::Id(app.id.clone()))
        .await
        .unwrap();
    svc.delete_security_group(&a, &GroupRef::Id(web.id.clone()))
        .await
        .unwrap();
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
}

pub async fn rule_limit_is_sixty_per_direction(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let web = create_group(&svc, &a, &vpc.id, "web").await;
    let perms: Vec<PermissionInput> = (1..=60).map(|p| tcp(p, "0.0.0.0/0")).collect();
    authorize(&svc, &a, &web.id, false, &perms).await.unwrap();
    assert_err!(
        authorize(&svc, &a, &web.id, false, &[tcp(1000, "0.0.0.0/0")]).await,
        Error::LimitExceeded {
            code: "RulesPerSecurityGroupLimitExceeded",
            ..
        }
    );
    // Egress has its own quota (one rule used by the default allow-all).
    let perms: Vec<PermissionInput> = (1..=59).map(|p| tcp(p, "0.0.0.0/0")).collect();
    authorize(&svc, &a, &web.id, true, &perms).await.unwrap();
    assert_err!(
        authorize(&svc, &a, &web.id, true, &[tcp(1000, "0.0.0.0/0")]).await,
        Error::LimitExceeded { .. }
    );
}

pub async fn dry_runs_and_tenancy(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let d = RequestScope {
        dry_run: true,
        ..a.clone()
    };
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let web = create_group(&svc, &a, &vpc.id, "web").await;
    let gen = crate::generation(&db.store, &web.id).await;

    assert_err!(
        svc.create_security_group(&d, create_input(&vpc.id, "x"))
            .await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.create_security_group(&d, create_input(&vpc.id, "web"))
            .await,
        Error::AlreadyExists { .. }
    );
    assert_err!(
        authorize(&svc, &d, &web.id, false, &[tcp(22, "0.0.0.0/0")]).await,
        Error::DryRunOperation
    );
    assert_err!(
        svc.delete_security_group(&d, &GroupRef::Id(web.id.clone()))
            .await,
        Error::DryRunOperation
    );
    assert_eq!(groups_of(&svc, &a, &vpc.id).await.len(), 2);
    assert_eq!(crate::generation(&db.store, &web.id).await, gen);

    // Another tenant sees nothing and can touch nothing.
    let (theirs, _) = svc
        .describe_security_groups(&b, &[], &[], &[], &Page::default())
        .await
        .unwrap();
    assert!(theirs.is_empty());
    let not_found = |r: Result<_, Error>| {
        assert!(
            matches!(
                r,
                Err(Error::NotFound {
                    code: "InvalidGroup.NotFound",
                    ..
                })
            ),
            "{:?}",
            r.map(|_: ()| ())
        )
    };
    not_found(
        svc.describe_security_groups(
            &b,
            std::slice::from_ref(&web.id),
            &[],
            &[],
            &Page::default(),
        )
        .await
        .map(|_| ()),
    );
    not_found(
        authorize(&svc, &b, &web.id, false, &[tcp(22, "0.0.0.0/0")])
            .await
            .map(|_| ()),
    );
    not_found(
        svc.delete_security_group(&b, &GroupRef::Id(web.id.clone()))
            .await
            .map(|_| ()),
    );
    assert_err!(
        svc.create_security_group(&b, create_input(&vpc.id, "x"))
            .await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    let b_vpc = create_vpc(&svc, &b, "10.0.0.0/16", &[]).await;
    let b_group = create_group(&svc, &b, &b_vpc.id, "web").await;
    assert_err!(
        authorize(&svc, &b, &b_group.id, false, &[from_group("-1", &web.id)]).await,
        Error::NotFound {
            code: "InvalidGroup.NotFound",
            ..
        }
    );
}

/// Twelve writers on two replicas each add a rule to the same group at once:
/// every rule lands (one row per group, guarded by its generation).
pub async fn concurrent_authorizes_lose_no_rule(db: &TestDb) {
    let replica = db.replica().await;
    let svcs = [
        service(&db.store, Limits::default()),
        service(&replica, Limits::default()),
    ];
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svcs[0], &a, "10.0.0.0/16", &[]).await;
    let web = create_group(&svcs[0], &a, &vpc.id, "web").await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let (svc, a, id) = (svcs[i % 2].clone(), a.clone(), web.id.clone());
            tokio::spawn(async move {
                authorize(&svc, &a, &id, false, &[tcp(1000 + i as i64, "0.0.0.0/0")]).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let mut ports: Vec<i32> = group(&svcs[0], &a, &web.id)
        .await
        .ingress
        .iter()
        .filter_map(|r| r.from_port)
        .collect();
    ports.sort();
    assert_eq!(ports, (1000..1012).collect::<Vec<i32>>());
    replica.close().await;
}

/// Deleting a group while another writer authorizes a rule referencing it:
/// whichever wins, no rule is left referencing a deleted group.
pub async fn delete_racing_a_reference_leaves_no_dangling_rule(db: &TestDb) {
    let replica = db.replica().await;
    let svcs = [
        service(&db.store, Limits::default()),
        service(&replica, Limits::default()),
    ];
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svcs[0], &a, "10.0.0.0/16", &[]).await;
    let web = create_group(&svcs[0], &a, &vpc.id, "web").await;
    for round in 0..6 {
        let target = create_group(&svcs[0], &a, &vpc.id, &format!("target{round}")).await;
        let (s1, s2) = (svcs[round % 2].clone(), svcs[(round + 1) % 2].clone());
        let (a1, a2) = (a.clone(), a.clone());
        let (web_id, t1, t2) = (web.id.clone(), target.id.clone(), target.id.clone());
        let add = tokio::spawn(async move {
            authorize(&s1, &a1, &web_id, false, &[from_group("-1", &t1)]).await
        });
        let delete =
            tokio::spawn(async move { s2.delete_security_group(&a2, &GroupRef::Id(t2)).await });
        let (added, deleted) = (add.await.unwrap(), delete.await.unwrap());
        let referenced = group(&svcs[0], &a, &web.id)
            .await
            .ingress
            .iter()
            .any(|r| r.referenced_group() == Some(&target.id));
        match (added, deleted) {
            (Ok(_), Err(Error::DependencyViolation(_))) => {
                assert!(referenced);
                svcs[0]
                    .revoke_security_group(
                        &a,
                        &GroupRef::Id(web.id.clone()),
                        false,
                        &[from_group("-1", &target.id)],
                        &[],
                    )
                    .await
                    .unwrap();
            }
            (Err(Error::NotFound { .. }), Ok(_)) => assert!(!referenced),
            other => panic!("round {round}: unexpected {other:?}"),
        }
    }
    replica.close().await;
}

/// Rules take tags on creation (`TagSpecification` of type
/// `security-group-rule`) and through CreateTags/DeleteTags; DescribeTags and
/// DescribeSecurityGroupRules' tag filters see them.
pub async fn rules_can_be_tagged(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let web = create_group(&svc, &a, &vpc.id, "web").await;
    let added = svc
        .authorize_security_group(
            &a,
            &GroupRef::Id(web.id.clone()),
            false,
            &[tcp(22, "10.0.0.0/8"), tcp(80, "10.0.0.0/8")],
            &[("security-group-rule".into(), vec![tag("team", "ops")])],
        )
        .await
        .unwrap();
    let (ssh, http) = (added[0].rule.id.to_string(), added[1].rule.id.to_string());
    assert_err!(
        svc.authorize_security_group(
            &a,
            &GroupRef::Id(web.id.clone()),
            false,
            &[tcp(443, "10.0.0.0/8")],
            &[("security-group".into(), vec![tag("team", "ops")])],
        )
        .await,
        Error::InvalidParameterValue(_)
    );

    svc.create_tags(
        &a,
        &[ssh.clone(), web.id.to_string()],
        &[tag("Name", "ssh")],
    )
    .await
    .unwrap();
    svc.delete_tags(&a, std::slice::from_ref(&http), &[])
        .await
        .unwrap();
    let (tags, _) = svc
        .describe_tags(
            &a,
            &[filter("resource-type", &["security-group-rule"])],
            &Page::default(),
        )
        .await
        .unwrap();
    let got: Vec<(String, String, String)> = tags
        .iter()
        .map(|t| (t.resource_id.clone(), t.key.clone(), t.value.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (ssh.clone(), "Name".into(), "ssh".into()),
            (ssh.clone(), "team".into(), "ops".into())
        ]
    );
    let (rules, _) = svc
        .describe_security_group_rules(&a, &[], &[filter("tag:Name", &["ssh"])], &Page::default())
        .await
        .unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].rule.id.as_str(), ssh);
    assert_eq!(group(&svc, &a, &web.id).await.tags.get("Name"), Some("ssh"));
    assert_err!(
        svc.create_tags(&a, &["sgr-0123456789abcdef0".into()], &[tag("a", "b")])
            .await,
        Error::NotFound {
            code: "InvalidSecurityGroupRuleId.NotFound",
            ..
        }
    );
}

/// Racing creates of one name in one VPC admit exactly one group, and a
/// create racing DeleteVpc never leaves a group without its VPC.
pub async fn racing_creates_admit_one_name_and_no_orphan(db: &TestDb) {
    let replica = db.replica().await;
    let svcs = [
        service(&db.store, Limits::default()),
        service(&replica, Limits::default()),
    ];
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svcs[0], &a, "10.0.0.0/16", &[]).await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (svc, a, input) = (svcs[i % 2].clone(), a.clone(), create_input(&vpc.id, "web"));
            tokio::spawn(async move { svc.create_security_group(&a, input).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(Error::AlreadyExists {
                code: "InvalidGroup.Duplicate",
                ..
            }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(groups_of(&svcs[0], &a, &vpc.id).await.len(), 2);

    for round in 0..4 {
        let vpc = create_vpc(&svcs[0], &a, "10.1.0.0/16", &[]).await;
        let (s1, s2, a1, a2) = (
            svcs[round % 2].clone(),
            svcs[(round + 1) % 2].clone(),
            a.clone(),
            a.clone(),
        );
        let input = create_input(&vpc.id, "late");
        let vpc_id = vpc.id.clone();
        let create = tokio::spawn(async move { s1.create_security_group(&a1, input).await });
        let delete = tokio::spawn(async move { s2.delete_vpc(&a2, &vpc_id).await });
        match (create.await.unwrap(), delete.await.unwrap()) {
            (Ok(group), Err(Error::DependencyViolation(_))) => {
                svcs[0]
                    .delete_security_group(&a, &GroupRef::Id(group.id))
                    .await
                    .unwrap();
                svcs[0].delete_vpc(&a, &vpc.id).await.unwrap();
            }
            (Err(Error::NotFound { .. }), Ok(())) => {}
            other => panic!("round {round}: unexpected {other:?}"),
        }
        let rows = db.store.list_children(A, vpc.id.as_str()).await.unwrap();
        assert!(rows.is_empty(), "round {round}: orphans {rows:?}");
    }
    replica.close().await;
}
