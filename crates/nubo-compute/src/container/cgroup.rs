//! cgroups of instances: v1 (separate `cpu`, `memory`, `pids` hierarchies)
//! and v2 (one unified hierarchy), detected at runtime from the mount table.
//!
//! An instance's cgroup is `<hierarchy>/<prefix>/<id>` in every hierarchy in
//! use. The limit computation is a pure function ([`limit_writes`]); the rest
//! is file IO on cgroupfs. PID 1 of the instance writes itself into the
//! `cgroup.procs` files before it unshares its cgroup namespace, so every
//! process of the instance is inside; the supervisor stays outside.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::{HostError, ResourceLimits};

/// CFS period the CPU quota is expressed in (the kernel's default).
pub const CFS_PERIOD_US: u64 = 100_000;

/// Which cgroup hierarchies this host has, and where they are mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupLayout {
    V1 {
        cpu: PathBuf,
        memory: PathBuf,
        pids: PathBuf,
    },
    V2 {
        root: PathBuf,
    },
}

/// Which directory a limit file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Cpu,
    Memory,
    Pids,
    /// v2: the one directory holding every controller's files.
    Unified,
}

/// One limit: write `value` into `file` of the instance's `controller` dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitWrite {
    pub controller: Controller,
    pub file: &'static str,
    pub value: String,
}

/// The files and values that impose `limits` (0 = unlimited).
pub fn limit_writes(v2: bool, limits: &ResourceLimits) -> Vec<LimitWrite> {
    let quota = u64::from(limits.vcpus) * CFS_PERIOD_US;
    let bytes = limits.memory_mib.saturating_mul(1024 * 1024);
    let w = |controller, file, value: String| LimitWrite {
        controller,
        file,
        value,
    };
    let pids = if limits.pids == 0 {
        "max".to_string()
    } else {
        limits.pids.to_string()
    };
    if v2 {
        let cpu = if limits.vcpus == 0 {
            format!("max {CFS_PERIOD_US}")
        } else {
            format!("{quota} {CFS_PERIOD_US}")
        };
        let mem = if bytes == 0 {
            "max".to_string()
        } else {
            bytes.to_string()
        };
        vec![
            w(Controller::Unified, "cpu.max", cpu),
            w(Controller::Unified, "memory.max", mem),
            w(Controller::Unified, "pids.max", pids),
        ]
    } else {
        let unlimited_or = |n: u64| {
            if n == 0 {
                "-1".to_string()
            } else {
                n.to_string()
            }
        };
        vec![
            w(
                Controller::Cpu,
                "cpu.cfs_period_us",
                CFS_PERIOD_US.to_string(),
            ),
            w(Controller::Cpu, "cpu.cfs_quota_us", unlimited_or(quota)),
            w(
                Controller::Memory,
                "memory.limit_in_bytes",
                unlimited_or(bytes),
            ),
            w(Controller::Pids, "pids.max", pids),
        ]
    }
}

