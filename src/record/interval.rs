//! A drift-free repeating timer on its own thread: `setInterval`, but
//! cancellable and triggerable.
//!
//! [`Interval::start_at`] runs a callback at `origin + k·period` for
//! `k = 1, 2, ...`, on a thread named `interval`. Every deadline is computed
//! from the origin, never from the previous run, so however long the callback
//! takes the schedule does not drift.
//!
//! - **Late ticks are skipped, never bursted.** A tick late by less than one
//!   period runs late and the schedule goes on at its absolute deadlines. When
//!   the thread is late by a full period or more (a slow callback, a loaded
//!   machine, an origin in the past), it runs only the latest deadline that is
//!   due and counts the others in [`Tick::skipped`].
//! - **[`Interval::trigger`]** runs the callback now and restarts the schedule
//!   from that instant: the next scheduled tick is one period later.
//! - **[`Interval::cancel`]** (or dropping the [`Interval`]) stops the thread,
//!   waiting for a callback in progress; it is safe to call from inside the
//!   callback.
//! - The callback stops the timer itself by returning
//!   [`ControlFlow::Break`]; a panic in the callback ends the thread too.
//!
//! The module's tests show it at work (`a_timer_at_work` first).

use std::io;
use std::ops::ControlFlow;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle, ThreadId};

use super::spare::Spare;
use std::time::{Duration, Instant};

/// Why the callback runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TickKind {
    /// A deadline of the schedule came.
    Scheduled,
    /// [`Interval::trigger`] asked for a run.
    Triggered,
}

/// One run of the callback.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tick {
    /// Why the callback runs.
    pub(crate) kind: TickKind,
    /// The deadline this run was scheduled for (for Triggered: the instant the trigger was served).
    pub(crate) scheduled: Instant,
    /// k in origin + k·period, counted from the current schedule's origin (k >= 1 for Scheduled; 0 for Triggered).
    pub(crate) index: u64,
    /// How many deadlines were skipped just before this run because the thread was late.
    ///
    /// When a trigger is served while deadlines of the old schedule are
    /// already due, the triggered run stands in for the latest of them and the
    /// others are counted here, as for a scheduled run.
    pub(crate) skipped: u64,
}

/// A repeating timer running a callback on its own thread.
///
/// Created by [`Interval::start_at`]; see the
/// [module documentation](self) for the schedule's rules. Dropping it cancels
/// it (see [`Interval::cancel`]).
#[derive(Debug)]
#[must_use = "dropping an Interval cancels it"]
pub(crate) struct Interval {
    shared: Arc<Shared>,
    /// `None` once joined.
    handle: Option<JoinHandle<()>>,
    /// To tell a cancel from inside the callback, which must not join.
    thread: ThreadId,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wakeup: Condvar,
}

#[derive(Debug, Default)]
struct State {
    cancelled: bool,
    trigger_pending: bool,
    skipped: u64,
}

