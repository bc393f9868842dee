//! Setting a recording up: the target, the probe, the sink, the threads.
//! Each helper keeps the order docs/how-it-works.md promises ("Safety with
//! your process and your data"): nothing is created before the target is
//! known good, nothing is started before the output is open.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Instant;

use crate::cgroup::{Cgroup, CgroupMode, Joiner, Placement};
use crate::probe::procfs::ProcProbe;
use crate::probe::sysinfo::SysinfoProbe;
use crate::probe::{AttachError, Backend, Probe, ProbeConfig, Sample};
use crate::record::config::{Mode, RecordConfig};
use crate::record::error::RecordError;
use crate::record::interval::{Interval, TickKind};
use crate::record::signals::{self, Inherited};
use crate::record::spare::{SMALL_STACK, Spare};
use crate::record::target::{self, Change, Guard, Handle, Job, Spawned};
use crate::schema::Trigger;
use crate::sink::{self, Sink};

use super::state::{Event, Session, Target};
use super::turns::Turns;

/// The target once it is pinned or started, and its probe.
pub(super) struct Started {
    pub(super) target: Target,
    pub(super) probe: Box<dyn Probe>,
    pub(super) watch: Watch,
}

/// How the target's end is learnt.
pub(super) enum Watch {
    /// memsample's child: waited for, stopped and continued with it.
    Spawned(Spawned),
    /// A process memsample did not start: its pidfd.
    Attached(Handle),
    /// A cgroup attached to: its removal.
    Cgroup(Option<crate::cgroup::attach::Removal>),
}

/// Attach mode checks the pid before anything is created, so that a typo
/// leaves no empty recording behind, and pins the process (the probe's
/// kept-open files, then the pidfd) before the output is opened: opening a
/// FIFO blocks until a reader comes, time in which the pid may change hands.
pub(super) fn pin(config: &RecordConfig) -> Result<Option<Started>, RecordError> {
    let Mode::Attach { pid } = config.mode else {
        return Ok(None);
    };
    let probe = make_probe(config, pid, None)?;
    let handle = target::attach(pid);
    check_same_process(probe.as_ref(), pid)?;
    Ok(Some(Started {
        target: Target {
            pid,
            command: None,
            own_peak_at_fork: None,
        },
        probe,
        watch: Watch::Attached(handle),
    }))
}

/// The command's cgroup (`--cgroup`), made before the output is opened so
/// that the header says from the start whether it has the cgroup's columns
/// (removed again if anything fails before the command starts: dropping it
/// does). `auto` without one says why on the start line; `require` fails.
pub(super) fn cgroup(
    config: &RecordConfig,
) -> Result<(Option<Cgroup>, Option<String>), RecordError> {
    let mode = config.cgroup;
    if mode == CgroupMode::Off {
        return Ok((None, None));
    }
    let made = Placement::find()
        .map_err(|why| why.to_string())
        .and_then(|placement| {
            let name = format!("memsample-{}", std::process::id());
            Cgroup::create(&placement, &name).map_err(|err| err.to_string())
        });
    match (made, mode) {
        (Ok(cgroup), _) => Ok((Some(cgroup), None)),
        (Err(why), CgroupMode::Require) => Err(RecordError::Usage(format!(
            "--cgroup require: cannot give the command a cgroup: {why}"
        ))),
        (Err(why), _) => Ok((None, Some(format!("whole-tree peak: sampled; {why}")))),
    }
}

/// A bad -o (or --plot, or --json-summary) must show before the command is
/// started.
pub(super) fn open_sink(config: &RecordConfig) -> Result<Box<dyn Sink>, RecordError> {
    crate::sink::output::check_distinct(
        config.output.as_deref(),
        config.plot.as_deref(),
        config.json_summary.as_deref(),
    )
    .map_err(RecordError::Usage)?;
    if let Some(svg) = &config.plot {
        check_plot_destination(svg, config)?;
    }
    if let Some(path) = &config.json_summary {
        crate::record::summary_json::check(path)?;
    }
    Ok(sink::open(
        &config.destination,
        config.format,
        config.layout,
    )?)
}

