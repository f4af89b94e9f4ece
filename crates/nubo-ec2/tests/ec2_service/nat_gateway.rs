//! NAT gateways and Elastic IP associations through the store: a public
//! gateway's interface, private address and Elastic IP association, the
//! dependencies they create (subnet, VPC, internet gateway, address), the
//! `failed` gateways AWS reports asynchronously, routes to gateways,
//! interfaces and instances (blackholed when the target goes), client-token
//! idempotency, dry runs, tenancy, and `AssociateAddress` /
//! `DisassociateAddress` with AWS's reassociation rules.

use std::net::Ipv4Addr;

use nubo_core::filter::Page;
use nubo_core::{Error, Ipv4Cidr, ResourceId, ResourceKind};
use nubo_ec2::elastic_ip::association::{AssociateAddress, AssociationTarget};
use nubo_ec2::elastic_ip::{Address, AllocateAddress};
use nubo_ec2::nat_gateway::ops::CreateNatGateway;
use nubo_ec2::nat_gateway::{ConnectivityType, NatGateway, NatGatewayState};
use nubo_ec2::network_interface::addresses::AssignAddresses;
use nubo_ec2::network_interface::ops::CreateNetworkInterface;
use nubo_ec2::network_interface::NetworkInterface;
use nubo_ec2::route_table::ops::CreateRouteTable;
use nubo_ec2::route_table::{RouteState, RouteTable, RouteTarget};
use nubo_ec2::subnet::ops::CreateSubnet;
use nubo_ec2::subnet::Subnet;
use nubo_ec2::vpc::Vpc;
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{create_vpc, filter, service, tag, tenant, A, B};

/// A VPC with one subnet, and its internet gateway when `with_gateway`.
struct Net {
    vpc: Vpc,
    subnet: Subnet,
    igw: Option<ResourceId>,
}

