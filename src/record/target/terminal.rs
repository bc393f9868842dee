//! The controlling terminal, handed to the command's process group while it
//! runs in the foreground, as a job-control shell does: Ctrl-C, Ctrl-\ and
//! Ctrl-Z then reach the command's group once, from the kernel, and never
//! memsample (docs/exit-status.md).

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

    /// Makes `pgid` the foreground group while memsample's group holds the
    /// terminal; whether `pgid` holds it now.
    pub(crate) fn hand_over(&self, pgid: i32) -> bool {
        self.give_if_foreground(pgid);
        self.foreground() == Some(pgid)
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

/// Stops memsample with `signal` (SIGTSTP, SIGTTIN or SIGTTOU), the stop its
/// command got, so that whoever watches memsample sees that very stop: a
/// shell says "Stopped" or "Stopped (tty input)", and a memsample around
/// this one mirrors it in turn. With `group`, the signal goes to memsample's
/// whole process group, as the terminal would have sent it to the job had
/// memsample not handed the command a group of its own (a script running
/// memsample stops with it). Returns once memsample is continued.
///
/// The kernel discards these three signals in an orphaned process group (no
/// member's parent is a job-control shell of the session to continue it):
/// there memsample stops with SIGSTOP, which a SIGCONT ends.
pub(crate) fn stop_with(signal: i32, group: bool) {
    if own_group_is_orphaned() {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
        return;
    }
    // SAFETY: the default action is set for the time of the stop and the
    // previous action (signal-hook's handler, or the default) put back;
    // only the calling thread's mask changes, and is restored. The signal is
    // unblocked on this thread, which is running: the kernel gives it to
    // this thread, which stops before it returns from kill(2).
    unsafe {
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        let mut previous: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signal, &default, &mut previous) != 0 {
            return;
        }
        let mut unblock: libc::sigset_t = std::mem::zeroed();
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut unblock);
        libc::sigaddset(&mut unblock, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &unblock, &mut mask);
        libc::kill(if group { 0 } else { libc::getpid() }, signal);
        libc::pthread_sigmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
        libc::sigaction(signal, &previous, std::ptr::null_mut());
    }
}

/// Whether memsample's process group is orphaned: no member has a parent in
/// the same session but in another group (the kernel's rule; a parent that
/// is init does not count). Read from `/proc`, only when the job stops.
fn own_group_is_orphaned() -> bool {
    let group = own_group();
    let Some(own) = ids_of(std::process::id()) else {
        return false;
    };
    let links_out = |ids: Ids| {
        ids.ppid > 1
            && ids_of(ids.ppid)
                .is_some_and(|parent| parent.pgrp != group && parent.session == ids.session)
    };
    if links_out(own) {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    !entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(ids_of)
        .any(|ids| ids.pgrp == group && links_out(ids))
}

/// A process's parent, group and session.
#[derive(Debug, Clone, Copy)]
struct Ids {
    ppid: u32,
    pgrp: i32,
    session: i32,
}

fn ids_of(pid: u32) -> Option<Ids> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    Some(Ids {
        ppid: fields.next()?.parse().ok()?,
        pgrp: fields.next()?.parse().ok()?,
        session: fields.next()?.parse().ok()?,
    })
}
