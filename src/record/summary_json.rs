//! `--json-summary FILE`: the end summary of a recording as one JSON object
//! (docs/reading-back.md, "JSON summary"), for job systems that collect one
//! from every run. Field names are stable and numbers are JSON numbers; a
//! figure that is not known is `null`, never left out.
//!
//! What is known at start (the command, the host, the start time) is taken
//! then, in an [`Opening`]: an attached process may be gone at the end. The
//! rest comes at the end, in a [`Closing`], whatever the ending; the file is
//! written whole, through a temporary file and a rename, as the chart is.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::record::config::{Mode, RecordConfig};
use crate::record::error::RecordError;
use crate::record::summary::Summary;
use crate::record::target::ExitStatus;

/// The file, field for field (docs/reading-back.md, "JSON summary").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct JsonSummary {
    pub(crate) command: Vec<String>,
    /// `None` when the command could not be started.
    pub(crate) pid: Option<u32>,
    pub(crate) hostname: Option<String>,
    pub(crate) kernel: Option<String>,
    pub(crate) memsample_version: &'static str,
    pub(crate) interval_s: f64,
    pub(crate) started: String,
    pub(crate) ended: String,
    pub(crate) samples: u64,
    pub(crate) skipped_ticks: u64,
    pub(crate) peak_rss_bytes: Option<u64>,
    pub(crate) peak_elapsed_s: Option<f64>,
    /// The highest summed PSS sampled; `None` without `--pss`.
    pub(crate) peak_pss_bytes: Option<u64>,
    pub(crate) mean_rss_bytes: Option<u64>,
    pub(crate) last_rss_bytes: Option<u64>,
    pub(crate) max_procs: Option<u64>,
    pub(crate) exit_code: Option<i32>,
    /// The number of the signal that killed the command (15 for SIGTERM).
    pub(crate) signal: Option<i32>,
    pub(crate) kernel_peak_bytes: Option<u64>,
    pub(crate) cgroup_peak_bytes: Option<u64>,
    pub(crate) oom_kills: Option<u64>,
    /// The cgroup attached to (`--cgroup-path`, `--unit`, `--cgroup-of`).
    pub(crate) cgroup_path: Option<String>,
    /// Its `memory.max` as last read; `None` for no limit.
    pub(crate) cgroup_limit_bytes: Option<u64>,
    pub(crate) output: String,
    /// The phase table of a `--phases` recording in a file (docs/phases.md);
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) phases: Option<Vec<crate::report::phases::PhaseRow>>,
}

/// What the summary takes at the start of the recording.
#[derive(Debug, Clone)]
pub(crate) struct Opening {
    path: PathBuf,
    /// The argv; in attach mode read from `/proc/PID/cmdline` (empty when
    /// the process has none, as a kernel thread or a zombie).
    command: Vec<String>,
    pid: Option<u32>,
    hostname: Option<String>,
    kernel: Option<String>,
    interval_s: f64,
    started: SystemTime,
    /// The recording is of an attached cgroup.
    cgroup: bool,
}

/// What the summary takes at the end of the recording.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Closing<'a> {
    pub(crate) summary: &'a Summary,
    /// The command's status (spawn mode, once it has ended).
    pub(crate) status: Option<ExitStatus>,
    pub(crate) kernel_peak_bytes: Option<u64>,
    /// The whole tree's peak and OOM kills, from the command's cgroup when
    /// it had one.
    pub(crate) cgroup_peak_bytes: Option<u64>,
    pub(crate) oom_kills: Option<u64>,
    /// The cgroup attached to and its limit.
    pub(crate) cgroup_path: Option<&'a Path>,
    pub(crate) cgroup_limit_bytes: Option<u64>,
    /// The recording's name: its path, or `-` for stdout.
    pub(crate) output: &'a str,
    /// The phase table, read back from the recording (`--phases`).
    pub(crate) phases: Option<&'a [crate::report::phases::PhaseRow]>,
}

/// Before the command starts (as `-o` is): the summary can be written where
/// it is asked. That it names a file of its own is checked with the other
/// outputs (`crate::sink::output::check_distinct`).
pub(crate) fn check(path: &Path) -> Result<(), RecordError> {
    crate::plot::chart_file::check_writable_as(path, "the JSON summary").map_err(RecordError::Usage)
}

