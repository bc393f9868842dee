//! The controlling terminal, handed to the command's process group while it
//! runs in the foreground, as a job-control shell does: Ctrl-C, Ctrl-\ and
//! Ctrl-Z then reach the command's group once, from the kernel, and never
//! memsample (README, "Exit status and signals").

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

/// memsample's controlling terminal.
#[derive(Debug)]
pub(crate) struct Terminal {
    fd: OwnedFd,
}

impl Terminal {
    /// The controlling terminal, if memsample has one. Opened without
    /// becoming one, and closed on exec: the command never holds this fd.
    pub(crate) fn open() -> Option<Terminal> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
            .open("/dev/tty")
            .ok()?;
        Some(Terminal { fd: file.into() })
    }

    pub(crate) fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// The terminal's foreground process group.
    fn foreground(&self) -> Option<i32> {
        // SAFETY: tcgetpgrp only reads the terminal's state through our fd.
        let pgrp = unsafe { libc::tcgetpgrp(self.fd.as_raw_fd()) };
        (pgrp > 0).then_some(pgrp)
    }

    /// Whether memsample's own group is in the foreground.
    pub(crate) fn is_foreground(&self) -> bool {
        self.foreground() == Some(own_group())
    }

    /// Makes `pgid` the foreground group when memsample's group holds the
    /// terminal; a background memsample never takes it from the shell.
    pub(crate) fn give_if_foreground(&self, pgid: i32) {
        if self.is_foreground() {
            set_foreground(self.fd.as_raw_fd(), pgid);
        }
    }

    /// Takes the terminal back from the command's group `pgid`, if that
    /// group holds it.
    pub(crate) fn take_back_from(&self, pgid: i32) {
        if self.foreground() == Some(pgid) {
            set_foreground(self.fd.as_raw_fd(), own_group());
        }
    }
}

fn own_group() -> i32 {
    // SAFETY: getpgrp has no preconditions.
    unsafe { libc::getpgrp() }
}

/// `tcsetpgrp` with SIGTTOU blocked on the calling thread: a process outside
/// the foreground group that changes it would otherwise be stopped.
/// Async-signal-safe: it also runs in the forked child before exec.
pub(crate) fn set_foreground(fd: i32, pgid: i32) -> bool {
    // SAFETY: only the calling thread's signal mask is changed, and restored;
    // tcsetpgrp acts on an fd we own.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut previous);
        let done = libc::tcsetpgrp(fd, pgid) == 0;
        libc::pthread_sigmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut());
        done
    }
}