/// `--plot` reads the recording back from its file, so it needs one, and a chart
/// that cannot be written should be known before the command runs.
fn check_plot_destination(svg: &std::path::Path, config: &RecordConfig) -> Result<(), RecordError> {
    if !config.destination.is_readable_back() {
        let given = config
            .output
            .as_ref()
            .map_or("-".into(), |path| path.display().to_string());
        return Err(RecordError::Usage(format!(
            "--plot needs the recording in a file: give -o FILE instead of -o {given}"
        )));
    }
    crate::plot::chart_file::check_writable(svg).map_err(RecordError::Usage)
}

/// `--phases`: the marks' socket, made before the command starts (which is
/// given its path); removed with its directory when dropped, at the end.
pub(super) fn control(
    config: &RecordConfig,
) -> Result<Option<crate::record::control::Control>, RecordError> {
    if !config.layout.phases {
        return Ok(None);
    }
    crate::record::control::Control::create(config.control.as_deref())
        .map(Some)
        .map_err(RecordError::Usage)
}

/// Signals become events; in spawn mode memsample starts the guard, and
/// with descendants becomes their subreaper (after the guard is forked, so
/// that the guard is not adopted). Returns what the command must inherit,
/// the guard, and memsample's pid when it adopts orphans.
pub(super) fn listen(
    config: &RecordConfig,
    events: Sender<Event>,
) -> Result<(Inherited, Option<Guard>, Option<u32>), RecordError> {
    let spawn_mode = config.is_spawn();
    let inherited = signals::listen(spawn_mode, move |received| {
        let _ = events.send(Event::Signal(received));
    })
    .map_err(|err| RecordError::system("cannot install signal handlers", err))?;
    // As the init of a pid namespace (a container's entry point) memsample
    // needs none: its death kills every process of the namespace; and the
    // guard, orphaned, would be re-parented to memsample itself.
    let guard = if spawn_mode && std::process::id() != 1 {
        Some(
            Guard::start()
                .map_err(|err| RecordError::system("cannot start the guard process", err))?,
        )
    } else {
        None
    };
    let adopted_parent = if spawn_mode && config.probe.children {
        // Orphaned descendants are re-parented to memsample instead of init,
        // so they stay in the tree; the waiter thread reaps them.
        let own = std::process::id();
        rustix::process::set_child_subreaper(rustix::process::Pid::from_raw(own as i32))
            .ok()
            .map(|()| own)
    } else {
        None
    };
    Ok((inherited, guard, adopted_parent))
}

/// Spawns the command and only then creates its probe: the `/proc` probe
/// raises memsample's soft open-file limit, and the command must run with
/// the limit memsample was given.
pub(super) fn spawn(
    config: &RecordConfig,
    inherited: Inherited,
    adopted_parent: Option<u32>,
    cgroup: Option<Joiner>,
    guard: Option<Guard>,
    control: Option<&std::path::Path>,
) -> Result<Started, RecordError> {
    let command = match &config.mode {
        Mode::Spawn { command } => command.as_slice(),
        // Not reached (attach targets are pinned); refused as an empty command.
        Mode::Attach { .. } | Mode::Cgroup { .. } => &[],
    };
    // Just before the fork: what the child's own peak starts from.
    let own_peak_at_fork = target::own_peak();
    let child = Spawned::start(command, inherited, cgroup, guard, control)?;
    let pid = child.handle.pid;
    // A command that is already gone cannot be sampled, but its status
    // still comes through.
    let probe = match make_probe(config, pid, adopted_parent) {
        Ok(probe) => probe,
        Err(RecordError::Attach(AttachError::Zombie { .. } | AttachError::NoSuchProcess(_))) => {
            Box::new(NothingLeft)
        }
        Err(err) => return Err(err),
    };
    Ok(Started {
        // Quoted and escaped: the messages that show it stay one line.
        target: Target {
            pid,
            command: Some(crate::console::quote::command_line(command)),
            own_peak_at_fork,
        },
        probe,
        watch: Watch::Spawned(child),
    })
}

/// The threads a recording needs, started before the command so that none
/// can fail to start while it runs (a tiny `RLIMIT_NPROC`, `ulimit -v`).
pub(super) struct Threads {
    /// The waiter (spawn mode).
    pub(super) wait: Option<Spare>,
    pub(super) interval: Spare,
    /// The receiver of the job's marks (`--phases`).
    pub(super) marks: Option<Spare>,
}

