//! The standard descriptors (0, 1, 2) that were closed when memsample
//! started.
//!
//! A closed standard descriptor would be taken by the next file memsample
//! opens, the CSV say, and memsample's own stderr lines would land in it.
//! Rust's runtime fills such holes with `/dev/null` before `main`, but
//! without `O_CLOEXEC`, so the command would inherit an open `/dev/null`
//! where, run alone, it would find the descriptor closed; and memsample
//! could no longer tell that `-o -` writes nowhere. So this runs first, from
//! the binary's load-time constructor: it notes which ones are closed and
//! fills them with `/dev/null` opened `O_CLOEXEC` (docs/usage.md).
//!
//! SIGPIPE is the other thing the runtime changes before `main`: it sets it
//! ignored, and `std::process::Command` sets it back to the default in the
//! child. A command whose caller ignored SIGPIPE (a CI runner, a Python
//! `subprocess` without `restore_signals`) must find it ignored under
//! memsample too, as it would alone (docs/exit-status.md):
//! so the disposition is noted here, before the runtime, by a second
//! constructor.
//!
//! `pub` (and hidden from the docs) for those constructors, in `main.rs`.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

static CHECKED: AtomicBool = AtomicBool::new(false);
static CLOSED_AT_START: AtomicU8 = AtomicU8::new(0);
static SIGPIPE_IGNORED_AT_START: AtomicBool = AtomicBool::new(false);

/// Notes the closed standard descriptors and fills them with `/dev/null`
/// (close-on-exec). Runs once; later calls do nothing. Public only so that
/// the binary can register it as a load-time constructor.
#[doc(hidden)]
pub extern "C" fn guard_standard_fds() {
    if CHECKED.swap(true, Ordering::SeqCst) {
        return;
    }
    let mut closed = 0u8;
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor table; no memory is
        // passed, and an unused number just fails with EBADF.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1 {
            continue;
        }
        closed |= 1 << fd;
        // SAFETY: open(2) with a NUL-terminated constant path. Lower
        // numbers are open by now, so the lowest free one is `fd` itself.
        let placeholder =
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if placeholder >= 0 && placeholder != fd {
            // SAFETY: both descriptors are memsample's own; `placeholder`
            // is not used after it is closed.
            unsafe {
                libc::dup3(placeholder, fd, libc::O_CLOEXEC);
                libc::close(placeholder);
            }
        }
    }
    CLOSED_AT_START.store(closed, Ordering::SeqCst);
}

/// Whether standard descriptor `fd` (0, 1 or 2) was closed when memsample
/// started, before its `/dev/null` placeholder was put in.
pub(crate) fn was_closed(fd: u8) -> bool {
    fd < 3 && CLOSED_AT_START.load(Ordering::SeqCst) & (1 << fd) != 0
}

/// Notes whether SIGPIPE was ignored when memsample was started. Only
/// meaningful before Rust's runtime has set it ignored itself: public only
/// so that the binary can register it as a load-time constructor.
#[doc(hidden)]
pub extern "C" fn note_inherited_sigpipe() {
    // SAFETY: sigaction with a null new action only reads the disposition
    // into the zeroed struct passed to it.
    let ignored = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    };
    SIGPIPE_IGNORED_AT_START.store(ignored, Ordering::SeqCst);
}

/// Whether SIGPIPE was ignored when memsample was started (false where the
/// load-time constructor did not run).
pub(crate) fn sigpipe_was_ignored() -> bool {
    SIGPIPE_IGNORED_AT_START.load(Ordering::SeqCst)
}
