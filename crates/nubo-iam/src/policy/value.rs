//! Typed values behind the condition operators: numbers, dates, booleans,
//! IP blocks and ARNs, each parsed strictly from policy text and leniently
//! from request values (a request value of the wrong type simply does not
//! match). Policy values are parsed once, when the document is parsed, so a
//! policy with `NumericLessThan: "ten"` is refused instead of never matching.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::matcher::{matches, Token};

/// The comparison of a `Numeric*` or `Date*` operator, request value on the
/// left: `NumericLessThan` with policy value 10 holds for a request value of 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub(crate) fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// A decimal number such as `10`, `-3` or `2.5`; no exponents, no `NaN`.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    text.parse().ok()
}

/// A point in time as milliseconds since the epoch: ISO 8601 (with an offset,
/// or UTC when none is given, or a bare date) or whole epoch seconds.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok()?.checked_mul(1000);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc().timestamp_millis());
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// `true` or `false`, in any case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An IPv4 or IPv6 block of an `IpAddress` condition: `203.0.113.0/24`,
/// `2001:db8::/32`, or a single address. Host bits are ignored, as AWS does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpBlock {
    network: IpAddr,
    prefix: u8,
}

impl IpBlock {
    pub(crate) fn parse(text: &str) -> Option<IpBlock> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max)?
            }
            Some(_) => return None,
        };
        Some(IpBlock { network, prefix })
    }

    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        let shift = |bits: u32| bits.saturating_sub(u32::from(self.prefix));
        match (self.network, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(shift(32)).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(shift(128)).unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            (IpAddr::V4(_), IpAddr::V6(a)) => a
                .to_ipv4_mapped()
                .is_some_and(|a| self.contains(IpAddr::V4(a))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// `ArnEquals`/`ArnLike`: each of the six colon-separated components is
/// matched on its own (a wildcard never spans a colon, except inside the
/// final resource component). A pattern without any colon, such as a bare
/// `*`, is matched against the whole ARN; one with two to five components
/// matches nothing.
pub(crate) fn arn_matches(pattern: &[Token], arn: &str) -> bool {
    let mut parts: Vec<&[Token]> = Vec::with_capacity(6);
    let mut rest = pattern;
    while parts.len() < 5 {
        let Some(colon) = rest.iter().position(|t| *t == Token::Lit(':')) else {
            break;
        };
        parts.push(&rest[..colon]);
        rest = &rest[colon + 1..];
    }
    parts.push(rest);
    if parts.len() < 6 {
        return parts.len() == 1 && matches(pattern, arn);
    }
    let components: Vec<&str> = arn.splitn(6, ':').collect();
    components.len() == 6
        && parts
            .iter()
            .zip(&components)
            .all(|(part, component)| matches(part, component))
}

#[cfg(test)]
mod tests {
    use super::super::matcher::compile;
    use super::*;

    #[test]
    fn numbers_are_strict() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number("-2.5"), Some(-2.5));
        for bad in ["", "-", "1.", ".5", "1e3", "NaN", "inf", " 1", "0x1"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_in_every_accepted_form() {
        let noon = 1_563_278_400_000; // 2019-07-16T12:00:00Z
        assert_eq!(parse_date("2019-07-16T12:00:00Z"), Some(noon));
        assert_eq!(parse_date("2019-07-16T12:00:00.000Z"), Some(noon));
        assert_eq!(parse_date("2019-07-16T14:00:00+02:00"), Some(noon));
        assert_eq!(parse_date("2019-07-16T12:00:00"), Some(noon));
        assert_eq!(parse_date("1563278400"), Some(noon));
        assert_eq!(parse_date("2019-07-16"), Some(noon - 12 * 3600 * 1000));
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("99999999999999999999"), None);
    }

    #[test]
    fn booleans_ignore_case() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("false"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn ip_blocks() {
        let block = IpBlock::parse("203.0.113.0/24").unwrap();
        assert!(block.contains("203.0.113.7".parse().unwrap()));
        assert!(!block.contains("203.0.114.7".parse().unwrap()));
        assert!(block.contains("::ffff:203.0.113.9".parse().unwrap()));
        let host = IpBlock::parse("10.1.2.3").unwrap();
        assert!(host.contains("10.1.2.3".parse().unwrap()));
        assert!(!host.contains("10.1.2.4".parse().unwrap()));
        assert!(IpBlock::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        let v6 = IpBlock::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0/8",
            "::/129",
            "x",
            "1.2.3.4/+8",
        ] {
            assert_eq!(IpBlock::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn arn_components_match_separately() {
        let arn = "arn:aws:iam::123456789012:user/bob";
        assert!(arn_matches(&compile("arn:aws:iam::*:user/*"), arn));
        assert!(arn_matches(&compile("arn:*:iam::123456789012:*"), arn));
        assert!(!arn_matches(&compile("arn:aws:iam::*:role/*"), arn));
        // `*` in the account component may not swallow the resource's colon.
        assert!(!arn_matches(&compile("arn:aws:iam::*"), arn));
        assert!(arn_matches(&compile("*"), arn));
        assert!(arn_matches(
            &compile("arn:aws:logs:*:*:log-group:x:*"),
            "arn:aws:logs:eu-west-1:1:log-group:x:log-stream:y"
        ));
        assert!(!arn_matches(
            &compile("arn:aws:iam::*:user/bob"),
            "not-an-arn"
        ));
    }
}
