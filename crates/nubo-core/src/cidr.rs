//! IPv4 CIDR blocks as AWS accepts them: canonical network address, prefix
//! length 0–32, parsed strictly (no leading zeros, no host bits set).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An IPv4 network such as `10.0.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Cidr {
    network: u32,
    prefix: u8,
}

/// Why a string is not a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("'{0}' is not a valid CIDR block")]
    Syntax(String),
    #[error("'{0}' has host bits set; the network address is {1}")]
    HostBits(String, String),
}

impl Ipv4Cidr {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Option<Self> {
        if prefix > 32 {
            return None;
        }
        let network = u32::from(addr) & Self::mask_of(prefix);
        Some(Ipv4Cidr { network, prefix })
    }

    fn mask_of(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        }
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    pub fn mask(&self) -> u32 {
        Self::mask_of(self.prefix)
    }

    /// The last address of the block.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network | !self.mask())
    }

    /// Number of addresses in the block.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    pub fn contains_addr(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask() == self.network
    }

    /// True when `other` lies entirely inside `self`.
    pub fn contains(&self, other: &Ipv4Cidr) -> bool {
        other.prefix >= self.prefix && self.contains_addr(other.network())
    }

    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || CidrError::Syntax(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(syntax)?;
        if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        if prefix.len() > 1 && prefix.starts_with('0') {
            return Err(syntax());
        }
        let prefix: u8 = prefix.parse().map_err(|_| syntax())?;
        // Ipv4Addr's parser already rejects leading zeros and out-of-range octets.
        let addr: Ipv4Addr = addr.parse().map_err(|_| syntax())?;
        let cidr = Ipv4Cidr::new(addr, prefix).ok_or_else(syntax)?;
        if cidr.network() != addr {
            return Err(CidrError::HostBits(s.to_string(), cidr.to_string()));
        }
        Ok(cidr)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

impl TryFrom<String> for Ipv4Cidr {
    type Error = CidrError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Ipv4Cidr> for String {
    fn from(c: Ipv4Cidr) -> String {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_canonical_blocks() {
        let c: Ipv4Cidr = "10.0.0.0/16".parse().unwrap();
        assert_eq!(c.prefix(), 16);
        assert_eq!(c.size(), 65536);
        assert_eq!(c.broadcast(), Ipv4Addr::new(10, 0, 255, 255));
        assert!(c.contains(&"10.0.1.0/24".parse().unwrap()));
        assert!(!c.contains(&"10.1.0.0/24".parse().unwrap()));
        assert!(c.overlaps(&"10.0.0.0/8".parse().unwrap()));
    }

    #[test]
    fn rejects_malformed_blocks() {
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0/16",
            "010.0.0.0/16",
            "10.0.0.0/016",
            "x/16",
            "10.0.0.0/1a",
            " 10.0.0.0/16",
        ] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad}");
        }
        assert!(matches!(
            "10.0.0.1/16".parse::<Ipv4Cidr>(),
            Err(CidrError::HostBits(..))
        ));
    }

    proptest! {
        #[test]
        fn display_round_trips(addr in any::<u32>(), prefix in 0u8..=32) {
            let c = Ipv4Cidr::new(Ipv4Addr::from(addr), prefix).unwrap();
            prop_assert_eq!(c.to_string().parse::<Ipv4Cidr>().unwrap(), c);
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<Ipv4Cidr>();
        }
    }
}
