//! The session driven through every ending without a process: a scripted
//! probe and an in-memory sink stand in for `/proc` and the file.

use std::collections::VecDeque;
use std::io;
use std::ops::ControlFlow;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::exit::{End, Exit, exit_policy};
use super::state::{Action, Event, Kind, Parts, Phase, Session, Target};
use crate::console::Console;
use crate::probe::{Probe, ProcessSample, Sample};
use crate::record::error::EXIT_FAILURE;
use crate::record::signals::Received;
use crate::record::target::ExitStatus;
use crate::schema::{Row, Trigger};
use crate::sink::output::OutputError;
use crate::sink::{Format, Sink};

const PID: u32 = 4242;

fn process(pid: u32, rss: u64) -> ProcessSample {
    ProcessSample {
        pid,
        ppid: 1,
        command: "prog".into(),
        rss_bytes: rss,
        vsz_bytes: rss * 2,
        cpu_percent: 0.0,
        hwm_bytes: None,
        pss_bytes: None,
        uss_bytes: None,
        breakdown: None,
    }
}

/// The target with `rss` bytes, and `children` descendants of 1 MiB each.
fn tree(rss: u64, children: u32) -> Sample {
    let mut processes = vec![process(PID, rss)];
    processes.extend((1..=children).map(|n| process(PID + n, 1 << 20)));
    Sample {
        processes,
        main_hwm_bytes: Some(rss),
    }
}

/// Returns its samples in turn, then empty ones (the target is gone);
/// queues a warning with its first sample.
struct ScriptedProbe {
    script: VecDeque<Sample>,
    warnings: Arc<Mutex<Vec<String>>>,
    /// How many times `reset_peaks` was called.
    resets: Arc<Mutex<usize>>,
}

impl Probe for ScriptedProbe {
    fn sample(&mut self) -> Sample {
        self.script.pop_front().unwrap_or_default()
    }

    fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().expect("lock"))
    }

    fn reset_peaks(&mut self) -> crate::probe::ResetPeaks {
        *self.resets.lock().expect("lock") += 1;
        crate::probe::ResetPeaks {
            reset: 1,
            denied: 0,
        }
    }
}

/// One row as written.
#[derive(Debug, Clone, PartialEq)]
struct Written {
    trigger: Trigger,
    rss_bytes: u64,
    peak_rss_bytes: u64,
}

/// Keeps the rows; the write number `fail_at` (0 for the first) fails with
/// `error`, and so does every later one.
struct MemorySink {
    rows: Arc<Mutex<Vec<Written>>>,
    fail_at: Option<usize>,
    error: io::ErrorKind,
    writes: usize,
}

impl Sink for MemorySink {
    fn write(&mut self, row: &Row<'_>) -> Result<(), OutputError> {
        self.writes += 1;
        if self.fail_at.is_some_and(|at| self.writes > at) {
            return Err(OutputError::Write {
                path: "memory".into(),
                source: io::Error::from(self.error),
            });
        }
        self.rows.lock().expect("lock").push(Written {
            trigger: row.trigger,
            rss_bytes: row.sample.rss_bytes(),
            peak_rss_bytes: row.peak_rss_bytes,
        });
        Ok(())
    }

    fn name(&self) -> &str {
        "memory"
    }

    fn format(&self) -> Format {
        Format::Csv
    }
}

/// A session under test, with what it wrote and what it told the main thread.
struct Harness {
    session: Session,
    rows: Arc<Mutex<Vec<Written>>>,
    warnings: Arc<Mutex<Vec<String>>>,
    notified: Receiver<Event>,
    resets: Arc<Mutex<usize>>,
    /// Where the job's marks are sent from, with `Setup::phases`.
    marks: Option<std::os::unix::net::UnixDatagram>,
    feed: Option<crate::record::publish::Feed>,
}

struct Setup {
    kind: Kind,
    script: Vec<Sample>,
    fail_at: Option<usize>,
    error: io::ErrorKind,
    max_samples: Option<u64>,
    /// `--phases` (a socket pair for the marks, and a publishing feed), and
    /// `--reset-peaks`.
    phases: bool,
    reset_peaks: bool,
}

