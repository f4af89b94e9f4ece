//! Kernel names of Nubo's network objects. Every netns and link name starts with
//! the configured prefix, so the reconciler can tell Nubo's objects from the
//! host's and remove the ones nobody wants, and tests can prove nothing leaked.
//!
//! - router of a VPC: netns `<prefix>-vpc-<hex>` (`<prefix>-` + the VPC ID);
//! - an instance: netns `<prefix>-i-<hex>` (`<prefix>-` + the instance ID);
//! - an ENI's router end: link `<prefix>e<tail>`, where `<tail>` is as many of
//!   the ENI ID's last hex digits as fit in Linux's 15-character interface name
//!   (10 to 12 digits for a 2–4 character prefix: collisions need two ENIs on
//!   one VPC router sharing 40+ bits, which the reconciler would report as a
//!   duplicate plug rather than silently merge);
//! - an ENI's instance end: `eth<device_index>`, as on EC2 (a NAT gateway's
//!   namespace `<prefix>-nat-<hex>` has its ENI as `eth0` too);
//! - the external network: bridge `<prefix>-ext` in the host namespace; a VPC
//!   router's internet-gateway uplink is `<prefix>u<vpc tail>` in the router
//!   and `<prefix>x<vpc tail>` on the bridge;
//! - a peering connection: link `<prefix>p<pcx tail>` in both routers;
//! - a transit gateway: netns `<prefix>-tgw-<hex>`; an attachment is link
//!   `<prefix>t<attachment tail>` in the VPC router and `<prefix>a<attachment
//!   tail>` in the transit gateway's namespace;
//! - nftables: table `inet nubo` inside each of these namespaces (it goes with
//!   the namespace), nothing in the host's own ruleset unless the operator
//!   turns on forwarding to the uplink.

use crate::NetError;

/// Linux's limit on interface names (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// What the data plane needs to know about its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// Kernel-name prefix: "nb" normally, a test-unique 2–4 character prefix in
    /// tests. Lowercase ASCII letters and digits, starting with a letter.
    pub prefix: String,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            prefix: "nb".to_string(),
        }
    }
}

impl NetConfig {
    pub fn validate(&self) -> Result<(), NetError> {
        let p = &self.prefix;
        let ok_len = (2..=4).contains(&p.len());
        let ok_chars = p
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && p.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if ok_len && ok_chars {
            Ok(())
        } else {
            Err(NetError::Invalid(format!(
                "prefix {p:?} must be 2-4 lowercase letters/digits starting with a letter"
            )))
        }
    }

    /// The router namespace of a VPC.
    pub fn router_netns(&self, vpc_id: &str) -> String {
        format!("{}-{}", self.prefix, vpc_id)
    }

    /// The namespace of an instance (the container driver joins it).
    pub fn instance_netns(&self, instance_id: &str) -> String {
        format!("{}-{}", self.prefix, instance_id)
    }

    /// `<prefix><kind><as many trailing hex digits of id as fit>`.
    fn link(&self, kind: char, id: &str) -> String {
        let room = IFNAME_MAX - self.prefix.len() - 1;
        let hex = id.rsplit('-').next().unwrap_or(id);
        let tail = &hex[hex.len().saturating_sub(room)..];
        format!("{}{kind}{tail}", self.prefix)
    }

    /// The router end of an ENI's veth pair.
    pub fn eni_link(&self, eni_id: &str) -> String {
        self.link('e', eni_id)
    }

    /// The namespace of a NAT gateway.
    pub fn nat_netns(&self, nat_id: &str) -> String {
        format!("{}-{}", self.prefix, nat_id)
    }

    /// The namespace of a transit gateway.
    pub fn tgw_netns(&self, tgw_id: &str) -> String {
        format!("{}-{}", self.prefix, tgw_id)
    }

    /// The host's external bridge.
    pub fn external_bridge(&self) -> String {
        format!("{}-ext", self.prefix)
    }

    /// A VPC router's internet-gateway uplink, router end.
    pub fn uplink_router(&self, vpc_id: &str) -> String {
        self.link('u', vpc_id)
    }

    /// A VPC router's internet-gateway uplink, bridge end (host namespace).
    pub fn uplink_host(&self, vpc_id: &str) -> String {
        self.link('x', vpc_id)
    }

    /// A peering connection's link (same name in both routers).
    pub fn peering_link(&self, pcx_id: &str) -> String {
        self.link('p', pcx_id)
    }

    /// A transit-gateway attachment, VPC router end.
    pub fn tgw_vpc_link(&self, attachment_id: &str) -> String {
        self.link('t', attachment_id)
    }

    /// A transit-gateway attachment, transit-gateway end.
    pub fn tgw_attachment_link(&self, attachment_id: &str) -> String {
        self.link('a', attachment_id)
    }

