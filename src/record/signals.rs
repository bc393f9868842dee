//! Signals, with where they came from.
//!
//! In spawn mode the command runs in a process group of its own (see
//! docs/exit-status.md), so nothing sent to memsample's group
//! reaches it: every SIGINT, SIGTERM, SIGHUP, SIGQUIT or SIGTSTP memsample
//! receives is relayed once to the command's group. A sender that signals
//! memsample and then its own group (which holds memsample), as `timeout`
//! does, makes two arrivals of one intent: [`Folding`] keeps one. Only the
//! sender's pid tells them apart, which `signal-hook` exposes and `ctrlc`
//! does not.
//!
//! A signal that is ignored when memsample starts (`nohup`, a background job
//! of a non-interactive shell) stays ignored for the command: it gets SIG_IGN
//! back before exec, as it would have inherited it alone. In spawn mode
//! memsample still catches it, so that one sent to memsample on purpose
//! (`kill -INT $!` in a script) is relayed: a command that set its own
//! handler gets it, one that kept it ignored drops it, as alone. In attach
//! mode it stays ignored for memsample too (a `nohup memsample --pid` keeps
//! recording through a hang-up).

use std::collections::HashMap;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use signal_hook::consts::{
    SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGUSR1, SIGXFSZ,
};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;

/// The signals memsample acts on in every mode.
pub(crate) const HANDLED: [i32; 5] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1];

/// Also handled in spawn mode: a SIGTSTP sent to memsample is relayed, and a
/// SIGCONT (`fg`, `bg`) continues the command too.
const JOB_CONTROL: [i32; 2] = [SIGTSTP, SIGCONT];

/// SIGUSR1: take a sample now.
pub(crate) const TRIGGER: i32 = SIGUSR1;

/// Two arrivals of the same signal from the same sender closer than this are
/// one intent.
pub(crate) const FOLD_WINDOW: Duration = Duration::from_secs(1);

/// A signal memsample received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Received {
    pub(crate) signal: i32,
    /// The pid of the process that sent it; `None` when the kernel did
    /// (a terminal's hang-up) or the sender is not known.
    pub(crate) sender: Option<i32>,
    pub(crate) at: Instant,
}

/// What memsample found at start that the command must see as it was.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Inherited {
    /// The signals ignored at start that memsample catches anyway (spawn
    /// mode): the command gets them ignored again before exec.
    pub(crate) ignored: SignalSet,
    /// The signal mask memsample was started with: the command starts with
    /// it, not with the one memsample's threads run with.
    pub(crate) mask: SignalSet,
    /// SIGCHLD was ignored: memsample resets it (its waits would fail with
    /// ECHILD) and the command gets it ignored again before exec.
    pub(crate) sigchld_ignored: bool,
    /// SIGPIPE was ignored: Rust's runtime ignores it for memsample anyway,
    /// but the child would get the default back, so it gets it ignored
    /// again before exec.
    pub(crate) sigpipe_ignored: bool,
}

/// A set of signals 1 to 64, plain bits: copied into the forked child, and
/// read there without allocating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SignalSet(u64);

impl SignalSet {
    pub(crate) fn insert(&mut self, signal: i32) {
        if (1..=64).contains(&signal) {
            self.0 |= 1 << (signal - 1);
        }
    }

    pub(crate) fn contains(self, signal: i32) -> bool {
        (1..=64).contains(&signal) && self.0 & (1 << (signal - 1)) != 0
    }

    /// The calling thread's signal mask.
    fn blocked_now() -> SignalSet {
        let mut set = SignalSet::default();
        // SAFETY: with a null new set, pthread_sigmask only reads the
        // calling thread's mask into the zeroed set we pass; sigismember
        // reads it.
        unsafe {
            let mut current: libc::sigset_t = std::mem::zeroed();
            if libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut current) != 0 {
                return set;
            }
            for signal in 1..=64 {
                if libc::sigismember(&current, signal) == 1 {
                    set.insert(signal);
                }
            }
        }
        set
    }

    /// Makes this set the calling thread's signal mask. Async-signal-safe:
    /// it runs in the forked child before exec.
    pub(crate) fn set_as_mask(self) {
        // SAFETY: builds a sigset_t on the stack and sets the calling
        // thread's mask; no allocation, no handler code.
        unsafe {
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut mask);
            for signal in 1..=64 {
                if self.contains(signal) {
                    libc::sigaddset(&mut mask, signal);
                }
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
        }
    }

    /// Sets every signal of this set ignored. Async-signal-safe.
    pub(crate) fn ignore_all(self) {
        for signal in 1..=64 {
            if self.contains(signal) {
                // SAFETY: setting a disposition runs no handler code.
                unsafe { libc::signal(signal, libc::SIG_IGN) };
            }
        }
    }
}

