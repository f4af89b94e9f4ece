//! Security group rules as pure values: parsing a permission's protocol and
//! ports the way EC2 does, the rule identity that duplicate detection and
//! revocation compare, the per-direction quota, and the grouping of rules into
//! `IpPermission`s for `DescribeSecurityGroups`. No IO here, so every rule of
//! AWS's that these functions encode is unit-tested below.

use std::fmt;

use nubo_core::{AccountId, Error, Ipv4Cidr, ResourceId, TagSet};
use serde::{Deserialize, Serialize};

/// Rules per group and direction (AWS's default quota).
pub const MAX_RULES_PER_DIRECTION: usize = 60;

/// A rule's IP protocol, in the form EC2 reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Protocol {
    /// `-1`: every protocol, every port.
    All,
    Tcp,
    Udp,
    Icmp,
    /// Any other IP protocol number; ports do not apply.
    Number(u8),
}

impl Protocol {
    /// Parses `IpProtocol`: a name (`tcp`, `udp`, `icmp`, `all`, any case) or
    /// a protocol number; `6`, `17` and `1` become their names, as on AWS.
    pub fn parse(text: &str) -> Result<Protocol, Error> {
        let invalid = || {
            Error::invalid(format!(
                "Invalid value '{text}' for IP protocol. Unknown protocol."
            ))
        };
        match text.to_ascii_lowercase().as_str() {
            "-1" | "all" => Ok(Protocol::All),
            "tcp" | "6" => Ok(Protocol::Tcp),
            "udp" | "17" => Ok(Protocol::Udp),
            "icmp" | "1" => Ok(Protocol::Icmp),
            "icmpv6" | "58" => Err(Error::invalid(
                "ICMPv6 rules need IPv6 ranges, which this Nubo installation does not support.",
            )),
            other => {
                let well_formed = !other.is_empty()
                    && other.len() <= 3
                    && other.bytes().all(|b| b.is_ascii_digit());
                match other.parse::<u8>() {
                    Ok(n) if well_formed => Ok(Protocol::Number(n)),
                    _ => Err(invalid()),
                }
            }
        }
    }

    /// Whether `FromPort`/`ToPort` mean something for this protocol.
    pub fn has_ports(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Udp | Protocol::Icmp)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::All => f.write_str("-1"),
            Protocol::Tcp => f.write_str("tcp"),
            Protocol::Udp => f.write_str("udp"),
            Protocol::Icmp => f.write_str("icmp"),
            Protocol::Number(n) => write!(f, "{n}"),
        }
    }
}

impl TryFrom<String> for Protocol {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Protocol::parse(&s).map_err(|e| e.to_string())
    }
}

impl From<Protocol> for String {
    fn from(p: Protocol) -> String {
        p.to_string()
    }
}

/// Where a rule lets traffic come from (ingress) or go to (egress).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Cidr(Ipv4Cidr),
    Group {
        group_id: ResourceId,
        user_id: AccountId,
        /// Set when the group is in another VPC, reached through a peering
        /// connection (the same account's or another's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peering: Option<PeeredGroup>,
    },
}

impl Target {
    /// Whether two targets name the same peer: a group reference is the
    /// group and its account, whichever peering connection it was made
    /// through (a reference outlives its peering, as on AWS).
    pub fn same_peer(&self, other: &Target) -> bool {
        match (self, other) {
            (
                Target::Group {
                    group_id: a,
                    user_id: ua,
                    ..
                },
                Target::Group {
                    group_id: b,
                    user_id: ub,
                    ..
                },
            ) => a == b && ua == ub,
            (a, b) => a == b,
        }
    }
}

/// Where a referenced group of a peered VPC lives, as `UserIdGroupPair`
/// shows it (`vpcId`, `vpcPeeringConnectionId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeeredGroup {
    pub vpc_id: ResourceId,
    pub vpc_peering_connection_id: ResourceId,
}

/// A rule as a client asks for it, before it has an ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub protocol: Protocol,
    /// TCP/UDP: the first port; ICMP: the type (`-1`: any). None when ports do not apply.
    pub from_port: Option<i32>,
    /// TCP/UDP: the last port; ICMP: the code (`-1`: any).
    pub to_port: Option<i32>,
    pub target: Target,
    pub description: Option<String>,
}

/// One stored rule of a security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: ResourceId,
    pub protocol: Protocol,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub target: Target,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: TagSet,
}

impl Rule {
    pub fn new(id: ResourceId, spec: RuleSpec, tags: TagSet) -> Rule {
        Rule {
            id,
            protocol: spec.protocol,
            from_port: spec.from_port,
            to_port: spec.to_port,
            target: spec.target,
            description: spec.description,
            tags,
        }
    }

