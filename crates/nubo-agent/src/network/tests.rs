//! The translation on a hand-built view: a lab of three VPCs (two with
//! instances on this host, one elsewhere), every route target kind, both
//! association kinds, peerings, a transit gateway and public addresses.

#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use nubo_core::{AccountId, Ipv4Cidr, ResourceId, TagSet};
use nubo_ec2::instance::{Instance, InstanceState, MetadataOptions, ShutdownBehavior};
use nubo_ec2::internet_gateway::InternetGateway;
use nubo_ec2::nat_gateway::{ConnectivityType, NatGateway, NatGatewayAddress, NatGatewayState};
use nubo_ec2::network_acl::{self, Entry, NetworkAcl, RuleAction};
use nubo_ec2::network_interface::{
    Attachment, GroupIdentifier, InterfaceStatus, IpAssociation, NetworkInterface, PrivateIp,
};
use nubo_ec2::network_view::NetworkView;
use nubo_ec2::route_table::{self, Route, RouteOrigin, RouteState, RouteTable, RouteTarget};
use nubo_ec2::security_group::{Protocol, Rule, SecurityGroup, Target};
use nubo_ec2::subnet::{Subnet, SubnetState};
use nubo_ec2::transit_gateway::attachment::{
    AttachmentState, AttachmentSubnet, TransitGatewayAttachment, VpcAttachmentOptions,
};
use nubo_ec2::transit_gateway::gateway::{
    TransitGateway, TransitGatewayOptions, TransitGatewayRequestOptions, TransitGatewayState,
};
use nubo_ec2::transit_gateway::route_table::{
    RouteTableState, StaticRoute, TransitGatewayRouteTable,
};
use nubo_ec2::vpc::{CidrAssociation, CidrState, Vpc, VpcState};
use nubo_ec2::vpc_peering::{PeerVpcInfo, PeeringState, VpcPeeringConnection};
use nubo_net::model::{
    ExternalNet, Match, RouteTargetNet, SgPeer, TgwAttachmentNet, TgwRouteNet, L4,
};

use super::network_model;

fn id(s: &str) -> ResourceId {
    ResourceId::from_stored(s)
}

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn owner() -> AccountId {
    AccountId::parse("123456789012").unwrap()
}

fn external() -> ExternalNet {
    ExternalNet {
        cidr: cidr("203.0.113.0/24"),
        host_address: ip("203.0.113.1"),
        public_pools: vec![cidr("198.51.100.0/24")],
        forward_to_uplink: false,
    }
}

fn vpc(v: &str, block: &str) -> Vpc {
    Vpc {
        id: id(v),
        owner_id: owner(),
        cidr_block: cidr(block),
        cidr_associations: vec![CidrAssociation {
            association_id: format!("vpc-cidr-assoc-{v}"),
            cidr_block: cidr(block),
            state: CidrState::Associated,
        }],
        state: VpcState::Available,
        dhcp_options_id: "default".into(),
        instance_tenancy: "default".into(),
        is_default: false,
        enable_dns_support: true,
        enable_dns_hostnames: false,
        enable_network_address_usage_metrics: false,
        tags: TagSet::default(),
    }
}

fn subnet(s: &str, v: &str, block: &str) -> Subnet {
    Subnet {
        id: id(s),
        arn: String::new(),
        vpc_id: id(v),
        owner_id: owner(),
        cidr_block: cidr(block),
        availability_zone: "us-east-1a".into(),
        availability_zone_id: "use1-az1".into(),
        state: SubnetState::Available,
        default_for_az: false,
        map_public_ip_on_launch: false,
        allocations: vec![],
        tags: TagSet::default(),
    }
}

fn route(dest: &str, target: RouteTarget) -> Route {
    Route {
        destination_cidr_block: cidr(dest),
        target,
        origin: RouteOrigin::CreateRoute,
        state: RouteState::Active,
    }
}

fn table(t: &str, v: &str, main: bool, subnets: &[&str], routes: Vec<Route>) -> RouteTable {
    let mut associations = Vec::new();
    if main {
        associations.push(route_table::Association::new(true, None));
    }
    for s in subnets {
        associations.push(route_table::Association::new(false, Some(id(s))));
    }
    RouteTable {
        id: id(t),
        owner_id: owner(),
        vpc_id: id(v),
        routes,
        associations,
        client_token: None,
        tags: TagSet::default(),
    }
}

