//! Incremental updates: the `nft -f` transaction that turns one rendered
//! table into another by touching only what differs — new sets and chains
//! added, changed chains flushed and refilled, changed sets flushed and
//! refilled, removed chains and sets deleted — instead of replacing the whole
//! table. A security-group change in a router with a thousand rules then
//! costs one small transaction (a few milliseconds) rather than reloading
//! every rule (tens of milliseconds). Like the full replace, the delta is one
//! transaction: the kernel commits all of it or none, so no packet ever meets
//! a half-updated table, and conntrack entries are untouched.
//!
//! The delta is computed between two scripts in the canonical form
//! [`super::Table::script`] renders (parsed back, not diffed as text), and
//! only ever against what this process applied itself: after a restart the
//! executor replaces the table whole, and if a delta fails it falls back to
//! the whole replace.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::TABLE;

/// The transaction turning table `old` into `new`, both rendered by
/// [`super::Table::script`]: empty when they are equal, `None` when the
/// change cannot be made in place (a base chain's hook or policy changed,
/// a set's type changed, or either script is not in the canonical form).
pub fn delta(old: &str, new: &str) -> Option<String> {
    let (old, new) = (Parsed::parse(old)?, Parsed::parse(new)?);
    let mut s = String::new();
    // Sets first: new rules may name them.
    for (name, set) in &new.sets {
        match old.sets.get(name) {
            Some(was) if was == set => {}
            Some(was) if was.ty != set.ty => return None,
            Some(_) => {
                let _ = writeln!(s, "flush set {TABLE} {name}");
                set.add_elements(&mut s, name);
            }
            None => {
                let _ = writeln!(s, "add set {TABLE} {name} {{ type {}; }}", set.ty);
                set.add_elements(&mut s, name);
            }
        }
    }
    // Every new chain exists before any rule jumps to it.
    for (name, chain) in new
        .chains
        .iter()
        .filter(|(n, _)| !old.chains.contains_key(*n))
    {
        match &chain.spec {
            Some(spec) => {
                let _ = writeln!(s, "add chain {TABLE} {name} {{ {spec} }}");
            }
            None => {
                let _ = writeln!(s, "add chain {TABLE} {name}");
            }
        }
    }
    for (name, chain) in &new.chains {
        match old.chains.get(name) {
            Some(was) if was.spec != chain.spec => return None,
            Some(was) if was.rules == chain.rules => continue,
            Some(_) => {
                let _ = writeln!(s, "flush chain {TABLE} {name}");
            }
            None => {}
        }
        for rule in &chain.rules {
            let _ = writeln!(s, "add rule {TABLE} {name} {rule}");
        }
    }
    // Removed chains: emptied first (their jumps to each other released),
    // then deleted, then the sets no rule names any more.
    let gone: Vec<&String> = old
        .chains
        .keys()
        .filter(|n| !new.chains.contains_key(*n))
        .collect();
    for name in &gone {
        let _ = writeln!(s, "flush chain {TABLE} {name}");
    }
    for name in &gone {
        let _ = writeln!(s, "delete chain {TABLE} {name}");
    }
    for name in old.sets.keys().filter(|n| !new.sets.contains_key(*n)) {
        let _ = writeln!(s, "delete set {TABLE} {name}");
    }
    Some(s)
}

/// `old` with the transaction `delta` applied, in canonical form: what the
/// kernel holds after it. For the recording fake and the round-trip tests;
/// `None` if a line is not one [`delta`] writes.
pub fn apply(old: &str, delta: &str) -> Option<String> {
    let mut table = Parsed::parse(old)?;
    for line in delta.lines() {
        table.apply(line)?;
    }
    Some(table.render())
}

#[derive(Debug, PartialEq, Eq)]
struct Set {
    ty: String,
    /// The text between `elements = {` and `}`, if any.
    elements: Option<String>,
}

