//! Plans of the namespaces around the VPC routers: the host (external bridge,
//! routes of the public pools onto it, uplink host ends enslaved to it), NAT
//! gateways (an ENI plugged like an instance's, forwarding, the masquerading
//! table) and transit gateways (one link per attachment, one kernel table per
//! transit-gateway route table, selected by the ingress attachment; an
//! attachment without a table, or a destination without a route, is dropped).

use super::{addr, check_tables, derived_mac, forwarding_sysctls, up, NatPlan, NsPlan};
use super::{LINK_FAR, LINK_NEAR, PRIO_BLACKHOLE, PRIO_TABLE};
use crate::filter;
use crate::model::{kernel_table, NatGatewayNet, NetworkModel, TransitGatewayNet, VpcNet};
use crate::ops::{
    IpCmd, KernelRoute, KernelRule, NextHop, RuleAction, RuleSelector, VethSpec, HOST_NETNS,
    MAIN_TABLE,
};
use crate::plan::EniPlug;
use crate::{NetConfig, NetError};

/// The host namespace: the bridge with the host's external address, a route
/// per public pool onto it, and every uplink's host end on it.
pub fn host_plan(cfg: &NetConfig, model: &NetworkModel) -> NsPlan {
    let bridge = cfg.external_bridge();
    let ext = &model.external;
    let mut ns = NsPlan {
        netns: HOST_NETNS.to_string(),
        cmds: vec![
            addr(&bridge, ext.host_address, ext.cidr.prefix()),
            up(&bridge),
        ],
        ..NsPlan::default()
    };
    ns.managed_devs.insert(bridge.clone());
    for pool in &ext.public_pools {
        ns.routes.push(KernelRoute {
            table: MAIN_TABLE,
            dst: *pool,
            next: NextHop::Dev(bridge.clone()),
        });
    }
    if ext.forward_to_uplink {
        ns.sysctls
            .push(crate::ops::Sysctl::new("net/ipv4/ip_forward", "1"));
        ns.nft = Some(host_forward_ruleset(cfg, &ext.public_pools));
    } else {
        // Forwarding turned off since a run that had it on: its table goes
        // (created empty first so the delete always has something to delete).
        ns.nft = Some(host_forward_removal(cfg));
    }
    for vpc in model.vpcs.iter().filter(|v| super::router::wants_uplink(v)) {
        let end = cfg.uplink_host(&vpc.id);
        ns.cmds.push(IpCmd::LinkMaster {
            dev: end.clone(),
            master: bridge.clone(),
        });
        ns.cmds.push(up(&end));
        ns.gateway_links.insert(end);
    }
    ns
}

