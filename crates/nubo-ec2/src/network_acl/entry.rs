//! Network ACL entries as pure values: validating an entry the way EC2 does
//! (rule number, action, protocol with its ports or ICMP type and code,
//! CIDR), the per-direction quota, and the order entries are evaluated and
//! described in. No IO here, so every rule of AWS's encoded below is
//! unit-tested.

use std::net::Ipv4Addr;

use nubo_core::{Error, Ipv4Cidr};
use serde::{Deserialize, Serialize};

/// The lowest and highest rule number a client may use; 32767 is the `*` rule.
pub const MIN_RULE_NUMBER: i64 = 1;
pub const MAX_RULE_NUMBER: i64 = 32766;
/// The rule number of the catch-all `*` deny entry every ACL ends with.
pub const CATCH_ALL_RULE_NUMBER: i32 = 32767;
/// Entries per ACL and direction, the `*` entry not counted (AWS's default quota).
pub const MAX_ENTRIES_PER_DIRECTION: usize = 20;

/// What an entry does with the traffic it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    Allow,
    Deny,
}

impl RuleAction {
    pub fn parse(text: &str) -> Result<RuleAction, Error> {
        match text {
            "allow" => Ok(RuleAction::Allow),
            "deny" => Ok(RuleAction::Deny),
            other => Err(Error::invalid(format!(
                "Value ({other}) for parameter ruleAction is invalid. Expecting allow or deny."
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Allow => "allow",
            RuleAction::Deny => "deny",
        }
    }
}

/// An entry's IP protocol as EC2 reports it for network ACLs: the protocol
/// number, `-1` for all.
pub type AclProtocol = i16;
pub const ALL_PROTOCOLS: AclProtocol = -1;
pub const TCP: AclProtocol = 6;
pub const UDP: AclProtocol = 17;
pub const ICMP: AclProtocol = 1;

/// Parses `Protocol`: a number −1–255, or (as the console and CLI allow)
/// `all`, `tcp`, `udp`, `icmp`; always stored as the number.
pub fn parse_protocol(text: &str) -> Result<AclProtocol, Error> {
    match text.to_ascii_lowercase().as_str() {
        "all" | "-1" => Ok(ALL_PROTOCOLS),
        "tcp" => Ok(TCP),
        "udp" => Ok(UDP),
        "icmp" => Ok(ICMP),
        "icmpv6" | "58" => Err(Error::invalid(
            "ICMPv6 entries need IPv6 CIDR blocks, which this Nubo installation does not support.",
        )),
        other => match other.parse::<AclProtocol>() {
            Ok(n) if (0..=255).contains(&n) && other.len() <= 3 => Ok(n),
            _ => Err(Error::invalid(format!(
                "Value ({text}) for parameter protocol is invalid. Unknown protocol."
            ))),
        },
    }
}

/// An entry as a request states it, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryInput {
    pub rule_number: Option<i64>,
    pub egress: Option<bool>,
    pub rule_action: Option<String>,
    pub protocol: Option<String>,
    pub cidr_block: Option<String>,
    pub port_from: Option<i64>,
    pub port_to: Option<i64>,
    pub icmp_type: Option<i64>,
    pub icmp_code: Option<i64>,
}

/// One stored entry of a network ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub rule_number: i32,
    pub egress: bool,
    pub rule_action: RuleAction,
    pub protocol: AclProtocol,
    pub cidr_block: Ipv4Cidr,
    /// TCP/UDP only: the port range (from, to).
    #[serde(default)]
    pub port_range: Option<(i32, i32)>,
    /// ICMP only: (type, code), each −1 for "any".
    #[serde(default)]
    pub icmp_type_code: Option<(i32, i32)>,
}

fn anywhere() -> Ipv4Cidr {
    Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0).unwrap_or_else(|| unreachable!("0.0.0.0/0"))
}

impl Entry {
    /// The entry that admits all traffic in `egress` direction, at `rule_number`.
    pub fn allow_all(rule_number: i32, egress: bool) -> Entry {
        Entry {
            rule_number,
            egress,
            rule_action: RuleAction::Allow,
            protocol: ALL_PROTOCOLS,
            cidr_block: anywhere(),
            port_range: None,
            icmp_type_code: None,
        }
    }

    /// The `*` entry that ends every ACL: deny everything else.
    pub fn catch_all(egress: bool) -> Entry {
        Entry {
            rule_action: RuleAction::Deny,
            ..Entry::allow_all(CATCH_ALL_RULE_NUMBER, egress)
        }
    }

