//! The launcher: the stages that run in separate processes, reached through
//! `<binary> container-launch <stage> <instance-dir> …` (the `nubo` binary's
//! hidden subcommand, or the `nubo-container-launch` test binary).
//!
//! * `start`: spawns `supervise` and exits at once, so the supervisor is
//!   orphaned (reparented to the host's init) and no caller has to reap it.
//! * `supervise`: `setsid`, stays in the host's namespaces and outside the
//!   instance's cgroups; unshares a PID namespace for its child, spawns
//!   `init` (which becomes PID 1 there), writes its host pid to `pid`, copies
//!   the console pipe into `console.log`, waits, and records how PID 1 ended
//!   in `exit` unless the driver asked for the stop. It survives `kill -9` of
//!   the server; one small process per instance.
//! * `init`: joins the cgroups, unshares cgroup/mount/UTS/IPC namespaces,
//!   joins the instance's network namespace, builds the rootfs, sets the
//!   hostname and execs the image's `/sbin/init` as PID 1.
//! * `exec`: joins the instance's cgroups, then execs `nsenter` into all of
//!   its namespaces and root to run a command inside.

use std::convert::Infallible;
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{execve, execvp, sethostname, setsid};

use super::exit::exit_kind;
use super::paths::{netns_path, InstanceDir};
use super::spec_file::LaunchSpec;
use super::{console, rootfs};
use crate::{HostError, LAUNCHER_SUBCOMMAND};

/// PATH inside instances (init's and `exec`'s environment).
pub const INSTANCE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Entry point of the launcher. `args` are the arguments after the program
/// name, optionally starting with `container-launch`. Never returns.
pub fn launcher_main(args: &[String]) -> ! {
    let args = match args.first() {
        Some(a) if a == LAUNCHER_SUBCOMMAND => &args[1..],
        _ => args,
    };
    let (stage, dir) = match args {
        [stage, dir, ..] => (stage.as_str(), InstanceDir::from_root(PathBuf::from(dir))),
        _ => fail("usage: container-launch start|supervise|init|exec <instance-dir> [-- argv]"),
    };
    let result = match stage {
        "start" => start(&dir),
        "supervise" => supervise(&dir),
        "init" => init(&dir).map(|never| match never {}),
        "exec" => exec(&dir, args.get(2..).unwrap_or_default()).map(|never| match never {}),
        other => Err(HostError(format!("unknown stage {other:?}"))),
    };
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("nubo container-launch: {msg}");
    std::process::exit(1)
}

fn self_exe() -> Result<PathBuf, HostError> {
    std::env::current_exe().map_err(|e| HostError(format!("cannot find own executable: {e}")))
}

fn dir_arg(dir: &InstanceDir) -> &Path {
    &dir.root
}

fn read_spec(dir: &InstanceDir) -> Result<LaunchSpec, HostError> {
    let path = dir.spec();
    let text = std::fs::read_to_string(&path).map_err(|e| HostError::io("read", &path, e))?;
    LaunchSpec::decode(&text)
}

/// Write `text` to `path` atomically (tmp + rename), so readers never see a
/// half-written pid.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), HostError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| HostError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| HostError::io("rename to", path, e))
}

fn start(dir: &InstanceDir) -> Result<(), HostError> {
    Command::new(self_exe()?)
        .arg(LAUNCHER_SUBCOMMAND)
        .arg("supervise")
        .arg(dir_arg(dir))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_clear()
        .spawn()
        .map_err(|e| HostError(format!("cannot spawn the supervisor: {e}")))?;
    Ok(())
}

fn supervise(dir: &InstanceDir) -> Result<(), HostError> {
    // Own session: no terminal or process-group signal of the server's
    // reaches the instance.
    let _ = setsid();
    write_atomic(&dir.supervisor_pid(), &std::process::id().to_string())?;
    let spec = read_spec(dir)?;
    let (read_end, write_end) = nix::unistd::pipe().map_err(|e| HostError(format!("pipe: {e}")))?;
    let write_err = write_end
        .try_clone()
        .map_err(|e| HostError(format!("dup: {e}")))?;
    // Our next child is PID 1 of a new PID namespace; we stay outside.
    unshare(CloneFlags::CLONE_NEWPID).map_err(|e| HostError(format!("unshare pid: {e}")))?;
    let mut child = {
        let mut cmd = Command::new(self_exe()?);
        cmd.arg(LAUNCHER_SUBCOMMAND)
            .arg("init")
            .arg(dir_arg(dir))
            .stdin(Stdio::null())
            .stdout(Stdio::from(write_end))
            .stderr(Stdio::from(write_err))
            .env_clear();
        cmd.spawn()
            .map_err(|e| HostError(format!("cannot spawn init: {e}")))?
        // `cmd` (and its copies of the pipe's write end) is dropped here, so
        // the pump sees EOF once the instance's last writer is gone.
    };
    write_atomic(&dir.pid(), &child.id().to_string())?;
    console::pump(File::from(read_end), &dir.console());
    let status = child
        .wait()
        .map_err(|e| HostError(format!("wait for init: {e}")))?;
    if !dir.stop_requested().exists() {
        let kind = exit_kind(status.signal());
        write_atomic(&dir.exit(), kind.as_str())?;
    }
    let _ = std::fs::remove_file(dir.pid());
    // The PID namespace is gone with its init; free the cgroups now (the
    // driver retries this on acknowledge/stop).
    for procs in &spec.cgroup_procs {
        if let Some(cg) = procs.parent() {
            for _ in 0..200 {
                match std::fs::remove_dir(cg) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        std::thread::sleep(std::time::Duration::from_millis(10))
                    }
                    _ => break,
                }
            }
        }
    }
    let _ = std::fs::remove_file(dir.supervisor_pid());
    Ok(())
}

