//! The `inet nubo` table of a NAT gateway's namespace. The gateway has one
//! link, `eth0` (its ENI, in its subnet), so traffic it forwards comes in and
//! goes out there: what arrives from another address is masqueraded to the
//! gateway's own private address and sent back to the router, which routes it
//! by the gateway subnet's route table (to the internet gateway, where a
//! public NAT gateway's private address is mapped 1:1 to its Elastic IP).
//! Replies are un-masqueraded by conntrack. Nothing connects inward: the
//! gateway forwards only new flows from other addresses and accepts nothing
//! but replies itself.

use super::Table;
use crate::model::NatGatewayNet;

/// The `inet nubo` table of a NAT gateway's namespace (masquerade to its
/// private address; nothing inward).
pub fn nat_gateway_ruleset(nat: &NatGatewayNet) -> String {
    let own = nat.private_address;
    let mut t = Table::default();
    t.base(
        "postrouting",
        "type nat hook postrouting priority srcnat; policy accept;",
        vec![format!("oifname \"eth0\" ip saddr != {own} masquerade")],
    );
    t.base(
        "forward",
        "type filter hook forward priority filter; policy drop;",
        vec![
            "ct state established,related accept".into(),
            format!("ct state new iifname \"eth0\" ip saddr != {own} accept"),
        ],
    );
    t.base(
        "input",
        "type filter hook input priority filter; policy drop;",
        vec![
            "iifname \"lo\" accept".into(),
            "ct state established,related accept".into(),
        ],
    );
    t.script()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn masquerades_forwarded_traffic_and_accepts_nothing_inward() {
        let nat = NatGatewayNet {
            id: "nat-0aa".into(),
            subnet_id: "subnet-01".into(),
            eni_id: "eni-0bb".into(),
            mac: "02:00:00:00:00:0b".into(),
            private_address: "10.0.0.9".parse().unwrap(),
            public_address: Some("198.51.100.9".parse().unwrap()),
        };
        let s = nat_gateway_ruleset(&nat);
        assert!(s.starts_with("table inet nubo {}\ndelete table inet nubo\ntable inet nubo {\n"));
        assert!(s.contains("oifname \"eth0\" ip saddr != 10.0.0.9 masquerade"));
        assert!(s.contains("ct state new iifname \"eth0\" ip saddr != 10.0.0.9 accept"));
        // input: only loopback and replies, under a drop policy.
        let input = s.split("chain input {").nth(1).unwrap();
        assert!(input.contains("policy drop;"));
        assert!(!input.contains("ct state new"));
        assert_eq!(s, nat_gateway_ruleset(&nat));
    }
}