fn acl(a: &str, v: &str, default: bool, subnets: &[&str], entries: Vec<Entry>) -> NetworkAcl {
    NetworkAcl {
        id: id(a),
        owner_id: owner(),
        vpc_id: id(v),
        is_default: default,
        entries,
        associations: subnets
            .iter()
            .map(|s| network_acl::Association {
                association_id: format!("aclassoc-{s}"),
                subnet_id: id(s),
            })
            .collect(),
        tags: TagSet::default(),
    }
}

fn rule(protocol: Protocol, ports: Option<(i32, i32)>, target: Target) -> Rule {
    Rule {
        id: id("sgr-1"),
        protocol,
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
        target,
        description: None,
        tags: TagSet::default(),
    }
}

fn group_ref(g: &str) -> Target {
    Target::Group {
        group_id: id(g),
        user_id: owner(),
        peering: None,
    }
}

fn group(g: &str, v: &str, ingress: Vec<Rule>, egress: Vec<Rule>) -> SecurityGroup {
    SecurityGroup {
        id: id(g),
        owner_id: owner(),
        vpc_id: id(v),
        name: g.into(),
        description: String::new(),
        ingress,
        egress,
        tags: TagSet::default(),
    }
}

fn eni(
    e: &str,
    s: &str,
    v: &str,
    addrs: &[&str],
    groups: &[&str],
    to: Option<&str>,
) -> NetworkInterface {
    NetworkInterface {
        id: id(e),
        owner_id: owner(),
        subnet_id: id(s),
        vpc_id: id(v),
        availability_zone: "us-east-1a".into(),
        availability_zone_id: "use1-az1".into(),
        description: String::new(),
        mac_address: format!("02:00:00:00:00:{:02x}", e.len()),
        private_ips: addrs
            .iter()
            .enumerate()
            .map(|(n, a)| PrivateIp {
                address: ip(a),
                primary: n == 0,
            })
            .collect(),
        groups: groups
            .iter()
            .map(|g| GroupIdentifier {
                id: id(g),
                name: g.to_string(),
            })
            .collect(),
        source_dest_check: true,
        status: if to.is_some() {
            InterfaceStatus::InUse
        } else {
            InterfaceStatus::Available
        },
        interface_type: "interface".into(),
        requester_managed: false,
        attachment: to.map(|i| Attachment {
            id: format!("eni-attach-{i}"),
            instance_id: id(i),
            instance_owner_id: owner(),
            device_index: 0,
            status: "attached".into(),
            delete_on_termination: true,
            attach_time: String::new(),
        }),
        private_dns_name: String::new(),
        public_ips: vec![],
        tags: TagSet::default(),
    }
}

fn eip(private: &str, public: &str) -> IpAssociation {
    IpAssociation {
        private_ip: ip(private),
        public_ip: ip(public),
        allocation_id: id("eipalloc-1"),
        association_id: id("eipassoc-1"),
        ip_owner_id: owner(),
    }
}

fn instance(i: &str, e: &NetworkInterface, public_ip: Option<&str>) -> Instance {
    Instance {
        id: id(i),
        owner_id: owner(),
        reservation_id: "r-1".into(),
        image_id: id("ami-1"),
        image_rootfs: String::new(),
        image_content_key: None,
        instance_type: "t3.nano".into(),
        key_name: None,
        public_key: None,
        subnet_id: e.subnet_id.clone(),
        vpc_id: e.vpc_id.clone(),
        availability_zone: "us-east-1a".into(),
        primary_interface_id: e.id.clone(),
        private_ip: e.primary_ip().unwrap(),
        private_dns_name: String::new(),
        mac_address: e.mac_address.clone(),
        public_ip: public_ip.map(ip),
        assign_public_ip: public_ip.is_some(),
        state: InstanceState::Running,
        state_reason: None,
        state_transition_reason: String::new(),
        launch_time: String::new(),
        ami_launch_index: 0,
        client_token: None,
        user_data: None,
        disable_api_termination: false,
        disable_api_stop: false,
        shutdown_behavior: ShutdownBehavior::Stop,
        metadata_options: MetadataOptions::default(),
        host_id: "local".into(),
        reboots_requested: 0,
        reboots_done: 0,
        terminated_at: None,
        force_stop: false,
        tags: TagSet::default(),
    }
}