impl Shared {
    /// The lock is never held while the callback runs, so a poisoned mutex
    /// can only hold consistent plain flags: carry on with them.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Interval {
    /// Runs `callback` at now + k·period for k = 1, 2, ...
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] if `period` is zero; the error of
    /// [`thread::Builder::spawn`] if the thread cannot be created.
    #[cfg(test)] // memsample aligns the schedule with its start sample: start_at.
    pub(crate) fn start<F>(period: Duration, callback: F) -> io::Result<Interval>
    where
        F: FnMut(&Tick) -> ControlFlow<()> + Send + 'static,
    {
        Self::start_at(Instant::now(), period, callback)
    }

    /// Runs `callback` at origin + k·period for k = 1, 2, ... (lets a caller align the schedule with a
    /// sample it took itself at `origin`). An origin in the past is fine (late ticks are skipped as below).
    ///
    /// With an origin a full period or more in the past, the first run is
    /// right away, at the latest deadline already due, and reports the
    /// earlier ones as skipped.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] if `period` is zero; the error of
    /// [`thread::Builder::spawn`] if the thread cannot be created.
    #[cfg(test)] // memsample starts its threads before the command: start_on.
    pub(crate) fn start_at<F>(
        origin: Instant,
        period: Duration,
        callback: F,
    ) -> io::Result<Interval>
    where
        F: FnMut(&Tick) -> ControlFlow<()> + Send + 'static,
    {
        Self::start_on(Spare::start("interval", None)?, origin, period, callback)
    }

    /// [`Interval::start_at`] on a thread started beforehand (so that it
    /// cannot fail to start once the command runs).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] if `period` is zero.
    pub(crate) fn start_on<F>(
        spare: Spare,
        origin: Instant,
        period: Duration,
        callback: F,
    ) -> io::Result<Interval>
    where
        F: FnMut(&Tick) -> ControlFlow<()> + Send + 'static,
    {
        if period.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the period of an interval must not be zero",
            ));
        }
        let shared = Arc::new(Shared::default());
        let schedule = Schedule::new(origin, period);
        let handle = spare.run({
            let shared = Arc::clone(&shared);
            move || run(&shared, schedule, callback)
        });
        Ok(Interval {
            shared,
            thread: handle.thread().id(),
            handle: Some(handle),
        })
    }

    /// Asks the thread to run the callback now (kind Triggered) and restart the schedule from the
    /// instant it served the trigger: the next Scheduled tick is then at that instant + period.
    /// Returns at once (does not wait for the callback). Triggers that arrive while one is pending coalesce.
    ///
    /// A trigger that arrives while the callback runs is served as soon as it
    /// returns. After the thread has ended, this does nothing.
    pub(crate) fn trigger(&self) {
        self.shared.lock().trigger_pending = true;
        self.shared.wakeup.notify_all();
    }

    /// A handle that triggers this interval from another thread (the
    /// receiver of marks, docs/phases.md); it does nothing once the thread
    /// has ended.
    pub(crate) fn trigger_handle(&self) -> TriggerHandle {
        TriggerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops the schedule: returns once a callback in progress has finished; no callback runs after it returns.
    /// Safe to call from inside the callback (then it must not join its own thread: it just marks
    /// cancelled and returns). Idempotent.
    ///
    /// From another thread, do not call it while holding a lock the callback
    /// takes: it waits for the callback.
    pub(crate) fn cancel(&mut self) {
        self.shared.lock().cancelled = true;
        self.shared.wakeup.notify_all();
        if thread::current().id() == self.thread {
            // The callback returns to the loop, which sees the flag and ends.
            return;
        }
        if let Some(handle) = self.handle.take() {
            // Err means the callback panicked: the panic hook has reported it
            // already, and the timer is stopped either way.
            let _ = handle.join();
        }
    }

    /// Total deadlines skipped so far.
    #[cfg(test)] // The tests observe the timer through it.
    #[must_use]
    pub(crate) fn skipped(&self) -> u64 {
        self.shared.lock().skipped
    }

    /// True once the thread has ended (cancelled, callback returned Break, or callback panicked).
    #[cfg(test)] // The tests observe the timer through it.
    #[must_use]
    pub(crate) fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

/// [`Interval::trigger`] from another thread.
#[derive(Clone)]
pub(crate) struct TriggerHandle {
    shared: Arc<Shared>,
}

impl TriggerHandle {
    /// As [`Interval::trigger`].
    pub(crate) fn trigger(&self) {
        self.shared.lock().trigger_pending = true;
        self.shared.wakeup.notify_all();
    }
}

impl Drop for Interval {
    /// Cancels the interval (see [`Interval::cancel`]). Dropped from inside
    /// its own callback, the thread is left to end on its own once the
    /// callback returns.
    fn drop(&mut self) {
        self.cancel();
    }
}

/// The deadlines origin + k·period from `next` on, in pure arithmetic so that
/// it can be tested without a thread or a clock.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    origin: Instant,
    /// Never zero.
    period: Duration,
    /// `None` once the index overflowed u64: no deadline is left.
    next: Option<u64>,
}

impl Schedule {
    fn new(origin: Instant, period: Duration) -> Self {
        Schedule {
            origin,
            period,
            next: Some(1),
        }
    }

    /// origin + k·period, or `None` if it cannot be represented (then it
    /// never comes).
    fn at(&self, k: u64) -> Option<Instant> {
        let nanos = self.period.as_nanos().checked_mul(u128::from(k))?;
        let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
        // Below 10^9, so the cast is exact and `Duration::new` cannot carry
        // into an overflow.
        let subsec = (nanos % 1_000_000_000) as u32;
        self.origin.checked_add(Duration::new(secs, subsec))
    }