    /// Validates `input` as EC2 does and returns the entry it describes.
    pub fn from_input(input: &EntryInput) -> Result<Entry, Error> {
        let rule_number = input
            .rule_number
            .ok_or_else(|| Error::MissingParameter("RuleNumber".into()))?;
        if !(MIN_RULE_NUMBER..=MAX_RULE_NUMBER).contains(&rule_number) {
            return Err(Error::invalid(format!(
                "Value ({rule_number}) for parameter ruleNumber is invalid. Expecting a value between {MIN_RULE_NUMBER} and {MAX_RULE_NUMBER}."
            )));
        }
        let egress = input
            .egress
            .ok_or_else(|| Error::MissingParameter("Egress".into()))?;
        let rule_action = RuleAction::parse(
            input
                .rule_action
                .as_deref()
                .ok_or_else(|| Error::MissingParameter("RuleAction".into()))?,
        )?;
        let protocol = parse_protocol(
            input
                .protocol
                .as_deref()
                .ok_or_else(|| Error::MissingParameter("Protocol".into()))?,
        )?;
        let cidr_text = input
            .cidr_block
            .as_deref()
            .ok_or_else(|| Error::MissingParameter("CidrBlock".into()))?;
        let cidr_block: Ipv4Cidr = cidr_text.parse().map_err(|_| {
            Error::invalid(format!(
                "Value ({cidr_text}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
            ))
        })?;
        let (port_range, icmp_type_code) = match protocol {
            TCP | UDP => {
                let (Some(from), Some(to)) = (input.port_from, input.port_to) else {
                    return Err(Error::MissingParameter(
                        "PortRange: TCP and UDP entries need PortRange.From and PortRange.To"
                            .into(),
                    ));
                };
                if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to {
                    return Err(Error::invalid(format!(
                        "Value ({from}-{to}) for parameter portRange is invalid. Ports are 0-65535, From not above To."
                    )));
                }
                (Some((from as i32, to as i32)), None)
            }
            ICMP => {
                let (Some(icmp_type), Some(code)) = (input.icmp_type, input.icmp_code) else {
                    return Err(Error::MissingParameter(
                        "Icmp: ICMP entries need Icmp.Type and Icmp.Code".into(),
                    ));
                };
                for (name, value) in [("type", icmp_type), ("code", code)] {
                    if !(-1..=255).contains(&value) {
                        return Err(Error::invalid(format!(
                            "Value ({value}) for parameter icmpTypeCode.{name} is invalid. Expecting -1 or a value between 0 and 255."
                        )));
                    }
                }
                (None, Some((icmp_type as i32, code as i32)))
            }
            // All protocols, or one without ports: every port is matched.
            _ => (None, None),
        };
        Ok(Entry {
            rule_number: rule_number as i32,
            egress,
            rule_action,
            protocol,
            cidr_block,
            port_range,
            icmp_type_code,
        })
    }
}

/// Adds `entry` to `entries` (kept in evaluation order), refusing a rule
/// number already used in its direction and a direction already full.
pub fn add_entry(entries: &mut Vec<Entry>, entry: Entry) -> Result<(), Error> {
    if entries
        .iter()
        .any(|e| e.egress == entry.egress && e.rule_number == entry.rule_number)
    {
        return Err(Error::AlreadyExists {
            code: "NetworkAclEntryAlreadyExists",
            message: format!(
                "The network acl entry identified by {} already exists.",
                entry.rule_number
            ),
        });
    }
    if entries.iter().filter(|e| e.egress == entry.egress).count() >= MAX_ENTRIES_PER_DIRECTION {
        return Err(Error::LimitExceeded {
            code: "NetworkAclEntryLimitExceeded",
            message: format!(
                "The maximum number of {} entries ({MAX_ENTRIES_PER_DIRECTION}) has been reached for this network ACL.",
                direction(entry.egress)
            ),
        });
    }
    entries.push(entry);
    sort_entries(entries);
    Ok(())
}

/// Replaces the entry with `entry`'s rule number and direction.
pub fn replace_entry(entries: &mut [Entry], entry: Entry) -> Result<(), Error> {
    let slot = entries
        .iter_mut()
        .find(|e| e.egress == entry.egress && e.rule_number == entry.rule_number)
        .ok_or_else(|| entry_not_found(entry.rule_number as i64, entry.egress))?;
    *slot = entry;
    Ok(())
}