    /// Whether this rule permits exactly what `spec` asks for (descriptions
    /// and tags do not count, as on AWS).
    pub fn same_as(&self, spec: &RuleSpec) -> bool {
        self.protocol == spec.protocol
            && self.from_port == spec.from_port
            && self.to_port == spec.to_port
            && self.target.same_peer(&spec.target)
    }

    /// The group this rule references, if any.
    pub fn referenced_group(&self) -> Option<&ResourceId> {
        match &self.target {
            Target::Group { group_id, .. } => Some(group_id),
            Target::Cidr(_) => None,
        }
    }
}

/// Checks and normalizes a protocol with its ports, as EC2 does: TCP/UDP
/// need a port range 0–65535 with from ≤ to; ICMP takes a type and a code
/// (each −1 for "any"; a code needs a type); for every other protocol the
/// ports are ignored.
pub fn normalize_ports(
    protocol: Protocol,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<(Option<i32>, Option<i32>), Error> {
    match protocol {
        Protocol::Tcp | Protocol::Udp => {
            let (Some(from), Some(to)) = (from, to) else {
                return Err(Error::invalid(format!(
                    "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange. {protocol} rules need FromPort and ToPort."
                )));
            };
            if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) {
                return Err(Error::invalid(format!(
                    "Invalid value '{from}-{to}' for portRange. Ports must be between 0 and 65535."
                )));
            }
            if from > to {
                return Err(Error::invalid(format!(
                    "Invalid value '{from}-{to}' for portRange. FromPort must not be greater than ToPort."
                )));
            }
            Ok((Some(from as i32), Some(to as i32)))
        }
        Protocol::Icmp => {
            let icmp_type = from.unwrap_or(-1);
            let code = to.unwrap_or(-1);
            if !(-1..=255).contains(&icmp_type) {
                return Err(Error::invalid(format!(
                    "Invalid value '{icmp_type}' for ICMP type. Expecting -1 or a value between 0 and 255."
                )));
            }
            if !(-1..=255).contains(&code) {
                return Err(Error::invalid(format!(
                    "Invalid value '{code}' for ICMP code. Expecting -1 or a value between 0 and 255."
                )));
            }
            if icmp_type == -1 && code != -1 {
                return Err(Error::invalid(
                    "Invalid ICMP code: an ICMP code needs an ICMP type (FromPort).",
                ));
            }
            Ok((Some(icmp_type as i32), Some(code as i32)))
        }
        Protocol::All | Protocol::Number(_) => Ok((None, None)),
    }
}

/// Parses a rule's IPv4 CIDR (strict: no host bits).
pub fn parse_rule_cidr(text: &str) -> Result<Ipv4Cidr, Error> {
    text.parse().map_err(|_| {
        Error::invalid(format!(
            "CIDR block {text} is malformed. Expecting a network address such as 10.0.0.0/16."
        ))
    })
}

/// Characters AWS allows in VPC security group names, descriptions and rule descriptions.
fn allowed_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c)
}

/// Validates a group name, group description or rule description: at most
/// 255 characters from AWS's set. `what` names the field in the message.
pub fn check_text(what: &str, text: &str) -> Result<(), Error> {
    if text.chars().count() > 255 {
        return Err(Error::invalid(format!(
            "Invalid {what}: it must be at most 255 characters long."
        )));
    }
    if let Some(bad) = text.chars().find(|c| !allowed_char(*c)) {
        return Err(Error::invalid(format!(
            "Invalid {what} '{text}': character '{bad}' is not allowed. Allowed are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{{}}!$*"
        )));
    }
    Ok(())
}

/// Checks that `new` may join `existing` (the rules of one direction): no
/// rule already there or twice in the request, and the quota holds.
pub fn check_additions(existing: &[Rule], new: &[RuleSpec], limit: usize) -> Result<(), Error> {
    for (i, spec) in new.iter().enumerate() {
        if existing.iter().any(|r| r.same_as(spec)) || new[..i].iter().any(|s| same_spec(s, spec)) {
            return Err(Error::AlreadyExists {
                code: "InvalidPermission.Duplicate",
                message: format!(
                    "the specified rule \"{}\" already exists",
                    describe_spec(spec)
                ),
            });
        }
    }
    if existing.len() + new.len() > limit {
        return Err(Error::LimitExceeded {
            code: "RulesPerSecurityGroupLimitExceeded",
            message: format!(
                "The maximum number of rules per security group has been reached ({limit})."
            ),
        });
    }
    Ok(())
}

fn same_spec(a: &RuleSpec, b: &RuleSpec) -> bool {
    a.protocol == b.protocol
        && a.from_port == b.from_port
        && a.to_port == b.to_port
        && a.target == b.target
}