impl Setup {
    fn new(kind: Kind, script: Vec<Sample>) -> Setup {
        Setup {
            kind,
            script,
            fail_at: None,
            error: io::ErrorKind::StorageFull,
            max_samples: None,
            phases: false,
            reset_peaks: false,
        }
    }

    fn start(self) -> Harness {
        let rows = Arc::new(Mutex::new(Vec::new()));
        let warnings = Arc::new(Mutex::new(vec!["warning: scripted".to_string()]));
        let (notify, notified) = mpsc::channel();
        let command = (self.kind == Kind::Spawn).then(|| "./prog".to_string());
        let resets = Arc::new(Mutex::new(0));
        let (marks, sender) = if self.phases {
            let (receiver, sender) =
                std::os::unix::net::UnixDatagram::pair().expect("a socket pair");
            receiver.set_nonblocking(true).expect("non-blocking");
            let marks = crate::record::control::Marks::new(Some(receiver));
            (Some(Arc::new(marks)), Some(sender))
        } else {
            (None, None)
        };
        let feed = self.phases.then(crate::record::publish::Feed::default);
        let parts = Parts {
            kind: self.kind,
            target: Target {
                pid: PID,
                command,
                own_peak_at_fork: Some(8 << 20),
            },
            probe: Box::new(ScriptedProbe {
                script: self.script.into(),
                warnings: Arc::clone(&warnings),
                resets: Arc::clone(&resets),
            }),
            sink: Box::new(MemorySink {
                rows: Arc::clone(&rows),
                fail_at: self.fail_at,
                error: self.error,
                writes: 0,
            }),
            // Quiet: only errors reach the test's stderr.
            console: Console::new(true, false),
            max_samples: self.max_samples,
            children: true,
            notify,
            per_process: false,
            tree: None,
            start_note: None,
            feed: feed.clone(),
            marks,
            reset_peaks: self.reset_peaks,
        };
        let mut session = Session::new(parts, Instant::now());
        session.start(Duration::from_secs(1));
        Harness {
            session,
            rows,
            warnings,
            notified,
            resets,
            marks: sender,
            feed,
        }
    }
}

impl Harness {
    fn triggers(&self) -> Vec<Trigger> {
        let rows = self.rows.lock().expect("lock");
        rows.iter().map(|row| row.trigger).collect()
    }

    fn ticks(&mut self, n: usize) -> ControlFlow<()> {
        for _ in 0..n {
            self.session.tick(Trigger::Interval, 0)?;
        }
        ControlFlow::Continue(())
    }

    /// What the session told the main thread, handed back to it, as the
    /// main thread does.
    fn deliver_notices(&mut self) -> Vec<Action> {
        let notices: Vec<Event> = self.notified.try_iter().collect();
        notices
            .into_iter()
            .flat_map(|event| self.session.handle(event))
            .collect()
    }

    fn exit(&mut self, chart_failed: bool) -> Exit {
        let finished = self.session.finish();
        exit_policy(finished.end, finished.failed || chart_failed)
    }
}

fn exited(code: i32) -> Event {
    Event::Exited {
        status: Some(ExitStatus::Code(code)),
        max_rss: None,
    }
}

fn signal(signal: i32) -> Event {
    Event::Signal(Received {
        signal,
        sender: Some(1),
        at: Instant::now(),
    })
}

fn samples(n: usize) -> Vec<Sample> {
    (1..=n as u64).map(|k| tree(k << 20, 0)).collect()
}

#[test]
fn the_command_exit_code_is_memsample_exit_code() {
    for code in [0, 1, 3] {
        let mut h = Setup::new(Kind::Spawn, samples(3)).start();
        assert_eq!(h.ticks(2), ControlFlow::Continue(()));
        let actions = h.session.handle(exited(code));
        assert_eq!(actions, [Action::CommandEnded, Action::StopSampling]);
        assert_eq!(
            h.triggers(),
            [
                Trigger::Start,
                Trigger::Interval,
                Trigger::Interval,
                Trigger::Exit
            ]
        );
        // The peak column follows the highest sample.
        let rows = h.rows.lock().expect("lock").clone();
        assert_eq!(rows[2].rss_bytes, 3 << 20);
        assert_eq!(rows[2].peak_rss_bytes, 3 << 20);
        let expected = Exit::Code(u8::try_from(code).expect("fits"));
        assert_eq!(h.exit(false), expected);
        assert_eq!(h.session.summary().samples, 3);
    }
}

