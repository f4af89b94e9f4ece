//! What `/proc` says about a pid: alive (not a zombie), and whose.
//!
//! Pids are reused, so a pid read from a file is trusted only when the live
//! process is in the instance's cgroup (PID 1) or runs the launcher for the
//! instance's directory (the supervisor).

use std::path::Path;

use super::cgroup::cgroup_text_names_instance;

/// Parse a pid file's text.
pub fn parse_pid(text: &str) -> Option<u32> {
    text.trim().parse().ok().filter(|p| *p > 0)
}

/// Read a pid file (absent or garbage = None).
pub fn read_pid(path: &Path) -> Option<u32> {
    parse_pid(&std::fs::read_to_string(path).ok()?)
}

/// The process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ..." — comm may contain spaces and parentheses.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z" && state != "X")
}

/// `pid` is alive and inside the instance's cgroups.
pub fn in_instance_cgroup(pid: u32, prefix: &str, id: &str) -> bool {
    alive(pid)
        && std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .is_ok_and(|t| cgroup_text_names_instance(&t, prefix, id))
}

/// `pid` is alive and its command line names `dir` (the supervisor of it).
pub fn runs_for_dir(pid: u32, dir: &Path) -> bool {
    let Some(dir) = dir.to_str() else {
        return false;
    };
    alive(pid)
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.split(|b| *b == 0).any(|arg| arg == dir.as_bytes()))
}

/// Direct children of `pid` (from `/proc/<pid>/task/*/children`).
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_text() {
        assert_eq!(parse_pid("123\n"), Some(123));
        assert_eq!(parse_pid("0"), None);
        assert_eq!(parse_pid("x"), None);
    }

    #[test]
    fn children_of_this_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(children(std::process::id()).contains(&child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn this_process_is_alive() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX - 1));
    }
}