/// Find the hierarchies in `/proc/self/mountinfo` text: v1 when `cpu`,
/// `memory` and `pids` each have a v1 mount, else the cgroup2 mount.
pub fn parse_layout(mountinfo: &str) -> Option<CgroupLayout> {
    let (mut cpu, mut memory, mut pids, mut unified) = (None, None, None, None);
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = left.split(' ').nth(4) else {
            continue;
        };
        let mut right = right.split(' ');
        let (fstype, _source, opts) = (right.next(), right.next(), right.next().unwrap_or(""));
        let path = PathBuf::from(unescape_mountinfo(mount_point));
        match fstype {
            Some("cgroup") => {
                for opt in opts.split(',') {
                    match opt {
                        "cpu" => cpu = Some(path.clone()),
                        "memory" => memory = Some(path.clone()),
                        "pids" => pids = Some(path.clone()),
                        _ => {}
                    }
                }
            }
            Some("cgroup2") if unified.is_none() || path == Path::new("/sys/fs/cgroup") => {
                unified = Some(path)
            }
            _ => {}
        }
    }
    match (cpu, memory, pids, unified) {
        (Some(cpu), Some(memory), Some(pids), _) => Some(CgroupLayout::V1 { cpu, memory, pids }),
        (_, _, _, Some(root)) => Some(CgroupLayout::V2 { root }),
        _ => None,
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Does `/proc/<pid>/cgroup` text place the process in `<prefix>/<id>`?
pub fn cgroup_text_names_instance(text: &str, prefix: &str, id: &str) -> bool {
    let tail = format!("/{prefix}/{id}");
    text.lines().any(|l| {
        l.splitn(3, ':')
            .nth(2)
            .is_some_and(|p| p == tail || p.ends_with(&tail) || p.contains(&format!("{tail}/")))
    })
}

/// The cgroups of this host, for one cgroup prefix.
#[derive(Debug, Clone)]
pub struct Cgroups {
    pub layout: CgroupLayout,
    pub prefix: String,
}

impl Cgroups {
    /// Detect the layout from `/proc/self/mountinfo`.
    pub fn detect(prefix: &str) -> Result<Cgroups, HostError> {
        let path = Path::new("/proc/self/mountinfo");
        let text = std::fs::read_to_string(path).map_err(|e| HostError::io("read", path, e))?;
        let layout = parse_layout(&text).ok_or_else(|| {
            HostError("no cgroup hierarchy with cpu, memory and pids is mounted".into())
        })?;
        Ok(Cgroups {
            layout,
            prefix: prefix.to_string(),
        })
    }

    fn v2(&self) -> bool {
        matches!(self.layout, CgroupLayout::V2 { .. })
    }

    fn hierarchy(&self, c: Controller) -> &Path {
        match (&self.layout, c) {
            (CgroupLayout::V1 { cpu, .. }, Controller::Cpu) => cpu,
            (CgroupLayout::V1 { memory, .. }, Controller::Memory) => memory,
            (CgroupLayout::V1 { pids, .. }, Controller::Pids | Controller::Unified) => pids,
            (CgroupLayout::V2 { root }, _) => root,
        }
    }

    fn hierarchies(&self) -> Vec<&Path> {
        match &self.layout {
            CgroupLayout::V1 { cpu, memory, pids } => vec![cpu, memory, pids],
            CgroupLayout::V2 { root } => vec![root],
        }
    }

    /// The instance's directory in every hierarchy.
    pub fn dirs(&self, id: &str) -> Vec<PathBuf> {
        self.hierarchies()
            .into_iter()
            .map(|h| h.join(&self.prefix).join(id))
            .collect()
    }

    /// `cgroup.procs` of every instance directory.
    pub fn procs_files(&self, id: &str) -> Vec<PathBuf> {
        self.dirs(id)
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// Create the instance's cgroups and write its limits.
    pub fn create(&self, id: &str, limits: &ResourceLimits) -> Result<(), HostError> {
        if let CgroupLayout::V2 { root } = &self.layout {
            enable_controllers(root)?;
            let parent = root.join(&self.prefix);
            mkdir(&parent)?;
            enable_controllers(&parent)?;
        }
        for dir in self.dirs(id) {
            if let Some(parent) = dir.parent() {
                mkdir(parent)?;
            }
            mkdir(&dir)?;
        }
        for w in limit_writes(self.v2(), limits) {
            let path = self
                .hierarchy(w.controller)
                .join(&self.prefix)
                .join(id)
                .join(w.file);
            std::fs::write(&path, &w.value)
                .map_err(|e| HostError::io(&format!("write {:?} to", w.value), &path, e))?;
        }
        Ok(())
    }

    /// Host pids of every process in the instance's cgroups.
    pub fn pids(&self, id: &str) -> Vec<u32> {
        let mut pids: Vec<u32> = self
            .procs_files(id)
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .flat_map(|t| {
                t.lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// SIGKILL everything in the instance's cgroups until they are empty.
    pub fn kill_all(&self, id: &str) -> Result<(), HostError> {
        if let CgroupLayout::V2 { root } = &self.layout {
            let kill_file = root.join(&self.prefix).join(id).join("cgroup.kill");
            if kill_file.exists() {
                let _ = std::fs::write(&kill_file, "1");
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pids = self.pids(id);
            if pids.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(HostError(format!(
                    "processes {pids:?} of {id} survive SIGKILL"
                )));
            }
            for pid in pids {
                if let Ok(pid) = i32::try_from(pid) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill what is left and remove the instance's cgroup directories.
    pub fn remove(&self, id: &str) -> Result<(), HostError> {
        self.kill_all(id)?;
        for dir in self.dirs(id) {
            // A killed task leaves its cgroup a moment after it is reaped.
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match std::fs::remove_dir(&dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if Instant::now() > deadline => {
                        return Err(HostError::io("remove cgroup", &dir, e))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }
        Ok(())
    }

    /// Names of the instance cgroups under the prefix, in any hierarchy.
    pub fn list(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for h in self.hierarchies() {
            if let Ok(entries) = std::fs::read_dir(h.join(&self.prefix)) {
                for e in entries.flatten() {
                    if e.path().is_dir() {
                        if let Some(name) = e.file_name().to_str() {
                            ids.push(name.to_string());
                        }
                    }
                }
            }
        }
        ids.sort();
        ids.dedup();
        ids
    }

    /// Remove the (empty) prefix directories; for tests and host teardown.
    pub fn remove_prefix(&self) -> Result<(), HostError> {
        for h in self.hierarchies() {
            let dir = h.join(&self.prefix);
            match std::fs::remove_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(HostError::io("remove cgroup", &dir, e)),
            }
        }
        Ok(())
    }
}

fn mkdir(dir: &Path) -> Result<(), HostError> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(HostError::io("create cgroup", dir, e)),
    }
}

/// v2: let the children of `dir` use the cpu, memory and pids controllers.
fn enable_controllers(dir: &Path) -> Result<(), HostError> {
    let control = dir.join("cgroup.subtree_control");
    let enabled = std::fs::read_to_string(&control).unwrap_or_default();
    for c in ["cpu", "memory", "pids"] {
        if !enabled.split_whitespace().any(|e| e == c) {
            std::fs::write(&control, format!("+{c}"))
                .map_err(|e| HostError::io(&format!("enable +{c} in"), &control, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ResourceLimits = ResourceLimits {
        vcpus: 2,
        memory_mib: 512,
        pids: 1024,
    };

    fn value(ws: &[LimitWrite], c: Controller, file: &str) -> String {
        ws.iter()
            .find(|w| w.controller == c && w.file == file)
            .map(|w| w.value.clone())
            .unwrap_or_else(|| panic!("no {file}"))
    }

    #[test]
    fn v1_limits() {
        let ws = limit_writes(false, &LIMITS);
        assert_eq!(value(&ws, Controller::Cpu, "cpu.cfs_period_us"), "100000");
        assert_eq!(value(&ws, Controller::Cpu, "cpu.cfs_quota_us"), "200000");
        assert_eq!(
            value(&ws, Controller::Memory, "memory.limit_in_bytes"),
            "536870912"
        );
        assert_eq!(value(&ws, Controller::Pids, "pids.max"), "1024");
    }

    #[test]
    fn v2_limits() {
        let ws = limit_writes(true, &LIMITS);
        assert_eq!(value(&ws, Controller::Unified, "cpu.max"), "200000 100000");
        assert_eq!(value(&ws, Controller::Unified, "memory.max"), "536870912");
        assert_eq!(value(&ws, Controller::Unified, "pids.max"), "1024");
        assert_eq!(ws.len(), 3);
    }

    #[test]
    fn zero_means_unlimited() {
        let none = ResourceLimits {
            vcpus: 0,
            memory_mib: 0,
            pids: 0,
        };
        let v1 = limit_writes(false, &none);
        assert_eq!(value(&v1, Controller::Cpu, "cpu.cfs_quota_us"), "-1");
        assert_eq!(
            value(&v1, Controller::Memory, "memory.limit_in_bytes"),
            "-1"
        );
        assert_eq!(value(&v1, Controller::Pids, "pids.max"), "max");
        let v2 = limit_writes(true, &none);
        assert_eq!(value(&v2, Controller::Unified, "cpu.max"), "max 100000");
        assert_eq!(value(&v2, Controller::Unified, "memory.max"), "max");
    }

    /// The paths and files `create` writes, on a plain directory standing
    /// in for cgroupfs (the kernel's v2 tree cannot be had on a v1 host).
    #[test]
    fn create_writes_limits_where_each_layout_wants_them() {
        let base = std::env::temp_dir().join(format!("nubo-cgtest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let v2 = Cgroups {
            layout: CgroupLayout::V2 {
                root: base.join("v2"),
            },
            prefix: "pfx".into(),
        };
        std::fs::create_dir_all(base.join("v2")).unwrap();
        v2.create("i-1", &LIMITS).unwrap();
        let read = |p: &str| std::fs::read_to_string(base.join(p)).unwrap();
        assert_eq!(read("v2/pfx/i-1/cpu.max"), "200000 100000");
        assert_eq!(read("v2/pfx/i-1/memory.max"), "536870912");
        assert_eq!(read("v2/pfx/i-1/pids.max"), "1024");
        // Controllers are enabled for the prefix and for the instances.
        assert!(base.join("v2/cgroup.subtree_control").exists());
        assert!(base.join("v2/pfx/cgroup.subtree_control").exists());
        assert_eq!(
            v2.procs_files("i-1"),
            vec![base.join("v2/pfx/i-1/cgroup.procs")]
        );
        assert_eq!(v2.list(), vec!["i-1".to_string()]);

        let v1 = Cgroups {
            layout: CgroupLayout::V1 {
                cpu: base.join("cpu"),
                memory: base.join("memory"),
                pids: base.join("pids"),
            },
            prefix: "pfx".into(),
        };
        for h in ["cpu", "memory", "pids"] {
            std::fs::create_dir_all(base.join(h)).unwrap();
        }
        v1.create("i-2", &LIMITS).unwrap();
        assert_eq!(read("cpu/pfx/i-2/cpu.cfs_quota_us"), "200000");
        assert_eq!(read("memory/pfx/i-2/memory.limit_in_bytes"), "536870912");
        assert_eq!(read("pids/pfx/i-2/pids.max"), "1024");
        assert_eq!(v1.dirs("i-2").len(), 3);
        assert_eq!(v1.list(), vec!["i-2".to_string()]);
        assert!(v1.pids("i-2").is_empty());
        std::fs::remove_dir_all(&base).unwrap();
    }

    const V1_MOUNTINFO: &str = "\
25 1 0:22 / /sys rw - sysfs sysfs rw
30 25 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
36 30 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
37 30 0:33 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset
";

    #[test]
    fn detects_v1_even_with_an_empty_unified_mount() {
        assert_eq!(
            parse_layout(V1_MOUNTINFO),
            Some(CgroupLayout::V1 {
                cpu: "/sys/fs/cgroup/cpu,cpuacct".into(),
                memory: "/sys/fs/cgroup/memory".into(),
                pids: "/sys/fs/cgroup/pids".into(),
            })
        );
    }

    #[test]
    fn detects_v2() {
        let text = "25 1 0:22 / /sys rw - sysfs sysfs rw\n\
                    30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            parse_layout(text),
            Some(CgroupLayout::V2 {
                root: "/sys/fs/cgroup".into()
            })
        );
        assert_eq!(parse_layout("25 1 0:22 / /sys rw - sysfs sysfs rw\n"), None);
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
    }

    #[test]
    fn membership_from_proc_cgroup() {
        let v1 = "9:pids:/nubo/i-1\n4:memory:/process_api/x/nubo/i-1\n1:cpu:/\n";
        assert!(cgroup_text_names_instance(v1, "nubo", "i-1"));
        assert!(!cgroup_text_names_instance(v1, "nubo", "i-10"));
        assert!(!cgroup_text_names_instance(
            "0::/nubo/i-10\n",
            "nubo",
            "i-1"
        ));
        assert!(cgroup_text_names_instance("0::/nubo/i-1\n", "nubo", "i-1"));
        assert!(!cgroup_text_names_instance("0::/\n", "nubo", "i-1"));
    }
}
