//! Transit gateways through the store: the gateway with its default route
//! table, VPC attachments (one subnet per zone, the VPC, subnets and gateway
//! they hold), racing attachments and deletions, route tables, associations,
//! propagations, static and propagated routes, VPC routes to a gateway, dry
//! runs and tenancy.

use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::subnet::ops::CreateSubnet;
use nubo_ec2::transit_gateway::attachment::{
    AttachmentState, CreateVpcAttachment, TransitGatewayAttachment,
};
use nubo_ec2::transit_gateway::gateway::{
    CreateTransitGateway, TransitGateway, TransitGatewayRequestOptions, TransitGatewayState,
};
use nubo_ec2::transit_gateway::Toggle;
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, service, tag, tenant, A, B};

async fn gateway(svc: &Ec2Service, scope: &RequestScope) -> TransitGateway {
    svc.create_transit_gateway(scope, CreateTransitGateway::default())
        .await
        .unwrap_or_else(|e| panic!("create transit gateway: {e:?}"))
}

async fn subnet(
    svc: &Ec2Service,
    scope: &RequestScope,
    vpc: &ResourceId,
    cidr: &str,
    zone: &str,
) -> ResourceId {
    svc.create_subnet(
        scope,
        CreateSubnet {
            vpc_id: vpc.clone(),
            cidr_block: cidr.into(),
            availability_zone: Some(zone.into()),
            availability_zone_id: None,
            tag_specifications: vec![],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("create subnet {cidr}: {e:?}"))
    .id
}

fn attach_input(
    tgw: &ResourceId,
    vpc: &ResourceId,
    subnets: &[&ResourceId],
) -> CreateVpcAttachment {
    CreateVpcAttachment {
        transit_gateway_id: tgw.clone(),
        vpc_id: vpc.clone(),
        subnet_ids: subnets.iter().map(|s| (*s).clone()).collect(),
        options: Default::default(),
        tag_specifications: vec![],
    }
}

async fn attach(
    svc: &Ec2Service,
    scope: &RequestScope,
    tgw: &ResourceId,
    vpc: &ResourceId,
    subnets: &[&ResourceId],
) -> TransitGatewayAttachment {
    svc.create_transit_gateway_vpc_attachment(scope, attach_input(tgw, vpc, subnets))
        .await
        .unwrap_or_else(|e| panic!("attach {vpc}: {e:?}"))
}

async fn one_gateway(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> TransitGateway {
    let (mut found, _) = svc
        .describe_transit_gateways(scope, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"));
    assert_eq!(found.len(), 1);
    found.remove(0)
}

pub async fn gateway_with_default_table_lifecycle(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let created = svc
        .create_transit_gateway(
            &a,
            CreateTransitGateway {
                description: Some("hub".into()),
                options: TransitGatewayRequestOptions::default(),
                tag_specifications: vec![("transit-gateway".into(), vec![tag("Name", "hub")])],
            },
        )
        .await
        .unwrap();
    assert_eq!(created.state, TransitGatewayState::Pending);
    let stored = one_gateway(&svc, &a, &created.id).await;
    assert_eq!(stored.state, TransitGatewayState::Available);
    assert_eq!(stored.options.amazon_side_asn, 64512);
    let default = stored
        .options
        .association_default_route_table_id
        .clone()
        .unwrap();
    assert_eq!(
        stored.options.propagation_default_route_table_id,
        Some(default.clone())
    );
    let (tables, _) = svc
        .describe_transit_gateway_route_tables(
            &a,
            &[],
            &[filter("transit-gateway-id", &[created.id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].id, default);
    assert!(tables[0].default_association_route_table && tables[0].default_propagation_route_table);

    // Without the defaults there is no default table.
    let bare = svc
        .create_transit_gateway(
            &a,
            CreateTransitGateway {
                options: TransitGatewayRequestOptions {
                    default_route_table_association: Some(Toggle::Disable),
                    default_route_table_propagation: Some(Toggle::Disable),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(bare.options.association_default_route_table_id, None);
    let (tables, _) = svc
        .describe_transit_gateway_route_tables(
            &a,
            &[],
            &[filter("transit-gateway-id", &[bare.id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert!(tables.is_empty());

    // Tenancy: another account sees nothing.
    let b = tenant(&db.store, B).await;
    assert_err!(
        svc.describe_transit_gateways(&b, std::slice::from_ref(&created.id), &[], &Page::default())
            .await,
        Error::NotFound {
            code: "InvalidTransitGatewayID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.delete_transit_gateway(&b, &created.id).await,
        Error::NotFound { .. }
    );

    // A dry run changes nothing.
    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.delete_transit_gateway(&dry, &created.id).await,
        Error::DryRunOperation
    );
    let deleted = svc.delete_transit_gateway(&a, &created.id).await.unwrap();
    assert_eq!(deleted.state, TransitGatewayState::Deleting);
    assert_err!(
        svc.describe_transit_gateway_route_tables(
            &a,
            std::slice::from_ref(&default),
            &[],
            &Page::default()
        )
        .await,
        Error::NotFound {
            code: "InvalidRouteTableID.NotFound",
            ..
        }
    );
}

pub async fn vpc_attachment_rules_and_dependencies(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let tgw = gateway(&svc, &a).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let s1 = subnet(&svc, &a, &vpc.id, "10.0.1.0/24", "us-east-1a").await;
    let s2 = subnet(&svc, &a, &vpc.id, "10.0.2.0/24", "us-east-1a").await;
    let s3 = subnet(&svc, &a, &vpc.id, "10.0.3.0/24", "us-east-1b").await;

    assert_err!(
        svc.create_transit_gateway_vpc_attachment(&a, attach_input(&tgw.id, &vpc.id, &[&s1, &s2]))
            .await,
        Error::Client {
            code: "DuplicateSubnetsInSameZone",
            ..
        }
    );
    let other = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let foreign = subnet(&svc, &a, &other.id, "10.1.1.0/24", "us-east-1b").await;
    assert_err!(
        svc.create_transit_gateway_vpc_attachment(
            &a,
            attach_input(&tgw.id, &vpc.id, &[&s1, &foreign])
        )
        .await,
        Error::NotFound {
            code: "InvalidSubnetID.NotFound",
            ..
        }
    );
    // The refused calls left no address behind.
    let (subs, _) = svc
        .describe_subnets(&a, std::slice::from_ref(&s1), &[], &Page::default())
        .await
        .unwrap();
    assert!(subs[0].allocations.is_empty());

    let att = attach(&svc, &a, &tgw.id, &vpc.id, &[&s1, &s3]).await;
    assert_eq!(att.state, AttachmentState::Pending);
    assert_eq!(
        att.association,
        tgw.options.association_default_route_table_id
    );
    let (subs, _) = svc
        .describe_subnets(&a, std::slice::from_ref(&s1), &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(
        subs[0].allocations.len(),
        1,
        "the attachment holds an address"
    );
    assert_err!(
        svc.create_transit_gateway_vpc_attachment(&a, attach_input(&tgw.id, &vpc.id, &[&s1]))
            .await,
        Error::Client {
            code: "DuplicateTransitGatewayAttachment",
            ..
        }
    );
    assert_err!(
        svc.delete_subnet(&a, &s1).await,
        Error::DependencyViolation(_)
    );
    assert_err!(
        svc.delete_vpc(&a, &vpc.id).await,
        Error::DependencyViolation(_)
    );
    assert_err!(
        svc.delete_transit_gateway(&a, &tgw.id).await,
        Error::Client {
            code: "IncorrectState",
            ..
        }
    );
    let (generic, _) = svc
        .describe_transit_gateway_attachments(
            &a,
            &[],
            &[
                filter("resource-type", &["vpc"]),
                filter("association.state", &["associated"]),
            ],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(generic.len(), 1);

    let gone = svc
        .delete_transit_gateway_vpc_attachment(&a, &att.id)
        .await
        .unwrap();
    assert_eq!(gone.state, AttachmentState::Deleting);
    svc.delete_subnet(&a, &s1).await.unwrap();
    svc.delete_subnet(&a, &s2).await.unwrap();
    svc.delete_subnet(&a, &s3).await.unwrap();
    svc.delete_vpc(&a, &vpc.id).await.unwrap();
    svc.delete_transit_gateway(&a, &tgw.id).await.unwrap();
}

pub async fn racing_attachments_of_one_vpc_admit_one(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let tgw = gateway(&svc, &a).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let s1 = subnet(&svc, &a, &vpc.id, "10.0.1.0/24", "us-east-1a").await;
    let replica = service(&db.replica().await, Limits::default());
    let mut tasks = Vec::new();
    for i in 0..4 {
        let svc = if i % 2 == 0 {
            svc.clone()
        } else {
            replica.clone()
        };
        let input = attach_input(&tgw.id, &vpc.id, &[&s1]);
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            svc.create_transit_gateway_vpc_attachment(&a, input).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Client {
                code: "DuplicateTransitGatewayAttachment",
                ..
            }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 1);
    let (subs, _) = svc
        .describe_subnets(&a, std::slice::from_ref(&s1), &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(
        subs[0].allocations.len(),
        1,
        "losers leave no address behind"
    );
}

pub async fn associations_and_propagations(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let tgw = gateway(&svc, &a).await;
    let default = tgw
        .options
        .association_default_route_table_id
        .clone()
        .unwrap();
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let s1 = subnet(&svc, &a, &vpc.id, "10.0.1.0/24", "us-east-1a").await;
    let att = attach(&svc, &a, &tgw.id, &vpc.id, &[&s1]).await;
    let table = svc
        .create_transit_gateway_route_table(&a, &tgw.id, &[])
        .await
        .unwrap();

    assert_err!(
        svc.set_transit_gateway_association(&a, &table.id, &att.id, true)
            .await,
        Error::Client {
            code: "Resource.AlreadyAssociated",
            ..
        }
    );
    svc.set_transit_gateway_association(&a, &default, &att.id, false)
        .await
        .unwrap();
    let link = svc
        .set_transit_gateway_association(&a, &table.id, &att.id, true)
        .await
        .unwrap();
    assert_eq!(link.attachment.resource_id, vpc.id);
    let (links, _) = svc
        .get_transit_gateway_route_table_associations(&a, &table.id, &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    let (links, _) = svc
        .get_transit_gateway_route_table_associations(&a, &default, &[], &Page::default())
        .await
        .unwrap();
    assert!(links.is_empty());

    // Propagations: the default table has one already; duplicates are refused.
    let (props, _) = svc
        .get_transit_gateway_route_table_propagations(&a, &default, &[], &Page::default())
        .await
        .unwrap();
    assert_eq!(props.len(), 1);
    assert_err!(
        svc.set_transit_gateway_propagation(&a, &default, &att.id, true)
            .await,
        Error::Client {
            code: "TransitGatewayRouteTablePropagation.Duplicate",
            ..
        }
    );
    svc.set_transit_gateway_propagation(&a, &table.id, &att.id, true)
        .await
        .unwrap();
    svc.set_transit_gateway_propagation(&a, &default, &att.id, false)
        .await
        .unwrap();
    assert_err!(
        svc.set_transit_gateway_propagation(&a, &default, &att.id, false)
            .await,
        Error::NotFound { .. }
    );

    // A table and an attachment of different gateways do not mix.
    let other = gateway(&svc, &a).await;
    let foreign = other.options.association_default_route_table_id.unwrap();
    assert_err!(
        svc.set_transit_gateway_propagation(&a, &foreign, &att.id, true)
            .await,
        Error::InvalidParameterValue(_)
    );
    // Another account sees neither.
    let b = tenant(&db.store, B).await;
    assert_err!(
        svc.set_transit_gateway_association(&b, &table.id, &att.id, false)
            .await,
        Error::NotFound {
            code: "InvalidRouteTableID.NotFound",
            ..
        }
    );

    // Deleting the attachment removes its propagation and association.
    svc.delete_transit_gateway_vpc_attachment(&a, &att.id)
        .await
        .unwrap();
    let (props, _) = svc
        .get_transit_gateway_route_table_propagations(&a, &table.id, &[], &Page::default())
        .await
        .unwrap();
    assert!(props.is_empty());
    svc.delete_transit_gateway_route_table(&a, &table.id)
        .await
        .unwrap();
}

pub async fn route_table_deletion_rules(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let tgw = gateway(&svc, &a).await;
    let default = tgw
        .options
        .association_default_route_table_id
        .clone()
        .unwrap();
    assert_err!(
        svc.delete_transit_gateway_route_table(&a, &default).await,
        Error::Client {
            code: "IncorrectState",
            ..
        }
    );
    let table = svc
        .create_transit_gateway_route_table(&a, &tgw.id, &[])
        .await
        .unwrap();
    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.delete_transit_gateway_route_table(&dry, &table.id)
            .await,
        Error::DryRunOperation
    );
    // Racing a route table creation against the gateway's deletion leaves no orphan.
    let replica = service(&db.replica().await, Limits::default());
    let (s1, a1, g1) = (svc.clone(), a.clone(), tgw.id.clone());
    let (s2, a2, g2) = (replica.clone(), a.clone(), tgw.id.clone());
    let create =
        tokio::spawn(async move { s1.create_transit_gateway_route_table(&a1, &g1, &[]).await });
    let delete = tokio::spawn(async move { s2.delete_transit_gateway(&a2, &g2).await });
    let created = create.await.unwrap();
    delete.await.unwrap().unwrap();
    let (left, _) = svc
        .describe_transit_gateway_route_tables(
            &a,
            &[],
            &[filter("transit-gateway-id", &[tgw.id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert!(left.is_empty(), "{created:?} left {left:?}");
}

pub async fn static_and_propagated_routes_and_search(db: &TestDb) {
    use nubo_ec2::transit_gateway::planner::{RouteState, RouteType};
    use nubo_ec2::transit_gateway::routes::RouteTarget;
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let tgw = gateway(&svc, &a).await;
    let table = tgw
        .options
        .propagation_default_route_table_id
        .clone()
        .unwrap();
    let vpc1 = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let vpc2 = create_vpc(&svc, &a, "10.2.0.0/16", &[]).await;
    let s1 = subnet(&svc, &a, &vpc1.id, "10.1.1.0/24", "us-east-1a").await;
    let s2 = subnet(&svc, &a, &vpc2.id, "10.2.1.0/24", "us-east-1a").await;
    let att1 = attach(&svc, &a, &tgw.id, &vpc1.id, &[&s1]).await;
    let att2 = attach(&svc, &a, &tgw.id, &vpc2.id, &[&s2]).await;
    let cidr = |s: &str| s.parse().unwrap();

    let routes = svc.transit_gateway_routes(&a, &table).await.unwrap();
    assert_eq!(routes.len(), 2);
    assert!(routes.iter().all(|r| r.route_type == RouteType::Propagated));

    svc.write_transit_gateway_route(
        &a,
        &table,
        cidr("10.2.0.0/16"),
        RouteTarget::Attachment(att1.id.clone()),
        false,
    )
    .await
    .unwrap();
    svc.write_transit_gateway_route(&a, &table, cidr("0.0.0.0/0"), RouteTarget::Blackhole, false)
        .await
        .unwrap();
    assert_err!(
        svc.write_transit_gateway_route(
            &a,
            &table,
            cidr("0.0.0.0/0"),
            RouteTarget::Blackhole,
            false
        )
        .await,
        Error::AlreadyExists {
            code: "RouteAlreadyExists",
            ..
        }
    );
    let routes = svc.transit_gateway_routes(&a, &table).await.unwrap();
    let summary: Vec<(String, RouteType, RouteState)> = routes
        .iter()
        .map(|r| (r.destination.to_string(), r.route_type, r.state))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("0.0.0.0/0".into(), RouteType::Static, RouteState::Blackhole),
            (
                "10.1.0.0/16".into(),
                RouteType::Propagated,
                RouteState::Active
            ),
            ("10.2.0.0/16".into(), RouteType::Static, RouteState::Active),
        ]
    );
    let (found, more) = svc
        .search_transit_gateway_routes(&a, &table, &[filter("type", &["static"])], 1)
        .await
        .unwrap();
    assert_eq!((found.len(), more), (1, true));

    // Deleting attachment 1 blackholes the static route to it and drops its propagation.
    svc.delete_transit_gateway_vpc_attachment(&a, &att1.id)
        .await
        .unwrap();
    let routes = svc.transit_gateway_routes(&a, &table).await.unwrap();
    let summary: Vec<(String, RouteState)> = routes
        .iter()
        .map(|r| (r.destination.to_string(), r.state))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("0.0.0.0/0".into(), RouteState::Blackhole),
            ("10.2.0.0/16".into(), RouteState::Blackhole),
        ]
    );
    svc.write_transit_gateway_route(
        &a,
        &table,
        cidr("10.2.0.0/16"),
        RouteTarget::Attachment(att2.id.clone()),
        true,
    )
    .await
    .unwrap();
    let removed = svc
        .delete_transit_gateway_route(&a, &table, cidr("10.2.0.0/16"))
        .await
        .unwrap();
    assert_eq!(removed.attachments.len(), 1);
    // The propagated route of VPC 2 shows again once the static one is gone.
    let routes = svc.transit_gateway_routes(&a, &table).await.unwrap();
    assert!(routes
        .iter()
        .any(|r| r.destination == cidr("10.2.0.0/16") && r.route_type == RouteType::Propagated));
    assert_err!(
        svc.delete_transit_gateway_route(&a, &table, cidr("10.2.0.0/16"))
            .await,
        Error::NotFound {
            code: "InvalidRoute.NotFound",
            ..
        }
    );
}

pub async fn vpc_routes_to_a_transit_gateway(db: &TestDb) {
    use nubo_ec2::route_table::{RouteState, RouteTarget};
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let tgw = gateway(&svc, &a).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let s1 = subnet(&svc, &a, &vpc.id, "10.0.1.0/24", "us-east-1a").await;
    let (tables, _) = svc
        .describe_route_tables(
            &a,
            &[],
            &[filter("vpc-id", &[vpc.id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    let rtb = tables[0].id.clone();
    let dest: nubo_core::Ipv4Cidr = "10.8.0.0/16".parse().unwrap();
    let target = RouteTarget::TransitGateway(tgw.id.clone());
    assert_err!(
        svc.create_route(&a, &rtb, dest, &target).await,
        Error::NotFound {
            code: "InvalidTransitGatewayID.NotFound",
            ..
        }
    );
    let att = attach(&svc, &a, &tgw.id, &vpc.id, &[&s1]).await;
    svc.create_route(&a, &rtb, dest, &target).await.unwrap();
    let state = |svc: Ec2Service, a: RequestScope, rtb: ResourceId| async move {
        let (t, _) = svc
            .describe_route_tables(&a, std::slice::from_ref(&rtb), &[], &Page::default())
            .await
            .unwrap();
        t[0].routes
            .iter()
            .find(|r| r.destination_cidr_block.to_string() == "10.8.0.0/16")
            .unwrap()
            .state
    };
    assert_eq!(
        state(svc.clone(), a.clone(), rtb.clone()).await,
        RouteState::Active
    );
    svc.delete_transit_gateway_vpc_attachment(&a, &att.id)
        .await
        .unwrap();
    assert_eq!(
        state(svc.clone(), a.clone(), rtb.clone()).await,
        RouteState::Blackhole
    );
    attach(&svc, &a, &tgw.id, &vpc.id, &[&s1]).await;
    assert_eq!(
        state(svc.clone(), a.clone(), rtb.clone()).await,
        RouteState::Active
    );
}

pub async fn modify_moves_the_default_tables(db: &TestDb) {
    use nubo_ec2::transit_gateway::attachment::ModifyVpcAttachment;
    use nubo_ec2::transit_gateway::modify::ModifyTransitGatewayOptions;
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let tgw = gateway(&svc, &a).await;
    let old = tgw
        .options
        .association_default_route_table_id
        .clone()
        .unwrap();
    let new = svc
        .create_transit_gateway_route_table(&a, &tgw.id, &[])
        .await
        .unwrap();
    assert_err!(
        svc.modify_transit_gateway(
            &a,
            &tgw.id,
            None,
            ModifyTransitGatewayOptions {
                default_route_table_association: Some(Toggle::Enable),
                ..Default::default()
            }
        )
        .await,
        Error::InvalidParameterCombination(_)
    );
    let other = gateway(&svc, &a).await;
    let foreign = other.options.association_default_route_table_id.unwrap();
    assert_err!(
        svc.modify_transit_gateway(
            &a,
            &tgw.id,
            None,
            ModifyTransitGatewayOptions {
                association_default_route_table_id: Some(foreign),
                ..Default::default()
            }
        )
        .await,
        Error::NotFound {
            code: "InvalidRouteTableID.NotFound",
            ..
        }
    );
    let modified = svc
        .modify_transit_gateway(
            &a,
            &tgw.id,
            Some("moved".into()),
            ModifyTransitGatewayOptions {
                association_default_route_table_id: Some(new.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(modified.state, TransitGatewayState::Modifying);
    let stored = one_gateway(&svc, &a, &tgw.id).await;
    assert_eq!(stored.description.as_deref(), Some("moved"));
    assert_eq!(
        stored.options.association_default_route_table_id,
        Some(new.id.clone())
    );
    let (tables, _) = svc
        .describe_transit_gateway_route_tables(
            &a,
            &[old.clone(), new.id.clone()],
            &[],
            &Page::default(),
        )
        .await
        .unwrap();
    let flags: Vec<(bool, bool)> = tables
        .iter()
        .map(|t| {
            (
                t.default_association_route_table,
                t.default_propagation_route_table,
            )
        })
        .collect();
    let old_i = tables.iter().position(|t| t.id == old).unwrap();
    assert_eq!(flags[old_i], (false, true));
    assert_eq!(flags[1 - old_i], (true, false));

    // A new attachment now lands in the new default association table.
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let s1 = subnet(&svc, &a, &vpc.id, "10.0.1.0/24", "us-east-1a").await;
    let s2 = subnet(&svc, &a, &vpc.id, "10.0.2.0/24", "us-east-1b").await;
    let att = attach(&svc, &a, &tgw.id, &vpc.id, &[&s1]).await;
    assert_eq!(att.association, Some(new.id.clone()));

    // Subnets move through ModifyTransitGatewayVpcAttachment, one per zone.
    let moved = svc
        .modify_transit_gateway_vpc_attachment(
            &a,
            &att.id,
            ModifyVpcAttachment {
                add_subnet_ids: vec![s2.clone()],
                remove_subnet_ids: vec![s1.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        moved.subnet_ids().cloned().collect::<Vec<_>>(),
        vec![s2.clone()]
    );
    svc.delete_subnet(&a, &s1).await.unwrap();
    assert_err!(
        svc.delete_subnet(&a, &s2).await,
        Error::DependencyViolation(_)
    );
    assert_err!(
        svc.modify_transit_gateway_vpc_attachment(
            &a,
            &att.id,
            ModifyVpcAttachment {
                remove_subnet_ids: vec![s2.clone()],
                ..Default::default()
            },
        )
        .await,
        Error::InvalidParameterValue(_)
    );
}

pub async fn gateway_deletion_racing_an_attachment_leaves_no_orphan(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let replica = service(&db.replica().await, Limits::default());
    for round in 0..4 {
        let tgw = gateway(&svc, &a).await;
        let vpc = create_vpc(&svc, &a, &format!("10.{round}.0.0/16"), &[]).await;
        let s = subnet(
            &svc,
            &a,
            &vpc.id,
            &format!("10.{round}.1.0/24"),
            "us-east-1a",
        )
        .await;
        let (s1, a1, input) = (
            svc.clone(),
            a.clone(),
            attach_input(&tgw.id, &vpc.id, &[&s]),
        );
        let (s2, a2, g2) = (replica.clone(), a.clone(), tgw.id.clone());
        let attach =
            tokio::spawn(async move { s1.create_transit_gateway_vpc_attachment(&a1, input).await });
        let delete = tokio::spawn(async move { s2.delete_transit_gateway(&a2, &g2).await });
        let (attached, deleted) = (attach.await.unwrap(), delete.await.unwrap());
        // Exactly one wins: an attachment keeps its gateway, or the gateway
        // is gone and no attachment (or held address) points at it.
        match (&attached, &deleted) {
            (
                Ok(att),
                Err(Error::Client {
                    code: "IncorrectState",
                    ..
                }),
            ) => {
                assert_eq!(one_gateway(&svc, &a, &tgw.id).await.id, tgw.id);
                svc.delete_transit_gateway_vpc_attachment(&a, &att.id)
                    .await
                    .unwrap();
                svc.delete_transit_gateway(&a, &tgw.id).await.unwrap();
            }
            (
                Err(Error::NotFound {
                    code: "InvalidTransitGatewayID.NotFound",
                    ..
                }),
                Ok(_),
            ) => {}
            other => panic!("round {round}: {other:?}"),
        }
        let (left, _) = svc
            .describe_transit_gateway_vpc_attachments(
                &a,
                &[],
                &[filter("vpc-id", &[vpc.id.as_str()])],
                &Page::default(),
            )
            .await
            .unwrap();
        assert!(left.is_empty(), "round {round}: {left:?}");
        svc.delete_subnet(&a, &s).await.unwrap();
        svc.delete_vpc(&a, &vpc.id).await.unwrap();
    }
}
