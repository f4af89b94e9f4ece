//! The Linux system-container driver.
//!
//! An instance is a supervisor process (host namespaces, outside the
//! instance's cgroups) and below it PID 1 of a new PID namespace with its own
//! mount, UTS, IPC, cgroup and network namespaces, whose root is an overlay of
//! the image (read-only, shared) and the instance's upper directory (its
//! disk). See `launch` for the processes and `rootfs` for the mounts.
//!
//! The driver holds no state in memory: `state_dir/<id>/` (pid files, exit
//! record, console log, disk) and the kernel (cgroups, processes) are the
//! truth, so a new driver re-adopts what a previous one started. Calls for
//! the same instance must not run concurrently (the agent serializes them).

mod cgroup;
mod console;
mod exit;
mod launch;
mod paths;
mod procfs;
mod rootfs;
mod spec_file;
mod stop;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use cgroup::{limit_writes, CgroupLayout, Controller, LimitWrite, CFS_PERIOD_US};
pub use console::CONSOLE_KEEP;
pub use launch::{launcher_main, INSTANCE_PATH};
pub use paths::InstanceDir;

use crate::{ExitKind, HostError, Hypervisor, InstanceSpec, Runtime, LAUNCHER_SUBCOMMAND};
use cgroup::Cgroups;
use spec_file::LaunchSpec;

/// How long `start` waits for PID 1 to reach the exec of init.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the driver keeps instances and how it launches them.
#[derive(Debug, Clone)]
pub struct ContainerConfig {
    /// Per-instance directories live in `state_dir/<id>/`.
    pub state_dir: PathBuf,
    /// cgroup directory under each hierarchy (`nubo`, or a test-unique one).
    pub cgroup_prefix: String,
    /// A binary whose `container-launch` subcommand calls [`launcher_main`].
    pub nubo_exe: PathBuf,
}

/// The container [`Hypervisor`].
#[derive(Debug)]
pub struct ContainerDriver {
    config: ContainerConfig,
    cgroups: Cgroups,
}

impl ContainerDriver {
    /// Detect the cgroup layout and create `state_dir`.
    pub fn new(config: ContainerConfig) -> Result<ContainerDriver, HostError> {
        paths::validate_id(&config.cgroup_prefix)
            .map_err(|_| HostError(format!("invalid cgroup prefix {:?}", config.cgroup_prefix)))?;
        std::fs::create_dir_all(&config.state_dir)
            .map_err(|e| HostError::io("create", &config.state_dir, e))?;
        let cgroups = Cgroups::detect(&config.cgroup_prefix)?;
        Ok(ContainerDriver { config, cgroups })
    }

    /// The cgroup hierarchies in use.
    pub fn cgroup_layout(&self) -> &CgroupLayout {
        &self.cgroups.layout
    }

    /// The instance's cgroup directories (one per hierarchy).
    pub fn cgroup_dirs(&self, id: &str) -> Vec<PathBuf> {
        self.cgroups.dirs(id)
    }

    /// The instance's directory.
    pub fn instance_dir(&self, id: &str) -> InstanceDir {
        InstanceDir::new(&self.config.state_dir, id)
    }

    /// Remove the (empty) cgroup prefix directories: host teardown, tests.
    pub fn remove_cgroup_prefix(&self) -> Result<(), HostError> {
        self.cgroups.remove_prefix()
    }

    fn checked_dir(&self, id: &str) -> Result<InstanceDir, HostError> {
        paths::validate_id(id)?;
        Ok(self.instance_dir(id))
    }

    fn launcher(&self) -> Command {
        let mut cmd = Command::new(&self.config.nubo_exe);
        cmd.arg(LAUNCHER_SUBCOMMAND);
        cmd
    }