impl Opening {
    /// Taken just before the start sample, with the target running (`pid`),
    /// or when the command could not be started (`None`).
    pub(crate) fn new(path: &Path, config: &RecordConfig, pid: Option<u32>) -> Opening {
        let command = match (&config.mode, pid) {
            (Mode::Spawn { command }, _) => command
                .iter()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect(),
            (Mode::Attach { .. }, Some(pid)) => command_line_of(pid),
            (Mode::Attach { .. }, None) | (Mode::Cgroup { .. }, _) => Vec::new(),
        };
        // A cgroup has no pid of its own.
        let pid = pid.filter(|_| !matches!(config.mode, Mode::Cgroup { .. }));
        let (hostname, kernel) = host();
        Opening {
            path: path.to_path_buf(),
            command,
            pid,
            hostname,
            kernel,
            interval_s: config.interval.as_secs_f64(),
            started: SystemTime::now(),
            cgroup: matches!(config.mode, Mode::Cgroup { .. }),
        }
    }

    /// Writes the file; the error is the message.
    pub(crate) fn write(&self, closing: &Closing<'_>) -> Result<(), String> {
        let document = self.document(closing, SystemTime::now());
        let cannot = |why: String| {
            format!(
                "cannot write the JSON summary to {}: {why}",
                self.path.display()
            )
        };
        let mut bytes =
            serde_json::to_vec_pretty(&document).map_err(|err| cannot(err.to_string()))?;
        bytes.push(b'\n');
        crate::plot::chart_file::write(&self.path, &bytes)
            .map_err(|err| cannot(crate::record::error::reason(&err)))
    }

    /// The summary's fields; with no sample, the figures are null.
    pub(crate) fn document(&self, closing: &Closing<'_>, ended: SystemTime) -> JsonSummary {
        let summary = closing.summary;
        let sampled = summary.samples > 0;
        let figure = |value: u64| sampled.then_some(value);
        let (exit_code, signal) = match closing.status {
            Some(ExitStatus::Code(code)) => (Some(code), None),
            Some(ExitStatus::Signal(signal)) => (None, Some(signal)),
            None => (None, None),
        };
        let command = match (&summary.main_command, self.command.is_empty()) {
            // A cgroup has no command of its own.
            _ if self.cgroup => Vec::new(),
            // No command line to read: the process's name, as the probe saw it.
            (Some(name), true) => vec![name.clone()],
            _ => self.command.clone(),
        };
        JsonSummary {
            command,
            pid: self.pid,
            hostname: self.hostname.clone(),
            kernel: self.kernel.clone(),
            memsample_version: env!("CARGO_PKG_VERSION"),
            interval_s: self.interval_s,
            started: humantime::format_rfc3339_millis(self.started).to_string(),
            ended: humantime::format_rfc3339_millis(ended).to_string(),
            samples: summary.samples,
            skipped_ticks: summary.skipped_ticks,
            peak_rss_bytes: figure(summary.peak_rss_bytes()),
            // As the recording's elapsed_s column: 6 decimals.
            peak_elapsed_s: sampled.then_some((summary.peak_known_at_s * 1e6).round() / 1e6),
            peak_pss_bytes: summary.peak_pss.map(|(bytes, _)| bytes),
            mean_rss_bytes: figure(summary.mean_rss_bytes()),
            last_rss_bytes: figure(summary.rss.last),
            max_procs: figure(summary.max_procs as u64),
            exit_code,
            signal,
            kernel_peak_bytes: closing.kernel_peak_bytes,
            cgroup_peak_bytes: closing.cgroup_peak_bytes,
            oom_kills: closing.oom_kills,
            cgroup_path: closing.cgroup_path.map(|path| path.display().to_string()),
            cgroup_limit_bytes: closing.cgroup_limit_bytes,
            output: closing.output.to_string(),
            phases: closing.phases.map(<[_]>::to_vec),
        }
    }
}

/// The summary of a command that could not be started (exit 126 or 127):
/// no pid, no samples, and the exit code memsample exits with, as the
/// command's (docs/reading-back.md, "JSON summary"). The error is the message.
pub(crate) fn not_started(
    path: &Path,
    config: &RecordConfig,
    exit_code: u8,
    output: &str,
) -> Result<(), String> {
    Opening::new(path, config, None).write(&Closing {
        summary: &Summary::default(),
        status: Some(ExitStatus::Code(exit_code.into())),
        kernel_peak_bytes: None,
        cgroup_peak_bytes: None,
        oom_kills: None,
        cgroup_path: None,
        cgroup_limit_bytes: None,
        output,
        phases: None,
    })
}