fn nat(n: &str, s: &str, v: &str, e: &str, private: &str, public: Option<&str>) -> NatGateway {
    NatGateway {
        id: id(n),
        owner_id: owner(),
        subnet_id: id(s),
        vpc_id: id(v),
        connectivity_type: if public.is_some() {
            ConnectivityType::Public
        } else {
            ConnectivityType::Private
        },
        state: NatGatewayState::Available,
        addresses: vec![NatGatewayAddress {
            network_interface_id: id(e),
            private_ip: ip(private),
            allocation_id: public.map(|_| id("eipalloc-nat")),
            public_ip: public.map(ip),
            association_id: None,
            is_primary: true,
        }],
        failure: None,
        create_time: String::new(),
        delete_time: None,
        client_token: None,
        tags: TagSet::default(),
    }
}

fn side(v: &str, block: &str) -> PeerVpcInfo {
    PeerVpcInfo {
        owner_id: owner(),
        vpc_id: id(v),
        region: "us-east-1".into(),
        cidr_blocks: vec![cidr(block)],
        allow_dns_resolution_from_remote_vpc: false,
    }
}

fn peering(p: &str, a: (&str, &str), b: (&str, &str), state: PeeringState) -> VpcPeeringConnection {
    VpcPeeringConnection {
        id: id(p),
        requester: side(a.0, a.1),
        accepter: side(b.0, b.1),
        state,
        state_since_ms: 0,
        acted_by: None,
        acted_by_account: None,
        expiration_ms: 0,
        tags: TagSet::default(),
    }
}

fn attachment(a: &str, v: &str, s: &str, table: Option<&str>) -> TransitGatewayAttachment {
    TransitGatewayAttachment {
        id: id(a),
        transit_gateway_id: id("tgw-1"),
        transit_gateway_owner_id: owner(),
        vpc_id: id(v),
        vpc_owner_id: owner(),
        state: AttachmentState::Available,
        subnets: vec![AttachmentSubnet {
            subnet_id: id(s),
            availability_zone: "us-east-1a".into(),
            address: ip("10.255.255.254"),
        }],
        options: VpcAttachmentOptions::default(),
        association: table.map(id),
        creation_time: String::new(),
        tags: TagSet::default(),
    }
}

