//! Pure planning: from the desired model (ENIs on this host, running instances)
//! and the observed kernel to the kernel objects and actions that converge one
//! to the other. No IO here; [`crate::DataPlane`] executes the plans through
//! [`crate::ops::NetOps`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::ops::{IpCmd, LinkInfo, RouteInfo, Sysctl, VethSpec};
use crate::{NetConfig, NetError};

/// The instance metadata address, on every VPC router's loopback.
pub const METADATA_ADDR: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);

/// One instance ENI on this host, as the host agent hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EniPlug {
    /// `eni-0123456789abcdef0`
    pub eni_id: String,
    /// `vpc-…`
    pub vpc_id: String,
    /// `i-…`; the instance's netns is `DataPlane::instance_netns(instance_id)`.
    pub instance_id: String,
    /// `02:xx:…` from the store.
    pub mac: String,
    /// Primary private IPv4.
    pub address: Ipv4Addr,
    /// The subnet's mask length (e.g. 24).
    pub prefix_len: u8,
    /// Subnet base + 1 (AWS's router address).
    pub gateway: Ipv4Addr,
    /// 0 → eth0.
    pub device_index: u32,
}

/// Everything one ENI needs in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlugPlan {
    pub router_netns: String,
    pub instance_netns: String,
    /// The router end's name (`veth.name`) and the instance end (`veth.peer_name`).
    pub veth: VethSpec,
    /// Sysctls on the router end: proxy ARP, answered without delay.
    pub router_link_sysctls: Vec<Sysctl>,
    /// Router side: gateway address on lo, the router end up, the `/32` route.
    pub router_cmds: Vec<IpCmd>,
    /// Instance side: lo and eth up, the address, the default route via the gateway.
    pub instance_cmds: Vec<IpCmd>,
}

/// Commands every VPC router gets: loopback up with the metadata address.
pub fn router_base_cmds() -> Vec<IpCmd> {
    vec![
        IpCmd::LinkUp { dev: "lo".into() },
        IpCmd::AddrReplace {
            dev: "lo".into(),
            addr: METADATA_ADDR,
            prefix_len: 32,
        },
    ]
}

/// Normalizes and checks a MAC (`02:AB:…` → `02:ab:…`); a unicast MAC is required.
pub fn normalize_mac(mac: &str) -> Result<String, NetError> {
    let parts: Vec<&str> = mac.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err(NetError::Invalid(format!("bad MAC address {mac:?}")));
    }
    let lower = mac.to_ascii_lowercase();
    let first = u8::from_str_radix(&lower[..2], 16)
        .map_err(|_| NetError::Invalid(format!("bad MAC address {mac:?}")))?;
    if first & 1 == 1 {
        return Err(NetError::Invalid(format!("MAC {mac} is multicast")));
    }
    Ok(lower)
}

fn mask(prefix_len: u8) -> u32 {
    if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_len))
    }
}

