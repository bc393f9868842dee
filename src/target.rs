//! The process being recorded: a command memsample spawns, or a pid it
//! attaches to; how it ends, and what its status was.

use std::ffi::OsString;
use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command};
use std::thread;
use std::time::Duration;

use rustix::process::{Pid, PidfdFlags, Signal};

use crate::error::RecordError;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl ExitStatus {
    fn from_std(status: std::process::ExitStatus) -> ExitStatus {
        match (status.code(), status.signal()) {
            (Some(code), _) => ExitStatus::Code(code),
            (None, Some(signal)) => ExitStatus::Signal(signal),
            // Neither code nor signal only happens for a stopped process,
            // which `wait` does not report.
            (None, None) => ExitStatus::Code(crate::error::EXIT_FAILURE.into()),
        }
    }

    pub fn is_success(&self) -> bool {
        *self == ExitStatus::Code(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(code) => write!(f, "exited with code {code}"),
            ExitStatus::Signal(signal) => {
                write!(f, "was killed by {}", crate::signals::name(*signal))
            }
        }
    }
}

/// A pid plus a pidfd when the kernel has them: signals sent through a pidfd
/// can never reach a recycled pid.
#[derive(Debug)]
pub struct Handle {
    pub pid: u32,
    pidfd: Option<OwnedFd>,
}

impl Handle {
    fn open(pid: u32) -> Handle {
        let pidfd = Pid::from_raw(pid as i32)
            .and_then(|raw| rustix::process::pidfd_open(raw, PidfdFlags::empty()).ok());
        Handle { pid, pidfd }
    }

    /// Sends `signal` to the process; a process that is gone is not an error.
    pub fn signal(&self, signal: i32) {
        let Some(signal) = Signal::from_named_raw(signal) else {
            return;
        };
        match &self.pidfd {
            Some(pidfd) => {
                let _ = rustix::process::pidfd_send_signal(pidfd, signal);
            }
            None => {
                if let Some(pid) = Pid::from_raw(self.pid as i32) {
                    let _ = rustix::process::kill_process(pid, signal);
                }
            }
        }
    }

    /// Calls `on_exit` on a thread of its own once the process has exited
    /// (for a process that is not our child: once it is a zombie or gone).
    pub fn watch_exit<F>(&self, on_exit: F) -> std::io::Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        let pid = self.pid;
        let pidfd = self.pidfd.as_ref().and_then(|fd| fd.try_clone().ok());
        thread::Builder::new()
            .name("target-exit".into())
            .spawn(move || {
                match pidfd {
                    Some(pidfd) => wait_readable(&pidfd, pid),
                    None => poll_until_gone(pid),
                }
                on_exit();
            })?;
        Ok(())
    }
}

/// A pidfd becomes readable when its process exits.
fn wait_readable(pidfd: &OwnedFd, pid: u32) {
    use rustix::event::{PollFd, PollFlags, poll};
    loop {
        let fd = pidfd.as_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, None) {
            Ok(n) if n > 0 => return,
            Ok(_) | Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return poll_until_gone(pid),
        }
    }
}

/// Without pidfds (kernels before 5.3): look at the process's state a few
/// times a second.
fn poll_until_gone(pid: u32) {
    let Ok(stat) = std::fs::File::open(format!("/proc/{pid}/stat")) else {
        return;
    };
    let mut buf = [0u8; 1024];
    loop {
        use std::os::unix::fs::FileExt;
        let gone = match stat.read_at(&mut buf, 0) {
            Ok(len) => crate::probe::procfs::parse_stat(&buf[..len]).is_none_or(|s| s.is_gone()),
            Err(_) => true,
        };
        if gone {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// A command memsample started.
pub struct Spawned {
    pub handle: Handle,
    child: Child,
}

impl Spawned {
    /// Starts `command` (not through a shell) in memsample's own process
    /// group, so that the terminal's Ctrl-C reaches it directly. Returns once
    /// the program has been exec'd.
    pub fn start(command: &[OsString]) -> Result<Spawned, RecordError> {
        let Some((program, args)) = command.split_first() else {
            return Err(RecordError::Usage(
                "no command given after --: name a program to run, or use --pid PID".into(),
            ));
        };
        let child =
            Command::new(program)
                .args(args)
                .spawn()
                .map_err(|source| RecordError::Spawn {
                    program: program.to_string_lossy().into_owned(),
                    source,
                })?;
        // Still our unreaped child: the pid cannot have been recycled yet.
        let handle = Handle::open(child.id());
        Ok(Spawned { handle, child })
    }

    /// Waits for the command on a thread of its own and passes its status
    /// to `on_exit`. Only this pid is waited for.
    pub fn wait_in_background<F>(self, on_exit: F) -> std::io::Result<Handle>
    where
        F: FnOnce(ExitStatus) + Send + 'static,
    {
        let Spawned { handle, mut child } = self;
        thread::Builder::new().name("wait".into()).spawn(move || {
            let status = loop {
                match child.wait() {
                    Ok(status) => break ExitStatus::from_std(status),
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                    // ECHILD: it was reaped elsewhere, which memsample never
                    // does; report a failure rather than hang.
                    Err(_) => break ExitStatus::Code(crate::error::EXIT_FAILURE.into()),
                }
            };
            on_exit(status);
        })?;
        Ok(handle)
    }
}

/// Opens a handle to a running process for attach mode.
pub fn attach(pid: u32) -> Handle {
    Handle::open(pid)
}

/// The largest kernel high-water mark (ru_maxrss) among the children memsample
/// has waited for, in bytes.
pub fn children_max_rss() -> Option<u64> {
    max_rss(libc::RUSAGE_CHILDREN)
}

/// memsample's own high-water mark, in bytes.
pub fn own_max_rss() -> Option<u64> {
    max_rss(libc::RUSAGE_SELF)
}

fn max_rss(who: libc::c_int) -> Option<u64> {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut usage) != 0 {
            return None;
        }
        usage
    };
    // Linux reports kilobytes.
    u64::try_from(usage.ru_maxrss).ok().map(|kb| kb * 1024)
}