#[test]
fn a_command_killed_by_a_signal_is_mirrored() {
    let mut h = Setup::new(Kind::Spawn, samples(2)).start();
    let _ = h.ticks(1);
    let _ = h.session.handle(Event::Exited {
        status: Some(ExitStatus::Signal(libc::SIGKILL)),
        max_rss: Some(1),
    });
    let finished = h.session.finish();
    assert_eq!(
        finished.summary[2],
        "./prog was killed by SIGKILL; CSV in memory"
    );
    assert_eq!(
        exit_policy(finished.end, finished.failed),
        Exit::Signal(libc::SIGKILL)
    );
}

#[test]
fn attach_ends_with_0_when_the_target_exits() {
    let mut h = Setup::new(Kind::Attach, samples(2)).start();
    let _ = h.ticks(1);
    // The target is gone: an empty sample writes nothing.
    assert_eq!(h.ticks(1), ControlFlow::Continue(()));
    let _ = h.session.handle(Event::Exited {
        status: None,
        max_rss: None,
    });
    // The exit row, even with nothing left: 0 bytes, the peak kept.
    assert_eq!(
        h.triggers(),
        [Trigger::Start, Trigger::Interval, Trigger::Exit]
    );
    let rows = h.rows.lock().expect("lock").clone();
    assert_eq!((rows[2].rss_bytes, rows[2].peak_rss_bytes), (0, 2 << 20));
    let finished = h.session.finish();
    assert_eq!(finished.summary[2], "pid 4242 exited; CSV in memory");
    assert_eq!(exit_policy(finished.end, finished.failed), Exit::Code(0));
}

#[test]
fn attach_stopped_by_a_signal_writes_a_stop_row_and_dies_of_it() {
    let mut h = Setup::new(Kind::Attach, samples(3)).start();
    let _ = h.ticks(1);
    assert_eq!(
        h.session.handle(signal(libc::SIGINT)),
        [Action::StopSampling]
    );
    assert_eq!(
        h.triggers(),
        [Trigger::Start, Trigger::Interval, Trigger::Stop]
    );
    // Nothing is sampled after the stop row.
    assert_eq!(h.ticks(1), ControlFlow::Break(()));
    assert_eq!(h.triggers().len(), 3);
    let finished = h.session.finish();
    assert_eq!(
        finished.summary[2],
        "pid 4242 left running, untouched; CSV in memory"
    );
    assert_eq!(
        exit_policy(finished.end, finished.failed),
        Exit::Signal(libc::SIGINT)
    );
}

#[test]
fn a_failed_output_stops_sampling_and_turns_success_into_125() {
    let mut setup = Setup::new(Kind::Spawn, samples(5));
    setup.fail_at = Some(2);
    let mut h = setup.start();
    assert_eq!(h.ticks(3), ControlFlow::Break(()));
    assert_eq!(h.triggers(), [Trigger::Start, Trigger::Interval]);
    assert_eq!(h.deliver_notices(), [Action::StopSampling]);
    assert_eq!(h.session.phase(), Phase::Over { failed: true });
    // The command goes on and is waited for; its success is not memsample's.
    let _ = h.session.handle(exited(0));
    assert_eq!(h.exit(false), Exit::Code(EXIT_FAILURE));
}

#[test]
fn a_failed_output_keeps_a_failing_command_code() {
    let mut setup = Setup::new(Kind::Spawn, samples(5));
    setup.fail_at = Some(1);
    setup.error = io::ErrorKind::BrokenPipe;
    let mut h = setup.start();
    assert_eq!(h.ticks(1), ControlFlow::Break(()));
    let _ = h.deliver_notices();
    let _ = h.session.handle(exited(3));
    assert_eq!(h.triggers(), [Trigger::Start]);
    assert_eq!(h.exit(false), Exit::Code(3));
}

#[test]
fn attach_with_a_failed_output_ends_with_125() {
    let mut setup = Setup::new(Kind::Attach, samples(5));
    setup.fail_at = Some(1);
    let mut h = setup.start();
    let _ = h.ticks(1);
    let _ = h.deliver_notices();
    assert!(matches!(h.session.phase(), Phase::Ended { .. }));
    assert_eq!(h.exit(false), Exit::Code(EXIT_FAILURE));
}

