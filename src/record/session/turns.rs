//! The session's lock, taken in turns.
//!
//! std's `Mutex` is not fair: a thread that unlocks and locks again at once
//! usually wins against the thread its unlock woke. The interval thread does
//! exactly that when a tick takes longer than the period (the next deadline
//! is already due when a tick ends), and the main thread, holding a SIGTERM
//! to act on, waited for dozens of ticks (`--pss` at 1 ms on a 1 GiB tree:
//! half a second, three on a loaded machine). A turnstile in front of the
//! lock makes it fair enough: a thread waiting for the session holds the
//! turnstile, so the thread that has just unlocked queues behind it. A
//! waiter gets the session after at most the holder's current turn.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A value behind a lock that threads take in turns.
pub(crate) struct Turns<T> {
    turnstile: Mutex<()>,
    value: Mutex<T>,
}

impl<T> Turns<T> {
    pub(crate) fn new(value: T) -> Turns<T> {
        Turns {
            turnstile: Mutex::new(()),
            value: Mutex::new(value),
        }
    }

    /// The value, after whoever was already waiting for it.
    ///
    /// A panic while it was held does not make it unusable: a panic on the
    /// interval thread must not cost the rows already written nor the
    /// summary, and the session's state stays consistent between samples.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        let turn = self
            .turnstile
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let value = self.value.lock().unwrap_or_else(PoisonError::into_inner);
        drop(turn);
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::thread;
    use std::time::Duration;

    /// One thread takes the lock again and again, as the interval thread
    /// does with slow ticks; another asks for it once. However the two are
    /// scheduled, the other gets it after at most the turn in progress and
    /// one that may have started while it was queueing for the turnstile.
    #[test]
    fn a_waiter_gets_the_lock_after_at_most_one_turn_of_a_busy_holder() {
        let turns = Arc::new(Turns::new(0_u64));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicU64::new(0));
        let busy = {
            let (turns, stop, held) = (Arc::clone(&turns), Arc::clone(&stop), Arc::clone(&held));
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let mut count = turns.lock();
                    *count += 1;
                    held.store(*count, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(2));
                }
            })
        };
        for _ in 0..20 {
            // Ask while the busy thread is in the middle of its turns.
            while held.load(Ordering::SeqCst) < 3 {
                thread::yield_now();
            }
            let before = held.load(Ordering::SeqCst);
            let count = *turns.lock();
            assert!(
                count <= before + 2,
                "waited from turn {before} to turn {count}"
            );
        }
        stop.store(true, Ordering::SeqCst);
        busy.join().expect("the busy thread");
    }
}