/// `/proc/PID/cmdline` as its arguments; empty when it cannot be read or is
/// empty.
pub(crate) fn command_line_of(pid: u32) -> Vec<String> {
    let Ok(bytes) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return Vec::new();
    };
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(&bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&byte| byte == 0)
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// The host's name and the kernel's release, as `uname -n` and `uname -r`.
pub(crate) fn host() -> (Option<String>, Option<String>) {
    let uname = rustix::system::uname();
    let text = |field: &std::ffi::CStr| {
        let text = field.to_string_lossy().into_owned();
        (!text.is_empty()).then_some(text)
    };
    (text(uname.nodename()), text(uname.release()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{ProcessSample, Sample};
    use std::time::Duration;

    fn opening(command: &[&str]) -> Opening {
        Opening {
            path: "summary.json".into(),
            command: command.iter().map(|arg| arg.to_string()).collect(),
            pid: Some(42),
            hostname: Some("host".into()),
            kernel: Some("6.1.0".into()),
            interval_s: 0.5,
            started: SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_065_700_123),
            cgroup: false,
        }
    }

    fn sample(rss: u64, hwm: u64, procs: usize) -> Sample {
        let process = ProcessSample {
            pid: 42,
            ppid: 1,
            command: "prog".into(),
            rss_bytes: rss / procs as u64,
            vsz_bytes: rss,
            cpu_percent: 0.0,
            hwm_bytes: Some(hwm),
            pss_bytes: None,
            uss_bytes: None,
            breakdown: None,
        };
        Sample {
            processes: vec![process; procs],
            main_hwm_bytes: Some(hwm),
        }
    }

    fn closing<'a>(summary: &'a Summary, status: Option<ExitStatus>) -> Closing<'a> {
        Closing {
            summary,
            status,
            kernel_peak_bytes: None,
            cgroup_peak_bytes: None,
            oom_kills: None,
            cgroup_path: None,
            cgroup_limit_bytes: None,
            output: "mem.csv",
            phases: None,
        }
    }

    #[test]
    fn the_figures_and_the_status() {
        let mut summary = Summary::default();
        summary.record(0.0, &sample(10 << 20, 10 << 20, 1));
        summary.record(0.5, &sample(30 << 20, 30 << 20, 2));
        // The high-water mark rises between samples: the peak is known here.
        summary.record(1.0, &sample(20 << 20, 50 << 20, 2));
        summary.record(1.5, &sample(20 << 20, 50 << 20, 1));
        summary.skipped_ticks = 1;
        let ended = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_065_702_000);
        let json = opening(&["./prog", "-x"])
            .document(&closing(&summary, Some(ExitStatus::Code(3))), ended);
        assert_eq!(json.command, ["./prog", "-x"]);
        assert_eq!(json.started, "2025-11-25T10:15:00.123Z");
        assert_eq!(json.ended, "2025-11-25T10:15:02.000Z");
        assert_eq!(json.samples, 4);
        assert_eq!(json.skipped_ticks, 1);
        assert_eq!(json.peak_rss_bytes, Some(50 << 20));
        assert_eq!(json.peak_elapsed_s, Some(1.0));
        assert_eq!(json.mean_rss_bytes, Some(20 << 20));
        assert_eq!(json.last_rss_bytes, Some(20 << 20));
        assert_eq!(json.max_procs, Some(2));
        assert_eq!(json.peak_pss_bytes, None);
        assert_eq!((json.exit_code, json.signal), (Some(3), None));
        let killed = opening(&["x"]).document(
            &closing(&summary, Some(ExitStatus::Signal(libc::SIGTERM))),
            ended,
        );
        assert_eq!((killed.exit_code, killed.signal), (None, Some(15)));
    }

    #[test]
    fn no_sample_no_figures_and_every_field_present() {
        let summary = Summary::default();
        let json = opening(&[]).document(&closing(&summary, None), SystemTime::UNIX_EPOCH);
        let value = serde_json::to_value(&json).expect("serializes");
        let object = value.as_object().expect("an object");
        assert_eq!(object.len(), 24);
        for null in [
            "peak_rss_bytes",
            "peak_elapsed_s",
            "peak_pss_bytes",
            "exit_code",
            "signal",
            "cgroup_path",
            "cgroup_limit_bytes",
        ] {
            assert!(object[null].is_null(), "{null}: {value}");
        }
        assert_eq!(object["samples"], 0);
        assert_eq!(object["command"], serde_json::json!([]));
    }

    #[test]
    fn an_attached_process_without_a_command_line_is_named() {
        let mut summary = Summary::default();
        summary.record(0.0, &sample(1 << 20, 1 << 20, 1));
        let json = opening(&[]).document(&closing(&summary, None), SystemTime::UNIX_EPOCH);
        assert_eq!(json.command, ["prog"]);
    }

    #[test]
    fn own_command_line_is_read() {
        let own = command_line_of(std::process::id());
        assert!(!own.is_empty());
        assert!(command_line_of(u32::MAX).is_empty());
    }
}