/// The lab: vpc-1 (public and private subnets, IGW, NAT gateway; two
/// instances), vpc-2 (one instance), vpc-3 (nothing on this host), peerings
/// 1–2 (active), 1–3 (active, but vpc-3 is not here), 1–2 (pending), and a
/// transit gateway attached to all three.
fn lab() -> NetworkView {
    let mut e1 = eni(
        "eni-1",
        "subnet-pub1",
        "vpc-1",
        &["10.1.1.10"],
        &["sg-1"],
        Some("i-1"),
    );
    e1.source_dest_check = false;
    let mut e2 = eni(
        "eni-2",
        "subnet-priv1",
        "vpc-1",
        &["10.1.2.10", "10.1.2.11"],
        &["sg-1"],
        Some("i-2"),
    );
    e2.public_ips = vec![eip("10.1.2.11", "198.51.100.21")];
    let mut e3 = eni(
        "eni-3",
        "subnet-2",
        "vpc-2",
        &["10.2.1.10"],
        &["sg-2"],
        Some("i-3"),
    );
    e3.public_ips = vec![eip("10.2.1.10", "198.51.100.30")];
    let elsewhere = eni(
        "eni-x",
        "subnet-2",
        "vpc-2",
        &["10.2.1.50"],
        &["sg-2"],
        None,
    );
    let nat_eni = eni("eni-nat", "subnet-pub1", "vpc-1", &["10.1.1.9"], &[], None);
    let i1 = instance("i-1", &e1, Some("198.51.100.10"));
    let i2 = instance("i-2", &e2, None);
    let i3 = instance("i-3", &e3, Some("198.51.100.31"));
    let mut failed = nat(
        "nat-failed",
        "subnet-pub1",
        "vpc-1",
        "eni-gone",
        "10.1.1.8",
        None,
    );
    failed.state = NatGatewayState::Failed;
    let mut blackholed = route("172.20.0.0/16", RouteTarget::NetworkInterface(id("eni-1")));
    blackholed.state = RouteState::Blackhole;
    let deny_ssh = Entry {
        rule_number: 100,
        egress: false,
        rule_action: RuleAction::Deny,
        protocol: 6,
        cidr_block: cidr("0.0.0.0/0"),
        port_range: Some((22, 22)),
        icmp_type_code: None,
    };
    NetworkView {
        vpcs: vec![
            vpc("vpc-1", "10.1.0.0/16"),
            vpc("vpc-2", "10.2.0.0/16"),
            vpc("vpc-3", "10.3.0.0/16"),
        ],
        subnets: vec![
            subnet("subnet-pub1", "vpc-1", "10.1.1.0/24"),
            subnet("subnet-priv1", "vpc-1", "10.1.2.0/24"),
            subnet("subnet-2", "vpc-2", "10.2.1.0/24"),
            subnet("subnet-3", "vpc-3", "10.3.1.0/24"),
        ],
        route_tables: vec![
            table(
                "rtb-main1",
                "vpc-1",
                true,
                &[],
                vec![
                    Route::local(cidr("10.1.0.0/16")),
                    route("0.0.0.0/0", RouteTarget::NatGateway(id("nat-1"))),
                    route("10.2.0.0/16", RouteTarget::TransitGateway(id("tgw-1"))),
                ],
            ),
            table(
                "rtb-pub1",
                "vpc-1",
                false,
                &["subnet-pub1"],
                vec![
                    Route::local(cidr("10.1.0.0/16")),
                    route("0.0.0.0/0", RouteTarget::Gateway(id("igw-1"))),
                    route(
                        "10.2.0.0/16",
                        RouteTarget::VpcPeeringConnection(id("pcx-12")),
                    ),
                    route(
                        "10.3.0.0/16",
                        RouteTarget::VpcPeeringConnection(id("pcx-13")),
                    ),
                    route("192.168.0.0/16", RouteTarget::Instance(id("i-2"))),
                    route("192.169.0.0/16", RouteTarget::NetworkInterface(id("eni-1"))),
                    route("192.170.0.0/16", RouteTarget::Instance(id("i-elsewhere"))),
                    route("10.99.0.0/16", RouteTarget::Gateway(id("igw-2"))),
                    route("10.98.0.0/16", RouteTarget::NatGateway(id("nat-failed"))),
                    blackholed,
                ],
            ),
            table(
                "rtb-unused1",
                "vpc-1",
                false,
                &[],
                vec![Route::local(cidr("10.1.0.0/16"))],
            ),
            table(
                "rtb-main2",
                "vpc-2",
                true,
                &[],
                vec![
                    Route::local(cidr("10.2.0.0/16")),
                    route(
                        "10.1.0.0/16",
                        RouteTarget::VpcPeeringConnection(id("pcx-12")),
                    ),
                    route("0.0.0.0/0", RouteTarget::Gateway(id("igw-1"))),
                    route("10.3.0.0/16", RouteTarget::TransitGateway(id("tgw-none"))),
                ],
            ),
            table(
                "rtb-main3",
                "vpc-3",
                true,
                &[],
                vec![Route::local(cidr("10.3.0.0/16"))],
            ),
        ],
        network_acls: vec![
            acl("acl-default1", "vpc-1", true, &["subnet-pub1"], vec![]),
            acl(
                "acl-ssh1",
                "vpc-1",
                false,
                &["subnet-priv1"],
                vec![deny_ssh, Entry::allow_all(200, false)],
            ),
            // A torn read: subnet-2's association is missing; the default serves.
            acl("acl-default2", "vpc-2", true, &[], vec![]),
            acl("acl-default3", "vpc-3", true, &["subnet-3"], vec![]),
        ],
        security_groups: vec![
            group(
                "sg-1",
                "vpc-1",
                vec![
                    rule(
                        Protocol::Tcp,
                        Some((22, 22)),
                        Target::Cidr(cidr("0.0.0.0/0")),
                    ),
                    rule(Protocol::All, None, group_ref("sg-1")),
                    rule(Protocol::Icmp, Some((-1, -1)), group_ref("sg-2")),
                ],
                vec![rule(Protocol::All, None, Target::Cidr(cidr("0.0.0.0/0")))],
            ),
            group("sg-2", "vpc-2", vec![], vec![]),
            group(
                "sg-unused",
                "vpc-1",
                vec![rule(Protocol::All, None, group_ref("sg-3"))],
                vec![],
            ),
        ],
        interfaces: vec![e1.clone(), e2.clone(), e3.clone(), elsewhere, nat_eni],
        internet_gateways: vec![
            InternetGateway {
                id: id("igw-1"),
                owner_id: owner(),
                vpc_id: Some(id("vpc-1")),
                tags: TagSet::default(),
            },
            InternetGateway {
                id: id("igw-2"),
                owner_id: owner(),
                vpc_id: None,
                tags: TagSet::default(),
            },
        ],
        nat_gateways: vec![
            nat(
                "nat-1",
                "subnet-pub1",
                "vpc-1",
                "eni-nat",
                "10.1.1.9",
                Some("198.51.100.9"),
            ),
            failed,
        ],
        peerings: vec![
            peering(
                "pcx-12",
                ("vpc-1", "10.1.0.0/16"),
                ("vpc-2", "10.2.0.0/16"),
                PeeringState::Active,
            ),
            peering(
                "pcx-13",
                ("vpc-1", "10.1.0.0/16"),
                ("vpc-3", "10.3.0.0/16"),
                PeeringState::Active,
            ),
            peering(
                "pcx-pending",
                ("vpc-2", "10.2.0.0/16"),
                ("vpc-1", "10.1.0.0/16"),
                PeeringState::PendingAcceptance,
            ),
        ],
        transit_gateways: vec![TransitGateway {
            id: id("tgw-1"),
            arn: String::new(),
            owner_id: owner(),
            description: None,
            state: TransitGatewayState::Available,
            creation_time: String::new(),
            options: TransitGatewayOptions::from_request(&TransitGatewayRequestOptions::default())
                .unwrap(),
            tags: TagSet::default(),
        }],
        tgw_attachments: vec![
            attachment("tgw-attach-1", "vpc-1", "subnet-priv1", Some("tgw-rtb-1")),
            attachment("tgw-attach-2", "vpc-2", "subnet-2", Some("tgw-rtb-1")),
            attachment("tgw-attach-3", "vpc-3", "subnet-3", Some("tgw-rtb-1")),
        ],
        tgw_route_tables: vec![TransitGatewayRouteTable {
            id: id("tgw-rtb-1"),
            transit_gateway_id: id("tgw-1"),
            owner_id: owner(),
            state: RouteTableState::Available,
            default_association_route_table: true,
            default_propagation_route_table: true,
            propagations: vec![id("tgw-attach-1"), id("tgw-attach-2"), id("tgw-attach-3")],
            static_routes: vec![
                StaticRoute {
                    destination: cidr("0.0.0.0/0"),
                    attachment_id: Some(id("tgw-attach-1")),
                },
                StaticRoute {
                    destination: cidr("10.50.0.0/16"),
                    attachment_id: None,
                },
            ],
            creation_time: String::new(),
            tags: TagSet::default(),
        }],
        instances: vec![i1, i2, i3],
    }
}