/// Plans one ENI. Refuses inputs the kernel would accept but that make no sense
/// for a VPC (address outside its subnet, address equal to the gateway).
pub fn plug_plan(cfg: &NetConfig, eni: &EniPlug) -> Result<PlugPlan, NetError> {
    let mac = normalize_mac(&eni.mac)?;
    if !(1..=30).contains(&eni.prefix_len) {
        return Err(NetError::Invalid(format!(
            "prefix length /{} of {} is not a usable subnet",
            eni.prefix_len, eni.eni_id
        )));
    }
    let m = mask(eni.prefix_len);
    if u32::from(eni.address) & m != u32::from(eni.gateway) & m {
        return Err(NetError::Invalid(format!(
            "{} address {} is not in the subnet of gateway {}/{}",
            eni.eni_id, eni.address, eni.gateway, eni.prefix_len
        )));
    }
    if eni.address == eni.gateway {
        return Err(NetError::Invalid(format!(
            "{} address {} is the subnet gateway",
            eni.eni_id, eni.address
        )));
    }
    let router_netns = cfg.router_netns(&eni.vpc_id);
    let instance_netns = cfg.instance_netns(&eni.instance_id);
    let link = cfg.eni_link(&eni.eni_id);
    let ifname = NetConfig::instance_ifname(eni.device_index);
    let router_link_sysctls = vec![
        Sysctl::new(format!("net/ipv4/conf/{link}/proxy_arp"), "1"),
        Sysctl::new(format!("net/ipv4/neigh/{link}/proxy_delay"), "0"),
    ];
    let router_cmds = vec![
        IpCmd::AddrReplace {
            dev: "lo".into(),
            addr: eni.gateway,
            prefix_len: 32,
        },
        IpCmd::LinkUp { dev: link.clone() },
        IpCmd::RouteReplace {
            dst: eni.address,
            prefix_len: 32,
            dev: link.clone(),
            via: None,
        },
    ];
    // The address goes on before the link comes up: carrier on the router end
    // then means the instance side is configured (see `eni_in_place`).
    let mut instance_cmds = vec![
        IpCmd::LinkUp { dev: "lo".into() },
        IpCmd::AddrReplace {
            dev: ifname.clone(),
            addr: eni.address,
            prefix_len: eni.prefix_len,
        },
        IpCmd::LinkUp {
            dev: ifname.clone(),
        },
    ];
    if eni.device_index == 0 {
        instance_cmds.push(IpCmd::RouteReplace {
            dst: Ipv4Addr::UNSPECIFIED,
            prefix_len: 0,
            dev: ifname.clone(),
            via: Some(eni.gateway),
        });
    }
    Ok(PlugPlan {
        veth: VethSpec {
            netns: router_netns.clone(),
            name: link,
            peer_netns: instance_netns.clone(),
            peer_name: ifname,
            peer_mac: mac,
        },
        router_netns,
        instance_netns,
        router_link_sysctls,
        router_cmds,
        instance_cmds,
    })
}

/// The prefixed kernel objects observed on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// All named namespaces (the plan ignores those without our prefix).
    pub netns: Vec<String>,
    /// For each of our router namespaces, its links.
    pub router_links: BTreeMap<String, Vec<LinkInfo>>,
    /// For each of our router namespaces, its routes.
    pub router_routes: BTreeMap<String, Vec<RouteInfo>>,
}

/// What the reconciler removes, and which desired ENIs it (re-)plugs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcilePlan {
    /// ENI router ends (netns, link) that are not desired in that router.
    pub remove_links: Vec<(String, String)>,
    /// Our namespaces (routers without a desired ENI, instances not running).
    pub remove_netns: Vec<String>,
    /// Indices into `desired` of the ENIs that are not (completely) in place.
    pub plug: Vec<usize>,
}

/// Whether an ENI is completely plugged, judged from its router alone: the
/// router end is up with carrier (so the instance end exists and was set up:
/// the instance batch brings it up after its address) and the `/32` route
/// (the last step of a plug) points at it. The instance side belongs to the
/// guest from then on, as on EC2; the router's reverse-path filter keeps a
/// guest that changes its address from using anyone else's.
pub fn eni_in_place(
    cfg: &NetConfig,
    eni: &EniPlug,
    links: &[LinkInfo],
    routes: &[RouteInfo],
) -> bool {
    let link = cfg.eni_link(&eni.eni_id);
    let dst = format!("{}/32", eni.address);
    links.iter().any(|l| l.name == link && l.up && l.lower_up)
        && routes.iter().any(|r| r.dst == dst && r.dev == link)
}

