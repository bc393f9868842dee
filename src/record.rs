//! A recording: spawn or attach, sample at start and on every tick into the
//! recording, react to signals and to the target's end, print the summary, and
//! say how memsample should exit.
//!
//! Threads: the interval thread takes the samples; a signal thread, a waiter
//! thread (spawn mode) or a pidfd watcher (attach mode) turn what happens into
//! [`Event`]s; the main thread reacts to them one at a time, so every decision
//! about the end of a recording is taken in one place.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{Backend, RecordArgs};
use crate::console::{self, say};
use crate::error::{EXIT_FAILURE, RecordError};
use crate::interval::{Interval, TickKind};
use crate::output::{Destination, OutputError};
use crate::probe::procfs::ProcProbe;
use crate::probe::sysinfo::SysinfoProbe;
use crate::probe::{AttachError, Probe, ProbeConfig};
use crate::schema::{Layout, Row, Trigger};
use crate::signals::{self, Folding, Received};
use crate::sink::{self, Format, Sink};
use crate::stats::raise_peak;
use crate::summary::{Ending, Summary};
use crate::target::{self, Change, ExitStatus, Spawned};
use crate::units::{format_bytes, format_duration, format_seconds};

/// Below this interval `--pss` gets a warning: reading `smaps_rollup` walks
/// the page tables under the target's mmap lock, which slows it down.
const PSS_WARN_BELOW: std::time::Duration = std::time::Duration::from_millis(100);

/// How memsample itself should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(u8),
    /// Die of this signal (after everything is flushed).
    Signal(i32),
}

/// What the main thread reacts to.
#[derive(Debug)]
enum Event {
    Signal(Received),
    /// The target ended; its status when memsample is its parent, and the
    /// kernel's high-water mark for it.
    Exited {
        status: Option<ExitStatus>,
        max_rss: Option<u64>,
    },
    /// The command was stopped by this signal.
    Stopped(i32),
    /// `--samples` reached.
    SamplesDone,
    OutputFailed(OutputError),
}

/// The state the interval thread and the main thread share.
struct Recorder {
    probe: Box<dyn Probe>,
    output: Box<dyn Sink>,
    summary: Summary,
    /// The instant of the start sample: elapsed_s counts from here.
    origin: Instant,
    max_samples: Option<u64>,
    /// Sampling stops for good once this is false (limit reached, output
    /// failed, or the recording is ending).
    active: bool,
    events: Sender<Event>,
    live: Option<ProgressBar>,
    quiet: bool,
}

