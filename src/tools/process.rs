//! Process supervision: no command the wizard starts outlives it.
//!
//! Three layers, so that every way a command can leave something behind is covered:
//! - each command runs in its own process group, killed as a whole when the
//!   command ends (its own end, its time limit, or its task being stopped);
//! - each command gets a parent-death signal (`PR_SET_PDEATHSIG`), so a
//!   SIGKILL of the wizard kills the command too;
//! - the wizard is a child subreaper (`PR_SET_CHILD_SUBREAPER`) and marks each
//!   command's environment with [`MARKER_VAR`]: a descendant that left the
//!   group (`setsid`, a double fork) is re-parented to the wizard instead of
//!   init, and is found by its inherited marker, killed and reaped at the end of
//!   its command, at the end of the run, and at the start of the next run in
//!   the same directory (what a killed wizard left).
//!
//! Linux only; elsewhere only the process group applies.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that marks every process started for a run.
pub const MARKER_VAR: &str = "WIZARD_SUPERVISED";

static NEXT_COMMAND: AtomicU64 = AtomicU64::new(1);

/// The marker prefix of every command started for the app in `install_dir`.
pub fn run_marker(install_dir: &Path) -> String {
    format!("{}#", install_dir.display())
}

/// A fresh marker for one command of the run in `install_dir`.
pub fn command_marker(install_dir: &Path) -> String {
    let n = NEXT_COMMAND.fetch_add(1, Ordering::Relaxed);
    format!("{}{}-{n}", run_marker(install_dir), std::process::id())
}

/// Makes `command` supervised: its own process group, killed if the wizard
/// dies, and marked with `marker` so its descendants can be found.
pub fn supervise(command: &mut tokio::process::Command, marker: &str) {
    command.env(MARKER_VAR, marker);
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: the closure runs between fork and exec and only makes two
        // async-signal-safe system calls (prctl, getppid), allocating nothing.
        unsafe {
            command.pre_exec(move || {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)?;
                // The wizard died before the signal was armed: do not run orphaned.
                if nix::unistd::getppid().as_raw() as u32 != parent {
                    return Err(std::io::Error::other("the wizard exited"));
                }
                Ok(())
            });
        }
    }
}

/// Makes the wizard the reaper of every orphan it leaves, so a detached
/// descendant of a command is re-parented here (and can be found and killed)
/// rather than to init. A failure only loses that net; it is logged.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        tracing::warn!("cannot become a child subreaper: {e}");
    }
}

/// Kills every live process whose marker is `marker` (or starts with it, when
/// `prefix`), and reaps those that are the wizard's own (adopted) children.
/// Returns how many were killed.
pub fn kill_marked(marker: &str, prefix: bool) -> usize {
    #[cfg(target_os = "linux")]
    {
        linux::kill_marked(marker, prefix)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (marker, prefix);
        0
    }
}

/// Kills a process group (the command's); a group already gone is fine.
pub fn kill_group(group: Option<u32>) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{killpg, Signal};
        use nix::unistd::Pid;
        if let Some(Ok(pid)) = group.map(i32::try_from) {
            // ESRCH (the group is already gone) is the usual, fine outcome.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = group;
}

#[cfg(target_os = "linux")]
mod linux {
    use std::time::{Duration, Instant};

    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    use nix::unistd::Pid;

    use super::MARKER_VAR;

    /// How long to wait for a killed adopted process to become reapable.
    const REAP_WAIT: Duration = Duration::from_secs(2);

    pub(super) fn kill_marked(marker: &str, prefix: bool) -> usize {
        let me = std::process::id();
        let mut killed = Vec::new();
        // A second pass catches what a marked process forked while the first ran.
        for _ in 0..2 {
            let Ok(entries) = std::fs::read_dir("/proc") else {
                return killed.len();
            };
            for entry in entries.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<u32>().ok())
                else {
                    continue;
                };
                if pid == me || killed.contains(&pid) {
                    continue;
                }
                if !is_marked(pid, marker, prefix) {
                    continue;
                }
                if let Ok(raw) = i32::try_from(pid) {
                    if kill(Pid::from_raw(raw), Signal::SIGKILL).is_ok() {
                        killed.push(pid);
                    }
                }
            }
        }
        for &pid in &killed {
            if parent_of(pid) == Some(me) {
                reap(pid);
            }
        }
        if !killed.is_empty() {
            tracing::info!(
                count = killed.len(),
                "killed processes a command left behind"
            );
        }
        killed.len()
    }

    fn is_marked(pid: u32, marker: &str, prefix: bool) -> bool {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            return false;
        };
        let key = format!("{MARKER_VAR}=");
        environ.split(|&b| b == 0).any(|var| {
            var.strip_prefix(key.as_bytes()).is_some_and(|value| {
                if prefix {
                    value.starts_with(marker.as_bytes())
                } else {
                    value == marker.as_bytes()
                }
            })
        })
    }

    /// The parent pid from `/proc/PID/stat` (the field after the `)` of the name).
    fn parent_of(pid: u32) -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = &stat[stat.rfind(')')? + 1..];
        after.split_whitespace().nth(1)?.parse().ok()
    }

    /// Collects the exit status of an adopted child that was just killed.
    fn reap(pid: u32) {
        let Ok(raw) = i32::try_from(pid) else { return };
        let deadline = Instant::now() + REAP_WAIT;
        while Instant::now() < deadline {
            match waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(5)),
                _ => return,
            }
        }
    }
}
