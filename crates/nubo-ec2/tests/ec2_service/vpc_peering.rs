//! VPC peering connections through the store: the same-account and
//! cross-account lifecycles (create, accept by the accepter only, routes on
//! both sides, delete turning them into blackholes), requests that fail
//! (overlapping CIDRs, a missing peer VPC), reject, expiry, AWS's refusals,
//! tenancy (a third account sees and touches nothing), and security group
//! rules that reference a group of a peered VPC.

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::route_table::{RouteTable, RouteTarget};
use nubo_ec2::security_group::ops::{CreateSecurityGroup, GroupRef};
use nubo_ec2::security_group::rule::{PeeredGroup, Target};
use nubo_ec2::security_group::rule_ops::{GroupPairInput, PermissionInput};
use nubo_ec2::security_group::{GroupRule, SecurityGroup};
use nubo_ec2::vpc::Vpc;
use nubo_ec2::vpc_peering::ops::CreateVpcPeeringConnection;
use nubo_ec2::vpc_peering::options::PeeringOptionsRequest;
use nubo_ec2::vpc_peering::{PeeringState, VpcPeeringConnection};
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, service, tag, tenant, A, B};

const C: &str = "333333333333";

fn request(vpc: &Vpc, peer: &Vpc) -> CreateVpcPeeringConnection {
    CreateVpcPeeringConnection {
        vpc_id: vpc.id.clone(),
        peer_vpc_id: peer.id.clone(),
        peer_owner_id: Some(peer.owner_id.clone()),
        peer_region: None,
        tag_specifications: vec![],
    }
}

async fn create(svc: &Ec2Service, s: &RequestScope, vpc: &Vpc, peer: &Vpc) -> VpcPeeringConnection {
    svc.create_vpc_peering_connection(s, request(vpc, peer))
        .await
        .unwrap_or_else(|e| panic!("create peering: {e:?}"))
}

