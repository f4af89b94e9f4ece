//! Privileged suite: the container driver against the real kernel, with a
//! busybox rootfs built here (Debian's `busybox-static`). Runs as root; skips
//! with a printed reason otherwise. Every cgroup and directory carries a
//! test-unique prefix and is removed by a Drop guard, even on failure.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nubo_compute::{
    ContainerConfig, ContainerDriver, ExitKind, Hypervisor, InstanceSpec, ResourceLimits, Runtime,
};

const BUSYBOX: &str = "/bin/busybox";

/// One test's world: a rootfs, a state dir, a cgroup prefix, a driver.
struct Env {
    base: PathBuf,
    config: ContainerConfig,
    driver: ContainerDriver,
}

impl Env {
    fn new(name: &str) -> Option<Env> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping {name}: the container suite needs root");
            return None;
        }
        if !Path::new(BUSYBOX).exists() {
            eprintln!("skipping {name}: {BUSYBOX} missing (apt-get install busybox-static)");
            return None;
        }
        let tag = format!("nubotest-{}-{name}", std::process::id());
        let base = std::env::temp_dir().join(&tag);
        let _ = std::fs::remove_dir_all(&base);
        build_rootfs(&base.join("image"));
        let config = ContainerConfig {
            state_dir: base.join("state"),
            cgroup_prefix: tag,
            // NUBO_COMPUTE_LAUNCHER=target/debug/nubo runs the same suite
            // through the main binary's hidden subcommand.
            nubo_exe: std::env::var_os("NUBO_COMPUTE_LAUNCHER")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_nubo-container-launch"))),
        };
        let driver = ContainerDriver::new(config.clone()).unwrap();
        Some(Env {
            base,
            config,
            driver,
        })
    }

    fn spec(&self, id: &str) -> InstanceSpec {
        InstanceSpec {
            instance_id: id.to_string(),
            hostname: format!("ip-10-0-1-{}", id.len()),
            image_rootfs: self.base.join("image"),
            netns: None,
            limits: ResourceLimits {
                vcpus: 2,
                memory_mib: 256,
                pids: 321,
            },
        }
    }

    /// Run `argv` inside the instance; stdout as text.
    fn exec(&self, id: &str, argv: &[&str]) -> String {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let out = self.driver.exec(id, &argv).unwrap().output().unwrap();
        assert!(
            out.status.success(),
            "{argv:?}: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Nothing of the instance is in the kernel: no process in its cgroups,
    /// no cgroup dir, no mount of its directory in any mount namespace.
    fn assert_no_kernel_trace(&self, id: &str, pid: u32) {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists() || is_zombie_or_other(pid, id),
            "PID 1 ({pid}) still alive"
        );
        for dir in self.driver.cgroup_dirs(id) {
            assert!(!dir.exists(), "cgroup {} left", dir.display());
        }
        let inst_dir = self.config.state_dir.join(id);
        let needle = inst_dir.to_str().unwrap();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let path = entry.path().join("mountinfo");
            if let Ok(text) = std::fs::read_to_string(&path) {
                assert!(!text.contains(needle), "{} mounts {needle}", path.display());
            }
            if let Ok(cg) = std::fs::read_to_string(entry.path().join("cgroup")) {
                assert!(
                    !cg.contains(&format!("/{}/{id}", self.config.cgroup_prefix)),
                    "process {} still in the instance's cgroup",
                    entry.path().display()
                );
            }
        }
        let findmnt = std::process::Command::new("findmnt")
            .arg("-rn")
            .output()
            .unwrap();
        assert!(!String::from_utf8_lossy(&findmnt.stdout).contains(needle));
    }

    fn wait_status(&self, id: &str, want: Runtime, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.driver.status(id).unwrap();
            if got == want {
                return;
            }
            assert!(Instant::now() < deadline, "status {got:?}, wanted {want:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_console(&self, id: &str, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out =
                String::from_utf8_lossy(&self.driver.console_output(id).unwrap()).into_owned();
            if out.contains(text) {
                return;
            }
            assert!(Instant::now() < deadline, "console lacks {text:?}: {out:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn is_zombie_or_other(pid: u32, id: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    stat.contains(") Z") || !cg.contains(id)
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Ok(ids) = self.driver.list() {
            for id in ids {
                let _ = self.driver.destroy(&id);
            }
        }
        let _ = self.driver.remove_cgroup_prefix();
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// A minimal image: busybox, its applet links, an inittab.
fn build_rootfs(root: &Path) {
    for d in [
        "bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap();
    let list = std::process::Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .unwrap();
    for applet in String::from_utf8(list.stdout).unwrap().lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
    }
    std::os::unix::fs::symlink("../bin/busybox", root.join("sbin/init")).unwrap();
    std::fs::write(
        root.join("etc/inittab"),
        "::sysinit:/bin/sh -c 'echo nubo-init-up on $(hostname)'\n\
         ::respawn:/bin/sleep 1000000\n\
         ::shutdown:/bin/echo nubo-shutdown\n",
    )
    .unwrap();
}

fn cgroup_value(env: &Env, id: &str, file: &str) -> String {
    env.driver
        .cgroup_dirs(id)
        .iter()
        .map(|d| d.join(file))
        .find(|p| p.exists())
        .map(|p| std::fs::read_to_string(p).unwrap().trim().to_string())
        .unwrap_or_else(|| panic!("no {file}"))
}

#[test]
fn start_runs_init_as_pid_1_with_hostname_limits_and_console() {
    let Some(env) = Env::new("run") else { return };
    let spec = env.spec("i-0000000000000001");
    let pid = env.driver.start(&spec).unwrap();
    assert_eq!(
        env.driver.status(&spec.instance_id).unwrap(),
        Runtime::Running { pid }
    );
    assert_eq!(env.driver.start(&spec).unwrap(), pid, "start is idempotent");

    // busybox init (the image's /sbin/init) rewrites its argv to "init".
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "init");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(exe.ends_with("bin/busybox"), "{}", exe.display());
    assert_eq!(
        env.exec(&spec.instance_id, &["hostname"]).trim(),
        spec.hostname
    );
    assert!(env
        .exec(&spec.instance_id, &["cat", "/proc/1/cmdline"])
        .starts_with("init\0"));
    assert_eq!(
        env.exec(&spec.instance_id, &["cat", "/proc/1/comm"]).trim(),
        "init"
    );
    // Only loopback in a fresh network namespace; the image's root is /.
    let links = env.exec(&spec.instance_id, &["ip", "-o", "link"]);
    assert!(links.contains("lo:") && !links.contains("eth0"), "{links}");
    assert!(env.exec(&spec.instance_id, &["ls", "/"]).contains("etc"));

    // Limits in the cgroup, and PID 1 is in it.
    match env.driver.cgroup_layout() {
        nubo_compute::container::CgroupLayout::V1 { .. } => {
            assert_eq!(
                cgroup_value(&env, &spec.instance_id, "cpu.cfs_quota_us"),
                "200000"
            );
            assert_eq!(
                cgroup_value(&env, &spec.instance_id, "memory.limit_in_bytes"),
                (256u64 << 20).to_string()
            );
        }
        nubo_compute::container::CgroupLayout::V2 { .. } => {
            assert_eq!(
                cgroup_value(&env, &spec.instance_id, "cpu.max"),
                "200000 100000"
            );
            assert_eq!(
                cgroup_value(&env, &spec.instance_id, "memory.max"),
                (256u64 << 20).to_string()
            );
        }
    }
    assert_eq!(cgroup_value(&env, &spec.instance_id, "pids.max"), "321");
    let procs = cgroup_value(&env, &spec.instance_id, "cgroup.procs");
    assert!(procs.lines().any(|l| l == pid.to_string()), "{procs}");
    // Inside, the cgroup namespace hides the host's hierarchy.
    let inner = env.exec(&spec.instance_id, &["cat", "/proc/self/cgroup"]);
    assert!(!inner.contains(&env.config.cgroup_prefix), "{inner}");

    env.wait_console(
        &spec.instance_id,
        &format!("nubo-init-up on {}", spec.hostname),
    );
    env.driver.stop(&spec.instance_id, Duration::ZERO).unwrap();
    env.assert_no_kernel_trace(&spec.instance_id, pid);
}

#[test]
fn disk_survives_stop_and_start_and_stop_leaves_no_kernel_trace() {
    let Some(env) = Env::new("disk") else { return };
    let spec = env.spec("i-0000000000000002");
    let id = &spec.instance_id;
    let pid = env.driver.start(&spec).unwrap();
    env.exec(id, &["sh", "-c", "echo kept > /root/note"]);
    env.driver.stop(id, Duration::from_secs(10)).unwrap();
    assert_eq!(env.driver.status(id).unwrap(), Runtime::Stopped);
    env.assert_no_kernel_trace(id, pid);
    // The shutdown signal ran init's shutdown actions (a clean poweroff).
    env.wait_console(id, "nubo-shutdown");
    assert_eq!(
        std::fs::read_to_string(env.config.state_dir.join(id).join("upper/root/note")).unwrap(),
        "kept\n"
    );
    assert!(
        env.driver.stop(id, Duration::from_secs(1)).is_ok(),
        "stop is idempotent"
    );

    let pid2 = env.driver.start(&spec).unwrap();
    assert_ne!(pid, pid2);
    assert_eq!(env.exec(id, &["cat", "/root/note"]), "kept\n");
    // The image itself was never written.
    assert!(!env.base.join("image/root/note").exists());
    let console = String::from_utf8(env.driver.console_output(id).unwrap()).unwrap();
    assert!(
        console.contains("nubo-shutdown"),
        "console kept across stop/start"
    );
}

#[test]
fn poweroff_and_reboot_inside_are_exits_of_their_own() {
    let Some(env) = Env::new("exits") else { return };
    let spec = env.spec("i-0000000000000003");
    let id = &spec.instance_id;
    let pid = env.driver.start(&spec).unwrap();
    let _ = env
        .driver
        .exec(id, &["poweroff".to_string()])
        .unwrap()
        .status();
    env.wait_status(
        id,
        Runtime::Exited(ExitKind::PowerOff),
        Duration::from_secs(20),
    );
    env.driver.acknowledge_exit(id).unwrap();
    assert_eq!(env.driver.status(id).unwrap(), Runtime::Stopped);
    env.assert_no_kernel_trace(id, pid);

    let pid = env.driver.start(&spec).unwrap();
    let _ = env
        .driver
        .exec(id, &["reboot".to_string()])
        .unwrap()
        .status();
    env.wait_status(
        id,
        Runtime::Exited(ExitKind::Reboot),
        Duration::from_secs(20),
    );
    // A start acknowledges the exit by itself.
    let pid2 = env.driver.start(&spec).unwrap();
    assert_ne!(pid, pid2);
    assert_eq!(
        env.driver.status(id).unwrap(),
        Runtime::Running { pid: pid2 }
    );

    // init killed from outside (not by us): a crash.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid2 as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    env.wait_status(
        id,
        Runtime::Exited(ExitKind::Crashed),
        Duration::from_secs(10),
    );
}

