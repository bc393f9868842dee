//! The recording session as a state machine: samples go in through
//! [`Session::tick`] (on the interval thread, under the session's lock),
//! everything else through [`Session::handle`] (on the main thread), and the
//! phase says what is still to happen (docs/how-it-works.md).

use std::ops::ControlFlow;
use std::sync::mpsc::Sender;
use std::time::{Instant, SystemTime};

use crate::console::{Console, Live};
use crate::probe::{Probe, Sample};
use crate::record::signals::{self, Folding, Received};
use crate::record::summary::{Ending, Summary};
use crate::record::target::ExitStatus;
use crate::schema::{CgroupFigures, Row, Trigger};
use crate::sink::Sink;
use crate::sink::output::OutputError;
use crate::stats::raise_peak;

use super::exit::End;
use super::whole_tree::{Attached, TreeEnd, WholeTree};

/// What happens to a recording, besides ticks.
#[derive(Debug)]
pub(crate) enum Event {
    Signal(Received),
    /// The target ended; its status when memsample is its parent, and the
    /// kernel's high-water mark for it.
    Exited {
        status: Option<ExitStatus>,
        max_rss: Option<u64>,
    },
    /// The command was stopped by this signal.
    Stopped(i32),
    /// The command was continued.
    Continued,
    /// `--duration` is over.
    Deadline,
    /// `--samples` reached.
    SamplesDone,
    OutputFailed(OutputError),
}

/// What the session asks of the threads and of the command's group, which
/// are not its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Take a sample now (SIGUSR1).
    TriggerSample,
    /// Send this signal to the command's group.
    Relay(i32),
    /// memsample was continued: so is the command.
    Continue,
    /// The command was stopped by this signal: memsample follows.
    FollowStop(i32),
    /// The command ended: the terminal is taken back.
    CommandEnded,
    /// Cancel the interval thread.
    StopSampling,
}

/// Spawn mode waits for the command whatever happens to sampling; attach
/// mode ends with sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Spawn,
    Attach,
}

/// Where a recording is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Sampling,
    /// No more samples; a spawned command is still waited for. `failed`:
    /// the output failed, or sampling could not start.
    Over {
        failed: bool,
    },
    Ended {
        end: End,
        failed: bool,
    },
}

/// The target as the messages name it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) pid: u32,
    /// The quoted command line, in spawn mode.
    pub(crate) command: Option<String>,
    /// memsample's own high-water mark just before it forked the command:
    /// the command's kernel peak counts only above it (the child ran on a
    /// copy of memsample's pages until exec).
    pub(crate) own_peak_at_fork: Option<u64>,
}

/// What a session is made of.
pub(crate) struct Parts {
    pub(crate) kind: Kind,
    pub(crate) target: Target,
    pub(crate) probe: Box<dyn Probe>,
    pub(crate) sink: Box<dyn Sink>,
    pub(crate) console: Console,
    pub(crate) max_samples: Option<u64>,
    /// Descendants are counted (no `--no-children`).
    pub(crate) children: bool,
    /// Where the session tells the main thread that sampling ended.
    pub(crate) notify: Sender<Event>,
    /// One row per process (`--per-process`).
    pub(crate) per_process: bool,
    /// The command's cgroup, when it has one.
    pub(crate) tree: Option<WholeTree>,
    /// Said at the end of the start line: why there is no cgroup.
    pub(crate) start_note: Option<String>,
    /// The figures the publishing threads read (`--push`, `--textfile`).
    pub(crate) feed: Option<crate::record::publish::Feed>,
    /// The marks received from the job (`--phases`), waiting for their row.
    pub(crate) marks: Option<std::sync::Arc<crate::record::control::Marks>>,
    /// `--reset-peaks`: the members' high-water marks are reset at each mark.
    pub(crate) reset_peaks: bool,
}

