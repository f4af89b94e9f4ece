//! The instance's root filesystem, built by PID 1 inside its own (fresh,
//! private) mount namespace: overlay(image, upper) → /proc, /sys (ro), /dev,
//! /dev/pts, /dev/shm, /run, /tmp → pivot_root. Nothing is mounted in the
//! host's namespace, so the mounts vanish with the instance's last process.

use std::os::fd::AsRawFd;
use std::os::unix::fs::symlink;
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use nix::unistd::{fchdir, pivot_root};

use super::paths::InstanceDir;
use super::spec_file::LaunchSpec;
use crate::HostError;

/// Character devices every instance gets: (name, major, minor).
const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// The overlay mount options: lower = the shared image, upper/work = the
/// instance's disk.
pub fn overlay_options(lower: &Path, upper: &Path, work: &Path) -> String {
    format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    )
}

fn err(what: &str, path: &Path, e: impl std::fmt::Display) -> HostError {
    HostError::io(what, path, e)
}

fn mount_fs(
    target: &Path,
    fstype: &str,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), HostError> {
    // The mount points are in the instance's own (writable) tree: a symlink
    // planted there would point outside it, so only real directories count.
    match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(HostError(format!(
                "mount point {} is not a directory",
                target.display()
            )))
        }
        Err(_) => std::fs::create_dir(target).map_err(|e| err("create mount point", target, e))?,
    }
    mount(Some(fstype), target, Some(fstype), flags, data)
        .map_err(|e| err(&format!("mount {fstype} on"), target, e))
}

/// Mount the instance's filesystems under its rootfs and make it `/`.
/// Must run in a private mount namespace of its own.
pub fn build(dir: &InstanceDir, spec: &LaunchSpec) -> Result<(), HostError> {
    let root = dir.rootfs();
    let opts = overlay_options(&spec.image_rootfs, &dir.upper(), &dir.work());
    mount(
        Some("overlay"),
        &root,
        Some("overlay"),
        MsFlags::empty(),
        Some(opts.as_str()),
    )
    .map_err(|e| err("mount overlay on", &root, e))?;

    let nosuid_nodev = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount_fs(
        &root.join("proc"),
        "proc",
        nosuid_nodev | MsFlags::MS_NOEXEC,
        None,
    )?;
    mount_fs(
        &root.join("sys"),
        "sysfs",
        nosuid_nodev | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY,
        None,
    )?;
    build_dev(&root.join("dev"))?;
    mount_fs(&root.join("run"), "tmpfs", nosuid_nodev, Some("mode=755"))?;
    mount_fs(&root.join("tmp"), "tmpfs", nosuid_nodev, Some("mode=1777"))?;
    enter(&root)
}

fn build_dev(dev: &Path) -> Result<(), HostError> {
    mount_fs(
        dev,
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )?;
    for (name, major, minor) in DEVICES {
        let path = dev.join(name);
        mknod(
            &path,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(major, minor),
        )
        .map_err(|e| err("mknod", &path, e))?;
    }
    mount_fs(
        &dev.join("pts"),
        "devpts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )?;
    mount_fs(
        &dev.join("shm"),
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )?;
    // /dev/console is PID 1's stdout: the console pipe the supervisor logs.
    let links = [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("console", "/proc/1/fd/1"),
    ];
    for (name, target) in links {
        let path = dev.join(name);
        symlink(target, &path).map_err(|e| err("symlink", &path, e))?;
    }
    Ok(())
}

/// pivot_root into `root` and detach the old root (runc's recipe: pivot onto
/// itself, then unmount the old root stacked underneath).
fn enter(root: &Path) -> Result<(), HostError> {
    let old = std::fs::File::open("/").map_err(|e| err("open", Path::new("/"), e))?;
    let new = std::fs::File::open(root).map_err(|e| err("open", root, e))?;
    fchdir(new.as_raw_fd()).map_err(|e| err("chdir", root, e))?;
    pivot_root(".", ".").map_err(|e| err("pivot_root to", root, e))?;
    fchdir(old.as_raw_fd()).map_err(|e| err("chdir to old root of", root, e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| err("detach old root of", root, e))?;
    std::env::set_current_dir("/").map_err(|e| err("chdir", Path::new("/"), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_options_name_the_three_dirs() {
        assert_eq!(
            overlay_options(
                Path::new("/img/rootfs"),
                Path::new("/st/i-1/upper"),
                Path::new("/st/i-1/work")
            ),
            "lowerdir=/img/rootfs,upperdir=/st/i-1/upper,workdir=/st/i-1/work"
        );
    }
}
