//! The launch spec: what `ContainerDriver::start` hands the launcher
//! processes, as `key=value` lines in `state_dir/<id>/launch.spec`.
//!
//! A file (not argv) so the supervisor and PID 1 read the same facts and a
//! `ps` listing stays short. Values never contain newlines (checked).

use std::path::PathBuf;

use crate::HostError;

/// What the launcher needs to build the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSpec {
    pub instance_id: String,
    pub hostname: String,
    pub image_rootfs: PathBuf,
    pub netns: Option<String>,
    /// `cgroup.procs` files PID 1 writes itself into before unsharing.
    pub cgroup_procs: Vec<PathBuf>,
}

impl LaunchSpec {
    /// The file text.
    pub fn encode(&self) -> Result<String, HostError> {
        let mut lines = vec![
            ("id", self.instance_id.clone()),
            ("hostname", self.hostname.clone()),
            ("image", path_text(&self.image_rootfs)?),
        ];
        if let Some(ns) = &self.netns {
            lines.push(("netns", ns.clone()));
        }
        for p in &self.cgroup_procs {
            lines.push(("cgroup", path_text(p)?));
        }
        let mut out = String::new();
        for (k, v) in lines {
            if v.contains('\n') {
                return Err(HostError(format!("launch spec {k} contains a newline")));
            }
            out.push_str(k);
            out.push('=');
            out.push_str(&v);
            out.push('\n');
        }
        Ok(out)
    }

    /// Parse what [`LaunchSpec::encode`] wrote.
    pub fn decode(text: &str) -> Result<LaunchSpec, HostError> {
        let (mut id, mut hostname, mut image, mut netns) = (None, None, None, None);
        let mut cgroup_procs = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| HostError(format!("launch spec: bad line {line:?}")))?;
            match k {
                "id" => id = Some(v.to_string()),
                "hostname" => hostname = Some(v.to_string()),
                "image" => image = Some(PathBuf::from(v)),
                "netns" => netns = Some(v.to_string()),
                "cgroup" => cgroup_procs.push(PathBuf::from(v)),
                _ => return Err(HostError(format!("launch spec: unknown key {k:?}"))),
            }
        }
        let missing = |k: &str| HostError(format!("launch spec: missing {k}"));
        Ok(LaunchSpec {
            instance_id: id.ok_or_else(|| missing("id"))?,
            hostname: hostname.ok_or_else(|| missing("hostname"))?,
            image_rootfs: image.ok_or_else(|| missing("image"))?,
            netns,
            cgroup_procs,
        })
    }
}

fn path_text(p: &std::path::Path) -> Result<String, HostError> {
    p.to_str()
        .map(str::to_string)
        .ok_or_else(|| HostError(format!("path {} is not UTF-8", p.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let spec = LaunchSpec {
            instance_id: "i-1".into(),
            hostname: "ip-10-0-1-5".into(),
            image_rootfs: "/var/lib/nubo/images/ami-1/rootfs".into(),
            netns: Some("nubo-eni-1".into()),
            cgroup_procs: vec![
                "/sys/fs/cgroup/cpu/nubo/i-1/cgroup.procs".into(),
                "/sys/fs/cgroup/memory/nubo/i-1/cgroup.procs".into(),
            ],
        };
        assert_eq!(LaunchSpec::decode(&spec.encode().unwrap()).unwrap(), spec);
        let no_ns = LaunchSpec {
            netns: None,
            ..spec
        };
        assert_eq!(LaunchSpec::decode(&no_ns.encode().unwrap()).unwrap(), no_ns);
    }

    #[test]
    fn rejects_newlines_and_garbage() {
        let spec = LaunchSpec {
            instance_id: "i-1".into(),
            hostname: "a\nb".into(),
            image_rootfs: "/x".into(),
            netns: None,
            cgroup_procs: vec![],
        };
        assert!(spec.encode().is_err());
        assert!(LaunchSpec::decode("id=i-1\n").is_err());
        assert!(LaunchSpec::decode("nonsense\n").is_err());
        assert!(LaunchSpec::decode("id=i\nhostname=h\nimage=/x\nfoo=1\n").is_err());
    }
}
