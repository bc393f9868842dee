//! Signals, with where they came from.
//!
//! In spawn mode, a Ctrl-C typed at the terminal reaches the command directly
//! (it shares memsample's foreground process group), so memsample must not
//! send it a second one; but the same SIGINT sent by `kill` to memsample alone
//! must be passed on. Only the signal's origin (`si_code`: `SI_KERNEL` for the
//! terminal, `SI_USER` for `kill`) tells the two apart, which `signal-hook`
//! exposes and `ctrlc` does not.

use std::io;
use std::thread;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGXFSZ};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;

/// The signals memsample acts on.
pub const HANDLED: [i32; 5] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1];

/// SIGUSR1: take a sample now.
pub const TRIGGER: i32 = SIGUSR1;

/// A signal memsample received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub signal: i32,
    /// Sent by the kernel (a terminal's Ctrl-C, Ctrl-\ or hang-up), which
    /// already delivered it to the whole foreground process group.
    pub from_terminal: bool,
}

/// Starts a thread that passes every handled signal to `deliver`.
///
/// Also installs a do-nothing handler for SIGXFSZ, so that a write past a
/// file-size limit fails with EFBIG (and is reported) instead of killing
/// memsample; a handler, unlike SIG_IGN, is reset when the command is exec'd.
pub fn listen<F>(deliver: F) -> io::Result<()>
where
    F: Fn(Received) + Send + 'static,
{
    let mut signals = SignalsInfo::<WithOrigin>::new(HANDLED)?;
    signal_hook::flag::register(
        SIGXFSZ,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    )?;
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for origin in signals.forever() {
                deliver(Received {
                    signal: origin.signal,
                    from_terminal: origin.cause == Cause::Kernel,
                });
            }
        })?;
    Ok(())
}

/// The signal's name for messages: `SIGTERM`.
pub fn name(signal: i32) -> String {
    signal_hook::low_level::signal_name(signal)
        .map(str::to_string)
        .unwrap_or_else(|| format!("signal {signal}"))
}

/// Dies of `signal`, so that the caller's shell sees what it would have seen
/// had the command (or memsample) been killed directly; exits 128+N if the
/// signal does not kill.
pub fn die_of(signal: i32) -> ! {
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