impl Recorder {
    /// Takes one sample and writes it. `Break` once sampling is over.
    fn take(&mut self, trigger: Trigger) -> ControlFlow<()> {
        if !self.active {
            return ControlFlow::Break(());
        }
        let now = Instant::now();
        let wall_clock = SystemTime::now();
        let sample = self.probe.sample();
        if !self.quiet {
            for name in self.probe.take_pss_warnings() {
                let warning =
                    format!("warning: cannot read the PSS of {name}: its pss_bytes are empty");
                // Above the live line, when there is one, not through it.
                match &self.live {
                    Some(live) => live.suspend(|| console::line(&warning)),
                    None => console::line(&warning),
                }
            }
        }
        if sample.processes.is_empty() {
            // The target is gone; its exit event is on its way.
            return ControlFlow::Continue(());
        }
        let elapsed_s = if trigger == Trigger::Start {
            0.0
        } else {
            now.duration_since(self.origin).as_secs_f64()
        };
        let peak_rss_bytes = raise_peak(
            self.summary.peak_rss_bytes(),
            sample.rss_bytes(),
            sample.main_hwm_bytes,
        );
        let row = Row {
            wall_clock,
            elapsed_s,
            trigger,
            sample: &sample,
            peak_rss_bytes,
        };
        if let Err(err) = self.output.write(&row) {
            self.active = false;
            let _ = self.events.send(Event::OutputFailed(err));
            return ControlFlow::Break(());
        }
        // Only rows that reached the output count in the summary.
        self.summary.record(elapsed_s, &sample);
        if let Some(live) = &self.live {
            live.set_message(console::live_message(
                &format_bytes(sample.rss_bytes()),
                &format_bytes(self.summary.peak_rss_bytes()),
                sample.procs() as u64,
                self.summary.samples,
                &format_seconds(elapsed_s),
            ));
        }
        if self
            .max_samples
            .is_some_and(|max| self.summary.samples >= max)
        {
            self.active = false;
            let _ = self.events.send(Event::SamplesDone);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

fn lock(recorder: &Mutex<Recorder>) -> MutexGuard<'_, Recorder> {
    // A panic on the interval thread must not cost the rows already written
    // nor the summary: the state itself stays consistent between samples.
    recorder
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The recording mode of memsample.
pub fn run(args: RecordArgs) -> Result<Exit, RecordError> {
    // Before anything is created or started: with another namespace's
    // /proc, every pid would name some other process.
    crate::probe::procfs::check_pid_namespace().map_err(RecordError::Usage)?;
    crate::probe::sysinfo::check_options(args.backend, args.breakdown)
        .map_err(RecordError::Usage)?;
    let attach_pid = args.pid;
    if attach_pid.is_none() && args.command.is_empty() {
        return Err(RecordError::Usage(
            "nothing to record: give a command after -- (memsample -- ./myprog) or --pid PID"
                .into(),
        ));
    }
    let layout = Layout {
        per_process: args.per_process,
        pss: args.pss,
        breakdown: args.breakdown,
    };
    let format = Format::resolve(args.format, args.output.as_deref());
    let (events, received) = mpsc::channel::<Event>();

    // Attach mode checks the pid before anything is created, so that a typo
    // leaves no empty recording behind, and pins the process (the probe's kept-open
    // files, then the pidfd) before the output is opened: opening a FIFO
    // blocks until a reader comes, time in which the pid may change hands.
    let (mut probe, pinned) = match attach_pid {
        Some(pid) => {
            let probe = make_probe(&args, pid, None)?;
            let handle = target::attach(pid);
            check_same_process(probe.as_ref(), pid)?;
            (Some(probe), Some(handle))
        }
        None => (None, None),
    };

    // A bad -o (or --plot) must show before the command is started.
    let destination = Destination::from_arg(args.output.as_deref());
    if let Some(svg) = &args.plot {
        check_plot_destination(svg, &destination, args.output.as_deref())?;
    }
    let output = sink::open(&destination, format, layout)?;

    let spawn_mode = attach_pid.is_none();
    let signal_events = events.clone();
    let inherited = signals::listen(spawn_mode, move |received| {
        let _ = signal_events.send(Event::Signal(received));
    })
    .map_err(|err| RecordError::system("cannot install signal handlers", err))?;
    let adopted_parent = if spawn_mode && !args.no_children {
        // Orphaned descendants are re-parented to memsample instead of init,
        // so they stay in the tree; the waiter thread reaps them.
        rustix::process::set_child_subreaper(rustix::process::Pid::from_raw(
            std::process::id() as i32
        ))
        .ok()
        .map(|()| std::process::id())
    } else {
        None
    };

    let (pid, spawned, target_name) = match attach_pid {
        Some(pid) => (pid, None, None),
        None => {
            let child = Spawned::start(&args.command, inherited)?;
            let pid = child.handle.pid;
            // A command that is already gone cannot be sampled, but its
            // status still comes through.
            probe = match make_probe(&args, pid, adopted_parent) {
                Ok(probe) => Some(probe),
                Err(RecordError::Attach(
                    AttachError::Zombie { .. } | AttachError::NoSuchProcess(_),
                )) => None,
                Err(err) => return Err(err),
            };
            // Quoted and escaped: the messages that show it stay one line.
            let command_line = crate::quote::command_line(&args.command);
            (pid, Some(child), Some(command_line))
        }
    };

    let live = (!spawn_mode && !args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
        if let Ok(style) = ProgressStyle::with_template("memsample: {msg}") {
            bar.set_style(style);
        }
        bar
    });

    let origin = Instant::now();
    let recorder = Arc::new(Mutex::new(Recorder {
        probe: probe.unwrap_or_else(|| Box::new(NothingLeft)),
        output,
        summary: Summary::default(),
        origin,
        max_samples: args.samples,
        active: true,
        events: events.clone(),
        live,
        quiet: args.quiet,
    }));
    let _ = lock(&recorder).take(Trigger::Start);

    if !args.quiet {
        let recorder = lock(&recorder);
        let what = match &target_name {
            Some(command) => format!("{command} (pid {pid})"),
            None => match &recorder.summary.main_command {
                Some(name) => format!("pid {pid} ({})", crate::quote::word(name.as_bytes())),
                None => format!("pid {pid}"),
            },
        };
        say!(
            "recording {what} every {} → {}",
            format_duration(args.interval),
            recorder.output.name()
        );
    }

    if args.pss && !args.quiet && args.interval < PSS_WARN_BELOW {
        say!(
            "warning: --pss every {} is costly: each read walks the page tables and holds the process's memory lock",
            format_duration(args.interval)
        );
    }

    // The target's end is watched first: whatever fails after the command
    // has started, memsample must still wait for it.
    let exit_events = events.clone();
    let job = match spawned {
        Some(child) => Some(
            child
                .wait_in_background(move |change| {
                    let _ = exit_events.send(match change {
                        Change::Exited { status, max_rss } => Event::Exited {
                            status: Some(status),
                            max_rss,
                        },
                        Change::Stopped(signal) => Event::Stopped(signal),
                        Change::Continued => return,
                    });
                })
                .map_err(|err| RecordError::system("cannot start the waiting thread", err))?,
        ),
        None => {
            let handle = pinned.unwrap_or_else(|| target::attach(pid));
            handle
                .watch_exit(move || {
                    let _ = exit_events.send(Event::Exited {
                        status: None,
                        max_rss: None,
                    });
                })
                .map_err(|err| RecordError::system("cannot watch the process", err))?;
            None
        }
    };

    // The parser caps durations, so this always fits; were it not to, no limit.
    let deadline = args
        .duration
        .and_then(|duration| origin.checked_add(duration));
    let ticking = Arc::clone(&recorder);
    let interval = Interval::start_at(origin, args.interval, move |tick| {
        if deadline.is_some_and(|deadline| tick.scheduled >= deadline) {
            // The main thread takes the `stop` sample at the deadline.
            return ControlFlow::Break(());
        }
        let mut recorder = lock(&ticking);
        recorder.summary.skipped_ticks += tick.skipped;
        let trigger = match tick.kind {
            TickKind::Scheduled => Trigger::Interval,
            TickKind::Triggered => Trigger::Manual,
        };
        recorder.take(trigger)
    });
    let mut interval = match interval {
        Ok(interval) => Some(interval),
        Err(err) if spawn_mode => {
            say!(
                "cannot start the interval thread: {}; sampling stopped",
                crate::error::reason(&err)
            );
            None
        }
        Err(err) => {
            return Err(RecordError::system("cannot start the interval thread", err));
        }
    };
    drop(events);

    let mut sampling = interval.is_some();
    let mut output_failed = interval.is_none();
    let mut stop_signal = None;
    let mut status = None;
    let mut command_max_rss = None;
    let mut folding = Folding::default();
    let mut target_exited = false;
    let mut stop_sample_wanted = false;
    loop {
        let event = match deadline.filter(|_| sampling) {
            Some(deadline) => {
                match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(event) => Some(event),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            None => match received.recv() {
                Ok(event) => Some(event),
                Err(_) => break,
            },
        };
        match event {
            // --duration is over.
            None => {
                sampling = false;
                cancel(&mut interval);
                let _ = lock(&recorder).take(Trigger::Stop);
                lock(&recorder).active = false;
                if !spawn_mode {
                    break;
                }
            }
            Some(Event::Signal(Received { signal, .. })) if signal == signals::TRIGGER => {
                if let Some(interval) = interval.as_ref().filter(|_| sampling) {
                    interval.trigger();
                }
            }
            Some(Event::Signal(received)) => match &job {
                // The command is in a group of its own: whatever memsample
                // receives, the command has not.
                Some(job) if received.signal == libc::SIGCONT => job.continued(),
                Some(job) => {
                    if folding.keep(&received) {
                        job.relay(received.signal);
                    }
                }
                None => {
                    stop_signal = Some(received.signal);
                    stop_sample_wanted = sampling;
                    break;
                }
            },
            Some(Event::Stopped(signal)) => {
                if let Some(job) = &job {
                    job.stopped(signal);
                }
            }
            Some(Event::Exited {
                status: exit,
                max_rss,
            }) => {
                if let Some(job) = &job {
                    job.ended();
                }
                status = exit;
                command_max_rss = max_rss;
                target_exited = true;
                break;
            }
            Some(Event::SamplesDone) => {
                sampling = false;
                cancel(&mut interval);
                if !spawn_mode {
                    break;
                }
            }
            Some(Event::OutputFailed(err)) => {
                sampling = false;
                output_failed = true;
                cancel(&mut interval);
                if err.is_broken_pipe() {
                    say!(
                        "{}: the reader went away, sampling stopped",
                        lock(&recorder).output.name()
                    );
                } else {
                    say!("{err}; sampling stopped");
                }
                if !spawn_mode {
                    break;
                }
            }
        }
    }
    cancel(&mut interval);
    let mut recorder = lock(&recorder);
    if stop_sample_wanted {
        let _ = recorder.take(Trigger::Stop);
    }
    recorder.active = false;
    // Descendants still running when the command has exited are left as
    // they are; the summary says how many.
    let left_running = if spawn_mode && status.is_some() && !args.no_children {
        let main = pid;
        recorder
            .probe
            .sample()
            .processes
            .iter()
            .filter(|process| process.pid != main)
            .count()
    } else {
        0
    };
    if let Some(live) = &recorder.live {
        live.finish_and_clear();
    }

    if !args.quiet {
        let outcome = match (&target_name, status) {
            (Some(command), Some(status)) => format!("{command} {status}"),
            (Some(command), None) => format!("{command} is still running"),
            (None, _) if target_exited => format!("pid {pid} exited"),
            (None, _) => format!("pid {pid} left running, untouched"),
        };
        let ending = Ending {
            outcome,
            // The child's ru_maxrss includes the memsample pages it ran on
            // between fork and exec; at or below memsample's own peak it
            // says nothing about the command.
            kernel_peak_bytes: command_max_rss
                .filter(|peak| spawn_mode && target::own_max_rss().is_some_and(|own| *peak > own)),
            left_running,
            file: recorder.output.name().to_string(),
            format: recorder.output.format(),
        };
        for line in recorder.summary.lines(&ending) {
            console::line(line);
        }
    }

    let mut chart_failed = false;
    if let Some(svg) = &args.plot {
        let recording = std::path::PathBuf::from(recorder.output.name());
        match crate::plot::write_chart(&recording, svg) {
            Ok(()) if !args.quiet => say!("chart in {}", svg.display()),
            Ok(()) => {}
            Err(err) => {
                say!("cannot write the chart: {err:#}");
                chart_failed = true;
            }
        }
    }
    let output_failed = output_failed || chart_failed;

    let exit = match (status, stop_signal) {
        (Some(ExitStatus::Code(code)), _) => {
            let code = u8::try_from(code).unwrap_or(EXIT_FAILURE);
            if code == 0 && output_failed {
                Exit::Code(EXIT_FAILURE)
            } else {
                Exit::Code(code)
            }
        }
        (Some(ExitStatus::Signal(signal)), _) | (None, Some(signal)) => Exit::Signal(signal),
        (None, None) if output_failed => Exit::Code(EXIT_FAILURE),
        (None, None) => Exit::Code(0),
    };
    Ok(exit)
}

fn cancel(interval: &mut Option<Interval>) {
    if let Some(interval) = interval {
        interval.cancel();
    }
}

/// `--plot` reads the recording back from its file, so it needs one, and a chart
/// that cannot be written should be known before the command runs.
fn check_plot_destination(
    svg: &std::path::Path,
    recording: &Destination,
    output: Option<&std::path::Path>,
) -> Result<(), RecordError> {
    if !recording.is_readable_back() {
        let given = output.map_or("-".into(), |path| path.display().to_string());
        return Err(RecordError::Usage(format!(
            "--plot needs the recording in a file: give -o FILE instead of -o {given}"
        )));
    }
    crate::chart_file::check_writable(svg).map_err(RecordError::Usage)
}

/// Stands in for a probe when the command was gone before it could be read.
struct NothingLeft;

impl Probe for NothingLeft {
    fn sample(&mut self) -> crate::probe::Sample {
        crate::probe::Sample::default()
    }
}

/// The pidfd was opened after the probe pinned the process: it is the same
/// process if the pid still belongs to one of the same start time (a pid and
/// a start time never name two processes).
fn check_same_process(probe: &dyn Probe, pid: u32) -> Result<(), RecordError> {
    let pinned = probe.main_start_time();
    let now = crate::probe::procfs::start_time_of(pid);
    match (pinned, now) {
        (Some(pinned), Some(now)) if pinned != now => {
            Err(RecordError::Attach(AttachError::Replaced { pid }))
        }
        _ => Ok(()),
    }
}

fn make_probe(
    args: &RecordArgs,
    pid: u32,
    adopted_parent: Option<u32>,
) -> Result<Box<dyn Probe>, RecordError> {
    let config = ProbeConfig {
        pid,
        children: !args.no_children,
        every_hwm: args.per_process,
        pss: args.pss,
        breakdown: args.breakdown,
        adopted_parent,
        just_started: args.pid.is_none(),
    };
    Ok(match args.backend {
        Backend::Proc => Box::new(ProcProbe::new(config)?),
        Backend::Sysinfo => Box::new(SysinfoProbe::new(config)?),
    })
}