/// The positions in `existing` of the rules `wanted` names, in request order;
/// `InvalidPermission.NotFound` if any is missing.
pub fn find_rules(existing: &[Rule], wanted: &[RuleSpec]) -> Result<Vec<usize>, Error> {
    let mut out = Vec::with_capacity(wanted.len());
    for spec in wanted {
        let Some(i) = existing.iter().position(|r| r.same_as(spec)) else {
            return Err(Error::not_found(
                "InvalidPermission.NotFound",
                format!(
                    "The specified rule does not exist in this security group: {}",
                    describe_spec(spec)
                ),
            ));
        };
        if !out.contains(&i) {
            out.push(i);
        }
    }
    Ok(out)
}

/// A short human form of a rule for messages: `peer=…, tcp, from=…, to=…, ALLOW`.
fn describe_spec(spec: &RuleSpec) -> String {
    let peer = match &spec.target {
        Target::Cidr(c) => c.to_string(),
        Target::Group { group_id, .. } => group_id.to_string(),
    };
    let ports = match (spec.from_port, spec.to_port) {
        (Some(f), Some(t)) => format!(", from port: {f}, to port: {t}"),
        _ => String::new(),
    };
    format!("peer: {peer}, {}{ports}, ALLOW", spec.protocol)
}

/// One `IpPermission` of `DescribeSecurityGroups`: the rules sharing a
/// protocol and port range, with their CIDRs and group references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission<'a> {
    pub protocol: Protocol,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub rules: Vec<&'a Rule>,
}

