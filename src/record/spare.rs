//! Threads started before the command, given their work once it runs.
//!
//! A thread that cannot be started after the command was forked (a tiny
//! `RLIMIT_NPROC`, an address-space limit too small for one more stack)
//! would leave memsample with a running command it cannot wait for or
//! sample: it would have to kill it. So every thread memsample needs for a
//! recording is started first, and a failure is reported before the command
//! runs (docs/exit-status.md).

use std::io;
use std::sync::mpsc::{self, SyncSender};
use std::thread::{self, JoinHandle};

type Work = Box<dyn FnOnce() + Send>;

/// The stack of a thread that only waits and passes events on (the waiter,
/// the signal thread, the receiver of marks): an eighth of the default, so
/// that memsample fits a small address-space limit (`ulimit -v`).
pub(crate) const SMALL_STACK: usize = 256 * 1024;

/// A started thread waiting for its work; dropped without any, it ends.
#[derive(Debug)]
pub(crate) struct Spare {
    work: SyncSender<Work>,
    handle: JoinHandle<()>,
}

impl Spare {
    /// Starts a thread named `name`, with a stack of `stack` bytes (the
    /// platform's default when `None`).
    pub(crate) fn start(name: &str, stack: Option<usize>) -> io::Result<Spare> {
        let (work, waiting) = mpsc::sync_channel::<Work>(1);
        let mut builder = thread::Builder::new().name(name.into());
        if let Some(stack) = stack {
            builder = builder.stack_size(stack);
        }
        let (up, started) = mpsc::sync_channel::<()>(1);
        let handle = builder.spawn(move || {
            let _ = up.send(());
            if let Ok(work) = waiting.recv() {
                work();
            }
        })?;
        // spawn returns before the thread has its own signal stack, which
        // the new thread maps itself: under an address-space limit that
        // can fail there, and abort memsample. Waiting until the thread
        // runs keeps that failure before the command starts.
        started
            .recv()
            .map_err(|_| io::Error::other(format!("thread {name} ended as it started")))?;
        Ok(Spare { work, handle })
    }

    /// Runs `work` on the thread; the thread ends when it returns.
    pub(crate) fn run(self, work: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
        // The thread waits for exactly this message: the send cannot fail.
        let _ = self.work.send(Box::new(work));
        self.handle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_runs_on_the_spare_thread() {
        let spare = Spare::start("spare-test", Some(64 * 1024)).expect("a thread");
        let (done, result) = mpsc::channel();
        let handle = spare.run(move || {
            let name = thread::current().name().map(str::to_string);
            let _ = done.send(name);
        });
        handle.join().expect("joined");
        assert_eq!(result.recv().expect("sent"), Some("spare-test".to_string()));
    }

    #[test]
    fn a_spare_dropped_without_work_ends() {
        let spare = Spare::start("spare-test", None).expect("a thread");
        let Spare { work, handle } = spare;
        drop(work);
        handle.join().expect("the thread ended");
    }
}
