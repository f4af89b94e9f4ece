//! A VPC router's plan: its links beyond the ENIs (internet-gateway uplink,
//! peering links, transit-gateway attachment ends), main-table routes (a `/32`
//! per private address of every ENI and NAT-gateway ENI, a blackhole per VPC
//! block so an unassigned address never falls to a route table's default),
//! policy rules (VPC blocks → `main`; fwmark T → table T for every route table
//! a subnet uses) and one kernel table per route table.

use std::collections::BTreeSet;

use super::{addr, check_tables, derived_mac, host32, router_sysctls, up, uplink_sysctls, NsPlan};
use super::{LINK_FAR, LINK_NEAR, PRIO_LOCAL, PRIO_TABLE};
use crate::model::{kernel_table, NetworkModel, RouteTableNet, RouteTargetNet, VpcNet};
use crate::ops::{
    KernelRoute, KernelRule, NextHop, RuleAction, RuleSelector, VethSpec, HOST_NETNS, MAIN_TABLE,
};
use crate::plan::router_base_cmds;
use crate::{NetConfig, NetError};

/// Whether the VPC's router gets an internet-gateway uplink: an attached
/// gateway and at least one public address to answer for.
pub fn wants_uplink(vpc: &VpcNet) -> bool {
    vpc.internet_gateway.is_some() && !public_addresses(vpc).is_empty()
}

