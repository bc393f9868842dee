//! `memsample report`: the figures of a recording ([`Report`]), computed by
//! the one statistics engine ([`crate::stats`]) from the recording reader
//! ([`crate::recording`]), printed as text ([`text`]) or JSON ([`json`]).

mod breakdown;
mod json;
mod text;

pub use breakdown::{BreakdownReport, PartsGrowth};

use std::io::{self, Write as _};

use anyhow::{Result, anyhow};
use serde::Serialize;

use crate::cli::ReportArgs;
use crate::reason::reason;
use crate::recording::Recording;
use crate::stats::{self, Running};
use crate::units::format_bytes;

/// How many processes the report lists.
const TOP_PROCESSES: usize = 5;

const MIB: f64 = (1u64 << 20) as f64;

/// One of the top processes, as `--json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopProcess {
    pub pid: u32,
    pub command: String,
    pub peak_rss_bytes: u64,
}

/// The figures of a recording; also the `--json` object, field for field.
/// Sizes are bytes, times seconds; `None` (null) where a figure cannot be
/// computed from this recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub file: String,
    /// The layout: `default` or `per-process`.
    pub format: &'static str,
    pub samples: usize,
    /// Last elapsed_s minus the first.
    pub duration_s: f64,
    /// Median time between samples; null with one sample.
    pub interval_s: Option<f64>,
    /// Highest sampled RSS (summed over the tree).
    pub peak_rss_bytes: u64,
    /// elapsed_s of the first sample at the peak.
    pub peak_elapsed_s: f64,
    /// Wall clock of that sample, RFC 3339 UTC with milliseconds.
    pub peak_timestamp: String,
    /// Highest `peak_rss_bytes` of the recording (the kernel's high-water
    /// mark; can be above every sample when a spike fell between two).
    pub kernel_peak_rss_bytes: u64,
    /// kernel_peak_rss_bytes > peak_rss_bytes.
    pub peak_between_samples: bool,
    /// Rounded to the nearest byte, as the end-of-recording summary's.
    pub mean_rss_bytes: u64,
    pub median_rss_bytes: u64,
    pub p95_rss_bytes: u64,
    pub first_rss_bytes: u64,
    pub last_rss_bytes: u64,
    /// Highest PSS over the samples that have one; null without `--pss`.
    pub peak_pss_bytes: Option<u64>,
    /// Highest USS over the samples that have one; null without `--pss`.
    pub peak_uss_bytes: Option<u64>,
    /// Most processes in one sample.
    pub max_procs: u64,
    /// Least-squares slope of RSS after the first 20 % of the run, MiB/hour.
    pub growth_mib_per_hour: Option<f64>,
    /// Its coefficient of determination, 0 to 1; null when RSS is flat.
    pub growth_r2: Option<f64>,
    /// Per-process recordings: the processes with the highest peaks; null
    /// for the default layout, which does not record processes.
    pub top_processes: Option<Vec<TopProcess>>,
    /// What the memory is, with `--breakdown`: the parts at the peak and
    /// the growth of each; null without.
    pub breakdown: Option<BreakdownReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_above_bytes: Option<u64>,
    /// max(peak_rss_bytes, kernel_peak_rss_bytes) > fail_above_bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub above_limit: Option<bool>,
}