/// The host's table when the operator forwards the public pools to the real
/// uplink: traffic from a pool leaving by any interface but the bridge is
/// masqueraded to the host's address there. Its own table (`ip <prefix>_ext`),
/// replaced atomically; nothing else of the host's ruleset is touched.
pub fn host_forward_ruleset(cfg: &NetConfig, pools: &[crate::model::Ipv4Cidr]) -> String {
    let table = format!("ip {}_ext", cfg.prefix);
    let bridge = cfg.external_bridge();
    let pools: Vec<String> = pools.iter().map(ToString::to_string).collect();
    let mut s = format!("table {table} {{}}\ndelete table {table}\ntable {table} {{\n");
    s.push_str("\tchain postrouting {\n");
    s.push_str("\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
    if !pools.is_empty() {
        s.push_str(&format!(
            "\t\tip saddr {{ {} }} oifname != \"{bridge}\" masquerade\n",
            pools.join(", ")
        ));
    }
    s.push_str("\t}\n}\n");
    s
}

/// The script removing [`host_forward_ruleset`]'s table, whether it exists
/// or not.
pub fn host_forward_removal(cfg: &NetConfig) -> String {
    let table = format!("ip {}_ext", cfg.prefix);
    format!("table {table} {{}}\ndelete table {table}\n")
}

/// A NAT gateway: its ENI as a plug into its own namespace, forwarding on,
/// and its masquerading table.
pub fn nat_plan(cfg: &NetConfig, vpc: &VpcNet, nat: &NatGatewayNet) -> Result<NatPlan, NetError> {
    let subnet = vpc.subnet(&nat.subnet_id).ok_or_else(|| {
        NetError::Invalid(format!(
            "NAT gateway {} is in subnet {}, which is not in {}",
            nat.id, nat.subnet_id, vpc.id
        ))
    })?;
    let plug = EniPlug {
        eni_id: nat.eni_id.clone(),
        vpc_id: vpc.id.clone(),
        instance_id: nat.id.clone(),
        mac: nat.mac.clone(),
        address: nat.private_address,
        prefix_len: subnet.cidr.prefix(),
        gateway: std::net::Ipv4Addr::from(u32::from(subnet.cidr.network()) + 1),
        device_index: 0,
    };
    let ns = NsPlan {
        netns: cfg.nat_netns(&nat.id),
        sysctls: forwarding_sysctls(),
        nft: Some(filter::nat_gateway_ruleset(nat)),
        ..NsPlan::default()
    };
    Ok(NatPlan { plug, ns })
}

/// A transit gateway's namespace and its attachment veths.
pub fn tgw_plan(
    cfg: &NetConfig,
    model: &NetworkModel,
    tgw: &TransitGatewayNet,
) -> Result<(NsPlan, Vec<VethSpec>), NetError> {
    let netns = cfg.tgw_netns(&tgw.id);
    let mut ns = NsPlan {
        netns: netns.clone(),
        sysctls: forwarding_sysctls(),
        // Loopback up: the kernel checks `onlink` gateways against the
        // local table, which exists once lo is up.
        cmds: vec![up("lo")],
        ..NsPlan::default()
    };
    let mut veths = Vec::new();
    let attachments: Vec<_> = tgw
        .attachments
        .iter()
        .filter(|a| model.vpc(&a.vpc_id).is_some())
        .collect();
    check_tables(&netns, tgw.route_tables.iter().map(|t| t.id.as_str()))?;
    for att in &attachments {
        let link = cfg.tgw_attachment_link(&att.id);
        veths.push(VethSpec {
            netns: netns.clone(),
            name: link.clone(),
            peer_netns: cfg.router_netns(&att.vpc_id),
            peer_name: cfg.tgw_vpc_link(&att.id),
            peer_mac: derived_mac(&att.id),
        });
        ns.cmds.push(addr(&link, LINK_FAR, 32));
        ns.cmds.push(up(&link));
        ns.gateway_links.insert(link.clone());
        let table = att
            .route_table
            .as_deref()
            .filter(|rt| tgw.route_tables.iter().any(|t| t.id == *rt));
        if let Some(rt) = table {
            ns.rules.push(KernelRule {
                priority: PRIO_TABLE,
                selector: RuleSelector::Iif(link.clone()),
                action: RuleAction::Lookup(kernel_table(rt)),
            });
        }
        ns.rules.push(KernelRule {
            priority: PRIO_BLACKHOLE,
            selector: RuleSelector::Iif(link),
            action: RuleAction::Blackhole,
        });
    }
    for rtb in &tgw.route_tables {
        let table = kernel_table(&rtb.id);
        let mut seen = std::collections::BTreeSet::new();
        for route in rtb.routes.iter().filter(|r| seen.insert(r.destination)) {
            let to = route
                .attachment
                .as_deref()
                .filter(|a| attachments.iter().any(|x| x.id == *a));
            let next = match to {
                Some(a) => NextHop::Via {
                    gateway: LINK_NEAR,
                    dev: cfg.tgw_attachment_link(a),
                },
                None => NextHop::Blackhole,
            };
            ns.routes.push(KernelRoute {
                table,
                dst: route.destination,
                next,
            });
        }
    }
    Ok((ns, veths))
}