/// Runs as PID 1 of the new PID namespace. Reports progress in
/// `launch-status` so `start` can tell a launch failure precisely.
fn init(dir: &InstanceDir) -> Result<Infallible, HostError> {
    let status_path = dir.launch_status();
    let mut status =
        File::create(&status_path).map_err(|e| HostError::io("create", &status_path, e))?;
    let result = prepare(dir).and_then(|init| {
        let _ = status.write_all(b"exec\n");
        let env = [
            format!("PATH={INSTANCE_PATH}"),
            "HOME=/root".to_string(),
            "TERM=linux".to_string(),
            "container=nubo".to_string(),
        ];
        let env: Vec<CString> = env
            .iter()
            .filter_map(|e| CString::new(e.as_str()).ok())
            .collect();
        umask(Mode::from_bits_truncate(0o022));
        execve(&init, &[&init], &env).map_err(|e| HostError(format!("exec /sbin/init: {e}")))
    });
    if let Err(e) = &result {
        let _ = writeln!(status, "error: {e}");
    }
    result
}

/// Everything before the exec; returns the path of init.
fn prepare(dir: &InstanceDir) -> Result<CString, HostError> {
    let spec = read_spec(dir)?;
    umask(Mode::empty());
    for procs in &spec.cgroup_procs {
        std::fs::write(procs, "0").map_err(|e| HostError::io("join cgroup", procs, e))?;
    }
    let netns = match &spec.netns {
        Some(name) => {
            let path = netns_path(name);
            Some(File::open(&path).map_err(|e| HostError::io("open netns", &path, e))?)
        }
        None => None,
    };
    unshare(
        CloneFlags::CLONE_NEWCGROUP
            | CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWUTS
            | CloneFlags::CLONE_NEWIPC,
    )
    .map_err(|e| HostError(format!("unshare namespaces: {e}")))?;
    match netns {
        Some(fd) => setns(fd, CloneFlags::CLONE_NEWNET)
            .map_err(|e| HostError(format!("join netns {:?}: {e}", spec.netns)))?,
        None => {
            unshare(CloneFlags::CLONE_NEWNET).map_err(|e| HostError(format!("unshare net: {e}")))?
        }
    }
    // Nothing we mount may propagate back to the host.
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| HostError(format!("make / private: {e}")))?;
    rootfs::build(dir, &spec)?;
    sethostname(&spec.hostname).map_err(|e| HostError(format!("sethostname: {e}")))?;
    let init = Path::new("/sbin/init");
    if std::fs::metadata(init).is_err() {
        return Err(HostError("the image has no /sbin/init".into()));
    }
    CString::new("/sbin/init").map_err(|e| HostError(e.to_string()))
}

fn exec(dir: &InstanceDir, argv: &[String]) -> Result<Infallible, HostError> {
    let argv = match argv.first() {
        Some(sep) if sep == "--" => &argv[1..],
        _ => argv,
    };
    if argv.is_empty() {
        return Err(HostError("exec: no command".into()));
    }
    let spec = read_spec(dir)?;
    let pid = super::procfs::read_pid(&dir.pid())
        .ok_or_else(|| HostError(format!("{} is not running", spec.instance_id)))?;
    for procs in &spec.cgroup_procs {
        std::fs::write(procs, "0").map_err(|e| HostError::io("join cgroup", procs, e))?;
    }
    let mut args: Vec<String> = ["nsenter", "-t", &pid.to_string()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(
        ["-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w", "--"]
            .iter()
            .map(|s| s.to_string()),
    );
    args.extend(argv.iter().cloned());
    let args: Vec<CString> = args
        .into_iter()
        .map(CString::new)
        .collect::<Result<_, _>>()
        .map_err(|e| HostError(format!("exec: argument with NUL: {e}")))?;
    execvp(&args[0], &args).map_err(|e| HostError(format!("exec nsenter: {e}")))
}