#[test]
fn a_chart_that_failed_turns_success_into_125() {
    let mut h = Setup::new(Kind::Spawn, samples(1)).start();
    let _ = h.session.handle(exited(0));
    assert_eq!(h.exit(true), Exit::Code(EXIT_FAILURE));
}

#[test]
fn the_deadline_in_spawn_mode_writes_a_stop_row_and_waits_for_the_command() {
    let mut h = Setup::new(Kind::Spawn, samples(5)).start();
    let _ = h.ticks(1);
    assert_eq!(h.session.handle(Event::Deadline), [Action::StopSampling]);
    assert_eq!(h.session.phase(), Phase::Over { failed: false });
    assert_eq!(h.ticks(1), ControlFlow::Break(()));
    assert_eq!(
        h.triggers(),
        [Trigger::Start, Trigger::Interval, Trigger::Stop]
    );
    // SIGUSR1 after sampling ended asks for nothing.
    assert!(h.session.handle(signal(libc::SIGUSR1)).is_empty());
    let _ = h.session.handle(exited(0));
    assert_eq!(h.exit(false), Exit::Code(0));
}

#[test]
fn the_deadline_in_attach_mode_ends_the_recording() {
    let mut h = Setup::new(Kind::Attach, samples(5)).start();
    let _ = h.session.handle(Event::Deadline);
    assert_eq!(h.triggers(), [Trigger::Start, Trigger::Stop]);
    assert_eq!(
        h.session.phase(),
        Phase::Ended {
            end: End::LeftRunning,
            failed: false
        }
    );
    assert_eq!(h.exit(false), Exit::Code(0));
}

#[test]
fn samples_reached_in_spawn_mode_stop_sampling_only() {
    let mut setup = Setup::new(Kind::Spawn, samples(9));
    setup.max_samples = Some(3);
    let mut h = setup.start();
    assert_eq!(h.ticks(5), ControlFlow::Break(()));
    assert_eq!(h.triggers().len(), 3);
    assert_eq!(h.deliver_notices(), [Action::StopSampling]);
    assert_eq!(h.session.phase(), Phase::Over { failed: false });
    let _ = h.session.handle(exited(7));
    assert_eq!(h.exit(false), Exit::Code(7));
}

#[test]
fn samples_reached_in_attach_mode_end_the_recording() {
    let mut setup = Setup::new(Kind::Attach, samples(9));
    setup.max_samples = Some(2);
    let mut h = setup.start();
    assert_eq!(h.ticks(1), ControlFlow::Break(()));
    let _ = h.deliver_notices();
    assert_eq!(h.triggers(), [Trigger::Start, Trigger::Interval]);
    let finished = h.session.finish();
    assert_eq!(any_duration(&finished.summary[0]), "2 samples over D");
    assert_eq!(exit_policy(finished.end, finished.failed), Exit::Code(0));
}

#[test]
fn signals_in_spawn_mode_go_to_the_command_once() {
    let mut h = Setup::new(Kind::Spawn, samples(3)).start();
    assert_eq!(
        h.session.handle(signal(libc::SIGUSR1)),
        [Action::TriggerSample]
    );
    let _ = h.session.tick(Trigger::Manual, 2);
    assert_eq!(h.session.summary().skipped_ticks, 2);
    let term = signal(libc::SIGTERM);
    let Event::Signal(received) = term else {
        unreachable!()
    };
    assert_eq!(h.session.handle(term), [Action::Relay(libc::SIGTERM)]);
    // The same signal from the same sender within a second: one intent.
    assert!(h.session.handle(Event::Signal(received)).is_empty());
    assert_eq!(h.session.handle(signal(libc::SIGCONT)), [Action::Continue]);
    assert_eq!(
        h.session.handle(Event::Stopped(libc::SIGTSTP)),
        [Action::FollowStop(libc::SIGTSTP)]
    );
    assert!(h.session.handle(Event::Continued).is_empty());
    assert!(h.session.is_sampling());
    assert_eq!(h.triggers(), [Trigger::Start, Trigger::Manual]);
}

