//! Where an instance's files live (`state_dir/<id>/…`) and which names are
//! acceptable as instance ids and hostnames.
//!
//! Every file the driver, the supervisor and the in-namespace launcher share
//! is named here once.

use std::path::{Path, PathBuf};

use crate::HostError;

/// The files of one instance under `state_dir/<id>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceDir {
    pub root: PathBuf,
}

impl InstanceDir {
    pub fn new(state_dir: &Path, id: &str) -> InstanceDir {
        InstanceDir {
            root: state_dir.join(id),
        }
    }

    /// The directory given on the launcher's command line.
    pub fn from_root(root: PathBuf) -> InstanceDir {
        InstanceDir { root }
    }

    /// Overlay upper dir: the instance's disk (its changes to the image).
    pub fn upper(&self) -> PathBuf {
        self.root.join("upper")
    }
    /// Overlay work dir (same filesystem as upper).
    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }
    /// Empty mount point of the merged rootfs (mounted only inside the
    /// instance's own mount namespace).
    pub fn rootfs(&self) -> PathBuf {
        self.root.join("rootfs")
    }
    /// What the launcher needs, written by `start` (see `spec_file`).
    pub fn spec(&self) -> PathBuf {
        self.root.join("launch.spec")
    }
    /// Host pid of the instance's PID 1.
    pub fn pid(&self) -> PathBuf {
        self.root.join("pid")
    }
    /// Host pid of the supervisor process.
    pub fn supervisor_pid(&self) -> PathBuf {
        self.root.join("supervisor.pid")
    }
    /// How init ended by itself (`poweroff`, `reboot`, `crashed`).
    pub fn exit(&self) -> PathBuf {
        self.root.join("exit")
    }
    /// Present while the driver is stopping the instance: its death is then
    /// not an exit of its own.
    pub fn stop_requested(&self) -> PathBuf {
        self.root.join("stop-requested")
    }
    /// `exec` once the launcher is about to exec init, or `error: …`.
    pub fn launch_status(&self) -> PathBuf {
        self.root.join("launch-status")
    }
    /// Everything init and its children wrote to stdout/stderr (capped).
    pub fn console(&self) -> PathBuf {
        self.root.join("console.log")
    }
}

/// Instance ids become directory and cgroup names: letters, digits and `-`
/// only, 1..=64 characters, not starting with `-`.
pub fn validate_id(id: &str) -> Result<(), HostError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('-')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(HostError(format!(
            "invalid instance id {id:?}: expected 1-64 letters, digits or '-'"
        )))
    }
}

/// A UTS hostname: 1..=64 characters of letters, digits, `-` and `.`.
pub fn validate_hostname(name: &str) -> Result<(), HostError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(HostError(format!("invalid hostname {name:?}")))
    }
}

/// A named network namespace (a file name under `/run/netns`).
pub fn validate_netns(name: &str) -> Result<(), HostError> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(HostError(format!(
            "invalid network namespace name {name:?}"
        )))
    }
}

/// Where `ip netns` keeps named network namespaces.
pub fn netns_path(name: &str) -> PathBuf {
    Path::new("/run/netns").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_path_and_cgroup_components() {
        assert!(validate_id("i-0123456789abcdef0").is_ok());
        for bad in ["", "..", "a/b", "-x", "i 1", &"a".repeat(65), "i-é"] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn hostnames_and_netns_names() {
        assert!(validate_hostname("ip-10-0-1-5").is_ok());
        assert!(validate_hostname("ip-10-0-1-5.ec2.internal").is_ok());
        assert!(validate_hostname("a b").is_err());
        assert!(validate_hostname("").is_err());
        assert!(validate_netns("nubo-eni-0a1b").is_ok());
        assert!(validate_netns("..").is_err());
        assert!(validate_netns("a/b").is_err());
    }

    #[test]
    fn instance_files_live_under_the_instance_dir() {
        let d = InstanceDir::new(Path::new("/var/lib/nubo/instances"), "i-1");
        assert_eq!(d.upper(), Path::new("/var/lib/nubo/instances/i-1/upper"));
        assert_eq!(d.pid(), Path::new("/var/lib/nubo/instances/i-1/pid"));
        assert_eq!(netns_path("x"), Path::new("/run/netns/x"));
    }
}
