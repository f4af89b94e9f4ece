//! How PID 1's wait status maps to an [`ExitKind`].
//!
//! `reboot(2)` inside a PID namespace does not reboot the host: the kernel
//! kills the namespace's init and reports it as killed by SIGHUP (restart)
//! or SIGINT (power off / halt). Anything else is a crash.

use crate::ExitKind;

/// Decode PID 1's end: `signal` = the signal that killed it, if any.
pub fn exit_kind(signal: Option<i32>) -> ExitKind {
    match signal {
        Some(s) if s == nix::libc::SIGINT => ExitKind::PowerOff,
        Some(s) if s == nix::libc::SIGHUP => ExitKind::Reboot,
        _ => ExitKind::Crashed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pid_namespace_reboot_signals() {
        assert_eq!(exit_kind(Some(nix::libc::SIGINT)), ExitKind::PowerOff);
        assert_eq!(exit_kind(Some(nix::libc::SIGHUP)), ExitKind::Reboot);
        assert_eq!(exit_kind(Some(nix::libc::SIGKILL)), ExitKind::Crashed);
        assert_eq!(exit_kind(Some(nix::libc::SIGSEGV)), ExitKind::Crashed);
        assert_eq!(exit_kind(None), ExitKind::Crashed);
    }

    #[test]
    fn exit_words_round_trip() {
        for k in [ExitKind::PowerOff, ExitKind::Reboot, ExitKind::Crashed] {
            assert_eq!(ExitKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ExitKind::parse("bogus"), None);
    }
}