async fn net(svc: &Ec2Service, scope: &RequestScope, cidr: &str, with_gateway: bool) -> Net {
    let vpc = create_vpc(svc, scope, cidr, &[]).await;
    let block: Ipv4Cidr = cidr.parse().unwrap();
    let subnet_cidr = format!("{}/24", block.network());
    let subnet = svc
        .create_subnet(
            scope,
            CreateSubnet {
                vpc_id: vpc.id.clone(),
                cidr_block: subnet_cidr,
                availability_zone: None,
                availability_zone_id: None,
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let igw = if with_gateway {
        let igw = svc.create_internet_gateway(scope, &[]).await.unwrap();
        svc.attach_internet_gateway(scope, &igw.id, &vpc.id)
            .await
            .unwrap();
        Some(igw.id)
    } else {
        None
    };
    Net { vpc, subnet, igw }
}

async fn eip(svc: &Ec2Service, scope: &RequestScope) -> Address {
    svc.allocate_public_address(scope, &AllocateAddress::default())
        .await
        .unwrap()
}

fn public(subnet: &Subnet, allocation: &Address) -> CreateNatGateway {
    CreateNatGateway {
        subnet_id: subnet.id.clone(),
        allocation_id: Some(allocation.id.clone()),
        connectivity_type: ConnectivityType::Public,
        private_ip: None,
        client_token: None,
        tag_specifications: vec![],
    }
}

async fn nat(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> NatGateway {
    let (mut found, _) = svc
        .describe_nat_gateways(scope, std::slice::from_ref(id), &[], &Page::default())
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e:?}"));
    assert_eq!(found.len(), 1);
    found.remove(0)
}

async fn address(svc: &Ec2Service, scope: &RequestScope, id: &ResourceId) -> Address {
    let (mut found, _) = svc
        .describe_addresses(scope, std::slice::from_ref(id), &[], &[], &Page::default())
        .await
        .unwrap();
    found.remove(0)
}

async fn eni(
    svc: &Ec2Service,
    scope: &RequestScope,
    id: &ResourceId,
) -> Result<NetworkInterface, Error> {
    let (mut found, _) = svc
        .describe_network_interfaces(scope, std::slice::from_ref(id), &[], &Page::default())
        .await?;
    Ok(found.remove(0))
}

async fn table(svc: &Ec2Service, scope: &RequestScope, vpc: &ResourceId) -> RouteTable {
    svc.create_route_table(
        scope,
        CreateRouteTable {
            vpc_id: vpc.clone(),
            client_token: None,
            tag_specifications: vec![],
        },
    )
    .await
    .unwrap()
}

async fn route_state(
    svc: &Ec2Service,
    scope: &RequestScope,
    rtb: &ResourceId,
    dest: &str,
) -> RouteState {
    let (tables, _) = svc
        .describe_route_tables(scope, std::slice::from_ref(rtb), &[], &Page::default())
        .await
        .unwrap();
    let dest: Ipv4Cidr = dest.parse().unwrap();
    tables[0]
        .routes
        .iter()
        .find(|r| r.destination_cidr_block == dest)
        .map(|r| r.state)
        .unwrap_or_else(|| panic!("no route to {dest}"))
}

fn associate(allocation: &Address, eni: &ResourceId) -> AssociateAddress {
    AssociateAddress {
        allocation_id: allocation.id.clone(),
        target: AssociationTarget::NetworkInterface(eni.clone()),
        private_ip: None,
        allow_reassociation: false,
    }
}

pub async fn public_nat_gateway_lifecycle(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let n = net(&svc, &a, "10.0.0.0/16", true).await;
    let ip = eip(&svc, &a).await;
    let mut input = public(&n.subnet, &ip);
    input.client_token = Some("lab-nat-1".into());
    input.tag_specifications = vec![("natgateway".into(), vec![tag("Name", "lab")])];
    let created = svc.create_nat_gateway(&a, &input).await.unwrap();
    assert!(created.id.as_str().starts_with("nat-"));
    // Retrying with the same token returns the same gateway; another request
    // under that token is refused.
    let again = svc.create_nat_gateway(&a, &input).await.unwrap();
    assert_eq!(again.id, created.id);
    let mut other = input.clone();
    other.connectivity_type = ConnectivityType::Private;
    other.allocation_id = None;
    assert_err!(
        svc.create_nat_gateway(&a, &other).await,
        Error::Client {
            code: "IdempotentParameterMismatch",
            ..
        }
    );

    let g = nat(&svc, &a, &created.id).await;
    assert_eq!(g.state, NatGatewayState::Available);
    assert_eq!((&g.subnet_id, &g.vpc_id), (&n.subnet.id, &n.vpc.id));
    assert_eq!(g.connectivity_type, ConnectivityType::Public);
    assert_eq!(g.tags.get("Name"), Some("lab"));
    assert_eq!(g.failure, None);
    assert_eq!(g.addresses.len(), 1);
    let entry = &g.addresses[0];
    assert!(n.subnet.cidr_block.contains_addr(entry.private_ip));
    assert_eq!(entry.public_ip, Some(ip.public_ip));
    assert_eq!(entry.allocation_id.as_ref(), Some(&ip.id));
    assert!(entry.is_primary);

    // Its interface: requester-managed, in the subnet, holding the address
    // and the Elastic IP.
    let nic = eni(&svc, &a, &entry.network_interface_id).await.unwrap();
    assert_eq!(nic.interface_type, "nat_gateway");
    assert!(nic.requester_managed);
    assert_eq!(
        nic.description,
        format!("Interface for NAT Gateway {}", g.id)
    );
    assert_eq!(nic.status.as_str(), "in-use");
    assert_eq!(nic.primary_ip(), Some(entry.private_ip));
    let on_eni = nic.association().unwrap();
    assert_eq!(
        (
            on_eni.public_ip,
            &on_eni.allocation_id,
            Some(&on_eni.association_id)
        ),
        (ip.public_ip, &ip.id, entry.association_id.as_ref())
    );
    let mapped = address(&svc, &a, &ip.id).await.association.unwrap();
    assert_eq!(
        (&mapped.network_interface_id, mapped.private_ip),
        (&nic.id, entry.private_ip)
    );

    // What the gateway holds cannot go from under it.
    assert_err!(
        svc.release_public_address(&a, &ip.id).await,
        Error::Client {
            code: "InvalidIPAddress.InUse",
            ..
        }
    );
    assert_err!(
        svc.disassociate_address(&a, &mapped.id).await,
        Error::Client {
            code: "OperationNotPermitted",
            ..
        }
    );
    assert_err!(
        svc.delete_network_interface(&a, &nic.id).await,
        Error::Client {
            code: "InvalidNetworkInterface.InUse",
            ..
        }
    );
    assert_err!(
        svc.delete_subnet(&a, &n.subnet.id).await,
        Error::DependencyViolation(_)
    );
    let igw = n.igw.clone().unwrap();
    assert_err!(
        svc.detach_internet_gateway(&a, &igw, &n.vpc.id).await,
        Error::DependencyViolation(m) if m.contains("mapped public address")
    );
    let second = eip(&svc, &a).await;
    let mut reuse = public(&n.subnet, &second);
    reuse.private_ip = Some(entry.private_ip);
    assert_err!(
        svc.create_nat_gateway(&a, &reuse).await,
        Error::Client {
            code: "InvalidIPAddress.InUse",
            ..
        }
    );

    // A private table's default route through the gateway.
    let rtb = table(&svc, &a, &n.vpc.id).await;
    let anywhere = "0.0.0.0/0".parse().unwrap();
    svc.create_route(
        &a,
        &rtb.id,
        anywhere,
        &RouteTarget::NatGateway(g.id.clone()),
    )
    .await
    .unwrap();
    assert_eq!(
        route_state(&svc, &a, &rtb.id, "0.0.0.0/0").await,
        RouteState::Active
    );

    // Delete: everything the gateway held is released in one go, and it
    // stays described as deleted.
    let deleted = svc.delete_nat_gateway(&a, &g.id).await.unwrap();
    assert_eq!(deleted.state, NatGatewayState::Deleted);
    let after = nat(&svc, &a, &g.id).await;
    assert_eq!(after.state, NatGatewayState::Deleted);
    assert!(after.delete_time.is_some());
    assert_err!(
        eni(&svc, &a, &nic.id).await,
        Error::NotFound {
            code: "InvalidNetworkInterfaceID.NotFound",
            ..
        }
    );
    assert_eq!(address(&svc, &a, &ip.id).await.association, None);
    assert_eq!(
        route_state(&svc, &a, &rtb.id, "0.0.0.0/0").await,
        RouteState::Blackhole
    );
    assert_err!(
        svc.replace_route(
            &a,
            &rtb.id,
            anywhere,
            &RouteTarget::NatGateway(g.id.clone())
        )
        .await,
        Error::NotFound {
            code: "InvalidNatGatewayID.NotFound",
            ..
        }
    );
    // Deleting again changes nothing; the freed private address is free.
    svc.delete_nat_gateway(&a, &g.id).await.unwrap();
    let reused = svc.create_nat_gateway(&a, &reuse).await.unwrap();
    assert_eq!(reused.addresses[0].private_ip, entry.private_ip);
    let (live, _) = svc
        .describe_nat_gateways(
            &a,
            &[],
            &[filter("state", &["available"])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        live.iter().map(|g| &g.id).collect::<Vec<_>>(),
        vec![&reused.id]
    );
    svc.delete_nat_gateway(&a, &reused.id).await.unwrap();

    // With the gateways gone, the network comes apart in order.
    svc.detach_internet_gateway(&a, &igw, &n.vpc.id)
        .await
        .unwrap();
    svc.release_public_address(&a, &ip.id).await.unwrap();
    svc.delete_subnet(&a, &n.subnet.id).await.unwrap();
}

pub async fn nat_gateway_input_errors_and_failures(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let bare = net(&svc, &a, "10.0.0.0/16", false).await;
    let ip = eip(&svc, &a).await;

    let mut input = public(&bare.subnet, &ip);
    input.subnet_id = ResourceId::generate(ResourceKind::Subnet);
    assert_err!(
        svc.create_nat_gateway(&a, &input).await,
        Error::NotFound {
            code: "InvalidSubnetID.NotFound",
            ..
        }
    );
    let mut input = public(&bare.subnet, &ip);
    input.allocation_id = Some(ResourceId::generate(ResourceKind::ElasticIp));
    assert_err!(
        svc.create_nat_gateway(&a, &input).await,
        Error::NotFound {
            code: "InvalidAllocationID.NotFound",
            ..
        }
    );
    let mut input = public(&bare.subnet, &ip);
    input.allocation_id = None;
    assert_err!(
        svc.create_nat_gateway(&a, &input).await,
        Error::MissingParameter(_)
    );
    input.connectivity_type = ConnectivityType::Private;
    input.allocation_id = Some(ip.id.clone());
    assert_err!(
        svc.create_nat_gateway(&a, &input).await,
        Error::InvalidParameterCombination(_)
    );
    // Another account's subnet and address are unknown.
    assert_err!(
        svc.create_nat_gateway(&b, &public(&bare.subnet, &ip)).await,
        Error::NotFound {
            code: "InvalidSubnetID.NotFound",
            ..
        }
    );
    let mut dry = b.clone();
    dry.dry_run = true;
    let b_net = net(&svc, &b, "10.9.0.0/16", true).await;
    assert_err!(
        svc.create_nat_gateway(&dry, &public(&b_net.subnet, &ip))
            .await,
        Error::NotFound {
            code: "InvalidAllocationID.NotFound",
            ..
        }
    );

    // No internet gateway: the gateway fails as AWS's does, holding nothing.
    let failed = svc
        .create_nat_gateway(&a, &public(&bare.subnet, &ip))
        .await
        .unwrap();
    let f = nat(&svc, &a, &failed.id).await;
    assert_eq!(f.state, NatGatewayState::Failed);
    let failure = f.failure.clone().unwrap();
    assert_eq!(failure.code, "Gateway.NotAttached");
    assert!(failure.message.contains(bare.vpc.id.as_str()));
    assert!(f.addresses.is_empty());
    assert_eq!(address(&svc, &a, &ip.id).await.association, None);
    let anywhere = "0.0.0.0/0".parse().unwrap();
    let rtb = table(&svc, &a, &bare.vpc.id).await;
    assert_err!(
        svc.create_route(
            &a,
            &rtb.id,
            anywhere,
            &RouteTarget::NatGateway(f.id.clone())
        )
        .await,
        Error::NotFound {
            code: "InvalidNatGatewayID.NotFound",
            ..
        }
    );
    svc.delete_nat_gateway(&a, &f.id).await.unwrap();
    assert_eq!(nat(&svc, &a, &f.id).await.state, NatGatewayState::Deleted);
    svc.delete_subnet(&a, &bare.subnet.id).await.unwrap();

    // An Elastic IP already in use: failed, with AWS's code.
    let n = net(&svc, &a, "10.1.0.0/16", true).await;
    let holder = svc
        .create_network_interface(
            &a,
            CreateNetworkInterface {
                subnet_id: Some(n.subnet.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    svc.associate_address(&a, &associate(&ip, &holder.id))
        .await
        .unwrap();
    let busy = svc
        .create_nat_gateway(&a, &public(&n.subnet, &ip))
        .await
        .unwrap();
    let busy = nat(&svc, &a, &busy.id).await;
    assert_eq!(busy.state, NatGatewayState::Failed);
    assert_eq!(busy.failure.unwrap().code, "Resource.AlreadyAssociated");

    // A private gateway needs neither an Elastic IP nor an internet gateway.
    let private = svc
        .create_nat_gateway(
            &a,
            &CreateNatGateway {
                subnet_id: n.subnet.id.clone(),
                allocation_id: None,
                connectivity_type: ConnectivityType::Private,
                private_ip: Some(Ipv4Addr::new(10, 1, 0, 200)),
                client_token: None,
                tag_specifications: vec![],
            },
        )
        .await
        .unwrap();
    let p = nat(&svc, &a, &private.id).await;
    assert_eq!(p.state, NatGatewayState::Available);
    assert_eq!(p.addresses[0].private_ip, Ipv4Addr::new(10, 1, 0, 200));
    assert_eq!(p.addresses[0].public_ip, None);

    // Unknown, malformed-free but absent, and other tenants' IDs.
    let unknown = ResourceId::generate(ResourceKind::NatGateway);
    assert_err!(
        svc.describe_nat_gateways(&a, std::slice::from_ref(&unknown), &[], &Page::default())
            .await,
        Error::NotFound {
            code: "NatGatewayNotFound",
            ..
        }
    );
    assert_err!(
        svc.delete_nat_gateway(&a, &unknown).await,
        Error::NotFound {
            code: "NatGatewayNotFound",
            ..
        }
    );
    assert_err!(
        svc.delete_nat_gateway(&b, &p.id).await,
        Error::NotFound {
            code: "NatGatewayNotFound",
            ..
        }
    );
    let rtb_b = table(&svc, &b, &b_net.vpc.id).await;
    assert_err!(
        svc.create_route(
            &b,
            &rtb_b.id,
            anywhere,
            &RouteTarget::NatGateway(p.id.clone())
        )
        .await,
        Error::NotFound {
            code: "InvalidNatGatewayID.NotFound",
            ..
        }
    );
    // A gateway of another VPC cannot carry this VPC's routes.
    let elsewhere = net(&svc, &a, "10.2.0.0/16", false).await;
    let rtb_else = table(&svc, &a, &elsewhere.vpc.id).await;
    assert_err!(
        svc.create_route(
            &a,
            &rtb_else.id,
            anywhere,
            &RouteTarget::NatGateway(p.id.clone())
        )
        .await,
        Error::InvalidParameterValue(_)
    );

    // A dry run validates and changes nothing.
    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.delete_nat_gateway(&dry, &p.id).await,
        Error::DryRunOperation
    );
    assert_eq!(nat(&svc, &a, &p.id).await.state, NatGatewayState::Available);
    let mut private_input = public(&n.subnet, &ip);
    private_input.allocation_id = None;
    private_input.connectivity_type = ConnectivityType::Private;
    assert_err!(
        svc.create_nat_gateway(&dry, &private_input).await,
        Error::DryRunOperation
    );

    // Filters and pages.
    let (by_subnet, _) = svc
        .describe_nat_gateways(
            &a,
            &[],
            &[filter("subnet-id", &[n.subnet.id.as_str()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_subnet.len(), 2, "the failed one and the private one");
    let (failed_ones, _) = svc
        .describe_nat_gateways(&a, &[], &[filter("state", &["failed"])], &Page::default())
        .await
        .unwrap();
    assert_eq!(failed_ones.len(), 1);
    assert_err!(
        svc.describe_nat_gateways(&a, &[], &[filter("bogus", &["x"])], &Page::default())
            .await,
        Error::InvalidParameterValue(_)
    );
    let page = Page::new(Some(5), None, 5, 1000).unwrap();
    let (first, next) = svc
        .describe_nat_gateways(&a, &[], &[], &page)
        .await
        .unwrap();
    assert!(first.len() <= 5);
    assert_eq!(next, None, "four gateways fit one page");
    let (theirs, _) = svc
        .describe_nat_gateways(&b, &[], &[], &Page::default())
        .await
        .unwrap();
    assert!(theirs.is_empty());
}

pub async fn addresses_associate_with_interfaces(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let n = net(&svc, &a, "10.0.0.0/16", false).await;
    let first = svc
        .create_network_interface(
            &a,
            CreateNetworkInterface {
                subnet_id: Some(n.subnet.id.clone()),
                secondary_private_ip_address_count: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let second = svc
        .create_network_interface(
            &a,
            CreateNetworkInterface {
                subnet_id: Some(n.subnet.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let x = eip(&svc, &a).await;
    let y = eip(&svc, &a).await;

    // The VPC needs an internet gateway first.
    assert_err!(
        svc.associate_address(&a, &associate(&x, &first.id)).await,
        Error::Client {
            code: "Gateway.NotAttached",
            ..
        }
    );
    let igw = svc.create_internet_gateway(&a, &[]).await.unwrap();
    svc.attach_internet_gateway(&a, &igw.id, &n.vpc.id)
        .await
        .unwrap();
    let assoc = svc
        .associate_address(&a, &associate(&x, &first.id))
        .await
        .unwrap();
    assert!(assoc.as_str().starts_with("eipassoc-"));
    let primary = first.primary_ip().unwrap();
    let described = address(&svc, &a, &x.id).await.association.unwrap();
    assert_eq!(
        (
            &described.id,
            &described.network_interface_id,
            described.private_ip
        ),
        (&assoc, &first.id, primary)
    );
    assert_eq!(described.network_interface_owner_id.as_str(), A);
    for (name, value) in [
        ("association-id", assoc.as_str()),
        ("network-interface-id", first.id.as_str()),
        ("network-interface-owner-id", A),
    ] {
        let (found, _) = svc
            .describe_addresses(&a, &[], &[], &[filter(name, &[value])], &Page::default())
            .await
            .unwrap();
        assert_eq!(
            found.iter().map(|f| &f.id).collect::<Vec<_>>(),
            vec![&x.id],
            "{name}"
        );
    }
    let (by_ip, _) = svc
        .describe_addresses(
            &a,
            &[],
            &[],
            &[filter("private-ip-address", &[&primary.to_string()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_ip.len(), 1);
    let nic = eni(&svc, &a, &first.id).await.unwrap();
    let on_eni = nic.association().unwrap();
    assert_eq!(
        (on_eni.public_ip, &on_eni.association_id),
        (x.public_ip, &assoc)
    );
    let (by_public, _) = svc
        .describe_network_interfaces(
            &a,
            &[],
            &[filter("association.public-ip", &[&x.public_ip.to_string()])],
            &Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_public.len(), 1);

    // Reassociation rules.
    assert_err!(
        svc.associate_address(&a, &associate(&x, &second.id)).await,
        Error::Client {
            code: "Resource.AlreadyAssociated",
            ..
        }
    );
    assert_err!(
        svc.associate_address(&a, &associate(&y, &first.id)).await,
        Error::Client {
            code: "Resource.AlreadyAssociated",
            ..
        }
    );
    let mut elsewhere = associate(&x, &second.id);
    elsewhere.allow_reassociation = true;
    let moved = svc.associate_address(&a, &elsewhere).await.unwrap();
    assert_ne!(moved, assoc);
    assert_eq!(eni(&svc, &a, &first.id).await.unwrap().association(), None);
    assert_eq!(
        address(&svc, &a, &x.id)
            .await
            .association
            .unwrap()
            .network_interface_id,
        second.id
    );
    // A private address the interface does not have, and the secondary.
    let mut wrong = associate(&y, &first.id);
    wrong.private_ip = Some(Ipv4Addr::new(10, 0, 0, 250));
    assert_err!(
        svc.associate_address(&a, &wrong).await,
        Error::InvalidParameterValue(_)
    );
    let secondary = first.private_ips[1].address;
    wrong.private_ip = Some(secondary);
    svc.associate_address(&a, &wrong).await.unwrap();
    // Instances do not exist yet.
    let instance = AssociateAddress {
        allocation_id: y.id.clone(),
        target: AssociationTarget::Instance(ResourceId::generate(ResourceKind::Instance)),
        private_ip: None,
        allow_reassociation: true,
    };
    assert_err!(
        svc.associate_address(&a, &instance).await,
        Error::NotFound {
            code: "InvalidInstanceID.NotFound",
            ..
        }
    );

    // Mapped addresses keep the gateway attached and cannot be released.
    assert_err!(
        svc.detach_internet_gateway(&a, &igw.id, &n.vpc.id).await,
        Error::DependencyViolation(_)
    );
    assert_err!(
        svc.release_public_address(&a, &x.id).await,
        Error::Client {
            code: "InvalidIPAddress.InUse",
            ..
        }
    );
    // Unassigning the secondary address disassociates its Elastic IP.
    svc.unassign_private_ip_addresses(&a, &first.id, &[secondary])
        .await
        .unwrap();
    assert_eq!(address(&svc, &a, &y.id).await.association, None);
    assert!(eni(&svc, &a, &first.id)
        .await
        .unwrap()
        .public_ips
        .is_empty());
    // Disassociate, once.
    svc.disassociate_address(&a, &moved).await.unwrap();
    assert_eq!(address(&svc, &a, &x.id).await.association, None);
    assert!(eni(&svc, &a, &second.id)
        .await
        .unwrap()
        .public_ips
        .is_empty());
    assert_err!(
        svc.disassociate_address(&a, &moved).await,
        Error::NotFound {
            code: "InvalidAssociationID.NotFound",
            ..
        }
    );
    // Deleting an interface disassociates its Elastic IP, which stays allocated.
    svc.associate_address(&a, &associate(&x, &second.id))
        .await
        .unwrap();
    svc.delete_network_interface(&a, &second.id).await.unwrap();
    assert_eq!(address(&svc, &a, &x.id).await.association, None);
    // Another tenant sees none of it.
    let b = tenant(&db.store, B).await;
    assert_err!(
        svc.associate_address(&b, &associate(&x, &first.id)).await,
        Error::NotFound {
            code: "InvalidAllocationID.NotFound",
            ..
        }
    );
    svc.detach_internet_gateway(&a, &igw.id, &n.vpc.id)
        .await
        .unwrap();
    // Assigning after all this still hands out fresh addresses.
    svc.assign_private_ip_addresses(&a, &first.id, AssignAddresses::Count(1))
        .await
        .unwrap();
}

pub async fn routes_to_interfaces_and_instances(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let n = net(&svc, &a, "10.0.0.0/16", false).await;
    let other = net(&svc, &a, "10.1.0.0/16", false).await;
    let appliance = svc
        .create_network_interface(
            &a,
            CreateNetworkInterface {
                subnet_id: Some(n.subnet.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let foreign = svc
        .create_network_interface(
            &a,
            CreateNetworkInterface {
                subnet_id: Some(other.subnet.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rtb = table(&svc, &a, &n.vpc.id).await;
    let dest = "192.168.0.0/16".parse().unwrap();
    assert_err!(
        svc.create_route(
            &a,
            &rtb.id,
            dest,
            &RouteTarget::NetworkInterface(ResourceId::generate(ResourceKind::NetworkInterface))
        )
        .await,
        Error::NotFound {
            code: "InvalidNetworkInterfaceID.NotFound",
            ..
        }
    );
    assert_err!(
        svc.create_route(
            &a,
            &rtb.id,
            dest,
            &RouteTarget::NetworkInterface(foreign.id.clone())
        )
        .await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.create_route(
            &a,
            &rtb.id,
            dest,
            &RouteTarget::Instance(ResourceId::generate(ResourceKind::Instance))
        )
        .await,
        Error::NotFound {
            code: "InvalidInstanceID.NotFound",
            ..
        }
    );
    svc.create_route(
        &a,
        &rtb.id,
        dest,
        &RouteTarget::NetworkInterface(appliance.id.clone()),
    )
    .await
    .unwrap();
    assert_eq!(
        route_state(&svc, &a, &rtb.id, "192.168.0.0/16").await,
        RouteState::Active
    );
    svc.delete_network_interface(&a, &appliance.id)
        .await
        .unwrap();
    assert_eq!(
        route_state(&svc, &a, &rtb.id, "192.168.0.0/16").await,
        RouteState::Blackhole
    );
}

/// A NAT gateway create racing `DetachInternetGateway` on two replicas:
/// either the detach wins (the gateway fails, `Gateway.NotAttached`, holding
/// nothing) or the create wins (the detach is refused). Never an available
/// public gateway in a VPC without an internet gateway.
pub async fn nat_create_racing_gateway_detach(db: &TestDb) {
    let first = service(&db.store, Limits::default());
    let second = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    for round in 0..4 {
        let n = net(&first, &a, &format!("10.{round}.0.0/16"), true).await;
        let igw = n.igw.clone().unwrap();
        let ip = eip(&first, &a).await;
        let input = public(&n.subnet, &ip);
        let (created, detached) = tokio::join!(
            first.create_nat_gateway(&a, &input),
            second.detach_internet_gateway(&a, &igw, &n.vpc.id)
        );
        let g = nat(&first, &a, &created.unwrap().id).await;
        match (g.state, detached) {
            (NatGatewayState::Available, Err(Error::DependencyViolation(_))) => {}
            (NatGatewayState::Failed, Ok(())) => {
                assert_eq!(g.failure.unwrap().code, "Gateway.NotAttached");
                assert_eq!(address(&first, &a, &ip.id).await.association, None);
            }
            other => panic!("round {round}: {other:?}"),
        }
        first.delete_nat_gateway(&a, &g.id).await.unwrap();
        first.release_public_address(&a, &ip.id).await.unwrap();
    }
}

/// `AssociateAddress` racing `DetachInternetGateway` on two replicas: one of
/// them wins, never both (a mapped address behind a VPC without a gateway).
pub async fn association_racing_gateway_detach(db: &TestDb) {
    let first = service(&db.store, Limits::default());
    let second = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    for round in 0..4 {
        let n = net(&first, &a, &format!("10.{round}.0.0/16"), true).await;
        let igw = n.igw.clone().unwrap();
        let nic = first
            .create_network_interface(
                &a,
                CreateNetworkInterface {
                    subnet_id: Some(n.subnet.id.clone()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let ip = eip(&first, &a).await;
        let input = associate(&ip, &nic.id);
        let (associated, detached) = tokio::join!(
            first.associate_address(&a, &input),
            second.detach_internet_gateway(&a, &igw, &n.vpc.id)
        );
        let mapped = address(&first, &a, &ip.id).await.association;
        match (associated, detached) {
            (Ok(id), Err(Error::DependencyViolation(_))) => {
                assert_eq!(mapped.map(|m| m.id), Some(id));
            }
            (
                Err(Error::Client {
                    code: "Gateway.NotAttached",
                    ..
                }),
                Ok(()),
            ) => assert_eq!(mapped, None),
            other => panic!("round {round}: {other:?}"),
        }
        first.delete_network_interface(&a, &nic.id).await.unwrap();
        first.release_public_address(&a, &ip.id).await.unwrap();
    }
}
