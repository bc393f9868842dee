//! The process being recorded: a command memsample spawns, or a pid it
//! attaches to; how it ends, and what its status was.

use std::cell::Cell;
use std::ffi::OsString;
use std::fmt;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::thread;
use std::time::Duration;

use rustix::process::{Pid, PidfdFlags, Signal};

use crate::cgroup::Joiner;
use crate::record::error::RecordError;
use crate::record::signals::Inherited;
use crate::record::spare::Spare;

mod guard;
mod terminal;
mod waiter;

pub(crate) use guard::Guard;
use terminal::Terminal;
pub(crate) use waiter::Change;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(code) => write!(f, "exited with code {code}"),
            ExitStatus::Signal(signal) => {
                write!(f, "was killed by {}", crate::record::signals::name(*signal))
            }
        }
    }
}

/// A pid plus a pidfd when the kernel has them: a pidfd tells when the
/// process exits without polling, and can never refer to a recycled pid.
#[derive(Debug)]
pub(crate) struct Handle {
    pub(crate) pid: u32,
    pidfd: Option<OwnedFd>,
}

impl Handle {
    fn open(pid: u32) -> Handle {
        let pidfd = Pid::from_raw(pid as i32)
            .and_then(|raw| rustix::process::pidfd_open(raw, PidfdFlags::empty()).ok());
        Handle { pid, pidfd }
    }

    /// Calls `on_exit` on a thread of its own once the process has exited
    /// (for a process that is not our child: once it is a zombie or gone).
    pub(crate) fn watch_exit<F>(&self, on_exit: F) -> std::io::Result<()>
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

/// A command memsample started, in a process group of its own.
pub(crate) struct Spawned {
    pub(crate) handle: Handle,
    /// Dropped without waiting: [`waiter`] does all the waiting.
    _child: Child,
    terminal: Option<Terminal>,
    guard: Option<Guard>,
}

impl Spawned {
    /// Starts `command` (not through a shell; glibc's `execvp` runs a script
    /// without `#!` with `/bin/sh`, as `env` does) in a process group of its
    /// own, given the terminal when memsample holds it. Returns once the
    /// program has been exec'd.
    /// With `cgroup`, the child joins the command's cgroup before exec, so
    /// that the command is in it from its first instruction; with `guard`,
    /// it tells the guard its process group.
    pub(crate) fn start(
        command: &[OsString],
        inherited: Inherited,
        cgroup: Option<Joiner>,
        guard: Option<Guard>,
        control: Option<&std::path::Path>,
    ) -> Result<Spawned, RecordError> {
        let Some((program, args)) = command.split_first() else {
            return Err(RecordError::Usage(
                "no command given after --: name a program to run, or use --pid PID".into(),
            ));
        };
        let terminal = Terminal::open();
        let foreground = terminal
            .as_ref()
            .filter(|terminal| terminal.is_foreground())
            .map(Terminal::raw_fd);
        let mut builder = Command::new(program);
        builder.args(args).process_group(0);
        if let Some(control) = control {
            // `--phases`: where the job sends its marks (docs/phases.md).
            builder.env(crate::record::control::ENV, control);
        }
        let parent = std::process::id() as i32;
        let guard_fd = guard.as_ref().map(Guard::raw_fd);
        // SAFETY: the closure runs in the forked child before exec and only
        // makes async-signal-safe calls (signal, prctl, getppid, getpid,
        // _exit, sigmask changes, tcsetpgrp, one write to the cgroup's
        // `cgroup.procs`, one to the guard); it allocates nothing.
        unsafe {
            builder
                .pre_exec(move || prepare_child(parent, inherited, foreground, cgroup, guard_fd));
        }
        let child = builder.spawn().map_err(|source| {
            // Nothing to guard.
            if let Some(guard) = &guard {
                guard.stand_down();
            }
            // A child that took the terminal and then failed to exec leaves
            // it to a group that is gone.
            if let Some(fd) = foreground {
                // SAFETY: getpgrp has no preconditions.
                terminal::set_foreground(fd, unsafe { libc::getpgrp() });
            }
            RecordError::Spawn {
                program: program.to_string_lossy().into_owned(),
                source,
            }
        })?;
        // The child did it too; doing it here as well (as shells do) means
        // the terminal is the command's whichever ran first, unless
        // memsample has lost the foreground meanwhile.
        if let Some(terminal) = &terminal {
            terminal.give_if_foreground(child.id() as i32);
        }
        // Still our unreaped child: the pid cannot have been recycled yet.
        let handle = Handle::open(child.id());
        Ok(Spawned {
            handle,
            _child: child,
            terminal,
            guard,
        })
    }

