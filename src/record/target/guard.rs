//! The guard: a tiny process that kills the command's process group if
//! memsample dies before the command has ended (docs/exit-status.md).
//!
//! The command runs in a process group of its own, so a group kill of
//! memsample's job (`timeout -s KILL`, `kill -9 -- -PGID`) does not reach it,
//! and a SIGKILL of memsample cannot be relayed. The command's parent-death
//! signal kills the command alone, not its children, and a set-uid exec
//! (`su`) clears it. The guard closes that gap: it holds the read end of a
//! pipe whose write end only memsample holds; the command's child writes its
//! process group to it before exec. When the pipe reaches end-of-file (every
//! death of memsample, SIGKILL included) the guard SIGKILLs that group, which
//! takes what a group kill without memsample would have taken. Once the
//! command has ended memsample tells the guard to stand down, so processes
//! the command left in its group live on as they would have alone.
//!
//! The guard is forked twice, before memsample becomes a subreaper, so that
//! it is not memsample's child: it is never counted in the tree and never
//! waited for, and whoever adopts it (init, a subreaper above) reaps it. It
//! is in a process group of its own, blocks every signal and holds no other
//! descriptor: nothing aimed at memsample, its job or its terminal reaches it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// memsample's end of the pipe to the guard.
#[derive(Debug)]
pub(crate) struct Guard {
    write: OwnedFd,
}

/// What the guard is told to stand down with: not a process group.
const STAND_DOWN: i32 = 0;

impl Guard {
    /// Forks the guard (through an intermediate process that exits at once).
    /// Fails, before anything else is started, when no process can be made.
    pub(crate) fn start() -> io::Result<Guard> {
        let (read, write) = pipe()?;
        let (read_fd, write_fd) = (read.as_raw_fd(), write.as_raw_fd());
        // SAFETY: fork in a process that may have threads: the child makes
        // only async-signal-safe calls (fork, _exit, and those of
        // `watch`), and never returns into Rust code that could allocate.
        let intermediate = unsafe { libc::fork() };
        match intermediate {
            -1 => return Err(io::Error::last_os_error()),
            // SAFETY: as above; `_exit` skips every destructor.
            0 => unsafe {
                match libc::fork() {
                    0 => watch(read_fd, write_fd),
                    -1 => libc::_exit(*libc::__errno_location()),
                    _ => libc::_exit(0),
                }
            },
            _ => {}
        }
        drop(read);
        let status = wait_for(intermediate)?;
        if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            let code = libc::WEXITSTATUS(status);
            return Err(io::Error::from_raw_os_error(if code > 0 {
                code
            } else {
                libc::EAGAIN
            }));
        }
        Ok(Guard { write })
    }

    /// The descriptor the command's child writes its process group to,
    /// before exec (it is closed on exec).
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.write.as_raw_fd()
    }

    /// The command has ended (or never started): memsample's death no longer
    /// kills anything.
    pub(crate) fn stand_down(&self) {
        let _ = rustix::io::write(&self.write, &STAND_DOWN.to_ne_bytes());
    }
}

/// A pipe, both ends closed on exec: the command never holds either.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: pipe2 writes two descriptors into the array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and belong to nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Tells the guard the command's process group: called in the forked child
/// before exec, so async-signal-safe.
pub(crate) fn announce(fd: RawFd, pgid: i32) {
    let bytes = pgid.to_ne_bytes();
    // SAFETY: write(2) of a 4-byte buffer on our stack; a pipe write that
    // small is atomic.
    unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
}

/// Waits for the intermediate process (memsample's waiter thread is not
/// started yet, so nothing else reaps it).
fn wait_for(pid: libc::pid_t) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child, writing into a local.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            return Ok(status);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// The guard's whole life, in the forked grandchild: async-signal-safe
/// calls only, no allocation; never returns.
fn watch(read: RawFd, write: RawFd) -> ! {
    // SAFETY: every call below acts on this process alone: its signal mask,
    // its process group, its descriptors, its name, its own reads; `_exit`
    // ends it without running anything of memsample's.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
        libc::setpgid(0, 0);
        libc::close(write);
        close_all_but(read);
        libc::chdir(c"/".as_ptr());
        libc::prctl(libc::PR_SET_NAME, c"memsample-guard".as_ptr());
        let mut pgid = 0;
        loop {
            let mut buf = [0u8; 4];
            let n = libc::read(read, buf.as_mut_ptr().cast(), buf.len());
            match n {
                4 => match i32::from_ne_bytes(buf) {
                    STAND_DOWN => libc::_exit(0),
                    group => pgid = group,
                },
                0 => {
                    if pgid > 0 {
                        libc::kill(-pgid, libc::SIGKILL);
                    }
                    libc::_exit(0);
                }
                _ if *libc::__errno_location() == libc::EINTR => {}
                _ => libc::_exit(1),
            }
        }
    }
}

/// Closes every descriptor but `keep`: the guard must hold nothing of
/// memsample's (a pipe to a reader of memsample's output would not reach
/// end-of-file while the guard lives).
///
/// # Safety
/// Only in the forked guard, which uses no descriptor but `keep`.
unsafe fn close_all_but(keep: RawFd) {
    let keep = keep as libc::c_uint;
    // SAFETY: close_range(2) on this process's own table.
    let done = unsafe {
        (keep == 0 || libc::syscall(libc::SYS_close_range, 0, keep - 1, 0) == 0)
            && libc::syscall(libc::SYS_close_range, keep + 1, libc::c_uint::MAX, 0) == 0
    };
    if done {
        return;
    }
    // Kernels before 5.9: one close per descriptor below the limit.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the local struct.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur.min(65_536) as libc::c_int
    } else {
        1024
    };
    for fd in 0..max {
        if fd != keep as libc::c_int {
            // SAFETY: closing a number that may not be open is harmless.
            unsafe { libc::close(fd) };
        }
    }
}