/// Every public address the router answers for on its uplink.
pub fn public_addresses(vpc: &VpcNet) -> Vec<std::net::Ipv4Addr> {
    let mut out: Vec<_> = vpc
        .enis
        .iter()
        .flat_map(|e| e.public.iter().map(|(_, public)| *public))
        .chain(vpc.nat_gateways.iter().filter_map(|n| n.public_address))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The router's plan and the gateway veths it originates (uplink, the
/// peerings where it is the requester).
pub fn router_plan(
    cfg: &NetConfig,
    model: &NetworkModel,
    vpc: &VpcNet,
) -> Result<(NsPlan, Vec<VethSpec>), NetError> {
    let netns = cfg.router_netns(&vpc.id);
    let mut ns = NsPlan {
        netns: netns.clone(),
        sysctls: router_sysctls(),
        cmds: router_base_cmds(),
        main_blackholes: true,
        ..NsPlan::default()
    };
    let mut veths = Vec::new();
    for subnet in &vpc.subnets {
        let gw = std::net::Ipv4Addr::from(u32::from(subnet.cidr.network()) + 1);
        ns.cmds.push(addr("lo", gw, 32));
    }

    // Main table: every private address of an ENI here, and VPC blackholes.
    for eni in &vpc.enis {
        let link = cfg.eni_link(&eni.id);
        ns.managed_devs.insert(link.clone());
        for a in &eni.addresses {
            ns.routes.push(KernelRoute {
                table: MAIN_TABLE,
                dst: host32(*a),
                next: NextHop::Dev(link.clone()),
            });
        }
    }
    for nat in &vpc.nat_gateways {
        let link = cfg.eni_link(&nat.eni_id);
        ns.managed_devs.insert(link.clone());
        ns.routes.push(KernelRoute {
            table: MAIN_TABLE,
            dst: host32(nat.private_address),
            next: NextHop::Dev(link),
        });
    }
    for cidr in &vpc.cidrs {
        ns.routes.push(KernelRoute {
            table: MAIN_TABLE,
            dst: *cidr,
            next: NextHop::Blackhole,
        });
        ns.rules.push(KernelRule {
            priority: PRIO_LOCAL,
            selector: RuleSelector::To(*cidr),
            action: RuleAction::Lookup(MAIN_TABLE),
        });
    }

    // Gateway links.
    let uplink = wants_uplink(vpc).then(|| cfg.uplink_router(&vpc.id));
    if let Some(link) = &uplink {
        veths.push(VethSpec {
            netns: HOST_NETNS.to_string(),
            name: cfg.uplink_host(&vpc.id),
            peer_netns: netns.clone(),
            peer_name: link.clone(),
            peer_mac: derived_mac(&vpc.id),
        });
        ns.gateway_links.insert(link.clone());
        ns.sysctls.extend(uplink_sysctls(link));
        for public in public_addresses(vpc) {
            ns.cmds.push(addr(link, public, 32));
        }
        ns.cmds.push(up(link));
    }
    for pcx in &model.peerings {
        let near = if pcx.requester.vpc_id == vpc.id {
            LINK_NEAR
        } else if pcx.accepter.vpc_id == vpc.id {
            LINK_FAR
        } else {
            continue;
        };
        let link = cfg.peering_link(&pcx.id);
        if near == LINK_NEAR && model.vpc(&pcx.accepter.vpc_id).is_some() {
            veths.push(VethSpec {
                netns: netns.clone(),
                name: link.clone(),
                peer_netns: cfg.router_netns(&pcx.accepter.vpc_id),
                peer_name: link.clone(),
                peer_mac: derived_mac(&pcx.id),
            });
        }
        ns.gateway_links.insert(link.clone());
        ns.cmds.push(addr(&link, near, 32));
        ns.cmds.push(up(&link));
    }
    for att in model
        .transit_gateways
        .iter()
        .flat_map(|t| t.attachments.iter())
        .filter(|a| a.vpc_id == vpc.id)
    {
        let link = cfg.tgw_vpc_link(&att.id);
        ns.gateway_links.insert(link.clone());
        ns.cmds.push(addr(&link, LINK_NEAR, 32));
        ns.cmds.push(up(&link));
    }

    // Route tables in use, each its kernel table selected by its mark.
    let used: BTreeSet<&str> = vpc.subnets.iter().map(|s| s.route_table.as_str()).collect();
    check_tables(&netns, used.iter().copied())?;
    for id in &used {
        let table = kernel_table(id);
        ns.rules.push(KernelRule {
            priority: PRIO_TABLE,
            selector: RuleSelector::Fwmark(table),
            action: RuleAction::Lookup(table),
        });
        if let Some(rtb) = vpc.route_table(id) {
            ns.routes
                .extend(table_routes(cfg, model, vpc, rtb, uplink.as_deref()));
        }
    }
    ns.nft = Some(crate::filter::router_ruleset(cfg, model, &vpc.id)?);
    Ok((ns, veths))
}

/// The kernel routes of one route table: every non-local route to where its
/// target is on this host, or a blackhole when the target cannot carry
/// traffic here. The kernel picks the longest prefix, as AWS does.
fn table_routes(
    cfg: &NetConfig,
    model: &NetworkModel,
    vpc: &VpcNet,
    rtb: &RouteTableNet,
    uplink: Option<&str>,
) -> Vec<KernelRoute> {
    let table = kernel_table(&rtb.id);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for route in &rtb.routes {
        if !seen.insert(route.destination) {
            continue;
        }
        let next = match &route.target {
            RouteTargetNet::Local => continue,
            RouteTargetNet::InternetGateway(id) => {
                match (uplink, vpc.internet_gateway.as_deref()) {
                    (Some(link), Some(igw)) if igw == id => NextHop::Dev(link.to_string()),
                    _ => NextHop::Blackhole,
                }
            }
            RouteTargetNet::NatGateway(id) => match vpc.nat_gateways.iter().find(|n| &n.id == id) {
                Some(nat) => NextHop::Via {
                    gateway: nat.private_address,
                    dev: cfg.eni_link(&nat.eni_id),
                },
                None => NextHop::Blackhole,
            },
            RouteTargetNet::Peering(id) => {
                let pcx = model.peerings.iter().find(|p| &p.id == id);
                let far = pcx.and_then(|p| {
                    let both_here = model.vpc(&p.requester.vpc_id).is_some()
                        && model.vpc(&p.accepter.vpc_id).is_some();
                    if !both_here {
                        None
                    } else if p.requester.vpc_id == vpc.id {
                        Some(LINK_FAR)
                    } else if p.accepter.vpc_id == vpc.id {
                        Some(LINK_NEAR)
                    } else {
                        None
                    }
                });
                match far {
                    Some(gateway) => NextHop::Via {
                        gateway,
                        dev: cfg.peering_link(id),
                    },
                    None => NextHop::Blackhole,
                }
            }
            RouteTargetNet::TransitGateway(id) => {
                let att = model
                    .transit_gateways
                    .iter()
                    .filter(|t| &t.id == id)
                    .flat_map(|t| t.attachments.iter())
                    .find(|a| a.vpc_id == vpc.id);
                match att {
                    Some(att) => NextHop::Via {
                        gateway: LINK_FAR,
                        dev: cfg.tgw_vpc_link(&att.id),
                    },
                    None => NextHop::Blackhole,
                }
            }
            RouteTargetNet::Eni(id) => match vpc.enis.iter().find(|e| &e.id == id) {
                Some(eni) => match eni.addresses.first() {
                    Some(primary) => NextHop::Via {
                        gateway: *primary,
                        dev: cfg.eni_link(&eni.id),
                    },
                    None => NextHop::Blackhole,
                },
                None => NextHop::Blackhole,
            },
            RouteTargetNet::Blackhole => NextHop::Blackhole,
        };
        out.push(KernelRoute {
            table,
            dst: route.destination,
            next,
        });
    }
    out
}