/// Starts the recording's threads; a failure is memsample's (125), before
/// the command runs.
pub(super) fn threads(config: &RecordConfig) -> Result<Threads, RecordError> {
    let failed = |err| RecordError::system("cannot start a thread", err);
    let wait = if config.is_spawn() {
        Some(Spare::start("wait", Some(SMALL_STACK)).map_err(failed)?)
    } else {
        None
    };
    let interval = Spare::start("interval", None).map_err(failed)?;
    // Its receive buffer (4 KiB) is its largest frame: a small stack does.
    let marks = if config.layout.phases {
        Some(Spare::start("marks", Some(SMALL_STACK)).map_err(failed)?)
    } else {
        None
    };
    Ok(Threads {
        wait,
        interval,
        marks,
    })
}

/// The target's end is watched first: whatever fails after the command has
/// started, memsample must still wait for it (on `wait`, started before it).
pub(super) fn watch(
    watch: Watch,
    wait: Option<Spare>,
    events: Sender<Event>,
) -> Result<Option<Job>, RecordError> {
    match watch {
        Watch::Spawned(child) => {
            let spare = match wait {
                Some(spare) => spare,
                None => Spare::start("wait", Some(SMALL_STACK))
                    .map_err(|err| RecordError::system("cannot start the waiting thread", err))?,
            };
            Ok(Some(child.wait_in_background(spare, move |change| {
                let _ = events.send(match change {
                    Change::Exited { status, max_rss } => Event::Exited {
                        status: Some(status),
                        max_rss,
                    },
                    Change::Stopped(signal) => Event::Stopped(signal),
                    Change::Continued => Event::Continued,
                });
            })))
        }
        Watch::Attached(handle) => handle
            .watch_exit(move || {
                let _ = events.send(Event::Exited {
                    status: None,
                    max_rss: None,
                });
            })
            .map(|()| None)
            .map_err(|err| RecordError::system("cannot watch the process", err)),
        Watch::Cgroup(removal) => super::attached::watch_removal(removal, events).map(|()| None),
    }
}

/// The interval thread (`spare`, started before the command) samples under
/// the session's lock, on time, without going through the main thread.
pub(super) fn start_interval(
    spare: Spare,
    session: &Arc<Turns<Session>>,
    origin: Instant,
    config: &RecordConfig,
    deadline: Option<Instant>,
) -> Result<Option<Interval>, RecordError> {
    let ticking = Arc::clone(session);
    let interval = Interval::start_on(spare, origin, config.interval, move |tick| {
        if deadline.is_some_and(|deadline| tick.scheduled >= deadline) {
            // The main thread takes the `stop` sample at the deadline.
            return ControlFlow::Break(());
        }
        match tick.kind {
            TickKind::Scheduled => ticking.lock().tick(Trigger::Interval, tick.skipped),
            TickKind::Triggered => ticking.lock().triggered(tick.skipped),
        }
    });
    match interval {
        Ok(interval) => Ok(Some(interval)),
        Err(err) if config.is_spawn() => {
            let mut session = session.lock();
            session.console().error(format_args!(
                "cannot start the interval thread: {}; sampling stopped",
                crate::record::error::reason(&err)
            ));
            let _ = session.stop_sampling(true);
            Ok(None)
        }
        Err(err) => Err(RecordError::system("cannot start the interval thread", err)),
    }
}

/// Stands in for a probe when the command was gone before it could be read.
struct NothingLeft;

impl Probe for NothingLeft {
    fn sample(&mut self) -> Sample {
        Sample::default()
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
    config: &RecordConfig,
    pid: u32,
    adopted_parent: Option<u32>,
) -> Result<Box<dyn Probe>, RecordError> {
    let probe = ProbeConfig {
        pid,
        children: config.probe.children,
        every_hwm: config.probe.every_hwm,
        pss: config.probe.pss,
        breakdown: config.probe.breakdown,
        adopted_parent,
        just_started: config.is_spawn(),
    };
    Ok(match config.probe.backend {
        Backend::Proc => Box::new(ProcProbe::new(probe)?),
        Backend::Sysinfo => Box::new(SysinfoProbe::new(probe)?),
    })
}