fn targets(
    model: &nubo_net::NetworkModel,
    vpc: &str,
    table: &str,
) -> Vec<(String, RouteTargetNet)> {
    model
        .vpc(vpc)
        .unwrap()
        .route_table(table)
        .unwrap()
        .routes
        .iter()
        .map(|r| (r.destination.to_string(), r.target.clone()))
        .collect()
}

#[test]
fn only_vpcs_with_enis_or_nat_gateways_here_are_in_the_model() {
    let model = network_model(&lab(), &external());
    let ids: Vec<&str> = model.vpcs.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, vec!["vpc-1", "vpc-2"]);
    assert_eq!(model.external, external());
    let v1 = model.vpc("vpc-1").unwrap();
    let enis: Vec<&str> = v1.enis.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(enis, vec!["eni-1", "eni-2"]);
    assert_eq!(v1.cidrs, vec![cidr("10.1.0.0/16")]);
    assert!(!v1.enis[0].source_dest_check);
    assert_eq!(v1.enis[1].addresses, vec![ip("10.1.2.10"), ip("10.1.2.11")]);
    assert_eq!(v1.enis[1].instance_id, "i-2");

    // A stopped instance drops out (the view holds only instances that run).
    let mut view = lab();
    view.instances.retain(|i| i.id.as_str() != "i-3");
    let model = network_model(&view, &external());
    let ids: Vec<&str> = model.vpcs.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, vec!["vpc-1"], "vpc-2 has nothing left here");
    assert!(model.peerings.is_empty(), "a peering needs both VPCs here");

    // A VPC with only a NAT gateway stays: its gateway runs here.
    view.instances.clear();
    let model = network_model(&view, &external());
    let v1 = model.vpc("vpc-1").unwrap();
    assert!(v1.enis.is_empty());
    assert_eq!(v1.nat_gateways.len(), 1);
}