impl Set {
    fn add_elements(&self, s: &mut String, name: &str) {
        if let Some(elements) = &self.elements {
            let _ = writeln!(s, "add element {TABLE} {name} {{ {elements} }}");
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Chain {
    /// A base chain's `type … hook … priority …; policy …;`.
    spec: Option<String>,
    rules: Vec<String>,
}

/// A table script in canonical form, read back.
#[derive(Debug, Default)]
struct Parsed {
    sets: BTreeMap<String, Set>,
    chains: BTreeMap<String, Chain>,
    /// Base chains in the order they were added (the script's order).
    base: Vec<String>,
}

impl Parsed {
    fn parse(script: &str) -> Option<Parsed> {
        let mut lines = script.lines();
        let header = [
            format!("table {TABLE} {{}}"),
            format!("delete table {TABLE}"),
            format!("table {TABLE} {{"),
        ];
        for want in &header {
            if lines.next()? != want {
                return None;
            }
        }
        let mut parsed = Parsed::default();
        loop {
            let line = lines.next()?;
            if line == "}" {
                break;
            }
            let line = line.strip_prefix('\t')?;
            if let Some(name) = line.strip_prefix("set ").and_then(|l| l.strip_suffix(" {")) {
                let ty = lines.next()?.strip_prefix("\t\ttype ")?.to_string();
                let mut elements = None;
                loop {
                    let l = lines.next()?;
                    if l == "\t}" {
                        break;
                    }
                    let inner = l
                        .strip_prefix("\t\telements = { ")?
                        .strip_suffix(" }")?
                        .to_string();
                    elements = Some(inner);
                }
                parsed.sets.insert(name.to_string(), Set { ty, elements });
            } else if let Some(name) = line
                .strip_prefix("chain ")
                .and_then(|l| l.strip_suffix(" {"))
            {
                let mut chain = Chain {
                    spec: None,
                    rules: Vec::new(),
                };
                loop {
                    let l = lines.next()?;
                    if l == "\t}" {
                        break;
                    }
                    let l = l.strip_prefix("\t\t")?;
                    if chain.rules.is_empty() && chain.spec.is_none() && l.starts_with("type ") {
                        chain.spec = Some(l.to_string());
                    } else {
                        chain.rules.push(l.to_string());
                    }
                }
                if chain.spec.is_some() {
                    parsed.base.push(name.to_string());
                }
                if parsed.chains.insert(name.to_string(), chain).is_some() {
                    return None;
                }
            } else {
                return None;
            }
        }
        Some(parsed)
    }

    /// One line of a [`delta`].
    fn apply(&mut self, line: &str) -> Option<()> {
        let (verb, rest) = line.split_once(&format!(" {TABLE} "))?;
        let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        match verb {
            "add set" => {
                let ty = tail.strip_prefix("{ type ")?.strip_suffix("; }")?;
                let set = Set {
                    ty: ty.into(),
                    elements: None,
                };
                self.sets.insert(name.into(), set).is_none().then_some(())
            }
            "add element" => {
                let set = self.sets.get_mut(name)?;
                let inner = tail.strip_prefix("{ ")?.strip_suffix(" }")?;
                set.elements.is_none().then_some(())?;
                set.elements = Some(inner.into());
                Some(())
            }
            "flush set" => {
                self.sets.get_mut(name)?.elements = None;
                Some(())
            }
            "delete set" => self.sets.remove(name).map(|_| ()),
            "add chain" => {
                let spec = match tail {
                    "" => None,
                    t => Some(t.strip_prefix("{ ")?.strip_suffix(" }")?.to_string()),
                };
                if spec.is_some() {
                    self.base.push(name.into());
                }
                let chain = Chain {
                    spec,
                    rules: Vec::new(),
                };
                self.chains
                    .insert(name.into(), chain)
                    .is_none()
                    .then_some(())
            }
            "add rule" => {
                self.chains.get_mut(name)?.rules.push(tail.into());
                Some(())
            }
            "flush chain" => {
                self.chains.get_mut(name)?.rules.clear();
                Some(())
            }
            "delete chain" => {
                self.base.retain(|b| b != name);
                self.chains.remove(name).map(|_| ())
            }
            _ => None,
        }
    }

    /// The canonical script again (as [`super::Table::script`] writes it).
    fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "table {TABLE} {{}}");
        let _ = writeln!(s, "delete table {TABLE}");
        let _ = writeln!(s, "table {TABLE} {{");
        for (name, set) in &self.sets {
            let _ = writeln!(s, "\tset {name} {{");
            let _ = writeln!(s, "\t\ttype {}", set.ty);
            if let Some(elements) = &set.elements {
                let _ = writeln!(s, "\t\telements = {{ {elements} }}");
            }
            let _ = writeln!(s, "\t}}");
        }
        let regular = self.chains.iter().filter(|(_, c)| c.spec.is_none());
        let base = self
            .base
            .iter()
            .filter_map(|n| self.chains.get(n).map(|c| (n, c)));
        for (name, chain) in base.chain(regular) {
            let _ = writeln!(s, "\tchain {name} {{");
            for line in chain.spec.iter().chain(&chain.rules) {
                let _ = writeln!(s, "\t\t{line}");
            }
            let _ = writeln!(s, "\t}}");
        }
        let _ = writeln!(s, "}}");
        s
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::filter::Table;
    use std::net::Ipv4Addr;

    fn table(group_rules: &[&str], members: &[Ipv4Addr], extra_chain: bool) -> String {
        let mut t = Table::default();
        t.addr_set("g_a", members);
        t.chain("sgi_a", group_rules.iter().map(|r| r.to_string()).collect());
        if extra_chain {
            t.chain("sgi_b", vec!["ip saddr @g_b accept".into()]);
            t.addr_set("g_b", &[Ipv4Addr::new(10, 0, 0, 9)]);
        }
        t.base(
            "sg_in",
            "type filter hook forward priority 10; policy accept;",
            vec!["oifname vmap { \"e1\" : jump sgi_a }".into()],
        );
        t.script()
    }

    /// `delta(a, b)` applied to `a` is `b`, every way round.
    #[test]
    fn deltas_round_trip() {
        let ten = Ipv4Addr::new(10, 0, 0, 1);
        let tables = [
            table(&["tcp dport 22 accept"], &[], false),
            table(
                &["tcp dport 22 accept", "tcp dport 80 accept"],
                &[ten],
                false,
            ),
            table(&["ip saddr @g_a accept"], &[ten], true),
            table(&[], &[], true),
        ];
        for a in &tables {
            for b in &tables {
                let d = delta(a, b).unwrap();
                assert_eq!(&apply(a, &d).unwrap(), b, "from\n{a}\nto\n{b}\nby\n{d}");
            }
        }
    }

    #[test]
    fn equal_tables_need_nothing() {
        let a = table(&["tcp dport 22 accept"], &[], false);
        assert_eq!(delta(&a, &a).unwrap(), "");
    }

    #[test]
    fn a_revoked_rule_refills_only_its_chain() {
        let a = table(&["tcp dport 22 accept", "tcp dport 80 accept"], &[], false);
        let b = table(&["tcp dport 80 accept"], &[], false);
        assert_eq!(
            delta(&a, &b).unwrap(),
            "flush chain inet nubo sgi_a\nadd rule inet nubo sgi_a tcp dport 80 accept\n"
        );
    }

    #[test]
    fn member_changes_refill_the_set() {
        let a = table(
            &["ip saddr @g_a accept"],
            &[Ipv4Addr::new(10, 0, 0, 1)],
            false,
        );
        let b = table(
            &["ip saddr @g_a accept"],
            &[Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)],
            false,
        );
        assert_eq!(
            delta(&a, &b).unwrap(),
            "flush set inet nubo g_a\nadd element inet nubo g_a { 10.0.0.1, 10.0.0.2 }\n"
        );
        // Emptied: flushed, nothing added.
        let c = table(&["ip saddr @g_a accept"], &[], false);
        assert_eq!(delta(&b, &c).unwrap(), "flush set inet nubo g_a\n");
    }

    #[test]
    fn new_things_come_before_their_users_and_old_ones_go_after() {
        let a = table(&["tcp dport 22 accept"], &[], false);
        let b = table(&["tcp dport 22 accept"], &[], true);
        let up = delta(&a, &b).unwrap();
        assert_eq!(
            up,
            "add set inet nubo g_b { type ipv4_addr; }\n\
             add element inet nubo g_b { 10.0.0.9 }\n\
             add chain inet nubo sgi_b\n\
             add rule inet nubo sgi_b ip saddr @g_b accept\n"
        );
        let down = delta(&b, &a).unwrap();
        assert_eq!(
            down,
            "flush chain inet nubo sgi_b\ndelete chain inet nubo sgi_b\ndelete set inet nubo g_b\n"
        );
    }

    #[test]
    fn a_changed_base_chain_policy_or_a_foreign_script_needs_the_whole_replace() {
        let a = table(&["tcp dport 22 accept"], &[], false);
        let b = a.replace("policy accept", "policy drop");
        assert_eq!(delta(&a, &b), None);
        assert_eq!(delta("table ip x {}\n", &a), None);
        assert_eq!(delta(&a, &a[..a.len() - 3]), None);
    }

    #[test]
    fn a_new_base_chain_is_added_with_its_hook() {
        let mut t = Table::default();
        t.base(
            "input",
            "type filter hook input priority filter; policy drop;",
            vec!["iifname \"lo\" accept".into()],
        );
        let a = t.script();
        t.base(
            "forward",
            "type filter hook forward priority filter; policy drop;",
            Vec::new(),
        );
        let b = t.script();
        assert_eq!(
            delta(&a, &b).unwrap(),
            "add chain inet nubo forward { type filter hook forward priority filter; policy drop; }\n"
        );
        assert_eq!(
            delta(&b, &a).unwrap(),
            "flush chain inet nubo forward\ndelete chain inet nubo forward\n"
        );
    }
}
