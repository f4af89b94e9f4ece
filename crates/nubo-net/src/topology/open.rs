//! A permissive model built from bare ENI plugs: one VPC per VPC ID (its
//! block the `/8` of its first address), a subnet per plugged subnet with
//! one route table and an allow-all network ACL, one security group allowing
//! everything in and out. What the privileged suites and the benchmark use
//! when they test plumbing rather than policy.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::model::{
    AclEntryNet, AclNet, EniNet, ExternalNet, Ipv4Cidr, Match, NetworkModel, RouteTableNet,
    SecurityGroupNet, SgPeer, SgRuleNet, SubnetNet, VpcNet, L4,
};
use crate::plan::EniPlug;

/// The ID of the one security group of [`open_model`].
pub const OPEN_GROUP: &str = "sg-open";

fn any() -> Ipv4Cidr {
    Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0).unwrap_or_else(|| unreachable!())
}

/// Everything allowed between (and out of) the given ENIs.
pub fn open_model(external: ExternalNet, plugs: &[EniPlug]) -> NetworkModel {
    let all = Match {
        protocol: None,
        l4: L4::Any,
    };
    let mut vpcs: BTreeMap<String, VpcNet> = BTreeMap::new();
    for p in plugs {
        let vpc = vpcs.entry(p.vpc_id.clone()).or_insert_with(|| VpcNet {
            id: p.vpc_id.clone(),
            cidrs: Ipv4Cidr::new(p.address, 8).into_iter().collect(),
            subnets: Vec::new(),
            route_tables: vec![RouteTableNet {
                id: format!("rtb-{}", p.vpc_id),
                routes: Vec::new(),
            }],
            network_acls: vec![AclNet {
                id: format!("acl-{}", p.vpc_id),
                ingress: vec![AclEntryNet {
                    rule_number: 100,
                    allow: true,
                    cidr: any(),
                    matches: all,
                }],
                egress: vec![AclEntryNet {
                    rule_number: 100,
                    allow: true,
                    cidr: any(),
                    matches: all,
                }],
            }],
            security_groups: vec![SecurityGroupNet {
                id: OPEN_GROUP.into(),
                ingress: vec![SgRuleNet {
                    peer: SgPeer::Cidr(any()),
                    matches: all,
                }],
                egress: vec![SgRuleNet {
                    peer: SgPeer::Cidr(any()),
                    matches: all,
                }],
            }],
            enis: Vec::new(),
            internet_gateway: None,
            nat_gateways: Vec::new(),
        });
        let Some(cidr) = Ipv4Cidr::new(p.address, p.prefix_len) else {
            continue;
        };
        let subnet_id = format!("subnet-{}", u32::from(cidr.network()));
        if vpc.subnet(&subnet_id).is_none() {
            vpc.subnets.push(SubnetNet {
                id: subnet_id.clone(),
                cidr,
                route_table: format!("rtb-{}", p.vpc_id),
                network_acl: format!("acl-{}", p.vpc_id),
            });
        }
        vpc.enis.push(EniNet {
            id: p.eni_id.clone(),
            instance_id: p.instance_id.clone(),
            device_index: p.device_index,
            subnet_id,
            mac: p.mac.clone(),
            addresses: vec![p.address],
            security_groups: vec![OPEN_GROUP.into()],
            source_dest_check: true,
            public: Vec::new(),
        });
    }
    NetworkModel {
        vpcs: vpcs.into_values().collect(),
        ..NetworkModel::empty(external)
    }
}
