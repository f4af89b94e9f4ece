//! A representative model for the renderer's unit tests: VPC `vpc-0a` with
//! two subnets, three instance ENIs (one with a public IP, one with source/dest
//! check off and a secondary address), a public NAT gateway, an internet
//! gateway, a peering with `vpc-0b` and a transit-gateway attachment.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use crate::model::*;

pub fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

pub fn all() -> Match {
    Match {
        protocol: None,
        l4: L4::Any,
    }
}

pub fn tcp(lo: u16, hi: u16) -> Match {
    Match {
        protocol: Some(6),
        l4: L4::Ports(lo, hi),
    }
}

pub fn icmp(t: Option<u8>, c: Option<u8>) -> Match {
    Match {
        protocol: Some(1),
        l4: L4::Icmp {
            icmp_type: t,
            code: c,
        },
    }
}

pub fn rule(peer: SgPeer, matches: Match) -> SgRuleNet {
    SgRuleNet { peer, matches }
}

pub fn entry(n: i32, allow: bool, c: &str, matches: Match) -> AclEntryNet {
    AclEntryNet {
        rule_number: n,
        allow,
        cidr: cidr(c),
        matches,
    }
}

pub fn eni(id: &str, subnet: &str, addrs: &[&str], groups: &[&str]) -> EniNet {
    EniNet {
        id: id.into(),
        instance_id: format!("i-{}", &id[4..]),
        device_index: 0,
        subnet_id: subnet.into(),
        mac: "02:00:00:00:00:01".into(),
        addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
        security_groups: groups.iter().map(|g| g.to_string()).collect(),
        source_dest_check: true,
        public: Vec::new(),
    }
}

fn subnet(id: &str, c: &str, rtb: &str, acl: &str) -> SubnetNet {
    SubnetNet {
        id: id.into(),
        cidr: cidr(c),
        route_table: rtb.into(),
        network_acl: acl.into(),
    }
}

pub fn model() -> NetworkModel {
    let mut web = eni(
        "eni-0001",
        "subnet-0a1",
        &["10.0.1.10"],
        &["sg-0web", "sg-0def"],
    );
    web.public = vec![(
        "10.0.1.10".parse().unwrap(),
        "198.51.100.10".parse().unwrap(),
    )];
    let mut router = eni(
        "eni-0003",
        "subnet-0a2",
        &["10.0.2.10", "10.0.2.11"],
        &["sg-0def"],
    );
    router.source_dest_check = false;
    let vpc_a = VpcNet {
        id: "vpc-0a".into(),
        cidrs: vec![cidr("10.0.0.0/16")],
        subnets: vec![
            subnet("subnet-0a1", "10.0.1.0/24", "rtb-0a1", "acl-0a1"),
            subnet("subnet-0a2", "10.0.2.0/24", "rtb-0a2", "acl-0a2"),
        ],
        route_tables: vec![
            RouteTableNet {
                id: "rtb-0a1".into(),
                routes: vec![RouteNet {
                    destination: cidr("0.0.0.0/0"),
                    target: RouteTargetNet::InternetGateway("igw-0a".into()),
                }],
            },
            RouteTableNet {
                id: "rtb-0a2".into(),
                routes: vec![RouteNet {
                    destination: cidr("0.0.0.0/0"),
                    target: RouteTargetNet::NatGateway("nat-0n".into()),
                }],
            },
        ],
        network_acls: vec![
            AclNet {
                id: "acl-0a1".into(),
                ingress: vec![entry(100, true, "0.0.0.0/0", all())],
                egress: vec![entry(100, true, "0.0.0.0/0", all())],
            },
            AclNet {
                id: "acl-0a2".into(),
                // Out of order on purpose: rule 100 must come first.
                ingress: vec![
                    entry(200, true, "10.0.0.0/16", tcp(22, 22)),
                    entry(100, false, "10.0.1.0/24", tcp(22, 22)),
                    entry(300, true, "0.0.0.0/0", icmp(None, None)),
                ],
                egress: vec![entry(100, true, "0.0.0.0/0", tcp(1024, 65535))],
            },
        ],
        security_groups: vec![
            SecurityGroupNet {
                id: "sg-0def".into(),
                ingress: vec![rule(SgPeer::Group("sg-0def".into()), all())],
                egress: vec![rule(SgPeer::Cidr(cidr("0.0.0.0/0")), all())],
            },
            SecurityGroupNet {
                id: "sg-0web".into(),
                ingress: vec![
                    rule(SgPeer::Cidr(cidr("0.0.0.0/0")), tcp(22, 22)),
                    rule(SgPeer::Cidr(cidr("203.0.113.0/24")), icmp(Some(8), None)),
                    rule(SgPeer::Group("sg-0peer".into()), tcp(80, 80)),
                ],
                egress: Vec::new(),
            },
        ],
        enis: vec![
            web,
            eni("eni-0002", "subnet-0a1", &["10.0.1.11"], &["sg-0def"]),
            router,
        ],
        internet_gateway: Some("igw-0a".into()),
        nat_gateways: vec![NatGatewayNet {
            id: "nat-0n".into(),
            subnet_id: "subnet-0a1".into(),
            eni_id: "eni-00n1".into(),
            mac: "02:00:00:00:00:0e".into(),
            private_address: "10.0.1.50".parse().unwrap(),
            public_address: Some("198.51.100.50".parse().unwrap()),
        }],
    };
    let vpc_b = VpcNet {
        id: "vpc-0b".into(),
        cidrs: vec![cidr("10.1.0.0/16"), cidr("10.2.0.0/16")],
        subnets: vec![subnet("subnet-0b1", "10.1.0.0/24", "rtb-0b1", "acl-0b1")],
        route_tables: Vec::new(),
        network_acls: Vec::new(),
        security_groups: Vec::new(),
        enis: vec![eni("eni-0b01", "subnet-0b1", &["10.1.0.5"], &[])],
        internet_gateway: None,
        nat_gateways: Vec::new(),
    };
    let mut group_members = BTreeMap::new();
    group_members.insert(
        "sg-0def".to_string(),
        ["10.0.1.11", "10.0.1.10", "10.0.2.10", "10.0.2.11"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect(),
    );
    NetworkModel {
        external: ExternalNet {
            cidr: cidr("203.0.113.0/24"),
            host_address: "203.0.113.1".parse().unwrap(),
            public_pools: vec![cidr("198.51.100.0/24")],
            forward_to_uplink: false,
        },
        vpcs: vec![vpc_a, vpc_b],
        peerings: vec![PeeringNet {
            id: "pcx-0ab".into(),
            requester: PeerSide {
                vpc_id: "vpc-0a".into(),
                cidrs: vec![cidr("10.0.0.0/16")],
            },
            accepter: PeerSide {
                vpc_id: "vpc-0b".into(),
                cidrs: vec![cidr("10.1.0.0/16"), cidr("10.2.0.0/16")],
            },
        }],
        transit_gateways: vec![TransitGatewayNet {
            id: "tgw-01".into(),
            attachments: vec![TgwAttachmentNet {
                id: "tgw-attach-0t".into(),
                vpc_id: "vpc-0a".into(),
                subnet_id: "subnet-0a2".into(),
                route_table: Some("tgw-rtb-01".into()),
            }],
            route_tables: Vec::new(),
        }],
        group_members,
    }
}