/// Groups rules into `IpPermission`s by (protocol, ports), keeping the order
/// in which each combination first appears.
pub fn permissions(rules: &[Rule]) -> Vec<Permission<'_>> {
    let mut out: Vec<Permission<'_>> = Vec::new();
    for r in rules {
        match out.iter_mut().find(|p| {
            p.protocol == r.protocol && p.from_port == r.from_port && p.to_port == r.to_port
        }) {
            Some(p) => p.rules.push(r),
            None => out.push(Permission {
                protocol: r.protocol,
                from_port: r.from_port,
                to_port: r.to_port,
                rules: vec![r],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::ResourceKind;

    fn cidr(text: &str) -> Target {
        Target::Cidr(text.parse().unwrap())
    }

    fn spec(protocol: Protocol, from: Option<i32>, to: Option<i32>, target: Target) -> RuleSpec {
        RuleSpec {
            protocol,
            from_port: from,
            to_port: to,
            target,
            description: None,
        }
    }

    fn rule(s: &RuleSpec) -> Rule {
        Rule::new(
            ResourceId::generate(ResourceKind::SecurityGroupRule),
            s.clone(),
            TagSet::new(),
        )
    }

    #[test]
    fn protocols_normalize_to_their_names() {
        assert_eq!(Protocol::parse("-1").unwrap(), Protocol::All);
        assert_eq!(Protocol::parse("all").unwrap(), Protocol::All);
        assert_eq!(Protocol::parse("TCP").unwrap(), Protocol::Tcp);
        assert_eq!(Protocol::parse("6").unwrap(), Protocol::Tcp);
        assert_eq!(Protocol::parse("17").unwrap(), Protocol::Udp);
        assert_eq!(Protocol::parse("1").unwrap(), Protocol::Icmp);
        assert_eq!(Protocol::parse("47").unwrap(), Protocol::Number(47));
        assert_eq!(Protocol::Number(47).to_string(), "47");
        assert_eq!(Protocol::All.to_string(), "-1");
        for bad in ["", "tcpx", "256", "-2", "1000", "icmpv6", "+6"] {
            assert!(Protocol::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_follow_the_protocol() {
        assert_eq!(
            normalize_ports(Protocol::Tcp, Some(22), Some(22)).unwrap(),
            (Some(22), Some(22))
        );
        assert_eq!(
            normalize_ports(Protocol::Udp, Some(0), Some(65535)).unwrap(),
            (Some(0), Some(65535))
        );
        assert!(normalize_ports(Protocol::Tcp, Some(80), Some(22)).is_err());
        assert!(normalize_ports(Protocol::Tcp, Some(-1), Some(22)).is_err());
        assert!(normalize_ports(Protocol::Tcp, Some(0), Some(65536)).is_err());
        assert!(normalize_ports(Protocol::Tcp, None, Some(22)).is_err());
        assert_eq!(
            normalize_ports(Protocol::Icmp, Some(-1), Some(-1)).unwrap(),
            (Some(-1), Some(-1))
        );
        assert_eq!(
            normalize_ports(Protocol::Icmp, None, None).unwrap(),
            (Some(-1), Some(-1))
        );
        assert_eq!(
            normalize_ports(Protocol::Icmp, Some(8), Some(0)).unwrap(),
            (Some(8), Some(0))
        );
        assert!(normalize_ports(Protocol::Icmp, Some(-1), Some(0)).is_err());
        assert!(normalize_ports(Protocol::Icmp, Some(256), Some(-1)).is_err());
        // Every other protocol ignores the ports entirely.
        assert_eq!(
            normalize_ports(Protocol::All, Some(5), Some(1)).unwrap(),
            (None, None)
        );
        assert_eq!(
            normalize_ports(Protocol::Number(47), Some(1), Some(2)).unwrap(),
            (None, None)
        );
    }

    #[test]
    fn texts_follow_aws_charset_and_length() {
        assert!(check_text("name", "web servers (prod) #1").is_ok());
        assert!(check_text("name", &"a".repeat(255)).is_ok());
        assert!(check_text("name", &"a".repeat(256)).is_err());
        assert!(check_text("name", "caf\u{e9}").is_err());
        assert!(check_text("name", "a<b").is_err());
    }

    #[test]
    fn duplicates_are_found_in_the_group_and_in_the_request() {
        let ssh = spec(Protocol::Tcp, Some(22), Some(22), cidr("10.0.0.0/8"));
        let existing = vec![rule(&ssh)];
        let mut described = ssh.clone();
        described.description = Some("other text".into());
        assert!(matches!(
            check_additions(&existing, &[described], 60),
            Err(Error::AlreadyExists {
                code: "InvalidPermission.Duplicate",
                ..
            })
        ));
        let web = spec(Protocol::Tcp, Some(80), Some(80), cidr("0.0.0.0/0"));
        assert!(check_additions(&existing, std::slice::from_ref(&web), 60).is_ok());
        assert!(check_additions(&[], &[web.clone(), web.clone()], 60).is_err());
        // Another port, protocol or peer is another rule.
        let other_peer = spec(Protocol::Tcp, Some(22), Some(22), cidr("10.0.0.0/16"));
        let udp = spec(Protocol::Udp, Some(22), Some(22), cidr("10.0.0.0/8"));
        assert!(check_additions(&existing, &[other_peer, udp], 60).is_ok());
    }

    #[test]
    fn the_quota_counts_existing_and_new_rules() {
        let existing: Vec<Rule> = (0..59)
            .map(|p| rule(&spec(Protocol::Tcp, Some(p), Some(p), cidr("0.0.0.0/0"))))
            .collect();
        let one = spec(Protocol::Tcp, Some(1000), Some(1000), cidr("0.0.0.0/0"));
        let two = spec(Protocol::Tcp, Some(1001), Some(1001), cidr("0.0.0.0/0"));
        assert!(check_additions(&existing, std::slice::from_ref(&one), 60).is_ok());
        assert!(matches!(
            check_additions(&existing, &[one, two], 60),
            Err(Error::LimitExceeded {
                code: "RulesPerSecurityGroupLimitExceeded",
                ..
            })
        ));
    }

    #[test]
    fn revocation_finds_rules_or_reports_the_missing_one() {
        let ssh = spec(Protocol::Tcp, Some(22), Some(22), cidr("10.0.0.0/8"));
        let all = spec(Protocol::All, None, None, cidr("0.0.0.0/0"));
        let existing = vec![rule(&ssh), rule(&all)];
        assert_eq!(
            find_rules(&existing, &[all.clone(), ssh.clone()]).unwrap(),
            vec![1, 0]
        );
        let missing = spec(Protocol::Tcp, Some(23), Some(23), cidr("10.0.0.0/8"));
        assert!(matches!(
            find_rules(&existing, &[ssh, missing]),
            Err(Error::NotFound {
                code: "InvalidPermission.NotFound",
                ..
            })
        ));
    }

    #[test]
    fn permissions_group_rules_by_protocol_and_ports() {
        let a = rule(&spec(Protocol::Tcp, Some(22), Some(22), cidr("10.0.0.0/8")));
        let b = rule(&spec(Protocol::All, None, None, cidr("0.0.0.0/0")));
        let c = rule(&spec(
            Protocol::Tcp,
            Some(22),
            Some(22),
            cidr("192.168.0.0/16"),
        ));
        let rules = vec![a.clone(), b.clone(), c.clone()];
        let perms = permissions(&rules);
        assert_eq!(perms.len(), 2);
        assert_eq!(perms[0].rules, vec![&a, &c]);
        assert_eq!(perms[1].rules, vec![&b]);
    }

    #[test]
    fn rules_round_trip_through_json() {
        let r = rule(&spec(
            Protocol::Number(47),
            None,
            None,
            Target::Group {
                group_id: ResourceId::generate(ResourceKind::SecurityGroup),
                user_id: AccountId::parse("123456789012").unwrap(),
                peering: Some(PeeredGroup {
                    vpc_id: ResourceId::generate(ResourceKind::Vpc),
                    vpc_peering_connection_id: ResourceId::generate(
                        ResourceKind::VpcPeeringConnection,
                    ),
                }),
            },
        ));
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), r);
    }
}
