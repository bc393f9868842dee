//! The only place that waits for children: the command's state changes
//! (exit, stop, continue) and the end of every adopted orphan.
//!
//! memsample is a child subreaper in spawn mode: a descendant whose parent
//! exits becomes its child, and must be reaped as soon as it exits or it
//! stays a zombie (a build that double-forks many helpers would pile them up
//! to the pids limit). Each child is consumed by its own pid, never with
//! `waitpid(-1)`, which could take the command's status.

use std::time::Duration;

use super::ExitStatus;

/// A change of the command's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// It ended; `max_rss` is the kernel's high-water mark for it (and the
    /// descendants it waited for), in bytes.
    Exited {
        status: ExitStatus,
        max_rss: Option<u64>,
    },
    /// Stopped by this signal.
    Stopped(i32),
    Continued,
}

/// Waits for children forever, passing the command's changes to `on_change`.
pub(crate) fn run(command: i32, mut on_change: impl FnMut(Change)) {
    let mut ended = false;
    loop {
        match peek() {
            Ok(pid) => {
                if let Some(change) = consume(pid, command) {
                    ended |= matches!(change, Change::Exited { .. });
                    on_change(change);
                }
            }
            Err(libc::EINTR) => {}
            Err(libc::ECHILD) if !ended => {
                // Reaped elsewhere, which memsample never does: report a
                // failure rather than hang.
                ended = true;
                on_change(Change::Exited {
                    status: ExitStatus::Code(crate::record::error::EXIT_FAILURE.into()),
                    max_rss: None,
                });
            }
            // No child left for now: an orphan may still be adopted while
            // memsample winds down.
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Blocks until a child has changed state, and says which, without
/// consuming the change.
fn peek() -> Result<i32, i32> {
    // SAFETY: waitid writes into the zeroed siginfo we pass; WNOWAIT leaves
    // the child's state for the pid-specific wait that follows.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let flags = libc::WEXITED | libc::WSTOPPED | libc::WCONTINUED | libc::WNOWAIT;
        if libc::waitid(libc::P_ALL, 0, &mut info, flags) != 0 {
            return Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL));
        }
        Ok(info.si_pid())
    }
}

/// Consumes the pending change of `pid`; returns it when `pid` is the command.
fn consume(pid: i32, command: i32) -> Option<Change> {
    let mut status = 0;
    // SAFETY: wait4 on one pid, writing into the zeroed rusage we pass.
    let (done, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let flags = libc::WNOHANG | libc::WUNTRACED | libc::WCONTINUED;
        (libc::wait4(pid, &mut status, flags, &mut usage), usage)
    };
    if done <= 0 {
        // The change went away between the peek and the wait (a stop that
        // was continued): look again, without spinning.
        std::thread::sleep(Duration::from_millis(1));
        return None;
    }
    if pid != command {
        return None;
    }
    if libc::WIFEXITED(status) {
        Some(Change::Exited {
            status: ExitStatus::Code(libc::WEXITSTATUS(status)),
            max_rss: max_rss_bytes(&usage),
        })
    } else if libc::WIFSIGNALED(status) {
        Some(Change::Exited {
            status: ExitStatus::Signal(libc::WTERMSIG(status)),
            max_rss: max_rss_bytes(&usage),
        })
    } else if libc::WIFSTOPPED(status) {
        Some(Change::Stopped(libc::WSTOPSIG(status)))
    } else if libc::WIFCONTINUED(status) {
        Some(Change::Continued)
    } else {
        None
    }
}

fn max_rss_bytes(usage: &libc::rusage) -> Option<u64> {
    // Linux reports kilobytes.
    u64::try_from(usage.ru_maxrss).ok().map(|kb| kb * 1024)
}
