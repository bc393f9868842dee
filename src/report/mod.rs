//! `memsample report`: the figures of a recording ([`Report`]), computed by
//! the one statistics engine (`crate::stats`) from the recording reader
//! ([`crate::read`]), printed as text (`text`), JSON (`json`) or
//! Markdown (`markdown`); many recordings, and a comparison with a
//! baseline ([`compare`]), checked for being alike first (`inputs`).

mod breakdown;
pub(crate) mod compare;
mod growth;
pub(crate) mod inputs;
mod json;
mod markdown;
mod phase_changes;
pub(crate) mod phases;
mod text;

pub(crate) use breakdown::BreakdownReport;

use std::io::{self, Write as _};
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use serde::Serialize;

use crate::console::reason::reason;
use crate::read::Recording;
use crate::stats::{self, Running};
use crate::units::format_bytes;

/// How many processes the report lists.
const TOP_PROCESSES: usize = 5;

const MIB: f64 = (1u64 << 20) as f64;

/// One of the top processes, as `--json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TopProcess {
    pub(crate) pid: u32,
    pub(crate) command: String,
    pub(crate) peak_rss_bytes: u64,
}

/// The figures of a recording; also the `--json` object, field for field.
/// Sizes are bytes, times seconds; `None` (null) where a figure cannot be
/// computed from this recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub(crate) file: String,
    /// The layout: `default` or `per-process`.
    pub(crate) format: &'static str,
    pub(crate) samples: usize,
    /// Last elapsed_s minus the first.
    pub(crate) duration_s: f64,
    /// Median time between samples; null with one sample.
    pub(crate) interval_s: Option<f64>,
    /// Highest sampled RSS (summed over the tree).
    pub(crate) peak_rss_bytes: u64,
    /// elapsed_s of the first sample at the peak.
    pub(crate) peak_elapsed_s: f64,
    /// Wall clock of that sample, RFC 3339 UTC with milliseconds.
    pub(crate) peak_timestamp: String,
    /// Highest `peak_rss_bytes` of the recording (the kernel's high-water
    /// mark; can be above every sample when a spike fell between two).
    pub(crate) kernel_peak_rss_bytes: u64,
    /// kernel_peak_rss_bytes > peak_rss_bytes.
    pub(crate) peak_between_samples: bool,
    /// Rounded to the nearest byte, as the end-of-recording summary's.
    pub(crate) mean_rss_bytes: u64,
    pub(crate) median_rss_bytes: u64,
    pub(crate) p95_rss_bytes: u64,
    pub(crate) first_rss_bytes: u64,
    pub(crate) last_rss_bytes: u64,
    /// Highest PSS over the samples that have one; null without `--pss`.
    pub(crate) peak_pss_bytes: Option<u64>,
    /// Highest USS over the samples that have one; null without `--pss`.
    pub(crate) peak_uss_bytes: Option<u64>,
    /// The whole tree's exact peak from its cgroup (`memory.peak`: all that
    /// was charged to it, page cache and kernel memory included); null when
    /// recorded without a cgroup.
    pub(crate) cgroup_peak_bytes: Option<u64>,
    /// elapsed_s of the first row that shows it.
    pub(crate) cgroup_peak_elapsed_s: Option<f64>,
    /// An attached cgroup's limit (`memory.max`) as last recorded; null
    /// without one.
    pub(crate) cgroup_limit_bytes: Option<u64>,
    /// The cgroup's peak in % of that limit.
    pub(crate) cgroup_peak_percent_of_limit: Option<f64>,
    /// An attached cgroup's processes killed by the OOM killer since
    /// attach; null when not recorded.
    pub(crate) oom_kills: Option<u64>,
    /// Most processes in one sample.
    pub(crate) max_procs: u64,
    /// Whether processes were read: false for a `--no-procs` recording
    /// (no process in any row, the cgroup's figures in them), whose RSS
    /// fields are its rows' 0 and no figure (docs/reading-back.md).
    pub(crate) processes_read: bool,
    /// Least-squares slope of RSS after the first 20 % of the run, MiB/hour.
    pub(crate) growth_mib_per_hour: Option<f64>,
    /// Its coefficient of determination, 0 to 1; null when RSS is flat.
    pub(crate) growth_r2: Option<f64>,
    /// Whether the report states the growth as a rate: R² of at least 0.8
    /// and a slope that is not zero (one rule for text, Markdown and JSON).
    pub(crate) growth_steady: bool,
    /// Per-process recordings: the processes with the highest peaks; null
    /// for the default layout, which does not record processes.
    pub(crate) top_processes: Option<Vec<TopProcess>>,
    /// What the memory is, with `--breakdown`: the parts at the peak and
    /// the growth of each; null without.
    pub(crate) breakdown: Option<BreakdownReport>,
    /// The phase table of a `--phases` recording (docs/phases.md); absent
    /// without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) phases: Option<Vec<phases::PhaseRow>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fail_above_bytes: Option<u64>,
    /// max(peak_rss_bytes, kernel_peak_rss_bytes) > fail_above_bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) above_limit: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fail_above_cgroup_bytes: Option<u64>,
    /// cgroup_peak_bytes > fail_above_cgroup_bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) above_cgroup_limit: Option<bool>,
    /// With `--baseline`: the changes from the baseline and the gate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) baseline: Option<compare::Comparison>,
    /// RSS over time as a line of bars, its lowest and highest values.
    #[serde(skip)]
    pub(crate) sparkline: (String, u64, u64),
}