#[test]
fn subnets_use_their_explicit_table_else_the_main_one_and_their_acl() {
    let model = network_model(&lab(), &external());
    let v1 = model.vpc("vpc-1").unwrap();
    let pub1 = v1.subnet("subnet-pub1").unwrap();
    assert_eq!(
        (pub1.route_table.as_str(), pub1.network_acl.as_str()),
        ("rtb-pub1", "acl-default1")
    );
    assert_eq!(pub1.cidr, cidr("10.1.1.0/24"));
    let priv1 = v1.subnet("subnet-priv1").unwrap();
    assert_eq!(
        (priv1.route_table.as_str(), priv1.network_acl.as_str()),
        ("rtb-main1", "acl-ssh1")
    );
    let tables: Vec<&str> = v1.route_tables.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        tables,
        vec!["rtb-main1", "rtb-pub1"],
        "unused tables are left out"
    );
    let acls: Vec<&str> = v1.network_acls.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(acls, vec!["acl-default1", "acl-ssh1"]);
    let ssh = v1.network_acl("acl-ssh1").unwrap();
    let numbers: Vec<(i32, bool)> = ssh
        .ingress
        .iter()
        .map(|e| (e.rule_number, e.allow))
        .collect();
    assert_eq!(numbers, vec![(100, false), (200, true)]);
    assert!(ssh.egress.is_empty());
    let v2 = model.vpc("vpc-2").unwrap();
    assert_eq!(v2.subnet("subnet-2").unwrap().network_acl, "acl-default2");
}

#[test]
fn route_targets_are_translated_or_blackholed() {
    let model = network_model(&lab(), &external());
    use RouteTargetNet::*;
    assert_eq!(
        targets(&model, "vpc-1", "rtb-pub1"),
        vec![
            ("10.1.0.0/16".into(), Local),
            ("0.0.0.0/0".into(), InternetGateway("igw-1".into())),
            ("10.2.0.0/16".into(), Peering("pcx-12".into())),
            // vpc-3 is not on this host: no peering link to it.
            ("10.3.0.0/16".into(), Blackhole),
            // An instance target is its primary interface.
            ("192.168.0.0/16".into(), Eni("eni-2".into())),
            ("192.169.0.0/16".into(), Eni("eni-1".into())),
            ("192.170.0.0/16".into(), Blackhole),
            // A gateway not attached to this VPC, a failed NAT gateway.
            ("10.99.0.0/16".into(), Blackhole),
            ("10.98.0.0/16".into(), Blackhole),
            // The store marked it blackhole.
            ("172.20.0.0/16".into(), Blackhole),
        ]
    );
    assert_eq!(
        targets(&model, "vpc-1", "rtb-main1"),
        vec![
            ("10.1.0.0/16".into(), Local),
            ("0.0.0.0/0".into(), NatGateway("nat-1".into())),
            ("10.2.0.0/16".into(), TransitGateway("tgw-1".into())),
        ]
    );
    assert_eq!(
        targets(&model, "vpc-2", "rtb-main2"),
        vec![
            ("10.2.0.0/16".into(), Local),
            ("10.1.0.0/16".into(), Peering("pcx-12".into())),
            // vpc-1's gateway: another VPC's IGW never carries vpc-2's traffic.
            ("0.0.0.0/0".into(), Blackhole),
            ("10.3.0.0/16".into(), Blackhole),
        ]
    );
    assert_eq!(
        model.vpc("vpc-1").unwrap().internet_gateway.as_deref(),
        Some("igw-1")
    );
    assert_eq!(model.vpc("vpc-2").unwrap().internet_gateway, None);
}

#[test]
fn public_addresses_come_from_launch_ips_and_elastic_ips() {
    let model = network_model(&lab(), &external());
    let v1 = model.vpc("vpc-1").unwrap();
    assert_eq!(
        v1.enis[0].public,
        vec![(ip("10.1.1.10"), ip("198.51.100.10"))]
    );
    assert_eq!(
        v1.enis[1].public,
        vec![(ip("10.1.2.11"), ip("198.51.100.21"))]
    );
    // An Elastic IP on the primary address replaces the launch-time one.
    let v2 = model.vpc("vpc-2").unwrap();
    assert_eq!(
        v2.enis[0].public,
        vec![(ip("10.2.1.10"), ip("198.51.100.30"))]
    );
    let nat = &v1.nat_gateways[0];
    assert_eq!(
        (nat.id.as_str(), nat.eni_id.as_str(), nat.subnet_id.as_str()),
        ("nat-1", "eni-nat", "subnet-pub1")
    );
    assert_eq!(nat.private_address, ip("10.1.1.9"));
    assert_eq!(nat.public_address, Some(ip("198.51.100.9")));
    assert_eq!(v1.nat_gateways.len(), 1, "the failed gateway is not here");
}