    /// Waits for the command (and reaps every adopted orphan) on a thread of
    /// its own, passing the command's changes to `on_change`.
    /// The thread (`spare`) was started before the command.
    pub(crate) fn wait_in_background<F>(self, spare: Spare, on_change: F) -> Job
    where
        F: FnMut(Change) + Send + 'static,
    {
        let pgid = self.handle.pid as i32;
        spare.run(move || waiter::run(pgid, on_change));
        Job {
            pgid,
            terminal: self.terminal,
            relayed_stop: Cell::new(None),
            guard: self.guard,
        }
    }
}

/// In the forked child, before exec: what the command would have had run
/// alone (ignored signals, signal mask), plus a death signal so that it never outlives memsample (a group
/// SIGKILL cannot be relayed).
fn prepare_child(
    parent: i32,
    inherited: Inherited,
    foreground: Option<i32>,
    cgroup: Option<Joiner>,
    guard: Option<RawFd>,
) -> std::io::Result<()> {
    if let Some(joiner) = cgroup {
        joiner.join()?;
    }
    // SAFETY: async-signal-safe calls on this process only.
    unsafe {
        if inherited.sigchld_ignored {
            libc::signal(libc::SIGCHLD, libc::SIG_IGN);
        }
        // After std has set SIGPIPE back to the default for the child.
        if inherited.sigpipe_ignored {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // memsample died before the death signal was set: nobody would
        // deliver it.
        if libc::getppid() != parent {
            libc::_exit(crate::record::error::EXIT_FAILURE.into());
        }
        // From here on, memsample's death kills the whole group.
        if let Some(fd) = guard {
            guard::announce(fd, libc::getpid());
        }
        if let Some(fd) = foreground {
            terminal::set_foreground(fd, libc::getpid());
        }
    }
    // What memsample catches but was given ignored, and the mask it was
    // given (its threads block SIGTTOU): last, as the caller left them.
    inherited.ignored.ignore_all();
    inherited.mask.set_as_mask();
    Ok(())
}

/// The command's process group, as memsample's main thread acts on it.
#[derive(Debug)]
pub(crate) struct Job {
    pgid: i32,
    terminal: Option<Terminal>,
    /// A stop signal memsample relayed (a `kill -TSTP` of memsample alone)
    /// and has not yet seen the command stop with.
    relayed_stop: Cell<Option<i32>>,
    guard: Option<Guard>,
}

impl Job {
    /// Sends `signal` to the command's whole group, as it would have got it
    /// from a group kill or a terminal when run alone.
    pub(crate) fn relay(&self, signal: i32) {
        if crate::record::signals::is_job_control_stop(signal) {
            self.relayed_stop.set(Some(signal));
        }
        if let (Some(pgid), Some(signal)) =
            (Pid::from_raw(self.pgid), Signal::from_named_raw(signal))
        {
            let _ = rustix::process::kill_process_group(pgid, signal);
        }
    }

    /// The command was stopped by `signal`. A job-control stop (Ctrl-Z, a read
    /// or write of the terminal in the background) stops memsample too, with
    /// the same signal, after taking the terminal back, so that the shell sees
    /// the job stopped as it would have alone (docs/exit-status.md). A SIGSTOP
    /// (a debugger) is not mirrored: nothing would continue memsample. Without
    /// a terminal there is no job control to mirror.
    pub(crate) fn stopped(&self, signal: i32) {
        let Some(terminal) = &self.terminal else {
            return;
        };
        if !crate::record::signals::is_job_control_stop(signal) {
            return;
        }
        // A read or write of the terminal while memsample's group holds it:
        // the job was brought to the foreground while running (`fg` sends no
        // SIGCONT then), so the terminal is the command's, as it would have
        // been alone.
        if signal != libc::SIGTSTP && terminal.hand_over(self.pgid) {
            self.relay(libc::SIGCONT);
            return;
        }
        terminal.take_back_from(self.pgid);
        // memsample relayed this stop to the command alone: it stops alone.
        // Otherwise the kernel stopped the command's group (the terminal's
        // Ctrl-Z, a background read), and would have stopped the whole job.
        let relayed = self.relayed_stop.take() == Some(signal);
        terminal::stop_with(signal, !relayed);
    }

    /// memsample was continued (`fg`, `bg`): the terminal goes back to the
    /// command if memsample is in the foreground, and the command goes on.
    pub(crate) fn continued(&self) {
        self.relayed_stop.set(None);
        if let Some(terminal) = &self.terminal {
            terminal.give_if_foreground(self.pgid);
        }
        self.relay(libc::SIGCONT);
    }

    /// The command ended: what it left in its group lives on as it would
    /// have alone, and the terminal is memsample's again for the summary.
    pub(crate) fn ended(&self) {
        if let Some(guard) = &self.guard {
            guard.stand_down();
        }
        if let Some(terminal) = &self.terminal {
            terminal.take_back_from(self.pgid);
        }
    }
}

/// Opens a handle to a running process for attach mode.
pub(crate) fn attach(pid: u32) -> Handle {
    Handle::open(pid)
}

/// memsample's own high-water mark (VmHWM), in bytes. Not `getrusage`:
/// its RUSAGE_SELF figure keeps the peak of the program that exec'd
/// memsample (cargo, a wrapper), and this one is memsample's alone.
pub(crate) fn own_peak() -> Option<u64> {
    let status = std::fs::read("/proc/self/status").ok()?;
    crate::probe::procfs::parse_kb_line(&status, b"VmHWM:")
}
