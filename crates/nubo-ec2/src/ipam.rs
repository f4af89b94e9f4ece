//! The one IPv4 address allocator of a subnet: pure, no IO. ENIs, NAT
//! gateways and instances get their private addresses through
//! [`crate::Ec2Service::allocate_address`], which runs this over the
//! allocations stored in the subnet's row and writes the result back in one
//! generation-guarded update, so two concurrent callers can never be handed
//! the same address.
//!
//! Invariant (AWS's): an address handed out is inside the subnet, is none of
//! the five reserved addresses — the network address, `.1` (the VPC router),
//! `.2` (DNS), `.3` (reserved for future use) and the broadcast address — and
//! is held by at most one owner.

use std::fmt;
use std::net::Ipv4Addr;

use nubo_core::{Error, Ipv4Cidr};
use serde::{Deserialize, Serialize};

/// Addresses AWS reserves in every subnet: the first four and the last.
pub const RESERVED_PER_SUBNET: u64 = 5;

/// One allocated address and who holds it (an ENI, NAT gateway, … ID).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Allocation {
    pub address: Ipv4Addr,
    pub owner: String,
}

/// Why an address cannot be allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocError {
    OutsideSubnet(Ipv4Addr),
    Reserved(Ipv4Addr),
    InUse(Ipv4Addr),
    Exhausted,
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocError::OutsideSubnet(a) => {
                write!(
                    f,
                    "Address {a} does not fall within the subnet's address range"
                )
            }
            AllocError::Reserved(a) => {
                write!(f, "Address {a} is in subnet's reserved address range")
            }
            AllocError::InUse(a) => write!(f, "Address {a} is in use."),
            AllocError::Exhausted => f.write_str("There are no free addresses in the subnet."),
        }
    }
}

impl AllocError {
    /// The client error AWS gives, naming `subnet_id` where AWS does.
    pub fn into_error(self, subnet_id: &str) -> Error {
        match self {
            AllocError::OutsideSubnet(_) | AllocError::Reserved(_) => {
                Error::invalid(self.to_string())
            }
            AllocError::InUse(_) => Error::client("InvalidIPAddress.InUse", self.to_string()),
            AllocError::Exhausted => Error::client(
                "InsufficientFreeAddressesInSubnet",
                format!("There are not enough free addresses in subnet '{subnet_id}' to satisfy the requested number of addresses."),
            ),
        }
    }
}

/// How many addresses of `cidr` can ever be handed out.
pub fn usable_count(cidr: &Ipv4Cidr) -> u64 {
    cidr.size().saturating_sub(RESERVED_PER_SUBNET)
}

/// The first and last address that may be handed out, if any.
fn usable_range(cidr: &Ipv4Cidr) -> Option<(u32, u32)> {
    let first = u32::from(cidr.network()).checked_add(4)?;
    let last = u32::from(cidr.broadcast()).checked_sub(1)?;
    (usable_count(cidr) > 0 && first <= last).then_some((first, last))
}

/// True for the five addresses of `cidr` that are never handed out.
pub fn is_reserved(cidr: &Ipv4Cidr, addr: Ipv4Addr) -> bool {
    match usable_range(cidr) {
        Some((first, last)) => !(first..=last).contains(&u32::from(addr)),
        None => true,
    }
}

/// Picks an address of `cidr` not in `in_use` (sorted by address): `explicit`
/// after checking it, or else the lowest free one.
pub fn pick(
    cidr: &Ipv4Cidr,
    in_use: &[Allocation],
    explicit: Option<Ipv4Addr>,
) -> Result<Ipv4Addr, AllocError> {
    let taken = |a: Ipv4Addr| in_use.binary_search_by(|x| x.address.cmp(&a)).is_ok();
    if let Some(addr) = explicit {
        if !cidr.contains_addr(addr) {
            return Err(AllocError::OutsideSubnet(addr));
        }
        if is_reserved(cidr, addr) {
            return Err(AllocError::Reserved(addr));
        }
        if taken(addr) {
            return Err(AllocError::InUse(addr));
        }
        return Ok(addr);
    }
    let (first, last) = usable_range(cidr).ok_or(AllocError::Exhausted)?;
    // Walk the sorted allocations alongside the candidates: the first gap wins.
    let mut candidate = first;
    for a in in_use {
        let addr = u32::from(a.address);
        if addr < candidate {
            continue;
        }
        if addr > candidate {
            break;
        }
        if candidate == last {
            return Err(AllocError::Exhausted);
        }
        candidate += 1;
    }
    Ok(Ipv4Addr::from(candidate))
}

/// Records `addr` for `owner`, keeping `allocations` sorted (call [`pick`] first).
pub fn insert(allocations: &mut Vec<Allocation>, addr: Ipv4Addr, owner: &str) {
    let at = allocations
        .binary_search_by(|x| x.address.cmp(&addr))
        .unwrap_or_else(|i| i);
    allocations.insert(
        at,
        Allocation {
            address: addr,
            owner: owner.to_string(),
        },
    );
}