impl Report {
    /// Computes the figures; `fail_above` is the `--fail-above` limit. The
    /// recording is used up: its RSS values are sorted in place.
    pub fn new(recording: Recording, fail_above: Option<u64>) -> Report {
        let running: Running = recording.running;
        let growth = recording.timeline.growth();
        let rss_points: Vec<(f64, u64)> = recording
            .rss
            .points()
            .into_iter()
            .map(|(x, y)| (x, y as u64))
            .collect();
        let sparkline = text::sparkline(&rss_points, text::SPARKLINE_WIDTH);
        let kernel_peak = recording.kernel_peak_rss_bytes;
        let gate_peak = running.peak.max(kernel_peak);
        let top_processes = top_processes(&recording);
        let file = recording.path().display().to_string();
        let format = recording.layout().name();
        let (duration_s, peak) = (
            recording.last_elapsed_s - recording.first_elapsed_s,
            recording.peak,
        );
        let (peak_pss_bytes, peak_uss_bytes, max_procs) = (
            recording.peak_pss_bytes,
            recording.peak_uss_bytes,
            recording.max_procs,
        );
        let breakdown = breakdown::compute(&recording);
        let phases = recording.phases().map(|list| phases::table(&list));
        let cgroup_peak = recording.cgroup_peak;
        let (cgroup_limit, oom_kills) = (recording.cgroup_limit, recording.oom_kills);
        let (interval_s, sorted) = recording.timeline.into_sorted();
        Report {
            file,
            format,
            samples: usize::try_from(running.count).unwrap_or(usize::MAX),
            duration_s,
            interval_s,
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
            peak_pss_bytes,
            peak_uss_bytes,
            cgroup_peak_bytes: cgroup_peak.map(|(bytes, _)| bytes),
            cgroup_peak_elapsed_s: cgroup_peak.map(|(_, at)| at),
            cgroup_limit_bytes: cgroup_limit,
            cgroup_peak_percent_of_limit: percent_of(
                cgroup_peak.map(|(bytes, _)| bytes),
                cgroup_limit,
            ),
            oom_kills,
            max_procs,
            // What the rows show: `--no-procs` leaves no mark of its own.
            processes_read: max_procs > 0 || cgroup_peak.is_none(),
            growth_mib_per_hour: growth.map(|fit| fit.slope * 3600.0 / MIB),
            growth_r2: growth.and_then(|fit| fit.r2),
            growth_steady: growth.is_some_and(|fit| growth::is_steady(fit.slope, fit.r2)),
            top_processes,
            breakdown,
            phases,
            fail_above_bytes: fail_above,
            above_limit: fail_above.map(|limit| gate_peak > limit),
            fail_above_cgroup_bytes: None,
            above_cgroup_limit: None,
            baseline: None,
            sparkline,
        }
    }

    /// Sets the `--fail-above-cgroup` gate; a recording without the
    /// cgroup's column cannot be gated (an error, not a pass).
    pub(crate) fn gate_cgroup(&mut self, limit: u64) -> Result<()> {
        let Some(peak) = self.cgroup_peak_bytes else {
            return Err(anyhow!(
                "{}: --fail-above-cgroup: no cgroup_peak_bytes in this recording (recorded without a cgroup)",
                self.file
            ));
        };
        self.fail_above_cgroup_bytes = Some(limit);
        self.above_cgroup_limit = Some(peak > limit);
        Ok(())
    }

    /// The peak the `--fail-above` gate compares: sampled or kernel's.
    pub(crate) fn gate_peak_bytes(&self) -> u64 {
        self.peak_rss_bytes.max(self.kernel_peak_rss_bytes)
    }

