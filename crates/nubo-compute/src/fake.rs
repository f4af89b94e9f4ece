//! [`RecordingHypervisor`]: an in-memory [`Hypervisor`] for the agent's unit
//! tests. It records every call and simulates the container driver's states,
//! enforcing its preconditions (exec needs a running instance, a snapshot
//! needs a disk), and lets a test make an instance exit by itself or make
//! the next call of an operation fail.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::{ExitKind, HostError, Hypervisor, InstanceSpec, Runtime};

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Start(InstanceSpec),
    Stop {
        id: String,
        grace: Duration,
    },
    Status(String),
    AcknowledgeExit(String),
    Destroy(String),
    List,
    ConsoleOutput(String),
    Exec {
        id: String,
        argv: Vec<String>,
    },
    Snapshot {
        id: String,
        dest: std::path::PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Instance {
    spec: InstanceSpec,
    runtime: Runtime,
    console: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    instances: BTreeMap<String, Instance>,
    next_pid: u32,
    fail_next: BTreeMap<&'static str, String>,
}

/// The in-memory hypervisor.
#[derive(Debug, Default)]
pub struct RecordingHypervisor {
    state: Mutex<State>,
}

impl RecordingHypervisor {
    pub fn new() -> RecordingHypervisor {
        RecordingHypervisor::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock already failed.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Forget the recorded calls (not the instances).
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// The spec an instance was last started with (None = no trace).
    pub fn spec(&self, id: &str) -> Option<InstanceSpec> {
        self.lock().instances.get(id).map(|i| i.spec.clone())
    }

    /// Make a running instance end by itself (poweroff/reboot/crash inside).
    pub fn simulate_exit(&self, id: &str, kind: ExitKind) -> Result<(), HostError> {
        let mut st = self.lock();
        let inst = st
            .instances
            .get_mut(id)
            .ok_or_else(|| HostError(format!("no instance {id}")))?;
        if !matches!(inst.runtime, Runtime::Running { .. }) {
            return Err(HostError(format!("{id} is not running")));
        }
        inst.runtime = Runtime::Exited(kind);
        Ok(())
    }

    /// Append console output as if init wrote it.
    pub fn write_console(&self, id: &str, bytes: &[u8]) {
        if let Some(i) = self.lock().instances.get_mut(id) {
            i.console.extend_from_slice(bytes);
        }
    }

    /// Make the next call of `op` (`"start"`, `"stop"`, `"destroy"`, …) fail
    /// with `message`, changing nothing.
    pub fn fail_next(&self, op: &'static str, message: &str) {
        self.lock().fail_next.insert(op, message.to_string());
    }

    fn begin(&self, op: &'static str, call: Call) -> Result<MutexGuard<'_, State>, HostError> {
        let mut st = self.lock();
        st.calls.push(call);
        match st.fail_next.remove(op) {
            Some(msg) => Err(HostError(msg)),
            None => Ok(st),
        }
    }
}

impl Hypervisor for RecordingHypervisor {
    fn kind(&self) -> &'static str {
        "fake"
    }

    fn start(&self, spec: &InstanceSpec) -> Result<u32, HostError> {
        let mut st = self.begin("start", Call::Start(spec.clone()))?;
        st.next_pid += 1;
        let pid = 1000 + st.next_pid;
        let inst = st
            .instances
            .entry(spec.instance_id.clone())
            .or_insert_with(|| Instance {
                spec: spec.clone(),
                runtime: Runtime::Stopped,
                console: Vec::new(),
            });
        if let Runtime::Running { pid } = inst.runtime {
            return Ok(pid);
        }
        inst.spec = spec.clone();
        inst.runtime = Runtime::Running { pid };
        Ok(pid)
    }

    fn stop(&self, id: &str, grace: Duration) -> Result<(), HostError> {
        let mut st = self.begin(
            "stop",
            Call::Stop {
                id: id.to_string(),
                grace,
            },
        )?;
        if let Some(i) = st.instances.get_mut(id) {
            i.runtime = Runtime::Stopped;
        }
        Ok(())
    }

    fn status(&self, id: &str) -> Result<Runtime, HostError> {
        let st = self.begin("status", Call::Status(id.to_string()))?;
        Ok(st.instances.get(id).map_or(Runtime::Stopped, |i| i.runtime))
    }

    fn acknowledge_exit(&self, id: &str) -> Result<(), HostError> {
        let mut st = self.begin("acknowledge_exit", Call::AcknowledgeExit(id.to_string()))?;
        if let Some(i) = st.instances.get_mut(id) {
            if matches!(i.runtime, Runtime::Exited(_)) {
                i.runtime = Runtime::Stopped;
            }
        }
        Ok(())
    }

    fn destroy(&self, id: &str) -> Result<(), HostError> {
        let mut st = self.begin("destroy", Call::Destroy(id.to_string()))?;
        st.instances.remove(id);
        Ok(())
    }

    fn list(&self) -> Result<Vec<String>, HostError> {
        let st = self.begin("list", Call::List)?;
        Ok(st.instances.keys().cloned().collect())
    }

    fn console_output(&self, id: &str) -> Result<Vec<u8>, HostError> {
        let st = self.begin("console_output", Call::ConsoleOutput(id.to_string()))?;
        Ok(st
            .instances
            .get(id)
            .map(|i| i.console.clone())
            .unwrap_or_default())
    }

    fn exec(&self, id: &str, argv: &[String]) -> Result<Command, HostError> {
        let st = self.begin(
            "exec",
            Call::Exec {
                id: id.to_string(),
                argv: argv.to_vec(),
            },
        )?;
        match st.instances.get(id).map(|i| i.runtime) {
            Some(Runtime::Running { .. }) if !argv.is_empty() => {
                // Runs on the host: the fake has no namespaces to enter.
                let mut cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]);
                Ok(cmd)
            }
            Some(Runtime::Running { .. }) => Err(HostError("exec: no command".into())),
            _ => Err(HostError(format!("{id} is not running"))),
        }
    }

    fn snapshot_rootfs(&self, id: &str, dest: &Path) -> Result<(), HostError> {
        let st = self.begin(
            "snapshot",
            Call::Snapshot {
                id: id.to_string(),
                dest: dest.to_path_buf(),
            },
        )?;
        if st.instances.contains_key(id) {
            Ok(())
        } else {
            Err(HostError(format!("{id} has no disk on this host")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResourceLimits;

    fn spec(id: &str) -> InstanceSpec {
        InstanceSpec {
            instance_id: id.into(),
            hostname: "ip-10-0-1-5".into(),
            image_rootfs: "/img".into(),
            netns: None,
            limits: ResourceLimits {
                vcpus: 1,
                memory_mib: 512,
                pids: 100,
            },
        }
    }

    #[test]
    fn simulates_the_lifecycle() {
        let h = RecordingHypervisor::new();
        let pid = h.start(&spec("i-1")).unwrap();
        assert_eq!(h.start(&spec("i-1")).unwrap(), pid, "start is idempotent");
        assert_eq!(h.status("i-1").unwrap(), Runtime::Running { pid });
        assert!(h.exec("i-1", &["true".into()]).is_ok());
        h.simulate_exit("i-1", ExitKind::Reboot).unwrap();
        assert_eq!(h.status("i-1").unwrap(), Runtime::Exited(ExitKind::Reboot));
        assert!(h.exec("i-1", &["true".into()]).is_err());
        h.acknowledge_exit("i-1").unwrap();
        assert_eq!(h.status("i-1").unwrap(), Runtime::Stopped);
        assert_eq!(h.list().unwrap(), vec!["i-1".to_string()]);
        h.destroy("i-1").unwrap();
        assert!(h.list().unwrap().is_empty());
        assert!(h.snapshot_rootfs("i-1", Path::new("/x")).is_err());
        assert!(matches!(h.calls()[0], Call::Start(_)));
    }

    #[test]
    fn injected_failures_change_nothing() {
        let h = RecordingHypervisor::new();
        h.fail_next("start", "no capacity");
        assert_eq!(
            h.start(&spec("i-1")).unwrap_err().to_string(),
            "no capacity"
        );
        assert_eq!(h.status("i-1").unwrap(), Runtime::Stopped);
        assert!(h.list().unwrap().is_empty());
        assert!(h.start(&spec("i-1")).is_ok());
    }
}
