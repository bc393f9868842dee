//! A recording: spawn or attach, sample at start and on every tick, react to
//! signals and to the target's end, print the summary, and say how memsample
//! should exit (docs/how-it-works.md).
//!
//! Threads: the interval thread takes the samples under the session's lock;
//! a signal thread, a waiter thread (spawn mode) or a pidfd watcher (attach
//! mode) turn what happens into [`Event`]s; the main thread hands them to
//! the [`Session`] one at a time, so every decision about the end of a
//! recording is taken in one place, and [`exit_policy`] says how memsample
//! exits.

mod attached;
mod exit;
mod exit_row;
mod phase_peaks;
mod publishing;
mod setup;
mod state;
#[cfg(test)]
mod tests;
mod turns;
mod whole_tree;

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::record::config::RecordConfig;
use crate::record::control::Control;
use crate::record::error::RecordError;
use crate::record::interval::Interval;
use crate::record::spare::Spare;
use crate::record::target::Job;

pub(crate) use exit::Exit;
use exit::{End, exit_policy};
use state::{Action, Event, Finished, Kind, Parts, Session};
use turns::Turns;

/// Below this interval `--pss` gets a warning: reading `smaps_rollup` walks
/// the page tables under the target's mmap lock, which slows it down.
const PSS_WARN_BELOW: Duration = Duration::from_millis(100);

/// The recording mode of memsample.
pub(crate) fn run(mut config: RecordConfig) -> Result<Exit, RecordError> {
    let (events, received) = mpsc::channel::<Event>();
    // A cgroup attached to, or a process attached to: pinned before
    // anything is created.
    let (pinned, attached) = match attached::pin(&config)? {
        Some(attached) => (Some(attached.started), Some(attached.tree)),
        None => (setup::pin(&config)?, None),
    };
    let (cgroup, start_note) = setup::cgroup(&config)?;
    config.layout.cgroup = cgroup.is_some() || attached.is_some();
    let sink = setup::open_sink(&config)?;
    let control = setup::control(&config)?;
    let (inherited, guard, adopted_parent) = setup::listen(&config, events.clone())?;
    let threads = setup::threads(&config)?;
    let joiner = cgroup.as_ref().map(crate::cgroup::Cgroup::joiner);
    let started = match pinned {
        Some(pinned) => pinned,
        None => setup::spawn(
            &config,
            inherited,
            adopted_parent,
            joiner,
            guard,
            control.as_ref().map(Control::path),
        )
        .inspect_err(|err| not_started(&config, sink.name(), err))?,
    };
    let tree = attached.or_else(|| cgroup.map(whole_tree::WholeTree::new));
    let parts = assemble(
        &config,
        started.target,
        started.probe,
        sink,
        events.clone(),
        tree,
    );
    let feed = config
        .publish
        .as_ref()
        .map(|_| crate::record::publish::Feed::default());
    let parts = Parts {
        start_note,
        feed: feed.clone(),
        marks: control.as_ref().map(Control::marks),
        ..parts
    };
    let opening = config.json_summary.as_deref().map(|path| {
        crate::record::summary_json::Opening::new(path, &config, Some(parts.target.pid))
    });
    let origin = Instant::now();
    let session = Arc::new(Turns::new(Session::new(parts, origin)));
    session.lock().start(config.interval);
    if config.probe.pss && config.interval < PSS_WARN_BELOW {
        session.lock().console().pss_cost(config.interval);
    }
    let publisher = publishing::start(&config, &session, feed.as_ref());
    let job = setup::watch(started.watch, threads.wait, events.clone())?;
    // The parser caps durations, so this always fits; were it not to, no limit.
    let deadline = config.limits.duration.and_then(|d| origin.checked_add(d));
    let mut interval =
        setup::start_interval(threads.interval, &session, origin, &config, deadline)?;
    listen_for_marks(threads.marks, interval.as_ref(), &session);
    drop(events);
    react(&session, &received, job.as_ref(), &mut interval, deadline);
    if let Some(interval) = &mut interval {
        interval.cancel();
    }
    let finished = session.lock().finish();
    session.lock().console().summary(&finished.summary);
    // Before the chart, which reads the whole recording back.
    let summary_failed = opening
        .as_ref()
        .is_some_and(|opening| write_json_summary(opening, &session, &finished, &config));
    publishing::finish(publisher, feed.as_ref(), &session, &finished);
    let chart_failed = write_chart(&config, &session);
    Ok(exit_policy(
        finished.end,
        finished.failed || summary_failed || chart_failed,
    ))
}

/// `--phases`: the receiving thread (`spare`, started before the command)
/// queues each mark and triggers the interval, which records it
/// (docs/phases.md). Without an interval thread there is nothing to record
/// marks: the spare ends unused.
fn listen_for_marks(spare: Option<Spare>, interval: Option<&Interval>, session: &Turns<Session>) {
    let marks = session.lock().parts().marks.clone();
    let (Some(spare), Some(marks), Some(interval)) = (spare, marks, interval) else {
        return;
    };
    let handle = interval.trigger_handle();
    crate::record::control::listen(spare, marks, move || handle.trigger());
}