/// One recording, shared by the interval thread and the main thread.
pub(crate) struct Session {
    parts: Parts,
    summary: Summary,
    /// The instant of the start sample: elapsed_s counts from here.
    origin: Instant,
    phase: Phase,
    folding: Folding,
    /// Where the job stands in a job-control stop (Ctrl-Z): ticks missed
    /// while memsample itself was stopped are not lateness.
    pause: Pause,
    /// The phase rows belong to (`--phases`): `start` until the first mark.
    phase_name: Option<String>,
    /// The phase a mark closes, from the mark until its row is written.
    pub(super) closing_phase: Option<String>,
    /// The peak of the phase rows belong to, as `report` will find it.
    pub(super) phase_peak: Option<crate::stats::PhasePeak>,
    /// `--reset-peaks`: `peak_rss_bytes` of the row before, restarted at
    /// each mark (docs/phases.md); `None` without.
    pub(super) peak_since_reset: Option<u64>,
    /// A process whose high-water mark could not be reset was said.
    pub(super) reset_denied_said: bool,
}

/// A job-control stop of the command, which memsample follows on a
/// terminal: the ticks missed meanwhile reach the first tick after it, which
/// may run before or after the main thread hears of the continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pause {
    None,
    Stopped,
    /// Still stopped as far as the main thread knows, but the first tick
    /// after the stop has run and carried the missed ticks.
    Drained,
    /// Continued; the next tick still carries the ticks missed while stopped.
    Resumed,
}

/// The end of a session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finished {
    pub(crate) end: End,
    /// The output failed, or sampling could not start.
    pub(crate) failed: bool,
    /// The kernel's peak for the command, as the summary shows it.
    pub(crate) kernel_peak_bytes: Option<u64>,
    /// The summary, without the `memsample: ` prefix.
    pub(crate) summary: Vec<String>,
    /// What became of the command's cgroup, when it had one.
    pub(crate) tree: Option<TreeEnd>,
}

impl Session {
    pub(crate) fn new(parts: Parts, origin: Instant) -> Session {
        Session {
            summary: Summary::default(),
            origin,
            phase: Phase::Sampling,
            folding: Folding::default(),
            pause: Pause::None,
            phase_name: parts.marks.as_ref().map(|_| "start".to_string()),
            closing_phase: None,
            phase_peak: None,
            peak_since_reset: parts.reset_peaks.then_some(0),
            reset_denied_said: false,
            parts,
        }
    }

    /// The start sample and the start line (which names an attached process
    /// by what the start sample saw).
    pub(crate) fn start(&mut self, interval: std::time::Duration) {
        let _ = self.take(Trigger::Start);
        let pid = self.parts.target.pid;
        let cgroup = self.parts.tree.as_ref().and_then(WholeTree::attached_label);
        let what = match (
            cgroup,
            &self.parts.target.command,
            &self.summary.main_command,
        ) {
            (Some(cgroup), _, _) => cgroup,
            (None, Some(command), _) => format!("{command} (pid {pid})"),
            (None, None, Some(name)) => format!(
                "pid {pid} ({})",
                crate::console::quote::word(name.as_bytes())
            ),
            (None, None, None) => format!("pid {pid}"),
        };
        self.parts.console.start(
            &what,
            interval,
            self.parts.sink.name(),
            self.parts.start_note.as_deref(),
        );
    }

    pub(super) fn parts(&self) -> &Parts {
        &self.parts
    }

    pub(super) fn parts_mut(&mut self) -> &mut Parts {
        &mut self.parts
    }

    pub(super) fn origin(&self) -> Instant {
        self.origin
    }