    /// Whether a netns is one of this prefix's NAT gateways.
    pub fn is_nat_netns(&self, name: &str) -> bool {
        name.strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.starts_with("-nat-"))
    }

    /// Whether a netns is one of this prefix's transit gateways.
    pub fn is_tgw_netns(&self, name: &str) -> bool {
        name.strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.starts_with("-tgw-"))
    }

    /// Whether a link name is one of this prefix's (any kind, or the bridge).
    pub fn is_our_link(&self, name: &str) -> bool {
        name == self.external_bridge()
            || name.strip_prefix(&self.prefix).is_some_and(|rest| {
                rest.len() > 1
                    && rest.starts_with(['e', 'u', 'x', 'p', 't', 'a'])
                    && rest[1..].bytes().all(|b| b.is_ascii_hexdigit())
            })
    }

    /// The instance end of an ENI (`eth0` for the primary ENI).
    pub fn instance_ifname(device_index: u32) -> String {
        format!("eth{device_index}")
    }

    /// Whether a netns is one of this prefix's VPC routers.
    pub fn is_router_netns(&self, name: &str) -> bool {
        name.strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.starts_with("-vpc-"))
    }

    /// The VPC ID of one of this prefix's router namespaces.
    pub fn vpc_of_router<'a>(&self, netns: &'a str) -> Option<&'a str> {
        netns
            .strip_prefix(&self.prefix)?
            .strip_prefix('-')
            .filter(|rest| rest.starts_with("vpc-"))
    }

    /// Whether a netns is one of this prefix's instance namespaces.
    pub fn is_instance_netns(&self, name: &str) -> bool {
        name.strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.starts_with("-i-"))
    }

    /// Whether a link is one of this prefix's ENI router ends.
    pub fn is_eni_link(&self, name: &str) -> bool {
        name.strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.starts_with('e') && rest.len() > 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(p: &str) -> NetConfig {
        NetConfig {
            prefix: p.to_string(),
        }
    }

    #[test]
    fn names_carry_the_prefix_and_fit_linux_limits() {
        for p in ["nb", "t1a", "zz99"] {
            let c = cfg(p);
            c.validate().unwrap();
            let link = c.eni_link("eni-0123456789abcdef0");
            assert!(link.len() <= IFNAME_MAX, "{link}");
            assert!(link.starts_with(p));
            assert!(link.ends_with("9abcdef0"));
            assert!(c.is_eni_link(&link));
            assert_eq!(c.router_netns("vpc-0aa"), format!("{p}-vpc-0aa"));
            assert!(c.is_router_netns(&c.router_netns("vpc-0aa")));
            assert_eq!(c.vpc_of_router(&c.router_netns("vpc-0aa")), Some("vpc-0aa"));
            assert_eq!(c.vpc_of_router(&c.instance_netns("i-0aa")), None);
            assert!(!c.is_instance_netns(&c.router_netns("vpc-0aa")));
            assert!(c.is_instance_netns(&c.instance_netns("i-0bb")));
            assert!(!c.is_router_netns(&c.instance_netns("i-0bb")));
        }
        assert_eq!(
            cfg("nb").eni_link("eni-0123456789abcdef0"),
            "nbe56789abcdef0"
        );
    }

    #[test]
    fn another_prefix_is_not_ours() {
        let c = cfg("nb");
        assert!(!c.is_router_netns("nbt-vpc-0aa"));
        assert!(!c.is_router_netns("xx-vpc-0aa"));
        assert!(!c.is_instance_netns("nbx-i-0aa"));
        assert!(!c.is_eni_link("eth0"));
        assert!(!c.is_eni_link("nbe"));
    }

    #[test]
    fn bad_prefixes_are_refused() {
        for p in ["", "n", "nbxyz", "NB", "1b", "n-b"] {
            assert!(cfg(p).validate().is_err(), "{p}");
        }
    }

    #[test]
    fn gateway_and_link_names() {
        let c = cfg("tq");
        assert_eq!(c.external_bridge(), "tq-ext");
        assert_eq!(c.uplink_router("vpc-0123456789abcdef0"), "tqu56789abcdef0");
        assert_eq!(c.uplink_host("vpc-0123456789abcdef0"), "tqx56789abcdef0");
        assert_eq!(c.peering_link("pcx-0aa"), "tqp0aa");
        assert_eq!(c.tgw_vpc_link("tgw-attach-0bb"), "tqt0bb");
        assert_eq!(c.tgw_attachment_link("tgw-attach-0bb"), "tqa0bb");
        assert_eq!(c.nat_netns("nat-0cc"), "tq-nat-0cc");
        assert_eq!(c.tgw_netns("tgw-0dd"), "tq-tgw-0dd");
        assert!(c.is_nat_netns("tq-nat-0cc") && !c.is_nat_netns("tq-i-0cc"));
        assert!(c.is_tgw_netns("tq-tgw-0dd") && !c.is_tgw_netns("tq-vpc-0dd"));
        for l in [
            "tq-ext", "tqu0a", "tqx0a", "tqp0a", "tqt0a", "tqa0a", "tqe0a",
        ] {
            assert!(c.is_our_link(l), "{l}");
        }
        for l in ["eth0", "tq", "tqz0a", "tqe", "tqxyz", "tqq-ext"] {
            assert!(!c.is_our_link(l), "{l}");
        }
    }

    #[test]
    fn primary_eni_is_eth0() {
        assert_eq!(NetConfig::instance_ifname(0), "eth0");
        assert_eq!(NetConfig::instance_ifname(1), "eth1");
    }
}