/// Removes `addr` if `owner` holds it; true when something was released.
pub fn remove(allocations: &mut Vec<Allocation>, addr: Ipv4Addr, owner: &str) -> bool {
    match allocations.binary_search_by(|x| x.address.cmp(&addr)) {
        Ok(i) if allocations[i].owner == owner => {
            allocations.remove(i);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn first_pick_skips_the_reserved_start() {
        assert_eq!(pick(&cidr("10.0.1.0/24"), &[], None), Ok(ip("10.0.1.4")));
        assert_eq!(usable_count(&cidr("10.0.1.0/24")), 251);
        assert_eq!(usable_count(&cidr("10.0.0.0/28")), 11);
        assert_eq!(usable_count(&cidr("10.0.0.0/16")), 65531);
    }

    #[test]
    fn explicit_addresses_are_checked() {
        let c = cidr("10.0.1.0/24");
        let mut used = Vec::new();
        insert(&mut used, ip("10.0.1.10"), "eni-1");
        assert_eq!(pick(&c, &used, Some(ip("10.0.1.9"))), Ok(ip("10.0.1.9")));
        assert_eq!(
            pick(&c, &used, Some(ip("10.0.1.10"))),
            Err(AllocError::InUse(ip("10.0.1.10")))
        );
        assert_eq!(
            pick(&c, &used, Some(ip("10.0.2.10"))),
            Err(AllocError::OutsideSubnet(ip("10.0.2.10")))
        );
        for reserved in ["10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.255"] {
            assert_eq!(
                pick(&c, &used, Some(ip(reserved))),
                Err(AllocError::Reserved(ip(reserved)))
            );
        }
        let e = AllocError::OutsideSubnet(ip("10.0.2.10")).into_error("subnet-1");
        assert_eq!(
            e,
            Error::invalid("Address 10.0.2.10 does not fall within the subnet's address range")
        );
        assert!(matches!(
            AllocError::InUse(ip("10.0.1.10")).into_error("subnet-1"),
            Error::Client {
                code: "InvalidIPAddress.InUse",
                ..
            }
        ));
        assert!(matches!(
            AllocError::Exhausted.into_error("subnet-1"),
            Error::Client { code: "InsufficientFreeAddressesInSubnet", ref message } if message.contains("subnet-1")
        ));
    }

    #[test]
    fn gaps_are_reused_and_release_needs_the_owner() {
        let c = cidr("10.0.0.0/28");
        let mut used = Vec::new();
        for owner in ["a", "b", "c"] {
            let addr = pick(&c, &used, None).unwrap();
            insert(&mut used, addr, owner);
        }
        assert!(!remove(&mut used, ip("10.0.0.5"), "a"), "not a's address");
        assert!(remove(&mut used, ip("10.0.0.5"), "b"));
        assert!(!remove(&mut used, ip("10.0.0.5"), "b"), "already released");
        assert_eq!(pick(&c, &used, None), Ok(ip("10.0.0.5")));
    }

    #[test]
    fn allocations_round_trip_through_json() {
        let mut used = Vec::new();
        insert(&mut used, ip("10.0.0.9"), "eni-1");
        let json = serde_json::to_string(&used).unwrap();
        assert_eq!(json, r#"[{"address":"10.0.0.9","owner":"eni-1"}]"#);
        assert_eq!(
            serde_json::from_str::<Vec<Allocation>>(&json).unwrap(),
            used
        );
    }

    proptest! {
        /// Allocating until exhaustion hands out exactly size − 5 distinct,
        /// unreserved addresses of the subnet, whatever was chosen explicitly
        /// along the way.
        #[test]
        fn exhausts_exactly_at_size_minus_five(
            base in any::<u32>(),
            prefix in 22u8..=28,
            explicit in proptest::collection::vec(any::<u16>(), 0..40),
        ) {
            let c = Ipv4Cidr::new(Ipv4Addr::from(base), prefix).unwrap();
            let mut used: Vec<Allocation> = Vec::new();
            let mut seen = BTreeSet::new();
            let span = c.size() as u32;
            for e in explicit {
                let addr = Ipv4Addr::from(u32::from(c.network()) + u32::from(e) % span);
                match pick(&c, &used, Some(addr)) {
                    Ok(a) => {
                        prop_assert_eq!(a, addr);
                        prop_assert!(seen.insert(a));
                        insert(&mut used, a, "explicit");
                    }
                    Err(AllocError::Reserved(_)) => prop_assert!(is_reserved(&c, addr)),
                    Err(AllocError::InUse(_)) => prop_assert!(seen.contains(&addr)),
                    Err(other) => prop_assert!(false, "unexpected {:?}", other),
                }
            }
            loop {
                match pick(&c, &used, None) {
                    Ok(a) => {
                        prop_assert!(c.contains_addr(a));
                        prop_assert!(!is_reserved(&c, a));
                        let last_octet_ok = a != c.network() && a != c.broadcast();
                        prop_assert!(last_octet_ok);
                        prop_assert!(seen.insert(a), "{} handed out twice", a);
                        insert(&mut used, a, "auto");
                    }
                    Err(e) => {
                        prop_assert_eq!(e, AllocError::Exhausted);
                        break;
                    }
                }
            }
            prop_assert_eq!(seen.len() as u64, usable_count(&c));
            prop_assert!(used.windows(2).all(|w| w[0].address < w[1].address));
        }
    }
}
