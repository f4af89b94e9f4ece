//! Support shared by the privileged suites: why a suite cannot run here,
//! and the Drop guard that removes every kernel object with a test's prefix.
//!
//! A prefix is a letter per test plus 3 hex digits of the process ID, so
//! tests of one file and parallel test processes never share objects.

#![allow(dead_code)]

use std::process::Command;

/// Why the privileged tests cannot run (not root, a tool missing), if so.
pub fn skip_reason(tools: &[&str]) -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not root".into());
    }
    for tool in tools {
        let flag = if *tool == "nft" { "--version" } else { "-V" };
        match Command::new(tool).arg(flag).output() {
            Ok(o) if o.status.success() => {}
            _ => return Some(format!("`{tool}` not found")),
        }
    }
    None
}

/// Returns from the test, saying why, unless it can run here.
macro_rules! require_root {
    ($suite:literal, $tools:expr) => {
        if let Some(why) = common::skip_reason($tools) {
            eprintln!("skipping privileged {} test: {why}", $suite);
            return;
        }
    };
}

/// Deletes every namespace and host link with the test's prefix, at
/// creation (a previous run's leftovers) and on drop, even after a panic.
pub struct Guard {
    pub prefix: String,
}

impl Guard {
    pub fn new(letter: char) -> Self {
        let g = Guard {
            prefix: format!("{letter}{:03x}", std::process::id() % 0x1000),
        };
        g.cleanup();
        g
    }

    /// The prefix's namespaces.
    pub fn netns(&self) -> Vec<String> {
        let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with(&format!("{}-", self.prefix)))
            .map(str::to_string)
            .collect()
    }

    /// The prefix's links in the host namespace (the external bridge and
    /// uplink ends on it).
    pub fn host_links(&self) -> Vec<String> {
        let out = Command::new("ip")
            .args(["-o", "link", "show"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_string())
            .filter(|n| n.starts_with(&self.prefix))
            .collect()
    }

    pub fn cleanup(&self) {
        for ns in self.netns() {
            let _ = Command::new("ip").args(["netns", "delete", &ns]).status();
        }
        for link in self.host_links() {
            let _ = Command::new("ip").args(["link", "delete", &link]).status();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.cleanup();
    }
}
