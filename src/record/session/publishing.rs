//! The recording's side of publishing (docs/publishing.md): the threads
//! started once the start sample is taken, and the final figures (the same
//! as the summary's and the JSON summary's) handed to them at the end.

use std::time::SystemTime;

use crate::record::config::{Mode, RecordConfig};
use crate::record::publish::{Context, Feed, Figures, Publisher};
use crate::record::target::ExitStatus;

use super::exit::End;
use super::state::{Finished, Session};
use super::turns::Turns;

/// Starts the publishing threads, when publishing is asked.
pub(super) fn start(
    config: &RecordConfig,
    session: &Turns<Session>,
    feed: Option<&Feed>,
) -> Option<Publisher> {
    let (settings, feed) = config.publish.as_ref().zip(feed)?;
    let session = session.lock();
    let pid = session.parts().target.pid;
    let (pid, command) = match &config.mode {
        Mode::Spawn { command } => (
            Some(pid),
            command
                .iter()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect(),
        ),
        Mode::Attach { .. } => (Some(pid), crate::record::summary_json::command_line_of(pid)),
        // No main process: its target's pid is a placeholder 0.
        Mode::Cgroup { .. } => (None, Vec::new()),
    };
    let context = Context {
        job: settings.job.clone(),
        host: crate::record::summary_json::host()
            .0
            .unwrap_or_else(|| "localhost".into()),
        pid,
        command,
        service: settings.job.clone(),
        started_unix_nanos: crate::record::publish::unix_nanos(SystemTime::now()),
    };
    Some(crate::record::publish::start(
        settings,
        context,
        feed,
        &session.console().warner(),
    ))
}

/// Publishes the final figures, waiting at most `--push-timeout`.
pub(super) fn finish(
    publisher: Option<Publisher>,
    feed: Option<&Feed>,
    session: &Turns<Session>,
    finished: &Finished,
) {
    let (Some(publisher), Some(feed)) = (publisher, feed) else {
        return;
    };
    let last = final_figures(feed.get(), session, finished);
    let mut phases = feed.phases();
    // The last phase, closed by the last row.
    if let Some((name, peak)) = session.lock().open_phase() {
        phases.add(name, peak);
    }
    publisher.finish(last, phases);
}

/// The figures as the end summary has them: its peak (with the command's
/// kernel peak), the cgroup's peak and OOM kills, the exit status.
fn final_figures(mut figures: Figures, session: &Turns<Session>, finished: &Finished) -> Figures {
    let session = session.lock();
    let summary = session.summary();
    figures.samples = summary.samples;
    figures.rss_peak_bytes = summary.peak_rss_bytes();
    figures.duration_seconds = summary.last_elapsed_s;
    if let Some(tree) = &finished.tree {
        if let Some(peak) = tree.peak {
            figures.cgroup_peak_bytes = Some(peak.bytes);
        }
        figures.oom_kills = tree.oom_kills;
    }
    figures.exit_code = match finished.end {
        End::TargetExited {
            status: Some(ExitStatus::Code(code)),
            ..
        } => Some(code),
        End::TargetExited {
            status: Some(ExitStatus::Signal(signal)),
            ..
        } => Some(128 + signal),
        End::TargetExited { status: None, .. } | End::Signalled(_) | End::LeftRunning => None,
    };
    figures.unix_nanos = crate::record::publish::unix_nanos(SystemTime::now());
    figures
}