    /// The instant the next tick is due, `None` for never.
    fn deadline(&self) -> Option<Instant> {
        self.at(self.next?)
    }

    /// If the next deadline has come by `now`: the index of the latest
    /// deadline due (the one to run) and how many due before it are skipped.
    fn due(&self, now: Instant) -> Option<(u64, u64)> {
        let next = self.next?;
        if now < self.at(next)? {
            return None;
        }
        let elapsed = now.saturating_duration_since(self.origin);
        let latest = u64::try_from(elapsed.as_nanos() / self.period.as_nanos())
            .unwrap_or(u64::MAX)
            // Already `>= next` in exact arithmetic; this guards against an
            // `Instant` coarser than a nanosecond.
            .max(next);
        Some((latest, latest - next))
    }

    /// The schedule once tick `index` has run.
    fn after(self, index: u64) -> Self {
        Schedule {
            next: index.checked_add(1),
            ..self
        }
    }
}

/// The timer thread: wait for a deadline, a trigger or a cancel; run the
/// callback without holding the lock; repeat.
fn run<F>(shared: &Shared, mut schedule: Schedule, mut callback: F)
where
    F: FnMut(&Tick) -> ControlFlow<()>,
{
    loop {
        let tick = {
            let mut state = shared.lock();
            loop {
                // Checked first so that no callback starts once cancel() has
                // set it: that, with the join, is cancel()'s guarantee.
                if state.cancelled {
                    return;
                }
                let now = Instant::now();
                if state.trigger_pending {
                    state.trigger_pending = false;
                    let skipped = schedule.due(now).map_or(0, |(_, skipped)| skipped);
                    state.skipped = state.skipped.saturating_add(skipped);
                    break Tick {
                        kind: TickKind::Triggered,
                        scheduled: now,
                        index: 0,
                        skipped,
                    };
                }
                if let Some((index, skipped)) = schedule.due(now) {
                    state.skipped = state.skipped.saturating_add(skipped);
                    break Tick {
                        kind: TickKind::Scheduled,
                        scheduled: schedule.at(index).unwrap_or(now),
                        index,
                        skipped,
                    };
                }
                // Spurious wakeups and early timeouts just go round the loop:
                // only `now >= deadline` above may start a tick.
                state = match schedule.deadline() {
                    Some(deadline) => {
                        shared
                            .wakeup
                            .wait_timeout(state, deadline.saturating_duration_since(now))
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                    }
                    None => shared
                        .wakeup
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner),
                };
            }
        };
        if callback(&tick).is_break() {
            return;
        }
        schedule = match tick.kind {
            TickKind::Scheduled => schedule.after(tick.index),
            TickKind::Triggered => Schedule::new(tick.scheduled, schedule.period),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::mpsc::{self, Receiver, RecvTimeoutError};

    /// The timer at work, as a user of it sees it.
    #[test]
    fn a_timer_at_work() {
        let period = Duration::from_millis(10);
        let (tx, rx) = mpsc::channel();
        let mut interval = Interval::start(period, move |tick| {
            // Once nobody listens there is no point in going on.
            match tx.send(*tick) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            }
        })
        .expect("starts");

        let ticks: Vec<_> = rx.iter().take(3).collect();
        interval.cancel();

        assert_eq!(ticks.len(), 3);
        for pair in ticks.windows(2) {
            assert_eq!(pair[1].kind, TickKind::Scheduled);
            // Deadlines are whole periods apart whatever the callback's run time.
            let periods = u128::from(pair[1].index - pair[0].index);
            let apart = pair[1].scheduled - pair[0].scheduled;
            assert_eq!(apart.as_nanos(), period.as_nanos() * periods);
        }
        assert!(interval.is_finished());
    }

    /// Long enough for a loaded 2-core machine, short next to a hung test.
    const PATIENCE: Duration = Duration::from_secs(5);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Polls `cond` until it holds or `timeout` passes; returns whether it held.
    fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if cond() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(ms(1));
        }
    }

    /// A callback that reports every tick with the instant it started.
    fn recorder() -> (
        impl FnMut(&Tick) -> ControlFlow<()> + Send + 'static,
        Receiver<(Tick, Instant)>,
    ) {
        let (tx, rx) = mpsc::channel();
        let callback = move |tick: &Tick| {
            let _ = tx.send((*tick, Instant::now()));
            ControlFlow::Continue(())
        };
        (callback, rx)
    }

    fn recv(rx: &Receiver<(Tick, Instant)>) -> (Tick, Instant) {
        rx.recv_timeout(PATIENCE).expect("a tick within PATIENCE")
    }

    fn mean(durations: &[Duration]) -> Duration {
        durations.iter().sum::<Duration>() / u32::try_from(durations.len()).unwrap()
    }

    #[test]
    fn schedule_arithmetic() {
        let origin = Instant::now();
        let s = Schedule::new(origin, ms(10));
        assert_eq!(s.deadline(), Some(origin + ms(10)));
        assert_eq!(s.due(origin + ms(9)), None);
        assert_eq!(s.due(origin + ms(10)), Some((1, 0)));
        // Late by less than a period: runs late, nothing skipped.
        assert_eq!(s.due(origin + ms(19)), Some((1, 0)));
        // Late by a full period: the latest due deadline runs.
        assert_eq!(s.due(origin + ms(20)), Some((2, 1)));
        assert_eq!(s.due(origin + Duration::from_micros(59_999)), Some((5, 4)));
        let s = s.after(5);
        assert_eq!(s.deadline(), Some(origin + ms(60)));
        assert_eq!(s.due(origin + ms(59)), None);
    }

    #[test]
    fn schedule_overflow_means_never() {
        let origin = Instant::now();
        let huge = Schedule::new(origin, Duration::MAX);
        assert_eq!(huge.deadline(), None);
        assert_eq!(huge.due(origin + ms(1)), None);
        let tiny = Schedule::new(origin, Duration::from_nanos(1));
        assert_eq!(tiny.after(u64::MAX).next, None);
        assert_eq!(tiny.after(u64::MAX).deadline(), None);
        assert_eq!(tiny.after(u64::MAX).due(origin + ms(1)), None);
        // Each way out: Instant overflow, u64 seconds overflow, u128 nanoseconds overflow.
        assert_eq!(
            Schedule::new(origin, Duration::from_secs(u64::MAX / 2)).at(1),
            None
        );
        assert_eq!(
            Schedule::new(origin, Duration::from_secs(u64::MAX)).at(2),
            None
        );
        assert_eq!(huge.at(u64::MAX), None);
    }

    #[test]
    fn no_cumulative_drift() {
        const COUNT: usize = 200;
        let period = ms(5);
        let (tx, rx) = mpsc::channel();
        let origin = Instant::now();
        let mut runs = 0;
        let interval = Interval::start_at(origin, period, move |tick| {
            let ran = Instant::now();
            // A run time of 0 to 3 ms that varies from tick to tick.
            thread::sleep(Duration::from_micros(tick.index.wrapping_mul(7919) % 3000));
            let _ = tx.send((*tick, ran));
            runs += 1;
            // Stopping here rather than cancelling from the test keeps an
            // extra tick out of skipped().
            if runs == COUNT {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        let ticks: Vec<(Tick, Instant)> = (0..COUNT).map(|_| recv(&rx)).collect();
        assert!(wait_until(PATIENCE, || interval.is_finished()));

        let mut skipped = 0;
        for (n, (tick, ran)) in ticks.iter().enumerate() {
            assert_eq!(tick.kind, TickKind::Scheduled);
            let offset = period * u32::try_from(tick.index).unwrap();
            assert_eq!(tick.scheduled, origin + offset, "tick {n}");
            assert!(*ran >= tick.scheduled, "tick {n} ran early");
            skipped += tick.skipped;
            // Each run is the next deadline unless some were skipped.
            assert_eq!(tick.index, n as u64 + 1 + skipped, "tick {n}");
        }
        assert_eq!(interval.skipped(), skipped);

        let lateness: Vec<Duration> = ticks.iter().map(|(t, ran)| *ran - t.scheduled).collect();
        let last = lateness[COUNT - 1];
        // Generous for a loaded machine; a drifting timer would be ~300 ms late.
        assert!(last < period + ms(50), "last tick late by {last:?}");
        let (first20, last20) = (mean(&lateness[..20]), mean(&lateness[COUNT - 20..]));
        assert!(
            last20 <= first20 + 2 * period,
            "lateness grew from {first20:?} to {last20:?}"
        );
    }

    #[test]
    fn cancel_interrupts_a_long_wait() {
        let (callback, rx) = recorder();
        let mut interval = Interval::start(Duration::from_secs(60), callback).unwrap();
        thread::sleep(ms(20));
        let asked = Instant::now();
        interval.cancel();
        let took = asked.elapsed();
        // ~100 ms expected; generous for a loaded machine, tiny next to 60 s.
        assert!(took < ms(500), "cancel took {took:?}");
        assert!(interval.is_finished());
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn cancel_waits_for_the_callback_in_progress() {
        let calls = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = mpsc::channel();
        let mut interval = Interval::start(ms(10), {
            let calls = Arc::clone(&calls);
            let done = Arc::clone(&done);
            move |_| {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    let _ = started_tx.send(());
                    thread::sleep(ms(200));
                    done.store(true, Ordering::SeqCst);
                }
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        started_rx.recv_timeout(PATIENCE).unwrap();
        interval.cancel();
        assert!(done.load(Ordering::SeqCst), "cancel returned mid-callback");
        assert!(interval.is_finished());
        let after_cancel = calls.load(Ordering::SeqCst);
        assert_eq!(after_cancel, 1);
        // A few periods: a tick that escaped the cancel would show here.
        thread::sleep(ms(30));
        assert_eq!(calls.load(Ordering::SeqCst), after_cancel);
        interval.cancel();
    }

    #[test]
    fn trigger_rephases_the_schedule() {
        let period = ms(200);
        let (callback, rx) = recorder();
        let origin = Instant::now();
        let interval = Interval::start_at(origin, period, callback).unwrap();
        thread::sleep((origin + ms(50)).saturating_duration_since(Instant::now()));
        let asked = Instant::now();
        interval.trigger();

        // Only a badly stalled test thread could see scheduled ticks first.
        let (triggered, _) = loop {
            let (tick, ran) = recv(&rx);
            if tick.kind == TickKind::Triggered {
                break (tick, ran);
            }
            assert!(tick.scheduled < asked);
        };
        assert_eq!(triggered.index, 0);
        assert!(triggered.scheduled >= asked);
        let delay = triggered.scheduled - asked;
        assert!(delay < ms(100), "trigger served after {delay:?}");

        let (next, ran) = recv(&rx);
        assert_eq!(next.kind, TickKind::Scheduled);
        assert_eq!(next.index, 1);
        assert_eq!(next.skipped, 0);
        assert_eq!(next.scheduled, triggered.scheduled + period);
        assert!(ran >= triggered.scheduled + period);
        assert!(next.scheduled > origin + period);
    }

    #[test]
    fn triggers_coalesce_while_pending() {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (tx, rx) = mpsc::channel();
        let mut first = true;
        let interval = Interval::start(Duration::from_secs(60), move |tick| {
            let _ = tx.send((*tick, Instant::now()));
            if first {
                first = false;
                // Holds the thread busy while the test piles up triggers.
                let _ = go_rx.recv_timeout(PATIENCE);
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        interval.trigger();
        assert_eq!(recv(&rx).0.kind, TickKind::Triggered);
        interval.trigger();
        interval.trigger();
        interval.trigger();
        go_tx.send(()).unwrap();
        assert_eq!(recv(&rx).0.kind, TickKind::Triggered);
        assert!(
            rx.recv_timeout(ms(100)).is_err(),
            "triggers did not coalesce"
        );
    }

    #[test]
    fn slow_callback_skips_instead_of_bursting() {
        const COUNT: usize = 8;
        let period = ms(10);
        let (tx, rx) = mpsc::channel();
        let mut runs = 0;
        let interval = Interval::start(period, move |tick| {
            let _ = tx.send((*tick, Instant::now()));
            runs += 1;
            if runs == 1 {
                thread::sleep(ms(55));
            }
            if runs == COUNT {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        let ticks: Vec<(Tick, Instant)> = (0..COUNT).map(|_| recv(&rx)).collect();
        assert!(wait_until(PATIENCE, || interval.is_finished()));

        assert!(ticks[1].0.skipped >= 4, "second tick: {:?}", ticks[1].0);
        let total: u64 = ticks.iter().map(|(t, _)| t.skipped).sum();
        assert_eq!(interval.skipped(), total);
        assert_eq!(ticks[0].0.index, 1 + ticks[0].0.skipped);
        for pair in ticks.windows(2) {
            let ((a, _), (b, ran)) = (pair[0], pair[1]);
            assert_eq!(b.index, a.index + 1 + b.skipped);
            assert!(b.scheduled > a.scheduled);
            assert!(ran >= b.scheduled, "tick {} ran early", b.index);
        }
        // A burst would run the skipped deadlines back to back, ~0 ms apart.
        let spacing = (ticks[COUNT - 1].1 - ticks[2].1) / (COUNT as u32 - 3);
        assert!(spacing >= ms(2), "ticks {spacing:?} apart on average");
    }

    #[test]
    fn origin_in_the_past_skips_to_the_latest_deadline() {
        let Some(origin) = Instant::now().checked_sub(Duration::from_secs(1)) else {
            return;
        };
        let (callback, rx) = recorder();
        let interval = Interval::start_at(origin, ms(100), callback).unwrap();
        let (tick, _) = recv(&rx);
        assert_eq!(tick.kind, TickKind::Scheduled);
        assert!(tick.index >= 10, "{tick:?}");
        assert_eq!(tick.skipped, tick.index - 1);
        assert!(interval.skipped() >= tick.skipped);
    }

    #[test]
    fn break_ends_the_thread() {
        let calls = Arc::new(AtomicU64::new(0));
        let interval = Interval::start(ms(2), {
            let calls = Arc::clone(&calls);
            move |_| {
                if calls.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            }
        })
        .unwrap();
        assert!(wait_until(PATIENCE, || interval.is_finished()));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        interval.trigger();
        thread::sleep(ms(10));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_panicking_callback_ends_the_thread_quietly() {
        let mut interval =
            Interval::start(ms(1), |_| panic!("callback panics on purpose")).unwrap();
        assert!(wait_until(PATIENCE, || interval.is_finished()));
        interval.cancel();
        interval.cancel();
    }

    #[test]
    fn unrepresentable_deadline_waits_for_trigger_or_cancel() {
        let (callback, rx) = recorder();
        let mut interval = Interval::start(Duration::MAX, callback).unwrap();
        interval.trigger();
        let (tick, _) = recv(&rx);
        assert_eq!(tick.kind, TickKind::Triggered);
        assert!(rx.recv_timeout(ms(20)).is_err());
        let asked = Instant::now();
        interval.cancel();
        assert!(asked.elapsed() < ms(500));
    }

    #[test]
    fn cancel_from_inside_the_callback() {
        let slot: Arc<Mutex<Option<Interval>>> = Arc::new(Mutex::new(None));
        let (tx, rx) = mpsc::channel();
        let interval = Interval::start(ms(5), {
            let slot = Arc::clone(&slot);
            move |_| {
                let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(interval) = guard.as_mut() {
                    interval.cancel();
                    let _ = tx.send(());
                }
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        *slot.lock().unwrap() = Some(interval);
        rx.recv_timeout(PATIENCE)
            .expect("cancel from inside the callback returned");
        assert!(wait_until(PATIENCE, || {
            slot.lock()
                .unwrap()
                .as_ref()
                .is_some_and(Interval::is_finished)
        }));
        // One call cancelled; none ran after it.
        assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
        let interval = slot.lock().unwrap().take();
        drop(interval);
    }

    #[test]
    fn drop_from_inside_the_callback() {
        let slot: Arc<Mutex<Option<Interval>>> = Arc::new(Mutex::new(None));
        let (tx, rx) = mpsc::channel();
        let interval = Interval::start(ms(5), {
            let slot = Arc::clone(&slot);
            move |_| {
                let taken = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                if taken.is_some() {
                    drop(taken);
                    let _ = tx.send(());
                }
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        *slot.lock().unwrap() = Some(interval);
        rx.recv_timeout(PATIENCE).unwrap();
        // The thread ends, dropping the callback and its sender.
        assert_eq!(
            rx.recv_timeout(PATIENCE),
            Err(RecvTimeoutError::Disconnected)
        );
    }

    #[test]
    fn zero_period_is_refused() {
        let err = Interval::start(Duration::ZERO, |_| ControlFlow::Continue(())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = Interval::start_at(
            Instant::now(),
            Duration::ZERO,
            |_| ControlFlow::Continue(()),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