#[test]
fn security_groups_and_their_referenced_members_across_vpcs() {
    let model = network_model(&lab(), &external());
    let v1 = model.vpc("vpc-1").unwrap();
    let groups: Vec<&str> = v1.security_groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(groups, vec!["sg-1"], "only the groups of ENIs here");
    let sg1 = v1.security_group("sg-1").unwrap();
    assert_eq!(sg1.ingress[0].peer, SgPeer::Cidr(cidr("0.0.0.0/0")));
    assert_eq!(
        sg1.ingress[0].matches,
        Match {
            protocol: Some(6),
            l4: L4::Ports(22, 22)
        }
    );
    assert_eq!(sg1.ingress[1].peer, SgPeer::Group("sg-1".into()));
    assert_eq!(sg1.ingress[2].peer, SgPeer::Group("sg-2".into()));
    assert_eq!(sg1.egress[0].matches.protocol, None);
    // Members: every interface of the group, wherever it runs.
    assert_eq!(
        model.group_members.get("sg-1"),
        Some(&vec![ip("10.1.1.10"), ip("10.1.2.10"), ip("10.1.2.11")])
    );
    assert_eq!(
        model.group_members.get("sg-2"),
        Some(&vec![ip("10.2.1.10"), ip("10.2.1.50")])
    );
    assert!(
        !model.group_members.contains_key("sg-3"),
        "referenced only by an unused group"
    );
}

#[test]
fn only_active_peerings_between_vpcs_here() {
    let model = network_model(&lab(), &external());
    assert_eq!(model.peerings.len(), 1);
    let p = &model.peerings[0];
    assert_eq!(p.id, "pcx-12");
    assert_eq!(p.requester.vpc_id, "vpc-1");
    assert_eq!(p.requester.cidrs, vec![cidr("10.1.0.0/16")]);
    assert_eq!(p.accepter.vpc_id, "vpc-2");
    assert_eq!(p.accepter.cidrs, vec![cidr("10.2.0.0/16")]);
}

#[test]
fn transit_gateway_attachments_and_routes() {
    let model = network_model(&lab(), &external());
    assert_eq!(model.transit_gateways.len(), 1);
    let tgw = &model.transit_gateways[0];
    assert_eq!(
        tgw.attachments,
        vec![
            TgwAttachmentNet {
                id: "tgw-attach-1".into(),
                vpc_id: "vpc-1".into(),
                subnet_id: "subnet-priv1".into(),
                route_table: Some("tgw-rtb-1".into()),
            },
            TgwAttachmentNet {
                id: "tgw-attach-2".into(),
                vpc_id: "vpc-2".into(),
                subnet_id: "subnet-2".into(),
                route_table: Some("tgw-rtb-1".into()),
            },
        ],
        "vpc-3 is not here"
    );
    let to = |d: &str, a: Option<&str>| TgwRouteNet {
        destination: cidr(d),
        attachment: a.map(String::from),
    };
    assert_eq!(
        tgw.route_tables[0].routes,
        vec![
            to("0.0.0.0/0", Some("tgw-attach-1")),
            to("10.1.0.0/16", Some("tgw-attach-1")),
            to("10.2.0.0/16", Some("tgw-attach-2")),
            // Propagated by an attachment whose VPC is not here.
            to("10.3.0.0/16", None),
            to("10.50.0.0/16", None),
        ]
    );

    // Without attachments here, the gateway is not in the model.
    let mut view = lab();
    view.tgw_attachments
        .retain(|a| a.vpc_id.as_str() == "vpc-3");
    let model = network_model(&view, &external());
    assert!(model.transit_gateways.is_empty());
    assert_eq!(
        targets(&model, "vpc-1", "rtb-main1")[2],
        ("10.2.0.0/16".into(), RouteTargetNet::Blackhole)
    );
}

#[test]
fn the_model_is_deterministic() {
    assert_eq!(
        network_model(&lab(), &external()),
        network_model(&lab(), &external())
    );
}