#[test]
fn destroy_leaves_nothing_on_disk_or_in_the_kernel() {
    let Some(env) = Env::new("destroy") else {
        return;
    };
    let spec = env.spec("i-0000000000000004");
    let id = &spec.instance_id;
    let pid = env.driver.start(&spec).unwrap();
    env.exec(id, &["sh", "-c", "echo x > /root/x"]);
    assert_eq!(env.driver.list().unwrap(), vec![id.clone()]);
    env.driver.destroy(id).unwrap();
    env.assert_no_kernel_trace(id, pid);
    assert!(!env.config.state_dir.join(id).exists());
    assert!(env.driver.list().unwrap().is_empty());
    assert_eq!(env.driver.status(id).unwrap(), Runtime::Stopped);
    env.driver.destroy(id).unwrap();
    assert!(env.driver.console_output(id).unwrap().is_empty());
}

#[test]
fn a_new_driver_and_a_killed_supervisor_re_adopt_the_instance() {
    let Some(env) = Env::new("adopt") else { return };
    let spec = env.spec("i-0000000000000005");
    let id = &spec.instance_id;
    let pid = env.driver.start(&spec).unwrap();
    let again = ContainerDriver::new(env.config.clone()).unwrap();
    assert_eq!(again.status(id).unwrap(), Runtime::Running { pid });
    assert_eq!(again.start(&spec).unwrap(), pid);

    let sup: i32 = std::fs::read_to_string(env.config.state_dir.join(id).join("supervisor.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(again.status(id).unwrap(), Runtime::Running { pid });
    assert_eq!(env.exec(id, &["hostname"]).trim(), spec.hostname);
    again.stop(id, Duration::ZERO).unwrap();
    env.assert_no_kernel_trace(id, pid);
    assert_eq!(again.status(id).unwrap(), Runtime::Stopped);
}

#[test]
fn snapshot_copies_image_and_changes_running_or_stopped() {
    let Some(env) = Env::new("snap") else { return };
    let spec = env.spec("i-0000000000000006");
    let id = &spec.instance_id;
    env.driver.start(&spec).unwrap();
    env.exec(id, &["sh", "-c", "echo snap > /root/s && rm /etc/inittab"]);
    let running = env.base.join("snap-running");
    std::fs::create_dir_all(&running).unwrap();
    env.driver.snapshot_rootfs(id, &running).unwrap();
    assert_eq!(
        std::fs::read_to_string(running.join("root/s")).unwrap(),
        "snap\n"
    );
    assert!(running.join("bin/busybox").exists());
    assert!(
        !running.join("etc/inittab").exists(),
        "deletions are part of the snapshot"
    );
    assert!(!running.join("proc/self").exists(), "/proc is not copied");

    env.driver.stop(id, Duration::ZERO).unwrap();
    let stopped = env.base.join("snap-stopped");
    std::fs::create_dir_all(&stopped).unwrap();
    env.driver.snapshot_rootfs(id, &stopped).unwrap();
    assert_eq!(
        std::fs::read_to_string(stopped.join("root/s")).unwrap(),
        "snap\n"
    );
    assert!(stopped.join("bin/busybox").exists());
    assert!(!stopped.join("etc/inittab").exists());
    assert!(
        env.driver.snapshot_rootfs(id, &stopped).is_err(),
        "target must be empty"
    );
}

#[test]
fn bad_specs_are_refused_and_leave_nothing() {
    let Some(env) = Env::new("bad") else { return };
    let mut spec = env.spec("i-0000000000000007");
    spec.image_rootfs = env.base.join("no-such-image");
    assert!(env.driver.start(&spec).is_err());
    let mut spec = env.spec("i-0000000000000007");
    spec.netns = Some("nubotest-no-such-netns".into());
    let err = env.driver.start(&spec).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
    assert!(env.driver.start(&env.spec("../etc")).is_err());
    assert!(env.driver.status("a/b").is_err());
    // An image without /sbin/init fails the start with the reason.
    std::fs::remove_file(env.base.join("image/sbin/init")).unwrap();
    let err = env
        .driver
        .start(&env.spec("i-0000000000000008"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/sbin/init"), "{err}");
    assert_eq!(
        env.driver.status("i-0000000000000008").unwrap(),
        Runtime::Stopped
    );
    for dir in env.driver.cgroup_dirs("i-0000000000000008") {
        assert!(!dir.exists());
    }
}

/// A named netns made by this test (the data plane's role), removed on drop.
struct TestNetns(String);

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

fn ip(args: &[&str]) {
    let st = std::process::Command::new("ip")
        .args(args)
        .status()
        .unwrap();
    assert!(st.success(), "ip {args:?}");
}

#[test]
fn the_instance_joins_the_named_netns_of_the_data_plane() {
    let Some(env) = Env::new("netns") else { return };
    let ns = TestNetns(format!("nubotest-{}-ns", std::process::id()));
    ip(&["netns", "add", &ns.0]);
    // (no dummy driver on every host: a veth pair with both ends inside)
    ip(&[
        "-n", &ns.0, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
    ]);
    ip(&["-n", &ns.0, "addr", "add", "10.0.1.5/24", "dev", "eth0"]);
    ip(&["-n", &ns.0, "link", "set", "eth0", "up"]);
    let mut spec = env.spec("i-0000000000000009");
    spec.netns = Some(ns.0.clone());
    let pid = env.driver.start(&spec).unwrap();
    let addrs = env.exec(
        &spec.instance_id,
        &["ip", "-o", "-4", "addr", "show", "eth0"],
    );
    assert!(addrs.contains("10.0.1.5/24"), "{addrs}");
    let host_ns = std::fs::read_link(format!("/run/netns/{}", ns.0)).ok();
    let inst_ns = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let ns_ino = std::fs::metadata(format!("/run/netns/{}", ns.0)).unwrap();
    let inst_ino = std::fs::metadata(format!("/proc/{pid}/ns/net")).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&ns_ino),
        std::os::unix::fs::MetadataExt::ino(&inst_ino),
        "{host_ns:?} vs {}",
        inst_ns.display()
    );
    env.driver.stop(&spec.instance_id, Duration::ZERO).unwrap();
    env.assert_no_kernel_trace(&spec.instance_id, pid);
    // The netns belongs to the data plane: it outlives the instance.
    assert!(Path::new(&format!("/run/netns/{}", ns.0)).exists());
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let path = if field == "Pss:" {
        format!("/proc/{pid}/smaps_rollup")
    } else {
        format!("/proc/{pid}/status")
    };
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Not an assertion (timing and memory are measured, not asserted): prints
/// the supervisor's memory, the host-side overhead of one idle instance.
/// `cargo test -p nubo-compute --test container -- --ignored --nocapture`
#[test]
#[ignore]
fn measure_supervisor_memory() {
    let Some(env) = Env::new("rss") else { return };
    let spec = env.spec("i-000000000000000a");
    let started = Instant::now();
    env.driver.start(&spec).unwrap();
    let start_time = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let sup: u32 = std::fs::read_to_string(
        env.config
            .state_dir
            .join(&spec.instance_id)
            .join("supervisor.pid"),
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    println!(
        "launcher {}: start {:?}, supervisor VmRSS {} KiB, Pss {} KiB",
        env.config.nubo_exe.display(),
        start_time,
        status_kib(sup, "VmRSS:"),
        status_kib(sup, "Pss:")
    );
}

/// Boots a real image (e.g. the base image from scripts/build-base-image.sh):
/// `NUBO_COMPUTE_IMAGE=/var/lib/nubo/base-images/debian-12/rootfs cargo test
/// -p nubo-compute --test container -- --ignored --nocapture boots_`
#[test]
#[ignore]
fn boots_an_external_image() {
    let Some(image) = std::env::var_os("NUBO_COMPUTE_IMAGE") else {
        eprintln!("skipping: set NUBO_COMPUTE_IMAGE to an image rootfs");
        return;
    };
    let Some(env) = Env::new("image") else { return };
    let mut spec = env.spec("i-000000000000000b");
    spec.image_rootfs = PathBuf::from(image);
    let pid = env.driver.start(&spec).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    println!("ps: {}", env.exec(&spec.instance_id, &["ps", "-ef"]));
    println!("hostname: {}", env.exec(&spec.instance_id, &["hostname"]));
    env.driver
        .stop(&spec.instance_id, Duration::from_secs(10))
        .unwrap();
    println!(
        "console: {}",
        String::from_utf8_lossy(&env.driver.console_output(&spec.instance_id).unwrap())
    );
    env.assert_no_kernel_trace(&spec.instance_id, pid);
}

#[test]
fn the_kernel_enforces_the_memory_and_pids_limits() {
    let Some(env) = Env::new("limits") else {
        return;
    };
    let mut spec = env.spec("i-000000000000000c");
    spec.limits = ResourceLimits {
        vcpus: 1,
        memory_mib: 64,
        pids: 20,
    };
    let id = &spec.instance_id;
    env.driver.start(&spec).unwrap();
    // `sort` holds one newline-free 200 MB line in memory: killed past 64 MiB.
    let argv: Vec<String> = ["sh", "-c", "head -c 200000000 /dev/zero | sort | wc -c"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = env.driver.exec(id, &argv).unwrap().output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "sort produced output: not killed"
    );
    // 40 background sleeps cannot all start under pids.max = 20.
    let argv: Vec<String> = [
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 \
         21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40; \
         do sleep 30 >/dev/null 2>&1 & done",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = env.driver.exec(id, &argv).unwrap().output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("can't fork"), "{stderr}");
    let current: u32 = cgroup_value(&env, id, "pids.current").parse().unwrap();
    assert!(current <= 20, "pids.current = {current}");
    assert!(env.driver.status(id).unwrap() != Runtime::Stopped);
}

#[test]
fn many_instances_start_and_go_in_parallel() {
    let Some(env) = Env::new("many") else { return };
    let ids: Vec<String> = (0..8).map(|i| format!("i-00000000000001{i:02}")).collect();
    let pids: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .iter()
            .map(|id| {
                let spec = env.spec(id);
                let env = &env;
                s.spawn(move || env.driver.start(&spec).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut distinct = pids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len());
    assert_eq!(env.driver.list().unwrap(), ids);
    std::thread::scope(|s| {
        for id in &ids {
            let env = &env;
            s.spawn(move || env.driver.destroy(id).unwrap());
        }
    });
    for (id, pid) in ids.iter().zip(pids) {
        env.assert_no_kernel_trace(id, pid);
    }
    assert!(env.driver.list().unwrap().is_empty());
}

#[test]
fn a_symlink_planted_at_a_mount_point_is_refused() {
    let Some(env) = Env::new("symlink") else {
        return;
    };
    let spec = env.spec("i-000000000000000d");
    let id = &spec.instance_id;
    env.driver.start(&spec).unwrap();
    env.driver.stop(id, Duration::ZERO).unwrap();
    // What root inside could leave on its disk (after unmounting /tmp).
    let upper = env.config.state_dir.join(id).join("upper");
    std::os::unix::fs::symlink("/etc", upper.join("tmp")).unwrap();
    // The rootfs mount's /tmp is the upper dir's symlink now: no start.
    let err = env.driver.start(&spec).unwrap_err().to_string();
    assert!(err.contains("not a directory"), "{err}");
    assert_eq!(env.driver.status(id).unwrap(), Runtime::Stopped);
}
