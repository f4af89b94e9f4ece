//! Stopping an instance (shutdown signal, grace, kill, cgroup removal) and
//! copying its filesystem out (CreateImage).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::cgroup::Cgroups;
use super::paths::InstanceDir;
use super::spec_file::LaunchSpec;
use super::{procfs, remove_file, ContainerDriver};
use crate::{HostError, Hypervisor, Runtime};

/// The signal that asks busybox init for a clean power-off. (SIGTERM means
/// *reboot* to busybox init; SIGINT is ctrl-alt-del.)
pub const SHUTDOWN_SIGNAL: Signal = Signal::SIGUSR2;

/// How long the supervisor gets to notice its child's death and exit.
const SUPERVISOR_EXIT: Duration = Duration::from_secs(5);

fn signal(pid: u32, sig: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), sig);
    }
}

fn wait_until(deadline: Instant, done: impl Fn() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Stop the instance: nothing of it stays in the kernel, its disk stays.
pub fn stop(
    cgroups: &Cgroups,
    dir: &InstanceDir,
    id: &str,
    grace: Duration,
) -> Result<(), HostError> {
    if !dir.root.exists() && cgroups.dirs(id).iter().all(|d| !d.exists()) {
        return Ok(());
    }
    let pid = procfs::read_pid(&dir.pid())
        .filter(|p| procfs::in_instance_cgroup(*p, &cgroups.prefix, id));
    if let Some(pid) = pid {
        mark_stop_requested(dir)?;
        if !grace.is_zero() {
            signal(pid, SHUTDOWN_SIGNAL);
            wait_until(Instant::now() + grace, || !procfs::alive(pid));
        }
        // PID 1's death kills every other process of its PID namespace.
        signal(pid, Signal::SIGKILL);
    }
    let supervisor =
        procfs::read_pid(&dir.supervisor_pid()).filter(|p| procfs::runs_for_dir(*p, &dir.root));
    if let Some(sup) = supervisor {
        // A start interrupted (by a crash) before `pid` was written: the
        // supervisor's child may not be in the cgroups yet.
        mark_stop_requested(dir)?;
        for child in procfs::children(sup) {
            signal(child, Signal::SIGKILL);
        }
    }
    cgroups.kill_all(id)?;
    if let Some(sup) = supervisor {
        let gone = || !procfs::runs_for_dir(sup, &dir.root);
        if !wait_until(Instant::now() + SUPERVISOR_EXIT, gone) {
            signal(sup, Signal::SIGKILL);
            wait_until(Instant::now() + SUPERVISOR_EXIT, gone);
        }
    }
    cgroups.remove(id)?;
    for f in [
        dir.pid(),
        dir.supervisor_pid(),
        dir.exit(),
        dir.stop_requested(),
        dir.launch_status(),
    ] {
        remove_file(&f)?;
    }
    Ok(())
}

fn mark_stop_requested(dir: &InstanceDir) -> Result<(), HostError> {
    let path = dir.stop_requested();
    std::fs::write(&path, b"").map_err(|e| HostError::io("write", &path, e))
}

/// Copy the merged filesystem (image + the instance's changes) into `dest`.
/// Running: through `/proc/<pid>/root`, staying on the root mount (so /proc,
/// /sys, /dev and the tmpfs mounts are not copied). Stopped: a read-only
/// overlay of upper over image, mounted in a throwaway mount namespace.
pub fn snapshot(
    driver: &ContainerDriver,
    dir: &InstanceDir,
    id: &str,
    dest: &Path,
) -> Result<(), HostError> {
    let empty = std::fs::read_dir(dest)
        .map_err(|e| HostError::io("read", dest, e))?
        .next()
        .is_none();
    if !empty {
        return Err(HostError(format!(
            "snapshot target {} is not empty",
            dest.display()
        )));
    }
    let mut cmd = match driver.status(id)? {
        Runtime::Running { pid } => {
            let mut c = Command::new("cp");
            c.arg("-a")
                .arg("--one-file-system")
                .arg(format!("/proc/{pid}/root/."))
                .arg(dest);
            c
        }
        Runtime::Stopped | Runtime::Exited(_) => {
            let spec_path = dir.spec();
            let spec = std::fs::read_to_string(&spec_path)
                .map_err(|_| HostError(format!("{id} has no disk on this host")))?;
            let spec = LaunchSpec::decode(&spec)?;
            let opts = format!(
                "ro,lowerdir={}:{}",
                dir.upper().display(),
                spec.image_rootfs.display()
            );
            let mut c = Command::new("unshare");
            c.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                .arg(r#"mount -t overlay overlay -o "$1" "$2" && cp -a "$2/." "$3""#)
                .arg("sh")
                .arg(opts)
                .arg(dir.rootfs())
                .arg(dest);
            c
        }
    };
    let out = cmd
        .output()
        .map_err(|e| HostError(format!("snapshot of {id}: {e}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && !only_vanished_files(&stderr) {
        return Err(HostError(format!(
            "snapshot of {id} failed: {}",
            stderr.trim()
        )));
    }
    Ok(())
}

/// Whether `cp`'s complaints are all about files that disappeared between
/// listing their directory and copying them — what a live copy meets when
/// the instance renames or deletes files meanwhile (a first boot writing its
/// SSH host keys, a log rotating). Such a file is simply not in the image,
/// as with AWS's `NoReboot` images, which promise no file-system integrity.
fn only_vanished_files(stderr: &str) -> bool {
    let mut lines = stderr.lines().filter(|l| !l.trim().is_empty()).peekable();
    lines.peek().is_some() && lines.all(|l| l.ends_with("No such file or directory"))
}

#[cfg(test)]
mod tests {
    use super::only_vanished_files;

    #[test]
    fn a_live_copy_tolerates_only_vanished_files() {
        let vanished = "cp: cannot stat '/proc/7/root/./etc/ssh/ssh_host_key.tmp': No such file or directory\n";
        assert!(only_vanished_files(vanished));
        assert!(!only_vanished_files(""));
        assert!(!only_vanished_files(&format!(
            "{vanished}cp: error writing '/x/y': No space left on device\n"
        )));
    }
}