    fn validate_spec(&self, spec: &InstanceSpec) -> Result<(), HostError> {
        paths::validate_id(&spec.instance_id)?;
        paths::validate_hostname(&spec.hostname)?;
        if let Some(ns) = &spec.netns {
            paths::validate_netns(ns)?;
            let path = paths::netns_path(ns);
            if !path.exists() {
                return Err(HostError(format!(
                    "network namespace {ns} does not exist ({})",
                    path.display()
                )));
            }
        }
        // Overlay options are comma- and colon-separated.
        for p in [&spec.image_rootfs, &self.config.state_dir] {
            let text = p.to_string_lossy();
            if text.contains([',', ':', '\n']) || !p.is_absolute() {
                return Err(HostError(format!(
                    "path {} must be absolute without ',' or ':'",
                    p.display()
                )));
            }
        }
        if !spec.image_rootfs.is_dir() {
            return Err(HostError(format!(
                "image rootfs {} is not a directory",
                spec.image_rootfs.display()
            )));
        }
        Ok(())
    }

    /// Wait until PID 1 reports that it execs init (or fails).
    fn wait_launched(&self, dir: &InstanceDir, id: &str) -> Result<u32, HostError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let status = std::fs::read_to_string(dir.launch_status()).unwrap_or_default();
            if let Some(msg) = status.lines().find_map(|l| l.strip_prefix("error: ")) {
                return Err(HostError(format!("cannot launch {id}: {msg}")));
            }
            if status.starts_with("exec") {
                if let Some(pid) = procfs::read_pid(&dir.pid()) {
                    return Ok(pid);
                }
            }
            let supervisor_gone = !procfs::read_pid(&dir.supervisor_pid())
                .is_some_and(|p| procfs::runs_for_dir(p, &dir.root));
            if supervisor_gone && Instant::now() > deadline - START_TIMEOUT / 2 {
                let tail = console::read(&dir.console()).unwrap_or_default();
                return Err(HostError(format!(
                    "cannot launch {id}: the supervisor exited; console: {}",
                    String::from_utf8_lossy(console::tail(&tail, 512))
                )));
            }
            if Instant::now() > deadline {
                return Err(HostError(format!(
                    "cannot launch {id}: init not started after {START_TIMEOUT:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn start_once(&self, spec: &InstanceSpec, dir: &InstanceDir) -> Result<u32, HostError> {
        for d in [dir.upper(), dir.work(), dir.rootfs()] {
            std::fs::create_dir_all(&d).map_err(|e| HostError::io("create", &d, e))?;
        }
        for f in [
            dir.exit(),
            dir.stop_requested(),
            dir.launch_status(),
            dir.pid(),
            dir.supervisor_pid(),
        ] {
            remove_file(&f)?;
        }
        let launch = LaunchSpec {
            instance_id: spec.instance_id.clone(),
            hostname: spec.hostname.clone(),
            image_rootfs: spec.image_rootfs.clone(),
            netns: spec.netns.clone(),
            cgroup_procs: self.cgroups.procs_files(&spec.instance_id),
        };
        launch::write_atomic(&dir.spec(), &launch.encode()?)?;
        self.cgroups.create(&spec.instance_id, &spec.limits)?;
        let out = self
            .launcher()
            .arg("start")
            .arg(&dir.root)
            .stdin(Stdio::null())
            .env_clear()
            .output()
            .map_err(|e| {
                HostError(format!(
                    "cannot run the launcher {}: {e}",
                    self.config.nubo_exe.display()
                ))
            })?;
        if !out.status.success() {
            return Err(HostError(format!(
                "launcher {} failed ({}): {}",
                self.config.nubo_exe.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        self.wait_launched(dir, &spec.instance_id)
    }
}

fn remove_file(path: &Path) -> Result<(), HostError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(HostError::io("remove", path, e)),
    }
}

impl Hypervisor for ContainerDriver {
    fn kind(&self) -> &'static str {
        "container"
    }

    fn start(&self, spec: &InstanceSpec) -> Result<u32, HostError> {
        self.validate_spec(spec)?;
        let id = &spec.instance_id;
        let dir = self.instance_dir(id);
        match self.status(id)? {
            Runtime::Running { pid } => return Ok(pid),
            Runtime::Exited(_) => self.acknowledge_exit(id)?,
            Runtime::Stopped => {}
        }
        // Leftovers of a crash in the middle of an earlier start or stop.
        self.stop(id, Duration::ZERO)?;
        match self.start_once(spec, &dir) {
            Ok(pid) => Ok(pid),
            Err(e) => {
                let _ = self.stop(id, Duration::ZERO);
                Err(e)
            }
        }
    }

    fn stop(&self, id: &str, grace: Duration) -> Result<(), HostError> {
        let dir = self.checked_dir(id)?;
        stop::stop(&self.cgroups, &dir, id, grace)
    }

    fn status(&self, id: &str) -> Result<Runtime, HostError> {
        let dir = self.checked_dir(id)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pid = procfs::read_pid(&dir.pid());
            if let Some(pid) = pid {
                if procfs::in_instance_cgroup(pid, &self.cgroups.prefix, id) {
                    return Ok(Runtime::Running { pid });
                }
            }
            if let Ok(word) = std::fs::read_to_string(dir.exit()) {
                return Ok(Runtime::Exited(
                    ExitKind::parse(&word).unwrap_or(ExitKind::Crashed),
                ));
            }
            if pid.is_none() || dir.stop_requested().exists() {
                return Ok(Runtime::Stopped);
            }
            // PID 1 is gone but its supervisor may still be recording how.
            let supervisor = procfs::read_pid(&dir.supervisor_pid())
                .filter(|p| procfs::runs_for_dir(*p, &dir.root));
            if supervisor.is_none() || Instant::now() > deadline {
                // Nobody saw it end (the supervisor was killed): a crash.
                return Ok(Runtime::Exited(ExitKind::Crashed));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn acknowledge_exit(&self, id: &str) -> Result<(), HostError> {
        match self.status(id)? {
            Runtime::Running { .. } => Ok(()),
            Runtime::Stopped | Runtime::Exited(_) => self.stop(id, Duration::ZERO),
        }
    }

    fn destroy(&self, id: &str) -> Result<(), HostError> {
        let dir = self.checked_dir(id)?;
        self.stop(id, Duration::ZERO)?;
        match std::fs::remove_dir_all(&dir.root) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(HostError::io("remove", &dir.root, e)),
        }
    }

    fn list(&self) -> Result<Vec<String>, HostError> {
        let state = &self.config.state_dir;
        let mut ids = self.cgroups.list();
        let entries = std::fs::read_dir(state).map_err(|e| HostError::io("read", state, e))?;
        for e in entries.flatten() {
            if let Some(name) = e.file_name().to_str() {
                if paths::validate_id(name).is_ok() {
                    ids.push(name.to_string());
                }
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    fn console_output(&self, id: &str) -> Result<Vec<u8>, HostError> {
        let dir = self.checked_dir(id)?;
        console::read(&dir.console()).map_err(|e| HostError::io("read", &dir.console(), e))
    }

    fn exec(&self, id: &str, argv: &[String]) -> Result<Command, HostError> {
        let dir = self.checked_dir(id)?;
        if argv.is_empty() {
            return Err(HostError("exec: no command".into()));
        }
        match self.status(id)? {
            Runtime::Running { .. } => {}
            other => return Err(HostError(format!("{id} is not running ({other:?})"))),
        }
        let mut cmd = self.launcher();
        cmd.arg("exec")
            .arg(&dir.root)
            .arg("--")
            .args(argv)
            .env_clear()
            .env("PATH", INSTANCE_PATH)
            .env("HOME", "/root")
            .env("TERM", "xterm");
        Ok(cmd)
    }

    fn snapshot_rootfs(&self, id: &str, dest: &Path) -> Result<(), HostError> {
        let dir = self.checked_dir(id)?;
        stop::snapshot(self, &dir, id, dest)
    }
}