    /// The report for people, with a sparkline of the recording's RSS.
    pub fn text(&self) -> String {
        text::render(self)
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

/// What `memsample report` is asked (the command line's `report`
/// arguments).
#[derive(Debug, Clone, Default)]
pub(crate) struct ReportOptions {
    /// The recordings to report on.
    pub(crate) files: Vec<PathBuf>,
    pub(crate) json: bool,
    pub(crate) markdown: bool,
    /// `--fail-above`: the gate on the peak RSS, in bytes.
    pub(crate) fail_above: Option<u64>,
    /// `--fail-above-cgroup`: the gate on the cgroup's peak, in bytes.
    pub(crate) fail_above_cgroup: Option<u64>,
    pub(crate) baseline: Option<PathBuf>,
    /// `--max-increase`; 10% when not given.
    pub(crate) max_increase: Option<compare::MaxIncrease>,
}

/// Runs `memsample report`; returns the exit code (0, or 1 when a gate
/// fails: the peak above `--fail-above`, or it or a phase's grown beyond
/// `--max-increase`).
pub(crate) fn run(args: &ReportOptions) -> anyhow::Result<u8> {
    let mut checked = inputs::Inputs::default();
    let baseline = match &args.baseline {
        Some(path) => {
            let recording = inputs::read_baseline(path)?;
            checked.admit_baseline(&recording)?;
            Some(Report::new(recording, None))
        }
        None => None,
    };
    let mut reports = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let recording = Recording::read(path)?;
        checked.admit(&recording)?;
        let mut report = Report::new(recording, args.fail_above);
        if let Some(limit) = args.fail_above_cgroup {
            report.gate_cgroup(limit)?;
        }
        if let Some(baseline) = &baseline {
            report.baseline = Some(compare::Comparison::new(
                &report,
                baseline,
                args.max_increase.unwrap_or_default(),
            ));
        }
        reports.push(report);
    }
    // Built whole before anything is printed: an error leaves no half report.
    let out = if args.json {
        json::render(&reports)?
    } else if args.markdown {
        markdown::render(&reports, baseline.as_ref())
    } else {
        reports
            .iter()
            .map(Report::text)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|err| anyhow!("cannot write the report: {}", reason(&err)))?;
    let mut failed = false;
    for report in &reports {
        failed |= fail_above_gate(report, reports.len() > 1);
        failed |= fail_above_cgroup_gate(report, reports.len() > 1);
        if let Some(comparison) = &report.baseline {
            for line in comparison.verdicts(&report.file) {
                crate::console::say!("{line}");
            }
            failed |= comparison.gate_failed;
        }
    }
    Ok(u8::from(failed))
}

/// `peak` in % of `limit`, one decimal.
fn percent_of(peak: Option<u64>, limit: Option<u64>) -> Option<f64> {
    let (peak, limit) = (peak?, limit.filter(|&limit| limit > 0)?);
    Some((peak as f64 * 1000.0 / limit as f64).round() / 10.0)
}

/// Says so on stderr and returns true when the cgroup's peak is above
/// `--fail-above-cgroup`.
fn fail_above_cgroup_gate(report: &Report, name_file: bool) -> bool {
    let (Some(limit), Some(peak)) = (report.fail_above_cgroup_bytes, report.cgroup_peak_bytes)
    else {
        return false;
    };
    if peak <= limit {
        return false;
    }
    let prefix = if name_file {
        format!("{}: ", report.file)
    } else {
        String::new()
    };
    crate::console::say!(
        "{prefix}whole-tree peak {} (cgroup, incl. page cache; {peak} bytes) is above the limit of {} ({limit} bytes)",
        format_bytes(peak),
        format_bytes(limit)
    );
    true
}

/// Says so on stderr and returns true when the peak is above `--fail-above`.
fn fail_above_gate(report: &Report, name_file: bool) -> bool {
    let Some(limit) = report.fail_above_bytes else {
        return false;
    };
    let peak = report.gate_peak_bytes();
    if peak <= limit {
        return false;
    }
    let prefix = if name_file {
        format!("{}: ", report.file)
    } else {
        String::new()
    };
    let (peak_text, limit_text) = (format_bytes(peak), format_bytes(limit));
    // Rounded alike, the two would read as equal: show the bytes.
    if peak_text == limit_text {
        crate::console::say!(
            "{prefix}peak RSS {peak_text} ({peak} bytes) is above the limit of {limit_text} ({limit} bytes)"
        );
    } else {
        crate::console::say!("{prefix}peak RSS {peak_text} is above the limit of {limit_text}");
    }
    true
}