/// Ticks missed while memsample followed the command into a job-control stop
/// are not lateness, whichever of the first tick and the continue comes first.
#[test]
fn ticks_missed_while_the_job_was_stopped_are_said_so() {
    for tick_first in [true, false] {
        let mut h = Setup::new(Kind::Spawn, samples(5)).start();
        let _ = h.session.tick(Trigger::Interval, 1);
        let _ = h.session.handle(Event::Stopped(libc::SIGTSTP));
        if tick_first {
            let _ = h.session.tick(Trigger::Interval, 40);
            let _ = h.session.handle(Event::Continued);
        } else {
            let _ = h.session.handle(Event::Continued);
            let _ = h.session.tick(Trigger::Interval, 40);
        }
        // After the stop, lateness counts again.
        let _ = h.session.tick(Trigger::Interval, 2);
        assert_eq!(h.session.summary().skipped_ticks, 3);
        assert_eq!(h.session.summary().stopped_ticks, 40);
        let _ = h.session.handle(exited(0));
        let finished = h.session.finish();
        assert_eq!(
            any_duration(&finished.summary[0]),
            "4 samples over D (3 ticks skipped: memsample was late; 40 ticks not taken while the job was stopped)"
        );
    }
    // A SIGSTOP of the command alone is not followed: a late tick is late.
    let mut h = Setup::new(Kind::Spawn, samples(3)).start();
    let _ = h.session.handle(Event::Stopped(libc::SIGSTOP));
    let _ = h.session.tick(Trigger::Interval, 1);
    assert_eq!(h.session.summary().skipped_ticks, 1);
    assert_eq!(h.session.summary().stopped_ticks, 0);
}

#[test]
fn descendants_left_running_are_counted() {
    let script = vec![tree(1 << 20, 2), tree(1 << 20, 2), tree(1 << 20, 2)];
    let mut h = Setup::new(Kind::Spawn, script).start();
    let _ = h.session.handle(exited(0));
    let finished = h.session.finish();
    assert_eq!(
        finished.summary[2],
        "./prog exited with code 0; 2 descendant processes left running; CSV in memory"
    );
}

#[test]
fn the_exit_row_carries_the_command_kernel_peak_above_the_fork_copy() {
    let mut h = Setup::new(Kind::Spawn, samples(2)).start();
    let _ = h.ticks(1);
    let _ = h.session.handle(Event::Exited {
        status: Some(ExitStatus::Code(0)),
        max_rss: Some(300 << 20),
    });
    let rows = h.rows.lock().expect("lock").clone();
    let exit = rows.last().expect("an exit row");
    assert_eq!(exit.trigger, Trigger::Exit);
    assert_eq!((exit.rss_bytes, exit.peak_rss_bytes), (0, 300 << 20));
    let finished = h.session.finish();
    assert_eq!(finished.kernel_peak_bytes, Some(300 << 20));
    // The summary's samples are the samples of RSS: the exit row is none.
    assert_eq!(finished.summary[0].split(' ').next(), Some("2"));

    // At or below memsample's own peak at fork (8 MiB here), the figure is
    // the fork-time copy of memsample: not the command's.
    let mut h = Setup::new(Kind::Spawn, samples(2)).start();
    let _ = h.session.handle(Event::Exited {
        status: Some(ExitStatus::Code(0)),
        max_rss: Some(8 << 20),
    });
    let rows = h.rows.lock().expect("lock").clone();
    assert_eq!(rows.last().map(|r| r.peak_rss_bytes), Some(2 << 20));
}

#[test]
fn no_exit_row_once_sampling_is_over() {
    let mut setup = Setup::new(Kind::Spawn, samples(3));
    setup.max_samples = Some(2);
    let mut h = setup.start();
    let _ = h.ticks(1);
    let _ = h.session.handle(exited(0));
    assert_eq!(h.triggers(), [Trigger::Start, Trigger::Interval]);
}

#[test]
fn a_target_gone_before_the_first_sample_has_no_rows() {
    let mut h = Setup::new(Kind::Spawn, Vec::new()).start();
    let _ = h.session.handle(exited(0));
    assert!(h.triggers().is_empty());
    let finished = h.session.finish();
    assert_eq!(
        finished.summary[0],
        "no samples: the process ended before the first one"
    );
    assert_eq!(exit_policy(finished.end, finished.failed), Exit::Code(0));
}