async fn seen(svc: &Ec2Service, s: &RequestScope, id: &ResourceId) -> VpcPeeringConnection {
    let (mut found, _) = svc
        .describe_vpc_peering_connections(s, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"));
    assert_eq!(found.len(), 1);
    found.remove(0)
}

async fn all(svc: &Ec2Service, s: &RequestScope) -> Vec<String> {
    let (found, _) = svc
        .describe_vpc_peering_connections(s, &[], &[], &Page::default())
        .await
        .unwrap();
    found.iter().map(|c| c.id.to_string()).collect()
}

async fn main_table(svc: &Ec2Service, s: &RequestScope, vpc: &Vpc) -> RouteTable {
    let (mut found, _) = svc
        .describe_route_tables(
            s,
            &[],
            &[
                filter("vpc-id", &[vpc.id.as_str()]),
                filter("association.main", &["true"]),
            ],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    found.remove(0)
}

/// The state of the route to `dest` in `vpc`'s main table, and its target.
async fn route(
    svc: &Ec2Service,
    s: &RequestScope,
    vpc: &Vpc,
    dest: &str,
) -> Option<(String, &'static str)> {
    let t = main_table(svc, s, vpc).await;
    t.routes
        .iter()
        .find(|r| r.destination_cidr_block.to_string() == dest)
        .map(|r| {
            (
                r.target
                    .target_id()
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                r.state.as_str(),
            )
        })
}

async fn add_route(
    svc: &Ec2Service,
    s: &RequestScope,
    vpc: &Vpc,
    dest: &str,
    pcx: &ResourceId,
) -> Result<(), Error> {
    let t = main_table(svc, s, vpc).await;
    svc.create_route(
        s,
        &t.id,
        dest.parse().unwrap(),
        &RouteTarget::VpcPeeringConnection(pcx.clone()),
    )
    .await
}

pub async fn peering_within_one_account(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let v1 = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let v2 = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let mut input = request(&v1, &v2);
    input.peer_owner_id = None;
    input.tag_specifications = vec![("vpc-peering-connection".into(), vec![tag("Name", "lab")])];
    let created = svc.create_vpc_peering_connection(&a, input).await.unwrap();
    assert!(created.id.as_str().starts_with("pcx-"));
    assert_eq!(created.state, PeeringState::InitiatingRequest);
    assert_eq!(
        created.status_message(),
        format!("Initiating Request to {A}")
    );
    let pcx = created.id.clone();

    let pending = seen(&svc, &a, &pcx).await;
    assert_eq!(pending.state, PeeringState::PendingAcceptance);
    assert!(pending.shows_expiration());
    assert_eq!(pending.requester.vpc_id, v1.id);
    assert_eq!(pending.accepter.cidr_blocks[0].to_string(), "10.1.0.0/16");
    assert_eq!(pending.tags.get("Name"), Some("lab"));
    // Routes need an active connection.
    assert_err!(
        add_route(&svc, &a, &v1, "10.1.0.0/16", &pcx).await,
        Error::InvalidParameterValue(_)
    );

    let active = svc.accept_vpc_peering_connection(&a, &pcx).await.unwrap();
    assert_eq!(active.state, PeeringState::Active);
    assert!(!active.shows_expiration());
    add_route(&svc, &a, &v1, "10.1.0.0/16", &pcx).await.unwrap();
    add_route(&svc, &a, &v2, "10.0.0.0/16", &pcx).await.unwrap();
    assert_eq!(
        route(&svc, &a, &v1, "10.1.0.0/16").await,
        Some((pcx.to_string(), "active"))
    );
    // A VPC of neither side cannot route through it.
    let v3 = create_vpc(&svc, &a, "10.2.0.0/16", &[]).await;
    assert_err!(
        add_route(&svc, &a, &v3, "10.1.0.0/16", &pcx).await,
        Error::InvalidParameterValue(_)
    );
    // A second live connection between the same VPCs is refused.
    let mut again = request(&v2, &v1);
    again.peer_owner_id = None;
    assert_err!(
        svc.create_vpc_peering_connection(&a, again).await,
        Error::Client {
            code: "VpcPeeringConnectionAlreadyExists",
            ..
        }
    );
    // Its VPCs cannot be deleted while it is live.
    assert_err!(
        svc.delete_vpc(&a, &v2.id).await,
        Error::DependencyViolation(_)
    );

    svc.delete_vpc_peering_connection(&a, &pcx).await.unwrap();
    let deleted = seen(&svc, &a, &pcx).await;
    assert_eq!(deleted.state, PeeringState::Deleted);
    assert_eq!(deleted.status_message(), format!("Deleted by {A}"));
    for (vpc, dest) in [(&v1, "10.1.0.0/16"), (&v2, "10.0.0.0/16")] {
        assert_eq!(
            route(&svc, &a, vpc, dest).await,
            Some((pcx.to_string(), "blackhole"))
        );
    }
    assert_err!(
        svc.delete_vpc_peering_connection(&a, &pcx).await,
        Error::Client {
            code: "InvalidStateTransition",
            ..
        }
    );
    assert_err!(
        add_route(&svc, &a, &v1, "10.9.0.0/16", &pcx).await,
        Error::InvalidParameterValue(_)
    );
    svc.delete_vpc(&a, &v2.id).await.unwrap();
}

pub async fn peering_across_accounts(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let c = tenant(&db.store, C).await;
    let v1 = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let v2 = create_vpc(&svc, &b, "10.1.0.0/16", &[]).await;
    let pcx = create(&svc, &a, &v1, &v2).await.id;
    assert_eq!(
        seen(&svc, &a, &pcx).await.status_message(),
        format!("Pending Acceptance by {B}")
    );

    // Both parties see it, by ID, in listings and through filters; a third account does not.
    assert_eq!(all(&svc, &b).await, vec![pcx.to_string()]);
    let (by_owner, _) = svc
        .describe_vpc_peering_connections(
            &b,
            &[],
            &[
                filter("requester-vpc-info.owner-id", &[A]),
                filter("status-code", &["pending-acceptance"]),
                filter("accepter-vpc-info.cidr-block", &["10.1.0.0/16"]),
            ],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_owner.len(), 1);
    assert!(all(&svc, &c).await.is_empty());
    let not_found = |r: Result<_, Error>| {
        assert_err!(
            r,
            Error::NotFound {
                code: "InvalidVpcPeeringConnectionID.NotFound",
                ..
            }
        )
    };
    not_found(
        svc.describe_vpc_peering_connections(&c, std::slice::from_ref(&pcx), &[], &Page::default())
            .await
            .map(drop),
    );
    not_found(svc.accept_vpc_peering_connection(&c, &pcx).await.map(drop));
    not_found(svc.delete_vpc_peering_connection(&c, &pcx).await);
    not_found(svc.reject_vpc_peering_connection(&c, &pcx).await);

    // Only the accepter accepts or rejects; only the requester deletes a pending request.
    for r in [
        svc.accept_vpc_peering_connection(&a, &pcx).await.map(drop),
        svc.reject_vpc_peering_connection(&a, &pcx).await,
        svc.delete_vpc_peering_connection(&b, &pcx).await,
    ] {
        assert_err!(
            r,
            Error::Client {
                code: "OperationNotPermitted",
                ..
            }
        );
    }
    // The accepter's VPC cannot be deleted while a request to it is pending.
    assert_err!(
        svc.delete_vpc(&b, &v2.id).await,
        Error::DependencyViolation(_)
    );

    let active = svc.accept_vpc_peering_connection(&b, &pcx).await.unwrap();
    assert_eq!(active.state, PeeringState::Active);
    assert_eq!(seen(&svc, &a, &pcx).await.state, PeeringState::Active);
    add_route(&svc, &a, &v1, "10.1.0.0/16", &pcx).await.unwrap();
    add_route(&svc, &b, &v2, "10.0.0.0/16", &pcx).await.unwrap();
    assert_eq!(
        route(&svc, &b, &v2, "10.0.0.0/16").await,
        Some((pcx.to_string(), "active"))
    );

    // The accepter deletes it: routes on both sides, in both accounts, go blackhole.
    svc.delete_vpc_peering_connection(&b, &pcx).await.unwrap();
    assert_eq!(
        route(&svc, &a, &v1, "10.1.0.0/16").await,
        Some((pcx.to_string(), "blackhole"))
    );
    assert_eq!(
        route(&svc, &b, &v2, "10.0.0.0/16").await,
        Some((pcx.to_string(), "blackhole"))
    );
    let deleted = seen(&svc, &a, &pcx).await;
    assert_eq!(deleted.state, PeeringState::Deleted);
    assert_eq!(deleted.status_message(), format!("Deleted by {B}"));
    assert!(all(&svc, &c).await.is_empty());
    svc.delete_vpc(&b, &v2.id).await.unwrap();
}

pub async fn failed_rejected_and_refused_requests(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let v1 = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let overlapping = create_vpc(&svc, &b, "10.0.128.0/17", &[]).await;
    let v2 = create_vpc(&svc, &b, "10.1.0.0/16", &[]).await;

    // Overlapping CIDR blocks: the request is created, then failed; the accepter never sees it.
    let failed = create(&svc, &a, &v1, &overlapping).await;
    assert_eq!(failed.state, PeeringState::Failed);
    assert_eq!(seen(&svc, &a, &failed.id).await.state, PeeringState::Failed);
    assert!(all(&svc, &b).await.is_empty());
    assert_err!(
        svc.delete_vpc_peering_connection(&a, &failed.id).await,
        Error::Client {
            code: "InvalidStateTransition",
            ..
        }
    );
    // Another account's VPC that does not exist: failed too (nothing leaks).
    let mut missing = request(&v1, &v2);
    missing.peer_vpc_id = ResourceId::from_stored("vpc-0000000000000000a");
    let gone = svc
        .create_vpc_peering_connection(&a, missing)
        .await
        .unwrap();
    assert_eq!(gone.state, PeeringState::Failed);
    // The caller's own missing VPC is an error, as is another region.
    let mut own = request(&v1, &v2);
    own.peer_owner_id = None;
    assert_err!(
        svc.create_vpc_peering_connection(&a, own).await,
        Error::NotFound {
            code: "InvalidVpcID.NotFound",
            ..
        }
    );
    let mut far = request(&v1, &v2);
    far.peer_region = Some("eu-west-1".into());
    assert_err!(
        svc.create_vpc_peering_connection(&a, far).await,
        Error::InvalidParameterValue(_)
    );
    let mut bad_tags = request(&v1, &v2);
    bad_tags.tag_specifications = vec![("vpc".into(), vec![tag("k", "v")])];
    assert_err!(
        svc.create_vpc_peering_connection(&a, bad_tags).await,
        Error::InvalidParameterValue(_)
    );
    assert_eq!(all(&svc, &a).await.len(), 2);

    // The accepter rejects: the requester sees `rejected` and can do nothing more.
    let pcx = create(&svc, &a, &v1, &v2).await.id;
    svc.reject_vpc_peering_connection(&b, &pcx).await.unwrap();
    let rejected = seen(&svc, &a, &pcx).await;
    assert_eq!(rejected.state, PeeringState::Rejected);
    assert_eq!(rejected.status_message(), format!("Rejected by {B}"));
    assert_err!(
        svc.accept_vpc_peering_connection(&b, &pcx).await,
        Error::Client {
            code: "InvalidStateTransition",
            ..
        }
    );
    // A rejected request does not block a new one, nor the VPCs' deletion.
    let again = create(&svc, &a, &v1, &v2).await;
    assert_eq!(again.state, PeeringState::InitiatingRequest);
    svc.delete_vpc_peering_connection(&a, &again.id)
        .await
        .unwrap();
    svc.delete_vpc(&b, &v2.id).await.unwrap();

    // Dry runs change nothing.
    let v3 = create_vpc(&svc, &b, "10.3.0.0/16", &[]).await;
    // B still sees the rejected request and the one A deleted.
    let before = all(&svc, &b).await;
    assert_eq!(before.len(), 2);
    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.create_vpc_peering_connection(&dry, request(&v1, &v3))
            .await,
        Error::DryRunOperation
    );
    assert_eq!(all(&svc, &b).await, before);
}

pub async fn pending_requests_expire_after_seven_days(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let v1 = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let v2 = create_vpc(&svc, &b, "10.1.0.0/16", &[]).await;
    let pcx = create(&svc, &a, &v1, &v2).await.id;
    // Age the stored request by eight days.
    let row = db
        .store
        .get_resource(A, pcx.as_str())
        .await
        .unwrap()
        .unwrap();
    let mut body: serde_json::Value = serde_json::from_str(&row.body).unwrap();
    let eight_days = 8 * 24 * 3_600_000i64;
    for field in ["expiration_ms", "state_since_ms"] {
        body[field] = (body[field].as_i64().unwrap() - eight_days).into();
    }
    let mut tx = db.store.begin().await.unwrap();
    tx.update_resource(A, pcx.as_str(), row.generation, &body.to_string())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    for s in [&a, &b] {
        assert_eq!(seen(&svc, s, &pcx).await.state, PeeringState::Expired);
    }
    let (expired, _) = svc
        .describe_vpc_peering_connections(
            &b,
            &[],
            &[filter("status-code", &["expired"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(expired.len(), 1);
    assert_err!(
        svc.accept_vpc_peering_connection(&b, &pcx).await,
        Error::Client {
            code: "InvalidStateTransition",
            ..
        }
    );
    // An expired request no longer ties the VPCs.
    svc.delete_vpc(&b, &v2.id).await.unwrap();
}

async fn group(svc: &Ec2Service, s: &RequestScope, vpc: &Vpc, name: &str) -> SecurityGroup {
    svc.create_security_group(
        s,
        CreateSecurityGroup {
            name: name.into(),
            description: name.into(),
            vpc_id: vpc.id.clone(),
            tag_specifications: vec![],
        },
    )
    .await
    .unwrap()
}

/// Authorizes SSH from `peer` (of `user`, when given) into `into`.
async fn allow_from(
    svc: &Ec2Service,
    s: &RequestScope,
    into: &SecurityGroup,
    user: Option<&str>,
    peer: &ResourceId,
) -> Result<Vec<GroupRule>, Error> {
    svc.authorize_security_group(
        s,
        &GroupRef::Id(into.id.clone()),
        false,
        &[PermissionInput {
            protocol: "tcp".into(),
            from_port: Some(22),
            to_port: Some(22),
            cidrs: vec![],
            groups: vec![GroupPairInput {
                group_id: Some(peer.to_string()),
                user_id: user.map(str::to_string),
                ..Default::default()
            }],
        }],
        &[],
    )
    .await
}

pub async fn security_groups_reference_groups_of_peered_vpcs(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let c = tenant(&db.store, C).await;
    let v1 = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let v2 = create_vpc(&svc, &b, "10.1.0.0/16", &[]).await;
    let v3 = create_vpc(&svc, &a, "10.3.0.0/16", &[]).await;
    let vc = create_vpc(&svc, &c, "10.4.0.0/16", &[]).await;
    let g1 = group(&svc, &a, &v1, "web").await;
    let g2 = group(&svc, &b, &v2, "db").await;
    let g3 = group(&svc, &a, &v3, "ops").await;
    let gc = group(&svc, &c, &vc, "other").await;
    let not_found = |r: Result<Vec<GroupRule>, Error>| {
        assert_err!(
            r,
            Error::NotFound {
                code: "InvalidGroup.NotFound",
                ..
            }
        )
    };

    // Without an active connection, another account's group does not exist
    // for the caller, and another VPC's group of its own is in another network.
    not_found(allow_from(&svc, &a, &g1, Some(B), &g2.id).await);
    assert_err!(
        allow_from(&svc, &a, &g1, None, &g3.id).await,
        Error::InvalidParameterValue(_)
    );
    let cross = create(&svc, &a, &v1, &v2).await.id;
    not_found(allow_from(&svc, &a, &g1, Some(B), &g2.id).await);
    svc.accept_vpc_peering_connection(&b, &cross).await.unwrap();
    let mut same = request(&v1, &v3);
    same.peer_owner_id = None;
    let local = svc
        .create_vpc_peering_connection(&a, same)
        .await
        .unwrap()
        .id;
    svc.accept_vpc_peering_connection(&a, &local).await.unwrap();

    let added = allow_from(&svc, &a, &g1, Some(B), &g2.id).await.unwrap();
    assert_eq!(
        added[0].rule.target,
        Target::Group {
            group_id: g2.id.clone(),
            user_id: b.account.clone(),
            peering: Some(PeeredGroup {
                vpc_id: v2.id.clone(),
                vpc_peering_connection_id: cross.clone(),
            }),
        }
    );
    // The peer may reference the requester's group the other way.
    allow_from(&svc, &b, &g2, Some(A), &g1.id).await.unwrap();
    let own = allow_from(&svc, &a, &g1, None, &g3.id).await.unwrap();
    assert!(matches!(
        &own[0].rule.target,
        Target::Group { peering: Some(p), .. } if p.vpc_peering_connection_id == local
    ));
    // Unknown groups of the peer, and groups of an account that is not peered.
    not_found(
        allow_from(
            &svc,
            &a,
            &g1,
            Some(B),
            &ResourceId::from_stored("sg-0123456789abcdef0"),
        )
        .await,
    );
    not_found(allow_from(&svc, &a, &g1, Some(C), &gc.id).await);
    not_found(allow_from(&svc, &c, &gc, Some(B), &g2.id).await);

    let states = svc.peering_states(&a).await.unwrap();
    assert_eq!(states.get(&cross), Some(&PeeringState::Active));
    svc.delete_vpc_peering_connection(&a, &cross).await.unwrap();
    let states = svc.peering_states(&b).await.unwrap();
    assert_eq!(states.get(&cross), Some(&PeeringState::Deleted));
    // Once the connection is gone, new references are refused again.
    let g4 = group(&svc, &a, &v1, "api").await;
    not_found(allow_from(&svc, &a, &g4, Some(B), &g2.id).await);
}

pub async fn each_side_sets_its_own_peering_options(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let v1 = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let v2 = create_vpc(&svc, &b, "10.1.0.0/16", &[]).await;
    let pcx = create(&svc, &a, &v1, &v2).await.id;
    let dns = Some(PeeringOptionsRequest {
        allow_dns_resolution_from_remote_vpc: Some(true),
        ..Default::default()
    });
    let refused = |r: Result<VpcPeeringConnection, Error>| {
        assert_err!(
            r,
            Error::Client {
                code: "OperationNotPermitted",
                ..
            }
        )
    };
    // Only an active connection takes options.
    refused(
        svc.modify_vpc_peering_connection_options(&a, &pcx, dns.clone(), None)
            .await,
    );
    svc.accept_vpc_peering_connection(&b, &pcx).await.unwrap();
    // Each account sets its own side only.
    refused(
        svc.modify_vpc_peering_connection_options(&a, &pcx, None, dns.clone())
            .await,
    );
    refused(
        svc.modify_vpc_peering_connection_options(&b, &pcx, dns.clone(), None)
            .await,
    );
    let changed = svc
        .modify_vpc_peering_connection_options(&b, &pcx, None, dns.clone())
        .await
        .unwrap();
    assert!(changed.accepter.allow_dns_resolution_from_remote_vpc);
    assert!(!changed.requester.allow_dns_resolution_from_remote_vpc);
    let read = seen(&svc, &a, &pcx).await;
    assert!(read.accepter.allow_dns_resolution_from_remote_vpc);
    assert_err!(
        svc.modify_vpc_peering_connection_options(&a, &pcx, None, None)
            .await,
        Error::MissingParameter(_)
    );
    let c = tenant(&db.store, C).await;
    assert_err!(
        svc.modify_vpc_peering_connection_options(&c, &pcx, dns, None)
            .await,
        Error::NotFound {
            code: "InvalidVpcPeeringConnectionID.NotFound",
            ..
        }
    );
}

/// A route created through a connection while the other account deletes it,
/// on two replicas: whichever wins, no route is left `active` to a deleted
/// connection.
pub async fn route_racing_a_peering_delete_is_never_left_active(db: &TestDb) {
    let replica = db.replica().await;
    let svcs = [
        service(&db.store, Limits::default()),
        service(&replica, Limits::default()),
    ];
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let v1 = create_vpc(&svcs[0], &a, "10.0.0.0/16", &[]).await;
    let table = main_table(&svcs[0], &a, &v1).await.id;
    for round in 0..6u8 {
        let v2 = create_vpc(&svcs[0], &b, &format!("10.{}.0.0/16", round + 1), &[]).await;
        let pcx = create(&svcs[0], &a, &v1, &v2).await.id;
        svcs[0]
            .accept_vpc_peering_connection(&b, &pcx)
            .await
            .unwrap();
        let dest = format!("10.{}.0.0/16", round + 1);
        let (s1, s2) = (
            svcs[usize::from(round) % 2].clone(),
            svcs[usize::from(round + 1) % 2].clone(),
        );
        let (a1, b1, t1, p1, p2) = (
            a.clone(),
            b.clone(),
            table.clone(),
            pcx.clone(),
            pcx.clone(),
        );
        let d1: nubo_core::Ipv4Cidr = dest.parse().unwrap();
        let add = tokio::spawn(async move {
            s1.create_route(&a1, &t1, d1, &RouteTarget::VpcPeeringConnection(p1))
                .await
        });
        let delete = tokio::spawn(async move { s2.delete_vpc_peering_connection(&b1, &p2).await });
        let (added, deleted) = (add.await.unwrap(), delete.await.unwrap());
        deleted.unwrap();
        let state = route(&svcs[0], &a, &v1, &dest).await;
        match added {
            Ok(()) => assert_eq!(state, Some((pcx.to_string(), "blackhole")), "round {round}"),
            Err(Error::InvalidParameterValue(_)) => assert_eq!(state, None, "round {round}"),
            other => panic!("round {round}: unexpected {other:?}"),
        }
    }
    replica.close().await;
}