    pub(super) fn end_sampling(&mut self, failed: bool) {
        self.phase = Phase::Over { failed };
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    pub(crate) fn is_sampling(&self) -> bool {
        self.phase == Phase::Sampling
    }

    pub(crate) fn console(&self) -> &Console {
        &self.parts.console
    }

    pub(crate) fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The name of the recording (its path, or `-`).
    pub(crate) fn file(&self) -> &str {
        self.parts.sink.name()
    }

    /// A run of the interval thread. `Break` once sampling is over.
    pub(crate) fn tick(&mut self, trigger: Trigger, skipped: u64) -> ControlFlow<()> {
        match self.pause {
            Pause::None | Pause::Drained => self.summary.skipped_ticks += skipped,
            // Ticks before memsample has stopped itself miss nothing.
            Pause::Stopped if skipped == 0 => {}
            Pause::Stopped => {
                self.summary.stopped_ticks += skipped;
                self.pause = Pause::Drained;
            }
            Pause::Resumed => {
                self.summary.stopped_ticks += skipped;
                self.pause = Pause::None;
            }
        }
        self.take(trigger)
    }

    /// A triggered run of the interval thread: each mark the job sent, in
    /// order, becomes a `mark` row that starts its phase (docs/phases.md);
    /// with none queued, the trigger was SIGUSR1's, a `manual` row.
    pub(crate) fn triggered(&mut self, skipped: u64) -> ControlFlow<()> {
        match self.triggered_marks(skipped) {
            None => self.tick(Trigger::Manual, skipped),
            Some(flow) => flow,
        }
    }

    /// Starts the phase `name`: the rows written from now on belong to it;
    /// the next row closes the one before.
    pub(super) fn start_phase(&mut self, name: String) {
        self.closing_phase = self.phase_name.replace(name);
    }

    /// The phase rows belong to now (`--phases`).
    pub(super) fn phase_name(&self) -> Option<&str> {
        self.phase_name.as_deref()
    }

    /// A `mark` row for each mark received; `None` when there was none.
    fn triggered_marks(&mut self, skipped: u64) -> Option<ControlFlow<()>> {
        let names = self
            .parts
            .marks
            .as_ref()
            .map(|marks| marks.take_all())
            .unwrap_or_default();
        if names.is_empty() {
            return None;
        }
        let mut skipped = skipped;
        for name in names {
            self.start_phase(name);
            if self.tick(Trigger::Mark, skipped).is_break() {
                return Some(ControlFlow::Break(()));
            }
            skipped = 0;
        }
        Some(ControlFlow::Continue(()))
    }

    /// Takes one sample and writes it. `Break` once sampling is over.
    fn take(&mut self, trigger: Trigger) -> ControlFlow<()> {
        if !self.is_sampling() {
            return ControlFlow::Break(());
        }
        let now = Instant::now();
        let wall_clock = SystemTime::now();
        let sample = self.parts.probe.sample();
        self.say_warnings();
        let cgroup = self.parts.tree.as_mut().map(WholeTree::attached_state);
        let gone = match cgroup {
            // An attached cgroup lives on without processes.
            Some(Attached::Live) => false,
            Some(Attached::JustRemoved) => {
                // Where no watch told it first (cgroup v1).
                let _ = self.parts.notify.send(Event::Exited {
                    status: None,
                    max_rss: None,
                });
                true
            }
            Some(Attached::Removed) => true,
            Some(Attached::No) | None => sample.processes.is_empty(),
        };
        // A mark is written even then: the job sent it before it ended.
        if gone && trigger != Trigger::Mark {
            // The target is gone; its exit event is on its way.
            return ControlFlow::Continue(());
        }
        let elapsed_s = if trigger == Trigger::Start {
            0.0
        } else {
            now.duration_since(self.origin).as_secs_f64()
        };
        if let Err(err) = self.write(wall_clock, elapsed_s, trigger, &sample, None) {
            self.phase = Phase::Over { failed: true };
            let _ = self.parts.notify.send(Event::OutputFailed(err));
            return ControlFlow::Break(());
        }
        if self
            .parts
            .max_samples
            .is_some_and(|max| self.summary.samples >= max)
        {
            self.phase = Phase::Over { failed: false };
            let _ = self.parts.notify.send(Event::SamplesDone);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// Writes the row; only rows that reached the output count in the
    /// summary. `kernel_peak`: the command's peak from `wait4`, for the
    /// `exit` row, which closes the recording and is no sample of RSS.
    pub(super) fn write(
        &mut self,
        wall_clock: SystemTime,
        elapsed_s: f64,
        trigger: Trigger,
        sample: &Sample,
        kernel_peak: Option<u64>,
    ) -> Result<(), OutputError> {
        // With --reset-peaks, the highest since the last mark.
        let so_far = self
            .peak_since_reset
            .unwrap_or_else(|| self.summary.peak_rss_bytes());
        let peak_rss_bytes = raise_peak(
            so_far,
            sample.rss_bytes(),
            sample.main_hwm_bytes.max(kernel_peak),
        );
        let cgroup = self
            .parts
            .tree
            .as_mut()
            .map_or_else(CgroupFigures::default, |tree| tree.read(elapsed_s));
        // Once the sample has read the closing phase's high-water marks, and
        // before the row is out: a job that waits for its mark's row finds
        // its own mark reset.
        if trigger == Trigger::Mark {
            self.reset_peaks(sample);
        } else if let Some(since) = &mut self.peak_since_reset {
            *since = peak_rss_bytes;
        }
        self.parts.sink.write(&Row {
            wall_clock,
            elapsed_s,
            trigger,
            sample,
            peak_rss_bytes,
            cgroup,
            phase: self.phase_name.as_deref(),
        })?;
        let exit = trigger == Trigger::Exit;
        if exit {
            self.summary.record_exit(elapsed_s, peak_rss_bytes);
        } else {
            self.summary.record(elapsed_s, sample);
        }
        self.follow_phase(
            trigger,
            (!exit).then(|| sample.rss_bytes()),
            peak_rss_bytes,
            cgroup.interval_peak_bytes,
        );
        if let Some(feed) = &self.parts.feed {
            feed.row(&crate::record::publish::Row {
                wall_clock,
                elapsed_s,
                sample: (!exit).then_some(sample),
                samples: self.summary.samples,
                rss_peak_bytes: self.summary.peak_rss_bytes(),
                cgroup,
            });
        }
        if exit {
            return Ok(());
        }
        let summary = &self.summary;
        self.parts.console.live(|| Live {
            rss_bytes: sample.rss_bytes(),
            peak_bytes: summary.peak_rss_bytes(),
            processes: sample.procs(),
            samples: summary.samples,
            elapsed_s,
        });
        Ok(())
    }

    /// The probe's warnings, each once, above the live line; `-q` silences them.
    fn say_warnings(&mut self) {
        for warning in self.parts.probe.take_warnings() {
            self.parts.console.note(warning);
        }
    }

    /// Reacts to one event; returns what the threads and the command's group
    /// are to do.
    pub(crate) fn handle(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::Deadline => {
                let _ = self.take(Trigger::Stop);
                self.stop_sampling(false)
            }
            Event::Signal(received) => self.signalled(received),
            Event::Stopped(signal) => {
                if signals::is_job_control_stop(signal) {
                    self.pause = Pause::Stopped;
                }
                vec![Action::FollowStop(signal)]
            }
            Event::Continued => {
                self.pause = match self.pause {
                    Pause::Stopped => Pause::Resumed,
                    _ => Pause::None,
                };
                Vec::new()
            }
            Event::Exited { status, max_rss } => {
                if self.is_sampling() {
                    self.take_late_marks();
                    if self.is_sampling() {
                        self.take_exit(max_rss);
                    }
                }
                let failed = self.failed();
                self.phase = Phase::Ended {
                    end: End::TargetExited { status, max_rss },
                    failed,
                };
                vec![Action::CommandEnded, Action::StopSampling]
            }
            Event::SamplesDone => self.stop_sampling(false),
            Event::OutputFailed(err) => {
                self.parts.console.sampling_stopped(
                    self.parts.sink.name(),
                    &err,
                    err.is_broken_pipe(),
                );
                self.stop_sampling(true)
            }
        }
    }

    fn signalled(&mut self, received: Received) -> Vec<Action> {
        match (received.signal, self.parts.kind) {
            (signals::TRIGGER, _) if self.is_sampling() => vec![Action::TriggerSample],
            (signals::TRIGGER, _) => Vec::new(),
            // The command is in a group of its own: whatever memsample
            // receives, the command has not.
            (libc::SIGCONT, Kind::Spawn) => vec![Action::Continue],
            (signal, Kind::Spawn) if self.folding.keep(&received) => vec![Action::Relay(signal)],
            (_, Kind::Spawn) => Vec::new(),
            // The target is never signalled in attach mode: memsample stops.
            (signal, Kind::Attach) => {
                let _ = self.take(Trigger::Stop);
                self.phase = Phase::Ended {
                    end: End::Signalled(signal),
                    failed: self.failed(),
                };
                vec![Action::StopSampling]
            }
        }
    }

    /// Sampling is over; in attach mode, so is the recording.
    pub(crate) fn stop_sampling(&mut self, failed: bool) -> Vec<Action> {
        let failed = failed || self.failed();
        self.phase = match (self.phase, self.parts.kind) {
            (Phase::Ended { .. }, _) => self.phase,
            (_, Kind::Spawn) => Phase::Over { failed },
            (_, Kind::Attach) => Phase::Ended {
                end: End::LeftRunning,
                failed,
            },
        };
        vec![Action::StopSampling]
    }

    fn failed(&self) -> bool {
        match self.phase {
            Phase::Sampling => false,
            Phase::Over { failed } | Phase::Ended { failed, .. } => failed,
        }
    }

    /// Ends the session (whatever its phase), clears the live line and
    /// returns the summary to print.
    pub(crate) fn finish(&mut self) -> Finished {
        let (end, failed) = match self.phase {
            Phase::Ended { end, failed } => (end, failed),
            // No word of the target's end came (its watcher is gone).
            Phase::Sampling | Phase::Over { .. } => (End::LeftRunning, self.failed()),
        };
        self.phase = Phase::Ended { end, failed };
        let left_running = self.left_running(end);
        self.say_warnings();
        self.parts.console.finish_live();
        let ending = self.ending(end, left_running);
        let mut summary = self.summary.lines(&ending);
        let largest_process = ending.kernel_peak_bytes;
        let tree = self
            .parts
            .tree
            .as_mut()
            .map(|tree| tree.end(largest_process));
        if let Some(tree) = &tree {
            // Before the last line, which says where the recording is.
            let at = summary.len().saturating_sub(1);
            summary.splice(at..at, tree.lines());
        }
        Finished {
            end,
            failed,
            kernel_peak_bytes: ending.kernel_peak_bytes,
            summary,
            tree,
        }
    }

    /// Descendants still running when the command has exited are left as
    /// they are; the summary says how many.
    fn left_running(&mut self, end: End) -> usize {
        let exited = matches!(
            end,
            End::TargetExited {
                status: Some(_),
                ..
            }
        );
        if self.parts.kind != Kind::Spawn || !exited || !self.parts.children {
            return 0;
        }
        let main = self.parts.target.pid;
        let sample = self.parts.probe.sample();
        sample.processes.iter().filter(|p| p.pid != main).count()
    }

    fn ending(&self, end: End, left_running: usize) -> Ending {
        let pid = self.parts.target.pid;
        let cgroup = self.parts.tree.as_ref().and_then(WholeTree::attached_path);
        let outcome = match (cgroup, &self.parts.target.command, end) {
            (Some(path), _, End::TargetExited { .. }) => format!("cgroup {path} was removed"),
            (Some(path), _, _) => format!("cgroup {path} left as it was"),
            (
                None,
                Some(command),
                End::TargetExited {
                    status: Some(status),
                    ..
                },
            ) => {
                format!("{command} {status}")
            }
            (None, Some(command), _) => format!("{command} is still running"),
            (None, None, End::TargetExited { .. }) => format!("pid {pid} exited"),
            (None, None, _) => format!("pid {pid} left running, untouched"),
        };
        let max_rss = match end {
            End::TargetExited { max_rss, .. } => max_rss,
            End::Signalled(_) | End::LeftRunning => None,
        };
        Ending {
            outcome,
            kernel_peak_bytes: self.command_peak(max_rss),
            left_running,
            processes_read: self.parts.probe.reads_processes(),
            file: self.parts.sink.name().to_string(),
            format: self.parts.sink.format(),
        }
    }
}