/// Removes the entry numbered `rule_number` in the given direction.
pub fn remove_entry(entries: &mut Vec<Entry>, rule_number: i64, egress: bool) -> Result<(), Error> {
    let before = entries.len();
    entries.retain(|e| !(e.egress == egress && e.rule_number as i64 == rule_number));
    if entries.len() == before {
        return Err(entry_not_found(rule_number, egress));
    }
    Ok(())
}

fn direction(egress: bool) -> &'static str {
    if egress {
        "egress"
    } else {
        "ingress"
    }
}

fn entry_not_found(rule_number: i64, egress: bool) -> Error {
    Error::not_found(
        "InvalidNetworkAclEntry.NotFound",
        format!(
            "The {} network acl entry identified by {rule_number} does not exist.",
            direction(egress)
        ),
    )
}

/// Evaluation order, which is also the order `DescribeNetworkAcls` lists
/// entries in: egress before ingress, each by ascending rule number.
pub fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by_key(|e| (!e.egress, e.rule_number));
}

/// All entries of an ACL as described: the stored ones plus the `*` deny
/// entry of each direction, in evaluation order.
pub fn with_catch_all(entries: &[Entry]) -> Vec<Entry> {
    let mut all: Vec<Entry> = entries.to_vec();
    all.push(Entry::catch_all(true));
    all.push(Entry::catch_all(false));
    sort_entries(&mut all);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(rule: i64, egress: bool, protocol: &str) -> EntryInput {
        EntryInput {
            rule_number: Some(rule),
            egress: Some(egress),
            rule_action: Some("allow".into()),
            protocol: Some(protocol.into()),
            cidr_block: Some("10.0.0.0/8".into()),
            ..Default::default()
        }
    }

    fn tcp(rule: i64, egress: bool, from: i64, to: i64) -> EntryInput {
        EntryInput {
            port_from: Some(from),
            port_to: Some(to),
            ..input(rule, egress, "6")
        }
    }

    fn code(r: Result<Entry, Error>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(Error::InvalidParameterValue(_)) => "InvalidParameterValue".into(),
            Err(Error::MissingParameter(_)) => "MissingParameter".into(),
            Err(other) => format!("{other:?}"),
        }
    }

    #[test]
    fn rule_numbers_are_one_to_32766() {
        assert_eq!(code(Entry::from_input(&input(1, false, "-1"))), "ok");
        assert_eq!(code(Entry::from_input(&input(32766, true, "-1"))), "ok");
        for bad in [0, -1, 32767, 40000] {
            assert_eq!(
                code(Entry::from_input(&input(bad, false, "-1"))),
                "InvalidParameterValue",
                "{bad}"
            );
        }
        let mut missing = input(1, false, "-1");
        missing.rule_number = None;
        assert_eq!(code(Entry::from_input(&missing)), "MissingParameter");
    }

    #[test]
    fn protocols_are_numbers_and_names_become_numbers() {
        assert_eq!(parse_protocol("-1").unwrap(), -1);
        assert_eq!(parse_protocol("all").unwrap(), -1);
        assert_eq!(parse_protocol("TCP").unwrap(), 6);
        assert_eq!(parse_protocol("udp").unwrap(), 17);
        assert_eq!(parse_protocol("icmp").unwrap(), 1);
        assert_eq!(parse_protocol("47").unwrap(), 47);
        assert_eq!(parse_protocol("255").unwrap(), 255);
        for bad in ["256", "-2", "banana", "", "0047", "58"] {
            assert!(parse_protocol(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_and_icmp_follow_the_protocol() {
        let e = Entry::from_input(&tcp(100, false, 80, 443)).unwrap();
        assert_eq!(e.port_range, Some((80, 443)));
        assert_eq!(e.icmp_type_code, None);
        assert_eq!(
            code(Entry::from_input(&input(100, false, "tcp"))),
            "MissingParameter"
        );
        assert_eq!(
            code(Entry::from_input(&tcp(100, false, 443, 80))),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(Entry::from_input(&tcp(100, false, 0, 65536))),
            "InvalidParameterValue"
        );
        let icmp = EntryInput {
            icmp_type: Some(8),
            icmp_code: Some(-1),
            ..input(100, false, "1")
        };
        let e = Entry::from_input(&icmp).unwrap();
        assert_eq!(e.icmp_type_code, Some((8, -1)));
        assert_eq!(e.port_range, None);
        assert_eq!(
            code(Entry::from_input(&input(100, false, "icmp"))),
            "MissingParameter"
        );
        let bad_icmp = EntryInput {
            icmp_type: Some(256),
            icmp_code: Some(0),
            ..input(100, false, "1")
        };
        assert_eq!(code(Entry::from_input(&bad_icmp)), "InvalidParameterValue");
        // Other protocols match every port; stray ports are ignored.
        let gre = EntryInput {
            port_from: Some(1),
            port_to: Some(2),
            ..input(100, false, "47")
        };
        let e = Entry::from_input(&gre).unwrap();
        assert_eq!((e.port_range, e.icmp_type_code), (None, None));
    }

    #[test]
    fn action_and_cidr_are_checked() {
        let mut e = input(100, false, "-1");
        e.rule_action = Some("reject".into());
        assert_eq!(code(Entry::from_input(&e)), "InvalidParameterValue");
        let mut e = input(100, false, "-1");
        e.cidr_block = Some("10.0.0.300/8".into());
        assert_eq!(code(Entry::from_input(&e)), "InvalidParameterValue");
        let mut e = input(100, false, "-1");
        e.cidr_block = None;
        assert_eq!(code(Entry::from_input(&e)), "MissingParameter");
        let mut e = input(100, false, "-1");
        e.egress = None;
        assert_eq!(code(Entry::from_input(&e)), "MissingParameter");
    }

    #[test]
    fn rule_numbers_are_unique_per_direction_and_limited_to_twenty() {
        let entry =
            |rule: i64, egress: bool| Entry::from_input(&input(rule, egress, "-1")).unwrap();
        let mut entries = vec![];
        add_entry(&mut entries, entry(100, false)).unwrap();
        add_entry(&mut entries, entry(100, true)).unwrap();
        assert!(matches!(
            add_entry(&mut entries, entry(100, false)),
            Err(Error::AlreadyExists {
                code: "NetworkAclEntryAlreadyExists",
                ..
            })
        ));
        for n in 1..=19 {
            add_entry(&mut entries, entry(n, false)).unwrap();
        }
        assert!(matches!(
            add_entry(&mut entries, entry(200, false)),
            Err(Error::LimitExceeded {
                code: "NetworkAclEntryLimitExceeded",
                ..
            })
        ));
        // The other direction has its own quota.
        add_entry(&mut entries, entry(200, true)).unwrap();
        remove_entry(&mut entries, 5, false).unwrap();
        add_entry(&mut entries, entry(200, false)).unwrap();
        assert!(matches!(
            remove_entry(&mut entries, 5, false),
            Err(Error::NotFound {
                code: "InvalidNetworkAclEntry.NotFound",
                ..
            })
        ));
        assert!(matches!(
            replace_entry(&mut entries, entry(300, true)),
            Err(Error::NotFound {
                code: "InvalidNetworkAclEntry.NotFound",
                ..
            })
        ));
        let mut deny = entry(200, true);
        deny.rule_action = RuleAction::Deny;
        replace_entry(&mut entries, deny).unwrap();
        assert_eq!(
            entries
                .iter()
                .find(|e| e.egress && e.rule_number == 200)
                .unwrap()
                .rule_action,
            RuleAction::Deny
        );
    }

    #[test]
    fn entries_are_described_egress_first_in_rule_order_with_catch_alls() {
        let entry =
            |rule: i64, egress: bool| Entry::from_input(&input(rule, egress, "-1")).unwrap();
        let mut entries = vec![];
        for (n, egress) in [(300, false), (100, true), (100, false), (50, true)] {
            add_entry(&mut entries, entry(n, egress)).unwrap();
        }
        let order: Vec<(bool, i32)> = with_catch_all(&entries)
            .iter()
            .map(|e| (e.egress, e.rule_number))
            .collect();
        assert_eq!(
            order,
            vec![
                (true, 50),
                (true, 100),
                (true, 32767),
                (false, 100),
                (false, 300),
                (false, 32767)
            ]
        );
        let star = Entry::catch_all(false);
        assert_eq!(star.rule_action, RuleAction::Deny);
        assert_eq!(star.cidr_block.to_string(), "0.0.0.0/0");
        assert_eq!(star.protocol, ALL_PROTOCOLS);
    }
}