impl Report {
    /// Computes the figures; `fail_above` is the `--fail-above` limit.
    pub fn new(recording: &Recording, fail_above: Option<u64>) -> Result<Report> {
        let samples = recording.samples();
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            return Err(anyhow!("{}: no samples", recording.path().display()));
        };
        let running: Running = recording.running();
        let peak = recording.peak();
        let mut sorted: Vec<u64> = samples.iter().map(|sample| sample.rss_bytes).collect();
        sorted.sort_unstable();
        let mut gaps: Vec<f64> = samples
            .windows(2)
            .map(|pair| pair[1].elapsed_s - pair[0].elapsed_s)
            .collect();
        gaps.sort_unstable_by(f64::total_cmp);
        let kernel_peak = samples.iter().map(|s| s.peak_rss_bytes).max().unwrap_or(0);
        let points: Vec<(f64, u64)> = samples.iter().map(|s| (s.elapsed_s, s.rss_bytes)).collect();
        let growth = stats::growth(&points);
        let gate_peak = running.peak.max(kernel_peak);
        Ok(Report {
            file: recording.path().display().to_string(),
            format: recording.layout().name(),
            samples: samples.len(),
            duration_s: last.elapsed_s - first.elapsed_s,
            interval_s: stats::median(&gaps),
            peak_rss_bytes: running.peak,
            peak_elapsed_s: peak.elapsed_s,
            peak_timestamp: humantime::format_rfc3339_millis(peak.timestamp).to_string(),
            kernel_peak_rss_bytes: kernel_peak,
            peak_between_samples: kernel_peak > running.peak,
            mean_rss_bytes: running.mean(),
            median_rss_bytes: stats::percentile_u64(&sorted, 50.0),
            p95_rss_bytes: stats::percentile_u64(&sorted, 95.0),
            first_rss_bytes: running.first,
            last_rss_bytes: running.last,
            peak_pss_bytes: samples.iter().filter_map(|sample| sample.pss_bytes).max(),
            peak_uss_bytes: breakdown::peak_uss(samples),
            max_procs: samples.iter().map(|sample| sample.procs).max().unwrap_or(0),
            growth_mib_per_hour: growth.map(|fit| fit.slope * 3600.0 / MIB),
            growth_r2: growth.and_then(|fit| fit.r2),
            top_processes: top_processes(recording),
            breakdown: breakdown::compute(recording),
            fail_above_bytes: fail_above,
            above_limit: fail_above.map(|limit| gate_peak > limit),
        })
    }

    /// The peak the `--fail-above` gate compares: sampled or kernel's.
    pub fn gate_peak_bytes(&self) -> u64 {
        self.peak_rss_bytes.max(self.kernel_peak_rss_bytes)
    }

    /// The report for people, with a sparkline of the recording's RSS.
    pub fn text(&self, recording: &Recording) -> String {
        text::render(self, recording)
    }

    /// The report as one pretty-printed JSON object, newline-terminated.
    pub fn json(&self) -> Result<String> {
        json::render(self)
    }
}

/// The processes with the highest peaks; `None` for the default layout.
fn top_processes(recording: &Recording) -> Option<Vec<TopProcess>> {
    recording.layout().per_process.then(|| {
        recording
            .top_processes(TOP_PROCESSES)
            .into_iter()
            .map(|process| TopProcess {
                pid: process.pid,
                command: process.command.clone(),
                peak_rss_bytes: process.peak_rss_bytes,
            })
            .collect()
    })
}

/// Runs `memsample report`; returns the exit code (0, or 1 when the peak is above `--fail-above`).
pub(crate) fn run(args: &ReportArgs) -> anyhow::Result<u8> {
    let recording = Recording::read(&args.file)?;
    let report = Report::new(&recording, args.fail_above)?;
    let out = if args.json {
        report.json()?
    } else {
        report.text(&recording)
    };
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|err| anyhow!("cannot write the report: {}", reason(&err)))?;

    match args.fail_above {
        Some(limit) if report.gate_peak_bytes() > limit => {
            let peak = report.gate_peak_bytes();
            let (peak_text, limit_text) = (format_bytes(peak), format_bytes(limit));
            // Rounded alike, the two would read as equal: show the bytes.
            if peak_text == limit_text {
                crate::console::say!(
                    "peak RSS {peak_text} ({peak} bytes) is above the limit of {limit_text} ({limit} bytes)"
                );
            } else {
                crate::console::say!("peak RSS {peak_text} is above the limit of {limit_text}");
            }
            Ok(1)
        }
        _ => Ok(0),
    }
}