/// Diffs desired against observed. Only names with our prefix are touched.
/// The routers of `desired` ENIs and of `keep_vpcs` stay.
pub fn reconcile_plan(
    cfg: &NetConfig,
    desired: &[EniPlug],
    running_instances: &[String],
    keep_vpcs: &[String],
    observed: &Observed,
) -> ReconcilePlan {
    let want_routers: BTreeSet<String> = desired
        .iter()
        .map(|e| cfg.router_netns(&e.vpc_id))
        .chain(keep_vpcs.iter().map(|v| cfg.router_netns(v)))
        .collect();
    let want_links: BTreeSet<(String, String)> = desired
        .iter()
        .map(|e| (cfg.router_netns(&e.vpc_id), cfg.eni_link(&e.eni_id)))
        .collect();
    let want_instances: BTreeSet<String> = running_instances
        .iter()
        .map(|i| cfg.instance_netns(i))
        .chain(desired.iter().map(|e| cfg.instance_netns(&e.instance_id)))
        .collect();
    let mut plan = ReconcilePlan::default();
    for (router, links) in &observed.router_links {
        if !want_routers.contains(router) {
            continue; // the whole namespace goes
        }
        for link in links.iter().filter(|l| cfg.is_eni_link(&l.name)) {
            if !want_links.contains(&(router.clone(), link.name.clone())) {
                plan.remove_links.push((router.clone(), link.name.clone()));
            }
        }
    }
    for ns in &observed.netns {
        let stale = (cfg.is_router_netns(ns) && !want_routers.contains(ns))
            || (cfg.is_instance_netns(ns) && !want_instances.contains(ns));
        if stale {
            plan.remove_netns.push(ns.clone());
        }
    }
    let no_links = Vec::new();
    let no_routes = Vec::new();
    for (i, eni) in desired.iter().enumerate() {
        let router = cfg.router_netns(&eni.vpc_id);
        let instance = cfg.instance_netns(&eni.instance_id);
        let links = observed.router_links.get(&router).unwrap_or(&no_links);
        let routes = observed.router_routes.get(&router).unwrap_or(&no_routes);
        let instance_there = observed.netns.contains(&instance);
        if !instance_there || !eni_in_place(cfg, eni, links, routes) {
            plan.plug.push(i);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> NetConfig {
        NetConfig {
            prefix: "tq".into(),
        }
    }

    pub(crate) fn eni(id: &str, vpc: &str, inst: &str, addr: [u8; 4]) -> EniPlug {
        EniPlug {
            eni_id: id.into(),
            vpc_id: vpc.into(),
            instance_id: inst.into(),
            mac: "02:AA:bb:cc:dd:01".into(),
            address: Ipv4Addr::from(addr),
            prefix_len: 24,
            gateway: Ipv4Addr::new(addr[0], addr[1], addr[2], 1),
            device_index: 0,
        }
    }

    #[test]
    fn plug_plan_wires_both_ends() {
        let p = plug_plan(&cfg(), &eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5])).unwrap();
        assert_eq!(p.router_netns, "tq-vpc-01");
        assert_eq!(p.instance_netns, "tq-i-01");
        assert_eq!(p.veth.name, "tqe0a1");
        assert_eq!(p.veth.peer_name, "eth0");
        assert_eq!(p.veth.peer_mac, "02:aa:bb:cc:dd:01");
        assert!(p.router_cmds.contains(&IpCmd::RouteReplace {
            dst: Ipv4Addr::new(10, 0, 1, 5),
            prefix_len: 32,
            dev: "tqe0a1".into(),
            via: None
        }));
        assert!(p.router_cmds.contains(&IpCmd::AddrReplace {
            dev: "lo".into(),
            addr: Ipv4Addr::new(10, 0, 1, 1),
            prefix_len: 32
        }));
        assert!(p.instance_cmds.contains(&IpCmd::RouteReplace {
            dst: Ipv4Addr::UNSPECIFIED,
            prefix_len: 0,
            dev: "eth0".into(),
            via: Some(Ipv4Addr::new(10, 0, 1, 1))
        }));
        assert!(p
            .router_link_sysctls
            .contains(&Sysctl::new("net/ipv4/conf/tqe0a1/proxy_arp", "1")));
    }

    #[test]
    fn secondary_enis_get_no_default_route() {
        let mut e = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5]);
        e.device_index = 1;
        let p = plug_plan(&cfg(), &e).unwrap();
        assert_eq!(p.veth.peer_name, "eth1");
        assert!(!p
            .instance_cmds
            .iter()
            .any(|c| matches!(c, IpCmd::RouteReplace { .. })));
    }

    #[test]
    fn plug_plan_refuses_nonsense() {
        let mut e = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5]);
        e.mac = "02:aa:bb:cc:dd".into();
        assert!(plug_plan(&cfg(), &e).is_err());
        e.mac = "03:aa:bb:cc:dd:ee".into(); // multicast bit
        assert!(plug_plan(&cfg(), &e).is_err());
        let mut e = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 2, 5]);
        e.gateway = Ipv4Addr::new(10, 0, 1, 1);
        assert!(plug_plan(&cfg(), &e).is_err());
        let e = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 1]);
        assert!(plug_plan(&cfg(), &e).is_err());
        let mut e = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5]);
        e.prefix_len = 32;
        assert!(plug_plan(&cfg(), &e).is_err());
    }

    #[test]
    fn reconcile_removes_only_prefixed_orphans() {
        let c = cfg();
        let desired = vec![eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5])];
        let observed = Observed {
            netns: vec![
                "tq-vpc-01".into(),
                "tq-vpc-02".into(), // no desired ENI → goes
                "tq-i-01".into(),
                "tq-i-02".into(), // not running → goes
                "tq-i-03".into(), // running without ENI → stays
                "other-vpc-09".into(),
                "tqx-i-01".into(),
            ],
            router_links: BTreeMap::from([
                (
                    "tq-vpc-01".to_string(),
                    vec![link("lo"), link("tqe0a1"), link("tqe0ff")],
                ),
                ("tq-vpc-02".to_string(), vec![link("tqe0b2")]),
            ]),
            router_routes: BTreeMap::from([(
                "tq-vpc-01".to_string(),
                vec![route("10.0.1.5/32", "tqe0a1")],
            )]),
        };
        let plan = reconcile_plan(&c, &desired, &["i-03".to_string()], &[], &observed);
        assert_eq!(
            plan.remove_links,
            vec![("tq-vpc-01".to_string(), "tqe0ff".to_string())]
        );
        assert_eq!(
            plan.remove_netns,
            vec!["tq-vpc-02".to_string(), "tq-i-02".to_string()]
        );
        assert!(plan.plug.is_empty(), "eni-0a1 is in place");
    }

    fn link(name: &str) -> LinkInfo {
        LinkInfo {
            name: name.into(),
            mac: String::new(),
            up: true,
            lower_up: true,
        }
    }

    fn route(dst: &str, dev: &str) -> RouteInfo {
        RouteInfo {
            dst: dst.into(),
            dev: dev.into(),
        }
    }

    #[test]
    fn an_eni_is_in_place_only_with_carrier_and_its_route() {
        let c = cfg();
        let e = eni("eni-0a1", "vpc-01", "i-01", [10, 0, 1, 5]);
        let r = [route("10.0.1.5/32", "tqe0a1")];
        assert!(eni_in_place(&c, &e, &[link("tqe0a1")], &r));
        let mut no_carrier = link("tqe0a1");
        no_carrier.lower_up = false;
        assert!(!eni_in_place(&c, &e, &[no_carrier], &r));
        assert!(!eni_in_place(&c, &e, &[link("tqe0a1")], &[]));
        assert!(!eni_in_place(
            &c,
            &e,
            &[link("tqe0a1")],
            &[route("10.0.1.5/32", "tqe0ff")]
        ));
        assert!(!eni_in_place(&c, &e, &[], &r));
        // in place, but its instance namespace is gone → plug again
        let observed = Observed {
            netns: vec!["tq-vpc-01".into()],
            router_links: BTreeMap::from([("tq-vpc-01".to_string(), vec![link("tqe0a1")])]),
            router_routes: BTreeMap::from([("tq-vpc-01".to_string(), r.to_vec())]),
        };
        assert_eq!(reconcile_plan(&c, &[e], &[], &[], &observed).plug, vec![0]);
    }

    #[test]
    fn reconcile_of_nothing_removes_all_of_ours() {
        let observed = Observed {
            netns: vec!["tq-vpc-01".into(), "tq-i-01".into(), "nb-i-01".into()],
            ..Observed::default()
        };
        let plan = reconcile_plan(&cfg(), &[], &[], &[], &observed);
        assert_eq!(
            plan.remove_netns,
            vec!["tq-vpc-01".to_string(), "tq-i-01".to_string()]
        );
    }
}
