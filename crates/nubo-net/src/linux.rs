//! The real kernel behind [`NetOps`]: iproute2 (`ip -n <ns> -batch -`, one
//! process per batch) for links, addresses and routes, `/run/netns` for the
//! namespace list, and `/proc/sys` written from a thread inside the namespace
//! for sysctls (no process spawn), and `nft -f -` spawned from a thread
//! inside the namespace (a child inherits its thread's namespaces) for
//! nftables. [`HOST_NETNS`] is the host's own namespace: no `-n`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::model::Ipv4Cidr;
use crate::netns::{run_in_netns, NETNS_DIR};
use crate::ops::{
    IpCmd, KernelRoute, KernelRule, LinkInfo, NetOps, NextHop, RouteInfo, RuleAction, RuleSelector,
    Sysctl, VethSpec, HOST_NETNS, MAIN_TABLE,
};
use crate::NetError;

/// Drives the host's kernel. Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN).
#[derive(Debug, Default, Clone)]
pub struct LinuxNetOps;

impl LinuxNetOps {
    pub fn new() -> Self {
        LinuxNetOps
    }
}

/// `ip -n <netns> <args>`, or plain `ip <args>` in the host namespace.
fn ip_in(netns: &str, args: &[&str], stdin: Option<&str>) -> Result<String, NetError> {
    let mut all = Vec::with_capacity(args.len() + 2);
    if netns != HOST_NETNS {
        all.extend(["-n", netns]);
    }
    all.extend_from_slice(args);
    ip(&all, stdin)
}

fn ip(args: &[&str], stdin: Option<&str>) -> Result<String, NetError> {
    run("ip", args, stdin)
}

fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, NetError> {
    let command = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetError::io(format!("spawn {command}"), e))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| NetError::io(format!("write to {command}"), e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NetError::io(format!("wait for {command}"), e))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(NetError::Command {
            command: match stdin {
                Some(text) => format!("{command} <<< {}", text.trim_end().replace('\n', "; ")),
                None => command,
            },
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// One batch line for iproute2.
pub fn batch_line(cmd: &IpCmd) -> String {
    match cmd {
        IpCmd::LinkUp { dev } => format!("link set dev {dev} up"),
        IpCmd::AddrReplace {
            dev,
            addr,
            prefix_len,
        } => format!("address replace {addr}/{prefix_len} dev {dev}"),
        IpCmd::RouteReplace {
            dst,
            prefix_len,
            dev,
            via,
        } => {
            let dst = if *prefix_len == 0 {
                "default".to_string()
            } else {
                format!("{dst}/{prefix_len}")
            };
            match via {
                Some(gw) => format!("route replace {dst} via {gw} dev {dev}"),
                None => format!("route replace {dst} dev {dev}"),
            }
        }
        IpCmd::BridgeAdd { name } => format!("link add name {name} type bridge"),
        IpCmd::LinkMaster { dev, master } => format!("link set dev {dev} master {master}"),
        IpCmd::Route(r) => format!("route replace table {} {}", r.table, route_spec(r)),
        IpCmd::RouteDel(r) => format!("route del table {} {}", r.table, r.dst),
        IpCmd::RuleAdd(r) => format!("rule add {}", rule_spec(r)),
        IpCmd::RuleDel(r) => format!("rule del {}", rule_spec(r)),
    }
}

fn route_spec(r: &KernelRoute) -> String {
    match &r.next {
        NextHop::Blackhole => format!("blackhole {}", r.dst),
        NextHop::Dev(dev) => format!("{} dev {dev} scope link", r.dst),
        NextHop::Via { gateway, dev } => format!("{} via {gateway} dev {dev} onlink", r.dst),
    }
}

fn rule_spec(r: &KernelRule) -> String {
    let selector = match &r.selector {
        RuleSelector::To(cidr) => format!("to {cidr}"),
        RuleSelector::Fwmark(mark) => format!("fwmark {mark}"),
        RuleSelector::Iif(dev) => format!("iif {dev}"),
    };
    let action = match r.action {
        RuleAction::Lookup(MAIN_TABLE) => "lookup main".to_string(),
        RuleAction::Lookup(table) => format!("lookup {table}"),
        RuleAction::Blackhole => "blackhole".to_string(),
    };
    format!("priority {} {selector} {action}", r.priority)
}

fn table_number(name: &str) -> Option<u32> {
    match name {
        "main" => Some(MAIN_TABLE),
        "local" => Some(255),
        "default" => Some(253),
        n => n.parse().ok(),
    }
}

#[derive(serde::Deserialize)]
struct IpRule {
    priority: u32,
    #[serde(default)]
    dst: Option<String>,
    #[serde(default)]
    dstlen: Option<u8>,
    #[serde(default)]
    fwmark: Option<String>,
    #[serde(default)]
    iif: Option<String>,
    #[serde(default)]
    table: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

/// Parses `ip -j rule show`; rules of a shape Nubo never makes (several
/// selectors, none, other actions) are left out.
pub fn parse_rules(json: &str) -> Result<Vec<KernelRule>, NetError> {
    let rules: Vec<IpRule> = serde_json::from_str(json)
        .map_err(|e| NetError::Invalid(format!("unexpected `ip -j rule` output: {e}")))?;
    Ok(rules
        .into_iter()
        .filter_map(|r| {
            let to = match (&r.dst, r.dstlen) {
                (Some(dst), len) => Some(RuleSelector::To(Ipv4Cidr::new(
                    dst.parse().ok()?,
                    len.unwrap_or(32),
                )?)),
                (None, _) => None,
            };
            let mark = match &r.fwmark {
                Some(m) => Some(RuleSelector::Fwmark(
                    u32::from_str_radix(m.trim_start_matches("0x"), 16).ok()?,
                )),
                None => None,
            };
            let iif = r.iif.clone().map(RuleSelector::Iif);
            let mut selectors = [to, mark, iif].into_iter().flatten();
            let selector = selectors.next()?;
            if selectors.next().is_some() {
                return None;
            }
            let action = match (r.action.as_deref(), r.table.as_deref()) {
                (Some("blackhole"), _) => RuleAction::Blackhole,
                (None, Some(table)) => RuleAction::Lookup(table_number(table)?),
                _ => return None,
            };
            Some(KernelRule {
                priority: r.priority,
                selector,
                action,
            })
        })
        .collect())
}

#[derive(serde::Deserialize)]
struct IpTableRoute {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    dst: String,
    #[serde(default)]
    table: Option<String>,
    #[serde(default)]
    gateway: Option<String>,
    #[serde(default)]
    dev: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
}

/// Parses `ip -4 -j route show table all`, leaving out the kernel's own
/// routes (the `local` table, routes derived from addresses) and shapes Nubo
/// never makes.
pub fn parse_table_routes(json: &str) -> Result<Vec<KernelRoute>, NetError> {
    let routes: Vec<IpTableRoute> = serde_json::from_str(json)
        .map_err(|e| NetError::Invalid(format!("unexpected `ip -j route` output: {e}")))?;
    Ok(routes
        .into_iter()
        .filter_map(|r| {
            if r.protocol.as_deref() == Some("kernel") {
                return None;
            }
            let table = match r.table.as_deref() {
                None => MAIN_TABLE,
                Some(t) => table_number(t)?,
            };
            if table == 255 {
                return None;
            }
            let dst = if r.dst == "default" {
                Ipv4Cidr::new(std::net::Ipv4Addr::UNSPECIFIED, 0)?
            } else if r.dst.contains('/') {
                r.dst.parse().ok()?
            } else {
                Ipv4Cidr::new(r.dst.parse().ok()?, 32)?
            };
            let next = match (r.kind.as_deref(), r.gateway, r.dev) {
                (Some("blackhole"), _, _) => NextHop::Blackhole,
                (None | Some("unicast"), Some(gw), Some(dev)) => NextHop::Via {
                    gateway: gw.parse().ok()?,
                    dev,
                },
                (None | Some("unicast"), None, Some(dev)) => NextHop::Dev(dev),
                _ => return None,
            };
            Some(KernelRoute { table, dst, next })
        })
        .collect())
}

#[derive(serde::Deserialize)]
struct IpLink {
    ifname: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    flags: Vec<String>,
}

/// Parses `ip -j link show`.
pub fn parse_links(json: &str) -> Result<Vec<LinkInfo>, NetError> {
    let links: Vec<IpLink> = serde_json::from_str(json)
        .map_err(|e| NetError::Invalid(format!("unexpected `ip -j link` output: {e}")))?;
    Ok(links
        .into_iter()
        .map(|l| LinkInfo {
            up: l.flags.iter().any(|f| f == "UP"),
            lower_up: l.flags.iter().any(|f| f == "LOWER_UP"),
            name: l.ifname,
            mac: l.address.to_ascii_lowercase(),
        })
        .collect())
}

#[derive(serde::Deserialize)]
struct IpRoute {
    dst: String,
    #[serde(default)]
    dev: String,
}

/// Parses `ip -j route show` (a host route's `dst` has no `/32`).
pub fn parse_routes(json: &str) -> Result<Vec<RouteInfo>, NetError> {
    let routes: Vec<IpRoute> = serde_json::from_str(json)
        .map_err(|e| NetError::Invalid(format!("unexpected `ip -j route` output: {e}")))?;
    Ok(routes
        .into_iter()
        .map(|r| RouteInfo {
            dst: if r.dst == "default" || r.dst.contains('/') {
                r.dst
            } else {
                format!("{}/32", r.dst)
            },
            dev: r.dev,
        })
        .collect())
}

impl NetOps for LinuxNetOps {
    fn netns_list(&self) -> Result<Vec<String>, NetError> {
        let dir = match std::fs::read_dir(NETNS_DIR) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(NetError::io(format!("list {NETNS_DIR}"), e)),
        };
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| NetError::io(format!("list {NETNS_DIR}"), e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn netns_add(&self, name: &str) -> Result<(), NetError> {
        ip(&["netns", "add", name], None).map(|_| ())
    }

    fn netns_del(&self, name: &str) -> Result<(), NetError> {
        ip(&["netns", "delete", name], None).map(|_| ())
    }

    fn links(&self, netns: &str) -> Result<Vec<LinkInfo>, NetError> {
        parse_links(&ip_in(netns, &["-j", "link", "show"], None)?)
    }

    fn routes(&self, netns: &str) -> Result<Vec<RouteInfo>, NetError> {
        parse_routes(&ip_in(netns, &["-4", "-j", "route", "show"], None)?)
    }

    fn veth_add(&self, s: &VethSpec) -> Result<(), NetError> {
        ip_in(
            &s.netns,
            &[
                "link",
                "add",
                &s.name,
                "type",
                "veth",
                "peer",
                "name",
                &s.peer_name,
                "address",
                &s.peer_mac,
                "netns",
                &s.peer_netns,
            ],
            None,
        )
        .map(|_| ())
    }

    fn link_del(&self, netns: &str, name: &str) -> Result<(), NetError> {
        ip_in(netns, &["link", "delete", "dev", name], None).map(|_| ())
    }

    fn apply(&self, netns: &str, cmds: &[IpCmd]) -> Result<(), NetError> {
        if cmds.is_empty() {
            return Ok(());
        }
        let mut script = String::new();
        for cmd in cmds {
            script.push_str(&batch_line(cmd));
            script.push('\n');
        }
        ip_in(netns, &["-batch", "-"], Some(&script)).map(|_| ())
    }

    fn sysctl(&self, netns: &str, settings: &[Sysctl]) -> Result<(), NetError> {
        let settings = settings.to_vec();
        let write = move || {
            for s in &settings {
                let path = format!("/proc/sys/{}", s.key);
                std::fs::write(&path, &s.value)
                    .map_err(|e| NetError::io(format!("write {path}"), e))?;
            }
            Ok(())
        };
        if netns == HOST_NETNS {
            return write();
        }
        run_in_netns(netns, write)
    }

    fn rules(&self, netns: &str) -> Result<Vec<KernelRule>, NetError> {
        parse_rules(&ip_in(netns, &["-4", "-j", "rule", "show"], None)?)
    }

    fn table_routes(&self, netns: &str) -> Result<Vec<KernelRoute>, NetError> {
        parse_table_routes(&ip_in(
            netns,
            &["-4", "-j", "route", "show", "table", "all"],
            None,
        )?)
    }

    fn nft_apply(&self, netns: &str, script: &str) -> Result<(), NetError> {
        if netns == HOST_NETNS {
            return run("nft", &["-f", "-"], Some(script)).map(|_| ());
        }
        let script = script.to_string();
        // The child inherits the namespace of the thread that spawns it.
        run_in_netns(netns, move || {
            run("nft", &["-f", "-"], Some(&script)).map(|_| ())
        })
    }

    fn nft_has_table(&self, netns: &str) -> Result<bool, NetError> {
        let list = move || run("nft", &["list", "tables", "inet"], None);
        let out = if netns == HOST_NETNS {
            list()?
        } else {
            run_in_netns(netns, list)?
        };
        Ok(out.lines().any(|l| l.trim() == "table inet nubo"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn batch_lines_are_iproute2_syntax() {
        assert_eq!(
            batch_line(&IpCmd::LinkUp { dev: "eth0".into() }),
            "link set dev eth0 up"
        );
        assert_eq!(
            batch_line(&IpCmd::AddrReplace {
                dev: "lo".into(),
                addr: Ipv4Addr::new(169, 254, 169, 254),
                prefix_len: 32
            }),
            "address replace 169.254.169.254/32 dev lo"
        );
        assert_eq!(
            batch_line(&IpCmd::RouteReplace {
                dst: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
                dev: "eth0".into(),
                via: Some(Ipv4Addr::new(10, 0, 1, 1))
            }),
            "route replace default via 10.0.1.1 dev eth0"
        );
        assert_eq!(
            batch_line(&IpCmd::RouteReplace {
                dst: Ipv4Addr::new(10, 0, 1, 5),
                prefix_len: 32,
                dev: "nbe1".into(),
                via: None
            }),
            "route replace 10.0.1.5/32 dev nbe1"
        );
    }

    #[test]
    fn parses_ip_json_links() {
        let json = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"address":"00:00:00:00:00:00"},
            {"ifindex":5,"link_index":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST"],"address":"02:AA:bb:cc:dd:ee","link_netnsid":0}]"#;
        let links = parse_links(json).unwrap();
        assert_eq!(links.len(), 2);
        assert!(links[0].up);
        assert_eq!(links[1].name, "eth0");
        assert_eq!(links[1].mac, "02:aa:bb:cc:dd:ee");
        assert!(!links[1].up);
        assert!(links[0].lower_up && !links[1].lower_up);
    }

    #[test]
    fn parses_ip_json_routes() {
        let json = r#"[{"dst":"default","gateway":"10.0.1.1","dev":"eth0","flags":[]},
            {"dst":"10.0.1.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.0.1.5","flags":[]},
            {"dst":"10.0.1.5","dev":"nbe1","scope":"link","flags":[]}]"#;
        let routes = parse_routes(json).unwrap();
        let dsts: Vec<&str> = routes.iter().map(|r| r.dst.as_str()).collect();
        assert_eq!(dsts, vec!["default", "10.0.1.0/24", "10.0.1.5/32"]);
        assert_eq!(routes[2].dev, "nbe1");
    }
}