/// Starts a thread that passes every handled signal to `deliver`; with
/// `job_control` (spawn mode), SIGTSTP and SIGCONT too, and SIGTTOU is
/// blocked. In attach mode signals ignored at start stay ignored and are
/// never delivered; in spawn mode they are caught and noted in
/// [`Inherited::ignored`].
///
/// Also installs a do-nothing handler for SIGXFSZ (unless it is ignored), so
/// that a write past a file-size limit fails with EFBIG (and is reported)
/// instead of killing memsample; a handler, unlike SIG_IGN, is reset when the
/// command is exec'd.
pub(crate) fn listen<F>(job_control: bool, deliver: F) -> io::Result<Inherited>
where
    F: Fn(Received) + Send + 'static,
{
    let mut inherited = Inherited {
        ignored: SignalSet::default(),
        // Before SIGTTOU is blocked below: the mask memsample was given.
        mask: SignalSet::blocked_now(),
        sigchld_ignored: is_ignored(SIGCHLD),
        sigpipe_ignored: crate::sink::stdfds::sigpipe_was_ignored(),
    };
    if inherited.sigchld_ignored {
        set_default(SIGCHLD);
    }
    if job_control {
        block_ttou();
    }
    let extra: &[i32] = if job_control { &JOB_CONTROL } else { &[] };
    let mut wanted = Vec::new();
    for &signal in HANDLED.iter().chain(extra) {
        if is_ignored(signal) {
            if !job_control {
                continue;
            }
            inherited.ignored.insert(signal);
        }
        wanted.push(signal);
    }
    let mut signals = SignalsInfo::<WithOrigin>::new(wanted)?;
    if !is_ignored(SIGXFSZ) {
        signal_hook::flag::register(
            SIGXFSZ,
            std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        )?;
    }
    thread::Builder::new()
        .name("signals".into())
        .stack_size(super::spare::SMALL_STACK)
        .spawn(move || {
            for origin in signals.forever() {
                deliver(Received {
                    signal: origin.signal,
                    sender: origin.process.map(|process| process.pid),
                    at: Instant::now(),
                });
            }
        })?;
    Ok(inherited)
}

/// Whether `signal`'s disposition is SIG_IGN (inherited through exec).
fn is_ignored(signal: i32) -> bool {
    // SAFETY: with a null new action, sigaction only reads the current one
    // into the zeroed struct we pass.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

/// Blocks SIGTTOU in the calling thread and every thread it starts later.
/// While the command's group holds the terminal memsample is a background
/// process, and with `stty tostop` its own lines on stderr would stop it.
/// The command does not inherit this mask: it gets [`Inherited::mask`]
/// before exec.
fn block_ttou() {
    // SAFETY: changes only the calling thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn set_default(signal: i32) {
    // SAFETY: setting the default disposition runs no handler code.
    unsafe { libc::signal(signal, libc::SIG_DFL) };
}

/// Keeps one of several arrivals of a signal that mean one intent: the same
/// signal from the same sender within [`FOLD_WINDOW`] of the last one kept.
#[derive(Debug, Default)]
pub(crate) struct Folding {
    kept: HashMap<(i32, Option<i32>), Instant>,
}

impl Folding {
    /// Whether `received` is to be acted on (false: a repeat, folded).
    pub(crate) fn keep(&mut self, received: &Received) -> bool {
        let key = (received.signal, received.sender);
        if let Some(last) = self.kept.get(&key)
            && received.at.saturating_duration_since(*last) < FOLD_WINDOW
        {
            return false;
        }
        self.kept.insert(key, received.at);
        true
    }
}

/// A stop a job-control shell would report as its job's (Ctrl-Z, a read or
/// write of the terminal from the background); SIGSTOP (a debugger, `kill
/// -STOP`) is not one: nothing would continue memsample if it followed it.
pub(crate) fn is_job_control_stop(signal: i32) -> bool {
    [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU].contains(&signal)
}

/// The signal's name for messages: `SIGTERM`.
pub(crate) fn name(signal: i32) -> String {
    signal_hook::low_level::signal_name(signal)
        .map(str::to_string)
        .unwrap_or_else(|| format!("signal {signal}"))
}

/// Dies of `signal`, so that the caller's shell sees what it would have seen
/// had the command (or memsample) been killed directly; exits 128+N if the
/// signal does not kill.
pub(crate) fn die_of(signal: i32) -> ! {
    // A core dump of memsample would be confusing and large; a limit of one
    // byte stops both core files and core_pattern pipes, while the exit
    // status still says "killed by this signal".
    let mut limit = rustix::process::getrlimit(rustix::process::Resource::Core);
    if limit.maximum.is_none_or(|maximum| maximum >= 1) {
        limit.current = Some(1);
        let _ = rustix::process::setrlimit(rustix::process::Resource::Core, limit);
    }
    // SAFETY: restoring the default disposition and unblocking the signal
    // only changes how this process reacts to it; no handler code runs, and
    // signal-hook's handler for it is no longer needed.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(signal: i32, sender: Option<i32>, at: Instant) -> Received {
        Received { signal, sender, at }
    }

    #[test]
    fn a_repeat_from_the_same_sender_within_the_window_is_folded() {
        let start = Instant::now();
        let mut folding = Folding::default();
        assert!(folding.keep(&arrival(SIGTERM, Some(42), start)));
        let soon = start + Duration::from_millis(5);
        assert!(!folding.keep(&arrival(SIGTERM, Some(42), soon)));
    }

    #[test]
    fn another_sender_or_another_signal_is_kept() {
        let start = Instant::now();
        let mut folding = Folding::default();
        assert!(folding.keep(&arrival(SIGTERM, Some(42), start)));
        assert!(folding.keep(&arrival(SIGTERM, Some(43), start)));
        assert!(folding.keep(&arrival(SIGINT, Some(42), start)));
        assert!(folding.keep(&arrival(SIGTERM, None, start)));
    }

    #[test]
    fn a_repeat_after_the_window_is_kept() {
        let start = Instant::now();
        let mut folding = Folding::default();
        assert!(folding.keep(&arrival(SIGTERM, Some(42), start)));
        let later = start + FOLD_WINDOW;
        assert!(folding.keep(&arrival(SIGTERM, Some(42), later)));
        // The window counts from the last arrival kept.
        let again = later + Duration::from_millis(500);
        assert!(!folding.keep(&arrival(SIGTERM, Some(42), again)));
    }
}
