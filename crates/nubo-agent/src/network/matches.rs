//! Protocol, ports and ICMP type/code of security-group rules and network
//! ACL entries, as the data plane's [`Match`] (pure). Ports are destination
//! ports; `-1` (or nothing) for an ICMP type or code, or for a port range,
//! means "any".

use nubo_ec2::network_acl::entry::{ALL_PROTOCOLS, ICMP, TCP, UDP};
use nubo_ec2::network_acl::{Entry, RuleAction};
use nubo_ec2::security_group::{Protocol, Rule};
use nubo_net::model::{AclEntryNet, Match, L4};

const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// A port range; `None` (any port) when absent or `-1`.
fn ports(from: Option<i32>, to: Option<i32>) -> L4 {
    match (from, to) {
        (Some(f), Some(t)) if f >= 0 && t >= 0 => {
            let clamp = |p: i32| u16::try_from(p).unwrap_or(u16::MAX);
            L4::Ports(clamp(f), clamp(t))
        }
        _ => L4::Any,
    }
}

/// An ICMP type or code; `None` (any) for `-1`, absent or out of range.
fn icmp_field(v: Option<i32>) -> Option<u8> {
    v.and_then(|n| u8::try_from(n).ok())
}

/// A security-group rule's protocol and ports.
pub fn rule_match(rule: &Rule) -> Match {
    let (protocol, l4) = match rule.protocol {
        Protocol::All => (None, L4::Any),
        Protocol::Tcp => (Some(PROTO_TCP), ports(rule.from_port, rule.to_port)),
        Protocol::Udp => (Some(PROTO_UDP), ports(rule.from_port, rule.to_port)),
        Protocol::Icmp => (
            Some(PROTO_ICMP),
            L4::Icmp {
                icmp_type: icmp_field(rule.from_port),
                code: icmp_field(rule.to_port),
            },
        ),
        Protocol::Number(n) => (Some(n), L4::Any),
    };
    Match { protocol, l4 }
}

/// A network ACL entry's protocol and ports.
pub fn entry_match(e: &Entry) -> Match {
    let (protocol, l4) = match e.protocol {
        ALL_PROTOCOLS => (None, L4::Any),
        TCP | UDP => (
            u8::try_from(e.protocol).ok(),
            ports(e.port_range.map(|r| r.0), e.port_range.map(|r| r.1)),
        ),
        ICMP => (
            Some(PROTO_ICMP),
            L4::Icmp {
                icmp_type: icmp_field(e.icmp_type_code.map(|c| c.0)),
                code: icmp_field(e.icmp_type_code.map(|c| c.1)),
            },
        ),
        other => (u8::try_from(other).ok(), L4::Any),
    };
    Match { protocol, l4 }
}

/// One direction's entries of an ACL, in rule-number order (the implied
/// `*` deny is the data plane's final drop).
pub fn acl_entries(entries: &[Entry], egress: bool) -> Vec<AclEntryNet> {
    let mut out: Vec<AclEntryNet> = entries
        .iter()
        .filter(|e| e.egress == egress)
        .map(|e| AclEntryNet {
            rule_number: e.rule_number,
            allow: e.rule_action == RuleAction::Allow,
            cidr: e.cidr_block,
            matches: entry_match(e),
        })
        .collect();
    out.sort_by_key(|e| e.rule_number);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::{ResourceId, ResourceKind, TagSet};
    use nubo_ec2::security_group::Target;

    fn rule(protocol: Protocol, from: Option<i32>, to: Option<i32>) -> Rule {
        Rule {
            id: ResourceId::generate(ResourceKind::SecurityGroupRule),
            protocol,
            from_port: from,
            to_port: to,
            target: Target::Cidr("0.0.0.0/0".parse().unwrap()),
            description: None,
            tags: TagSet::default(),
        }
    }

    #[test]
    fn security_group_rules_become_matches() {
        let m = |p, f, t| rule_match(&rule(p, f, t));
        assert_eq!(
            m(Protocol::All, None, None),
            Match {
                protocol: None,
                l4: L4::Any
            }
        );
        assert_eq!(m(Protocol::Tcp, Some(22), Some(22)).l4, L4::Ports(22, 22));
        assert_eq!(
            m(Protocol::Udp, Some(1000), Some(2000)),
            Match {
                protocol: Some(17),
                l4: L4::Ports(1000, 2000)
            }
        );
        assert_eq!(m(Protocol::Tcp, Some(-1), Some(-1)).l4, L4::Any);
        assert_eq!(
            m(Protocol::Icmp, Some(8), Some(-1)).l4,
            L4::Icmp {
                icmp_type: Some(8),
                code: None
            }
        );
        assert_eq!(
            m(Protocol::Icmp, Some(-1), Some(-1)).l4,
            L4::Icmp {
                icmp_type: None,
                code: None
            }
        );
        assert_eq!(
            m(Protocol::Number(47), None, None),
            Match {
                protocol: Some(47),
                l4: L4::Any
            }
        );
    }

    fn entry(n: i32, egress: bool, protocol: i16) -> Entry {
        Entry {
            rule_number: n,
            egress,
            rule_action: RuleAction::Deny,
            protocol,
            cidr_block: "10.0.0.0/8".parse().unwrap(),
            port_range: None,
            icmp_type_code: None,
        }
    }

    #[test]
    fn acl_entries_are_split_by_direction_and_sorted_by_rule_number() {
        let mut tcp = entry(200, false, TCP);
        tcp.port_range = Some((22, 22));
        let mut icmp = entry(100, false, ICMP);
        icmp.icmp_type_code = Some((-1, -1));
        let mut allow = Entry::allow_all(50, false);
        allow.rule_action = RuleAction::Allow;
        let entries = vec![tcp, entry(10, true, ALL_PROTOCOLS), icmp, allow];
        let ingress = acl_entries(&entries, false);
        let numbers: Vec<i32> = ingress.iter().map(|e| e.rule_number).collect();
        assert_eq!(numbers, vec![50, 100, 200]);
        assert!(ingress[0].allow && !ingress[1].allow);
        assert_eq!(
            ingress[1].matches,
            Match {
                protocol: Some(1),
                l4: L4::Icmp {
                    icmp_type: None,
                    code: None
                }
            }
        );
        assert_eq!(ingress[2].matches.l4, L4::Ports(22, 22));
        assert_eq!(ingress[2].matches.protocol, Some(6));
        let egress = acl_entries(&entries, true);
        assert_eq!(egress.len(), 1);
        assert_eq!(egress[0].matches.protocol, None);
        assert_eq!(entry_match(&entry(1, false, 47)).protocol, Some(47));
    }
}