#[test]
fn the_probe_warnings_are_drained_with_each_sample() {
    let mut h = Setup::new(Kind::Spawn, samples(2)).start();
    assert!(h.warnings.lock().expect("lock").is_empty());
    h.warnings
        .lock()
        .expect("lock")
        .push("warning: again".into());
    let _ = h.ticks(1);
    assert!(h.warnings.lock().expect("lock").is_empty());
}

#[test]
fn no_word_of_the_end_leaves_the_command_running() {
    let mut h = Setup::new(Kind::Spawn, samples(2)).start();
    let finished = h.session.finish();
    assert_eq!(finished.end, End::LeftRunning);
    assert_eq!(
        finished.summary[2],
        "./prog is still running; CSV in memory"
    );
}

/// A summary line with its duration (how long the test took) as `D`.
fn any_duration(line: &str) -> String {
    match line.split_once(" over ") {
        Some((head, tail)) => {
            let rest = tail.find(' ').map_or("", |at| &tail[at..]);
            format!("{head} over D{rest}")
        }
        None => line.to_string(),
    }
}

/// The main process's `rss` and high-water mark `hwm`, in MiB.
fn main_at(rss: u64, hwm: u64) -> Sample {
    Sample {
        processes: vec![process(PID, rss << 20)],
        main_hwm_bytes: Some(hwm << 20),
    }
}

/// A spike of 100 MiB between two samples of phase `start`, then a phase
/// `b` that reaches 25 MiB: with `--reset-peaks` the probe is reset at each
/// mark and `peak_rss_bytes` restarts from the mark row's RSS, so `b`'s
/// peak is its own; without, the spike stays in the column. The closed
/// phases go to the publishers' table by the report's rule.
#[test]
fn reset_peaks_restarts_the_peak_at_each_mark() {
    for reset in [true, false] {
        // What the kernel says after the reset: b's own high-water mark.
        let script = vec![
            main_at(10, 10),
            main_at(10, 100),
            main_at(20, 100),
            main_at(20, if reset { 20 } else { 100 }),
            main_at(20, if reset { 25 } else { 100 }),
        ];
        let mut setup = Setup::new(Kind::Spawn, script);
        setup.phases = true;
        setup.reset_peaks = reset;
        let mut h = setup.start();
        let _ = h.ticks(1);
        let send = |h: &Harness, name: &str| {
            h.marks
                .as_ref()
                .expect("the sender")
                .send(name.as_bytes())
                .expect("sent");
        };
        send(&h, "b");
        assert_eq!(h.session.triggered(0), ControlFlow::Continue(()));
        let _ = h.ticks(1);
        send(&h, "end");
        let _ = h.session.triggered(0);
        let rows = h.rows.lock().expect("lock").clone();
        let peaks: Vec<u64> = rows.iter().map(|row| row.peak_rss_bytes >> 20).collect();
        let triggers: Vec<Trigger> = rows.iter().map(|row| row.trigger).collect();
        assert_eq!(
            triggers,
            [
                Trigger::Start,
                Trigger::Interval,
                Trigger::Mark,
                Trigger::Interval,
                Trigger::Mark
            ]
        );
        let feed = h.feed.as_ref().expect("a feed").phases();
        let table: Vec<(&str, u64, bool)> = feed
            .series()
            .iter()
            .map(|series| (series.name.as_str(), series.peak_bytes >> 20, series.exact))
            .collect();
        if reset {
            assert_eq!(peaks, [10, 100, 100, 20, 25]);
            assert_eq!(*h.resets.lock().expect("lock"), 2);
            assert_eq!(table, [("start", 100, false), ("b", 25, false)]);
        } else {
            assert_eq!(peaks, [10, 100, 100, 100, 100]);
            assert_eq!(*h.resets.lock().expect("lock"), 0);
            // b never went above the spike: only its samples are known.
            assert_eq!(table, [("start", 100, false), ("b", 20, false)]);
        }
        let (name, open) = h.session.open_phase().expect("the last phase");
        assert_eq!((name, open.bytes >> 20), ("end", 20));
    }
}