/// The session's parts, from the resolved options and what setup made.
fn assemble(
    config: &RecordConfig,
    target: state::Target,
    probe: Box<dyn crate::probe::Probe>,
    sink: Box<dyn crate::sink::Sink>,
    notify: mpsc::Sender<Event>,
    tree: Option<whole_tree::WholeTree>,
) -> Parts {
    let kind = if config.is_spawn() {
        Kind::Spawn
    } else {
        Kind::Attach
    };
    Parts {
        kind,
        target,
        probe,
        sink,
        console: crate::console::Console::new(config.quiet, kind == Kind::Attach),
        max_samples: config.limits.samples,
        children: config.probe.children,
        notify,
        per_process: config.layout.per_process,
        tree,
        start_note: None,
        feed: None,
        marks: None,
        reset_peaks: config.reset_peaks,
    }
}

/// The main thread: events to the session until it ends, its actions done
/// outside its lock (cancelling the interval joins a thread that may be
/// waiting for the lock).
fn react(
    session: &Turns<Session>,
    received: &Receiver<Event>,
    job: Option<&Job>,
    interval: &mut Option<Interval>,
    deadline: Option<Instant>,
) {
    loop {
        let sampling = session.lock().is_sampling();
        let event = match deadline.filter(|_| sampling) {
            Some(deadline) => {
                match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => Event::Deadline,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            None => match received.recv() {
                Ok(event) => event,
                Err(_) => return,
            },
        };
        // One turn of the lock per event: the interval thread may be waiting.
        let (actions, ended) = {
            let mut session = session.lock();
            let actions = session.handle(event);
            (
                actions,
                matches!(session.phase(), state::Phase::Ended { .. }),
            )
        };
        for action in actions {
            act(action, job, interval);
        }
        if ended {
            return;
        }
    }
}

fn act(action: Action, job: Option<&Job>, interval: &mut Option<Interval>) {
    match (action, job) {
        (Action::TriggerSample, _) => {
            if let Some(interval) = interval {
                interval.trigger();
            }
        }
        (Action::StopSampling, _) => {
            if let Some(interval) = interval {
                interval.cancel();
            }
        }
        (Action::Relay(signal), Some(job)) => job.relay(signal),
        (Action::Continue, Some(job)) => job.continued(),
        (Action::FollowStop(signal), Some(job)) => job.stopped(signal),
        (Action::CommandEnded, Some(job)) => job.ended(),
        (_, None) => {}
    }
}

/// `--json-summary`: written whatever the ending, the output's failure
/// included (docs/reading-back.md, "JSON summary"). Whether it failed.
fn write_json_summary(
    opening: &crate::record::summary_json::Opening,
    session: &Turns<Session>,
    finished: &Finished,
    config: &RecordConfig,
) -> bool {
    let session = session.lock();
    let phases = phase_table(config, session.file());
    let status = match finished.end {
        End::TargetExited { status, .. } => status,
        End::Signalled(_) | End::LeftRunning => None,
    };
    let attached = finished
        .tree
        .as_ref()
        .and_then(|tree| tree.attached.as_ref());
    let written = opening.write(&crate::record::summary_json::Closing {
        summary: session.summary(),
        status,
        kernel_peak_bytes: finished.kernel_peak_bytes,
        cgroup_peak_bytes: finished
            .tree
            .as_ref()
            .and_then(|tree| tree.peak.map(|peak| peak.bytes)),
        oom_kills: finished.tree.as_ref().and_then(|tree| tree.oom_kills),
        cgroup_path: attached.map(|end| end.path.as_path()),
        cgroup_limit_bytes: attached.and_then(|end| end.limit_bytes),
        output: session.file(),
        phases: phases.as_deref(),
    });
    if let Err(message) = &written {
        session.console().error(message);
    }
    written.is_err()
}

/// The phase table of a `--phases` recording, read back from its file
/// (docs/phases.md); `None` without, or when it cannot be read back.
fn phase_table(config: &RecordConfig, file: &str) -> Option<Vec<crate::report::phases::PhaseRow>> {
    if !config.layout.phases || !config.destination.is_readable_back() {
        return None;
    }
    let recording = crate::read::Recording::read(std::path::Path::new(file)).ok()?;
    recording
        .phases()
        .map(|phases| crate::report::phases::table(&phases))
}

/// `--json-summary` of a command that could not be started: the job system
/// that collects one from every run gets one from this run too.
fn not_started(config: &RecordConfig, output: &str, err: &RecordError) {
    if let (Some(path), RecordError::Spawn { .. }) = (&config.json_summary, err)
        && let Err(message) =
            crate::record::summary_json::not_started(path, config, err.exit_code(), output)
    {
        crate::console::say!("{message}");
    }
}

/// `--plot`: the chart of the recording, read back from its file. Whether
/// it failed.
fn write_chart(config: &RecordConfig, session: &Turns<Session>) -> bool {
    let Some(svg) = &config.plot else {
        return false;
    };
    let session = session.lock();
    let recording = std::path::PathBuf::from(session.file());
    let written = crate::plot::write_chart(&recording, svg);
    session.console().chart(svg, &written);
    written.is_err()
}
